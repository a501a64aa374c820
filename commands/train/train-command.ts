import { defineCommand } from '../core/command.js';
import { trainCancel, trainCancelAction } from './cancel.js';
import { trainList } from './list.js';
import { trainLogs } from './logs.js';
import { trainResubmitAction } from './resubmit.js';
import { trainScanLog } from './scan-log.js';
import { trainStatus } from './status.js';
import { trainSubmit, trainSubmitAnyway } from './submit.js';

// /train — one line per subcommand; each lives in its own file (commands/train/<name>.ts).
export const trainCommand = defineCommand({
  name: 'train',
  summary: 'Submit, watch and manage GPT-NeoX training jobs on Slurm',
  usageHint: 'submit <config> | status <jobid> | logs <jobid> [n] | cancel <jobid> | list [user] | help',
  subcommands: [trainSubmit, trainStatus, trainLogs, trainCancel, trainList, trainScanLog],
  actions: [trainSubmitAnyway, trainCancelAction, trainResubmitAction],
});
