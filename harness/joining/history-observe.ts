/**
 * Observing history on a joining candidate: what its client API serves a member through /messages
 * (paged backwards across the join point) and /context, and the truth the remote's room holds for
 * that member (which events history visibility hides from them, each event's content as served,
 * redacted where the room holds a redaction). Judged by harness/checks/client-history.ts.
 */
import type { TestInfo } from '@playwright/test';
import type { CandidateClient } from '../client/client.ts';
import type { ClientEvent } from '../client/types.ts';
import { judge } from '../checks/judge.ts';
import { servedHistoryVisibleAndTrue, type HistoryServedObservation, type ServedEvent } from '../checks/client-history.ts';
import type { StateMap } from '../matrix/index.ts';
import type { Room } from '../remote/room.ts';
import { LAZY_FILTER } from './partial-join.ts';

/** Events per /messages page, and pages at most (the scenarios' rooms hold a few dozen events). */
const PAGE_LIMIT = 10;
const MAX_PAGES = 8;
/** Events on each side of a /context answer. */
const CONTEXT_LIMIT = 6;
/** How long a history call may wait during the resync before it counts as waiting for it. */
export const DURING_RESYNC_WAIT_MS = 3_000;
/** Bound on history calls once resynced. */
const ANSWER_WITHIN_MS = 15_000;

/** Whether `state` lets `userId` (joined now) see an event, per the room's history visibility there. */
function allowedBy(room: Room, state: StateMap, userId: string): boolean {
  const visibility = (room.stateContent('m.room.history_visibility', '', state)?.history_visibility as string | undefined) ?? 'shared';
  const membership = room.membership(userId, state);
  switch (visibility) {
    case 'world_readable':
    case 'shared':
      return true; // the user is joined now: shared history is theirs
    case 'invited':
      return membership === 'join' || membership === 'invite';
    default:
      return membership === 'join';
  }
}

/**
 * The truth for `userId` (joined now): every DAG event of the room with what a client is served
 * for it, and the events history visibility hides from the user. An event is visible when the
 * state before it or the state after it lets the user see it (the spec's rule for history
 * visibility events and the user's own membership events, harmless for the others).
 */
export function historyTruth(room: Room, userId: string): HistoryServedObservation['truth'] {
  const events: HistoryServedObservation['truth']['events'] = {};
  const hidden: string[] = [];
  for (const id of room.eventIds()) {
    if (room.isOutlier(id)) continue;
    const pdu = room.mustEvent(id) as unknown as { type: string; sender: string; state_key?: string; redacts?: string; content: { redacts?: unknown } };
    const redacts = pdu.type === 'm.room.redaction' ? (typeof pdu.redacts === 'string' ? pdu.redacts : typeof pdu.content?.redacts === 'string' ? pdu.content.redacts : undefined) : undefined;
    events[id] = { type: pdu.type, sender: pdu.sender, ...(pdu.state_key !== undefined ? { state_key: pdu.state_key } : {}), content: room.servedContent(id), ...(redacts ? { redacts } : {}) };
    if (!allowedBy(room, room.stateBefore(id), userId) && !allowedBy(room, room.stateAfter(id), userId)) hidden.push(id);
  }
  return { events, hidden };
}

const served = (e: ClientEvent): ServedEvent => ({ event_id: e.event_id, type: e.type, sender: e.sender, ...(e.state_key !== undefined ? { state_key: e.state_key } : {}), content: (e.content ?? {}) as Record<string, unknown> });

/** Pages /messages backwards from the newest event of a lazy-loading sync; every event served, newest first. */
export async function pageBack(client: CandidateClient, roomId: string, timeoutMs: number): Promise<{ events: ServedEvent[]; pages: number; status: number | 'no answer' }> {
  const sync = (await client.sync({ filter: LAZY_FILTER })).ok();
  let from = sync.rooms?.join?.[roomId]?.timeline?.prev_batch;
  const events: ServedEvent[] = (sync.rooms?.join?.[roomId]?.timeline?.events ?? []).slice().reverse().map(served);
  let pages = 0;
  let status: number | 'no answer' = 200;
  while (pages < MAX_PAGES) {
    const res = await bounded(client.call<{ chunk?: ClientEvent[]; end?: string }>('GET', `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/messages`, { query: { dir: 'b', limit: PAGE_LIMIT, from }, timeoutMs }));
    pages++;
    status = res ? res.status : 'no answer';
    if (!res || res.status !== 200) break;
    const chunk = res.body.chunk ?? [];
    events.push(...chunk.map(served));
    if (chunk.length === 0 || !res.body.end || res.body.end === from) break;
    from = res.body.end;
  }
  return { events, pages, status };
}

/** The answer, or null when none came within the call's bound (other failures throw). */
async function bounded<T>(call: Promise<T>): Promise<T | null> {
  try {
    return await call;
  } catch (err) {
    if (/timeout/i.test((err as Error).message)) return null;
    throw err;
  }
}

/** `GET /rooms/{roomId}/context/{eventId}`: the events served (the event, before and after), or none with the status. */
export async function contextAround(client: CandidateClient, roomId: string, eventId: string, timeoutMs: number): Promise<{ status: number | 'no answer'; errcode?: string; events: ServedEvent[] }> {
  const res = await bounded(client.call<{ event?: ClientEvent; events_before?: ClientEvent[]; events_after?: ClientEvent[]; errcode?: string }>(
    'GET',
    `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/context/${encodeURIComponent(eventId)}`,
    { query: { limit: CONTEXT_LIMIT }, timeoutMs },
  ));
  if (!res) return { status: 'no answer', events: [] };
  if (res.status !== 200) return { status: res.status, errcode: res.body?.errcode, events: [] };
  const b = res.body;
  return { status: 200, events: [...(b.event ? [b.event] : []), ...(b.events_before ?? []), ...(b.events_after ?? [])].map(served) };
}

export interface HistoryLook {
  /** Events served by paging /messages back (newest first). */
  messages: ServedEvent[];
  /** The /context answer around `around`. */
  context: { status: number | 'no answer'; errcode?: string; events: ServedEvent[] };
  /** Whether /messages answered every page asked within the bound. */
  messagesAnswered: boolean;
}

/**
 * Pages /messages back and asks /context around `around` as `client`, judges both with HV-01
 * against the room's truth for the client's user, and returns what was served. During the resync
 * a call may wait for it (MSC3902 lets requests that need the room's membership wait): each is
 * given `DURING_RESYNC_WAIT_MS`, and one that did not answer served nothing to judge.
 */
export async function judgeHistory(testInfo: TestInfo, room: Room, client: CandidateClient, around: string, duringResync: boolean): Promise<HistoryLook> {
  const timeoutMs = duringResync ? DURING_RESYNC_WAIT_MS : ANSWER_WITHIN_MS;
  const historyVisibility = (room.stateContent('m.room.history_visibility', '')?.history_visibility as string | undefined) ?? 'shared';
  const request = { roomId: room.roomId, user: client.userId, historyVisibility, duringResync };
  const page = await pageBack(client, room.roomId, timeoutMs);
  const context = await contextAround(client, room.roomId, around, timeoutMs);
  // The truth is taken once the answers are in: every event they could hold is in the room by then.
  const truth = historyTruth(room, client.userId);
  judge(testInfo, servedHistoryVisibleAndTrue, { request: { ...request, api: `a lazy-loading /sync's timeline, then GET /messages back from it (${page.pages} pages of ${PAGE_LIMIT}, last HTTP ${page.status})` }, served: page.events, truth });
  judge(testInfo, servedHistoryVisibleAndTrue, { request: { ...request, api: `GET /context/${around} (HTTP ${context.status}${context.errcode ? ` ${context.errcode}` : ''})` }, served: context.events, truth });
  return { messages: page.events, context, messagesAnswered: page.status === 200 };
}
