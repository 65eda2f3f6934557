import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, test } from '@playwright/test';
import { grepPattern } from '../../harness/cli.ts';
import { writeReport } from '../../harness/report/write.ts';
import { check, requirement, runResults, testRecord } from './fixtures/report/records.ts';
import { SAMPLE_CATALOGUE, runChild } from './fixtures/report/run-playwright.ts';

const lazyjoin = (...args: string[]) => runChild(process.execPath, ['bin/lazyjoin.mjs', ...args], {}, 60_000);

test('--help for the command and each subcommand', async () => {
  const main = await lazyjoin('--help');
  expect(main.code).toBe(0);
  expect(main.stdout).toContain('Usage: lazyjoin <command> [options]');
  for (const command of ['run', 'report', 'list']) {
    const help = await lazyjoin(command, '--help');
    expect([help.code, help.stdout.split('\n')[0]], help.stderr).toEqual([0, `Usage: lazyjoin ${command} [options]${command === 'run' ? ' [-- <extra playwright test arguments>]' : ''}`]);
  }
});

test('usage errors exit 2 with a one-line message', async () => {
  const cases: [string[], string][] = [
    [['frobnicate'], 'lazyjoin: unknown command "frobnicate" (expected run, report, list, ca, baseline, external-config)'],
    [['baseline'], 'lazyjoin: baseline needs --candidate NAME'],
    [['baseline', '--candidate', 'synapse', '--from', '/nonexistent-lazyjoin'], 'lazyjoin: --from /nonexistent-lazyjoin: no results.json there'],
    [['run', '--shard', '3/2'], 'lazyjoin: --shard 3/2: expected I/N with 1 <= I <= N'],
    [['run', '--colour'], "lazyjoin: Unknown option '--colour'"],
    [['report', '--from', '/nonexistent-lazyjoin'], 'lazyjoin: --from /nonexistent-lazyjoin: no results.json there'],
  ];
  for (const [args, message] of cases) {
    const r = await lazyjoin(...args);
    expect([r.code, r.stderr.split('\n')[0]], `lazyjoin ${args.join(' ')}`).toEqual([2, message]);
  }
});

test('report rebuilds from results.json; the baseline decides the exit status', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'lazyjoin-cli-report-'));
  const results = runResults([
    testRecord({ title: 'state', tags: ['@SJ-11'], checks: [check('SJ-11', 'pass')] }),
    testRecord({ title: 'members omitted', tags: ['@SJ-12'], status: 'failed', checks: [check('SJ-12', 'fail', { reason: 'members_omitted was false' })] }),
  ]);
  writeReport(results, { outputDir: join(dir, 'run'), catalogue: SAMPLE_CATALOGUE });

  const failing = await lazyjoin('report', '--from', join(dir, 'run'), '--out', join(dir, 'rebuilt'), '--requirements', SAMPLE_CATALOGUE);
  expect(failing.code, failing.stderr).toBe(1);
  expect(failing.stdout).toContain('alpha 1.0: 1 pass, 1 fail, 4 not-run');
  expect(failing.stdout).toContain('  - alpha: MUST requirement SJ-12 is fail');
  for (const f of ['compliance.json', 'summary.md', 'index.html', 'results.json']) expect(existsSync(join(dir, 'rebuilt', f)), f).toBe(true);

  const baseline = join(dir, 'alpha-1.0.json');
  writeFileSync(baseline, JSON.stringify({ candidate: 'alpha', version: '1.0', knownFailures: [{ requirement: 'SJ-12', check: 'check/SJ-12', test: 'members omitted', reason: 'not implemented yet', evidence: false }] }));
  const known = await lazyjoin('report', '--from', join(dir, 'run'), '--out', join(dir, 'known'), '--requirements', SAMPLE_CATALOGUE, '--baseline', baseline);
  expect([known.code, known.stdout.includes('alpha 1.0: 1 pass, 4 not-run, 1 known-failure')], known.stdout + known.stderr).toEqual([0, true]);
  expect(JSON.parse(readFileSync(join(dir, 'known', 'compliance.json'), 'utf8')).candidates[0].baseline).toBe(baseline);

  writeFileSync(baseline, JSON.stringify({ candidate: 'alpha', version: '1.0', knownFailures: [{ requirement: 'SJ-11', check: 'check/SJ-11', test: 'state', reason: 'was broken', evidence: 'unescaped' }] }));
  const stale = await lazyjoin('report', '--from', join(dir, 'run'), '--out', join(dir, 'stale'), '--requirements', SAMPLE_CATALOGUE, '--baseline', baseline);
  expect(stale.code).toBe(1);
  expect(stale.stdout).toContain('lists SJ-11 check/SJ-11 in "state" as failing, but it passed: update the baseline');

  writeFileSync(baseline, '{"candidate":"alpha"}');
  const malformed = await lazyjoin('report', '--from', join(dir, 'run'), '--baseline', baseline);
  expect([malformed.code, malformed.stderr.trim()]).toEqual([2, `lazyjoin: baseline ${baseline}: "version" must be a non-empty string`]);
});

test('--grep turns IDs, ID families and areas into a tag pattern that stops at the tag end', () => {
  const catalogue = [requirement('SJ-1', 'MUST', 'send_join'), requirement('SJ-12', 'MUST', 'send_join'), requirement('JS-3', 'MUST', 'resync')];
  const matches = (terms: string[], title: string) => new RegExp(grepPattern(terms, catalogue)).test(title);
  expect(matches(['SJ-1'], 'members omitted @SJ-1 @must')).toBe(true);
  expect(matches(['SJ-1'], 'members omitted @SJ-12 @must')).toBe(false);
  expect(matches(['SJ'], 'x @SJ-12')).toBe(true);
  expect(matches(['resync'], 'x @JS-3')).toBe(true);
  expect(matches(['resync'], 'x @SJ-12')).toBe(false);
  expect(grepPattern(['v12', '@v1'], catalogue)).toBe('(@v12|@v1)(?=\\s|$)');
  expect(() => grepPattern(['nowhere'], catalogue)).toThrow('--grep nowhere: not a requirement ID, an ID family or an area (areas: resync, send_join)');
});

test('run: progress per test, verdict totals, report path; baseline, errors and --strict decide the exit status', async () => {
  test.setTimeout(180_000);
  const dir = mkdtempSync(join(tmpdir(), 'lazyjoin-cli-run-'));
  const baseline = join(dir, 'beta-2.0.0.json');
  writeFileSync(
    baseline,
    JSON.stringify({
      candidate: 'beta',
      version: '2.0.0',
      knownFailures: [
        { requirement: 'SJ-11', check: 'send-join.state', scope: 'all', scopeReason: 'every state answer is built the same way', reason: 'state answer is not escaped', evidence: '</script>' },
        { requirement: 'SJ-12', check: 'send-join.members-omitted', test: 'send_join with omit_members sets members_omitted', reason: 'members_omitted never set', evidence: { members_omitted: false } },
      ],
    }),
  );
  // The sample config stands in for the suite's: its projects alpha and beta are the candidates.
  const run = (...args: string[]) =>
    runChild(process.execPath, ['bin/lazyjoin.mjs', 'run', '--candidate', 'alpha,beta', '--baseline', baseline, ...args, '--', '-c', 'tests/self/fixtures/report/playwright.config.ts'], { LAZYJOIN_REQUIREMENTS: SAMPLE_CATALOGUE }, 120_000);

  // beta's MUST SJ-16 has a test that ended in an error and nothing else: it could not be judged.
  const lenient = await run('--out', join(dir, 'lenient'));
  expect(lenient.code, lenient.stdout + lenient.stderr).toBe(1);
  expect(lenient.stdout).toContain('Gate: FAILED\n  - beta: MUST requirement SJ-16 could not be judged (its tests ended in errors)\nReport:');
  expect(lenient.stdout).toContain('[lazyjoin] 14 conformance test(s) on alpha, beta');
  expect(lenient.stdout).toMatch(/\[lazyjoin\] 14\/14 (alpha|beta): /);
  expect(lenient.stdout).toContain('beta 2.0.0: 1 non-strict, 1 informational, 2 not-run, 1 error, 2 known-failure');
  expect(lenient.stdout).toContain(`Report: ${join(dir, 'lenient', 'index.html')}`);
  expect(existsSync(join(dir, 'lenient', 'junit.xml'))).toBe(true);

  // Without SJ-16, beta's failures are all in its baseline: the gate passes.
  const baselined = await run('--out', join(dir, 'baselined'), '--grep', 'SJ-12');
  expect(baselined.code, baselined.stdout + baselined.stderr).toBe(0);
  expect(baselined.stdout).toContain('Gate: passed');

  const strict = await run('--out', join(dir, 'strict'), '--strict', '--grep', 'SJ-15');
  expect(strict.code, strict.stdout + strict.stderr).toBe(1);
  expect(strict.stdout).toContain('[lazyjoin] 2 conformance test(s) on alpha, beta');
  expect(strict.stdout).toContain('  - beta: SHOULD requirement SJ-15 is non-strict');
});
