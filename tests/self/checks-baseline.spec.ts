/**
 * Baselines at test time: with the candidate's baseline active, `judge` records a listed failure
 * as known-failure (with the baseline's reason) without failing the test, leaves unlisted ones
 * alone, and a listed failure that passes is reported as unexpectedly passing.
 */
import { test, expect } from '@playwright/test';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { judge, outcomeOf } from '../../harness/checks/judge.ts';
import { membersOmittedIsBoolean } from '../../harness/checks/send-join.ts';
import { withBody } from '../../harness/checks/send-join-observation.ts';
import { activateBaseline, deactivateBaseline, knownFailureFor, unexpectedlyPassing } from '../../harness/checks/test-baseline.ts';
import { buildRoom, sendJoinObservation } from '../../harness/checks/testing/synthetic-room.ts';

const passing = sendJoinObservation(buildRoom(), { partial: true });
const failing = withBody(passing, (b) => { b.members_omitted = 'true'; });

const createdDirs: string[] = [];

function baselineDir(knownFailures: unknown[]): string {
  const dir = mkdtempSync(join(tmpdir(), 'lazyjoin-baseline-'));
  createdDirs.push(dir);
  writeFileSync(join(dir, 'cand-1.0.json'), JSON.stringify({ candidate: 'cand', version: '1.0', knownFailures }));
  return dir;
}

test.afterEach(() => deactivateBaseline());
test.afterAll(() => {
  for (const dir of createdDirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

test('a failure listed for this test is recorded as known-failure and does not fail the test', async ({}, testInfo) => {
  activateBaseline('cand', '1.0', baselineDir([{ requirement: 'SJ-13', check: membersOmittedIsBoolean.id, test: testInfo.title, reason: 'flag sent as a string', evidence: 'true' }]));
  const outcome = judge(testInfo, membersOmittedIsBoolean, failing);
  expect(outcome.verdict).toBe('known-failure');
  expect(outcome.reason).toContain('known failure listed in expectations/cand-1.0.json: flag sent as a string');
  expect(outcome.reason).toContain('not a boolean');
  expect(testInfo.errors).toEqual([]);
  expect(unexpectedlyPassing(testInfo, [outcome])).toEqual([]);
});

test('an unlisted failure, or one listed for another test or another check, stays a failure', async ({}, testInfo) => {
  activateBaseline('cand', '1.0', baselineDir([{ requirement: 'SJ-13', check: membersOmittedIsBoolean.id, test: 'some other test', reason: 'elsewhere', evidence: 'true' }, { requirement: 'SJ-13', check: 'send-join/another-check', test: testInfo.title, reason: 'another check', evidence: 'true' }, { requirement: 'SJ-12', check: membersOmittedIsBoolean.id, scope: 'all', scopeReason: 'x', reason: 'another requirement', evidence: 'true' }]));
  expect(knownFailureFor(testInfo, outcomeOf(membersOmittedIsBoolean, failing))).toBeUndefined();
});

test('an entry scoped to all tests covers every test', async ({}, testInfo) => {
  activateBaseline('cand', '1.0', baselineDir([{ requirement: 'SJ-13', check: membersOmittedIsBoolean.id, scope: 'all', scopeReason: 'every answer has it', reason: 'everywhere', evidence: 'true' }]));
  expect(knownFailureFor(testInfo, outcomeOf(membersOmittedIsBoolean, failing))?.entry.reason).toBe('everywhere');
  // Whether it still fails somewhere is only known over the whole run: never unexpectedly passing per test.
  expect(unexpectedlyPassing(testInfo, [outcomeOf(membersOmittedIsBoolean, passing)])).toEqual([]);
});

test('a listed failure that passes is unexpectedly passing, naming the file to edit', async ({}, testInfo) => {
  activateBaseline('cand', '1.0', baselineDir([{ requirement: 'SJ-13', check: membersOmittedIsBoolean.id, test: testInfo.title, reason: 'flag sent as a string', evidence: 'true' }]));
  const outcome = judge(testInfo, membersOmittedIsBoolean, passing);
  expect(outcome.verdict).toBe('pass');
  expect(unexpectedlyPassing(testInfo, [outcome])).toEqual([
    `SJ-13 (${membersOmittedIsBoolean.id}) in "${testInfo.title}" is unexpectedly passing: remove it from expectations/cand-1.0.json (it said: flag sent as a string)`,
  ]);
});

test('an intermittent entry excuses the failure when it happens and is never unexpectedly passing', async ({}, testInfo) => {
  activateBaseline('cand', '1.0', baselineDir([{ requirement: 'SJ-13', check: membersOmittedIsBoolean.id, test: testInfo.title, reason: 'string flag in one run of three', evidence: 'true', intermittent: true }]));
  const failed = judge(testInfo, membersOmittedIsBoolean, failing);
  expect(failed.verdict).toBe('known-failure');
  expect(testInfo.errors).toEqual([]);
  const passed = judge(testInfo, membersOmittedIsBoolean, passing);
  expect(passed.verdict).toBe('pass');
  expect(unexpectedlyPassing(testInfo, [passed])).toEqual([]);
});

test('without a baseline file nothing is excused', async ({}, testInfo) => {
  expect(activateBaseline('cand', '9.9', baselineDir([]))).toBeUndefined();
  expect(knownFailureFor(testInfo, outcomeOf(membersOmittedIsBoolean, failing))).toBeUndefined();
});
