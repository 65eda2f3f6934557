/**
 * Checks of the `partial-state` profile (MSC3902, MSC3895): how a candidate that asked for
 * partial state lives with it until the resync completes. They are judged at the levels the MSCs
 * word them (schemas/requirements.json, `"profile": "partial-state"`), and bind only a candidate
 * that asked for partial state: the judge turns them into "not supported" for one that did not
 * (harness/checks/judge.ts, `gatedByProfile`).
 *
 * Whether an answer given meanwhile is *correct* is not judged here but by the spec's own
 * requirements (client-data.ts, state.ts, audit-checks.ts), at MUST.
 */
import { defineCheck } from './define.ts';
import type { Check, Evaluation } from './types.ts';

// ---- JS-08: client requests while partial ---------------------------------------------------------

/** One client request sent while the resync was held by the remote. */
export interface PartialClientAnswerObservation {
  request: {
    /** What was asked, e.g. `GET /members`, `send a message`. */
    operation: string;
    /** Whether answering needs the remote members' m.room.member events (MSC3902: those wait). */
    needsRemoteMembers: boolean;
    /** How long the test waited with the resync held before calling the request blocked. */
    heldForMs: number;
  };
  response: {
    /** Whether an answer came while the resync was still held. */
    answeredWhileHeld: boolean;
    /** Its status, when it came. */
    status?: number;
  };
}

type ClientAnswerCheck = Check<PartialClientAnswerObservation>;

export const remoteMemberRequestsWait: ClientAnswerCheck = defineCheck({
  id: 'partial/remote-member-requests-wait',
  requirement: 'JS-08',
  title: 'while partial, a client request that needs the remote members does not answer with data before the resync completes (it waits, or refuses)',
  evaluate: (o): Evaluation => {
    if (!o.request.needsRemoteMembers) return { notApplicable: `${o.request.operation} needs no remote member` };
    if (!o.response.answeredWhileHeld || (o.response.status !== undefined && o.response.status >= 400)) return { ok: true };
    return {
      ok: false,
      reason: `${o.request.operation} answered HTTP ${o.response.status} while the resync was held`,
      expected: `no answer while the resync is held (waited ${o.request.heldForMs} ms), or a refusal`,
      observed: o.response,
    };
  },
  controls: [{ name: 'answered 200 while held', mutate: (o) => ({ ...o, response: { answeredWhileHeld: true, status: 200 } }) }],
});

export const localRequestsAnswerAtOnce: ClientAnswerCheck = defineCheck({
  id: 'partial/local-requests-answer-at-once',
  requirement: 'JS-08',
  title: 'while partial, a client request that needs only non-member state or local members answers at once, successfully',
  evaluate: (o): Evaluation => {
    if (o.request.needsRemoteMembers) return { notApplicable: `${o.request.operation} needs the remote members` };
    if (o.response.answeredWhileHeld && o.response.status !== undefined && o.response.status < 300) return { ok: true };
    return {
      ok: false,
      reason: o.response.answeredWhileHeld ? `${o.request.operation} answered HTTP ${o.response.status}` : `${o.request.operation} gave no answer within ${o.request.heldForMs} ms`,
      expected: `a 2xx answer within ${o.request.heldForMs} ms with the resync held`,
      observed: o.response,
    };
  },
  controls: [
    { name: 'waited for the resync', mutate: (o) => ({ ...o, response: { answeredWhileHeld: false } }) },
    { name: 'refused', mutate: (o) => ({ ...o, response: { answeredWhileHeld: true, status: 403 } }) },
  ],
});

// ---- JS-09, JS-10: /sync while partial --------------------------------------------------------------

export interface PartialSyncObservation {
  request: { roomId: string; lazyLoadMembers: boolean; since?: string };
  response: { status: number; roomsJoined: string[] };
  truth: {
    /** Whether the candidate's resync had been let through when the sync answered. */
    resyncReleased: boolean;
  };
}

export const eagerSyncLeavesRoomOut: Check<PartialSyncObservation> = defineCheck({
  id: 'partial/eager-sync-leaves-room-out',
  requirement: 'JS-10',
  title: 'a /sync without lazy-loading leaves the partial-state room out until the resync completes',
  evaluate: (o): Evaluation => {
    if (o.request.lazyLoadMembers) return { notApplicable: 'the sync was lazy-loading members' };
    if (o.truth.resyncReleased) return { notApplicable: 'the resync had been released' };
    if (o.response.status !== 200) return { ok: false, reason: `/sync answered HTTP ${o.response.status}`, expected: 'HTTP 200 without the room', observed: o.response };
    if (!o.response.roomsJoined.includes(o.request.roomId)) return { ok: true };
    return { ok: false, reason: `${o.request.roomId} is in rooms.join while its state is partial`, expected: 'the room absent from rooms.join', observed: o.response };
  },
  controls: [{ name: 'room shown', mutate: (o) => ({ ...o, response: { ...o.response, roomsJoined: [...o.response.roomsJoined, o.request.roomId] } }) }],
});

export const lazySyncIncludesRoom: Check<PartialSyncObservation> = defineCheck({
  id: 'partial/lazy-sync-includes-room',
  requirement: 'JS-09',
  title: 'a lazy-loading /sync includes the partial-state room',
  evaluate: (o): Evaluation => {
    if (!o.request.lazyLoadMembers) return { notApplicable: 'the sync was not lazy-loading members' };
    if (o.response.status === 200 && o.response.roomsJoined.includes(o.request.roomId)) return { ok: true };
    return { ok: false, reason: o.response.status !== 200 ? `/sync answered HTTP ${o.response.status}` : `${o.request.roomId} is not in rooms.join`, expected: 'the room in rooms.join', observed: o.response };
  },
  controls: [{ name: 'room left out', mutate: (o) => ({ ...o, response: { ...o.response, roomsJoined: o.response.roomsJoined.filter((r) => r !== o.request.roomId) } }) }],
});

// ---- JS-07, JS-15: federation requests while partial ------------------------------------------------

export const PARTIAL_STATE_ERRCODES = ['M_UNABLE_DUE_TO_PARTIAL_STATE', 'ORG.MATRIX.MSC3895_UNABLE_DUE_TO_PARTIAL_STATE'];

export interface PartialFederationAnswerObservation {
  request: {
    /** e.g. `GET /state_ids`, `POST /get_missing_events`. */
    route: string;
    /** Whether the request is about an event the candidate itself sent to the requester (MSC3895: it must answer). */
    aboutEventSentToRequester: boolean;
  };
  response: { status: number; errcode?: string; body?: unknown };
}

export const unauthorisableRequestRefusedWithCode: Check<PartialFederationAnswerObservation> = defineCheck({
  id: 'partial/unauthorisable-request-refused-with-code',
  requirement: 'JS-07',
  title: 'while partial, a federation request it cannot authorise is refused with M_UNABLE_DUE_TO_PARTIAL_STATE (stable or unstable), not answered',
  evaluate: (o): Evaluation => {
    if (o.request.aboutEventSentToRequester) return { notApplicable: 'the request is about an event the candidate sent to the requester (JS-15)' };
    if (o.response.status >= 400 && PARTIAL_STATE_ERRCODES.includes(o.response.errcode ?? '')) return { ok: true };
    return {
      ok: false,
      reason: o.response.status < 400 ? `${o.request.route} answered HTTP ${o.response.status} while partial` : `${o.request.route} refused with ${o.response.errcode ?? 'no errcode'}`,
      expected: `a 4xx/5xx with errcode ${PARTIAL_STATE_ERRCODES.join(' or ')}`,
      observed: o.response,
    };
  },
  controls: [
    { name: 'answered', mutate: (o) => ({ ...o, response: { status: 200, body: {} } }) },
    { name: 'refused with another code', mutate: (o) => ({ ...o, response: { status: 403, errcode: 'M_FORBIDDEN' } }) },
  ],
});

export const ownEventRequestsAnswered: Check<PartialFederationAnswerObservation> = defineCheck({
  id: 'partial/own-event-requests-answered',
  requirement: 'JS-15',
  title: 'while partial, /event_auth and /get_missing_events about an event the candidate sent to the requester are answered (never the partial-state error)',
  evaluate: (o): Evaluation => {
    if (!o.request.aboutEventSentToRequester) return { notApplicable: 'the request is not about an event the candidate sent to the requester' };
    const body = o.response.body as { auth_chain?: unknown; events?: unknown } | undefined;
    // An event's auth chain is never empty (at least the create event); missing events may be.
    const listed = Array.isArray(body?.auth_chain) ? (body!.auth_chain as unknown[]).length > 0 : Array.isArray(body?.events);
    if (o.response.status === 200 && listed) return { ok: true };
    return {
      ok: false,
      reason: o.response.status === 200 ? `${o.request.route} answered 200 without its list (or with an empty auth chain)` : `${o.request.route} answered HTTP ${o.response.status} ${o.response.errcode ?? ''}`.trim(),
      expected: 'HTTP 200 with auth_chain (or events)',
      observed: o.response,
    };
  },
  controls: [
    { name: 'refused with the partial-state code', mutate: (o) => ({ ...o, response: { status: 403, errcode: PARTIAL_STATE_ERRCODES[0] } }) },
    { name: 'an empty auth chain', mutate: (o) => ({ ...o, response: { status: 200, body: { auth_chain: [] } } }) },
  ],
});

// ---- Observed facts against expected facts: JS-02, JS-04, JS-08, JS-09, JS-12, JS-13, JS-17 ------------

/**
 * What a scenario expects of the candidate (worked out from what the remote knows: who is in the
 * room, which events are valid, which servers left) next to what the candidate did, one fact per
 * entry. The check fails on any fact whose observed value differs from the expected one.
 */
export interface PartialFactsObservation {
  request: { scenario: string };
  facts: Array<{ fact: string; expected: unknown; observed: unknown }>;
}

function factsCheck(id: string, requirementId: string, title: string): Check<PartialFactsObservation> {
  return defineCheck({
    id,
    requirement: requirementId,
    title,
    evaluate: (o): Evaluation => {
      if (o.facts.length === 0) return { notApplicable: 'the scenario observed no fact' };
      const wrong = o.facts.filter((f) => JSON.stringify(f.observed) !== JSON.stringify(f.expected));
      if (wrong.length === 0) return { ok: true };
      return {
        ok: false,
        reason: `${o.request.scenario}: ${wrong.map((f) => `${f.fact}: expected ${JSON.stringify(f.expected)}, observed ${JSON.stringify(f.observed)}`).join('; ')}`.slice(0, 900),
        expected: o.facts.map((f) => `${f.fact} = ${JSON.stringify(f.expected)}`).join('; '),
        observed: Object.fromEntries(o.facts.map((f) => [f.fact, f.observed])),
      };
    },
    controls: [
      {
        name: 'the first fact observed otherwise',
        mutate: (o) => ({ ...o, facts: o.facts.map((f, i) => (i === 0 ? { ...f, observed: typeof f.expected === 'boolean' ? !f.expected : { not: f.expected } } : f)) }),
      },
    ],
  });
}

export const deviceUpdatesReachServersInRoom = factsCheck('partial/device-updates-reach-servers-in-room', 'JS-02', 'during the resync, the candidate sends its device-list updates to every server of servers_in_room');
export const resyncReauthorisesEvents = factsCheck('partial/resync-reauthorises-events', 'JS-04', 'once the full state is known, events accepted or refused while partial are authorised again against it');
export const clientOperationsWorkWhilePartial = factsCheck('partial/client-operations-work-while-partial', 'JS-08', 'while partial, client operations that need no remote member work as in a full-state room');
export const lazySyncDeliversRoomUpdates = factsCheck('partial/lazy-sync-delivers-room-updates', 'JS-09', "while partial, a lazy-loading /sync delivers what arrives for the room: its events, with their senders' memberships (from auth_events when need be), and its EDUs");
export const adversarialJoinEndsSafe = factsCheck('partial/adversarial-join-ends-safe', 'JS-03', "given a malformed partial answer or resync, the joiner refuses the join with an errcode, or completes it and, once resynced, holds exactly the resident's state; its other rooms keep working");
export const stateNotServedFromPartialState = factsCheck('partial/state-not-served-from-partial-state', 'JS-07', 'while partial, /state_ids at an event is not answered from the partial state: it waits, or refuses');
export const eagerSyncShowsRoomOnceResynced = factsCheck('partial/eager-sync-shows-room-once-resynced', 'JS-10', 'once the resync completes, the room appears in eager syncs (a waiting long poll is woken with it)');
export const localDeviceChangesReachRoomServers = factsCheck('partial/local-device-changes-reach-room-servers', 'JS-12', 'local device-list changes of the resync reach, once it completes, every server in the room since the join; device-list tracking follows the resynced membership');
export const remoteDeviceUpdatesKept = factsCheck('partial/remote-device-updates-kept', 'JS-13', 'remote device-list updates received during the resync are kept and surfaced once it completes');
export const resyncResumesAfterRestart = factsCheck('partial/resync-resumes-after-restart', 'JS-17', 'a joiner restarted mid-resync resumes the resync and completes it');
export const resyncsIndependentPerRoom = factsCheck('partial/resyncs-independent-per-room', 'JS-08', "a resync held in one room holds nothing of another: once that room's own resync completes, its member list answers and eager syncs show it, while the held room's requests still wait");
export const partialAcceptanceRevisited = factsCheck('partial/partial-acceptance-revisited', 'JS-14', 'an event accepted while partial that the full state forbids (its sender is banned there) is rejected once the full state is known: clients are no longer served it');
export const restrictedJoinKeepsCountersignature = factsCheck('joining/restricted-join-keeps-countersignature', 'SJ-21', "a joiner let into a restricted room through join_authorised_via_users_server keeps the resident's countersignature: the join it serves over federation carries that server's signature");
export const partialStateEndsWithPurge = factsCheck('partial/partial-state-ends-with-purge', 'JS-14', "partial state is transient: a room purged by the server's admin during its resync is gone from the joiner's syncs, not left behind half-synced");
export const authorisedAgainstPartialAndAuthEvents = factsCheck('partial/authorised-against-partial-and-auth-events', 'JS-05', "while partial, an incoming event is authorised against the partial state resolved with its own auth events: a message from a member the partial state lacks, whose join is among its auth events, is accepted");
export const notSoftFailedWhilePartial = factsCheck('partial/not-soft-failed-while-partial', 'JS-06', 'while partial, incoming events are not soft-failed: an accepted message from a member the partial state lacks reaches clients');
export const serverAclAppliedToPdus = factsCheck('federation/server-acl-applied-to-pdus', 'SJ-26', "a PDU sent by a server the room's current server ACL denies is ignored: the transaction answer carries an error for it and clients are not served it");

export const partialStateChecks = {
  'partial-client-answer': [remoteMemberRequestsWait, localRequestsAnswerAtOnce] as ReadonlyArray<ClientAnswerCheck>,
  'partial-sync': [eagerSyncLeavesRoomOut, lazySyncIncludesRoom] as ReadonlyArray<Check<PartialSyncObservation>>,
  'partial-federation-answer': [unauthorisableRequestRefusedWithCode, ownEventRequestsAnswered] as ReadonlyArray<Check<PartialFederationAnswerObservation>>,
  'partial-facts': [
    deviceUpdatesReachServersInRoom,
    adversarialJoinEndsSafe,
    stateNotServedFromPartialState,
    resyncReauthorisesEvents,
    clientOperationsWorkWhilePartial,
    lazySyncDeliversRoomUpdates,
    eagerSyncShowsRoomOnceResynced,
    localDeviceChangesReachRoomServers,
    remoteDeviceUpdatesKept,
    resyncResumesAfterRestart,
    resyncsIndependentPerRoom,
    partialAcceptanceRevisited,
    serverAclAppliedToPdus,
    restrictedJoinKeepsCountersignature,
    partialStateEndsWithPurge,
    authorisedAgainstPartialAndAuthEvents,
    notSoftFailedWhilePartial,
  ] as ReadonlyArray<Check<PartialFactsObservation>>,
};

type Passing =
  | { name: string; kind: 'partial-client-answer'; observation: PartialClientAnswerObservation }
  | { name: string; kind: 'partial-sync'; observation: PartialSyncObservation }
  | { name: string; kind: 'partial-federation-answer'; observation: PartialFederationAnswerObservation }
  | { name: string; kind: 'partial-facts'; observation: PartialFactsObservation };

/** Passing observations for the negative-control self-test (one per situation the checks judge). */
export function partialStatePassingObservations(): Passing[] {
  return [
    { name: '/members waited for the resync', kind: 'partial-client-answer', observation: { request: { operation: 'GET /members', needsRemoteMembers: true, heldForMs: 1500 }, response: { answeredWhileHeld: false } } },
    { name: 'a message sent at once', kind: 'partial-client-answer', observation: { request: { operation: 'send a message', needsRemoteMembers: false, heldForMs: 5000 }, response: { answeredWhileHeld: true, status: 200 } } },
    { name: 'eager sync without the room', kind: 'partial-sync', observation: { request: { roomId: '!r:remote.invalid', lazyLoadMembers: false }, response: { status: 200, roomsJoined: ['!other:candidate.invalid'] }, truth: { resyncReleased: false } } },
    { name: 'lazy sync with the room', kind: 'partial-sync', observation: { request: { roomId: '!r:remote.invalid', lazyLoadMembers: true }, response: { status: 200, roomsJoined: ['!r:remote.invalid'] }, truth: { resyncReleased: false } } },
    { name: '/state_ids refused with the partial-state code', kind: 'partial-federation-answer', observation: { request: { route: 'GET /state_ids', aboutEventSentToRequester: false }, response: { status: 403, errcode: 'M_UNABLE_DUE_TO_PARTIAL_STATE' } } },
    { name: '/event_auth of its own join answered', kind: 'partial-federation-answer', observation: { request: { route: 'GET /event_auth', aboutEventSentToRequester: true }, response: { status: 200, body: { auth_chain: [{}] } } } },
    { name: 'device change delivered after the resync', kind: 'partial-facts', observation: { request: { scenario: 'device change during the resync' }, facts: [{ fact: 'bystander received the update', expected: true, observed: true }] } },
  ];
}
