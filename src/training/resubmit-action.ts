/** The button id of "Resubmit" on a diagnosis (src/training/suggest-fix.ts), handled by /train's action. */
export const RESUBMIT_ACTION = 'train.resubmit';
