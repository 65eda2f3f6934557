/**
 * The authorization rules (server-server API "Authorization rules", per room version) for the
 * events state resolution handles: create, membership (join, invite, leave, kick, ban, knock),
 * power levels, join rules and any other state event. Third-party invites are refused as
 * unsupported. What differs between room versions is read from the room-version table.
 *
 * `authorize` judges one event against an auth state: a lookup of (type, state_key) to the event
 * the rules are to read, built by the caller (the state before the event, or in the iterative auth
 * checks of state resolution, the partially resolved state with the event's own auth events filling
 * the gaps). It is pure and never throws on malformed content: that is a refusal with its reason.
 */
import { eventRefIds, type PDU } from './events.ts';
import { resolveRoomVersion, type RoomVersion } from './room-versions.ts';

/** The event for (type, state_key) in the auth state, with its ID, if any. */
export type AuthLookup = (type: string, stateKey: string) => { id: string; event: PDU } | undefined;

export type AuthDecision = { ok: true } | { ok: false; reason: string };

const allow: AuthDecision = { ok: true };
const refuse = (reason: string): AuthDecision => ({ ok: false, reason });

function serverOf(id: string): string {
  const colon = id.indexOf(':');
  return colon < 0 ? '' : id.slice(colon + 1);
}

/** A power level value: an integer, or in versions before 10 a string of one. */
function level(value: unknown, v: RoomVersion): number | undefined {
  if (typeof value === 'number' && Number.isInteger(value)) return value;
  if (!v.integerPowerLevels && typeof value === 'string' && /^\s*[+-]?\d+\s*$/.test(value)) return Number.parseInt(value, 10);
  return undefined;
}

function contentOf(event: PDU | undefined): Record<string, unknown> {
  const c = event?.content;
  return c && typeof c === 'object' && !Array.isArray(c) ? c : {};
}

/** The room's creators: the create event's sender, `content.creator` (v1-v10), and `additional_creators` (v12). */
export function creatorsOf(create: PDU | undefined, version: RoomVersion | string): string[] {
  const v = resolveRoomVersion(version);
  if (!create) return [];
  const content = contentOf(create);
  if (v.createHasCreator) return typeof content.creator === 'string' ? [content.creator] : [];
  const extra = v.privilegedCreators && Array.isArray(content.additional_creators) ? content.additional_creators.filter((u): u is string => typeof u === 'string') : [];
  return [create.sender, ...extra];
}

/**
 * A user's power level: infinite for a v12 creator; else the power levels' `users` entry or
 * `users_default`; with no power levels event, 100 for the creator and 0 for anyone else.
 */
export function userPowerLevel(userId: string, powerLevels: PDU | undefined, create: PDU | undefined, version: RoomVersion | string): number {
  const v = resolveRoomVersion(version);
  if (v.privilegedCreators && creatorsOf(create, v).includes(userId)) return Number.POSITIVE_INFINITY;
  if (!powerLevels) return creatorsOf(create, v).includes(userId) ? 100 : 0;
  const content = contentOf(powerLevels);
  const users = content.users && typeof content.users === 'object' ? (content.users as Record<string, unknown>) : {};
  return level(users[userId], v) ?? level(content.users_default, v) ?? 0;
}

/** A named level of the power levels (`ban`, `kick`, `invite`, `redact`, `state_default`, ...) with its default. */
function namedLevel(name: string, powerLevels: PDU | undefined, v: RoomVersion): number {
  const defaults: Record<string, number> = { ban: 50, kick: 50, redact: 50, invite: 0, events_default: 0, state_default: powerLevels ? 50 : 0, users_default: 0 };
  return level(contentOf(powerLevels)[name], v) ?? defaults[name] ?? 0;
}

/** The level needed to send an event of `type` (a state event when `isState`). */
function eventLevel(type: string, isState: boolean, powerLevels: PDU | undefined, v: RoomVersion): number {
  const events = contentOf(powerLevels).events;
  const specific = events && typeof events === 'object' ? level((events as Record<string, unknown>)[type], v) : undefined;
  return specific ?? namedLevel(isState ? 'state_default' : 'events_default', powerLevels, v);
}

function membershipOf(event: PDU | undefined): string | undefined {
  const m = contentOf(event).membership;
  return typeof m === 'string' ? m : undefined;
}

/**
 * Whether `event` is allowed by the authorization rules of `version` given the auth state. In
 * v12 the create event is not among the auth events: `lookup('m.room.create', '')` must still
 * find it (the caller supplies the room's create event).
 */
export function authorize(event: PDU, lookup: AuthLookup, version: RoomVersion | string): AuthDecision {
  const v = resolveRoomVersion(version);
  const content = contentOf(event);

  // 1. m.room.create
  if (event.type === 'm.room.create') {
    if (eventRefIds(event.prev_events).length > 0) return refuse('a create event has no prev_events');
    if (!v.roomIdFromCreateEvent && serverOf(event.room_id) !== serverOf(event.sender)) return refuse("the room ID's server is not the sender's");
    if (v.createHasCreator && typeof content.creator !== 'string') return refuse('the create event has no creator');
    return allow;
  }

  const createEntry = lookup('m.room.create', '');
  // 3. No create event in the auth state.
  if (!createEntry) return refuse('no m.room.create event in the auth state');
  const create = createEntry.event;
  // m.federate
  if (contentOf(create)['m.federate'] === false && serverOf(event.sender) !== serverOf(create.sender)) return refuse('the room does not federate');

  // 4. m.room.aliases (v1-v5): its own rule; later versions treat it as any other state event.
  if (event.type === 'm.room.aliases' && v.aliasesAuthRule) {
    if (event.state_key === undefined) return refuse('m.room.aliases without a state_key');
    return event.state_key === serverOf(event.sender) ? allow : refuse("m.room.aliases state_key is not the sender's server");
  }

  const powerLevels = lookup('m.room.power_levels', '')?.event;
  const senderLevel = userPowerLevel(event.sender, powerLevels, create, v);
  const senderMember = lookup('m.room.member', event.sender)?.event;
  const senderMembership = membershipOf(senderMember);

  // 5. m.room.member
  if (event.type === 'm.room.member') return authorizeMembership(event, lookup, v, createEntry, powerLevels, senderLevel, senderMembership);

  // 6. The sender must be joined.
  if (senderMembership !== 'join') return refuse(`the sender's membership is ${senderMembership ?? 'none'}, not join`);

  // 7. m.room.third_party_invite
  if (event.type === 'm.room.third_party_invite') {
    return senderLevel >= namedLevel('invite', powerLevels, v) ? allow : refuse('the sender is below the invite level');
  }

  // 8. The sender's level must reach the event's.
  const isState = event.state_key !== undefined;
  const needed = eventLevel(event.type, isState, powerLevels, v);
  if (senderLevel < needed) return refuse(`the sender's power level ${senderLevel} is below the ${needed} needed for ${event.type}`);

  // 9. A state key starting with @ must be the sender.
  if (isState && typeof event.state_key === 'string' && event.state_key.startsWith('@') && event.state_key !== event.sender) {
    return refuse('a state_key starting with @ must be the sender');
  }

  // 10. m.room.power_levels
  if (event.type === 'm.room.power_levels') return authorizePowerLevels(event, v, create, powerLevels, senderLevel);

  // 11. m.room.redaction (v1-v10 carry a rule of their own; the level check above covers the common case).
  return allow;
}

function authorizeMembership(event: PDU, lookup: AuthLookup, v: RoomVersion, createEntry: { id: string; event: PDU }, powerLevels: PDU | undefined, senderLevel: number, senderMembership: string | undefined): AuthDecision {
  const create = createEntry.event;
  const content = contentOf(event);
  const target = event.state_key;
  const membership = membershipOf(event);
  if (typeof target !== 'string' || membership === undefined) return refuse('a membership event needs a state_key and content.membership');
  if (content.third_party_invite !== undefined && membership === 'invite') return refuse('third-party invites are not supported by this implementation of the auth rules');
  const targetMembership = membershipOf(lookup('m.room.member', target)?.event);
  const targetLevel = userPowerLevel(target, powerLevels, create, v);
  const joinRule = contentOf(lookup('m.room.join_rules', '')?.event).join_rule;

  switch (membership) {
    case 'join': {
      // The creator's own first join, right after the create event.
      const prevs = eventRefIds(event.prev_events);
      if (prevs.length === 1 && prevs[0] === createEntry.id && creatorsOf(create, v).includes(target)) return allow;
      if (event.sender !== target) return refuse('a join must be sent by the joining user');
      if (senderMembership === 'ban') return refuse('the user is banned');
      if (joinRule === 'invite' || (v.knocking && joinRule === 'knock')) {
        return senderMembership === 'join' || senderMembership === 'invite' ? allow : refuse(`join rule ${joinRule} and the user is neither invited nor joined`);
      }
      if ((v.restrictedJoins && joinRule === 'restricted') || (v.knockRestricted && joinRule === 'knock_restricted')) {
        if (senderMembership === 'join' || senderMembership === 'invite') return allow;
        const via = content.join_authorised_via_users_server;
        if (typeof via !== 'string') return refuse(`join rule ${joinRule} without join_authorised_via_users_server`);
        if (membershipOf(lookup('m.room.member', via)?.event) !== 'join') return refuse('the authorising user is not joined');
        return userPowerLevel(via, powerLevels, create, v) >= namedLevel('invite', powerLevels, v) ? allow : refuse('the authorising user cannot invite');
      }
      if (joinRule === 'public') return allow;
      return refuse(`join rule ${String(joinRule ?? 'none')} does not let the user join`);
    }
    case 'invite': {
      if (senderMembership !== 'join') return refuse('the inviter is not joined');
      if (targetMembership === 'ban' || targetMembership === 'join') return refuse(`the invitee is ${targetMembership}`);
      return senderLevel >= namedLevel('invite', powerLevels, v) ? allow : refuse('the inviter is below the invite level');
    }
    case 'leave': {
      if (event.sender === target) {
        const mayLeave = senderMembership === 'join' || senderMembership === 'invite' || (v.knocking && senderMembership === 'knock');
        return mayLeave ? allow : refuse(`a user whose membership is ${senderMembership ?? 'none'} cannot leave`);
      }
      if (senderMembership !== 'join') return refuse('the kicker is not joined');
      if (targetMembership === 'ban' && senderLevel < namedLevel('ban', powerLevels, v)) return refuse('unbanning needs the ban level');
      if (senderLevel >= namedLevel('kick', powerLevels, v) && targetLevel < senderLevel) return allow;
      return refuse('the kicker is below the kick level or not above the target');
    }
    case 'ban': {
      if (senderMembership !== 'join') return refuse('the banner is not joined');
      if (senderLevel >= namedLevel('ban', powerLevels, v) && targetLevel < senderLevel) return allow;
      return refuse('the banner is below the ban level or not above the target');
    }
    case 'knock': {
      if (!v.knocking) return refuse(`room version ${v.id} has no knocking`);
      if (joinRule !== 'knock' && !(v.knockRestricted && joinRule === 'knock_restricted')) return refuse('the join rule does not allow knocking');
      if (event.sender !== target) return refuse('a knock must be sent by the knocking user');
      return senderMembership !== 'ban' && senderMembership !== 'join' && senderMembership !== 'invite' ? allow : refuse(`a ${senderMembership} user cannot knock`);
    }
    default:
      return refuse(`unknown membership ${membership}`);
  }
}

const NAMED_LEVELS = ['users_default', 'events_default', 'state_default', 'ban', 'redact', 'kick', 'invite'] as const;

function authorizePowerLevels(event: PDU, v: RoomVersion, create: PDU, current: PDU | undefined, senderLevel: number): AuthDecision {
  const next = contentOf(event);
  // Integers only from v10; numeric strings before.
  for (const name of NAMED_LEVELS) if (next[name] !== undefined && level(next[name], v) === undefined) return refuse(`${name} is not an integer power level`);
  for (const field of ['users', 'events', ...(v.notificationsPowerLevels ? ['notifications'] : [])]) {
    const map = next[field];
    if (map === undefined) continue;
    if (typeof map !== 'object' || map === null || Array.isArray(map)) return refuse(`${field} is not an object`);
    for (const [k, val] of Object.entries(map)) if (level(val, v) === undefined) return refuse(`${field}.${k} is not an integer power level`);
  }
  if (v.privilegedCreators) {
    const users = (next.users ?? {}) as Record<string, unknown>;
    const listed = creatorsOf(create, v).find((c) => Object.hasOwn(users, c));
    if (listed) return refuse(`creator ${listed} must not be listed in users`);
  }
  if (!current) return allow;
  const old = contentOf(current);
  const tooHigh = (a: number | undefined, b: number | undefined) => (a !== undefined && a > senderLevel) || (b !== undefined && b > senderLevel);
  for (const name of NAMED_LEVELS) {
    const a = level(old[name], v);
    const b = level(next[name], v);
    if (a !== b && tooHigh(a, b)) return refuse(`changing ${name} from ${a} to ${b} needs more than level ${senderLevel}`);
  }
  for (const field of ['events', ...(v.notificationsPowerLevels ? ['notifications'] : [])]) {
    const a = (old[field] ?? {}) as Record<string, unknown>;
    const b = (next[field] ?? {}) as Record<string, unknown>;
    for (const k of new Set([...Object.keys(a), ...Object.keys(b)])) {
      const x = level(a[k], v);
      const y = level(b[k], v);
      if (x !== y && tooHigh(x, y)) return refuse(`changing ${field}.${k} needs more than level ${senderLevel}`);
    }
  }
  const a = (old.users ?? {}) as Record<string, unknown>;
  const b = (next.users ?? {}) as Record<string, unknown>;
  for (const user of new Set([...Object.keys(a), ...Object.keys(b)])) {
    const x = level(a[user], v);
    const y = level(b[user], v);
    if (x === y) continue;
    if (user !== event.sender && x !== undefined && x >= senderLevel) return refuse(`${user}'s level ${x} is not below the sender's ${senderLevel}`);
    if (y !== undefined && y > senderLevel) return refuse(`${user} cannot be raised above the sender's ${senderLevel}`);
  }
  return allow;
}
