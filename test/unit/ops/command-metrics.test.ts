import { describe, expect, it } from 'vitest';
import { dispatchAction, dispatchText } from '../../../commands/core/dispatch.js';
import { createPromMetrics } from '../../../src/ops/prom-metrics.js';
import { commandDeps, slackUser } from '../../helpers/command-deps.js';
import { parsePrometheus, sampleValue } from '../../integration/ops/bot-process.js';

// Commands are counted by their registry name and outcome: what a person typed never becomes a label.

describe('command metrics', () => {
  it('labels by registry name and outcome, and lumps anything unknown together', async () => {
    const metrics = createPromMetrics();
    const deps = { ...commandDeps(), metrics };
    const user = slackUser();
    await dispatchText(deps, user, '/train', 'help');
    await dispatchText(deps, user, '/train', 'scan-log');
    await dispatchText(deps, user, '/train', 'frobnicate-4711 x');
    await dispatchText(deps, user, '/nosuchcommand-4711', 'x');
    await dispatchText(deps, user, '/train', 'cancel 12');
    await dispatchAction(deps, user, 'no-such-action-4711', '1');
    const s = parsePrometheus(await metrics.registry.metrics());
    const total = (command: string, outcome: string) =>
      sampleValue(s, 'chatops_commands_total', { command, outcome });
    expect(total('train help', 'ok')).toBeUndefined();
    expect(total('train', 'ok')).toBe(1);
    expect(total('train scan-log', 'invalid')).toBe(1);
    expect(total('train', 'invalid')).toBe(1);
    expect(total('unknown', 'invalid')).toBe(2);
    expect(total('train cancel', 'refused')).toBe(1);
    expect(s.some((x) => Object.values(x.labels).some((v) => v.includes('4711')))).toBe(false);
    expect(sampleValue(s, 'chatops_commands_in_flight')).toBe(0);
    expect(metrics.inFlight()).toBe(0);
  });
});
