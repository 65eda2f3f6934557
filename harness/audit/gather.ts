/**
 * Gathering the audit's observation (I/O): what the candidate's client API and federation API show
 * of a room, and the truth from the resident's room model. Judged by harness/checks/audit-checks.ts.
 */
import type { CandidateClient } from '../client/client.ts';
import { membershipIn, type ClientEvent, type SyncFilter, type SyncResponse } from '../client/types.ts';
import type { AuditObservation, Answered, MemberListDuringResyncObservation } from '../checks/audit-checks.ts';
import type { JoinerStateAtEventObservation } from '../checks/joiner-resync-integrity.ts';
import { parseStateKey } from '../matrix/index.ts';
import type { Remote } from '../remote/remote.ts';
import type { Room } from '../remote/room.ts';
import type { PageSender, StateEntry } from './compare.ts';

/** A scenario the audit can look at: a candidate user in a room whose truth a remote holds. */
export interface AuditTarget {
  remote: Remote;
  room: Room;
  /** The candidate's user in the room. */
  joiner: CandidateClient;
  /** The candidate's server name (federation destination). */
  candidateServer: string;
}

/** Bound on each client call of the audit: the resync is over, so answers are due at once. */
export const AUDIT_CALL_MS = 10_000;
/** Events in the audited /messages page. */
const PAGE_SIZE = 20;

/** Lazy-loading with nothing counted as redundant, so every sender's membership is due. */
const LAZY_WITHOUT_REDUNDANCY: SyncFilter = {
  room: { state: { lazy_load_members: true, include_redundant_members: true }, timeline: { lazy_load_members: true, include_redundant_members: true } },
};
/**
 * The summary's sync: the same, with a one-event timeline, so that the heroes' memberships are due
 * in `state` whatever the history (their joins are not in the timeline to stand for them).
 */
const SUMMARY_SYNC: SyncFilter = { room: { ...LAZY_WITHOUT_REDUNDANCY.room, timeline: { ...LAZY_WITHOUT_REDUNDANCY.room!.timeline, limit: 1 } } };

function entry(e: ClientEvent): StateEntry {
  return { type: e.type, stateKey: e.state_key ?? '', eventId: e.event_id, content: e.content ?? {} };
}

/** The current state of the room model as state entries. */
export function truthState(room: Room): StateEntry[] {
  return [...room.currentState()].map(([key, eventId]) => {
    const { type, stateKey } = parseStateKey(key);
    // A redacted state event counts with what redaction left of it (a redacted topic is no topic).
    return { type, stateKey, eventId, content: room.servedContent(eventId) };
  });
}

async function answered<T, R>(call: Promise<{ status: number; body: T }>, reduce: (body: T) => R): Promise<Answered<R>> {
  try {
    const res = await call;
    return { status: res.status, body: res.status === 200 ? reduce(res.body) : (undefined as R) };
  } catch (err) {
    // A call that timed out is "no answer"; anything else is the harness's own failure.
    if (/timeout|aborted/i.test((err as Error).message)) return null;
    throw err;
  }
}

/** Everything the post-resync audit compares, gathered in parallel. */
export async function gatherAudit(t: AuditTarget): Promise<AuditObservation> {
  const { joiner, room } = t;
  const roomId = room.roomId;
  const timeoutMs = AUDIT_CALL_MS;
  const [clientState, members, joinedMembers, sync, messages] = await Promise.all([
    answered(joiner.state(roomId, { timeoutMs }), (events) => (Array.isArray(events) ? events.map(entry) : [])),
    answered(joiner.members(roomId, { timeoutMs }), (b) => (b.chunk ?? []).map(entry)),
    answered(joiner.joinedMembers(roomId, { timeoutMs }), (b) => Object.keys(b.joined ?? {})),
    joiner.sync({ filter: SUMMARY_SYNC }).then((r) => r.ok()),
    answered(joiner.messages(roomId, { dir: 'b', limit: PAGE_SIZE, filter: LAZY_WITHOUT_REDUNDANCY.room!.timeline as Record<string, unknown> }), (b) => b),
  ]);
  const joined = sync.rooms?.join?.[roomId];
  const lazySync = joined
    ? {
        summary: joined.summary,
        memberEventsShown: [...(joined.state?.events ?? []), ...(joined.timeline?.events ?? [])].filter((e) => e.type === 'm.room.member' && e.state_key !== undefined).map((e) => e.state_key!),
      }
    : null;
  return {
    roomId,
    user: joiner.userId,
    truth: { state: truthState(room), nameless: room.isNameless() },
    clientState,
    members,
    joinedMembers,
    lazySync,
    messages: messages && messages.status === 200 ? { status: 200, body: pageObservation(room, messages.body.chunk ?? [], messages.body.state ?? []) } : (messages as Answered<never>),
  };
}

/** The senders of a /messages chunk with the membership events the truth allows for each, and the memberships the page's state gave. */
function pageObservation(room: Room, chunk: ClientEvent[], state: ClientEvent[]): { senders: PageSender[]; stateMembers: Record<string, string> } {
  const bySender = new Map<string, string[]>();
  for (const e of chunk) bySender.set(e.sender, [...(bySender.get(e.sender) ?? []), e.event_id]);
  // A sender's membership "at" the page may be taken at any of its events, before or after it.
  const known = chunk.map((e) => e.event_id).filter((id) => room.has(id) && !room.isOutlier(id));
  const senders: PageSender[] = [...bySender].map(([sender, eventIds]) => {
    const acceptable = new Set<string>();
    for (const id of known) {
      for (const s of [room.stateBefore(id), room.stateAfter(id)]) {
        const member = room.stateEventId('m.room.member', sender, s);
        if (member) acceptable.add(member);
      }
    }
    return { sender, eventIds, acceptable: [...acceptable] };
  });
  const stateMembers: Record<string, string> = {};
  for (const e of state) if (e.type === 'm.room.member' && e.state_key !== undefined) stateMembers[e.state_key] = e.event_id;
  // A membership event in the chunk itself also tells the client who its sender is.
  for (const e of chunk) if (e.type === 'm.room.member' && e.state_key === e.sender && !(e.sender in stateMembers)) stateMembers[e.sender] = e.event_id;
  return { senders, stateMembers };
}

/**
 * The candidate's federation /state_ids at its newest event in the room (the first of a /messages
 * page, backwards), asked as the remote (a server in the room), with the truth before that event.
 * A string says why there is nothing to ask: no newest event, or one the truth does not hold (yet).
 */
export async function gatherStateIdsAtNewest(t: AuditTarget): Promise<JoinerStateAtEventObservation | string> {
  const page = await t.joiner.messages(t.room.roomId, { dir: 'b', limit: 1 });
  if (page.status !== 200) return `/messages answered HTTP ${page.status}, so the candidate's newest event is unknown`;
  const eventId = page.body.chunk?.[0]?.event_id;
  if (!eventId) return 'the candidate shows no event in the room';
  if (!t.room.has(eventId) || t.room.isOutlier(eventId)) return `the candidate's newest event ${eventId} is not in the resident's room DAG`;
  let response: { status: number; body: unknown } | null;
  try {
    const res = await t.remote.client.request('GET', t.candidateServer, `/_matrix/federation/v1/state_ids/${encodeURIComponent(t.room.roomId)}`, { query: { event_id: eventId }, timeoutMs: AUDIT_CALL_MS });
    response = { status: res.status, body: res.body };
  } catch (err) {
    if (!/timeout|aborted/i.test((err as Error).message)) throw err;
    response = null;
  }
  return { phase: 'complete', eventId, response, waitedMs: AUDIT_CALL_MS, truth: [...t.room.stateBefore(eventId).values()] };
}

/**
 * What eager /sync, /members and /joined_members present as the joined members while the resync
 * runs: each gets `withinMs`; no answer in that time, an error or the room left out of the eager
 * sync counts as withheld. The truth is taken when the answers are in.
 */
export async function gatherMemberListDuringResync(t: AuditTarget, withinMs: number): Promise<MemberListDuringResyncObservation> {
  const { joiner, room } = t;
  const withheldWhy = (a: Answered<unknown>) => (a === null ? `no answer within ${withinMs} ms` : `HTTP ${a.status}`);
  const [sync, members, joinedMembers] = await Promise.all([
    answered(joiner.call<SyncResponse>('GET', '/_matrix/client/v3/sync', { query: { timeout: 0 }, timeoutMs: withinMs }), (b) => b),
    answered(joiner.members(room.roomId, { timeoutMs: withinMs }), (b) => (b.chunk ?? []).filter((e) => e.content?.membership === 'join').map((e) => e.state_key)),
    answered(joiner.joinedMembers(room.roomId, { timeoutMs: withinMs }), (b) => Object.keys(b.joined ?? {})),
  ]);
  const answers: MemberListDuringResyncObservation['answers'] = [];
  const eagerRoom = sync?.status === 200 ? sync.body.rooms?.join?.[room.roomId] : undefined;
  if (sync?.status === 200 && eagerRoom) {
    const users = new Set((eagerRoom.state?.events ?? []).concat(eagerRoom.timeline?.events ?? []).filter((e) => e.type === 'm.room.member').map((e) => e.state_key!));
    const joined = [...users].filter((u) => membershipIn(sync.body, room.roomId, u) === 'join');
    answers.push({ source: 'eager /sync', joined });
  } else answers.push({ source: 'eager /sync', joined: null, withheld: sync?.status === 200 ? 'the room is left out' : withheldWhy(sync) });
  for (const [source, a] of [['/members', members], ['/joined_members', joinedMembers]] as const) {
    answers.push(a?.status === 200 ? { source, joined: a.body } : { source, joined: null, withheld: withheldWhy(a) });
  }
  const truthJoined = room.members().filter((m) => m.membership === 'join').map((m) => m.userId);
  return { truthJoined, answers };
}
