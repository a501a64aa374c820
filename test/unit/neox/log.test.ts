import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ACTION, FailureKind } from '../../../src/neox/failure-kinds.js';
import { parseLogLine } from '../../../src/neox/log-line.js';
import { LogScanner } from '../../../src/neox/log-scanner.js';
import { scanLog } from '../../../src/neox/scan-log.js';
import { checkStalled, createStallClock, noteIterations } from '../../../src/neox/stall.js';

const FIXTURES = join(import.meta.dirname, '..', '..', 'fixtures', 'neox');
const fixture = (name: string) => readFileSync(join(FIXTURES, name), 'utf8');

const DESIGN_LINE =
  ' samples/sec: 37.512 | iteration       50/  143000 | elapsed time per iteration (ms): 27300.4 | learning rate: 7.500E-06 | approx flops per GPU: 152.3TFLOPS | lm_loss: 7.412356E+00 | loss scale: 65536.0 | number of skipped iterations:   0 | number of nan iterations:   0 |';

describe('parseLogLine', () => {
  it('parses the design document line', () => {
    expect(parseLogLine(DESIGN_LINE)).toEqual({
      kind: 'iteration',
      host: null,
      iteration: 50,
      trainIters: 143000,
      msPerIteration: 27300.4,
      learningRate: 7.5e-6,
      lmLoss: 7.412356,
      lossScale: 65536,
      skippedIterations: 0,
      nanIterations: 0,
    });
  });

  it('strips a launcher host prefix and reads optional MFU/HFU without loss scale', () => {
    const line = `gpu250: ${DESIGN_LINE.replace(' loss scale: 65536.0 |', '').replace('| lm_loss', '| MFU: 0.41 | HFU: 0.52 | lm_loss')}`;
    const p = parseLogLine(line);
    expect(p).toMatchObject({
      kind: 'iteration',
      host: 'gpu250',
      iteration: 50,
      lmLoss: 7.412356,
      lossScale: null,
    });
  });

  it.each([
    ['NAN', 'NAN'],
    ['INF', 'INF'],
    ['-INF', '-INF'],
  ])('keeps lm_loss %s as a token', (raw, token) => {
    expect(parseLogLine(DESIGN_LINE.replace('7.412356E+00', raw))).toMatchObject({ lmLoss: token });
  });

  it('does not take validation lines or stray text for iterations', () => {
    expect(
      parseLogLine(
        ' validation results at iteration 100 | lm_loss value: 7.0E+00 | lm_loss_ppl value: 1.1E+03 | ',
      ),
    ).toMatchObject({
      kind: 'validation',
      iteration: 100,
    });
    expect(parseLogLine('setting training data start iteration to 0')).toBeNull();
    expect(parseLogLine('saving checkpoint at iteration      50 to /x')).toBeNull();
    expect(parseLogLine('resuming at iteration 5/10 | nothing else')).toBeNull();
  });
});

describe('LogScanner (incremental)', () => {
  it('keeps a partial last line for the next read, byte by byte if need be', () => {
    const text = fixture('healthy-basic.log');
    const whole = scanLog(text);
    const s = new LogScanner();
    let iterations = 0;
    for (let i = 0; i < text.length; i += 37) iterations += s.feed(text.slice(i, i + 37)).iterations.length;
    s.flush();
    expect(iterations).toBe(60);
    expect(s.state.iterationsLogged).toBe(whole.iterationsLogged);
    expect(s.state.lastIteration).toBe(60);
  });

  it('does not count a line until its newline arrives', () => {
    const s = new LogScanner();
    expect(s.feed(DESIGN_LINE.slice(0, 80)).iterations).toHaveLength(0);
    expect(s.feed(DESIGN_LINE.slice(80)).iterations).toHaveLength(0);
    expect(s.feed('\n').iterations).toHaveLength(1);
  });

  it('survives a JSON round trip of its state mid-line (what the durable watch stores)', () => {
    const text = fixture('cuda_oom.log');
    const cut = text.indexOf('torch.OutOfMemoryError') + 10;
    const a = new LogScanner();
    a.feed(text.slice(0, cut));
    const b = new LogScanner(JSON.parse(JSON.stringify(a.state)));
    const upd = b.feed(text.slice(cut));
    b.flush();
    expect(upd.findings.map((f) => f.kind)).toEqual(['cuda_oom']);
    expect(b.state.findings).toHaveLength(1);
  });

  it('reports each kind once, with its first line', () => {
    const s = new LogScanner();
    s.feed('RuntimeError: CUDA out of memory. (rank 0)\nRuntimeError: CUDA out of memory. (rank 1)\n');
    expect(s.state.findings).toEqual([
      {
        kind: 'cuda_oom',
        action: 'escalate',
        line: 1,
        excerpt: 'RuntimeError: CUDA out of memory. (rank 0)',
      },
    ]);
  });

  it('treats a chained traceback ending in a known failure as that failure only', () => {
    const log = [
      'Traceback (most recent call last):',
      '  File "a.py", line 1, in <module>',
      "KeyError: 'x'",
      '',
      'During handling of the above exception, another exception occurred:',
      '',
      'Traceback (most recent call last):',
      '  File "b.py", line 2, in <module>',
      "ModuleNotFoundError: No module named 'megatron'",
    ].join('\n');
    expect(scanLog(log).findings.map((f) => f.kind)).toEqual(['module_not_found']);
  });

  it('gives unknown_error the exception line and the traceback tail', () => {
    const r = scanLog(fixture('unknown_error.log'));
    expect(r.findings).toHaveLength(1);
    const f = r.findings[0];
    expect(f?.kind).toBe('unknown_error');
    expect(f?.excerpt).toContain("KeyError: 'lm_loss'");
    const lines = fixture('unknown_error.log').split('\n');
    expect(lines[(f?.line ?? 0) - 1]).toBe("KeyError: 'lm_loss'");
  });

  it('keeps tracebacks of different hosts apart', () => {
    const log = [
      'gpu1: Traceback (most recent call last):',
      'gpu2: Traceback (most recent call last):',
      'gpu1:   File "x.py", line 3, in f',
      'gpu2:   File "y.py", line 4, in g',
      'gpu1: ValueError: bad shape',
      'gpu2: torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 2.00 GiB.',
    ].join('\n');
    const r = scanLog(log);
    expect(r.findings.map((f) => [f.kind, f.line])).toEqual([
      ['cuda_oom', 6],
      ['unknown_error', 5],
    ]);
  });
});

describe('scanLog on fixtures', () => {
  it.each(['healthy-basic.log', 'healthy-prefixed-fp16.log', 'stalled.log'])('%s has no findings', (name) => {
    const text = fixture(name);
    // The noise really is there: the words a grep-based monitor would trip on.
    expect(text.toLowerCase()).toMatch(/error|warning|nan/);
    expect(scanLog(text).findings).toEqual([]);
  });

  it('healthy-prefixed-fp16.log: prefixed iterations counted, validation lines not, partial last line ignored', () => {
    expect(scanLog(fixture('healthy-prefixed-fp16.log'))).toEqual({
      lastIteration: 120,
      trainIters: 2000,
      iterationsLogged: 12,
      lastLoss: 8.789863,
      findings: [],
    });
  });

  const cases: [string, FailureKind, RegExp][] = [
    ['cuda_oom.log', 'cuda_oom', /CUDA out of memory/],
    ['host_oom.log', 'host_oom', /oom_kill event/],
    ['nan_loss.log', 'nan_loss', /lm_loss: NAN/],
    ['loss_spike.log', 'loss_spike', /iteration\s+11\//],
    ['loss_spike_inf.log', 'loss_spike', /lm_loss: INF/],
    ['checkpoint_load_skipped.log', 'checkpoint_load_skipped', /^Unable to load checkpoint\.$/],
    ['checkpoint_not_found.log', 'checkpoint_not_found', /global_step1500/],
    ['data_path_not_found.log', 'data_path_not_found', /Dataset does not exist: \/projects/],
    ['module_not_found.log', 'module_not_found', /No module named 'deepspeed'/],
    ['nccl_timeout.log', 'nccl_timeout', /Watchdog caught collective operation timeout/],
    ['time_limit.log', 'time_limit', /DUE TO TIME LIMIT/],
    ['unknown_error.log', 'unknown_error', /KeyError/],
  ];
  it.each(cases)('%s → %s only, with its action, line and excerpt', (name, kind, excerpt) => {
    const text = fixture(name);
    const r = scanLog(text);
    expect(r.findings.map((f) => f.kind)).toEqual([kind]);
    const f = r.findings[0];
    expect(f?.action).toBe(ACTION[kind]);
    expect(f?.excerpt).toMatch(excerpt);
    expect(text.split('\n')[(f?.line ?? 0) - 1]?.trim()).toBe(f?.excerpt.split('\n').at(-1)?.trim());
  });

  it('every kind but the time-based one has a fixture', () => {
    const covered = new Set(cases.map((c) => c[1]));
    expect(FailureKind.options.filter((k) => !covered.has(k))).toEqual(['stalled']);
  });

  it('reports NaN/INF last losses as null (JSON has neither)', () => {
    const r = scanLog(fixture('nan_loss.log'));
    expect(r.lastLoss).toBeNull();
    expect(JSON.parse(JSON.stringify(r))).toEqual(r);
  });
});

describe('stalled', () => {
  it('fires after k × the mean gap between iteration lines, not before', () => {
    const c = createStallClock();
    for (let t = 0; t <= 1000; t += 100) noteIterations(c, t, 1, 100, 1);
    const opts = { k: 5, minMs: 0 };
    expect(checkStalled(c, 1400, opts)).toBeNull();
    expect(checkStalled(c, 1600, opts)).toEqual({ quietMs: 600, thresholdMs: 500 });
  });

  it('never fires before the first iteration, and respects the floor', () => {
    const c = createStallClock();
    expect(checkStalled(c, 10 ** 9, { k: 5, minMs: 0 })).toBeNull();
    noteIterations(c, 0, 1, 20, 1);
    expect(checkStalled(c, 150, { k: 5, minMs: 1000 })).toBeNull();
    expect(checkStalled(c, 1001, { k: 5, minMs: 1000 })).not.toBeNull();
  });
});
