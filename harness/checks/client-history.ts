/**
 * History as the candidate's client API serves it, judged against the room the remote holds: the
 * events /messages and /context give a member are events the room's history visibility lets that
 * member see, each as the room holds it (HV-01); an event the room has redacted is served in its
 * redacted form, stripped by the room version's redaction algorithm (RD-01).
 *
 * History the candidate has not fetched (it backfills from a resident, or not at all) is not a
 * failure: an event left out is never wrong. An event served is judged.
 */
import { defineCheck } from './define.ts';
import type { Check, Evaluation } from './types.ts';

/** An event as the client was served it: the fields these checks compare. */
export interface ServedEvent {
  event_id: string;
  type: string;
  sender: string;
  state_key?: string;
  content: Record<string, unknown>;
}

/** The events one client API answer served, and what the room holds. */
export interface HistoryServedObservation {
  request: {
    /** e.g. `GET /messages (dir=b, 3 pages)` or `GET /context/$event`. */
    api: string;
    roomId: string;
    /** The member the answers were for, and the room's history visibility for them. */
    user: string;
    historyVisibility: string;
    duringResync: boolean;
  };
  /** Every event served (timeline chunks, context before/after, the context event itself). */
  served: ServedEvent[];
  truth: {
    /**
     * Every event of the room (DAG members) with what a client must be served for it: its type,
     * sender, state key and content (its redacted content once redacted); for a redaction, the
     * event it redacts, which servers may copy into `content.redacts` for clients in room versions
     * that keep it at the top level.
     */
    events: Record<string, { type: string; sender: string; state_key?: string; content: Record<string, unknown>; redacts?: string }>;
    /** Room events the user may not see under the history visibility (neither before nor after each). */
    hidden: string[];
  };
}

const canonical = (v: unknown): string => JSON.stringify(v, (_k, value) => (value && typeof value === 'object' && !Array.isArray(value) ? Object.fromEntries(Object.entries(value).sort(([a], [b]) => (a < b ? -1 : 1))) : value));

/** The served content without a `redacts` copied into it from the top level (a compatibility copy, not a change). */
function withoutRedactsCopy(content: Record<string, unknown>, truth: { content: Record<string, unknown>; redacts?: string }): Record<string, unknown> {
  if (truth.redacts === undefined || 'redacts' in truth.content || content.redacts !== truth.redacts) return content;
  const { redacts: _copy, ...rest } = content;
  return rest;
}

export const servedHistoryVisibleAndTrue: Check<HistoryServedObservation> = defineCheck({
  id: 'client/served-history-visible-and-true',
  requirement: 'HV-01',
  title: "the events /messages and /context serve a member are ones the room's history visibility lets them see, each as the room holds it",
  evaluate: (o): Evaluation => {
    if (o.served.length === 0) return { notApplicable: `${o.request.api} served no event` };
    const hidden = new Set(o.truth.hidden);
    const problems: string[] = [];
    const observed: Record<string, unknown> = {};
    for (const e of o.served) {
      const truth = o.truth.events[e.event_id];
      if (hidden.has(e.event_id)) {
        problems.push(`${e.event_id} (${e.type}) is hidden from ${o.request.user} by history visibility "${o.request.historyVisibility}"`);
        observed[e.event_id] = 'served although hidden';
      } else if (!truth) {
        problems.push(`${e.event_id} (${e.type}) is not an event of the room`);
        observed[e.event_id] = e;
      } else if (truth.type !== e.type || truth.sender !== e.sender || truth.state_key !== e.state_key || canonical(truth.content) !== canonical(withoutRedactsCopy(e.content, truth))) {
        problems.push(`${e.event_id} differs from the room's event`);
        observed[e.event_id] = { served: e, room: truth };
      }
    }
    if (problems.length === 0) return { ok: true };
    return {
      ok: false,
      reason: `${o.request.api}${o.request.duringResync ? ' during the resync' : ''}: ${problems.slice(0, 6).join('; ')}${problems.length > 6 ? ` (+${problems.length - 6} more)` : ''}`,
      expected: `only events of ${o.request.roomId} that history visibility "${o.request.historyVisibility}" lets ${o.request.user} see, each with the room's type, sender, state key and content`,
      observed,
    };
  },
  controls: [
    {
      name: 'an event hidden by the history visibility served',
      mutate: (o) => ({
        ...o,
        served: [...o.served, { event_id: '$hidden-before-the-join', type: 'm.room.message', sender: '@earlier:remote.invalid', content: { msgtype: 'm.text', body: 'before' } }],
        truth: { ...o.truth, hidden: [...o.truth.hidden, '$hidden-before-the-join'], events: { ...o.truth.events, '$hidden-before-the-join': { type: 'm.room.message', sender: '@earlier:remote.invalid', content: { msgtype: 'm.text', body: 'before' } } } },
      }),
    },
    { name: 'an event the room does not hold served', mutate: (o) => ({ ...o, served: [...o.served, { event_id: '$invented', type: 'm.room.message', sender: '@nobody:remote.invalid', content: { body: 'invented' } }] }) },
    { name: "a served event's content altered", mutate: (o) => ({ ...o, served: o.served.map((e, i) => (i === 0 ? { ...e, content: { ...e.content, body: 'altered' } } : e)) }) },
  ],
});

/** One redacted event as the candidate served it (client or federation) after the redaction. */
export interface RedactedServedObservation {
  request: {
    /** `GET /rooms/{roomId}/event/{eventId}` or the federation `GET /event/{eventId}`. */
    api: string;
    eventId: string;
    redactionId: string;
    roomVersion: string;
    duringResync: boolean;
  };
  /** The answer: status and the event's content when 200; null when none came within the bound. */
  response: { status: number; content?: Record<string, unknown> } | null;
  truth: {
    /** The event's content before the redaction. */
    original: Record<string, unknown>;
    /** Its content after the room version's redaction algorithm. */
    redacted: Record<string, unknown>;
  };
}

export const redactedEventServedRedacted: Check<RedactedServedObservation> = defineCheck({
  id: 'client/redacted-event-served-redacted',
  requirement: 'RD-01',
  title: "once an event is redacted, the candidate serves it stripped by the room version's redaction algorithm, to clients and to servers",
  evaluate: (o): Evaluation => {
    const expected = `HTTP 200 with the content the room version ${o.request.roomVersion} redaction algorithm keeps: ${canonical(o.truth.redacted)}`;
    if (!o.response) return { ok: false, reason: `${o.request.api} gave no answer within the test's bound`, expected, observed: null };
    if (o.response.status !== 200) return { ok: false, reason: `${o.request.api} answered HTTP ${o.response.status} for the redacted ${o.request.eventId} (the redacted form is still to be served)`, expected, observed: o.response };
    const content = o.response.content ?? {};
    if (canonical(content) === canonical(o.truth.redacted)) return { ok: true };
    const kept = Object.keys(content).filter((k) => !(k in o.truth.redacted));
    return {
      ok: false,
      reason: `${o.request.api}${o.request.duringResync ? ' during the resync' : ''} serves ${o.request.eventId} after its redaction ${o.request.redactionId} with ${kept.length ? `keys the algorithm strips: ${kept.join(', ')}` : 'a content other than the redacted one'}`,
      expected,
      observed: { content },
    };
  },
  controls: [
    { name: 'the original content served', mutate: (o) => ({ ...o, response: { status: 200, content: { ...o.truth.original, ...o.truth.redacted, 'org.lazyjoin.unredacted': true } } }) },
    { name: 'answered 404', mutate: (o) => ({ ...o, response: { status: 404 } }) },
    { name: 'no answer', mutate: (o) => ({ ...o, response: null }) },
  ],
});

export const clientHistoryChecks = {
  'client-history': [servedHistoryVisibleAndTrue] as ReadonlyArray<Check<HistoryServedObservation>>,
  'client-redaction': [redactedEventServedRedacted] as ReadonlyArray<Check<RedactedServedObservation>>,
};

/** Passing observations for the negative-control self-test. */
export function clientHistoryPassingObservations(): Array<
  { name: string; kind: 'client-history'; observation: HistoryServedObservation } | { name: string; kind: 'client-redaction'; observation: RedactedServedObservation }
> {
  const message = (body: string) => ({ type: 'm.room.message', sender: '@alice:remote.invalid', content: { msgtype: 'm.text', body } });
  const events = { $before: message('before the join'), $join: { type: 'm.room.member', sender: '@joiner:candidate.invalid', state_key: '@joiner:candidate.invalid', content: { membership: 'join' } }, $after: message('after the join') };
  const served = (ids: Array<keyof typeof events>): ServedEvent[] => ids.map((id) => ({ event_id: id, ...events[id] }));
  return [
    {
      name: 'shared history: a page across the join',
      kind: 'client-history',
      observation: { request: { api: 'GET /messages', roomId: '!r:remote.invalid', user: '@joiner:candidate.invalid', historyVisibility: 'shared', duringResync: true }, served: served(['$after', '$join', '$before']), truth: { events, hidden: [] } },
    },
    {
      name: 'joined history: the page stops at the join',
      kind: 'client-history',
      observation: { request: { api: 'GET /messages', roomId: '!r:remote.invalid', user: '@joiner:candidate.invalid', historyVisibility: 'joined', duringResync: false }, served: served(['$after', '$join']), truth: { events, hidden: ['$before'] } },
    },
    {
      name: 'a redaction served with the top-level redacts copied into its content (room version 10)',
      kind: 'client-history',
      observation: {
        request: { api: 'GET /messages', roomId: '!r:remote.invalid', user: '@joiner:candidate.invalid', historyVisibility: 'shared', duringResync: false },
        served: [{ event_id: '$redaction', type: 'm.room.redaction', sender: '@alice:remote.invalid', content: { reason: 'spam', redacts: '$after' } }, { event_id: '$after', type: 'm.room.message', sender: '@alice:remote.invalid', content: {} }],
        truth: { events: { ...events, $after: { ...events.$after, content: {} }, $redaction: { type: 'm.room.redaction', sender: '@alice:remote.invalid', content: { reason: 'spam' }, redacts: '$after' } }, hidden: [] },
      },
    },
    {
      name: 'a redacted topic served with empty content',
      kind: 'client-redaction',
      observation: { request: { api: 'GET /rooms/{roomId}/event/$topic', eventId: '$topic', redactionId: '$redaction', roomVersion: '10', duringResync: false }, response: { status: 200, content: {} }, truth: { original: { topic: 'secret' }, redacted: {} } },
    },
    {
      name: 'a redacted power-levels event keeps its protected keys',
      kind: 'client-redaction',
      observation: { request: { api: 'GET /event/$pl (federation)', eventId: '$pl', redactionId: '$redaction', roomVersion: '11', duringResync: true }, response: { status: 200, content: { users: { '@a:r': 100 }, ban: 50 } }, truth: { original: { users: { '@a:r': 100 }, ban: 50, notifications: { room: 50 } }, redacted: { ban: 50, users: { '@a:r': 100 } } } },
    },
  ];
}
