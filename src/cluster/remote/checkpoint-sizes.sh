#!/bin/sh
# The checkpoints of one experiment with their sizes, in one process whatever their number (`du` over the
# glob), or what is there instead when the experiment or the checkpoint root is missing.
#
# Operands: BASE EXPERIMENT
#   BASE        the checkpoint root (CHECKPOINTS_BASE_DIR, without a trailing slash)
#   EXPERIMENT  an experiment directory name under BASE (validated by the caller: no glob characters)
# Stdin: not read.
# Output: one of
#   @@ok@@       then one `<bytes><TAB><BASE>/<EXPERIMENT>/global_step<N>` line per checkpoint (du -s);
#                nothing more when there is no global_step* yet
#   @@noexp@@    BASE exists but BASE/EXPERIMENT does not: then the names in BASE, one a line (ls -1)
#   @@nobase@@   BASE does not exist
# Exit codes: 0 in every case above (du's complaints go to /dev/null); anything else means the script
#   itself could not run.

b=$1
e=$2
if [ -d "$b/$e" ]; then
  echo @@ok@@
  du -s --block-size=1 -- "$b/$e"/global_step* 2>/dev/null
  exit 0
fi
if [ -d "$b" ]; then
  echo @@noexp@@
  ls -1 -- "$b"
  exit 0
fi
echo @@nobase@@
