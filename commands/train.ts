import { defineCommand } from './command.js';
import { trainList } from './train-list.js';
import { trainScanLog } from './train-scan-log.js';

// /train — one line per subcommand; each lives in its own file (commands/train-<name>.ts).
export const train = defineCommand({
  name: 'train',
  summary: 'Submit, watch and manage GPT-NeoX training jobs on Slurm',
  usageHint: 'list [user] | help',
  subcommands: [trainList, trainScanLog],
});
