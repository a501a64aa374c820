#!/bin/sh
# The new bytes of many training logs in one command: every watch of a poll reads through one of these.
# The POSIX fallback of read-logs.pl, for a cluster without perl; the same operands and output.
#
# Operands:   MAX_BYTES [FILE OFFSET SAVE]...
#               MAX_BYTES  read at most this many bytes of each file
#               FILE       a log (any characters; a leading "-" is read as a name)
#               OFFSET     the byte offset read up to last time
#               SAVE       a directory to look for a first global_step* in ("" = do not look)
# Stdin:      not read.
# Output:     for the K-th triple (from 0), either the line
#               @@ K missing                  FILE is not a regular file
#             or the header line
#               @@ K SIZE INODE START N CHECKPOINT
#             then one line holding N bytes of FILE from START, base64 without line breaks (empty when
#             N is 0). START is OFFSET, or 0 when the file is now smaller (truncated or replaced);
#             CHECKPOINT is the name of a global_step* directory under SAVE, or `-`.
# Exit codes: 0 read (a cut base64 line shows as fewer bytes than N); 2 no operands.

if [ "$#" -lt 1 ]; then
  echo "usage: read-logs.sh MAX_BYTES [FILE OFFSET SAVE]..." >&2
  exit 2
fi
max=$1
shift

# Sets ck to the first global_step* directory under $1 (no subshell: a poll reads many logs).
first_checkpoint() {
  ck=-
  if [ -z "$1" ]; then return 0; fi
  for d in "$1"/global_step*; do
    if [ -d "$d" ]; then
      ck=${d##*/}
      return 0
    fi
  done
}

k=0
while [ "$#" -ge 3 ]; do
  file=$1
  offset=$2
  save=$3
  shift 3
  if [ ! -f "$file" ] || ! st=$(stat -c '%s %i' -- "$file"); then
    echo "@@ $k missing"
  else
    size=${st% *}
    inode=${st#* }
    start=$offset
    if [ "$size" -lt "$offset" ]; then start=0; fi
    n=$((size - start))
    if [ "$n" -gt "$max" ]; then n=$max; fi
    first_checkpoint "$save"
    echo "@@ $k $size $inode $start $n $ck"
    if [ "$n" -gt 0 ]; then tail -c "+$((start + 1))" -- "$file" | head -c "$n" | base64 -w 0; fi
    echo
  fi
  k=$((k + 1))
done
exit 0
