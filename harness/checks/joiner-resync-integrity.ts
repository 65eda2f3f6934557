/**
 * Checks over what a JOINING candidate does around a partial-state join and its resync: its
 * federation answers about the room (state at an event, transactions), what it serves to clients
 * (rejected events), who it sends device-list updates to, and whether bad resident input ends up
 * in its room state. Only MUST and SHOULD requirements get checks here; MSC-only behaviour of the
 * joiner is recorded with `recordInformational` by the tests.
 */
import { defineCheck } from './define.ts';
import type { Check, Evaluation } from './types.ts';

// ------------------------------------------------------------------------------------------------
// State at an event, asked of the joiner by the resident after the resync

/** The candidate's answer to `GET /state_ids?event_id=` for an event of a room it joined. */
export interface JoinerStateAtEventObservation {
  /** Whether the candidate was still resyncing when asked. */
  phase: 'partial' | 'complete';
  eventId: string;
  /** The answer, or null when none came within `waitedMs`. */
  response: { status: number; body: unknown } | null;
  waitedMs: number;
  /** The resident's state before the event, as event IDs (the ground truth). */
  truth: string[];
}

const sorted = (ids: Iterable<string>) => [...ids].sort();

export const stateIdsAfterResyncIsFullState: Check<JoinerStateAtEventObservation> = defineCheck({
  id: 'joiner/state-ids-after-resync-is-full-state',
  requirement: 'ST-01',
  title: 'once resynced, /state_ids at an event answers exactly the resolved state before that event',
  evaluate: (o): Evaluation => {
    if (o.phase !== 'complete') return { notApplicable: 'asked while the candidate was still resyncing' };
    const expected = `HTTP 200 with pdu_ids equal (as a set) to the ${o.truth.length} state events before ${o.eventId}`;
    if (!o.response) return { ok: false, reason: `no answer within ${o.waitedMs} ms`, expected, observed: null };
    if (o.response.status !== 200) return { ok: false, reason: `answered HTTP ${o.response.status}`, expected, observed: o.response };
    const ids = (o.response.body as { pdu_ids?: unknown } | null)?.pdu_ids;
    if (!Array.isArray(ids)) return { ok: false, reason: 'the answer has no pdu_ids array', expected, observed: o.response.body };
    const got = new Set(ids as string[]);
    const truth = new Set(o.truth);
    const missing = sorted(o.truth.filter((id) => !got.has(id)));
    const extra = sorted([...got].filter((id) => !truth.has(id)));
    if (missing.length === 0 && extra.length === 0) return { ok: true };
    return { ok: false, reason: `${missing.length} state events missing and ${extra.length} unexpected${extra.includes(o.eventId) ? ` (the event asked about, ${o.eventId}, is among the unexpected: its own state change was applied)` : ''}`, expected, observed: { eventId: o.eventId, missing, extra } };
  },
  controls: [
    { name: 'a member event left out', mutate: (o) => ({ ...o, response: { status: 200, body: { pdu_ids: o.truth.slice(1), auth_chain_ids: [] } } }) },
    { name: 'an event that is not state added', mutate: (o) => ({ ...o, response: { status: 200, body: { pdu_ids: [...o.truth, '$not-state'], auth_chain_ids: [] } } }) },
    { name: 'answered 403', mutate: (o) => ({ ...o, response: { status: 403, body: { errcode: 'M_FORBIDDEN' } } }) },
    { name: 'no answer', mutate: (o) => ({ ...o, response: null }) },
  ],
});

export const stateIdsWhilePartialIsFullState: Check<JoinerStateAtEventObservation> = defineCheck({
  id: 'joiner/state-ids-while-partial-is-full-state',
  requirement: 'ST-01',
  title: 'a /state_ids answer given while the candidate is still resyncing is, like any other, exactly the resolved state before the event',
  evaluate: (o): Evaluation => {
    if (o.phase !== 'partial') return { notApplicable: 'asked once the candidate had resynced (judged by joiner/state-ids-after-resync-is-full-state)' };
    if (!o.response) return { notApplicable: `no answer within ${o.waitedMs} ms (waiting is the partial-state profile's matter)` };
    if (o.response.status !== 200) return { notApplicable: `answered HTTP ${o.response.status}, not a state (refusing is the partial-state profile's matter)` };
    return stateIdsAfterResyncIsFullState.evaluate({ ...o, phase: 'complete' });
  },
  controls: [
    { name: 'answered from the partial state: a member event left out', mutate: (o) => ({ ...o, response: { status: 200, body: { pdu_ids: o.truth.slice(1), auth_chain_ids: [] } } }) },
  ],
});

// ------------------------------------------------------------------------------------------------
// Transactions pushed to the joiner while it resyncs

/** A `/send` transaction the resident pushed to the candidate, and its answer. */
export interface JoinerTransactionObservation {
  /** IDs of the PDUs the transaction carried. */
  pduIds: string[];
  eduTypes: string[];
  /** The answer, or null when none came within `waitedMs`. */
  response: { status: number; body: unknown } | null;
  waitedMs: number;
  /** When no answer came because the candidate closed the connection: what the request met. */
  closed?: string;
}

export const transactionAnsweredDuringResync: Check<JoinerTransactionObservation> = defineCheck({
  id: 'joiner/transaction-answered-during-resync',
  requirement: 'ST-09',
  title: 'a transaction pushed to the candidate (a joiner during its resync, or a resident) is answered 200 with a result for each of its PDUs',
  evaluate: (o): Evaluation => {
    const expected = `HTTP 200 within ${o.waitedMs} ms, with "pdus" holding an entry for each of ${JSON.stringify(o.pduIds)}`;
    if (!o.response && o.closed) return { ok: false, reason: `no answer: the candidate closed the connection without answering (${o.closed}; its log may say why)`, expected, observed: { closed: o.closed } };
    if (!o.response) return { ok: false, reason: `no answer within ${o.waitedMs} ms (the transaction is blocked)`, expected, observed: { response: null, waitedMs: o.waitedMs } };
    if (o.response.status !== 200) return { ok: false, reason: `answered HTTP ${o.response.status}`, expected, observed: o.response };
    const pdus = (o.response.body as { pdus?: unknown } | null)?.pdus;
    if (typeof pdus !== 'object' || pdus === null || Array.isArray(pdus)) return { ok: false, reason: 'the answer has no "pdus" object', expected, observed: o.response.body };
    const missing = o.pduIds.filter((id) => !(id in pdus));
    if (missing.length) return { ok: false, reason: `no result for ${missing.join(', ')}`, expected, observed: o.response.body };
    return { ok: true };
  },
  controls: [
    { name: 'blocked', mutate: (o) => ({ ...o, response: null }) },
    { name: 'the connection closed without an answer', mutate: (o) => ({ ...o, response: null, closed: 'PUT /send failed: other side closed' }) },
    { name: 'answered 500', mutate: (o) => ({ ...o, response: { status: 500, body: { errcode: 'M_UNKNOWN' } } }) },
    { name: 'no result for a PDU', mutate: (o) => ({ ...o, pduIds: [...o.pduIds, '$never-answered'] }) },
    { name: 'no pdus object', mutate: (o) => ({ ...o, response: { status: 200, body: {} } }) },
  ],
});

// ------------------------------------------------------------------------------------------------
// Events the joiner must not serve to its clients

/** Whether the candidate serves an event to a client (`GET /rooms/{roomId}/event/{eventId}`). */
export interface JoinerEventFateObservation {
  phase: 'partial' | 'complete';
  eventId: string;
  /**
   * Why the event must be rejected given what the candidate knows in this phase (it fails the
   * auth rules against its own auth events; or, once resynced, against the full state before
   * it), or null when accepting it is allowed (a stale-auth event while partial, MSC3902).
   */
  mustBeRejected: string | null;
  answer: { status: number; errcode?: string };
}

export const rejectedEventNotServed: Check<JoinerEventFateObservation> = defineCheck({
  id: 'joiner/rejected-event-not-served',
  requirement: 'SG-10',
  title: 'an event the candidate must reject (failing the auth rules on its own auth events, or on the full state once known) is not served to clients',
  evaluate: (o): Evaluation => {
    if (o.mustBeRejected === null) return { notApplicable: 'accepting the event is allowed in this phase' };
    if (o.answer.status === 200) {
      return { ok: false, reason: `the ${o.phase === 'partial' ? 'resyncing' : 'resynced'} candidate serves ${o.eventId}, which ${o.mustBeRejected}`, expected: 'an error (404 M_NOT_FOUND) for the rejected event', observed: o.answer };
    }
    return { ok: true };
  },
  controls: [{ name: 'served', mutate: (o) => ({ ...o, answer: { status: 200 } }) }],
});

// ------------------------------------------------------------------------------------------------
// Outgoing device-list updates

/** Which servers received one `m.device_list_update` of a local user of the candidate. */
export interface DeviceListDeliveryObservation {
  phase: 'partial' | 'complete';
  userId: string;
  /** Servers that share the room with the user (ground truth) and whether each received the update. */
  roomServers: Array<{ server: string; received: boolean }>;
}

export const deviceListUpdateReachesRoomServers: Check<DeviceListDeliveryObservation> = defineCheck({
  id: 'joiner/device-list-update-reaches-room-servers',
  requirement: 'JS-16',
  title: 'once resynced, a local device-list change is sent to every server sharing the room',
  evaluate: (o): Evaluation => {
    if (o.phase !== 'complete') return { notApplicable: 'during the resync the candidate cannot know the room servers (MSC-only JS-02 applies)' };
    const missed = o.roomServers.filter((s) => !s.received).map((s) => s.server);
    if (missed.length === 0) return { ok: true };
    return {
      ok: false,
      reason: `${missed.length} of ${o.roomServers.length} servers in the room got no m.device_list_update for ${o.userId}`,
      expected: `an m.device_list_update for ${o.userId} at each of ${o.roomServers.map((s) => s.server).join(', ')}`,
      observed: { missed },
    };
  },
  controls: [{ name: 'one server missed', mutate: (o) => ({ ...o, roomServers: o.roomServers.map((s, i) => (i === 0 ? { ...s, received: false } : s)) }) }],
});

// ------------------------------------------------------------------------------------------------
// Outgoing to-device messages

/** Which servers received the `m.direct_to_device` EDUs carrying a client's to-device messages. */
export interface ToDeviceDeliveryObservation {
  /** The message type the client sent. */
  type: string;
  /** How long the remote's servers were watched for the EDUs. */
  waitedMs: number;
  /** One entry per addressed device: the user's own server, and the servers an EDU carrying this device's message reached. */
  targets: Array<{ userId: string; deviceId: string; server: string; receivedBy: string[] }>;
}

export const toDeviceReachesTargetServers: Check<ToDeviceDeliveryObservation> = defineCheck({
  id: 'federation/to-device-reaches-target-servers',
  requirement: 'TD-01',
  title: "a client's to-device message to a remote device is sent to that device's server in an m.direct_to_device EDU",
  evaluate: (o): Evaluation => {
    const missed = o.targets.filter((t) => !t.receivedBy.includes(t.server));
    if (missed.length === 0) return { ok: true };
    return {
      ok: false,
      reason: `${missed.length} of ${o.targets.length} to-device messages (${o.type}) did not reach their device's server within ${o.waitedMs} ms: ${missed.slice(0, 4).map((t) => `${t.userId}/${t.deviceId} (at ${t.server}; reached ${t.receivedBy.join(', ') || 'no server'})`).join('; ')}`,
      expected: `an m.direct_to_device EDU carrying each message at the addressed user's server: ${o.targets.map((t) => `${t.userId} -> ${t.server}`).join(', ')}`,
      observed: { missed },
    };
  },
  controls: [
    { name: 'one message never sent', mutate: (o) => ({ ...o, targets: o.targets.map((t, i) => (i === 0 ? { ...t, receivedBy: [] } : t)) }) },
    { name: 'one message sent to another server', mutate: (o) => ({ ...o, targets: o.targets.map((t, i) => (i === 0 ? { ...t, receivedBy: ['elsewhere.invalid'] } : t)) }) },
  ],
});

// ------------------------------------------------------------------------------------------------
// Bad resident input must not end up in the joiner's room state

/** The candidate's room state as its client sees it after a join with bad resident input. */
export interface JoinerRoomIntegrityObservation {
  /** The answer to the client's `/join`. */
  join: { status: number; errcode?: string };
  /** `GET /rooms/{roomId}/state` (event IDs by `type|state_key`), or null when not joined. */
  stateAfter: Record<string, string> | null;
  /** Events that must never be in the state, each with why (bad signature, invented, ...). */
  forbidden: Array<{ eventId: string; why: string }>;
  /** Events whose content failed the hash check and whose unredacted content a client was served. */
  tamperedContentServed?: Array<{ eventId: string; why: string }>;
}

export const noInvalidEventInState: Check<JoinerRoomIntegrityObservation> = defineCheck({
  id: 'joiner/no-invalid-event-in-state',
  requirement: 'JS-01',
  title: 'events that fail signature or authorisation checks never become room state, and content failing its hash check is never served unredacted',
  evaluate: (o): Evaluation => {
    const tampered = o.tamperedContentServed ?? [];
    if (tampered.length) {
      return {
        ok: false,
        reason: `a client is served the unredacted content of ${tampered.map((t) => `${t.eventId} (${t.why})`).join('; ')}`,
        expected: 'an event failing its content hash check is redacted before use',
        observed: { join: o.join, tampered },
      };
    }
    if (o.forbidden.length === 0 && o.tamperedContentServed === undefined) return { notApplicable: 'the scenario planted no invalid event and probed no tampered content' };
    if (o.stateAfter === null) {
      // Only a refused join has no state to judge; a joined room whose state could not be read is not a pass.
      if (o.join.status >= 400) return { ok: true };
      return { notApplicable: 'the room state of the joined room could not be read' };
    }
    const inState = new Set(Object.values(o.stateAfter));
    const adopted = o.forbidden.filter((f) => inState.has(f.eventId));
    if (adopted.length === 0) return { ok: true };
    return {
      ok: false,
      reason: `the room state holds ${adopted.map((a) => `${a.eventId} (${a.why})`).join('; ')}`,
      expected: 'the join refused, or a room state without the invalid events',
      observed: { join: o.join, adopted },
    };
  },
  controls: [
    {
      name: 'a forbidden event in state',
      mutate: (o) => ({ ...o, stateAfter: { ...(o.stateAfter ?? {}), 'm.room.power_levels|': o.forbidden[0]?.eventId ?? '$forged' }, forbidden: o.forbidden.length ? o.forbidden : [{ eventId: '$forged', why: 'forged' }] }),
    },
    { name: 'tampered content served', mutate: (o) => ({ ...o, tamperedContentServed: [{ eventId: '$topic', why: 'content hash mismatch' }] }) },
  ],
});

export const joinerResyncIntegrityChecks = {
  'joiner-state-at-event': [stateIdsAfterResyncIsFullState, stateIdsWhilePartialIsFullState],
  'joiner-transaction': [transactionAnsweredDuringResync],
  'joiner-event-fate': [rejectedEventNotServed],
  'joiner-device-list-delivery': [deviceListUpdateReachesRoomServers],
  'to-device-delivery': [toDeviceReachesTargetServers],
  'joiner-room-integrity': [noInvalidEventInState],
} as const;
