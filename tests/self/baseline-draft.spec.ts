/**
 * `lazyjoin baseline` drafts entries from a run: each unexcused failing or non-strict check of the
 * candidate, scoped to its test and check with the observed value; intermittent when only an
 * attempt a retry passed saw it; errors listed apart, never drafted.
 */
import { test, expect } from '@playwright/test';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { draftBaseline, mergedBaselineText } from '../../harness/report/baseline-draft.ts';
import { parseBaseline } from '../../harness/report/baseline.ts';
import { check, runResults, testRecord } from './fixtures/report/records.ts';

const dir = () => {
  const d = mkdtempSync(join(tmpdir(), 'lj-baseline-draft-'));
  writeFileSync(join(d, 'alpha-1.0.json'), JSON.stringify({ candidate: 'alpha', version: '1.0', knownFailures: [{ requirement: 'SJ-13', check: 'check/SJ-13', test: 'listed', reason: 'known', evidence: { seen: true } }] }));
  return d;
};

const results = runResults([
  testRecord({ title: 'fails', status: 'failed', checks: [check('SJ-12', 'fail', { reason: 'members_omitted missing', observed: { members_omitted: null } }), check('SJ-14', 'pass')] }),
  testRecord({ title: 'listed', checks: [check('SJ-13', 'known-failure')] }),
  testRecord({ title: 'flaky', retry: 1, checks: [check('SJ-15', 'pass')], earlierAttempts: [{ retry: 0, status: 'failed', errors: ['x'], checks: [check('SJ-15', 'non-strict', { reason: 'a hero missing' })] }] }),
  testRecord({ title: 'broke', status: 'timedOut', errors: ['Test timeout of 60000ms exceeded.'] }),
]);

test('each unexcused departure becomes one entry scoped to its test and check, with the observed value', () => {
  const draft = draftBaseline(results, 'alpha', dir());
  expect(draft.entries).toEqual([
    { requirement: 'SJ-12', check: 'check/SJ-12', test: 'fails', reason: 'alpha 1.0: members_omitted missing', evidence: { members_omitted: null } },
    { requirement: 'SJ-15', check: 'check/SJ-15', test: 'flaky', reason: 'alpha 1.0: a hero missing', evidence: 'observed value', intermittent: true },
  ]);
  expect(draft.alreadyListed).toBe(1);
  expect(draft.errors).toEqual(['broke: Test timeout of 60000ms exceeded.']);
});

test('the merged file is a valid baseline that excuses what was drafted', () => {
  const draft = draftBaseline(results, 'alpha', dir());
  const merged = parseBaseline(JSON.parse(mergedBaselineText(draft)), 'merged');
  expect(merged.knownFailures.map((e) => `${e.requirement} ${e.test}`)).toEqual(['SJ-13 listed', 'SJ-12 fails', 'SJ-15 flaky']);
});

test('an unknown candidate is a one-line error naming those the results hold', () => {
  expect(() => draftBaseline(results, 'beta', dir())).toThrow('no candidate "beta" in these results (they have alpha)');
});
