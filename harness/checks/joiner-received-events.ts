/**
 * The candidate receiving events over federation in a room it has joined: an event whose content
 * hash does not match is kept as its redacted copy (SG-05), and an event beyond the PDU limits is
 * rejected (SG-08: more than 20 prev_events).
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

export const joinerReceivedEventChecks = {
  'joiner-hash-mismatch': [hashMismatchKeptRedacted],
  'joiner-pdu-limits': [pduLimitsEnforced],
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
  return [
    { name: 'an altered message kept redacted', kind: 'joiner-hash-mismatch', observation: hash },
    { name: '20 prev_events accepted, 21 rejected', kind: 'joiner-pdu-limits', observation: limits },
  ];
}
