/**
 * What differs between room versions, as data. Sources: the room version specifications
 * (`/rooms/v1` .. `/rooms/v12`) and their feature matrix; each field names the versions that have it.
 */

export interface RoomVersion {
  id: string;
  /**
   * Event ID format: `v1` = `$opaque:domain` carried in the event (v1, v2); `v3` = `$` + standard
   * unpadded Base64 of the reference hash (v3); `v4` = URL-safe unpadded Base64 (v4+).
   */
  eventIdFormat: 'v1' | 'v3' | 'v4';
  /**
   * Redaction algorithm, named after the version that introduced it: `v1` (v1-v5), `v6` (drops
   * `m.room.aliases`; v6, v7), `v8` (keeps join rules' `allow`), `v9` (keeps membership's
   * `join_authorised_via_users_server`; v9, v10), `v11` (drops top-level `origin`, `membership`,
   * `prev_state`; keeps all create content, power levels' `invite`, redaction's `redacts`,
   * `third_party_invite.signed`; v11, v12).
   */
  redaction: 'v1' | 'v6' | 'v8' | 'v9' | 'v11';
  /** The `knock` membership and join rule (v7+). */
  knocking: boolean;
  /** The `restricted` join rule and `join_authorised_via_users_server` (v8+). */
  restrictedJoins: boolean;
  /** The `knock_restricted` join rule (v10+). */
  knockRestricted: boolean;
  /** Power levels must be integers, never strings (v10+). */
  integerPowerLevels: boolean;
  /** Strict canonical JSON enforced on events: no floats, integers within ±(2^53-1) (v6+). */
  strictCanonicalJson: boolean;
  /** Keys' `valid_until_ts` is enforced against events' `origin_server_ts` (v5+). */
  enforceKeyValidity: boolean;
  /** `m.room.create` content carries `creator` (v1-v10); v11 dropped it and uses the `sender`. */
  createHasCreator: boolean;
  /** `m.room.redaction` carries `redacts` in `content` rather than at the top level (v11+). */
  redactsInContent: boolean;
  /** The `m.room.create` event is part of every other event's `auth_events` (v1-v11; not v12). */
  createInAuthEvents: boolean;
  /** The room ID is derived from the create event's reference hash, which has no `room_id` (v12). */
  roomIdFromCreateEvent: boolean;
  /**
   * Events carry their own `event_id` (`$opaque:origin`, made by the server that creates the event)
   * and reference other events in `prev_events` / `auth_events` as `[event_id, {"sha256": <reference
   * hash>}]` pairs rather than bare IDs (v1, v2).
   */
  eventReferencesWithHashes: boolean;
  /**
   * The room's creators (the create event's sender and `content.additional_creators`) have
   * infinite power and are never listed in the power levels' `users` (v12).
   */
  privilegedCreators: boolean;
  /**
   * State resolution algorithm: `v1` (v1); `v2` (v2-v11); `v2.1` (v12: the first iterative auth
   * checks start from an empty state, and the conflicted state subgraph joins the full conflicted set).
   */
  stateResolution: 'v1' | 'v2' | 'v2.1';
  /** Whether `m.room.aliases` is authorised by its own rule (state key = the sender's server; v1-v5). */
  aliasesAuthRule: boolean;
  /** Whether the leave-after-ban and power-level checks read `notifications` levels too (v6+). */
  notificationsPowerLevels: boolean;
}

function version(id: string, n: number): RoomVersion {
  return {
    id,
    eventIdFormat: n <= 2 ? 'v1' : n === 3 ? 'v3' : 'v4',
    redaction: n <= 5 ? 'v1' : n <= 7 ? 'v6' : n === 8 ? 'v8' : n <= 10 ? 'v9' : 'v11',
    knocking: n >= 7,
    restrictedJoins: n >= 8,
    knockRestricted: n >= 10,
    integerPowerLevels: n >= 10,
    strictCanonicalJson: n >= 6,
    enforceKeyValidity: n >= 5,
    createHasCreator: n <= 10,
    redactsInContent: n >= 11,
    createInAuthEvents: n <= 11,
    roomIdFromCreateEvent: n >= 12,
    eventReferencesWithHashes: n <= 2,
    privilegedCreators: n >= 12,
    stateResolution: n === 1 ? 'v1' : n <= 11 ? 'v2' : 'v2.1',
    aliasesAuthRule: n <= 5,
    notificationsPowerLevels: n >= 6,
  };
}

export const ROOM_VERSIONS: Record<string, RoomVersion> = Object.freeze(
  Object.fromEntries(
    [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12].map((n) => [String(n), Object.freeze(version(String(n), n))]),
  ),
);

/** The room version with this ID; throws naming the known ones for anything else. */
export function roomVersion(id: string): RoomVersion {
  const found = Object.hasOwn(ROOM_VERSIONS, id) ? ROOM_VERSIONS[id] : undefined;
  if (!found) {
    throw new Error(`unknown room version ${JSON.stringify(id)} (known: ${Object.keys(ROOM_VERSIONS).join(', ')})`);
  }
  return found;
}

/** The stable room versions, oldest first. */
export const STABLE_ROOM_VERSIONS: readonly string[] = Object.freeze(Object.keys(ROOM_VERSIONS));

/** Accept a RoomVersion or its ID wherever a version is needed. */
export function resolveRoomVersion(v: RoomVersion | string): RoomVersion {
  return typeof v === 'string' ? roomVersion(v) : v;
}
