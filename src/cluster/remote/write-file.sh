#!/bin/sh
# Writes stdin to one file on the cluster (created, or replaced in place): the fixed copy of a config that
# "Resubmit with this fix" submits. The original config is never passed here.
#
# Operands:   FILE   the path to write (any characters; a leading "-" is written as a name)
# Stdin:      the new contents, written as they are.
# Output:     nothing on stdout; the reason on stderr when it fails.
# Exit codes: 0 written; 1 FILE could not be created or written; 2 wrong number of operands.

if [ "$#" -ne 1 ]; then
  echo "usage: write-file.sh FILE < CONTENTS" >&2
  exit 2
fi
cat > "$1" || exit 1
