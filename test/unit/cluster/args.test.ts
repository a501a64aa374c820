import { describe, expect, it } from 'vitest';
import {
  AbsPath,
  EnvName,
  ExperimentName,
  HfOrg,
  JobId,
  SlurmJobName,
  Step,
  UnixUser,
} from '../../../src/args.js';
import type * as z from '../../../src/zod.js';

const SHELLY = [
  '; id',
  '$(id)',
  '`id`',
  'a|b',
  'a&b',
  'a>b',
  "a'b",
  'a"b',
  'a\nb',
  'a\rb',
  'a\u0000b',
  'a b',
];

function rejects(schema: z.ZodMiniType, value: unknown, message?: RegExp) {
  const r = schema.safeParse(value);
  expect(r.success, `${JSON.stringify(value)} should be rejected`).toBe(false);
  if (message && !r.success) expect(r.error.issues.map((i) => i.message).join('; ')).toMatch(message);
}
function accepts(schema: z.ZodMiniType, value: unknown) {
  const r = schema.safeParse(value);
  expect(r.success, `${JSON.stringify(value)} should be accepted`).toBe(true);
}

describe('argument validators', () => {
  it('JobId: digits, array tasks and het components only', () => {
    for (const v of ['1', '123456', '123_4', '123+1']) accepts(JobId, v);
    for (const v of [
      '',
      'abc',
      '-1',
      '--all',
      '1,2',
      '1 2',
      '12a',
      '1_',
      '123_[1-3]',
      '1'.repeat(13),
      ...SHELLY,
    ]) {
      rejects(JobId, v, /digits/);
    }
    rejects(JobId, 123);
  });

  it('ExperimentName: directory-name characters, no "..", bounded length', () => {
    for (const v of ['pythia-160m', 'exp_1.2+lr', 'A', '7b']) accepts(ExperimentName, v);
    rejects(ExperimentName, '', /empty/);
    rejects(ExperimentName, 'a..b', /\.\./);
    rejects(ExperimentName, '-rf', /starts with a letter or digit/);
    rejects(ExperimentName, '.hidden');
    rejects(ExperimentName, 'a/b');
    rejects(ExperimentName, 'x'.repeat(201), /at most 200/);
    for (const v of SHELLY) rejects(ExperimentName, v);
  });

  it('AbsPath: absolute, no "..", no control or shell characters', () => {
    for (const v of ['/', '/projects/a5k/public/logs', '/a b/c', '/x/global_step1000', '/a/b=c,d:e@f+g']) {
      accepts(AbsPath, v);
    }
    rejects(AbsPath, 'relative/path', /absolute/);
    rejects(AbsPath, '/a/../etc/passwd', /\.\./);
    rejects(AbsPath, '/a/b\nc', /newlines or control/);
    rejects(AbsPath, `/${'x'.repeat(4096)}`, /at most 4096/);
    for (const v of ['/a;id', '/a$(id)', '/a`id`', "/a'b", '/a"b', '/a|b', '/a*b', '/a~b']) {
      rejects(AbsPath, v, /characters a cluster path never uses/);
    }
  });

  it('SlurmJobName: no spaces, no option-looking names', () => {
    for (const v of ['neox-1.3b', 'upload_exp+1', 'a']) accepts(SlurmJobName, v);
    rejects(SlurmJobName, '', /empty/);
    rejects(SlurmJobName, '--wrap=id', /letters, digits/);
    rejects(SlurmJobName, 'x'.repeat(129), /at most 128/);
    for (const v of SHELLY) rejects(SlurmJobName, v);
  });

  it('Step: a whole non-negative number, also from text', () => {
    expect(Step.parse('1000')).toBe(1000);
    expect(Step.parse(0)).toBe(0);
    rejects(Step, '-1', /negative/);
    rejects(Step, '1.5', /whole number/);
    rejects(Step, 'abc', /whole number/);
    rejects(Step, 1e10, /too large/);
  });

  it('HfOrg, UnixUser, EnvName', () => {
    for (const v of ['EleutherAI', 'my-org', 'org.name_1']) accepts(HfOrg, v);
    rejects(HfOrg, '-org');
    rejects(HfOrg, 'a/b');
    rejects(HfOrg, 'x'.repeat(97), /at most 96/);
    for (const v of ['root', 'kyleobrien.a5k', '_svc', 'a-b']) accepts(UnixUser, v);
    for (const v of ['Root', '1user', '-u', 'x'.repeat(33), ...SHELLY])
      rejects(UnixUser, v, /cluster user name/);
    for (const v of ['PATH', '_X', 'HF_TOKEN2']) accepts(EnvName, v);
    for (const v of ['1X', 'A-B', 'A B', 'A=B', '', ...SHELLY]) rejects(EnvName, v, /environment variable/);
  });
});
