/**
 * The one annotation format between a test and the compliance reporter. Free of the test runner's
 * `expect` and of the catalogue, so the reporter process can read it without loading either.
 *
 * - `lazyjoin-check`: one check outcome, written by `judge()` (harness/checks/judge.ts) only;
 *   `description` is `JSON.stringify(CheckOutcome)`.
 * - `lazyjoin-profile`: whether the candidate opted into a profile in this test (for
 *   `partial-state`: whether its send_join asked `omit_members=true`); `description` is
 *   `JSON.stringify(ProfileRequest)`. A candidate opted in for the run when any test says so.
 */
import type { CheckOutcome, Profile, Verdict, WireExchange } from './types.ts';

export const CHECK_ANNOTATION = 'lazyjoin-check';
export const PROFILE_ANNOTATION = 'lazyjoin-profile';

/** Profiles a candidate can opt into by its behaviour (DESIGN.md "Axes of a run"). */
export const PROFILES: readonly Profile[] = ['partial-state'];
export type { Profile };

export interface ProfileRequest {
  profile: Profile;
  requested: boolean;
  /** What was seen on the wire (the send_join's query, say). */
  observed?: unknown;
}

const VERDICT_WORDS: readonly Verdict[] = ['pass', 'fail', 'non-strict', 'informational', 'not-supported', 'not-run', 'error', 'known-failure'];
const LEVEL_WORDS = ['MUST', 'SHOULD', 'MAY', 'MSC-ONLY'];

export function checkAnnotation(outcome: CheckOutcome): { type: string; description: string } {
  return { type: CHECK_ANNOTATION, description: JSON.stringify(outcome) };
}

export function profileAnnotation(request: ProfileRequest): { type: string; description: string } {
  return { type: PROFILE_ANNOTATION, description: JSON.stringify(request) };
}

/** A check outcome read back from its annotation, or a one-line message saying why it is not one. */
export function parseCheckAnnotation(description: string | undefined): CheckOutcome | string {
  let o: Record<string, unknown>;
  try {
    o = JSON.parse(description ?? '');
  } catch {
    const text = description ?? '';
    return `malformed ${CHECK_ANNOTATION} annotation (not JSON): ${text.length > 200 ? `${text.slice(0, 200)}…` : text}`;
  }
  if (typeof o !== 'object' || o === null) return `malformed ${CHECK_ANNOTATION} annotation (not an object)`;
  if ((typeof o.checkId !== 'string' && o.checkId !== null) || typeof o.requirementId !== 'string') {
    return `malformed ${CHECK_ANNOTATION} annotation: needs a string requirementId and a string or null checkId`;
  }
  if (!(VERDICT_WORDS as readonly unknown[]).includes(o.verdict)) {
    return `malformed ${CHECK_ANNOTATION} annotation for ${o.requirementId}: verdict ${JSON.stringify(o.verdict)} is not one of ${VERDICT_WORDS.join(', ')}`;
  }
  const level = typeof o.level === 'string' && LEVEL_WORDS.includes(o.level) ? o.level : undefined;
  return {
    checkId: o.checkId,
    requirementId: o.requirementId,
    ...(level ? { level } : {}),
    verdict: o.verdict as Verdict,
    ...(typeof o.present === 'boolean' ? { present: o.present } : {}),
    expected: typeof o.expected === 'string' ? o.expected : JSON.stringify(o.expected ?? null),
    observed: o.observed ?? null,
    ...(typeof o.reason === 'string' ? { reason: o.reason } : {}),
    ...(Array.isArray(o.exchanges) ? { exchanges: o.exchanges as WireExchange[] } : {}),
  } as CheckOutcome;
}

/** A profile request read back from its annotation, or a one-line message saying why it is not one. */
export function parseProfileAnnotation(description: string | undefined): ProfileRequest | string {
  try {
    const o = JSON.parse(description ?? '') as Partial<ProfileRequest>;
    if ((PROFILES as readonly unknown[]).includes(o?.profile) && typeof o.requested === 'boolean') return { profile: o.profile!, requested: o.requested, ...(o.observed !== undefined ? { observed: o.observed } : {}) };
  } catch {
    // reported below
  }
  return `malformed ${PROFILE_ANNOTATION} annotation: ${(description ?? '').slice(0, 200)}`;
}
