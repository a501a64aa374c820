#!/bin/sh
# Prints the start of one regular file on the cluster: a NeoX config before it is submitted, or before a
# fixed copy of it is written.
#
# Operands:   FILE MAX_BYTES
#               FILE       the path to read (any characters; a leading "-" is read as a name)
#               MAX_BYTES  print at most this many bytes
# Stdin:      not read.
# Output:     the first MAX_BYTES bytes of FILE, unframed. A caller that asks for one byte more than it
#             accepts can tell "too large" from "exactly that large".
# Exit codes: 0 read;
#             3 FILE does not exist (a dangling symlink included);
#             4 FILE exists but is not a regular file (a directory?);
#             5 FILE is not readable by this user;
#             2 wrong number of operands; anything else: head failed (stderr says why).

if [ "$#" -ne 2 ]; then
  echo "usage: read-file.sh FILE MAX_BYTES" >&2
  exit 2
fi
file=$1
max=$2
if [ ! -e "$file" ]; then exit 3; fi
if [ ! -f "$file" ]; then exit 4; fi
if [ ! -r "$file" ]; then exit 5; fi
exec head -c "$max" -- "$file"
