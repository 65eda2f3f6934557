import { expect, test } from '@playwright/test';
import { aggregate } from '../../harness/report/aggregate.ts';
import { applyBaseline, parseBaseline, type Baseline, type BaselineSubject } from '../../harness/report/baseline.ts';
import { check, requirement, runResults, testRecord } from './fixtures/report/records.ts';

const baseline: Baseline = {
  candidate: 'alpha',
  version: '1.0',
  knownFailures: [
    { requirement: 'SJ-12', reason: 'members_omitted never set (issue 123)' },
    { requirement: 'SJ-15', test: 'heroes > in a nameless room', reason: 'heroes not computed' },
  ],
};
const subject = (requirementId: string, verdict: BaselineSubject['verdict'], titlePath = ['some test']): BaselineSubject => ({
  requirementId,
  verdict,
  testTitle: titlePath[titlePath.length - 1],
  testTitlePath: titlePath,
});

test('a listed fail or non-strict becomes known-failure with the entry reason; other verdicts are untouched', () => {
  const applied = applyBaseline([subject('SJ-12', 'fail'), subject('SJ-12', 'error'), subject('SJ-13', 'fail')], baseline);
  expect(applied.outcomes.map((o) => [o.requirementId, o.verdict, o.knownFailureReason])).toEqual([
    ['SJ-12', 'known-failure', 'members_omitted never set (issue 123)'],
    ['SJ-12', 'error', undefined],
    ['SJ-13', 'fail', undefined],
  ]);
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
  expect(known.gate).toEqual({ passed: true, reasons: [] });

  const passing = runResults([testRecord({ title: 'members', tags: ['@SJ-12'], checks: [check('SJ-12', 'pass')] })]);
  const stale = aggregate(passing, { catalogue, baselines: { alpha: { path: 'expectations/alpha-1.0.json', baseline } } });
  expect(stale.requirements.find((r) => r.id === 'SJ-12')!.results.alpha.unexpectedlyPassing).toBe(true);
  expect(stale.gate.reasons).toEqual(['alpha: baseline expectations/alpha-1.0.json lists SJ-12 as failing, but it passed: update the baseline']);
});

test('an intermittent entry excuses a failure, and its passes are neither unexpectedly passing nor fail the gate', () => {
  const flaky: Baseline = { ...baseline, knownFailures: [{ requirement: 'SJ-12', reason: 'failed in one run of two', intermittent: true }] };
  expect(applyBaseline([subject('SJ-12', 'fail')], flaky).outcomes[0].verdict).toBe('known-failure');
  expect(applyBaseline([subject('SJ-12', 'pass')], flaky)).toMatchObject({ unexpectedlyPassing: [], unexercised: [] });
  // Never judged at all is still unexercised: an intermittent entry is no excuse for a test that did not run.
  expect(applyBaseline([], flaky).unexercised.map((e) => e.requirement)).toEqual(['SJ-12']);

  const catalogue = [requirement('SJ-12', 'MUST')];
  const baselines = { alpha: { path: 'expectations/alpha-1.0.json', baseline: flaky } };
  const passing = aggregate(runResults([testRecord({ title: 'members', tags: ['@SJ-12'], checks: [check('SJ-12', 'pass')] })]), { catalogue, baselines });
  expect(passing.requirements.find((r) => r.id === 'SJ-12')!.results.alpha.unexpectedlyPassing).toBe(false);
  expect(passing.gate).toEqual({ passed: true, reasons: [] });
  const failing = aggregate(runResults([testRecord({ title: 'members', tags: ['@SJ-12'], status: 'failed', checks: [check('SJ-12', 'fail')] })]), { catalogue, baselines });
  expect(failing.requirements.find((r) => r.id === 'SJ-12')!.results.alpha.verdict).toBe('known-failure');
  expect(failing.gate).toEqual({ passed: true, reasons: [] });
});

test('a malformed baseline gets a one-line message naming the file and the entry', () => {
  expect(() => parseBaseline([], 'b.json')).toThrow('baseline b.json: expected an object { candidate, version, knownFailures }');
  expect(() => parseBaseline({ candidate: 'synapse', version: '1.98.0' }, 'b.json')).toThrow('baseline b.json: "knownFailures" must be an array');
  expect(() => parseBaseline({ candidate: 'synapse', version: '1.98.0', knownFailures: [{ requirement: 'SJ-12' }] }, 'b.json')).toThrow(
    'baseline b.json: knownFailures[0] (SJ-12) needs a "reason"',
  );
  expect(() => parseBaseline({ candidate: 'synapse', version: '1.98.0', knownFailures: [{ requirement: 'SJ-12', reason: 'r', intermittent: 'yes' }] }, 'b.json')).toThrow(
    'baseline b.json: knownFailures[0] (SJ-12).intermittent must be true or false when present',
  );
  expect(parseBaseline({ candidate: 'synapse', version: '1.98.0', knownFailures: [{ requirement: 'SJ-12', reason: 'r', intermittent: true }] }, 'b.json').knownFailures).toEqual([
    { requirement: 'SJ-12', reason: 'r', intermittent: true },
  ]);
  expect(parseBaseline({ candidate: 'synapse', version: '1.98.0', knownFailures: [{ requirement: 'SJ-12', test: 't', reason: 'r' }] }, 'b.json')).toEqual({
    candidate: 'synapse',
    version: '1.98.0',
    knownFailures: [{ requirement: 'SJ-12', test: 't', reason: 'r' }],
  });
});
