import { describe, expect, it } from 'vitest';
import { UploadArgs } from '../../../commands/ckpt/upload.js';
import type { LogRecord } from '../../../src/pipeline/digest-stats.js';
import { parsePipelineLog } from '../../../src/pipeline/pipeline-log.js';
import { mergeState } from '../../../src/uploads/checkpoint-status.js';
import {
  commitsPerRun,
  parseUploadJobId,
  retryDelayMs,
  UploadJobData,
  uploadJobId,
} from '../../../src/uploads/upload-job.js';
import type { UploadJobView } from '../../../src/uploads/upload-queue-service.js';

describe('upload job ids', () => {
  it('are <experiment>@<step>, never containing ":" (BullMQ 5.81 refuses it)', () => {
    expect(uploadJobId('pythia-160m_v2.1', 1000)).toBe('pythia-160m_v2.1@1000');
    expect(uploadJobId('a', 1)).not.toContain(':');
    expect(parseUploadJobId('pythia-160m_v2.1@1000')).toEqual({ experiment: 'pythia-160m_v2.1', step: 1000 });
    expect(parseUploadJobId('nope')).toBeNull();
  });
  it('count commits per run from the upload flags', () => {
    expect(commitsPerRun({ skipNeoxUpload: false, uploadNeoxOnly: false })).toBe(2);
    expect(commitsPerRun({ skipNeoxUpload: true, uploadNeoxOnly: false })).toBe(1);
    expect(commitsPerRun({ skipNeoxUpload: false, uploadNeoxOnly: true })).toBe(1);
  });
});

describe('retryDelayMs', () => {
  it('uses the Hub reset when the Hub gave one, capped by retry-max-wait', () => {
    expect(retryDelayMs(0, 120, 3600, 37)).toBe(37_000);
    expect(retryDelayMs(5, 120, 3600, 7200)).toBe(3_600_000);
  });
  it('otherwise backs off exponentially inside [retry-min-wait, retry-max-wait]', () => {
    expect(retryDelayMs(0, 120, 3600)).toBe(120_000);
    expect(retryDelayMs(1, 120, 3600)).toBe(240_000);
    expect(retryDelayMs(3, 120, 3600)).toBe(960_000);
    expect(retryDelayMs(10, 120, 3600)).toBe(3_600_000);
    expect(retryDelayMs(2, 120, 3600, null)).toBe(480_000);
  });
});

describe('/ckpt upload arguments', () => {
  const parse = (o: Record<string, unknown>) => UploadArgs.safeParse({ experiment: 'exp', ...o });
  it('defaults to the usual retry settings of the team (120 s min, 3600 s max)', () => {
    const r = parse({});
    expect(r.success && r.data).toMatchObject({
      maxRetries: 20,
      retryMinWait: 120,
      retryMaxWait: 3600,
      noSingleton: false,
    });
  });
  it('parses steps, delays and retry options', () => {
    const r = parse({
      steps: '300,global_step100,100',
      uploadDelay: 'random',
      maxRetries: '3',
      retryMinWait: '5',
    });
    expect(r.success && r.data).toMatchObject({
      steps: [100, 300],
      uploadDelay: 'random',
      maxRetries: 3,
      retryMinWait: 5,
    });
    expect(parse({ uploadDelay: '90' }).data?.uploadDelay).toBe(90);
  });
  it.each([
    [{ steps: '100,abc' }, '--steps takes step numbers'],
    [{ steps: '1;rm -rf /' }, '--steps takes step numbers'],
    [{ all: true, missing: true }, 'at most one of --steps, --all and --missing'],
    [{ skipNeoxUpload: true, uploadNeoxOnly: true }, 'would upload nothing'],
    [{ retryMinWait: '600', retryMaxWait: '60' }, '--retry-min-wait must not exceed'],
    [{ uploadDelay: 'soon' }, '--upload-delay'],
    [{ maxRetries: '-1' }, '--max-retries cannot be negative'],
    [{ maxRetries: '1.5' }, 'whole number'],
    [{ experiment: 'x; rm -rf /' }, 'experiment name'],
    [{ experiment: '../etc' }, 'experiment name'],
    [{ org: 'evil org' }, 'Hub organisation'],
  ])('refuses %j with a clear message', (o, msg) => {
    const r = parse(o);
    expect(r.success).toBe(false);
    expect(r.error?.issues.map((i) => i.message).join(' ')).toContain(msg);
  });
});

describe('mergeState', () => {
  const rec = (text: string, mtimeMs: number, jobId: string): LogRecord => ({
    name: `checkpoint_pipeline_${jobId}.out`,
    size: text.length,
    mtimeMs,
    run: parsePipelineLog(text, { jobId }),
  });
  const ok = rec(
    'Experiment: e\nCheckpoint: 1\nSuccessfully uploaded HF model to org/sfm-e\nPipeline completed at x with exit code 0\n',
    1,
    '10',
  );
  const limited = rec(
    'Experiment: e\nCheckpoint: 1\nhuggingface_hub.errors.HfHubHTTPError: 429 Client Error: Too Many Requests\nPipeline completed at x with exit code 1\n',
    2,
    '11',
  );
  const view = (state: UploadJobView['state'], over: Partial<UploadJobView> = {}): UploadJobView => ({
    id: 'e@1',
    experiment: 'e',
    step: 1,
    state,
    data: UploadJobData.parse({
      experiment: 'e',
      step: 1,
      org: 'o',
      skipNeoxUpload: true,
      uploadNeoxOnly: false,
      eval: false,
      singleton: true,
      maxRetries: 1,
      retryMinWaitS: 1,
      retryMaxWaitS: 2,
      batchId: 'b',
      requestedBy: 'U',
      waitingFor: 'the commit budget',
    }),
    failedReason: null,
    due: null,
    result: null,
    ...over,
  });
  it('a success in any run means uploaded, even after a later failure', () => {
    expect(mergeState(1, 10, [ok, limited], null)).toMatchObject({
      state: 'uploaded',
      repos: ['org/sfm-e'],
      slurmJobId: '10',
    });
  });
  it('the newest failed run gives the cause and its line', () => {
    const s = mergeState(1, 10, [limited], null);
    expect(s).toMatchObject({ state: 'failed', cause: 'rate_limited', slurmJobId: '11' });
    expect(s.line).toContain('429');
  });
  it('the queue says queued or running before the logs speak', () => {
    expect(mergeState(1, 10, [limited], view('delayed', { due: 0 }))).toMatchObject({ state: 'queued' });
    expect(mergeState(1, 10, [], view('active'))).toMatchObject({ state: 'running' });
    expect(mergeState(1, 10, [], view('failed', { failedReason: 'gave up after 1 retries' }))).toMatchObject({
      state: 'failed',
      line: 'gave up after 1 retries',
    });
    expect(mergeState(1, 10, [], null).state).toBe('none');
  });
  it('a queued checkpoint still shows where earlier runs uploaded it', () => {
    expect(mergeState(1, 10, [ok], view('waiting'))).toMatchObject({
      state: 'queued',
      repos: ['org/sfm-e'],
      detail: 'the commit budget',
    });
  });
  it("the queue's record of a finished job speaks only where the logs are silent", () => {
    const done = view('completed', { result: { slurmJobId: '12', repos: ['org/sfm-e'], retries: 0 } });
    expect(mergeState(1, 10, [], done)).toMatchObject({
      state: 'uploaded',
      repos: ['org/sfm-e'],
      slurmJobId: '12',
    });
    expect(mergeState(1, 10, [limited], done)).toMatchObject({ state: 'failed', slurmJobId: '11' });
  });
});
