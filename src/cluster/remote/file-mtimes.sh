#!/bin/sh
# When each file of one directory was last written, in one command for all of them: the stalled-training
# sweep compares these with the clock.
#
# Operands:   DIR PATTERN
#               DIR      the directory (any characters; a leading "-" is read as a name)
#               PATTERN  a find -name glob the file names must match (e.g. neox-training-*.out)
# Stdin:      not read.
# Output:     one line per entry directly in DIR whose name matches PATTERN:
#               NAME MTIME                    MTIME in seconds since the epoch, with a fraction
# Exit codes: 0 listed (possibly nothing); 3 DIR is not a directory; 2 wrong number of operands;
#             anything else: find failed (stderr says why).

if [ "$#" -ne 2 ]; then
  echo "usage: file-mtimes.sh DIR PATTERN" >&2
  exit 2
fi
dir=$1
if [ ! -d "$dir" ]; then exit 3; fi
# find reads a leading "-" as an option.
case $dir in -*) dir=./$dir ;; esac
exec find "$dir" -mindepth 1 -maxdepth 1 -name "$2" -printf '%f %T@\n'
