/**
 * Checks over a partial-state join made by the candidate (the candidate is the joiner): what it
 * asked send_join for, how it fetched the missing state afterwards, and where it sent the events
 * its users created meanwhile. Every requirement here comes from MSC3902 (never merged), so the
 * verdicts are informational: present or absent.
 *
 * The observation is shaped like the other kinds (request, response, truth) so that it can be
 * saved as a fixture: `request` is what the candidate asked at send_join, `response` what the
 * remote answered, `truth` what happened afterwards on the remote and its bystanders.
 */
import { defineCheck } from './define.ts';
import type { Check, Evaluation } from './types.ts';

/** One request the candidate made to fetch state or events while resyncing. */
export interface ResyncRequest {
  /** Order of arrival on the remote (all its listeners share one sequence). */
  seq: number;
  /** The server it was addressed to: the remote or one of its bystanders. */
  to: string;
  route: 'state' | 'state_ids' | 'event' | 'event_auth' | 'get_missing_events' | 'backfill';
  /** `event_id` of /state and /state_ids, the path's event of /event and /event_auth. */
  eventId?: string;
  /** The answer's status; undefined while held or dropped. */
  status?: number;
}

export interface PartialJoinObservation {
  request: {
    roomVersion: string;
    /** The send_join query as sent (`omit_members`, `org.matrix.msc3706.partial_state`, ...). */
    sendJoinQuery: Record<string, string | string[]>;
    /** The server that answered send_join. */
    sendJoinServer: string;
    joinEventId: string;
    /** prev_events of the join event: state before the join is the state after these. */
    joinPrevEvents: string[];
  };
  response: {
    status: number;
    body: { members_omitted?: unknown; servers_in_room?: unknown };
  };
  truth: {
    /** Requests for state or events after the join, in arrival order. */
    resyncRequests: ResyncRequest[];
    /** Servers the test made fail (answer errors, garbage or nothing) during the resync. */
    failingServers: string[];
    /** Events the candidate's users sent during the resync, with the servers that received each. */
    deliveries: Array<{ eventId: string; receivedBy: string[] }>;
  };
}

type JoiningCheck = Check<PartialJoinObservation>;

const STATE_ROUTES = new Set(['state', 'state_ids']);

function partialAnswer(o: PartialJoinObservation): boolean {
  return o.response.status === 200 && o.response.body.members_omitted === true;
}

function serversInRoom(o: PartialJoinObservation): string[] {
  const list = o.response.body.servers_in_room;
  return Array.isArray(list) ? list.filter((s): s is string => typeof s === 'string') : [];
}

/** /state or /state_ids at the join or at one of its prev events: both name the state before the join. */
function stateFetchesAtJoin(o: PartialJoinObservation): ResyncRequest[] {
  const points = new Set([o.request.joinEventId, ...o.request.joinPrevEvents]);
  return o.truth.resyncRequests.filter((r) => STATE_ROUTES.has(r.route) && r.eventId !== undefined && points.has(r.eventId));
}

export const resyncFetchesStateAtJoin: JoiningCheck = defineCheck({
  id: 'joining/resync-fetches-state-at-join',
  requirement: 'JS-03',
  title: 'after a partial send_join answer, the joiner asks for the state at the join (/state or /state_ids at the join or its prev events)',
  evaluate: (o): Evaluation => {
    if (!partialAnswer(o)) return { notApplicable: 'the send_join answer was not partial' };
    if (stateFetchesAtJoin(o).length > 0) return { ok: true };
    return {
      ok: false,
      reason: 'no /state or /state_ids request named the join event or its prev events',
      expected: `GET /state or /state_ids with event_id in ${JSON.stringify([o.request.joinEventId, ...o.request.joinPrevEvents])}`,
      observed: o.truth.resyncRequests,
    };
  },
  controls: [
    { name: 'no resync request', mutate: (o) => ({ ...o, truth: { ...o.truth, resyncRequests: [] } }) },
    {
      name: 'state fetched at an unrelated event',
      mutate: (o) => ({
        ...o,
        truth: { ...o.truth, resyncRequests: o.truth.resyncRequests.map((r) => (STATE_ROUTES.has(r.route) ? { ...r, eventId: '$unrelated' } : r)) },
      }),
    },
  ],
});

export const resyncAsksSendJoinServerFirst: JoiningCheck = defineCheck({
  id: 'joining/resync-asks-send-join-server-first',
  requirement: 'JS-03',
  title: 'the first state request of the resync goes to the server that answered send_join',
  evaluate: (o): Evaluation => {
    if (!partialAnswer(o)) return { notApplicable: 'the send_join answer was not partial' };
    const first = o.truth.resyncRequests.find((r) => STATE_ROUTES.has(r.route));
    if (!first) return { notApplicable: 'no state request was made' };
    if (first.to === o.request.sendJoinServer) return { ok: true };
    return {
      ok: false,
      reason: `the first state request went to ${first.to}`,
      expected: `the first /state or /state_ids request addressed to ${o.request.sendJoinServer}`,
      observed: first,
    };
  },
  controls: [
    {
      name: 'first state request to another server',
      mutate: (o) => ({
        ...o,
        truth: {
          ...o.truth,
          resyncRequests: [{ seq: 0, to: 'elsewhere.invalid', route: 'state_ids', eventId: o.request.joinEventId, status: 200 }, ...o.truth.resyncRequests],
        },
      }),
    },
  ],
});

export const resyncFallsBackToServersInRoom: JoiningCheck = defineCheck({
  id: 'joining/resync-falls-back-to-servers-in-room',
  requirement: 'JS-02',
  title: 'when a server fails during the resync, the joiner asks another server of servers_in_room for the state at the join',
  evaluate: (o): Evaluation => {
    if (!partialAnswer(o)) return { notApplicable: 'the send_join answer was not partial' };
    if (o.truth.failingServers.length === 0) return { notApplicable: 'no server was made to fail' };
    const others = serversInRoom(o).filter((s) => !o.truth.failingServers.includes(s));
    const answered = stateFetchesAtJoin(o).filter((r) => others.includes(r.to) && r.status === 200);
    if (answered.length > 0) return { ok: true };
    return {
      ok: false,
      reason: `no state request at the join was answered by a working server of servers_in_room (${others.join(', ') || 'none'})`,
      expected: `a /state or /state_ids request at the join answered 200 by one of ${JSON.stringify(others)}`,
      observed: o.truth.resyncRequests,
    };
  },
  controls: [
    {
      name: 'only the failing server was asked',
      mutate: (o) => ({ ...o, truth: { ...o.truth, resyncRequests: o.truth.resyncRequests.filter((r) => o.truth.failingServers.includes(r.to)) } }),
    },
  ],
});

export const eventsReachServersInRoom: JoiningCheck = defineCheck({
  id: 'joining/events-reach-servers-in-room',
  requirement: 'JS-02',
  title: 'events created by the joiner during the resync are sent to every server in servers_in_room',
  evaluate: (o): Evaluation => {
    if (!partialAnswer(o)) return { notApplicable: 'the send_join answer was not partial' };
    if (o.truth.deliveries.length === 0) return { notApplicable: 'no event was sent during the resync' };
    const servers = serversInRoom(o);
    const missed = o.truth.deliveries.flatMap((d) => servers.filter((s) => !d.receivedBy.includes(s)).map((s) => `${d.eventId} -> ${s}`));
    if (missed.length === 0) return { ok: true };
    return {
      ok: false,
      reason: `not delivered: ${missed.join(', ')}`,
      expected: `each event received by every server of ${JSON.stringify(servers)}`,
      observed: o.truth.deliveries,
    };
  },
  controls: [
    {
      name: 'one server never received the events',
      mutate: (o) => {
        const skipped = serversInRoom(o).at(-1);
        return { ...o, truth: { ...o.truth, deliveries: o.truth.deliveries.map((d) => ({ ...d, receivedBy: d.receivedBy.filter((s) => s !== skipped) })) } };
      },
    },
  ],
});

/** The checks by observation kind, as the registry lists them. */
export const joiningResyncChecks = {
  'joiner-resync': [resyncFetchesStateAtJoin, resyncAsksSendJoinServerFirst, resyncFallsBackToServersInRoom, eventsReachServersInRoom] as ReadonlyArray<JoiningCheck>,
};

/** Passing observations for the negative-control self-test (one per situation the checks judge). */
export function joiningResyncPassingObservations(): Array<{ name: string; kind: 'joiner-resync'; observation: PartialJoinObservation }> {
  const resident = 'resident.invalid';
  const bystander = 'bystander.invalid';
  const base: PartialJoinObservation = {
    request: { roomVersion: '10', sendJoinQuery: { omit_members: 'true' }, sendJoinServer: resident, joinEventId: '$join', joinPrevEvents: ['$prev'] },
    response: { status: 200, body: { members_omitted: true, servers_in_room: [resident, bystander] } },
    truth: {
      resyncRequests: [
        { seq: 5, to: resident, route: 'state_ids', eventId: '$prev', status: 200 },
        { seq: 6, to: resident, route: 'state', eventId: '$prev', status: 200 },
      ],
      failingServers: [],
      deliveries: [{ eventId: '$message', receivedBy: [resident, bystander] }],
    },
  };
  const fallback: PartialJoinObservation = {
    ...base,
    truth: {
      resyncRequests: [
        { seq: 5, to: resident, route: 'state_ids', eventId: '$prev', status: 500 },
        { seq: 6, to: bystander, route: 'state_ids', eventId: '$prev', status: 200 },
      ],
      failingServers: [resident],
      deliveries: [],
    },
  };
  return [
    { name: 'partial join resynced from the resident, message delivered to both servers', kind: 'joiner-resync', observation: base },
    { name: 'partial join resynced from a bystander after the resident failed', kind: 'joiner-resync', observation: fallback },
  ];
}
