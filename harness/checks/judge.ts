/**
 * Turning check results into recorded verdicts: the one verdict path. Every outcome becomes the
 * annotation of harness/checks/annotations.ts, which the reporter reads; the report's verdicts
 * come from these outcomes only (a test's tags say what it covers, never that it passed).
 * A `fail` fails the test, and a `non-strict` does too under LAZYJOIN_STRICT=1, through a soft
 * expectation: the test goes on, so every check over the same observation is still recorded.
 * A check that does not apply to the observation is recorded as `not-run` with its reason; a
 * failing or known-failure outcome carries the test's wire exchanges up to the judgement.
 */
import { expect, type TestInfo } from '@playwright/test';
import { appendFileSync, mkdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { requirement } from './catalogue.ts';
import { knownFailureFor } from './test-baseline.ts';
import { trimForReport, trimmedJson } from './trim.ts';
import { checkAnnotation, CHECK_ANNOTATION, parseCheckAnnotation, parseProfileAnnotation, profileAnnotation, PROFILE_ANNOTATION } from './annotations.ts';
import { wireExchanges } from './wire.ts';
import type { Check, CheckOutcome, Evaluation, Requirement, Verdict } from './types.ts';

export { CHECK_ANNOTATION };

/** Verdicts whose outcome carries the wire exchange behind it. */
const EXPLAINED: ReadonlySet<Verdict> = new Set(['fail', 'non-strict', 'known-failure', 'error']);

/**
 * Annotation saying whether the candidate opted into a profile in this test, by its behaviour:
 * `{ profile: 'partial-state', requested: boolean, observed }` (see `recordPartialStateRequested`).
 */
export { PROFILE_ANNOTATION };

/** Whether SHOULD-level breaks fail tests in this run. */
export function strictMode(): boolean {
  return process.env.LAZYJOIN_STRICT === '1';
}

/** The outcome of a check over one observation, without recording it (pure; used by judge and the self-tests). */
export function outcomeOf<O>(check: Check<O>, observation: O): CheckOutcome {
  const req = requirement(check.requirement);
  let evaluation: Evaluation;
  try {
    evaluation = check.evaluate(observation);
  } catch (e) {
    return base(check.id, req, 'error', {
      expected: 'the check to evaluate the observation',
      observed: null,
      reason: `the check threw: ${(e as Error).message}`,
    });
  }
  const optional = req.level === 'MAY' || req.level === 'MSC-ONLY';
  if ('notApplicable' in evaluation) {
    return base(check.id, req, 'not-run', { expected: check.title, observed: null, reason: `not applicable: ${evaluation.notApplicable}` });
  }
  if (evaluation.ok) {
    const observed = 'observed' in evaluation ? trimForReport(evaluation.observed ?? null) : null;
    return optional
      ? base(check.id, req, 'informational', { present: true, expected: check.title, observed })
      : base(check.id, req, 'pass', { expected: check.title, observed });
  }
  const verdict: Verdict = optional ? 'informational' : req.level === 'MUST' ? 'fail' : 'non-strict';
  return base(check.id, req, verdict, {
    ...(optional ? { present: false } : {}),
    expected: evaluation.expected,
    observed: trimForReport(evaluation.observed ?? null),
    reason: evaluation.reason,
  });
}

/**
 * Evaluates `check` over `observation`, records the outcome on the test, and fails the test for a
 * `fail` (and a `non-strict` in strict mode) that the active baseline (harness/checks/test-baseline.ts)
 * does not list; a listed one is recorded as `known-failure` and does not fail the test. It fails with a message naming the requirement, what was
 * expected and what came. A check that throws is recorded as `error` and fails the test too.
 */
export function judge<O>(testInfo: TestInfo, check: Check<O>, observation: O): CheckOutcome {
  let outcome = gatedByProfile(testInfo, outcomeOf(check, observation));
  const known = knownFailureFor(testInfo, outcome);
  if (known) {
    outcome = { ...outcome, verdict: 'known-failure', reason: `known failure listed in ${known.file}: ${known.entry.reason} | observed: ${outcome.reason ?? '-'}` };
  }
  if (EXPLAINED.has(outcome.verdict)) {
    const exchanges = wireExchanges();
    if (exchanges.length) outcome = { ...outcome, exchanges };
  }
  record(testInfo, outcome);
  recordCallSite(testInfo, check, observation, outcome);
  const failsTest = outcome.verdict === 'fail' || outcome.verdict === 'error' || (outcome.verdict === 'non-strict' && strictMode());
  // The message is the assertion's title, so it leads the error report as written.
  expect.soft(failsTest, failsTest ? failureMessage(outcome, check.title) : `check ${check.id}`).toBe(false);
  return outcome;
}

/**
 * With LAZYJOIN_RECORD_CALL_SITES=<folder>, appends each judged observation (when it is plain
 * JSON) to <folder>/call-sites.jsonl with the test file and the check: the material of the
 * self-test that proves each call site can fail (tests/self/checks-call-sites.spec.ts).
 */
function recordCallSite<O>(testInfo: TestInfo, check: Check<O>, observation: O, outcome: CheckOutcome): void {
  const dir = process.env.LAZYJOIN_RECORD_CALL_SITES;
  if (!dir) return;
  let text: string;
  try {
    text = JSON.stringify(observation);
    if (text === undefined || JSON.stringify(JSON.parse(text)) !== text || hasFunction(observation)) return;
  } catch {
    return;
  }
  const file = relative(process.cwd(), testInfo.file);
  mkdirSync(dir, { recursive: true });
  appendFileSync(join(dir, 'call-sites.jsonl'), `${JSON.stringify({ file, test: testInfo.title, check: check.id, verdict: outcome.verdict, observation: JSON.parse(text) })}\n`);
}

function hasFunction(value: unknown): boolean {
  if (typeof value === 'function') return true;
  if (typeof value !== 'object' || value === null) return false;
  return Object.values(value).some(hasFunction);
}

/**
 * Judges every check of `checks` over one observation. A check that does not apply to it is
 * recorded as `not-run` with its reason (never dropped); a scenario no check applies to is an
 * error, since it would otherwise end without judging anything.
 */
export function judgeAll<O>(testInfo: TestInfo, checks: ReadonlyArray<Check<O>>, observation: O): CheckOutcome[] {
  const outcomes = checks.map((c) => judge(testInfo, c, observation));
  if (outcomes.every((o) => o.verdict === 'not-run')) {
    throw new Error(`none of the checks ${checks.map((c) => c.id).join(', ')} applies to this observation: ${outcomes.map((o) => o.reason).join('; ')}`);
  }
  return outcomes;
}

/** Records that `check` could not be applied in this test, and why (the report shows it as not run). */
export function recordCheckNotRun<O>(testInfo: TestInfo, check: Check<O>, reason: string): CheckOutcome {
  const outcome = base(check.id, requirement(check.requirement), 'not-run', { expected: check.title, observed: null, reason });
  record(testInfo, outcome);
  return outcome;
}

/** Records that the candidate does not offer an optional feature these requirements describe. */
export function recordNotSupported(testInfo: TestInfo, requirementIds: string[], why: string): CheckOutcome[] {
  return requirementIds.map((id) => {
    const outcome = base(null, requirement(id), 'not-supported', { expected: requirement(id).summary, observed: null, reason: why });
    record(testInfo, outcome);
    return outcome;
  });
}

/**
 * Records that a test could not judge these requirements here, and why (an early return when the
 * scenario could not be set up, a skipped audit): shown as "not run", never as a pass.
 */
export function recordNotRun(testInfo: TestInfo, requirementIds: string[], why: string): CheckOutcome[] {
  return requirementIds.map((id) => {
    const outcome = base(null, requirement(id), 'not-run', { expected: requirement(id).summary, observed: null, reason: why });
    record(testInfo, outcome);
    return outcome;
  });
}

/** Records an optional feature (MSC-ONLY) as supported (informational, present) or not supported. */
export function recordFeature(testInfo: TestInfo, requirementId: string, supported: boolean, observed: unknown, what: string): CheckOutcome[] {
  if (supported) return [recordInformational(testInfo, requirementId, true, observed, what)];
  return recordNotSupported(testInfo, [requirementId], `${what}: not observed (${JSON.stringify(observed).slice(0, 300)})`);
}

/** What a presence check reads: whether the test saw the optional behaviour, and what it saw. */
export interface PresenceObservation {
  present: boolean;
  observed: unknown;
}

/**
 * The check behind `recordInformational`: the optional behaviour `what` was present. Its ID is
 * `presence/<requirement>` (lower case); the test decides presence, the check records it.
 */
export function presenceCheck(requirementId: string, what: string): Check<PresenceObservation> {
  return {
    id: `presence/${requirementId.toLowerCase()}`,
    requirement: requirementId,
    title: what,
    evaluate: (o) => (o.present ? { ok: true, observed: o.observed } : { ok: false, reason: `absent: ${what}`, expected: what, observed: o.observed }),
    controls: [{ name: 'absent', mutate: (o) => ({ ...o, present: false }) }],
  };
}

/**
 * Records whether an optional (MAY or MSC-ONLY) behaviour was observed, through `judge` and a
 * presence check: informational, present or absent, never a pass.
 */
export function recordInformational(testInfo: TestInfo, requirementId: string, present: boolean, observed: unknown, note?: string): CheckOutcome {
  const req = requirement(requirementId);
  if (req.level !== 'MAY' && req.level !== 'MSC-ONLY') {
    throw new Error(`${requirementId} is ${req.level}: only MAY and MSC-ONLY behaviour is recorded as informational`);
  }
  return judge(testInfo, presenceCheck(requirementId, note ?? req.summary), { present, observed });
}

/**
 * Records whether the candidate asked for partial state (`omit_members=true` on send_join) in this
 * test: the behaviour that opts it into the `partial-state` profile. Joining scenario helpers call
 * it once they have seen the candidate's send_join; several joins in one test opt in if any asked.
 */
export function recordPartialStateRequested(testInfo: TestInfo, requested: boolean, observed?: unknown): void {
  testInfo.annotations.push(profileAnnotation({ profile: 'partial-state', requested, observed: trimForReport(observed ?? null) }));
}

/** Whether this test saw the candidate ask for partial state: undefined when no join recorded it. */
export function partialStateRequested(testInfo: Pick<TestInfo, 'annotations'>): boolean | undefined {
  const seen = testInfo.annotations
    .filter((a) => a.type === PROFILE_ANNOTATION && a.description)
    .map((a) => parseProfileAnnotation(a.description))
    .filter((p) => typeof p !== 'string' && p.profile === 'partial-state') as { requested: boolean }[];
  return seen.length === 0 ? undefined : seen.some((p) => p.requested);
}

/**
 * A profile requirement binds only a candidate that opted in: when the test recorded that the
 * candidate did not ask for partial state, an outcome of a `partial-state` requirement becomes
 * "not supported" (never a fail). Outcomes of requirements outside any profile are unchanged.
 */
export function gatedByProfile(testInfo: Pick<TestInfo, 'annotations'>, outcome: CheckOutcome): CheckOutcome {
  const req = requirement(outcome.requirementId);
  if (req.profile !== 'partial-state' || partialStateRequested(testInfo) !== false) return outcome;
  if (outcome.verdict === 'error' || outcome.verdict === 'not-run') return outcome;
  const { present: _present, ...rest } = outcome;
  return { ...rest, verdict: 'not-supported', reason: `the candidate did not ask for partial state (omit_members=true), so the partial-state profile does not bind it${outcome.reason ? ` | observed: ${outcome.reason}` : ''}` };
}

/** The multi-line message an implementer reads when a check fails. */
export function failureMessage(outcome: CheckOutcome, title: string): string {
  const req = requirement(outcome.requirementId);
  return [
    `${req.id} (${req.level}, ${req.source.document}: ${req.source.section}) ${outcome.verdict.toUpperCase()}`,
    `  requirement: ${req.summary}`,
    `  check:       ${outcome.checkId ?? '-'}: ${title}`,
    `  reason:      ${outcome.reason ?? '-'}`,
    `  expected:    ${outcome.expected}`,
    `  observed:    ${trimmedJson(outcome.observed)}`,
  ].join('\n');
}

/** The check outcomes recorded on this test so far. */
export function recordedOutcomes(testInfo: TestInfo): CheckOutcome[] {
  return testInfo.annotations
    .filter((a) => a.type === CHECK_ANNOTATION && a.description)
    .map((a) => parseCheckAnnotation(a.description))
    .filter((o): o is CheckOutcome => typeof o !== 'string');
}

function record(testInfo: TestInfo, outcome: CheckOutcome): void {
  testInfo.annotations.push(checkAnnotation(outcome));
}

function base(
  checkId: string | null,
  req: Requirement,
  verdict: Verdict,
  rest: Pick<CheckOutcome, 'expected' | 'observed'> & Partial<Pick<CheckOutcome, 'reason' | 'present'>>,
): CheckOutcome {
  return { checkId, requirementId: req.id, level: req.level, verdict, ...rest };
}

/**
 * After judging a departure that leaves the test's scenario unbuildable (the candidate dropped a
 * request, or does not hold what it accepted): a known failure of this candidate ends the test as
 * skipped with `why` (its other requirements are then not run, never errors); any other verdict
 * ends it with `why` as the error, the departure already recorded.
 */
export function scenarioStopsAt(testInfo: TestInfo, outcome: CheckOutcome, why: string): never {
  if (outcome.verdict === 'known-failure') {
    testInfo.skip(true, `the scenario could not be built further: ${why} (${outcome.requirementId}, a known failure of this candidate), so the test's own requirements were not judged`);
  }
  throw new Error(`${why} (${outcome.requirementId} judged ${outcome.verdict}); the scenario could not be built further`);
}
