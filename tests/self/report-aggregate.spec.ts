import { expect, test } from '@playwright/test';
import { aggregate, aggregateVerdict, outcomesOf } from '../../harness/report/aggregate.ts';
import type { EarlierAttempt, Verdict } from '../../harness/report/model.ts';
import { check, requirement, runResults, testRecord } from './fixtures/report/records.ts';

test.describe('verdict aggregation over the outcomes behind one requirement', () => {
  const table: [Verdict[], Verdict, string][] = [
    [[], 'not-run', 'no outcome at all'],
    [['pass'], 'pass', 'a single pass'],
    [['pass', 'fail', 'pass'], 'fail', 'any fail fails'],
    [['error', 'fail'], 'fail', 'a fail is never shown as an error'],
    [['error', 'non-strict'], 'non-strict', 'a SHOULD break is a judgement, so it wins over an error'],
    [['pass', 'error'], 'pass', 'an error does not hide a judgement (the cell still counts it)'],
    [['error', 'not-run'], 'error', 'with nothing judged, the error shows'],
    [['error', 'not-supported'], 'not-supported', 'an absent optional feature is a judgement'],
    [['fail', 'non-strict'], 'fail', 'fail before non-strict'],
    [['known-failure', 'pass'], 'known-failure', 'a known failure still shows'],
    [['known-failure', 'fail'], 'fail', 'an unlisted fail beats a listed one'],
    [['informational', 'pass'], 'pass', 'pass before informational'],
    [['informational', 'not-run'], 'informational', 'informational before not-run'],
    [['not-run', 'not-run'], 'not-run', 'only not-run'],
  ];
  for (const [verdicts, expected, why] of table) {
    test(`[${verdicts.join(', ')}] -> ${expected}: ${why}`, () => {
      expect(aggregateVerdict(verdicts)).toBe(expected);
    });
  }
});

test.describe('outcomes of one test', () => {
  const verdictsOf = (...args: Parameters<typeof testRecord>) => outcomesOf(testRecord(...args)).map((o) => `${o.requirementId}:${o.verdict}`);

  test('a failed test without any check is an error for each requirement tag (the harness threw)', () => {
    expect(verdictsOf({ title: 't', tags: ['@SJ-12', '@SJ-13', '@must'], status: 'failed', errors: ['TypeError: x is undefined'] })).toEqual([
      'SJ-12:error',
      'SJ-13:error',
    ]);
    const [first] = outcomesOf(testRecord({ title: 't', tags: ['@SJ-12'], status: 'timedOut', errors: ['Test timeout of 60000ms exceeded.'] }));
    expect(first.reason).toBe('the test ended timedOut before judging SJ-12: Test timeout of 60000ms exceeded.');
  });

  test('a tag says what a test covers, never a verdict: no check ran -> not-run, with the reason', () => {
    expect(verdictsOf({ title: 't', tags: ['@SJ-12'], status: 'passed' })).toEqual(['SJ-12:not-run']);
    expect(outcomesOf(testRecord({ title: 't', tags: ['@SJ-12'] }))[0].reason).toBe("the test is tagged @SJ-12, but none of SJ-12's checks ran in it");
    expect(verdictsOf({ title: 't', tags: ['@SJ-12'], status: 'skipped', skipReason: 'no restart' })).toEqual(['SJ-12:not-run']);
  });

  test('a check outcome speaks for its requirement; the tag adds nothing more', () => {
    expect(verdictsOf({ title: 't', tags: ['@SJ-12'], status: 'failed', checks: [check('SJ-12', 'fail')] })).toEqual(['SJ-12:fail']);
  });

  test('a test that failed after passing checks adds an error, so the failure is not lost', () => {
    expect(verdictsOf({ title: 't', tags: ['@SJ-12'], status: 'failed', checks: [check('SJ-12', 'pass')], errors: ['boom'] })).toEqual([
      'SJ-12:pass',
      'SJ-12:error',
    ]);
  });

  /** A JS-03 test that passed on its second attempt, after `earlier`. */
  const retried = (earlier: EarlierAttempt) => testRecord({ title: 't', tags: ['@JS-03'], status: 'passed', retry: 1, checks: [check('JS-03', 'pass')], earlierAttempts: [earlier] });

  test('a retry never erases a departure an earlier attempt judged: the requirement fails, marked intermittent', () => {
    const record = retried({ retry: 0, status: 'failed', errors: ['state differs'], checks: [check('JS-03', 'fail')] });
    expect(outcomesOf(record).map((o) => `${o.requirementId}:${o.verdict}`)).toEqual(['JS-03:pass', 'JS-03:fail']);
    expect(outcomesOf(record)[1].reason).toMatch(/^intermittent: attempt 1 of 2 judged fail .*; attempt 2 ended passed$/);
    expect(aggregateVerdict(outcomesOf(record).map((o) => o.verdict))).toBe('fail');
  });

  test('an attempt that ended in an error judged nothing: the retry speaks for its requirements', () => {
    const record = retried({ retry: 0, status: 'timedOut', errors: ['Test timeout of 60000ms exceeded.'], checks: [] });
    expect(outcomesOf(record).map((o) => `${o.requirementId}:${o.verdict}`)).toEqual(['JS-03:pass']);
  });

  test('level tags and other tags are not requirements', () => {
    expect(verdictsOf({ title: 't', tags: ['@must', '@slow', '@SJ-15a', '@C-6'] })).toEqual(['SJ-15a:not-run', 'C-6:not-run']);
  });
});

test.describe('the report over a run', () => {
  const catalogue = [requirement('SJ-12', 'MUST'), requirement('SJ-15', 'SHOULD', 'heroes'), requirement('JS-09', 'MAY', 'resync')];
  const results = runResults(
    [
      testRecord({ title: 'members omitted', tags: ['@SJ-12'], checks: [check('SJ-12', 'pass')] }),
      testRecord({ title: 'heroes', tags: ['@SJ-15'], status: 'passed', checks: [check('SJ-15', 'non-strict')] }),
      testRecord({ candidate: 'beta', title: 'members omitted', tags: ['@SJ-12'], status: 'failed', checks: [check('SJ-12', 'fail')] }),
      testRecord({ candidate: 'beta', title: 'heroes', tags: ['@SJ-15'], status: 'failed', errors: ['candidate crashed'] }),
      testRecord({ candidate: 'self', title: 'harness vector', tags: ['@SJ-12'], status: 'failed' }),
    ],
    ['alpha', 'beta'],
  );

  test('a requirement with no test is not-run; totals count per level and area; other projects are ignored', () => {
    const report = aggregate(results, { catalogue });
    const verdicts = Object.fromEntries(report.requirements.map((r) => [r.id, [r.results.alpha.verdict, r.results.beta.verdict]]));
    expect(verdicts).toEqual({ 'JS-09': ['not-run', 'not-run'], 'SJ-12': ['pass', 'fail'], 'SJ-15': ['non-strict', 'error'] });
    expect(report.totals.beta.byLevel.MUST.fail).toBe(1);
    expect(report.totals.beta.byArea.heroes.error).toBe(1);
    expect(report.totals.alpha.all).toMatchObject({ pass: 1, 'non-strict': 1, 'not-run': 1 });
    expect(Object.keys(report.requirements[0].results)).toEqual(['alpha', 'beta']);
  });

  test('the gate fails on a MUST fail and on a MUST no test could judge; SHOULD breaks only under strict; other errors never', () => {
    expect(aggregate(results, { catalogue }).gate.reasons).toEqual(['beta: MUST requirement SJ-12 is fail']);
    const alphaOnly = runResults(results.tests.filter((t) => t.candidate === 'alpha'));
    expect(aggregate(alphaOnly, { catalogue }).gate.passed).toBe(true);
    expect(aggregate(alphaOnly, { catalogue, strict: true }).gate.reasons).toEqual(['alpha: SHOULD requirement SJ-15 is non-strict']);
    // beta's SHOULD SJ-15 ended in an error above without failing the gate; a MUST cannot.
    const crashed = runResults([testRecord({ candidate: 'beta', title: 'members omitted', tags: ['@SJ-12'], status: 'failed', errors: ['candidate crashed'] })], ['beta']);
    expect(aggregate(crashed, { catalogue }).gate.reasons).toEqual(['beta: MUST requirement SJ-12 could not be judged (its tests ended in errors)']);
  });

  test('a requirement tagged but missing from the catalogue is listed, with a warning, at its tag level', () => {
    const report = aggregate(runResults([testRecord({ title: 'x', tags: ['@ZZ-01', '@should'], status: 'failed' })]), { catalogue });
    const row = report.requirements.find((r) => r.id === 'ZZ-01')!;
    expect([row.inCatalogue, row.level, row.results.alpha.verdict]).toEqual([false, 'SHOULD', 'error']);
    expect(report.warnings).toEqual(['requirement ZZ-01 (tagged on "x") is not in the catalogue']);
  });

  test('a failing test that names no requirement (a smoke test) is reported as a warning', () => {
    const smoke = runResults([testRecord({ title: 'two users talk', file: 'tests/smoke/candidate.spec.ts', line: 20, status: 'failed', errors: ['Error: sync timed out\n  at x'] })]);
    expect(aggregate(smoke, { catalogue }).warnings).toEqual(['alpha: test "two users talk" (tests/smoke/candidate.spec.ts:20), which names no requirement, ended failed: Error: sync timed out']);
  });

  test('findings carry expected against observed and point at their test', () => {
    const cell = aggregate(results, { catalogue }).requirements.find((r) => r.id === 'SJ-12')!.results.beta;
    expect(cell.findings).toEqual([
      { verdict: 'fail', checkId: 'check/SJ-12', expected: 'expected value', observed: 'observed value', reason: 'check/SJ-12: fail', test: 0 },
    ]);
    expect(cell.outcomes).toEqual([{ checkId: 'check/SJ-12', verdict: 'fail', test: 0 }]);
    expect(cell.tests[0]).toMatchObject({ title: 'members omitted', file: 'tests/resident/send-join.spec.ts', line: 10, status: 'failed' });
  });
});
