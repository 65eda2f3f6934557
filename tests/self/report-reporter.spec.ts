import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, test } from '@playwright/test';
import type { FullConfig, Suite, TestCase, TestResult } from '@playwright/test/reporter';
import ComplianceReporter, { parseCheck } from '../../harness/report/compliance-reporter.ts';
import type { RunResults } from '../../harness/report/model.ts';
import { SAMPLE_CATALOGUE } from './fixtures/report/run-playwright.ts';

/** Just enough of Playwright's TestCase / TestResult / Suite for the reporter. */
function fakeTest(id: string, project: string, title: string, tags: string[], annotations: TestCase['annotations'] = []): TestCase {
  return {
    id,
    title,
    tags,
    annotations,
    location: { file: join(process.cwd(), 'tests/resident/fake.spec.ts'), line: 7, column: 1 },
    parent: { project: () => ({ name: project }) },
    titlePath: () => ['', project, 'tests/resident/fake.spec.ts', title],
  } as unknown as TestCase;
}

function fakeResult(status: TestResult['status'], retry = 0, extra: Partial<TestResult> = {}): TestResult {
  return { status, retry, duration: 12, errors: [], attachments: [], annotations: [], ...extra } as unknown as TestResult;
}

function fakeSuite(projects: Record<string, number>): Suite {
  return {
    suites: Object.entries(projects).map(([name, count]) => ({ project: () => ({ name }), allTests: () => Array.from({ length: count }) })),
  } as unknown as Suite;
}

const outcome = (requirementId: string, verdict: string) =>
  ({ type: 'lazyjoin-check', description: JSON.stringify({ checkId: `c/${requirementId}`, requirementId, level: 'MUST', verdict, expected: 'x', observed: 'y' }) });

test('the reporter gathers the final attempt of each candidate test, its checks, candidate and attachments', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'lazyjoin-reporter-'));
  const wirePath = join(dir, 'wire.json');
  writeFileSync(wirePath, JSON.stringify([{ method: 'PUT', path: '/_matrix/federation/v2/send_join/x/y' }]));
  const reporter = new ComplianceReporter({ outputDir: dir, catalogue: SAMPLE_CATALOGUE });
  reporter.onBegin({ projects: [] } as unknown as FullConfig, fakeSuite({ self: 1, synapse: 2 }));

  const flaky = fakeTest('t1', 'synapse', 'members omitted', ['@SJ-12', '@must']);
  reporter.onTestEnd(flaky, fakeResult('failed', 0, { errors: [{ message: '\u001b[31mfirst attempt\u001b[39m' }] }));
  reporter.onTestEnd(flaky, fakeResult('passed', 1, {
    annotations: [outcome('SJ-12', 'pass'), { type: 'lazyjoin-candidate', description: JSON.stringify({ name: 'synapse', implementation: 'synapse', version: '1.98.0', driver: 'process' }) }],
    attachments: [
      { name: 'remote-requests', contentType: 'application/json', path: wirePath },
      { name: 'candidate-log', contentType: 'text/plain', body: Buffer.from('x'.repeat(9000) + 'LAST LINE') },
    ],
  }));
  reporter.onTestEnd(fakeTest('t2', 'synapse', 'bad annotation', ['@SJ-16'], [{ type: 'lazyjoin-check', description: '{not json' }]), fakeResult('passed'));
  reporter.onTestEnd(fakeTest('t3', 'self', 'harness test', ['@SJ-11']), fakeResult('failed'));
  await reporter.onEnd({ status: 'failed' } as never);

  const results = JSON.parse(readFileSync(join(dir, 'results.json'), 'utf8')) as RunResults;
  expect(results.projects).toEqual(['synapse']);
  expect(results.candidates).toEqual({ synapse: { name: 'synapse', implementation: 'synapse', version: '1.98.0', driver: 'process' } });
  expect(results.tests.map((t) => [t.title, t.status, t.retry, t.file, t.line])).toEqual([
    ['members omitted', 'passed', 1, 'tests/resident/fake.spec.ts', 7],
    ['bad annotation', 'passed', 0, 'tests/resident/fake.spec.ts', 7],
  ]);
  const [members, bad] = results.tests;
  expect(members.checks.map((c) => c.verdict)).toEqual(['pass']);
  expect(members.wireExchange).toContain('"path": "/_matrix/federation/v2/send_join/x/y"');
  expect(members.candidateLogTail).toMatch(/^\(… 1009 earlier characters trimmed\)\n/);
  expect(members.candidateLogTail!.endsWith('LAST LINE')).toBe(true);
  // A malformed check annotation becomes an error for the test's requirements, never a pass.
  expect(bad.checks.map((c) => [c.requirementId, c.verdict])).toEqual([['SJ-16', 'error']]);
  const report = JSON.parse(readFileSync(join(dir, 'compliance.json'), 'utf8'));
  expect(report.requirements.find((r: { id: string }) => r.id === 'SJ-16').results.synapse.verdict).toBe('error');
});

test('the database a candidate ran on reaches results.json, compliance.json and summary.md; a candidate without one shows none', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'lazyjoin-reporter-'));
  const reporter = new ComplianceReporter({ outputDir: dir, catalogue: SAMPLE_CATALOGUE });
  reporter.onBegin({ projects: [] } as unknown as FullConfig, fakeSuite({ 'synapse-container-postgres': 1, dendrite: 1 }));
  const candidate = (info: object) => ({ type: 'lazyjoin-candidate', description: JSON.stringify(info) });
  reporter.onTestEnd(
    fakeTest('p1', 'synapse-container-postgres', 'members omitted', ['@SJ-12', '@must']),
    fakeResult('passed', 0, {
      annotations: [outcome('SJ-12', 'pass'), candidate({ name: 'synapse-container-postgres', implementation: 'synapse', version: '1.98.0', driver: 'container', database: 'postgres' })],
    }),
  );
  reporter.onTestEnd(
    fakeTest('d1', 'dendrite', 'members omitted', ['@SJ-12', '@must']),
    // A database that is not a string is not recorded.
    fakeResult('passed', 0, { annotations: [outcome('SJ-12', 'pass'), candidate({ name: 'dendrite', implementation: 'dendrite', version: 'v0.13.8', driver: 'process', database: 7 })] }),
  );
  await reporter.onEnd({ status: 'passed' } as never);
  const results = JSON.parse(readFileSync(join(dir, 'results.json'), 'utf8')) as RunResults;
  expect(results.candidates['synapse-container-postgres']).toMatchObject({ driver: 'container', database: 'postgres' });
  expect(results.candidates.dendrite).not.toHaveProperty('database');
  const report = JSON.parse(readFileSync(join(dir, 'compliance.json'), 'utf8'));
  expect(report.candidates.map((c: { name: string; database?: string }) => [c.name, c.database])).toEqual([
    ['synapse-container-postgres', 'postgres'],
    ['dendrite', undefined],
  ]);
  const summary = readFileSync(join(dir, 'summary.md'), 'utf8');
  expect(summary).toMatch(/^\| synapse-container-postgres \| 1\.98\.0 \(postgres\) \|/m);
  expect(summary).toMatch(/^\| dendrite \| v0\.13\.8 \|/m);
});

test('check annotations are parsed strictly, with a one-line reason when malformed', () => {
  expect(parseCheck(JSON.stringify({ checkId: null, requirementId: 'SJ-07', level: 'MAY', verdict: 'informational', present: false, expected: 'e', observed: null }))).toEqual({
    checkId: null,
    requirementId: 'SJ-07',
    level: 'MAY',
    verdict: 'informational',
    present: false,
    expected: 'e',
    observed: null,
  });
  expect(parseCheck('{oops')).toBe('malformed lazyjoin-check annotation (not JSON): {oops');
  expect(parseCheck(JSON.stringify({ checkId: 'c', requirementId: 'SJ-1', verdict: 'passed' }))).toBe(
    'malformed lazyjoin-check annotation for SJ-1: verdict "passed" is not one of pass, fail, non-strict, informational, not-supported, not-run, error, known-failure',
  );
  expect(parseCheck(JSON.stringify({ checkId: 3, requirementId: 'SJ-1', verdict: 'pass' }))).toBe(
    'malformed lazyjoin-check annotation: needs a string requirementId and a string or null checkId',
  );
});
