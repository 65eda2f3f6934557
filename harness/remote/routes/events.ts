/** Reading a room's history and state: state, state_ids, event, event_auth, get_missing_events, backfill. */
import type { Room } from '../room.ts';
import { collectSteps, runSliced } from '../slices.ts';
import { chunkedAnswer, isResponse, json, matrixError, roomOf, type RouteContext, type RouteHandler, type RouteResponse } from '../routing.ts';

/** The event named by `event_id` in the query (state, state_ids) or the path, as a DAG member of `room`. */
function eventInRoom(ctx: RouteContext, room: Room, id: string | null): string | RouteResponse {
  if (!id) return matrixError(400, 'M_MISSING_PARAM', 'event_id is required');
  if (!room.has(id)) return matrixError(404, 'M_NOT_FOUND', `event ${id} is not in room ${room.roomId} on ${ctx.self.serverName}`);
  return id;
}

function listJson(room: Room, ids: string[]): string {
  return `[${ids.map((e) => room.eventJson(e)).join(',')}]`;
}

/** GET /state: the state before `event_id` and the full auth chain of those state events. */
export const state: RouteHandler = async (ctx) => {
  const room = roomOf(ctx);
  if (isResponse(room)) return room;
  const id = eventInRoom(ctx, room, ctx.query.get('event_id'));
  if (isResponse(id)) return id;
  if (room.isOutlier(id)) return matrixError(404, 'M_NOT_FOUND', `event ${id} is an outlier: no state is known at it`);
  // Worked out in slices: a big room's state and chain take long enough to hold up other requests.
  const stateIds = await runSliced(collectSteps((await room.stateBeforeAsync(id)).values()));
  return chunkedAnswer(room, { auth_chain: await room.authChainAsync(stateIds), pdus: stateIds });
};

/** GET /state_ids: as /state, with event IDs only. */
export const stateIds: RouteHandler = async (ctx) => {
  const room = roomOf(ctx);
  if (isResponse(room)) return room;
  const id = eventInRoom(ctx, room, ctx.query.get('event_id'));
  if (isResponse(id)) return id;
  if (room.isOutlier(id)) return matrixError(404, 'M_NOT_FOUND', `event ${id} is an outlier: no state is known at it`);
  const ids = await runSliced(collectSteps((await room.stateBeforeAsync(id)).values()));
  return json({ auth_chain_ids: await room.authChainAsync(ids), pdu_ids: ids });
};

/** GET /event/{eventId}: the event from whichever room holds it. */
export const event: RouteHandler = (ctx) => {
  for (const room of ctx.remote.rooms.values()) {
    const pdu = room.event(ctx.params.eventId);
    if (pdu) return { status: 200, raw: `{"origin":${JSON.stringify(ctx.self.serverName)},"origin_server_ts":${Date.now()},"pdus":[${room.eventJson(ctx.params.eventId)}]}` };
  }
  return matrixError(404, 'M_NOT_FOUND', `event ${ctx.params.eventId} is not known to ${ctx.self.serverName}`);
};

/** GET /event_auth: the full auth chain of the event. */
export const eventAuth: RouteHandler = async (ctx) => {
  const room = roomOf(ctx);
  if (isResponse(room)) return room;
  const id = eventInRoom(ctx, room, ctx.params.eventId);
  if (isResponse(id)) return id;
  return chunkedAnswer(room, { auth_chain: await room.authChainAsync([id]) });
};

/** Walks prev_events back from `from`, breadth first, stopping at `stop`; at most `limit` events, in stream order. */
function walkBack(room: Room, from: string[], stop: Set<string>, limit: number, minDepth = 0, includeFrom = false): string[] {
  const found: string[] = [];
  const seen = new Set<string>(stop);
  let frontier = includeFrom ? from.filter((id) => room.has(id)) : from.flatMap((id) => (room.has(id) ? room.prevEventIds(id) : []));
  while (frontier.length && found.length < limit) {
    const next: string[] = [];
    for (const id of frontier) {
      if (seen.has(id) || found.length >= limit) continue;
      seen.add(id);
      const pdu = room.event(id);
      if (!pdu || pdu.depth < minDepth) continue;
      found.push(id);
      next.push(...room.prevEventIds(id));
    }
    frontier = next;
  }
  return found.sort((a, b) => room.streamOrder(a) - room.streamOrder(b));
}

function boundedLimit(raw: unknown, fallback: number): number | RouteResponse {
  if (raw === undefined || raw === null) return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0) return matrixError(400, 'M_INVALID_PARAM', `limit must be a non-negative integer, got ${JSON.stringify(raw)}`);
  return n;
}

/** POST /get_missing_events: events between `earliest_events` and `latest_events` (exclusive), oldest first. */
export const getMissingEvents: RouteHandler = (ctx) => {
  const room = roomOf(ctx);
  if (isResponse(room)) return room;
  const body = ctx.body as { earliest_events?: unknown; latest_events?: unknown; limit?: unknown; min_depth?: unknown } | undefined;
  if (!Array.isArray(body?.earliest_events) || !Array.isArray(body?.latest_events)) {
    return matrixError(400, 'M_BAD_JSON', 'earliest_events and latest_events must be arrays');
  }
  const limit = boundedLimit(body.limit, 10);
  if (isResponse(limit)) return limit;
  const minDepth = typeof body.min_depth === 'number' ? body.min_depth : 0;
  const ids = walkBack(room, body.latest_events as string[], new Set(body.earliest_events as string[]), limit, minDepth);
  return { status: 200, raw: `{"events":${listJson(room, ids)}}` };
};

/** GET /backfill: up to `limit` events from the `v` events backwards (inclusive). */
export const backfill: RouteHandler = (ctx) => {
  const room = roomOf(ctx);
  if (isResponse(room)) return room;
  const from = ctx.query.getAll('v');
  if (!from.length) return matrixError(400, 'M_MISSING_PARAM', 'v (the events to backfill from) is required');
  const limit = boundedLimit(ctx.query.get('limit') ?? undefined, 10);
  if (isResponse(limit)) return limit;
  const ids = walkBack(room, from, new Set(), limit, 0, true);
  return {
    status: 200,
    raw: `{"origin":${JSON.stringify(ctx.self.serverName)},"origin_server_ts":${Date.now()},"pdus":${listJson(room, ids)}}`,
  };
};
