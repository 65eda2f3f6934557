import { expect, test } from '@playwright/test';
import { aggregate } from '../../harness/report/aggregate.ts';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { applyBaseline, BASELINE_DIR, parseBaseline, readBaseline, type Baseline, type BaselineSubject } from '../../harness/report/baseline.ts';
import { check, requirement, runResults, testRecord } from './fixtures/report/records.ts';

const baseline: Baseline = {
  candidate: 'alpha',
  version: '1.0',
  knownFailures: [
    { requirement: 'SJ-12', check: 'check/SJ-12', scope: 'all', scopeReason: 'every answer lacks the flag', reason: 'members_omitted never set', evidence: { members_omitted: null } },
    { requirement: 'SJ-15', check: 'check/SJ-15', test: 'heroes > in a nameless room', reason: 'heroes not computed', evidence: ['@a:x'] },
  ],
};
const subject = (requirementId: string, verdict: BaselineSubject['verdict'], titlePath = ['some test'], checkId: string | null = `check/${requirementId}`): BaselineSubject => ({
  requirementId,
  checkId,
  verdict,
  testTitle: titlePath[titlePath.length - 1],
  testTitlePath: titlePath,
});

test('a listed fail or non-strict becomes known-failure with the entry reason; other verdicts are untouched', () => {
  const applied = applyBaseline([subject('SJ-12', 'fail'), subject('SJ-12', 'error'), subject('SJ-13', 'fail')], baseline);
  expect(applied.outcomes.map((o) => [o.requirementId, o.verdict, o.knownFailureReason])).toEqual([
    ['SJ-12', 'known-failure', 'members_omitted never set'],
    ['SJ-12', 'error', undefined],
    ['SJ-13', 'fail', undefined],
  ]);
});

test('an entry matches its own check only: another check of the requirement, or an outcome without a check, stays a failure', () => {
  const applied = applyBaseline([subject('SJ-12', 'fail', ['t'], 'check/other'), subject('SJ-12', 'fail', ['t'], null), subject('SJ-12', 'fail', ['t'])], baseline);
  expect(applied.outcomes.map((o) => o.verdict)).toEqual(['fail', 'fail', 'known-failure']);
});

test('an entry restricted to a test matches that test only, by title or title path', () => {
  const applied = applyBaseline(
    [subject('SJ-15', 'non-strict', ['heroes', 'in a nameless room']), subject('SJ-15', 'non-strict', ['heroes', 'another room'])],
    baseline,
  );
  expect(applied.outcomes.map((o) => o.verdict)).toEqual(['known-failure', 'non-strict']);
  expect(applyBaseline([subject('SJ-15', 'fail', ['heroes > in a nameless room'])], baseline).outcomes[0].verdict).toBe('known-failure');
});

test('a listed failure that passes is unexpectedly passing; one never judged is unexercised', () => {
  const applied = applyBaseline([subject('SJ-12', 'pass'), subject('SJ-15', 'error', ['heroes', 'in a nameless room'])], baseline);
  expect(applied.unexpectedlyPassing.map((e) => e.requirement)).toEqual(['SJ-12']);
  expect(applied.unexercised.map((e) => e.requirement)).toEqual(['SJ-15']);
  expect(applyBaseline([subject('SJ-12', 'pass'), subject('SJ-12', 'fail')], baseline).unexpectedlyPassing).toEqual([]);
});

test('no baseline changes nothing', () => {
  expect(applyBaseline([subject('SJ-12', 'fail')], undefined)).toEqual({ outcomes: [subject('SJ-12', 'fail')], unexpectedlyPassing: [], unexercised: [] });
});

test('in a report, known failures pass the gate and unexpected passes fail it', () => {
  const catalogue = [requirement('SJ-12', 'MUST'), requirement('SJ-15', 'SHOULD')];
  const failing = runResults([testRecord({ title: 'members', tags: ['@SJ-12'], status: 'failed', checks: [check('SJ-12', 'fail')] })]);
  const known = aggregate(failing, { catalogue, baselines: { alpha: { path: 'expectations/alpha-1.0.json', baseline } } });
  expect(known.requirements.find((r) => r.id === 'SJ-12')!.results.alpha.verdict).toBe('known-failure');
  expect(known.gate).toEqual({ passed: true, status: 'passed', reasons: [] });

  const passing = runResults([testRecord({ title: 'members', tags: ['@SJ-12'], checks: [check('SJ-12', 'pass')] })]);
  const stale = aggregate(passing, { catalogue, baselines: { alpha: { path: 'expectations/alpha-1.0.json', baseline } } });
  expect(stale.requirements.find((r) => r.id === 'SJ-12')!.results.alpha.unexpectedlyPassing).toBe(true);
  expect(stale.gate.reasons).toEqual(['alpha: baseline expectations/alpha-1.0.json lists SJ-12 check/SJ-12 in every test as failing, but it passed: update the baseline']);
});

test('an intermittent entry excuses a failure, and its passes are neither unexpectedly passing nor fail the gate', () => {
  const flaky: Baseline = { ...baseline, knownFailures: [{ requirement: 'SJ-12', check: 'check/SJ-12', scope: 'all', scopeReason: 'any test', reason: 'failed in one run of two', evidence: 'x', intermittent: true }] };
  expect(applyBaseline([subject('SJ-12', 'fail')], flaky).outcomes[0].verdict).toBe('known-failure');
  expect(applyBaseline([subject('SJ-12', 'pass')], flaky)).toMatchObject({ unexpectedlyPassing: [], unexercised: [] });
  // Never judged at all is still unexercised: an intermittent entry is no excuse for a test that did not run.
  expect(applyBaseline([], flaky).unexercised.map((e) => e.requirement)).toEqual(['SJ-12']);

  const catalogue = [requirement('SJ-12', 'MUST')];
  const baselines = { alpha: { path: 'expectations/alpha-1.0.json', baseline: flaky } };
  const passing = aggregate(runResults([testRecord({ title: 'members', tags: ['@SJ-12'], checks: [check('SJ-12', 'pass')] })]), { catalogue, baselines });
  expect(passing.requirements.find((r) => r.id === 'SJ-12')!.results.alpha.unexpectedlyPassing).toBe(false);
  expect(passing.gate).toEqual({ passed: true, status: 'passed', reasons: [] });
  const failing = aggregate(runResults([testRecord({ title: 'members', tags: ['@SJ-12'], status: 'failed', checks: [check('SJ-12', 'fail')] })]), { catalogue, baselines });
  expect(failing.requirements.find((r) => r.id === 'SJ-12')!.results.alpha.verdict).toBe('known-failure');
  expect(failing.gate).toEqual({ passed: true, status: 'passed', reasons: [] });
});

test('a malformed baseline gets a one-line message naming the file and the entry', () => {
  const file = (...knownFailures: unknown[]) => ({ candidate: 'synapse', version: '1.98.0', knownFailures });
  const entry = { requirement: 'SJ-12', check: 'send-join/x', test: 't', reason: 'r', evidence: { status: 500 } };
  expect(() => parseBaseline([], 'b.json')).toThrow('baseline b.json: expected an object { candidate, version, knownFailures }');
  expect(() => parseBaseline({ candidate: 'synapse', version: '1.98.0' }, 'b.json')).toThrow('baseline b.json: "knownFailures" must be an array');
  expect(() => parseBaseline(file({ ...entry, reason: undefined }), 'b.json')).toThrow('baseline b.json: knownFailures[0] (SJ-12) needs a "reason"');
  expect(() => parseBaseline(file({ ...entry, intermittent: 'yes' }), 'b.json')).toThrow('baseline b.json: knownFailures[0] (SJ-12).intermittent must be true or false when present');
  expect(() => parseBaseline(file({ ...entry, check: undefined }), 'b.json')).toThrow(
    'baseline b.json: knownFailures[0] (SJ-12) names no "check": an entry excuses one check\'s failure, name its ID',
  );
  expect(() => parseBaseline(file({ ...entry, test: undefined }), 'b.json')).toThrow(
    'baseline b.json: knownFailures[0] (SJ-12) names no "test": scope it to a test, or give "scope": "all" with a "scopeReason" saying why every test is affected',
  );
  expect(() => parseBaseline(file({ ...entry, test: undefined, scope: 'all' }), 'b.json')).toThrow(
    'baseline b.json: knownFailures[0] (SJ-12) has "scope": "all" without a "scopeReason" saying why every test is affected',
  );
  expect(() => parseBaseline(file({ ...entry, scope: 'all', scopeReason: 'x' }), 'b.json')).toThrow('has both "test" and "scope": "all"; keep one');
  expect(() => parseBaseline(file({ ...entry, evidence: undefined }), 'b.json')).toThrow('knownFailures[0] (SJ-12) needs "evidence": the value the check observed');
  expect(() => parseBaseline(file({ ...entry, tests: 'typo' }), 'b.json')).toThrow('knownFailures[0] (SJ-12) has an unknown field "tests"');
  for (const bad of [{ ...entry, check: undefined }, { ...entry, test: undefined }]) {
    try {
      parseBaseline(file(bad), 'b.json');
    } catch (e) {
      expect((e as Error).message).not.toContain('\n');
    }
  }
  expect(parseBaseline(file({ ...entry, intermittent: true }), 'b.json').knownFailures).toEqual([{ ...entry, intermittent: true }]);
  const all = { requirement: 'LL-07', check: 'audit/heroes', scope: 'all', scopeReason: 'every audited join shows it', reason: 'r', evidence: [] };
  expect(parseBaseline(file(all), 'b.json').knownFailures).toEqual([all]);
});

test('the baselines in expectations/ load under the scoped format', () => {
  for (const name of readdirSync(BASELINE_DIR).filter((f) => f.endsWith('.json'))) {
    const b = readBaseline(join(BASELINE_DIR, name));
    expect(b.knownFailures.every((e) => e.check && (e.test || (e.scope === 'all' && e.scopeReason)))).toBe(true);
  }
});
