/**
 * Events (PDUs): content hashes, redaction per room version, reference hashes and event IDs,
 * signing outgoing events and validating received ones (server-server API "Signing Events").
 */
import { hash, randomBytes } from 'node:crypto';
import { canonicalJson } from './canonical-json.ts';
import { decodeBase64, encodeBase64, encodeBase64Url } from './base64.ts';
import type { SigningKey } from './keys.ts';
import { checkSignaturesOver, type KeyLookup } from './signing.ts';
import { resolveRoomVersion, type RoomVersion } from './room-versions.ts';

/**
 * An event's PDU. `prev_events` and `auth_events` hold bare event IDs from room version 3 on; in
 * v1/v2 they hold `[event_id, {"sha256": ...}]` pairs (see `EventReference`): read them through
 * `eventRefIds`, which accepts both. In v12 the create event has no `room_id`.
 */
export type PDU = {
  room_id: string;
  sender: string;
  type: string;
  state_key?: string;
  content: Record<string, unknown>;
  origin_server_ts: number;
  depth: number;
  prev_events: string[];
  auth_events: string[];
  hashes?: { sha256: string };
  signatures?: Record<string, Record<string, string>>;
  unsigned?: Record<string, unknown>;
  redacts?: string;
  [k: string]: unknown;
};

function sha256(data: string | Uint8Array): Buffer {
  return hash('sha256', data, 'buffer');
}

/** `event` without the given top-level keys (a shallow copy). */
function without(event: object, keys: readonly string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(event)) if (!keys.includes(k)) out[k] = (event as Record<string, unknown>)[k];
  return out;
}

const NOT_HASHED = ['unsigned', 'signatures', 'hashes'] as const;
const NOT_SIGNED = ['unsigned', 'signatures'] as const;

/** Content hash ("Calculating the content hash"): unpadded Base64 of SHA-256 over the canonical
 * JSON of the event without `unsigned`, `signatures` and `hashes`. */
export function contentHash(event: object): string {
  return encodeBase64(sha256(canonicalJson(without(event, NOT_HASHED))));
}

// ---- Redaction ----------------------------------------------------------------------------------

/** Top-level keys kept by redaction in room versions 1-10. */
const TOP_LEVEL_V1 = [
  'event_id', 'type', 'room_id', 'sender', 'state_key', 'content', 'hashes', 'signatures', 'depth',
  'prev_events', 'prev_state', 'auth_events', 'origin', 'origin_server_ts', 'membership',
] as const;
/** v11 no longer protects the top-level `origin`, `membership` and `prev_state`. */
const TOP_LEVEL_V11 = TOP_LEVEL_V1.filter((k) => k !== 'origin' && k !== 'membership' && k !== 'prev_state');

const POWER_LEVELS_V1 = ['ban', 'events', 'events_default', 'kick', 'redact', 'state_default', 'users', 'users_default'];

/** Content keys kept per event type; `'*'` keeps the whole content. */
type ContentRules = Record<string, readonly string[] | '*'>;

const CONTENT_V1: ContentRules = {
  'm.room.member': ['membership'],
  'm.room.create': ['creator'],
  'm.room.join_rules': ['join_rule'],
  'm.room.power_levels': POWER_LEVELS_V1,
  'm.room.aliases': ['aliases'],
  'm.room.history_visibility': ['history_visibility'],
};
const { 'm.room.aliases': _aliases, ...CONTENT_V6 } = CONTENT_V1;
const CONTENT_V8: ContentRules = { ...CONTENT_V6, 'm.room.join_rules': ['join_rule', 'allow'] };
const CONTENT_V9: ContentRules = { ...CONTENT_V8, 'm.room.member': ['membership', 'join_authorised_via_users_server'] };
const CONTENT_V11: ContentRules = {
  ...CONTENT_V9,
  // plus `third_party_invite.signed`, handled in redactContent
  'm.room.create': '*',
  'm.room.power_levels': [...POWER_LEVELS_V1, 'invite'],
  'm.room.redaction': ['redacts'],
};

const REDACTION_RULES: Record<RoomVersion['redaction'], { topLevel: readonly string[]; content: ContentRules }> = {
  v1: { topLevel: TOP_LEVEL_V1, content: CONTENT_V1 },
  v6: { topLevel: TOP_LEVEL_V1, content: CONTENT_V6 },
  v8: { topLevel: TOP_LEVEL_V1, content: CONTENT_V8 },
  v9: { topLevel: TOP_LEVEL_V1, content: CONTENT_V9 },
  v11: { topLevel: TOP_LEVEL_V11, content: CONTENT_V11 },
};

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function redactContent(type: unknown, content: unknown, algorithm: RoomVersion['redaction']): Record<string, unknown> {
  if (!isObject(content)) return {};
  const kept = typeof type === 'string' && Object.hasOwn(REDACTION_RULES[algorithm].content, type)
    ? REDACTION_RULES[algorithm].content[type]
    : [];
  if (kept === '*') return content;
  const out: Record<string, unknown> = {};
  for (const k of kept) if (Object.hasOwn(content, k)) out[k] = content[k];
  if (algorithm === 'v11' && type === 'm.room.member') {
    const invite = content.third_party_invite;
    if (isObject(invite) && Object.hasOwn(invite, 'signed')) out.third_party_invite = { signed: invite.signed };
  }
  return out;
}

/**
 * The redacted copy of `event` under `version`'s redaction algorithm: a new object that shares
 * kept nested values with `event` (treat both as immutable). `content` is always present.
 */
export function redactEvent(event: PDU, version: RoomVersion | string): PDU {
  const algorithm = resolveRoomVersion(version).redaction;
  const out: Record<string, unknown> = {};
  const source = event as Record<string, unknown>;
  for (const k of REDACTION_RULES[algorithm].topLevel) {
    if (k !== 'content' && Object.hasOwn(source, k)) out[k] = source[k];
  }
  out.content = redactContent(source.type, source.content, algorithm);
  return out as PDU;
}

// ---- Reference hashes and event IDs -------------------------------------------------------------

/** Canonical JSON of the redacted event without `signatures`/`unsigned`: the bytes that the
 * origin's signature and the reference hash both cover. */
function redactedSignedJson(event: PDU, v: RoomVersion): string {
  return canonicalJson(without(redactEvent(event, v), NOT_SIGNED));
}

/** Reference hash ("Calculating the reference hash for an event"). */
export function referenceHash(event: PDU, version: RoomVersion | string): Uint8Array {
  return sha256(redactedSignedJson(event, resolveRoomVersion(version)));
}

function formatEventId(reference: Uint8Array, event: PDU, v: RoomVersion): string {
  switch (v.eventIdFormat) {
    case 'v4':
      return '$' + encodeBase64Url(reference);
    case 'v3':
      return '$' + encodeBase64(reference);
    case 'v1':
      if (typeof event.event_id !== 'string') {
        throw new Error(`room version ${v.id} events carry their own event_id, and this one has none`);
      }
      return event.event_id;
  }
}

/** The event ID: `$` + Base64 of the reference hash (URL-safe in v4+), or the carried `event_id` in v1/v2. */
export function eventId(event: PDU, version: RoomVersion | string): string {
  const v = resolveRoomVersion(version);
  if (v.eventIdFormat === 'v1') return formatEventId(new Uint8Array(0), event, v);
  return formatEventId(referenceHash(event, v), event, v);
}

/**
 * Room version 12+: the room ID is `!` + URL-safe unpadded Base64 of the create event's reference
 * hash (the create event itself has no `room_id`).
 */
export function roomIdFromCreateEvent(create: PDU, version: RoomVersion | string): string {
  const v = resolveRoomVersion(version);
  if (!v.roomIdFromCreateEvent) throw new Error(`room version ${v.id} does not derive room IDs from the create event`);
  if (create.type !== 'm.room.create') throw new Error(`roomIdFromCreateEvent: expected an m.room.create event, got ${JSON.stringify(create.type)}`);
  return '!' + encodeBase64Url(referenceHash(create, v));
}

// ---- References between events (prev_events, auth_events) --------------------------------------

/** One entry of `prev_events` / `auth_events`: a bare ID (v3+) or an `[id, hashes]` pair (v1, v2). */
export type EventReference = string | [string, { sha256: string }];

/**
 * The event IDs of a `prev_events` or `auth_events` list in either form (bare IDs, or v1/v2
 * `[id, hashes]` pairs); anything that is neither is left out, so a malformed list reads short.
 */
export function eventRefIds(refs: unknown): string[] {
  if (!Array.isArray(refs)) return [];
  const ids: string[] = [];
  for (const r of refs) {
    if (typeof r === 'string') ids.push(r);
    else if (Array.isArray(r) && typeof r[0] === 'string') ids.push(r[0]);
  }
  return ids;
}

/**
 * How an event referencing `referenced` (whose ID is `id`) names it under `version`: the bare ID,
 * or in v1/v2 the pair of the ID and the referenced event's reference hash (standard Base64).
 */
export function eventReference(id: string, referenced: PDU | undefined, version: RoomVersion | string): EventReference {
  const v = resolveRoomVersion(version);
  if (!v.eventReferencesWithHashes) return id;
  if (!referenced) throw new Error(`room version ${v.id} references carry the referenced event's hash, and ${id} is not known`);
  return [id, { sha256: encodeBase64(referenceHash(referenced, v)) }];
}

/**
 * The ID of the create event every event of `roomId` implicitly cites, in versions whose events do
 * not list it in `auth_events` and whose room ID is the create event's reference hash (v12): `$`
 * + the room ID's hash. Undefined where the create event is listed explicitly.
 */
export function impliedCreateEventId(roomId: string, version: RoomVersion | string): string | undefined {
  const v = resolveRoomVersion(version);
  if (v.createInAuthEvents || !v.roomIdFromCreateEvent || typeof roomId !== 'string' || !roomId.startsWith('!')) return undefined;
  return `$${roomId.slice(1)}`;
}

/**
 * The room an event belongs to: its `room_id`, or for a create event in versions whose room ID is
 * derived from it (v12, no `room_id`), `!` + the hash part of its event ID (computed by `eventIdOf`).
 */
export function roomIdOfEvent(pdu: Record<string, unknown>, version: RoomVersion | string, eventIdOf: (pdu: Record<string, unknown>) => string): unknown {
  const v = resolveRoomVersion(version);
  if (v.roomIdFromCreateEvent && pdu.type === 'm.room.create' && !Object.hasOwn(pdu, 'room_id')) {
    try {
      return `!${eventIdOf(pdu).slice(1)}`;
    } catch {
      return undefined;
    }
  }
  return pdu.room_id;
}

/** A fresh event ID for room versions whose events carry their own (`$opaque:server`, v1 and v2). */
export function opaqueEventId(serverName: string): string {
  return `$${randomBytes(12).toString('base64url')}:${serverName}`;
}

/**
 * A make_join / make_leave / make_knock template made ready for the joining server to sign:
 * without the resident's `hashes` and `signatures`, with a fresh `origin_server_ts`, and in v1/v2
 * with a fresh event ID on the signing server (the event's creator names it there).
 */
export function templateForSigning(template: PDU, serverName: string, version: RoomVersion | string, now: number = Date.now()): PDU {
  const { hashes: _h, signatures: _s, ...draft } = template;
  const ready = { ...draft, origin_server_ts: now } as PDU;
  if (resolveRoomVersion(version).eventIdFormat === 'v1') ready.event_id = opaqueEventId(serverName);
  return ready;
}

// ---- Signing ------------------------------------------------------------------------------------

/**
 * Hash, redact and sign an outgoing event ("Adding hashes and signatures to outgoing events").
 * Any `hashes` in the input are recomputed; existing `signatures` are kept and the new one merged
 * in; `unsigned` is kept but covered by neither hash nor signature. Two canonicalisations in all:
 * the full event for the content hash, and the redacted event, whose bytes are both signed and
 * hashed into the event ID.
 */
export function signEvent(
  unsigned: Omit<PDU, 'hashes' | 'signatures'>,
  serverName: string,
  key: SigningKey,
  version: RoomVersion | string,
): { event: PDU; eventId: string } {
  const v = resolveRoomVersion(version);
  const hashed = without(unsigned, NOT_HASHED);
  hashed.hashes = { sha256: encodeBase64(sha256(canonicalJson(hashed))) };
  const signedBytes = Buffer.from(canonicalJson(redactEvent(hashed as PDU, v)), 'utf8');
  const signature = encodeBase64(key.sign(signedBytes));
  const existing = (unsigned as PDU).signatures ?? {};
  const event = hashed as PDU;
  event.signatures = { ...existing, [serverName]: { ...(existing[serverName] ?? {}), [key.keyId]: signature } };
  if ((unsigned as PDU).unsigned !== undefined) event.unsigned = (unsigned as PDU).unsigned;
  return { event, eventId: formatEventId(sha256(signedBytes), event, v) };
}

/**
 * Add `serverName`'s signature to an already hashed and signed event without changing anything
 * else (e.g. a resident server signing a restricted join it authorised). Returns a new event.
 */
export function cosignEvent(event: PDU, serverName: string, key: SigningKey, version: RoomVersion | string): PDU {
  if (!event.hashes) throw new Error('cosignEvent: the event has no hashes; sign it with signEvent first');
  const signature = encodeBase64(key.sign(Buffer.from(redactedSignedJson(event, resolveRoomVersion(version)), 'utf8')));
  const existing = event.signatures ?? {};
  return { ...event, signatures: { ...existing, [serverName]: { ...(existing[serverName] ?? {}), [key.keyId]: signature } } };
}

// ---- Validation ---------------------------------------------------------------------------------

/** The server name part of a user ID, event ID (v1/v2) or room ID: everything after the first colon. */
export function serverNameOf(id: string): string {
  const colon = typeof id === 'string' ? id.indexOf(':') : -1;
  if (colon < 0 || colon === id.length - 1) throw new Error(`${JSON.stringify(id)} has no server name`);
  return id.slice(colon + 1);
}

export interface EventVerification {
  /** Signatures and content hash both valid. */
  ok: boolean;
  /** Every required server's signature over the redacted event verified. */
  signaturesOk: boolean;
  /** The content hash in `hashes.sha256` matches the event as received. */
  hashOk: boolean;
  /** The copy to use: the event as received, or its redacted copy when the hash check failed. */
  effective: PDU;
  /** The event ID computed for the received event ('' if it cannot be computed). */
  eventId: string;
  errors: string[];
}

/**
 * "Validating hashes and signatures on received events". Signatures are checked on the redacted
 * copy, from: the sender's server (not required for third-party invites, whose sending server may
 * differ); in v1/v2 the event ID's server; for a join with `join_authorised_via_users_server` in a
 * version with restricted joins, that user's server; and `opts.requiredServers`. Unknown keys are
 * skipped; a required server with no known key fails. Then the content hash is compared; when it
 * differs, `effective` is the redacted copy (the spec's "use the redacted copy").
 */
export function verifyEvent(
  event: PDU,
  version: RoomVersion | string,
  lookup: KeyLookup,
  opts: { requiredServers?: string[] } = {},
): EventVerification {
  const v = resolveRoomVersion(version);
  const errors: string[] = [];
  const redacted = redactEvent(event, v);
  let signedJson: string | undefined;
  try {
    signedJson = canonicalJson(without(redacted, NOT_SIGNED));
  } catch (e) {
    errors.push(`the redacted event is not canonical JSON: ${(e as Error).message}`);
  }

  const required = new Set<string>();
  const isThirdPartyInvite = event.type === 'm.room.member' && isObject(event.content)
    && event.content.membership === 'invite' && event.content.third_party_invite !== undefined;
  const addServerOf = (what: string, id: unknown) => {
    try {
      required.add(serverNameOf(id as string));
    } catch (e) {
      errors.push(`${what}: ${(e as Error).message}`);
    }
  };
  if (!isThirdPartyInvite) addServerOf('sender', event.sender);
  if (v.eventIdFormat === 'v1') addServerOf('event_id', event.event_id);
  if (v.restrictedJoins && event.type === 'm.room.member' && isObject(event.content)
      && event.content.membership === 'join' && event.content.join_authorised_via_users_server !== undefined) {
    addServerOf('join_authorised_via_users_server', event.content.join_authorised_via_users_server);
  }
  for (const server of opts.requiredServers ?? []) required.add(server);

  let signaturesOk = signedJson !== undefined && errors.length === 0;
  if (signedJson !== undefined) {
    const bytes = Buffer.from(signedJson, 'utf8');
    for (const server of required) {
      const check = checkSignaturesOver(bytes, event.signatures, server, lookup);
      if (!check.ok) {
        signaturesOk = false;
        errors.push(`signature check failed for ${server}: ${check.reason}`);
      }
    }
    if (isThirdPartyInvite && required.size === 0) {
      // The sending server may be any server: every signature by a known key must verify, and at
      // least one must exist.
      let verified = 0;
      for (const server of isObject(event.signatures) ? Object.keys(event.signatures) : []) {
        const check = checkSignaturesOver(bytes, event.signatures, server, lookup);
        if (check.ok) verified++;
        else if (!check.onlyUnknownKeys) {
          signaturesOk = false;
          errors.push(`signature check failed for ${server}: ${check.reason}`);
        }
      }
      if (verified === 0 && signaturesOk) {
        signaturesOk = false;
        errors.push('third-party invite: no signature by a known key');
      }
    }
  }

  let hashOk = false;
  const claimed = event.hashes?.sha256;
  if (typeof claimed !== 'string') {
    errors.push('no hashes.sha256 on the event');
  } else {
    try {
      const expected = sha256(canonicalJson(without(event, NOT_HASHED)));
      hashOk = expected.equals(decodeBase64(claimed));
      if (!hashOk) errors.push(`content hash mismatch: hashes.sha256 is ${claimed}, computed ${encodeBase64(expected)}`);
    } catch (e) {
      errors.push(`content hash cannot be checked: ${(e as Error).message}`);
    }
  }

  let id = '';
  try {
    id = v.eventIdFormat === 'v1' ? formatEventId(new Uint8Array(0), event, v) : signedJson !== undefined ? formatEventId(sha256(signedJson), event, v) : '';
  } catch (e) {
    errors.push((e as Error).message);
  }
  return { ok: signaturesOk && hashOk, signaturesOk, hashOk, effective: hashOk ? event : redacted, eventId: id, errors };
}
