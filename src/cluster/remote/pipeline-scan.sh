#!/bin/sh
# One full sweep of a checkpoint-pipeline log directory: list it, compare with what the caller already read,
# and read only the new or changed logs, most of them only in two 4 KB windows (first and last).
#
# Operands:   DIR SHARDS ENGINE HEAD TAIL WHOLE
#               DIR     the log directory (checkpoint_pipeline_<jobid>.out files)
#               SHARDS  how many workers read the changed logs at once (1-64)
#               ENGINE  perl (scan-worker.pl, from $SCAN_WORKER_PL), gnu (head/tail/grep/awk), or auto
#                       (perl where the host has it)
#               HEAD    fixed strings separated by "|": lines of the first 4 KB worth returning
#               TAIL    fixed strings separated by "|": lines of the last 4 KB worth returning
#               WHOLE   an extended regular expression (grep -E): lines worth returning from a log read whole
# Stdin:      what the caller already read, one "NAME SIZE MTIME" line per log (empty on a first sweep).
# Output:     records, tab-separated, in this order:
#               M  DIR-MTIME  NOW            the directory's mtime (find's %T@) and the host's clock (first line)
#               F  NAME  SIZE  MTIME         a new or changed log
#               D  NAME                      a log of stdin that is gone
#               @@T                          then:
#               H  JOBID  LINE               a HEAD line of the first 4 KB (LINE cut to 1000 bytes)
#               T  JOBID  LINE               a TAIL line of the last 4 KB (cut to 1000 bytes)
#               X  NAME                      a log read whole (below)
#               @@C                          then `NAME:LINE` (grep -H), not tab-separated:
#                                            HEAD lines of logs whose first 4 KB has no "Experiment:" line
#                                            (two at most), then WHOLE lines of the X logs
#             When no log is new or changed, the output ends after the D records (no @@T, no @@C).
# Exit codes: 0 done; 2 bad operands (or ENGINE perl without $SCAN_WORKER_PL); 3 cannot enter DIR;
#             4 no private work directory (mktemp -d in $TMPDIR, else /tmp, failed); 5 listing DIR failed;
#             6 ENGINE perl but the host has no perl;
#             7 a worker failed (its reader or its whole-log grep); 8 a worker ended without a word
#             (killed): in both cases nothing is printed after the F/D records.
#
# What the program itself knows (not operands): the log name pattern, the 4 KB windows, and when a log must
# be read whole. A window answers unless the log is still running (no "Pipeline completed at … with exit
# code N" line), or it failed and the window shows no 429 ("429" with "HfHubHTTPError" or "429 Client
# Error": a 429 anywhere decides the cause), or it succeeded and no "Successfully uploaded" line is in the
# window (evaluation output after the uploads pushes them out). The pipeline uploads as one step, so the
# upload lines sit together: an earlier upload more than 4 KB before the others (a raw NeoX upload before a
# long conversion, when SKIP_NEOX_UPLOAD is off) is not seen.
#
# Only the changed logs are read, dealt round-robin to SHARDS workers that run at once, each reading its
# logs' windows and then grepping its own whole logs. A sweep that finds nothing changed writes no file
# (its work directory stays empty and goes at exit).

export LC_ALL=C

if [ "$#" -ne 6 ]; then
  echo "usage: pipeline-scan.sh DIR SHARDS ENGINE HEAD TAIL WHOLE" >&2
  exit 2
fi
P=$2
W=$3
case $P in '' | *[!0-9]*) echo "pipeline-scan.sh: SHARDS must be a number, not $P" >&2; exit 2 ;; esac
if [ "$P" -lt 1 ] || [ "$P" -gt 64 ]; then
  echo "pipeline-scan.sh: SHARDS must be from 1 to 64, not $P" >&2
  exit 2
fi
case $W in auto | perl | gnu) ;; *) echo "pipeline-scan.sh: ENGINE must be auto, perl or gnu" >&2; exit 2 ;; esac
if [ -z "$4" ] || [ -z "$5" ] || [ -z "$6" ]; then
  echo "pipeline-scan.sh: HEAD, TAIL and WHOLE must not be empty" >&2
  exit 2
fi
# For awk through ENVIRON, so that no backslash in a pattern is taken for an escape.
SCAN_HEAD=$4
SCAN_TAIL=$5
export SCAN_HEAD SCAN_TAIL
WHOLE=$6

cd -- "$1" || exit 3

if [ "$W" = auto ]; then
  if command -v perl > /dev/null 2>&1; then W=perl; else W=gnu; fi
fi
if [ "$W" = perl ]; then
  command -v perl > /dev/null 2>&1 || exit 6
  if [ -z "${SCAN_WORKER_PL:-}" ]; then
    echo "pipeline-scan.sh: ENGINE perl needs the worker in \$SCAN_WORKER_PL" >&2
    exit 2
  fi
fi

printf 'M\t%s\t%s\n' "$(find . -maxdepth 0 -printf '%T@')" "$(date +%s)"

# fd 3 keeps the known list (our stdin) for awk, whose own stdin is the listing.
exec 3<&0

# Work files go in a fresh directory that only we can enter, with a name nobody can guess (mktemp -d), removed
# on exit: no other user of the login node can read them, plant one, or swap the directory.
work=$(mktemp -d "${TMPDIR:-/tmp}/slurm-chatops-scan.XXXXXXXX") || exit 4
trap 'rm -rf -- "$work"' EXIT
t=$work/scan

# New and changed logs as F records, dealt round-robin into one list per worker ("NAME SIZE" lines), and D
# records for the known logs that are gone. FILENAME, not NR==FNR: the known list is empty on a first
# sweep. Exit 10: there is work.
find . -maxdepth 1 -type f -name 'checkpoint_pipeline_*.out' -printf '%f %s %T@\n' |
  SCAN_LISTS=$t.c. SCAN_SHARDS=$P awk '
    BEGIN { ch = ENVIRON["SCAN_LISTS"]; n = ENVIRON["SCAN_SHARDS"] + 0 }
    FILENAME == "/dev/fd/3" { if (NF >= 3) known[$1] = $2 " " $3; next }
    $1 ~ /^checkpoint_pipeline_[0-9_]+\.out$/ {
      seen[$1] = 1
      if (known[$1] != $2 " " $3) {
        printf "F\t%s\t%s\t%s\n", $1, $2, $3
        print $1 " " $2 > (ch (c % n))
        c++
      }
    }
    END {
      for (x in known) if (!(x in seen)) printf "D\t%s\n", x
      if (c > 0) for (j = 0; j < n; j++) printf "" > (ch j)
      exit (c > 0 ? 10 : 0)
    }
  ' /dev/fd/3 -
r=$?
[ "$r" -eq 0 ] && exit 0
[ "$r" -eq 10 ] || exit 5
# The same lists for grep -F, one pattern a line.
HEAD_LINES=$(printf '%s\n' "$SCAN_HEAD" | tr '|' '\n')
TAIL_LINES=$(printf '%s\n' "$SCAN_TAIL" | tr '|' '\n')

# The GNU reader of shard $1: the first 4 KB of each log, a marker, the last 4 KB of each, through one grep
# and one awk that prints the H/T/X records and writes the X list ($t.x.N) and the no-Experiment list
# ($t.h.N). Each xargs batch ends with an `echo`, so a window that ends mid-line cannot swallow the next
# batch's first `==> name <==` header.
gnu_worker() {
  {
    cut -d ' ' -f 1 < "$t.c.$1" | xargs -d '\n' sh -c 'head -v -c 4096 -- "$@"; echo' sh
    printf '\n==> @@tail <==\n'
    cut -d ' ' -f 1 < "$t.c.$1" | xargs -d '\n' sh -c 'tail -v -c 4096 -- "$@"; echo' sh
  } | grep -a -F -e '==> ' -e "$HEAD_LINES" -e "$TAIL_LINES" |
    SCAN_X=$t.x.$1 SCAN_H=$t.h.$1 awk '
      function any(s, pats, np,    j) {
        for (j = 1; j <= np; j++) if (index(s, pats[j]) > 0) return 1
        return 0
      }
      BEGIN {
        fl = ENVIRON["SCAN_X"]; fh = ENVIRON["SCAN_H"]
        nh = split(ENVIRON["SCAN_HEAD"], hp, "|")
        nt = split(ENVIRON["SCAN_TAIL"], tp, "|")
        printf "" > fl; printf "" > fh
      }
      /^==> .* <==$/ {
        n = substr($0, 5, length($0) - 8)
        if (n == "@@tail") { tl = 1; next }
        i = n; sub(/^checkpoint_pipeline_/, "", i); sub(/\.out$/, "", i)
        if (tl) seen[n] = 1
        next
      }
      !tl {
        if (index($0, "Experiment:") > 0) ex[n] = 1
        if (any($0, hp, nh)) printf "H\t%s\t%s\n", i, substr($0, 1, 1000)
        next
      }
      !any($0, tp, nt) { next }
      { printf "T\t%s\t%s\n", i, substr($0, 1, 1000) }
      index($0, "Pipeline completed at") > 0 && $0 ~ /with exit code -?[0-9]+/ {
        ok[n] = ($0 ~ /with exit code 0[^0-9]*$/)
        next
      }
      index($0, "Successfully uploaded") > 0 { up[n] = 1; next }
      index($0, "429") > 0 && (index($0, "HfHubHTTPError") > 0 || index($0, "429 Client Error") > 0) {
        r429[n] = 1
      }
      END {
        for (x in seen) {
          if (!(x in ex)) print x > fh
          if (!(x in ok) || (ok[x] && !(x in up)) || (!ok[x] && !(x in r429))) {
            print x > fl
            printf "X\t%s\n", x
          }
        }
      }
    '
}

# Shard $1 whole: its windows, then the WHOLE lines of its X logs. (xargs says 123 when a grep found
# nothing in its batch.)
worker() {
  if [ "$W" = perl ]; then
    perl -e "$SCAN_WORKER_PL" -- "$t.x.$1" "$t.h.$1" "$SCAN_HEAD" "$SCAN_TAIL" < "$t.c.$1" > "$t.o.$1" ||
      return 7
  else
    gnu_worker "$1" > "$t.o.$1" || return 7
  fi
  if [ -s "$t.x.$1" ]; then
    xargs -d '\n' grep -a -H -E -e "$WHOLE" < "$t.x.$1" > "$t.g.$1"
    g=$?
    [ "$g" -eq 0 ] || [ "$g" -eq 123 ] || return 7
  fi
  return 0
}

# Each worker leaves a word in $t.k.N: "ok", or "failed"; one that was killed leaves none. The sweep fails
# rather than count logs it never read.
i=0
while [ "$i" -lt "$P" ]; do
  : > "$t.o.$i"
  : > "$t.x.$i"
  : > "$t.h.$i"
  : > "$t.g.$i"
  : > "$t.k.$i"
  if [ -s "$t.c.$i" ]; then
    (if worker "$i"; then echo ok; else echo failed; fi) > "$t.k.$i" &
  fi
  i=$((i + 1))
done
wait
i=0
while [ "$i" -lt "$P" ]; do
  if [ -s "$t.c.$i" ]; then
    word=
    read -r word < "$t.k.$i"
    case $word in ok) ;; failed) exit 7 ;; *) exit 8 ;; esac
  fi
  i=$((i + 1))
done

# The K files of every shard, in shard order, as one cat.
cat_shards() {
  k=$1
  set --
  i=0
  while [ "$i" -lt "$P" ]; do
    set -- "$@" "$t.$k.$i"
    i=$((i + 1))
  done
  cat -- "$@"
}

echo @@T
cat_shards o
echo @@C
# Rare: no Experiment line in the first 4 KB (a long banner): look further, stopping at two matches.
cat_shards h | xargs -d '\n' -r grep -a -H -m 2 -F -e "$HEAD_LINES"
cat_shards g
exit 0
