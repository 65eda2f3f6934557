/**
 * The remote as a joining server: make_join, sign, send_join, keep a replica of the room from the
 * response, and resync the full state later through state_ids and state.
 */
import { signEvent, stateKey as stateMapKey, templateForSigning, type PDU, type StateMap } from '../matrix/index.ts';
import type { FederationResponse, SendJoinMode, SendJoinResponseBody } from './client.ts';
import { trimmedJson } from './log.ts';
import type { Remote } from './remote.ts';
import { Room } from './room.ts';

export interface JoinOptions {
  /** How to ask for state (default `partial`: `omit_members=true`). */
  mode?: SendJoinMode;
  /** Room versions offered to make_join (default: 10, 11, 12). */
  versions?: string[];
  /** Check signatures and hashes of every returned event (default true). */
  verify?: boolean;
}

export interface InvalidEvent {
  eventId: string;
  errors: string[];
}

export interface JoinResult {
  /** The replica, registered in `remote.rooms`. */
  room: Room;
  joinEventId: string;
  makeJoin: FederationResponse<{ room_version?: string; event: PDU }>;
  sendJoin: FederationResponse<SendJoinResponseBody>;
  /** Returned events whose signatures or hashes failed (empty when all verified or `verify` was false). */
  invalidEvents: InvalidEvent[];
}

export interface ResyncResult {
  stateIds: FederationResponse<{ pdu_ids: string[]; auth_chain_ids: string[] }>;
  /** The `/state` response, when events were missing after state_ids. */
  state?: FederationResponse<{ pdus: PDU[]; auth_chain: PDU[] }>;
  /** Events fetched one by one with `/event` because `/state` lacked them. */
  fetchedSingly: string[];
  invalidEvents: InvalidEvent[];
}

function fail(what: string, res: FederationResponse): never {
  throw new Error(`${what} answered ${res.status}: ${trimmedJson(res.body ?? res.raw, 400)}`);
}

/** The make_join template checks a joining server MUST make (server-server API, make_join). */
function checkTemplate(template: PDU | undefined, roomId: string, userId: string): string | undefined {
  if (typeof template !== 'object' || template === null) return 'no event template';
  if (template.room_id !== roomId) return `room_id ${JSON.stringify(template.room_id)} is not ${roomId}`;
  if (template.sender !== userId || template.state_key !== userId) return `sender/state_key are not ${userId}`;
  if (template.type !== 'm.room.member') return `type ${JSON.stringify(template.type)} is not m.room.member`;
  if (template.content?.membership !== 'join') return `membership ${JSON.stringify(template.content?.membership)} is not join`;
  return undefined;
}

async function verifyAll(remote: Remote, room: Room, events: PDU[]): Promise<InvalidEvent[]> {
  const checks = await Promise.all(events.map((e) => remote.verifyPdu(e, room)));
  return checks.filter((c) => !c.ok).map((c) => ({ eventId: c.eventId, errors: c.errors }));
}

function stateMapOf(room: Room, ids: string[]): StateMap {
  const state: StateMap = new Map();
  for (const id of ids) {
    const pdu = room.mustEvent(id);
    if (typeof pdu.state_key !== 'string') throw new Error(`state event ${id} has no state_key`);
    state.set(stateMapKey(pdu.type, pdu.state_key), id);
  }
  return state;
}

export async function joinRoom(remote: Remote, resident: string, roomId: string, userId: string, opts: JoinOptions = {}): Promise<JoinResult> {
  const makeJoin = await remote.client.makeJoin(resident, roomId, userId, opts.versions);
  if (makeJoin.status !== 200) fail(`make_join of ${userId} to ${roomId} on ${resident}`, makeJoin);
  const template = makeJoin.body?.event;
  const problem = checkTemplate(template, roomId, userId);
  if (problem) throw new Error(`make_join template from ${resident} is malformed: ${problem}`);
  const version = makeJoin.body?.room_version ?? '1';
  const { event, eventId } = signEvent(templateForSigning(template!, remote.serverName, version), remote.serverName, remote.key, version);

  const sendJoin = await remote.client.sendJoin(resident, roomId, eventId, event, opts.mode ?? 'partial');
  if (sendJoin.status !== 200 || !sendJoin.body) fail(`send_join of ${userId} to ${roomId} on ${resident}`, sendJoin);
  const body = sendJoin.body!;
  if (!Array.isArray(body.state) || !Array.isArray(body.auth_chain)) {
    throw new Error(`send_join response from ${resident} lacks state or auth_chain arrays: ${trimmedJson(body, 300)}`);
  }

  const room = Room.replica(roomId, version, remote.signerFor);
  for (const e of body.auth_chain) room.importEvent(e, { outlier: true });
  const stateIds = body.state.map((e) => room.importEvent(e, { outlier: true }));
  const joinEvent = body.event ?? event;
  const joinEventId = room.importEvent(joinEvent);
  if (joinEventId !== eventId) throw new Error(`send_join returned a join event with ID ${joinEventId}, not ${eventId}`);
  room.setStateBefore(joinEventId, stateMapOf(room, stateIds));
  remote.rooms.set(roomId, room);
  const invalidEvents = opts.verify === false ? [] : await verifyAll(remote, room, [...body.auth_chain, ...body.state, joinEvent]);
  return { room, joinEventId, makeJoin, sendJoin, invalidEvents };
}

export async function resyncState(remote: Remote, resident: string, roomId: string, joinEventId: string): Promise<ResyncResult> {
  const room = remote.rooms.get(roomId);
  if (!room) throw new Error(`${remote.serverName} holds no replica of ${roomId} to resync`);
  const stateIds = await remote.client.stateIds(resident, roomId, joinEventId);
  if (stateIds.status !== 200 || !stateIds.body) fail(`state_ids of ${roomId} at ${joinEventId} on ${resident}`, stateIds);
  const { pdu_ids: pduIds, auth_chain_ids: authIds } = stateIds.body!;
  if (!Array.isArray(pduIds) || !Array.isArray(authIds)) throw new Error(`state_ids response from ${resident} lacks pdu_ids or auth_chain_ids`);

  const received: PDU[] = [];
  let state: ResyncResult['state'];
  if ([...pduIds, ...authIds].some((id) => !room.has(id))) {
    state = await remote.client.state(resident, roomId, joinEventId);
    if (state.status !== 200 || !state.body) fail(`state of ${roomId} at ${joinEventId} on ${resident}`, state);
    for (const e of [...state.body!.auth_chain, ...state.body!.pdus]) {
      room.importEvent(e, { outlier: true });
      received.push(e);
    }
  }
  const fetchedSingly: string[] = [];
  for (const id of [...pduIds, ...authIds]) {
    if (room.has(id)) continue;
    const res = await remote.client.event(resident, id);
    const pdu = res.body?.pdus?.[0];
    if (res.status !== 200 || !pdu) fail(`event ${id} of ${roomId} on ${resident}`, res);
    if (room.importEvent(pdu!, { outlier: true }) !== id) throw new Error(`/event/${id} on ${resident} returned a different event`);
    received.push(pdu!);
    fetchedSingly.push(id);
  }
  room.setStateBefore(joinEventId, stateMapOf(room, pduIds));
  return { stateIds, state, fetchedSingly, invalidEvents: await verifyAll(remote, room, received) };
}
