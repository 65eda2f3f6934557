/**
 * From evaluations to verdicts: the level of the requirement decides the verdict of a failure,
 * outcomes are recorded as annotations, and only fail (and non-strict under LAZYJOIN_STRICT=1)
 * fail the test.
 */
import { test, expect, type TestInfo } from '@playwright/test';
import { defineCheck } from '../../harness/checks/registry.ts';
import { CHECK_ANNOTATION, failureMessage, gatedByProfile, judge, judgeAll, outcomeOf, partialStateRequested, presenceCheck, recordInformational, recordNotSupported, recordPartialStateRequested } from '../../harness/checks/judge.ts';
import { trimForReport } from '../../harness/checks/trim.ts';
import type { CheckOutcome, Evaluation } from '../../harness/checks/types.ts';

/** A check of `requirement` whose evaluation is the observation itself. */
const checkOf = (requirement: string) => defineCheck<Evaluation>({
  id: `self/${requirement.toLowerCase()}`,
  requirement,
  title: `stand-in check for ${requirement}`,
  evaluate: (e) => e,
  controls: [{ name: 'fails', mutate: () => ({ ok: false, reason: 'r', expected: 'e' }) }],
});

const FAILED: Evaluation = { ok: false, reason: 'the flag was missing', expected: 'members_omitted: true', observed: { members_omitted: null } };

const recorded = (testInfo: TestInfo): CheckOutcome[] =>
  testInfo.annotations.filter((a) => a.type === CHECK_ANNOTATION).map((a) => JSON.parse(a.description!) as CheckOutcome);

test('the requirement level decides the verdict', () => {
  const cases: Array<[string, Evaluation, string, boolean | undefined]> = [
    ['SJ-11', { ok: true }, 'pass', undefined],
    ['SJ-11', FAILED, 'fail', undefined],
    ['SJ-15', FAILED, 'non-strict', undefined],
    ['SJ-17', { ok: true }, 'informational', true],
    ['SJ-17', FAILED, 'informational', false],
    ['SJ-09', FAILED, 'informational', false],
    ['SJ-11', { notApplicable: 'no truth' }, 'not-run', undefined],
  ];
  for (const [requirement, evaluation, verdict, present] of cases) {
    const outcome = outcomeOf(checkOf(requirement), evaluation);
    expect(outcome, `${requirement} ${JSON.stringify(evaluation)}`).toMatchObject({ requirementId: requirement, verdict });
    expect(outcome.present).toBe(present);
  }
  expect(outcomeOf(checkOf('SJ-11'), { notApplicable: 'no truth' }).reason).toBe('not applicable: no truth');
});

test('a check that throws is an error, never a fail', () => {
  const throwing = defineCheck<null>({
    id: 'self/throws', requirement: 'SJ-11', title: 'throws',
    evaluate: () => { throw new Error('state[0] has no type'); },
    controls: [{ name: 'n/a', mutate: (o) => o }],
  });
  expect(outcomeOf(throwing, null)).toMatchObject({ verdict: 'error', reason: 'the check threw: state[0] has no type' });
});

test('the failure message names the requirement, the expectation and the observation', () => {
  const message = failureMessage(outcomeOf(checkOf('SJ-12'), FAILED), 'stand-in');
  expect(message).toContain('SJ-12 (MUST, Matrix spec');
  expect(message).toContain('set members_omitted to true');
  expect(message).toContain('reason:      the flag was missing');
  expect(message).toContain('expected:    members_omitted: true');
  expect(message).toContain('observed:    {"members_omitted":null}');
});

test('judge records a pass as an annotation and lets the test pass', ({}, testInfo) => {
  judge(testInfo, checkOf('SJ-11'), { ok: true });
  judge(testInfo, checkOf('SJ-15'), FAILED); // non-strict outside strict mode: recorded, not failing
  expect(recorded(testInfo).map((o) => o.verdict)).toEqual(['pass', 'non-strict']);
});

test('judge fails the test for a broken MUST', ({}, testInfo) => {
  test.fail(true, 'a fail verdict must fail the test');
  judge(testInfo, checkOf('SJ-12'), FAILED);
});

test('judge fails the test for a broken SHOULD in strict mode', ({}, testInfo) => {
  test.fail(true, 'a non-strict verdict must fail the test under LAZYJOIN_STRICT=1');
  const before = process.env.LAZYJOIN_STRICT;
  process.env.LAZYJOIN_STRICT = '1';
  try {
    judge(testInfo, checkOf('SJ-15'), FAILED);
  } finally {
    if (before === undefined) delete process.env.LAZYJOIN_STRICT;
    else process.env.LAZYJOIN_STRICT = before;
  }
});

test('a check that does not apply is recorded as not run with its reason, and a scenario no check applies to is an error', ({}, testInfo) => {
  const applies = defineCheck<{ truth?: boolean }>({
    id: 'self/needs-truth', requirement: 'SJ-11', title: 'needs the truth',
    evaluate: (o) => (o.truth === undefined ? { notApplicable: 'no truth given' } : { ok: o.truth }) as Evaluation,
    controls: [{ name: 'false', mutate: () => ({ truth: false }) }],
  });
  const always = defineCheck<{ truth?: boolean }>({
    id: 'self/always', requirement: 'SJ-12', title: 'always applies', evaluate: () => ({ ok: true }),
    controls: [{ name: 'n/a', mutate: (o) => o }],
  });
  judgeAll(testInfo, [applies, always], {});
  expect(recorded(testInfo).map((o) => [o.checkId, o.verdict, o.reason])).toEqual([
    ['self/needs-truth', 'not-run', 'not applicable: no truth given'],
    ['self/always', 'pass', undefined],
  ]);
  expect(() => judgeAll(testInfo, [applies], {})).toThrow('none of the checks self/needs-truth applies to this observation: not applicable: no truth given');
});

test('optional features are recorded as not supported or as informational', ({}, testInfo) => {
  recordNotSupported(testInfo, ['SJ-07', 'SJ-17'], 'the candidate always answers with full state');
  recordInformational(testInfo, 'SJ-19', true, { servers_in_room: ['a.test'] }, 'sent without members_omitted');
  expect(recorded(testInfo)).toEqual([
    expect.objectContaining({ checkId: null, requirementId: 'SJ-07', verdict: 'not-supported', reason: 'the candidate always answers with full state' }),
    expect.objectContaining({ checkId: null, requirementId: 'SJ-17', verdict: 'not-supported' }),
    expect.objectContaining({ checkId: 'presence/sj-19', requirementId: 'SJ-19', verdict: 'informational', present: true, observed: { servers_in_room: ['a.test'] } }),
  ]);
  // Absent is recorded too, through the same presence check, with what was seen.
  expect(recordInformational(testInfo, 'SJ-19', false, { servers_in_room: null }, 'sent without members_omitted')).toMatchObject({
    checkId: 'presence/sj-19', verdict: 'informational', present: false, reason: 'absent: sent without members_omitted', observed: { servers_in_room: null },
  });
  expect(() => recordInformational(testInfo, 'SJ-12', true, null)).toThrow('SJ-12 is MUST: only MAY and MSC-ONLY behaviour is recorded as informational');
  expect(() => recordNotSupported(testInfo, ['XX-99'], 'x')).toThrow('requirement XX-99 is not in schemas/requirements.json');
});

test('observed JSON is trimmed with a count of what was left out', () => {
  const trimmed = trimForReport({ state: Array.from({ length: 100 }, (_, i) => i), s: 'x'.repeat(500) }) as { state: unknown[]; s: string };
  expect(trimmed.state).toHaveLength(9);
  expect(trimmed.state[8]).toBe('… 92 more items');
  expect(trimmed.s).toMatch(/… \(300 more characters\)$/);
});

test('a check without negative control, or with a malformed ID, is refused when defined', () => {
  expect(() => defineCheck({ id: 'x/no-controls', requirement: 'SJ-11', title: 't', evaluate: () => ({ ok: true }), controls: [] }))
    .toThrow('check x/no-controls has no negative control');
  expect(() => defineCheck({ id: 'Bad ID', requirement: 'SJ-11', title: 't', evaluate: () => ({ ok: true }), controls: [{ name: 'c', mutate: (o) => o }] }))
    .toThrow(/must be lower-case words/);
});

test('a partial-state profile requirement binds only a candidate that asked for partial state', () => {
  const failing = outcomeOf(checkOf('JS-12'), FAILED);
  expect(failing.verdict).toBe('fail');
  const asked = { annotations: [] as TestInfo['annotations'] };
  recordPartialStateRequested(asked as TestInfo, true, { omit_members: 'true' });
  expect(gatedByProfile(asked, failing).verdict).toBe('fail');
  const never = { annotations: [] as TestInfo['annotations'] };
  recordPartialStateRequested(never as TestInfo, false);
  expect(gatedByProfile(never, failing).verdict).toBe('not-supported');
  expect(gatedByProfile(never, outcomeOf(checkOf('JS-12'), { ok: true })).verdict).toBe('not-supported');
  // Outside the profile nothing changes, and a test that recorded nothing is judged at the level.
  expect(gatedByProfile(never, outcomeOf(checkOf('SJ-11'), FAILED)).verdict).toBe('fail');
  expect(gatedByProfile({ annotations: [] }, failing).verdict).toBe('fail');
  // Two joins in one test: the profile binds once either asked.
  recordPartialStateRequested(never as TestInfo, true);
  expect(partialStateRequested(never)).toBe(true);
});

test('the presence check behind recordInformational passes on a present behaviour and fails under each of its controls', () => {
  const check = presenceCheck('C-6', 'syncing: true during the resync');
  const present = { present: true, observed: { during: true } };
  expect(check.evaluate(present)).toMatchObject({ ok: true });
  expect(check.controls.length).toBeGreaterThan(0);
  for (const control of check.controls) {
    expect(check.evaluate(control.mutate(structuredClone(present))), control.name).toMatchObject({ ok: false, reason: 'absent: syncing: true during the resync' });
  }
});
