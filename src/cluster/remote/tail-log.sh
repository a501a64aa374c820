#!/bin/sh
# The end of a training log: the final message of a watch, `/train logs` and `/train status`.
#
# Operands:   FILE LINES MAX_BYTES
#               FILE       the log (any characters; a leading "-" is read as a name)
#               LINES      at most this many last lines
#               MAX_BYTES  and of those, at most the last MAX_BYTES bytes (the first line may be cut)
# Stdin:      not read.
# Output:     the selected end of FILE, unframed.
# Exit codes: 0 printed (an empty file prints nothing); 3 FILE is not a regular file (no log yet);
#             2 wrong number of operands; anything else: tail failed (stderr says why).

if [ "$#" -ne 3 ]; then
  echo "usage: tail-log.sh FILE LINES MAX_BYTES" >&2
  exit 2
fi
if [ ! -f "$1" ]; then exit 3; fi
tail -n "$2" -- "$1" | tail -c "$3"
