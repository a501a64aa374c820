import { defineCommand } from './command.js';
import { trainCancel, trainCancelAction } from './train-cancel.js';
import { trainList } from './train-list.js';
import { trainLogs } from './train-logs.js';
import { trainResubmitAction } from './train-resubmit.js';
import { trainScanLog } from './train-scan-log.js';
import { trainStatus } from './train-status.js';
import { trainSubmit, trainSubmitAnyway } from './train-submit.js';

// /train — one line per subcommand; each lives in its own file (commands/train-<name>.ts).
export const train = defineCommand({
  name: 'train',
  summary: 'Submit, watch and manage GPT-NeoX training jobs on Slurm',
  usageHint: 'submit <config> | status <jobid> | logs <jobid> [n] | cancel <jobid> | list [user] | help',
  subcommands: [trainSubmit, trainStatus, trainLogs, trainCancel, trainList, trainScanLog],
  actions: [trainSubmitAnyway, trainCancelAction, trainResubmitAction],
});
