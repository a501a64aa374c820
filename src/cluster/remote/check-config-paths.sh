#!/bin/sh
# What a NeoX config's paths look like where the training job will run, in one process: the facts only;
# what they mean for the config is decided by the caller.
#
# Operands:   SAVE LOAD ITERATION LOGS_DIR [DATA_PREFIX]...
#               SAVE         the config's `save` directory ("" = not set)
#               LOAD         the config's `load` directory ("" = not set)
#               ITERATION    the config's `iteration` ("" = not asked)
#               LOGS_DIR     where Slurm will write the job's log ("" = not asked)
#               DATA_PREFIX  each data path, without .bin / .idx
# Stdin:      not read.
# Output:     one record a line, in this order, each only when it applies:
#               logs missing                  LOGS_DIR is not a directory
#               save ok|missing|notdir|notwritable
#               load ok|missing
#               ckpt ok|missing               whether LOAD/global_stepITERATION is a directory
#               step N                        LOAD/global_stepN is a directory (at most 1000 records)
#               data B I DATA_PREFIX          one per DATA_PREFIX, in operand order; B (I) is 1 when
#                                             DATA_PREFIX.bin (.idx) is a regular file, else 0
#               near FILE                     after a data record with a 0: an existing .bin file in the
#                                             prefix's directory, or in the directories beside it when
#                                             that directory is missing (at most 200 records)
# Exit codes: 0 checked, whatever the facts; 2 fewer than four operands.

if [ "$#" -lt 4 ]; then
  echo "usage: check-config-paths.sh SAVE LOAD ITERATION LOGS_DIR [DATA_PREFIX]..." >&2
  exit 2
fi
save=$1
load=$2
iter=$3
logs=$4
shift 4

# The regular files among the operands (an unmatched glob stays a word that is not a file).
files_among() {
  for c in "$@"; do
    if [ -f "$c" ]; then printf 'near %s\n' "$c"; fi
  done
}

if [ -n "$logs" ] && [ ! -d "$logs" ]; then echo "logs missing"; fi

if [ -n "$save" ]; then
  if [ ! -e "$save" ]; then
    echo "save missing"
  elif [ ! -d "$save" ]; then
    echo "save notdir"
  elif [ ! -w "$save" ]; then
    echo "save notwritable"
  else
    echo "save ok"
  fi
fi

if [ -n "$load" ]; then
  if [ -d "$load" ]; then echo "load ok"; else echo "load missing"; fi
  if [ -n "$iter" ]; then
    if [ -d "$load/global_step$iter" ]; then echo "ckpt ok"; else echo "ckpt missing"; fi
  fi
  for d in "$load"/global_step*; do
    if [ -d "$d" ]; then printf 'step %s\n' "${d##*/global_step}"; fi
  done | head -n 1000
fi

for p in "$@"; do
  b=0
  i=0
  if [ -f "$p.bin" ]; then b=1; fi
  if [ -f "$p.idx" ]; then i=1; fi
  printf 'data %s %s %s\n' "$b" "$i" "$p"
  if [ "$b$i" != 11 ]; then
    dir=${p%/*}
    if [ -d "$dir" ]; then
      files_among "$dir"/*.bin | head -n 200
    else
      files_among "${dir%/*}"/*/*.bin | head -n 200
    fi
  fi
done
exit 0
