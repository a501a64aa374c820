import type { ConfigProbe } from '../neox/config-probe.js';
import type { Finding } from '../neox/failure-kinds.js';
import { preflight } from '../neox/preflight.js';
import type { FixSuggestion } from '../neox/watch-messages.js';
import type { WatchData } from '../neox/watch-state.js';
import { RESUBMIT_ACTION } from './resubmit-action.js';

/**
 * For auto-fix kinds: name the fix from what exists on the cluster now (the config is re-checked, never
 * edited). The button resubmits with the fix as an override the person sees before clicking.
 */
export async function suggestFix(
  probe: ConfigProbe,
  neoxDir: string,
  d: WatchData,
  f: Finding,
): Promise<FixSuggestion | null> {
  if (f.kind === 'module_not_found') {
    return {
      text: 'activate the UV venv in the training script (`source <NEOX_DIR>/.venv/bin/activate`) or install the missing module there, then resubmit.',
      button: { label: 'Resubmit unchanged', actionId: RESUBMIT_ACTION, value: d.req.jobId },
    };
  }
  if (f.kind !== 'checkpoint_not_found' && f.kind !== 'data_path_not_found') return null;
  if (!d.req.configPath) return null;
  const pf = await preflight(probe, { config: d.req.configPath, neoxDir });
  if (f.kind === 'checkpoint_not_found') {
    const newest = pf.existingSteps.at(-1);
    const problem = pf.problems.find((p) => p.startsWith('`iteration:'));
    if (newest === undefined) {
      return {
        text: problem ?? 'no `global_step*` exists under `load`: check `load` and `iteration` in the config.',
      };
    }
    return {
      text: `${problem ?? ''} The newest existing checkpoint is \`global_step${newest}\`: resume with \`iteration: ${newest}\`.`.trim(),
      button: {
        label: `Resubmit with iteration ${newest}`,
        actionId: RESUBMIT_ACTION,
        value: `${d.req.jobId} iteration=${newest}`,
      },
    };
  }
  const dataProblems = pf.problems.filter((p) => p.startsWith('Data path'));
  if (dataProblems.length === 0)
    return {
      text: 'the data paths exist now; resubmit unchanged.',
      button: { label: 'Resubmit unchanged', actionId: RESUBMIT_ACTION, value: d.req.jobId },
    };
  return { text: `${dataProblems.join(' ')} Fix \`data-path\` in the config, then resubmit.` };
}
