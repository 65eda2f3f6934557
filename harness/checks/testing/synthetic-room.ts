/**
 * A small hand-made room and the observations a conformant resident would produce for it, for the
 * checks' self-tests. Two ways to hash, sign and name events:
 * - `STAND_IN_CRYPTO`: SHA-256 over sorted JSON, no redaction, no Ed25519 — independent of
 *   harness/matrix, so a fault there cannot hide a fault in the checks;
 * - `matrixCrypto(roomVersion)`: the real algorithms of harness/matrix with fixed keys, so the
 *   checks are also exercised on real event IDs and signatures.
 *
 * The room: @alice (creator), @bob on resident.test; @carol on other.test; @erin on gone.test,
 * who joined, set the topic and left. Power levels, join rules, history visibility; optionally a name.
 * The suite's joiner is @zed:joiner.test.
 */
import { createHash } from 'node:crypto';
import { cosignEvent, eventRefIds, roomVersion, signEvent, signingKeyFromSeed, type PDU, type SigningKey } from '../../matrix/index.ts';
import { matrixFunctions, type PublishedKeys } from '../matrix-binding.ts';
import type { MakeJoinObservation } from '../make-join.ts';
import type { InvalidJoinFault, RoomTruth, SendJoinObservation, StateEntry, WirePdu } from '../send-join-observation.ts';
import type { StateObservation } from '../state.ts';
import type { ObservationKind } from '../registry.ts';

export const RESIDENT = 'resident.test';
export const JOINER = 'joiner.test';
export const JOINING_USER = '@zed:joiner.test';
const KEY_ID = 'ed25519:syn';

function stable(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(stable).join(',')}]`;
  if (value && typeof value === 'object') {
    return `{${Object.keys(value).sort().map((k) => `${JSON.stringify(k)}:${stable((value as Record<string, unknown>)[k])}`).join(',')}}`;
  }
  return JSON.stringify(value);
}
const sha = (s: string) => createHash('sha256').update(s).digest();
const omit = (pdu: WirePdu, keys: string[]) => Object.fromEntries(Object.entries(pdu).filter(([k]) => !keys.includes(k)));

export function syntheticEventId(pdu: WirePdu): string {
  // v1/v2 events carry their ID.
  if (typeof pdu.event_id === 'string') return pdu.event_id;
  return '$' + sha(stable(omit(pdu, ['signatures', 'unsigned']))).toString('base64url');
}
function contentHash(pdu: WirePdu): string {
  return sha(stable(omit(pdu, ['hashes', 'signatures', 'unsigned']))).toString('base64').replace(/=+$/, '');
}
function signatureBy(server: string, pdu: WirePdu): string {
  return sha(`${server}|${stable(omit(pdu, ['signatures', 'unsigned']))}`).toString('base64').replace(/=+$/, '');
}
const serverOf = (userId: string) => userId.slice(userId.indexOf(':') + 1);

/** Adds `server`'s stand-in signature to a copy of `pdu`. */
function syntheticSign(pdu: WirePdu, server: string): WirePdu {
  const signatures = structuredClone((pdu.signatures ?? {}) as Record<string, Record<string, string>>);
  signatures[server] = { [KEY_ID]: signatureBy(server, pdu) };
  return { ...pdu, signatures };
}

/** Verifies the stand-in hash and the signatures of the sender's server and of an authorising server. */
export function syntheticVerify(pdu: WirePdu): { ok: true } | { ok: false; reason: string } {
  const hashes = pdu.hashes as Record<string, unknown> | undefined;
  if (hashes?.sha256 !== contentHash(pdu)) return { ok: false, reason: 'content hash mismatch' };
  const servers = [serverOf(String(pdu.sender))];
  const via = (pdu.content as Record<string, unknown> | undefined)?.join_authorised_via_users_server;
  if (typeof via === 'string') servers.push(serverOf(via));
  const signatures = (pdu.signatures ?? {}) as Record<string, Record<string, string>>;
  for (const server of servers) {
    if (signatures[server]?.[KEY_ID] !== signatureBy(server, pdu)) return { ok: false, reason: `no valid signature of ${server}` };
  }
  return { ok: true };
}

/** How events of the synthetic room are hashed, signed, named and verified. */
export interface EventCrypto {
  name: string;
  /** Hashes and signs a new event as `server`. */
  sign(unsigned: WirePdu, server: string): WirePdu;
  /** Adds `server`'s signature to an already signed event. */
  cosign(pdu: WirePdu, server: string): WirePdu;
  eventId(pdu: WirePdu): string;
  verify(pdu: WirePdu): { ok: true } | { ok: false; reason: string };
  /** Public keys, for fixtures judged again with harness/matrix. */
  keys?: PublishedKeys;
}

export const STAND_IN_CRYPTO: EventCrypto = {
  name: 'stand-in',
  sign: (unsigned, server) => syntheticSign({ ...unsigned, hashes: { sha256: contentHash(unsigned) } }, server),
  cosign: syntheticSign,
  eventId: syntheticEventId,
  verify: syntheticVerify,
};

/** Real hashing and Ed25519 signing (harness/matrix), each server's key derived from its name. */
export function matrixCrypto(roomVersion: string): EventCrypto {
  const keyOf = new Map<string, SigningKey>();
  const key = (server: string) => {
    let k = keyOf.get(server);
    if (!k) keyOf.set(server, (k = signingKeyFromSeed(createHash('sha256').update(`lazyjoin synthetic ${server}`).digest(), 'ed25519:fixed')));
    return k;
  };
  const servers = [RESIDENT, JOINER, 'other.test', 'gone.test'];
  const keys: PublishedKeys = Object.fromEntries(servers.map((s) => [s, { [key(s).keyId]: key(s).publicKeyBase64 }]));
  const bound = matrixFunctions(roomVersion, keys);
  return {
    name: 'harness/matrix',
    sign: (unsigned, server) => signEvent(unsigned as Omit<PDU, 'hashes' | 'signatures'>, server, key(server), roomVersion).event,
    cosign: (pdu, server) => cosignEvent(pdu as PDU, server, key(server), roomVersion),
    eventId: bound.eventIdOf,
    verify: bound.verifyEvent!,
    keys,
  };
}

/** Room versions the synthetic room is built in: v1 (events carry their ID, references are pairs), v10, v11, v12. */
export type SyntheticVersion = '1' | '10' | '11' | '12';

export interface SyntheticRoom {
  roomVersion: SyntheticVersion;
  crypto: EventCrypto;
  roomId: string;
  /** Every event by ID. */
  events: Map<string, WirePdu>;
  /** Current state: JSON [type, state_key] -> event ID. */
  state: Map<string, string>;
  /** Users by join order, with their current membership. */
  members: Map<string, string>;
  lastEventId: string;
  depth: number;
}

const key = (type: string, stateKey: string) => JSON.stringify([type, stateKey]);

function add(room: SyntheticRoom, type: string, sender: string, content: Record<string, unknown>, stateKey?: string): WirePdu {
  const v = roomVersion(room.roomVersion);
  const auth: string[] = [];
  const pick = (t: string, sk: string) => { const id = room.state.get(key(t, sk)); if (id && !auth.includes(id)) auth.push(id); };
  if (type !== 'm.room.create') {
    if (v.createInAuthEvents) pick('m.room.create', '');
    pick('m.room.power_levels', '');
    pick('m.room.member', sender);
    if (type === 'm.room.member') {
      pick('m.room.member', stateKey!);
      if (['join', 'invite', 'knock'].includes(String(content.membership))) pick('m.room.join_rules', '');
      if (typeof content.join_authorised_via_users_server === 'string') pick('m.room.member', content.join_authorised_via_users_server);
    }
  }
  const unsigned: WirePdu = {
    // v12: the create event has no room_id; the room's ID is derived from it.
    ...(v.roomIdFromCreateEvent && type === 'm.room.create' ? {} : { room_id: room.roomId }),
    sender,
    type,
    ...(stateKey !== undefined ? { state_key: stateKey } : {}),
    content,
    origin_server_ts: 1_700_000_000_000 + room.depth,
    depth: room.depth + 1,
    prev_events: refs(room, room.lastEventId ? [room.lastEventId] : []),
    auth_events: refs(room, auth),
    // v1/v2: the creating server names the event.
    ...(v.eventReferencesWithHashes ? { event_id: `$e${room.depth + 1}-${type.replace(/\W/g, '')}-${room.events.size}:${serverOf(sender)}` } : {}),
  };
  return room.crypto.sign(unsigned, serverOf(sender));
}

/** References as the room version writes them: IDs, or v1/v2 [id, {sha256}] pairs (a stand-in hash of the referenced event). */
function refs(room: SyntheticRoom, ids: string[]): unknown[] {
  if (!roomVersion(room.roomVersion).eventReferencesWithHashes) return ids;
  return ids.map((id) => [id, { sha256: sha(stable(omit(room.events.get(id)!, ['signatures', 'unsigned']))).toString('base64').replace(/=+$/, '') }]);
}

function commit(room: SyntheticRoom, pdu: WirePdu): string {
  const id = room.crypto.eventId(pdu);
  room.events.set(id, pdu);
  if (typeof pdu.state_key === 'string') room.state.set(key(String(pdu.type), pdu.state_key), id);
  if (pdu.type === 'm.room.member') room.members.set(String(pdu.state_key), String((pdu.content as Record<string, unknown>).membership));
  room.lastEventId = id;
  room.depth += 1;
  return id;
}

export interface RoomOptions {
  roomVersion?: SyntheticVersion;
  /** Default: STAND_IN_CRYPTO. */
  crypto?: EventCrypto;
  /** Give the room an m.room.name (then no heroes are needed). */
  named?: boolean;
  /** Give the room name and alias events at a non-empty state key only (it stays nameless). */
  decoyName?: boolean;
  joinRule?: 'public' | 'restricted';
}

export function buildRoom(options: RoomOptions = {}): SyntheticRoom {
  const roomVersionId = options.roomVersion ?? '10';
  const v = roomVersion(roomVersionId);
  const room: SyntheticRoom = { roomVersion: roomVersionId, crypto: options.crypto ?? STAND_IN_CRYPTO, roomId: `!synthetic${roomVersionId}:${RESIDENT}`, events: new Map(), state: new Map(), members: new Map(), lastEventId: '', depth: 0 };
  const alice = `@alice:${RESIDENT}`;
  const put = (type: string, sender: string, content: Record<string, unknown>, stateKey?: string) => commit(room, add(room, type, sender, content, stateKey));
  const createId = put('m.room.create', alice, { room_version: roomVersionId, ...(v.createHasCreator ? { creator: alice } : {}) }, '');
  if (v.roomIdFromCreateEvent) room.roomId = `!${createId.slice(1)}`;
  put('m.room.member', alice, { membership: 'join' }, alice);
  // From v12 the creator's power is infinite and not listed.
  put('m.room.power_levels', alice, { users: v.privilegedCreators ? {} : { [alice]: 100 }, events: { 'm.room.topic': 0 }, users_default: 0, events_default: 0, state_default: 50, ban: 50, kick: 50, redact: 50, invite: 0 }, '');
  const joinRule = options.joinRule ?? 'public';
  put('m.room.join_rules', alice, joinRule === 'restricted' ? { join_rule: 'restricted', allow: [{ type: 'm.room_membership', room_id: `!space:${RESIDENT}` }] } : { join_rule: 'public' }, '');
  put('m.room.history_visibility', alice, { history_visibility: 'shared' }, '');
  for (const user of [`@bob:${RESIDENT}`, '@carol:other.test', '@erin:gone.test']) put('m.room.member', user, { membership: 'join' }, user);
  // Erin sets the topic, then leaves: her join stays in the auth chain of the current state
  // although her membership in the current state is a leave.
  put('m.room.topic', '@erin:gone.test', { topic: 'a synthetic room' }, '');
  put('m.room.member', '@erin:gone.test', { membership: 'leave' }, '@erin:gone.test');
  if (options.named) put('m.room.name', alice, { name: 'Synthetic' }, '');
  if (options.decoyName) {
    put('m.room.name', alice, { name: 'not the room name' }, 'decoy');
    put('m.room.canonical_alias', alice, {}, 'decoy');
  }
  return room;
}

/** The joiner's signed join event for `room` (not committed to it). */
export function joinEventFor(room: SyntheticRoom, authorisedVia?: string): WirePdu {
  return add(room, 'm.room.member', JOINING_USER, { membership: 'join', ...(authorisedVia ? { join_authorised_via_users_server: authorisedVia } : {}) }, JOINING_USER);
}

export function truthOf(room: SyntheticRoom, heroesKnown = true): RoomTruth {
  const currentState: StateEntry[] = [...room.state].map(([k, id]) => {
    const [type, state_key] = JSON.parse(k) as [string, string];
    const pdu = room.events.get(id)!;
    return { type, state_key, event_id: id, ...(type === 'm.room.member' ? { membership: String((pdu.content as Record<string, unknown>).membership) } : {}) };
  });
  // Heroes: the first five joined or invited members other than the joining user, in join order.
  const heroes = [...room.members].filter(([u, m]) => u !== JOINING_USER && (m === 'join' || m === 'invite')).map(([u]) => u).slice(0, 5);
  return heroesKnown ? { currentState, heroes } : { currentState };
}

/** Auth chain (transitive auth_events) of the given events, as event IDs in a stable order. */
function authClosure(room: SyntheticRoom, roots: WirePdu[]): string[] {
  const out = new Set<string>();
  const stack = roots.flatMap((r) => eventRefIds(r.auth_events));
  while (stack.length) {
    const id = stack.pop()!;
    if (out.has(id)) continue;
    out.add(id);
    stack.push(...eventRefIds(room.events.get(id)!.auth_events));
  }
  return [...room.events.keys()].filter((id) => out.has(id));
}

export interface SendJoinOptions {
  /** Send omit_members=true and answer partially, as a conformant resident would. */
  partial?: boolean;
  /** Use the MSC3706 unstable names on both sides. */
  unstable?: boolean;
  /** Send this raw omit_members value (answered 400 M_INVALID_PARAM). */
  invalidOmitMembers?: string;
  /** Join via join_authorised_via_users_server = @alice (room should be restricted). */
  authorisedVia?: string;
}

/** A send_join exchange a conformant resident would produce for `room`. */
export function sendJoinObservation(room: SyntheticRoom, options: SendJoinOptions = {}): SendJoinObservation {
  const joinEvent = joinEventFor(room, options.authorisedVia);
  const truth = truthOf(room);
  const request: SendJoinObservation['request'] = {
    roomId: room.roomId,
    roomVersion: room.roomVersion,
    residentServer: RESIDENT,
    joiningServer: JOINER,
    joinEvent,
    ...(options.invalidOmitMembers !== undefined ? { omitMembers: options.invalidOmitMembers } : options.partial ? { omitMembers: 'true' } : {}),
    ...(options.unstable ? { unstablePrefix: true } : {}),
  };
  const common = { request, truth, eventIdOf: room.crypto.eventId, verifyEvent: room.crypto.verify };
  if (options.invalidOmitMembers !== undefined) {
    return { ...common, response: { status: 400, body: { errcode: 'M_INVALID_PARAM', error: 'omit_members must be true or false' } } };
  }
  const named = [...room.state.keys()].some((k) => k === key('m.room.name', '') || k === key('m.room.canonical_alias', ''));
  const heroes = new Set(named ? [] : truth.heroes);
  const stateIds = [...room.state].filter(([k]) => {
    if (!options.partial) return true;
    const [type, stateKey] = JSON.parse(k) as [string, string];
    return type !== 'm.room.member' || heroes.has(stateKey);
  }).map(([, id]) => id);
  const state = stateIds.map((id) => room.events.get(id)!);
  const chainIds = authClosure(room, [...state, joinEvent]).filter((id) => !(options.partial && stateIds.includes(id)));
  const body: Record<string, unknown> = { state, auth_chain: chainIds.map((id) => room.events.get(id)!) };
  if (options.partial) {
    const joinedServers = [...new Set([...room.members].filter(([, m]) => m === 'join').map(([u]) => serverOf(u)))];
    body[options.unstable ? 'org.matrix.msc3706.partial_state' : 'members_omitted'] = true;
    body[options.unstable ? 'org.matrix.msc3706.servers_in_room' : 'servers_in_room'] = joinedServers;
  }
  if (options.authorisedVia) body.event = room.crypto.cosign(joinEvent, serverOf(options.authorisedVia));
  return { ...common, response: { status: 200, body: structuredClone(body) } };
}

/** A send_join of a join event broken by `fault`, refused as the spec recommends. */
export function invalidJoinObservation(room: SyntheticRoom, fault: InvalidJoinFault): SendJoinObservation {
  const joinEvent = joinEventFor(room);
  const request: SendJoinObservation['request'] = { roomId: room.roomId, roomVersion: room.roomVersion, residentServer: RESIDENT, joiningServer: JOINER, joinEvent, omitMembers: 'true', invalidJoin: fault };
  const refusals: Partial<Record<InvalidJoinFault, [number, string]>> = {
    'unknown-room': [404, 'M_NOT_FOUND'],
    'not-permitted': [403, 'M_FORBIDDEN'],
    'restricted-not-allowed': [403, 'M_FORBIDDEN'],
    'restricted-unverifiable': [400, 'M_UNABLE_TO_AUTHORISE_JOIN'],
  };
  const [status, errcode] = refusals[fault] ?? [400, 'M_INVALID_PARAM'];
  const body = { errcode, error: `refused: ${fault}` };
  return { request, response: { status, body }, truth: truthOf(room), eventIdOf: room.crypto.eventId, verifyEvent: room.crypto.verify };
}

/** make_join refused as it must be: a room version not offered, or an unknown room. */
export function refusedMakeJoinObservation(room: SyntheticRoom, why: 'incompatible-version' | 'unknown-room' | 'not-permitted'): MakeJoinObservation {
  if (why === 'not-permitted') {
    return { request: { roomId: room.roomId, userId: JOINING_USER, supportedVersions: ['10', '11', '12'], notPermitted: true }, response: { status: 403, body: { errcode: 'M_FORBIDDEN', error: 'not invited' } } };
  }
  if (why === 'unknown-room') {
    return { request: { roomId: `!unknown:${RESIDENT}`, userId: JOINING_USER, supportedVersions: ['10', '11', '12'], unknownRoom: true }, response: { status: 404, body: { errcode: 'M_NOT_FOUND', error: 'unknown room' } } };
  }
  return {
    request: { roomId: room.roomId, userId: JOINING_USER, supportedVersions: ['1', '2'], roomVersion: room.roomVersion },
    response: { status: 400, body: { errcode: 'M_INCOMPATIBLE_ROOM_VERSION', error: 'not offered', room_version: room.roomVersion } },
  };
}

export function makeJoinObservation(room: SyntheticRoom): MakeJoinObservation {
  const { signatures: _s, hashes: _h, ...template } = joinEventFor(room);
  return {
    request: { roomId: room.roomId, userId: JOINING_USER, supportedVersions: ['10', '11', '12'] },
    response: { status: 200, body: { room_version: room.roomVersion, event: { ...template, origin: RESIDENT } } },
  };
}

/** /state or /state_ids at the joiner's would-be join (its prev event is the room's last event). */
export function stateObservation(room: SyntheticRoom, endpoint: 'state' | 'state_ids'): StateObservation {
  const pdus = [...room.state.values()].map((id) => room.events.get(id)!);
  const chain = authClosure(room, pdus);
  const request = { endpoint, roomId: room.roomId, eventId: room.lastEventId, roomVersion: room.roomVersion };
  const body = endpoint === 'state'
    ? { pdus, auth_chain: chain.map((id) => room.events.get(id)!) }
    : { pdu_ids: [...room.state.values()], auth_chain_ids: chain };
  const truth = [...room.state].map(([k, id]) => { const [type, state_key] = JSON.parse(k) as [string, string]; return { type, state_key, event_id: id }; });
  return { request, response: { status: 200, body: structuredClone(body) }, truth, eventIdOf: room.crypto.eventId };
}

/** The named passing observations the controls self-test runs every check over. */
export function passingObservations(crypto?: (roomVersion: string) => EventCrypto): Array<{ name: string; kind: ObservationKind; observation: unknown }> {
  const room = (options: RoomOptions) => buildRoom({ ...options, crypto: crypto?.(options.roomVersion ?? '10') });
  const v10 = room({ roomVersion: '10' });
  const v11Named = room({ roomVersion: '11', named: true });
  const restricted = room({ roomVersion: '10', joinRule: 'restricted' });
  const v1 = room({ roomVersion: '1' });
  const v12 = room({ roomVersion: '12' });
  const v10Decoy = room({ roomVersion: '10', decoyName: true });
  const v12Named = room({ roomVersion: '12', named: true });
  const v12Restricted = room({ roomVersion: '12', joinRule: 'restricted' });
  return [
    { name: 'v10 full send_join', kind: 'send-join', observation: sendJoinObservation(v10) },
    { name: 'v10 partial send_join, nameless room (heroes)', kind: 'send-join', observation: sendJoinObservation(v10, { partial: true }) },
    { name: 'v10 partial send_join, name and alias at another state key (heroes)', kind: 'send-join', observation: sendJoinObservation(v10Decoy, { partial: true }) },
    { name: 'v11 partial send_join, named room', kind: 'send-join', observation: sendJoinObservation(v11Named, { partial: true }) },
    { name: 'v11 full send_join, named room', kind: 'send-join', observation: sendJoinObservation(v11Named) },
    { name: 'v10 partial send_join, unstable names', kind: 'send-join', observation: sendJoinObservation(v10, { partial: true, unstable: true }) },
    { name: 'v10 send_join with omit_members=yes', kind: 'send-join', observation: sendJoinObservation(v10, { invalidOmitMembers: 'yes' }) },
    { name: 'v10 restricted join authorised via @alice', kind: 'send-join', observation: sendJoinObservation(restricted, { authorisedVia: `@alice:${RESIDENT}` }) },
    ...(['bad-signature', 'wrong-type', 'not-join', 'foreign-sender', 'state-key-mismatch', 'unknown-room', 'not-permitted', 'restricted-unverifiable', 'restricted-not-allowed'] as const).map((fault) => (
      { name: `v10 send_join of an invalid join (${fault})`, kind: 'send-join' as const, observation: invalidJoinObservation(v10, fault) })),
    { name: 'v10 make_join', kind: 'make-join', observation: makeJoinObservation(v10) },
    { name: 'v10 make_join offering other versions', kind: 'make-join', observation: refusedMakeJoinObservation(v10, 'incompatible-version') },
    { name: 'make_join for an unknown room', kind: 'make-join', observation: refusedMakeJoinObservation(v10, 'unknown-room') },
    { name: 'make_join of a user who may not join', kind: 'make-join', observation: refusedMakeJoinObservation(v10, 'not-permitted') },
    { name: 'v11 make_join', kind: 'make-join', observation: makeJoinObservation(v11Named) },
    { name: 'v1 full send_join', kind: 'send-join', observation: sendJoinObservation(v1) },
    { name: 'v1 partial send_join, nameless room (heroes)', kind: 'send-join', observation: sendJoinObservation(v1, { partial: true }) },
    { name: 'v12 full send_join', kind: 'send-join', observation: sendJoinObservation(v12) },
    { name: 'v12 partial send_join, nameless room (heroes)', kind: 'send-join', observation: sendJoinObservation(v12, { partial: true }) },
    { name: 'v12 partial send_join, named room', kind: 'send-join', observation: sendJoinObservation(v12Named, { partial: true }) },
    { name: 'v12 restricted join authorised via @alice', kind: 'send-join', observation: sendJoinObservation(v12Restricted, { authorisedVia: `@alice:${RESIDENT}` }) },
    ...(['bad-signature', 'foreign-sender', 'unknown-room'] as const).map((fault) => (
      { name: `v12 send_join of an invalid join (${fault})`, kind: 'send-join' as const, observation: invalidJoinObservation(v12, fault) })),
    { name: 'v12 make_join', kind: 'make-join', observation: makeJoinObservation(v12) },
    { name: 'v12 /state', kind: 'state', observation: stateObservation(v12, 'state') },
    { name: 'v12 /state_ids', kind: 'state', observation: stateObservation(v12Named, 'state_ids') },
    { name: 'v10 /state', kind: 'state', observation: stateObservation(v10, 'state') },
    { name: 'v11 /state_ids', kind: 'state', observation: stateObservation(v11Named, 'state_ids') },
  ];
}
