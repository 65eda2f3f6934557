/** make_join, send_join (v2, and v1 as the spec now has it: gone), make_leave, send_leave, invite. */
import { cosignEvent, eventId as computeEventId, type PDU } from '../../matrix/index.ts';
import { sendJoinContentAsync } from '../join-response.ts';
import { serverOf, type Room } from '../room.ts';
import { chunkedAnswer, isResponse, json, matrixError, roomOf, type RouteContext, type RouteHandler, type RouteResponse } from '../routing.ts';

/** A joined member of `room` on `serverName` with enough power to invite (authorises restricted joins). */
function localAuthoriser(room: Room, serverName: string): string | undefined {
  const pl = room.stateContent('m.room.power_levels', '') ?? {};
  const inviteLevel = typeof pl.invite === 'number' ? pl.invite : 0;
  const users = (pl.users ?? {}) as Record<string, number>;
  const usersDefault = typeof pl.users_default === 'number' ? pl.users_default : 0;
  return room
    .members()
    .find((m) => m.membership === 'join' && serverOf(m.userId) === serverName && (users[m.userId] ?? usersDefault) >= inviteLevel)?.userId;
}

/**
 * GET make_join: a join template for `userId`, after the checks a resident makes: the user is on
 * the origin server, the origin supports the room version (`ver`; absent means only "1"), and
 * the join rules let the user in. Restricted rooms are authorised via a local member with invite
 * power (the suite's remotes do not check membership of the `allow` rooms).
 */
export const makeJoin: RouteHandler = (ctx) => {
  const room = roomOf(ctx);
  if (isResponse(room)) return room;
  const userId = ctx.params.userId;
  if (serverOf(userId) !== ctx.origin) return matrixError(403, 'M_FORBIDDEN', `${userId} is not a user of the requesting server ${ctx.origin}`);
  const versions = ctx.query.getAll('ver');
  if (!(versions.length ? versions : ['1']).includes(room.version.id)) {
    return matrixError(400, 'M_INCOMPATIBLE_ROOM_VERSION', `room version ${room.version.id} is not among ver=${versions.join(',') || '(none)'}`, {
      room_version: room.version.id,
    });
  }
  const membership = room.membership(userId);
  if (membership === 'ban') return matrixError(403, 'M_FORBIDDEN', `${userId} is banned from ${room.roomId}`);
  const content: Record<string, unknown> = { membership: 'join' };
  const joinRule = room.stateContent('m.room.join_rules', '')?.join_rule;
  if (membership !== 'join' && membership !== 'invite' && joinRule !== 'public') {
    if (joinRule === 'restricted' || joinRule === 'knock_restricted') {
      const via = localAuthoriser(room, ctx.self.serverName);
      if (!via) return matrixError(400, 'M_UNABLE_TO_AUTHORISE_JOIN', `no member of ${ctx.self.serverName} can authorise joins to ${room.roomId}`);
      content.join_authorised_via_users_server = via;
    } else {
      return matrixError(403, 'M_FORBIDDEN', `join rule of ${room.roomId} is ${String(joinRule)} and ${userId} is not invited`);
    }
  }
  const event = room.draft({ type: 'm.room.member', stateKey: userId, sender: userId, content });
  return json({ room_version: room.version.id, event });
};

/** Parses a boolean query flag: absent -> undefined; only `true`/`false` are accepted (MSC3706). */
export function booleanQuery(query: URLSearchParams, name: string): boolean | undefined | RouteResponse {
  const raw = query.get(name);
  if (raw === null) return undefined;
  if (raw === 'true') return true;
  if (raw === 'false') return false;
  return matrixError(400, 'M_INVALID_PARAM', `${name} must be true or false, got ${JSON.stringify(raw)}`);
}

/**
 * Checks a membership event received by send_join/send_leave: the spec's validation list
 * (signature, type, membership, sender on the origin, state_key = sender) plus the event ID and
 * room in the path. Returns the event and its ID, or the error response.
 */
async function receiveMembership(ctx: RouteContext, room: Room, membership: 'join' | 'leave'): Promise<{ event: PDU; id: string; cosigned: boolean } | RouteResponse> {
  let event = ctx.body as PDU;
  if (typeof event !== 'object' || event === null || Array.isArray(event)) return matrixError(400, 'M_BAD_JSON', 'the body is not an event object');
  if (event.type !== 'm.room.member') return matrixError(400, 'M_INVALID_PARAM', `event type is ${JSON.stringify(event.type)}, not m.room.member`);
  if (event.content?.membership !== membership) return matrixError(400, 'M_INVALID_PARAM', `membership is ${JSON.stringify(event.content?.membership)}, not ${membership}`);
  if (event.state_key !== event.sender) return matrixError(400, 'M_INVALID_PARAM', 'state_key is not the sender');
  if (typeof event.sender !== 'string' || serverOf(event.sender) !== ctx.origin) {
    return matrixError(400, 'M_INVALID_PARAM', `sender ${JSON.stringify(event.sender)} is not on the origin ${ctx.origin}`);
  }
  if (event.room_id !== undefined && event.room_id !== room.roomId) return matrixError(400, 'M_INVALID_PARAM', `room_id ${event.room_id} is not the path's ${room.roomId}`);
  // A restricted join authorised by one of our members needs our signature too; it is added
  // first (signatures do not change the event ID) so that the check covers the joiner's.
  const authoriser = event.content.join_authorised_via_users_server;
  const cosigned = membership === 'join' && typeof authoriser === 'string' && room.version.restrictedJoins && serverOf(authoriser) === ctx.self.serverName;
  if (cosigned) event = cosignEvent(event, ctx.self.serverName, ctx.self.key, room.version);
  const check = await ctx.remote.verifyPdu(event, room);
  if (!check.ok) return matrixError(400, 'M_INVALID_PARAM', `event fails signature or hash checks: ${check.errors.join('; ')}`);
  if (check.eventId !== ctx.params.eventId) return matrixError(400, 'M_INVALID_PARAM', `event ID is ${check.eventId}, not the path's ${ctx.params.eventId}`);
  return { event, id: check.eventId, cosigned };
}

/** How a send_join handler may misbehave, for tests of the joining candidate. */
export interface SendJoinBehaviour {
  /** `servers_in_room` to send instead of the true one, or 'omit' to leave it out. */
  serversInRoom?: string[] | 'omit';
  /** `members_omitted` to send instead of the true value, or 'omit' to leave it out. */
  membersOmitted?: boolean | 'omit';
  /** Answer with full state even when `omit_members=true` was asked. */
  ignoreOmitMembers?: boolean;
  /** Leave this many non-hero member events in a partial `state` (claiming they were omitted). */
  leaveMembersIn?: number;
  /** Keep the events of `state` in `auth_chain` even for a partial response. */
  keepStateInAuthChain?: boolean;
}

/**
 * PUT /v2/send_join: validates and stores the join, then answers with the state before it, full
 * or partial per `omit_members` (or the unstable `org.matrix.msc3706.partial_state`), with the
 * stable and, when asked by the unstable flag, the unstable response fields.
 */
export function sendJoinHandler(behaviour: SendJoinBehaviour = {}): RouteHandler {
  return async (ctx) => {
    const room = roomOf(ctx);
    if (isResponse(room)) return room;
    const stable = booleanQuery(ctx.query, 'omit_members');
    if (isResponse(stable)) return stable;
    const unstable = booleanQuery(ctx.query, 'org.matrix.msc3706.partial_state');
    if (isResponse(unstable)) return unstable;
    const received = await receiveMembership(ctx, room, 'join');
    if (isResponse(received)) return received;
    const { event, cosigned } = received;
    const id = room.importEvent(event, { trustedEventId: received.id });
    const omit = (stable === true || unstable === true) && !behaviour.ignoreOmitMembers;
    const content = await sendJoinContentAsync(room, id, event.sender, omit);
    let state = content.state;
    let authChain = content.authChain;
    if (omit && behaviour.leaveMembersIn) {
      const kept = new Set(state);
      const extra = [...(await room.stateBeforeAsync(id)).values()].filter((e) => !kept.has(e) && room.mustEvent(e).type === 'm.room.member');
      state = [...state, ...extra.slice(0, behaviour.leaveMembersIn)];
    }
    if (behaviour.keepStateInAuthChain) authChain = await room.authChainAsync([id, ...state]);
    const fields: Array<[string, string]> = [];
    const membersOmitted = behaviour.membersOmitted ?? content.membersOmitted;
    const serversInRoom = behaviour.serversInRoom ?? (content.membersOmitted ? content.serversInRoom : 'omit');
    if (membersOmitted !== 'omit' && (omit || behaviour.membersOmitted !== undefined)) {
      fields.push(['members_omitted', String(membersOmitted)]);
      if (unstable) fields.push(['org.matrix.msc3706.partial_state', String(membersOmitted)]);
    }
    if (serversInRoom !== 'omit') {
      fields.push(['servers_in_room', JSON.stringify(serversInRoom)]);
      if (unstable) fields.push(['org.matrix.msc3706.servers_in_room', JSON.stringify(serversInRoom)]);
    }
    if (cosigned) fields.push(['event', room.eventJson(id)]);
    return chunkedAnswer(room, { auth_chain: authChain, state }, fields);
  };
}

/**
 * The removed v1 endpoints (spec v1.18 removed `/v1/send_join` and `/v1/send_leave`, MSC4376):
 * a server that no longer has an endpoint answers 404 M_UNRECOGNIZED.
 */
export const removedEndpoint: RouteHandler = (ctx) =>
  matrixError(404, 'M_UNRECOGNIZED', `${ctx.method} ${ctx.path} is not supported (removed in Matrix v1.18)`);

/**
 * The pre-v1.18 `/v1/send_join`: full state in the `[200, {...}]` array form, for tests of
 * servers that fall back to it. Install with `remote.route('send_join_v1', legacySendJoinV1)`.
 */
export const legacySendJoinV1: RouteHandler = async (ctx) => {
  const room = roomOf(ctx);
  if (isResponse(room)) return room;
  const received = await receiveMembership(ctx, room, 'join');
  if (isResponse(received)) return received;
  const id = room.importEvent(received.event);
  const content = await sendJoinContentAsync(room, id, received.event.sender, false);
  const list = (ids: string[]) => `[${ids.map((e) => room.eventJson(e)).join(',')}]`;
  return { status: 200, raw: `[200,{"auth_chain":${list(content.authChain)},"state":${list(content.state)}}]` };
};

/** GET make_leave: a leave template for a user of the origin server. */
export const makeLeave: RouteHandler = (ctx) => {
  const room = roomOf(ctx);
  if (isResponse(room)) return room;
  const userId = ctx.params.userId;
  if (serverOf(userId) !== ctx.origin) return matrixError(403, 'M_FORBIDDEN', `${userId} is not a user of the requesting server ${ctx.origin}`);
  const event = room.draft({ type: 'm.room.member', stateKey: userId, sender: userId, content: { membership: 'leave' } });
  return json({ room_version: room.version.id, event });
};

/** PUT /v2/send_leave: validates and stores the leave; answers `{}`. */
export const sendLeave: RouteHandler = async (ctx) => {
  const room = roomOf(ctx);
  if (isResponse(room)) return room;
  const received = await receiveMembership(ctx, room, 'leave');
  if (isResponse(received)) return received;
  room.importEvent(received.event);
  return json({});
};

/**
 * PUT /v2/invite: counter-signs an invite for one of this server's users and records it
 * (`remote.invites`). The room need not be known here.
 */
export const invite: RouteHandler = async (ctx) => {
  const body = ctx.body as { room_version?: unknown; event?: PDU; invite_room_state?: unknown } | undefined;
  const event = body?.event;
  if (!event || typeof body?.room_version !== 'string') return matrixError(400, 'M_BAD_JSON', 'invite needs room_version and event');
  if (event.type !== 'm.room.member' || event.content?.membership !== 'invite') return matrixError(400, 'M_INVALID_PARAM', 'not an invite membership event');
  if (typeof event.state_key !== 'string' || serverOf(event.state_key) !== ctx.self.serverName) {
    return matrixError(400, 'M_INVALID_PARAM', `invitee ${JSON.stringify(event.state_key)} is not a user of ${ctx.self.serverName}`);
  }
  let id: string;
  try {
    id = computeEventId(event, body.room_version);
  } catch (err) {
    return matrixError(400, 'M_UNSUPPORTED_ROOM_VERSION', (err as Error).message);
  }
  if (id !== ctx.params.eventId) return matrixError(400, 'M_INVALID_PARAM', `event ID is ${id}, not the path's ${ctx.params.eventId}`);
  const check = await ctx.remote.verifyPdu(event, body.room_version);
  if (!check.ok) return matrixError(400, 'M_INVALID_PARAM', `invite fails signature or hash checks: ${check.errors.join('; ')}`);
  const signed = cosignEvent(event, ctx.self.serverName, ctx.self.key, body.room_version);
  ctx.remote.invites.push({ event: signed, eventId: id, roomVersion: body.room_version, inviteRoomState: body.invite_room_state, origin: ctx.origin });
  return json({ event: signed });
};
