#!/bin/sh
# Which checkpoint-pipeline logs have reached their completion line, in one command for all of them: the
# upload worker asks this about the logs that just stopped growing, so it notices a run's end within
# seconds instead of at the next squeue poll (docs/domain.md#checkpoint-pipeline, "Pipeline completed at").
#
# Operands:   LOG [LOG]...   the logs (`<LOGS_DIR>/checkpoint_pipeline/checkpoint_pipeline_<jobid>.out`)
# Stdin:      not read.
# Output:     one line per LOG, in the order given:
#               ended    the log's last 4 KB hold "Pipeline completed at … with exit code N"
#               running  they do not (yet)
#               missing  the log does not exist or cannot be read
# Exit codes: 0 answered; 2 no operands.

if [ "$#" -eq 0 ]; then
  echo "usage: pipeline-log-ends.sh LOG [LOG]..." >&2
  exit 2
fi
for f in "$@"; do
  if [ ! -r "$f" ]; then
    echo missing
  elif tail -c 4096 -- "$f" | grep -q -E 'Pipeline completed at .* with exit code -?[0-9]+'; then
    echo ended
  else
    echo running
  fi
done
exit 0
