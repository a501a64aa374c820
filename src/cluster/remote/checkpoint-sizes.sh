#!/bin/sh
# The checkpoints of one experiment with their sizes, in one process whatever their number (`du` over the
# checkpoints), or what is there instead when the experiment or the checkpoint root is missing. Nothing
# outside the root is ever listed: an experiment that is a symbolic link may point anywhere inside BASE
# (an alias), but one that resolves outside it is refused, and a global_step* entry that resolves outside
# BASE, or is not a directory, is left out.
#
# Operands: BASE EXPERIMENT
#   BASE        the checkpoint root (CHECKPOINTS_BASE_DIR, without a trailing slash)
#   EXPERIMENT  an experiment directory name under BASE (validated by the caller: no glob characters)
# Stdin: not read.
# Output: one of
#   @@ok@@       then one `<bytes><TAB><BASE>/<EXPERIMENT>/global_step<N>` line per checkpoint (du -s);
#                nothing more when there is no global_step* yet
#   @@outside@@  BASE/EXPERIMENT resolves outside BASE: then the path it resolves to, on one line
#   @@noexp@@    BASE exists but BASE/EXPERIMENT does not: then the names in BASE, one a line (ls -1)
#   @@nobase@@   BASE does not exist
# Exit codes: 0 in every case above (du's complaints go to /dev/null); anything else means the script
#   itself could not run.

b=$1
e=$2
shift 2
if [ -d "$b/$e" ]; then
  root=$(readlink -f -- "$b")
  real=$(readlink -f -- "$b/$e")
  case "$real/" in
    "$root"/?*) ;;
    *)
      echo @@outside@@
      printf '%s\n' "$real"
      exit 0
      ;;
  esac
  echo @@ok@@
  for d in "$b/$e"/global_step*; do
    [ -d "$d" ] || continue
    case "$(readlink -f -- "$d")/" in
      "$root"/?*) set -- "$@" "$d" ;;
    esac
  done
  if [ $# -gt 0 ]; then du -s --block-size=1 -- "$@" 2>/dev/null; fi
  exit 0
fi
if [ -d "$b" ]; then
  echo @@noexp@@
  ls -1 -- "$b"
  exit 0
fi
echo @@nobase@@
