/**
 * The candidate receiving events over federation in a room it has joined: an event whose content
 * hash does not match is kept as its redacted copy (SG-05), an event beyond the PDU limits is
 * rejected (SG-08: more than 20 prev_events) unless it came in a /backfill answer (ST-07), an
 * event carrying a float or an out-of-range integer is discarded in room versions 6+ (SG-07), and
 * events are known by the reference hash the spec defines (SG-03).
 */
import { defineCheck } from './define.ts';
import type { Check, Evaluation } from './types.ts';

export interface HashMismatchObservation {
  eventId: string;
  /** The content the event was signed with (its hash matches this). */
  signedContent: Record<string, unknown>;
  /** The content it was sent with. */
  sentContent: Record<string, unknown>;
  /** What the candidate's client API answers for the event: status and, if 200, its content. */
  served: { status: number; content?: Record<string, unknown> };
}

const isEmpty = (c: Record<string, unknown> | undefined) => c !== undefined && Object.keys(c).length === 0;

export const hashMismatchKeptRedacted: Check<HashMismatchObservation> = defineCheck({
  id: 'events/hash-mismatch-kept-redacted',
  requirement: 'SG-05',
  title: 'an event whose content hash does not match is kept, redacted: its content is not shown',
  evaluate(o): Evaluation {
    if (o.served.status === 200 && isEmpty(o.served.content)) return { ok: true };
    const fate =
      o.served.status !== 200
        ? `dropped (the client API answers HTTP ${o.served.status})`
        : JSON.stringify(o.served.content) === JSON.stringify(o.sentContent)
          ? 'kept with the content it was sent with, which its hash does not cover'
          : `kept with content ${JSON.stringify(o.served.content).slice(0, 120)}`;
    return { ok: false, reason: `the event was ${fate}`, expected: 'the redacted copy kept: the event served with empty content', observed: o.served };
  },
  controls: [
    { name: 'kept as sent', mutate: (o) => ({ ...o, served: { status: 200, content: o.sentContent } }) },
    { name: 'dropped', mutate: (o) => ({ ...o, served: { status: 404 } }) },
  ],
});

export interface PduLimitsObservation {
  /** Events sent in one room, on the same parent, each with its fault. */
  events: Array<{ eventId: string; fault: 'none' | 'too-many-prev-events'; prevEvents: number; accepted: boolean }>;
}

export const pduLimitsEnforced: Check<PduLimitsObservation> = defineCheck({
  id: 'events/pdu-limits-enforced',
  requirement: 'SG-08',
  title: 'an event with more than 20 prev_events is rejected (one with 20 is accepted)',
  evaluate(o): Evaluation {
    const control = o.events.filter((e) => e.fault === 'none');
    if (!control.some((e) => e.accepted)) return { notApplicable: 'the candidate accepted no event within the limits either' };
    const accepted = o.events.filter((e) => e.fault !== 'none' && e.accepted);
    if (accepted.length === 0) return { ok: true };
    return { ok: false, reason: accepted.map((e) => `${e.eventId} with ${e.prevEvents} prev_events was accepted`).join('; '), expected: 'events with more than 20 prev_events rejected', observed: o.events };
  },
  controls: [{ name: 'the 21 prev_events accepted', mutate: (o) => ({ events: o.events.map((e) => ({ ...e, accepted: true })) }) }],
});

export interface BackfillLimitsObservation {
  /** /backfill requests the candidate sent to the suite. */
  backfillRequests: number;
  /** Events the suite served in its /backfill answers, with their counts and the candidate's fate for them. */
  served: Array<{ eventId: string; prevEvents: number; authEvents: number; accepted: boolean }>;
}

const overLimits = (e: BackfillLimitsObservation['served'][number]) => e.prevEvents > 20 || e.authEvents > 10;

export const backfillNotValidatedOnLimits: Check<BackfillLimitsObservation> = defineCheck({
  id: 'events/backfill-beyond-pdu-limits-accepted',
  requirement: 'ST-07',
  title: 'an event beyond the PDU limits (more than 20 prev_events) served in a /backfill answer is not rejected for it',
  evaluate(o): Evaluation {
    if (o.backfillRequests === 0) return { notApplicable: 'the candidate sent no /backfill request' };
    const judged = o.served.filter(overLimits);
    if (judged.length === 0) return { notApplicable: 'no event beyond the PDU limits was in the /backfill answers' };
    const rejected = judged.filter((e) => !e.accepted);
    if (rejected.length === 0) return { ok: true };
    return {
      ok: false,
      reason: rejected.map((e) => `${e.eventId} (${e.prevEvents} prev_events, ${e.authEvents} auth_events), served by /backfill, was not accepted`).join('; '),
      expected: 'events served by /backfill accepted although they exceed the prev_events/auth_events limits ("MUST NOT be validated on these specific restrictions")',
      observed: o,
    };
  },
  controls: [{ name: 'the 21-parent event rejected', mutate: (o) => ({ ...o, served: o.served.map((e) => (overLimits(e) ? { ...e, accepted: false } : e)) }) }],
});

export type StrictJsonFault = 'none' | 'float' | 'integer-too-large';

export interface StrictJsonObservation {
  roomVersion: string;
  /** Whether the room version enforces strict canonical JSON (harness/matrix room-version table). */
  strictCanonicalJson: boolean;
  /** Messages sent over /send: one within canonical JSON, the others each with a number it forbids in its content. */
  events: Array<{ eventId: string; fault: StrictJsonFault; /** The JSON written for the bad number. */ value?: string; transactionStatus: number; accepted: boolean }>;
}

export const strictCanonicalJsonEnforced: Check<StrictJsonObservation> = defineCheck({
  id: 'events/non-canonical-numbers-discarded',
  requirement: 'SG-07',
  title: 'in room versions 6+, an event carrying a float or an integer beyond ±(2^53-1) is discarded (an event within canonical JSON is accepted)',
  evaluate(o): Evaluation {
    if (!o.strictCanonicalJson) return { notApplicable: `room version ${o.roomVersion} does not enforce strict canonical JSON` };
    if (!o.events.some((e) => e.fault === 'none' && e.accepted)) return { notApplicable: 'the candidate accepted no event within canonical JSON either' };
    // A transaction refused for its X-Matrix signature says nothing about the event in it.
    const faulted = o.events.filter((e) => e.fault !== 'none' && e.transactionStatus !== 401);
    if (faulted.length === 0) return { notApplicable: 'no event with a non-canonical number reached the candidate (none sent, or every transaction was refused 401)' };
    const accepted = faulted.filter((e) => e.accepted);
    if (accepted.length === 0) return { ok: true };
    return {
      ok: false,
      reason: accepted.map((e) => `${e.eventId} carrying ${e.value ?? e.fault} (${e.fault}) was accepted (transaction answered ${e.transactionStatus})`).join('; '),
      expected: `room version ${o.roomVersion}: events whose JSON is not canonical (floats, integers beyond ±(2^53-1)) discarded`,
      observed: o.events,
    };
  },
  controls: [
    { name: 'the float accepted', mutate: (o) => ({ ...o, events: o.events.map((e) => (e.fault === 'float' ? { ...e, accepted: true } : e)) }) },
    { name: 'the large integer accepted', mutate: (o) => ({ ...o, events: o.events.map((e) => (e.fault === 'integer-too-large' ? { ...e, accepted: true } : e)) }) },
  ],
});

export interface ReferenceHashObservation {
  roomVersion: string;
  /**
   * Events the suite sent, each made so that only the spec's algorithm gives its ID: content and
   * top-level keys the redaction drops, and `unsigned` data.
   */
  events: Array<{
    /** The ID by the spec's reference hash (harness/matrix). */
    eventId: string;
    /** IDs that wrong algorithms give (e.g. "not redacted", "unsigned kept"), to name a mistake. */
    wrongIds: Record<string, string>;
    /** Where the candidate named the event, and the IDs it used there. */
    namedAs: Array<{ where: string; ids: string[] }>;
  }>;
}

export const eventsKnownByReferenceHash: Check<ReferenceHashObservation> = defineCheck({
  id: 'events/known-by-reference-hash',
  requirement: 'SG-03',
  title: "the candidate names a received event by its reference hash (SHA-256 over the redacted event without signatures and unsigned), in its client API and in its own events' prev_events",
  evaluate(o): Evaluation {
    const judged = o.events.filter((e) => e.namedAs.length > 0);
    if (judged.length === 0) return { notApplicable: 'the candidate named none of the events' };
    const wrong = judged.flatMap((e) =>
      e.namedAs.flatMap((n) => {
        if (n.ids.includes(e.eventId)) return [];
        const mistake = Object.entries(e.wrongIds).find(([, id]) => n.ids.includes(id));
        return [`${n.where}: ${n.ids.length ? n.ids.join(', ') : 'no ID'}${mistake ? ` (the hash of the event ${mistake[0]})` : ''} instead of ${e.eventId}`];
      }),
    );
    if (wrong.length === 0) return { ok: true };
    return { ok: false, reason: wrong.slice(0, 4).join('; '), expected: 'the event named by "$" + Base64 of SHA-256 over the canonical JSON of the redacted event without signatures and unsigned', observed: o.events };
  },
  controls: [
    { name: 'named by the hash of the unredacted event', mutate: (o) => ({ ...o, events: o.events.map((e, i) => (i === 0 ? { ...e, namedAs: e.namedAs.map((n) => ({ ...n, ids: [e.wrongIds['not redacted']] })) } : e)) }) },
    { name: 'named by a hash over unsigned too', mutate: (o) => ({ ...o, events: o.events.map((e, i) => (i === 0 ? { ...e, namedAs: [{ where: 'client timeline', ids: [e.wrongIds['with unsigned']] }] } : e)) }) },
    { name: 'missing from the prev_events of its next event', mutate: (o) => ({ ...o, events: o.events.map((e, i) => (i === 0 ? { ...e, namedAs: [...e.namedAs, { where: 'prev_events of its next event', ids: [] }] } : e)) }) },
  ],
});

export const joinerReceivedEventChecks = {
  'joiner-hash-mismatch': [hashMismatchKeptRedacted],
  'joiner-pdu-limits': [pduLimitsEnforced],
  'joiner-backfill-limits': [backfillNotValidatedOnLimits],
  'joiner-strict-json': [strictCanonicalJsonEnforced],
  'joiner-reference-hash': [eventsKnownByReferenceHash],
} as const;

export function joinerReceivedEventPassingObservations(): Array<{ name: string; kind: string; observation: unknown }> {
  const hash: HashMismatchObservation = {
    eventId: '$altered',
    signedContent: { msgtype: 'm.text', body: 'signed' },
    sentContent: { msgtype: 'm.text', body: 'altered after signing' },
    served: { status: 200, content: {} },
  };
  const limits: PduLimitsObservation = {
    events: [
      { eventId: '$twenty', fault: 'none', prevEvents: 20, accepted: true },
      { eventId: '$twenty-one', fault: 'too-many-prev-events', prevEvents: 21, accepted: false },
    ],
  };
  const backfill: BackfillLimitsObservation = {
    backfillRequests: 1,
    served: [
      { eventId: '$merge', prevEvents: 21, authEvents: 3, accepted: true },
      { eventId: '$branch', prevEvents: 1, authEvents: 3, accepted: true },
    ],
  };
  const strict: StrictJsonObservation = {
    roomVersion: '10',
    strictCanonicalJson: true,
    events: [
      { eventId: '$float', fault: 'float', value: '1.5', transactionStatus: 200, accepted: false },
      { eventId: '$large', fault: 'integer-too-large', value: '9007199254740992', transactionStatus: 200, accepted: false },
      { eventId: '$plain', fault: 'none', transactionStatus: 200, accepted: true },
    ],
  };
  const reference: ReferenceHashObservation = {
    roomVersion: '10',
    events: [
      {
        eventId: '$spec',
        wrongIds: { 'not redacted': '$unredacted', 'with unsigned': '$unsigned' },
        namedAs: [
          { where: 'client timeline', ids: ['$spec'] },
          { where: 'prev_events of its next event', ids: ['$spec'] },
        ],
      },
    ],
  };
  return [
    { name: 'an altered message kept redacted', kind: 'joiner-hash-mismatch', observation: hash },
    { name: 'a 21-parent event served by /backfill accepted', kind: 'joiner-backfill-limits', observation: backfill },
    { name: 'a float and a large integer discarded, a plain message accepted', kind: 'joiner-strict-json', observation: strict },
    { name: 'an event named by its reference hash', kind: 'joiner-reference-hash', observation: reference },
    { name: '20 prev_events accepted, 21 rejected', kind: 'joiner-pdu-limits', observation: limits },
  ];
}
