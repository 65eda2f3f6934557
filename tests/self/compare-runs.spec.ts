/**
 * scripts/compare-runs.ts: an external run against a process run of the same server, verdict by
 * verdict. A departure a retry passed is intermittent, not a difference; a fail in the last
 * attempt is a difference.
 */
import { expect, test } from '@playwright/test';
import { compareRuns } from '../../scripts/compare-runs.ts';
import { check, runResults, testRecord } from './fixtures/report/records.ts';

const tags = ['@SJ-12', '@must'];
const passing = testRecord({ title: 'send_join', tags, checks: [check('SJ-12', 'pass', { checkId: 'send-join/members-omitted-flag' })] });
/** SJ-12 failed in attempt 1, then passed on the retry. */
const retriedAfterFail = () =>
  testRecord({
    title: 'send_join',
    tags,
    retry: 1,
    checks: [check('SJ-12', 'pass', { checkId: 'send-join/members-omitted-flag' })],
    earlierAttempts: [{ retry: 0, status: 'failed', errors: ['boom'], checks: [check('SJ-12', 'fail', { checkId: 'send-join/members-omitted-flag' })] }],
  });
const side = (record = passing) => ({ results: runResults([record]), project: 'alpha' });

test('equal verdicts are equal', () => {
  const c = compareRuns(side(), side());
  expect(c.differences).toEqual([]);
  expect(c.equal).toBeGreaterThan(0);
});

test('a fail judged in an attempt that a retry passed is intermittent, not a difference', () => {
  const retried = retriedAfterFail();
  const c = compareRuns(side(retried), side());
  expect(c.differences).toEqual([]);
  expect(c.intermittent).toEqual([expect.stringMatching(/^SJ-12 \(MUST\): external fail, process pass \(the fail is an attempt a retry passed\)$/)]);
});

test('a fail in the last attempt is a difference', () => {
  const failing = testRecord({ title: 'send_join', tags, status: 'failed', checks: [check('SJ-12', 'fail', { checkId: 'send-join/members-omitted-flag' })] });
  const c = compareRuns(side(failing), side());
  expect(c.differences).toEqual(['SJ-12 (MUST): external fail, process pass']);
  expect(c.intermittent).toEqual([]);
});

test('a fail judged only before a retry, against a known failure on the other side, is intermittent too', () => {
  const retried = retriedAfterFail();
  const known = testRecord({ title: 'send_join', tags, checks: [check('SJ-12', 'known-failure', { checkId: 'send-join/members-omitted-flag' })] });
  const c = compareRuns(side(retried), side(known));
  expect(c.differences).toEqual([]);
  expect(c.intermittent).toEqual([expect.stringMatching(/^SJ-12 \(MUST\): external fail, process known-failure \(the fail is an attempt a retry passed\)$/)]);
});
