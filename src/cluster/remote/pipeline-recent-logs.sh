#!/bin/sh
# The pipeline logs written since a moment, and the first lines of each that name its checkpoint: how a
# resumed upload finds a run it submitted but never recorded. Few files (minutes' worth), so one small
# pipeline per file is fine.
#
# Operands: DIR SINCE
#   DIR    the pipeline log directory (`<LOGS_DIR>/checkpoint_pipeline`)
#   SINCE  epoch seconds: logs modified after it are listed
# Stdin: not read.
# Output: per log, a line `==> <file name>`, then the lines of its first 4 KiB that hold `Experiment:`,
#   `Checkpoint:` or `Processing checkpoint`. Nothing when DIR does not exist.
# Exit codes: 0, also when DIR does not exist or find complains (on stderr); anything else means the
#   script itself could not run.

cd -- "$1" 2>/dev/null || exit 0
find . -maxdepth 1 -type f -name 'checkpoint_pipeline_*.out' -newermt "@$2" | while IFS= read -r f; do
  printf '==> %s\n' "${f#./}"
  head -c 4096 -- "$f" | grep -a -F -e 'Experiment:' -e 'Checkpoint:' -e 'Processing checkpoint'
done
exit 0
