// What /train's listing (train-command.ts) and its implementations both name: usage lines, button ids and
// the limits its help states. Kept apart from the implementations so that the listing loads none of them.

export const SUBMIT_USAGE =
  '/train submit <config.yml> [--name N] [--nodes N] [--time 2:00:00] [--partition P]';
export const STATUS_USAGE = '/train status <jobid>';
export const LOGS_USAGE = '/train logs <jobid> [lines]';
export const CANCEL_USAGE = '/train cancel <jobid>';
export const SCAN_LOG_USAGE = 'chatops train scan-log <file> [--json]';

export const SUBMIT_ANYWAY_ACTION = 'train.submit.anyway';
export const CANCEL_ACTION = 'train.cancel';
export { RESUBMIT_ACTION } from '../../src/training/resubmit-action.js';

export const MAX_LOG_LINES = 5000;
/** What is read from the cluster at most, whatever the lines: the whole tail travels as one attached file. */
export const MAX_LOG_BYTES = 2 * 1024 * 1024;
