/**
 * What a resident-side test observes around one `PUT /_matrix/federation/v2/send_join` call, and
 * read-only views over it shared by the send_join checks.
 *
 * The test (the suite playing the joining server) fills it in:
 * - `request`: what the suite sent, including the raw opt-in parameter value, so that checks know
 *   whether omitting members was allowed;
 * - `response`: the status and parsed JSON body exactly as received (never normalised: the checks
 *   judge the wire);
 * - `truth`: what the suite knows of the room independently of this response (it built the room,
 *   or read it through the candidate's client API). Checks that need it say "not applicable"
 *   without it, or fall back to what holds in every room (there is always a create event and at
 *   least one membership);
 * - `eventIdOf` / `verifyEvent`: protocol functions bound to the room version and the known keys
 *   (normally `eventId` / `verifyEvent` of harness/matrix). Injected so that checks stay pure and
 *   synchronous and recorded observations can be judged again.
 */
import type { Evaluation } from './types.ts';
import { eventRefIds, impliedCreateEventId, ROOM_VERSIONS, roomIdOfEvent } from '../matrix/index.ts';

/** An event as received over federation: any JSON object. Checks read its fields defensively. */
export type WirePdu = Record<string, unknown>;

/** One entry of the room's current state as the suite knows it. */
export interface StateEntry {
  type: string;
  state_key: string;
  /** The event ID, when known: then a returned event only counts if it is this very event. */
  event_id?: string;
  /** For m.room.member entries: `join`, `invite`, `leave`, `ban` or `knock`. */
  membership?: string;
}

export interface RoomTruth {
  /** The room's current state just before the join. Every m.room.member entry has `membership`. */
  currentState: StateEntry[];
  /**
   * The user IDs whose memberships a nameless room's partial answer should carry (the /sync
   * heroes, computed without the joining user). Absent when the test does not know them.
   */
  heroes?: string[];
}

export interface SendJoinObservation {
  request: {
    roomId: string;
    roomVersion: string;
    /** Server name of the candidate (the request's destination). */
    residentServer: string;
    /** Server name of the suite's joining remote (the request's origin). */
    joiningServer: string;
    /** The signed join event that was PUT. */
    joinEvent: WirePdu;
    /** Raw value sent for the opt-in query parameter; undefined when it was not sent. */
    omitMembers?: string;
    /**
     * True when the opt-in was sent under the MSC3706 unstable name
     * `org.matrix.msc3706.partial_state`; the answer is then read under the unstable names too.
     */
    unstablePrefix?: boolean;
    /**
     * Set when the join event was made invalid on purpose, naming the fault; the answer must then
     * be a refusal (SJ-01 to SJ-06).
     */
    invalidJoin?: InvalidJoinFault;
  };
  /** `status` 0: no answer came, the candidate closed the connection (the body then says what the request met). */
  response: { status: number; body: unknown };
  truth?: RoomTruth;
  eventIdOf(pdu: WirePdu): string;
  verifyEvent?(pdu: WirePdu): { ok: true } | { ok: false; reason: string };
}

/** Ways the suite breaks a join event on purpose, each tied to the requirement refusing it. */
export type InvalidJoinFault =
  /** SJ-02: the signature of the origin does not verify. */
  | 'bad-signature'
  /** SJ-03: the event type is not m.room.member. */
  | 'wrong-type'
  /** SJ-04: content.membership is not "join". */
  | 'not-join'
  /** SJ-05: the sender is not a user of the origin server. */
  | 'foreign-sender'
  /** SJ-06: state_key differs from sender. */
  | 'state-key-mismatch'
  /** SJ-01: the room does not exist on the resident. */
  | 'unknown-room'
  /** SJ-24: a well-formed join the room's join rules do not permit (an invite-only room, no invite). */
  | 'not-permitted'
  /** SJ-23: a restricted room whose allowed rooms the resident is not in: it cannot check the conditions. */
  | 'restricted-unverifiable'
  /** SJ-23: a restricted room whose allowed rooms (on the resident) the joining user is not in. */
  | 'restricted-not-allowed';

/** The parts of a 200 answer that checks reason about, read under the names the request used. */
export interface SendJoinView {
  body: Record<string, unknown>;
  state: WirePdu[];
  authChain: WirePdu[];
  /** Name of the members-omitted field in this answer (stable or unstable). */
  membersOmittedField: string;
  membersOmitted: unknown;
  serversInRoomField: string;
  serversInRoom: unknown;
  event: unknown;
}

export const UNSTABLE_PARTIAL_STATE = 'org.matrix.msc3706.partial_state';
export const UNSTABLE_SERVERS_IN_ROOM = 'org.matrix.msc3706.servers_in_room';

/** Whether the caller opted in to a reduced answer. */
export function optedIn(o: SendJoinObservation): boolean {
  return o.request.omitMembers === 'true';
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * The answer as a view, or why it cannot be read (then only the well-formedness check judges it,
 * so that one broken answer is reported once, under SJ-11).
 */
export function viewOf(o: SendJoinObservation): { view: SendJoinView } | { unusable: string } {
  const { status, body } = o.response;
  if (status !== 200) return { unusable: `the answer was HTTP ${status}, not 200 (see send-join/response-well-formed)` };
  if (!isObject(body)) return { unusable: 'the answer body is not a JSON object (see send-join/response-well-formed)' };
  const state = body.state;
  const authChain = body.auth_chain;
  if (!Array.isArray(state) || !state.every(isObject)) return { unusable: '"state" is not an array of objects (see send-join/response-well-formed)' };
  if (!Array.isArray(authChain) || !authChain.every(isObject)) return { unusable: '"auth_chain" is not an array of objects (see send-join/response-well-formed)' };
  const membersOmittedField = o.request.unstablePrefix ? UNSTABLE_PARTIAL_STATE : 'members_omitted';
  const serversInRoomField = o.request.unstablePrefix ? UNSTABLE_SERVERS_IN_ROOM : 'servers_in_room';
  return {
    view: {
      body,
      state,
      authChain,
      membersOmittedField,
      membersOmitted: body[membersOmittedField],
      serversInRoomField,
      serversInRoom: body[serversInRoomField],
      event: body.event,
    },
  };
}

/** Unambiguous map key of a (type, state_key) pair. */
export function keyOf(type: unknown, stateKey: unknown): string {
  return JSON.stringify([type, stateKey]);
}

/** Returned state indexed by (type, state_key); later duplicates are kept apart for SJ-11. */
export function stateIndex(o: SendJoinObservation, v: SendJoinView): Map<string, { pdu: WirePdu; id: string }> {
  const index = new Map<string, { pdu: WirePdu; id: string }>();
  for (const pdu of v.state) {
    const key = keyOf(pdu.type, pdu.state_key);
    if (!index.has(key)) index.set(key, { pdu, id: safeEventId(o, pdu) });
  }
  return index;
}

/**
 * The auth event IDs of a returned event under the observation's room version: its `auth_events`
 * (bare IDs, or the IDs of v1/v2 `[id, hashes]` pairs) and, in versions where every event cites
 * the create event implicitly (v12), the room's create event.
 */
export function authEventIdsOf(o: SendJoinObservation, pdu: WirePdu): string[] {
  const ids = eventRefIds(pdu.auth_events);
  const v = ROOM_VERSIONS[o.request.roomVersion];
  const create = v && pdu.type !== 'm.room.create' ? impliedCreateEventId(o.request.roomId, v) : undefined;
  return create && !ids.includes(create) ? [...ids, create] : ids;
}

/** The room a returned event belongs to, under the observation's room version (a v12 create event has no room_id). */
export function roomOf(o: SendJoinObservation, pdu: WirePdu): unknown {
  const v = ROOM_VERSIONS[o.request.roomVersion];
  return v ? roomIdOfEvent(pdu, v, (p) => o.eventIdOf(p)) : pdu.room_id;
}

/** The event ID, or a marker that cannot collide with a real one when the event is too broken. */
export function safeEventId(o: SendJoinObservation, pdu: WirePdu): string {
  try {
    return o.eventIdOf(pdu);
  } catch (e) {
    return `<no event ID: ${(e as Error).message}>`;
  }
}

/** Truth entries that the returned state lacks (absent, or present as a different event). */
export function missingFromState(
  o: SendJoinObservation,
  v: SendJoinView,
  entries: StateEntry[],
): Array<StateEntry & { returned?: string }> {
  const index = stateIndex(o, v);
  const missing: Array<StateEntry & { returned?: string }> = [];
  for (const entry of entries) {
    const found = index.get(keyOf(entry.type, entry.state_key));
    if (!found) missing.push(entry);
    else if (entry.event_id !== undefined && found.id !== entry.event_id) missing.push({ ...entry, returned: found.id });
  }
  return missing;
}

/**
 * Whether membership events were left out of `state`: exactly, from the truth; without truth
 * only when there is no membership at all (every room has at least its creator's).
 */
export function membersOmittedInFact(o: SendJoinObservation, v: SendJoinView): { omitted: boolean; which: string[]; exact: boolean } {
  if (o.truth) {
    const members = o.truth.currentState.filter((e) => e.type === 'm.room.member');
    const which = missingFromState(o, v, members).map((e) => e.state_key);
    return { omitted: which.length > 0, which, exact: true };
  }
  const none = !v.state.some((pdu) => pdu.type === 'm.room.member');
  return { omitted: none, which: [], exact: false };
}

/** The server name of a user ID (after the first colon), or undefined. */
export function serverOf(userId: unknown): string | undefined {
  if (typeof userId !== 'string') return undefined;
  const colon = userId.indexOf(':');
  return colon > 0 && colon < userId.length - 1 ? userId.slice(colon + 1) : undefined;
}

/** A copy of the observation whose body is a deep copy changed by `change` (for controls). */
export function withBody(o: SendJoinObservation, change: (body: Record<string, unknown>) => void): SendJoinObservation {
  const body = structuredClone(o.response.body) as Record<string, unknown>;
  change(body);
  return { ...o, response: { ...o.response, body } };
}

/** A copy of the observation with a deep copy of its truth changed by `change` (for controls). */
export function withTruth(o: SendJoinObservation, change: (truth: RoomTruth) => void): SendJoinObservation {
  if (!o.truth) throw new Error('this control needs an observation with truth');
  const truth = structuredClone(o.truth);
  change(truth);
  return { ...o, truth };
}

/** Runs `judge` on the readable answer, or says why the answer could not be read. */
export function onView(o: SendJoinObservation, judge: (v: SendJoinView) => Evaluation): Evaluation {
  const read = viewOf(o);
  return 'unusable' in read ? { notApplicable: read.unusable } : judge(read.view);
}

/** The body's array at `key`, read as PDUs (callers have checked the shape through `viewOf`). */
export const arr = (body: Record<string, unknown>, key: string) => body[key] as WirePdu[];
export const isMember = (pdu: WirePdu) => pdu.type === 'm.room.member';
export const describeEvent = (pdu: WirePdu) => `${String(pdu.type)}|${String(pdu.state_key)}`;
