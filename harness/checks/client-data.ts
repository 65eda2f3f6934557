/**
 * Whatever the candidate's client API answers is judged against the room the remote holds,
 * whatever MSC3902 says about waiting: a member list given during the resync must be the room's
 * member list (CD-01), and a room shown in a /sync without lazy-loading must carry its real
 * membership (CD-02). An answer that did not come (still waiting, refused) is not data: these
 * checks then say "not applicable", and the profile's checks judge the waiting. A user who left,
 * or was kicked or banned, is told so by /sync (CD-04); /messages without a token starts where
 * its direction says (CD-05).
 */
import { defineCheck } from './define.ts';
import type { Check, Evaluation } from './types.ts';

/** One member-list answer of the client API, and who the remote knows to be joined. */
export interface ClientMemberListObservation {
  request: {
    /** `GET /members`, `GET /joined_members`, `GET /state`, `GET /members?at=...` */
    api: string;
    roomId: string;
    /** Whether the candidate's state of the room was partial when the request was sent. */
    duringResync: boolean;
  };
  response: {
    /** HTTP status; undefined when no answer came within the test's bound. */
    status?: number;
    /** Users with membership `join` in the answer (sorted), when it was a 200. */
    joined?: string[];
  };
  truth: {
    /** Users the remote holds as joined at the time of the answer (the candidate's user included). */
    joined: string[];
  };
}

/** The membership of one room as an initial /sync without lazy-loading showed it. */
export interface ClientSyncMembersObservation {
  request: { roomId: string; lazyLoadMembers: boolean; since?: string };
  response: {
    status: number;
    /** Whether the room was under rooms.join. */
    roomShown: boolean;
    /** Users whose latest membership in the room's state and timeline blocks is `join` (sorted). */
    joined: string[];
  };
  truth: { joined: string[] };
}

function difference(got: readonly string[], want: readonly string[]): { missing: string[]; extra: string[] } {
  const g = new Set(got);
  const w = new Set(want);
  return { missing: want.filter((u) => !g.has(u)), extra: got.filter((u) => !w.has(u)) };
}

function describeDifference(d: { missing: string[]; extra: string[] }): string {
  return [d.missing.length ? `left out ${d.missing.length}: ${d.missing.slice(0, 6).join(', ')}` : '', d.extra.length ? `not joined: ${d.extra.slice(0, 6).join(', ')}` : '']
    .filter(Boolean)
    .join('; ');
}

export const memberListEqualsTruth: Check<ClientMemberListObservation> = defineCheck({
  id: 'client/member-list-equals-truth',
  requirement: 'CD-01',
  title: 'a member list the client API answers (200) lists exactly the users the remote holds as joined',
  evaluate: (o): Evaluation => {
    if (o.response.status === undefined) return { notApplicable: `${o.request.api} gave no answer within the test's bound` };
    if (o.response.status !== 200) return { notApplicable: `${o.request.api} answered HTTP ${o.response.status}, not a member list` };
    if (!o.response.joined) return { ok: false, reason: `${o.request.api} answered 200 without a readable member list`, expected: 'a member list', observed: o.response };
    const d = difference(o.response.joined, o.truth.joined);
    if (d.missing.length === 0 && d.extra.length === 0) return { ok: true };
    return {
      ok: false,
      reason: `${o.request.api}${o.request.duringResync ? ' (asked during the resync)' : ''} ${describeDifference(d)}`,
      expected: `joined: ${JSON.stringify(o.truth.joined)}`,
      observed: { joined: o.response.joined },
    };
  },
  controls: [
    { name: 'every member but one left out', mutate: (o) => ({ ...o, response: { ...o.response, joined: (o.response.joined ?? []).slice(0, 1) } }) },
    { name: 'a stranger listed', mutate: (o) => ({ ...o, response: { ...o.response, joined: [...(o.response.joined ?? []), '@stranger:elsewhere.invalid'].sort() } }) },
  ],
});

export const eagerSyncMembersEqualTruth: Check<ClientSyncMembersObservation> = defineCheck({
  id: 'client/eager-sync-members-equal-truth',
  requirement: 'CD-02',
  title: 'a room shown in an initial /sync without lazy-loading has the joined members the remote holds',
  evaluate: (o): Evaluation => {
    if (o.request.lazyLoadMembers) return { notApplicable: 'the sync was lazy-loading members' };
    if (o.request.since) return { notApplicable: 'an incremental sync carries changes, not the whole membership' };
    if (o.response.status !== 200) return { notApplicable: `/sync answered HTTP ${o.response.status}` };
    if (!o.response.roomShown) return { notApplicable: 'the room was not in the sync' };
    const d = difference(o.response.joined, o.truth.joined);
    if (d.missing.length === 0 && d.extra.length === 0) return { ok: true };
    return {
      ok: false,
      reason: `the room's membership in /sync ${describeDifference(d)}`,
      expected: `joined: ${JSON.stringify(o.truth.joined)}`,
      observed: { joined: o.response.joined },
    };
  },
  controls: [
    { name: 'remote members left out of the state block', mutate: (o) => ({ ...o, response: { ...o.response, joined: o.response.joined.slice(0, 1) } }) },
  ],
});

/** The room summary of a lazy-loading /sync, and the counts the remote holds. */
export interface ClientSummaryObservation {
  request: { roomId: string; duringResync: boolean };
  response: { roomShown: boolean; summary?: { 'm.joined_member_count'?: unknown; 'm.invited_member_count'?: unknown } };
  truth: { joined: number; invited: number };
}

export const summaryCountsEqualTruth: Check<ClientSummaryObservation> = defineCheck({
  id: 'client/summary-counts-equal-truth',
  requirement: 'LL-08',
  title: "a room summary an initial lazy-loading /sync gives (during the resync or after it) counts the room's joined and invited users",
  evaluate: (o): Evaluation => {
    if (!o.response.roomShown) return { notApplicable: 'the room was not in the sync' };
    const s = o.response.summary ?? {};
    const wrong: string[] = [];
    if (s['m.joined_member_count'] !== o.truth.joined) wrong.push(`m.joined_member_count is ${JSON.stringify(s['m.joined_member_count'])}`);
    if (s['m.invited_member_count'] !== o.truth.invited) wrong.push(`m.invited_member_count is ${JSON.stringify(s['m.invited_member_count'])}`);
    if (wrong.length === 0) return { ok: true };
    return { ok: false, reason: `${wrong.join('; ')}${o.request.duringResync ? ' (during the resync)' : ''}`, expected: `m.joined_member_count ${o.truth.joined}, m.invited_member_count ${o.truth.invited}`, observed: o.response.summary ?? null };
  },
  controls: [
    { name: 'joined count of the partial state', mutate: (o) => ({ ...o, response: { ...o.response, summary: { ...o.response.summary, 'm.joined_member_count': 1 } } }) },
    { name: 'counts missing', mutate: (o) => ({ ...o, response: { ...o.response, summary: {} } }) },
  ],
});

/** Whether a user's incremental /sync listed a room under rooms.leave after the user left it or was removed from it. */
export interface ClientRemovalSyncObservation {
  request: { roomId: string; userId: string; since: string; lazyLoadMembers: boolean };
  /** The change, and who made it: the user (`leave`), or another member locally or over federation. */
  change: { membership: 'leave' | 'kick' | 'ban'; by: 'self' | 'local' | 'remote' };
  /** How long incremental syncs were long-polled for the room to show under rooms.leave. */
  waitedMs: number;
  response: {
    /** Whether a sync within the bound had the room under rooms.leave. */
    shownUnderLeave: boolean;
    /** The membership of the user in that sync's leave section (timeline or state), when it had one. */
    membership?: string;
    /** The last sync body seen when the room never showed (trimmed in the report). */
    lastBody?: unknown;
  };
}

export const removalShownInSync: Check<ClientRemovalSyncObservation> = defineCheck({
  id: 'client/removal-shown-in-sync',
  requirement: 'CD-04',
  title: "after a user leaves a room or is kicked or banned from it, the user's incremental /sync lists the room under rooms.leave",
  evaluate: (o): Evaluation => {
    const expected = `${o.request.roomId} under rooms.leave of an incremental /sync of ${o.request.userId} since ${o.request.since}, within ${o.waitedMs} ms`;
    if (o.response.shownUnderLeave) return { ok: true, observed: o.response.membership === undefined ? null : { membership: o.response.membership } };
    const what = o.change.membership === 'leave' ? 'leave' : `${o.change.membership} by ${o.change.by === 'remote' ? 'a remote member (over federation)' : 'a local member'}`;
    return { ok: false, reason: `after the ${what}, the room was not under rooms.leave of any sync within ${o.waitedMs} ms`, expected, observed: { lastBody: o.response.lastBody ?? null } };
  },
  controls: [
    { name: 'the room never under rooms.leave', mutate: (o) => ({ ...o, response: { shownUnderLeave: false, lastBody: { next_batch: 's1' } } }) },
  ],
});

/** The first page of /messages asked backwards without a `from` token, and the room's newest events. */
export interface ClientMessagesWithoutFromObservation {
  request: { roomId: string; dir: 'b' | 'f'; limit: number };
  response: { status: number; chunk: Array<{ event_id: string; type: string }> };
  /** The room's newest events, all visible to the reader, oldest first: the last ones the test made (nothing came after them). */
  truth: { newestEventIds: string[] };
}

export const messagesWithoutFromStartAtEnd: Check<ClientMessagesWithoutFromObservation> = defineCheck({
  id: 'client/messages-without-from-starts-at-newest',
  requirement: 'CD-05',
  title: '/messages with dir=b and no from starts at the newest visible event and goes back in time',
  evaluate: (o): Evaluation => {
    if (o.request.dir !== 'b') return { notApplicable: 'dir=f: the observation holds the newest events, not the oldest' };
    if (o.response.status !== 200) return { ok: false, reason: `/messages answered HTTP ${o.response.status}`, expected: 'HTTP 200 with a chunk', observed: o.response };
    const want = [...o.truth.newestEventIds].reverse().slice(0, o.request.limit);
    const got = o.response.chunk.map((e) => e.event_id).slice(0, want.length);
    if (got.length === want.length && got.every((id, i) => id === want[i])) return { ok: true };
    const first = o.response.chunk[0];
    return {
      ok: false,
      reason: `dir=b without from: the chunk starts at ${first ? `${first.type} ${first.event_id}` : 'nothing'}, not at the newest visible event going back in time`,
      expected: `chunk starting ${JSON.stringify(want)}`,
      observed: { chunk: o.response.chunk.map((e) => `${e.type} ${e.event_id}`) },
    };
  },
  controls: [
    { name: 'the chunk in chronological order from the oldest', mutate: (o) => ({ ...o, response: { ...o.response, chunk: [{ event_id: '$create', type: 'm.room.create' }, ...[...o.response.chunk].reverse()] } }) },
    { name: 'the newest event left out', mutate: (o) => ({ ...o, response: { ...o.response, chunk: o.response.chunk.slice(1) } }) },
    { name: 'answered 403', mutate: (o) => ({ ...o, response: { status: 403, chunk: [] } }) },
  ],
});

export const clientDataChecks = {
  'client-member-list': [memberListEqualsTruth] as ReadonlyArray<Check<ClientMemberListObservation>>,
  'client-sync-members': [eagerSyncMembersEqualTruth] as ReadonlyArray<Check<ClientSyncMembersObservation>>,
  'client-summary': [summaryCountsEqualTruth] as ReadonlyArray<Check<ClientSummaryObservation>>,
  'client-removal-sync': [removalShownInSync] as ReadonlyArray<Check<ClientRemovalSyncObservation>>,
  'client-messages-without-from': [messagesWithoutFromStartAtEnd] as ReadonlyArray<Check<ClientMessagesWithoutFromObservation>>,
};

/** Passing observations for the negative-control self-test. */
export function clientDataPassingObservations(): Array<
  | { name: string; kind: 'client-member-list'; observation: ClientMemberListObservation }
  | { name: string; kind: 'client-sync-members'; observation: ClientSyncMembersObservation }
  | { name: string; kind: 'client-summary'; observation: ClientSummaryObservation }
  | { name: string; kind: 'client-removal-sync'; observation: ClientRemovalSyncObservation }
  | { name: string; kind: 'client-messages-without-from'; observation: ClientMessagesWithoutFromObservation }
> {
  const joined = ['@alice:remote.invalid', '@bob:remote.invalid', '@joiner:candidate.invalid'].sort();
  return [
    {
      name: '/members after the resync lists every joined member',
      kind: 'client-member-list',
      observation: { request: { api: 'GET /members', roomId: '!r:remote.invalid', duringResync: true }, response: { status: 200, joined }, truth: { joined } },
    },
    {
      name: 'an eager initial sync shows the whole membership',
      kind: 'client-sync-members',
      observation: { request: { roomId: '!r:remote.invalid', lazyLoadMembers: false }, response: { status: 200, roomShown: true, joined }, truth: { joined } },
    },
    {
      name: 'a summary during the resync counting every member',
      kind: 'client-summary',
      observation: { request: { roomId: '!r:remote.invalid', duringResync: true }, response: { roomShown: true, summary: { 'm.joined_member_count': 3, 'm.invited_member_count': 1 } }, truth: { joined: 3, invited: 1 } },
    },
    {
      name: 'a ban over federation shown under rooms.leave',
      kind: 'client-removal-sync',
      observation: { request: { roomId: '!r:remote.invalid', userId: '@joiner:candidate.invalid', since: 's1', lazyLoadMembers: true }, change: { membership: 'ban', by: 'remote' }, waitedMs: 20_000, response: { shownUnderLeave: true, membership: 'ban' } },
    },
    {
      name: '/messages?dir=b without from opening with the newest events',
      kind: 'client-messages-without-from',
      observation: {
        request: { roomId: '!r:candidate.invalid', dir: 'b', limit: 3 },
        response: { status: 200, chunk: [{ event_id: '$m2', type: 'm.room.message' }, { event_id: '$m1', type: 'm.room.message' }, { event_id: '$topic', type: 'm.room.topic' }] },
        truth: { newestEventIds: ['$topic', '$m1', '$m2'] },
      },
    },
  ];
}
