/**
 * The candidate verifying a remote's events against the remote's key validity: a key is good for
 * events up to its `valid_until_ts` (KY-04), and never for more than seven days after it was
 * fetched, however long the key document claims (KY-03; room versions 5 and later).
 */
import { defineCheck } from './define.ts';
import type { Check, Evaluation } from './types.ts';

export interface KeyValidityObservation {
  /** Which rule the scenario exercises. */
  rule: 'valid-until' | 'seven-day-cap';
  /** The `valid_until_ts` the remote published (ms since the epoch). */
  publishedValidUntil: number;
  /** When the candidate first fetched the key document (ms since the epoch). */
  fetchedAt: number;
  /** Events the remote sent after the join, each signed with that key, and whether the candidate accepted it. */
  events: Array<{ eventId: string; originServerTs: number; accepted: boolean }>;
}

type KeyValidityCheck = Check<KeyValidityObservation>;

const SEVEN_DAYS_MS = 7 * 24 * 3_600_000;

/** The last instant the key may be used for, under the rule the scenario exercises. */
function validUntil(o: KeyValidityObservation): number {
  return o.rule === 'seven-day-cap' ? Math.min(o.publishedValidUntil, o.fetchedAt + SEVEN_DAYS_MS) : o.publishedValidUntil;
}

function judgeValidity(o: KeyValidityObservation, rule: KeyValidityObservation['rule']): Evaluation {
  if (o.rule !== rule) return { notApplicable: `the scenario exercises ${o.rule}, not ${rule}` };
  const limit = validUntil(o);
  const inside = o.events.filter((e) => e.originServerTs <= limit);
  const outside = o.events.filter((e) => e.originServerTs > limit);
  if (!outside.length) return { notApplicable: 'no event was dated after the key stopped being valid' };
  // An event inside the key's validity must be accepted, or the scenario shows nothing.
  if (!inside.some((e) => e.accepted)) return { notApplicable: 'the candidate accepted no event even within the key\'s validity' };
  const accepted = outside.filter((e) => e.accepted);
  if (accepted.length === 0) return { ok: true };
  const iso = (ms: number) => new Date(ms).toISOString();
  return {
    ok: false,
    reason: `accepted ${accepted.map((e) => `${e.eventId} (origin_server_ts ${iso(e.originServerTs)})`).join(', ')}, signed with a key valid only until ${iso(limit)}`,
    expected: rule === 'seven-day-cap' ? 'events dated more than seven days after the key was fetched rejected, whatever valid_until_ts says' : 'events dated after the key\'s valid_until_ts rejected',
    observed: o,
  };
}

const acceptAll = (o: KeyValidityObservation): KeyValidityObservation => ({ ...o, events: o.events.map((e) => ({ ...e, accepted: true })) });

export const eventsAfterValidUntilRejected: KeyValidityCheck = defineCheck({
  id: 'keys/events-after-valid-until-rejected',
  requirement: 'KY-04',
  title: 'an event dated after its signing key\'s valid_until_ts is rejected',
  evaluate: (o) => judgeValidity(o, 'valid-until'),
  controls: [{ name: 'the late event accepted', mutate: acceptAll }],
});

export const keyValidityCappedAtSevenDays: KeyValidityCheck = defineCheck({
  id: 'keys/validity-capped-at-seven-days',
  requirement: 'KY-03',
  title: 'a key counts as valid for at most seven days after it was fetched, whatever its valid_until_ts',
  evaluate: (o) => judgeValidity(o, 'seven-day-cap'),
  controls: [{ name: 'the event eight days ahead accepted', mutate: acceptAll }],
});

export const joinerKeyValidityChecks = {
  'joiner-key-validity': [eventsAfterValidUntilRejected, keyValidityCappedAtSevenDays],
} as const;

/** Passing observations for the self-test. */
export function joinerKeyValidityPassingObservations(): Array<{ name: string; kind: string; observation: unknown }> {
  const now = 1_790_000_000_000;
  const hour = 3_600_000;
  const short: KeyValidityObservation = {
    rule: 'valid-until',
    publishedValidUntil: now + hour,
    fetchedAt: now,
    events: [
      { eventId: '$in-time', originServerTs: now + 1000, accepted: true },
      { eventId: '$too-late', originServerTs: now + 2 * hour, accepted: false },
    ],
  };
  const long: KeyValidityObservation = {
    rule: 'seven-day-cap',
    publishedValidUntil: now + 30 * 24 * hour,
    fetchedAt: now,
    events: [
      { eventId: '$in-time', originServerTs: now + 1000, accepted: true },
      { eventId: '$eight-days-ahead', originServerTs: now + 8 * 24 * hour, accepted: false },
    ],
  };
  return [
    { name: 'key valid for an hour, an event two hours ahead rejected', kind: 'joiner-key-validity', observation: short },
    { name: 'key claiming 30 days, an event eight days ahead rejected', kind: 'joiner-key-validity', observation: long },
  ];
}
