#!/bin/sh
# The lines of one checkpoint-pipeline log that its outcome depends on, in one command: the lines holding
# any of the given fixed strings, then the log's last 20 lines (where the error of a failed run is).
#
# Operands: LOG -e PATTERN [-e PATTERN]...
#   LOG      the log file (`<LOGS_DIR>/checkpoint_pipeline/checkpoint_pipeline_<jobid>.out`)
#   PATTERN  a fixed string (grep -F), each after its own -e
# Stdin: not read.
# Output: either
#   @@missing@@  the log does not exist or cannot be read
#   or the matching lines in file order, a line @@tail@@, then the last 20 lines (which may repeat some of
#   the matching ones)
# Exit codes: 0 for @@missing@@; otherwise tail's (0 unless the log vanished meanwhile). grep finding
#   nothing is not an error.

f=$1
shift
[ -r "$f" ] || { echo "@@missing@@"; exit 0; }
grep -F "$@" -- "$f"
echo "@@tail@@"
tail -n 20 -- "$f"
