/**
 * Verdict integrity: the reporter over a crafted run in which every way a verdict can be wrong
 * is present, and over a report recorded from a real run. A requirement passes only when a
 * check of it passed; informational is recorded, never passed; a baseline excuses one check in
 * one test; the partial-state profile binds only a candidate that asked; an unfinished run never
 * passes; a run that executed no candidate test writes no report.
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, test } from '@playwright/test';
import { aggregate, integrityBreaches, type ComplianceReport } from '../../harness/report/aggregate.ts';
import type { Baseline } from '../../harness/report/baseline.ts';
import type { RunResults } from '../../harness/report/model.ts';
import { buildReport, complianceSchemaErrors, writeReport } from '../../harness/report/write.ts';
import { check, requirement, runResults, testRecord } from './fixtures/report/records.ts';
import { runChild, runSample, SAMPLE_CATALOGUE, SAMPLE_CONFIG } from './fixtures/report/run-playwright.ts';

const RECORDED = fileURLToPath(new URL('./fixtures/report/recorded/', import.meta.url));

const catalogue = [
  requirement('SJ-11', 'MUST'),
  requirement('SJ-12', 'MUST'),
  requirement('SJ-15', 'SHOULD'),
  requirement('SJ-16', 'MUST'),
  requirement('SJ-09', 'MSC-ONLY'),
  requirement('SJ-19', 'MAY'),
  requirement('JS-03', 'MUST', 'resync', { direction: 'joiner', profile: 'partial-state' }),
];

const baseline: Baseline = {
  candidate: 'alpha',
  version: '1.0',
  knownFailures: [
    { requirement: 'SJ-16', check: 'check/SJ-16', test: 'auth chain', reason: 'auth_chain misses the join rules', evidence: ['$join_rules'] },
    { requirement: 'SJ-15', check: 'check/SJ-15', test: 'heroes', reason: 'heroes left out', evidence: [] },
  ],
};
const baselines = { alpha: { path: 'expectations/alpha-1.0.json', baseline } };
const asked = { profile: 'partial-state' as const, requested: true, observed: { omit_members: 'true' } };

/** The crafted run: one test per way a verdict can go wrong. */
function craftedRun(): RunResults {
  return runResults([
    // A tagged test with no check: covered, not judged.
    testRecord({ title: 'members omitted', tags: ['@SJ-12'] }),
    // A check that did not apply, with its reason.
    testRecord({ title: 'state', tags: ['@SJ-11'], checks: [check('SJ-11', 'not-run', { reason: 'not applicable: the test gave no truth' })] }),
    // An optional behaviour absent in one test, present in another; and a stray pass of a MAY.
    testRecord({ title: 'bad omit_members', tags: ['@SJ-09'], checks: [check('SJ-09', 'informational', { level: 'MSC-ONLY', present: false, reason: 'absent: 400 M_INVALID_PARAM' })] }),
    testRecord({ title: 'bad omit_members again', tags: ['@SJ-09'], checks: [check('SJ-09', 'informational', { level: 'MSC-ONLY', present: true })] }),
    testRecord({ title: 'servers_in_room when full', tags: ['@SJ-19'], checks: [check('SJ-19', 'pass', { level: 'MAY' })] }),
    // A known failure of the listed check in the listed test; the same check failing elsewhere is not excused.
    testRecord({ title: 'auth chain', tags: ['@SJ-16'], status: 'failed', checks: [check('SJ-16', 'fail')] }),
    // A stale entry: the listed check passed in the listed test.
    testRecord({ title: 'heroes', tags: ['@SJ-15'], checks: [check('SJ-15', 'pass')] }),
    // A profile requirement broken by a candidate that asked for partial state.
    testRecord({ title: 'resync', tags: ['@JS-03'], status: 'failed', profiles: [asked], checks: [check('JS-03', 'fail', { reason: 'the resync never came' })] }),
    // beta never asked for partial state: its broken profile requirement is not supported, never failed.
    testRecord({ candidate: 'beta', title: 'resync', tags: ['@JS-03'], status: 'failed', profiles: [{ profile: 'partial-state', requested: false }], checks: [check('JS-03', 'fail')] }),
    testRecord({ candidate: 'beta', title: 'members omitted', tags: ['@SJ-12'], checks: [check('SJ-12', 'pass')] }),
  ], ['alpha', 'beta']);
}

const cellOf = (report: ComplianceReport, id: string, candidate = 'alpha') => report.requirements.find((r) => r.id === id)!.results[candidate];

test('each way a verdict can be wrong ends as it must', () => {
  const report = aggregate(craftedRun(), { catalogue, baselines });
  expect(complianceSchemaErrors(report)).toEqual([]);

  // A tag is coverage, not a verdict.
  const tagged = cellOf(report, 'SJ-12');
  expect(tagged.verdict).toBe('not-run');
  expect(tagged.findings[0].reason).toBe("the test is tagged @SJ-12, but none of SJ-12's checks ran in it");
  expect(tagged.outcomes).toEqual([{ checkId: null, verdict: 'not-run', test: 0 }]);

  // A check that did not apply says so.
  expect(cellOf(report, 'SJ-11')).toMatchObject({ verdict: 'not-run', findings: [{ checkId: 'check/SJ-11', reason: 'not applicable: the test gave no truth' }] });

  // Informational: present 1 of 2, never pass; a MAY's stray pass is shown as informational.
  expect(cellOf(report, 'SJ-09')).toMatchObject({ verdict: 'informational', presence: { present: 1, observed: 2 } });
  expect(cellOf(report, 'SJ-19')).toMatchObject({ verdict: 'informational', presence: { present: 1, observed: 1 } });

  // A known failure is excused by its entry, with its reason; the gate does not fail on it.
  expect(cellOf(report, 'SJ-16')).toMatchObject({ verdict: 'known-failure', findings: [{ checkId: 'check/SJ-16', knownFailureReason: 'auth_chain misses the join rules' }] });

  // A stale entry is unexpectedly passing and fails the gate.
  expect(cellOf(report, 'SJ-15')).toMatchObject({ verdict: 'pass', unexpectedlyPassing: true });

  // The profile: alpha asked and fails it; beta never asked and is not supported.
  expect(cellOf(report, 'JS-03').verdict).toBe('fail');
  expect(cellOf(report, 'JS-03', 'beta').verdict).toBe('not-supported');
  expect(cellOf(report, 'JS-03', 'beta').findings[0].reason).toContain('the candidate never asked for partial state');
  expect(report.profiles).toEqual([
    expect.objectContaining({ name: 'partial-state', gating: true, requirements: ['JS-03'] }),
  ]);
  expect(report.profiles[0].candidates.alpha).toMatchObject({ requested: true, evidence: { test: 'resync', observed: { omit_members: 'true' } } });
  expect(report.profiles[0].candidates.beta.requested).toBe(false);
  // Profile requirements are counted in their own section, not in the candidate's base totals.
  expect(report.totals.alpha.all.fail).toBe(0);
  expect(report.profiles[0].candidates.alpha.totals.fail).toBe(1);

  expect(report.gate).toEqual({
    passed: false,
    status: 'failed',
    reasons: [
      'alpha: MUST requirement JS-03 of the partial-state profile is fail',
      'alpha: baseline expectations/alpha-1.0.json lists SJ-15 check/SJ-15 in "heroes" as failing, but it passed: update the baseline',
    ],
  });
  expect(integrityBreaches(report)).toEqual([]);

  // --profile none: the profile is reported, not gated.
  const ungated = aggregate(craftedRun(), { catalogue, baselines, profileGating: false });
  expect(ungated.profiles[0].gating).toBe(false);
  expect(cellOf(ungated, 'JS-03').verdict).toBe('fail');
  expect(ungated.gate.reasons.filter((r) => r.includes('JS-03'))).toEqual([]);
});

test('the integrity rule catches a pass without a passing check and an optional requirement shown as pass', () => {
  const report = aggregate(craftedRun(), { catalogue, baselines });
  const forged = structuredClone(report);
  const cell = forged.requirements.find((r) => r.id === 'SJ-12')!.results.alpha;
  cell.verdict = 'pass';
  forged.requirements.find((r) => r.id === 'SJ-09')!.results.alpha.verdict = 'pass';
  expect(integrityBreaches(forged)).toEqual(['alpha: SJ-12 passes with no passing check outcome behind it', 'alpha: SJ-09 is MSC-ONLY but shown as pass', 'alpha: SJ-09 passes with no passing check outcome behind it']);
});

test('an unfinished run never passes, and a shard gates only what it saw', () => {
  const interrupted: RunResults = { ...runResults([testRecord({ title: 'members', tags: ['@SJ-12'], checks: [check('SJ-12', 'pass')] })]), status: 'interrupted', endedBecause: 'interrupted' };
  const report = aggregate(interrupted, { catalogue });
  expect(report.run).toEqual({ status: 'interrupted' });
  expect(report.gate).toEqual({
    passed: false,
    status: 'incomplete',
    reasons: ['the run did not finish (interrupted): 1 test(s) ended before it stopped; an unfinished run never passes'],
  });
  const dir = mkdtempSync(join(tmpdir(), 'lazyjoin-interrupted-'));
  writeReport(interrupted, { outputDir: dir, catalogue: SAMPLE_CATALOGUE });
  expect(readFileSync(join(dir, 'summary.md'), 'utf8')).toContain('## lazyjoin compliance: INCOMPLETE (run interrupted)\n\n**This run was interrupted before it finished**');
  expect(readFileSync(join(dir, 'index.html'), 'utf8')).toContain('"run":{"status":"interrupted"}');
  expect(JSON.parse(readFileSync(join(dir, 'compliance.json'), 'utf8')).gate.status).toBe('incomplete');

  // The stale entry of the crafted run may fail in another shard: a shard does not gate on it.
  const shard = aggregate({ ...craftedRun(), shard: { current: 1, total: 3 } }, { catalogue, baselines });
  expect(shard.run.shard).toEqual({ current: 1, total: 3 });
  expect(shard.gate.reasons).toEqual(['alpha: MUST requirement JS-03 of the partial-state profile is fail']);
});

test('a run stopped by its global timeout writes an incomplete report and fails; --list writes none', async () => {
  test.setTimeout(150_000);
  const dir = mkdtempSync(join(tmpdir(), 'lazyjoin-unfinished-'));
  // One sample test hangs (as a candidate that never answers would); the run's bound stops it.
  const stopped = await runSample(join(dir, 'stopped'), ['--global-timeout=15000'], { LAZYJOIN_SAMPLE_HANG: '1' });
  expect(stopped.code, stopped.stdout + stopped.stderr).not.toBe(0);
  expect(stopped.stdout).toContain('GATE INCOMPLETE (the run was interrupted)');
  const report = JSON.parse(readFileSync(join(dir, 'stopped', 'compliance.json'), 'utf8')) as ComplianceReport;
  expect([report.run.status, report.gate.status]).toEqual(['interrupted', 'incomplete']);
  expect(readFileSync(join(dir, 'stopped', 'summary.md'), 'utf8')).toContain('INCOMPLETE');

  // Through the command: exit status 3, the gate says incomplete.
  const cli = await runChild(
    process.execPath,
    ['bin/lazyjoin.mjs', 'run', '--candidate', 'alpha,beta', '--out', join(dir, 'cli'), '--', '-c', SAMPLE_CONFIG, '--global-timeout=15000'],
    { LAZYJOIN_REQUIREMENTS: SAMPLE_CATALOGUE, LAZYJOIN_SAMPLE_HANG: '1' },
    120_000,
  );
  expect(cli.code, cli.stdout + cli.stderr).toBe(3);
  expect(cli.stdout).toContain('Gate: INCOMPLETE (the run was interrupted; an unfinished run never passes)');

  // `--list` executes no candidate test: an existing report stays as it was.
  const kept = join(dir, 'kept');
  mkdirSync(kept);
  writeFileSync(join(kept, 'compliance.json'), '{"kept":true}\n');
  const listed = await runSample(kept, ['--list']);
  expect(listed.code, listed.stderr).toBe(0);
  expect(readdirSync(kept)).toEqual(['compliance.json']);
  expect(readFileSync(join(kept, 'compliance.json'), 'utf8')).toBe('{"kept":true}\n');
});

test('a report recorded from a real run: every pass has a passing check outcome behind it', () => {
  const runs = readdirSync(RECORDED).filter((d) => existsSync(join(RECORDED, d, 'results.json')));
  expect(runs.length, `no recorded run in ${RECORDED}`).toBeGreaterThan(0);
  for (const name of runs) {
    const results = JSON.parse(readFileSync(join(RECORDED, name, 'results.json'), 'utf8')) as RunResults;
    expect(results.tests.length, name).toBeGreaterThan(0);
    // As recorded, and rebuilt by today's reporter from the same raw results.
    const recorded = JSON.parse(readFileSync(join(RECORDED, name, 'compliance.json'), 'utf8')) as ComplianceReport;
    const rebuilt = buildReport(results);
    for (const report of [recorded, rebuilt]) {
      expect(integrityBreaches(report), name).toEqual([]);
      const passes = report.requirements.flatMap((r) => Object.values(r.results)).filter((c) => c.verdict === 'pass');
      expect(passes.length, `${name}: a real run with passes`).toBeGreaterThan(0);
      for (const cell of passes) expect(cell.outcomes.some((o) => o.verdict === 'pass' && o.checkId)).toBe(true);
    }
    expect(complianceSchemaErrors(rebuilt), name).toEqual([]);
  }
});
