/**
 * The post-resync audit: once a joining candidate says its resync is over, its whole view of the
 * room must be what a full join would have given. Each check compares one part of that view with
 * the truth (the resident's room model), through the pure functions of harness/audit/compare.ts.
 *
 * Which requirement each part rests on (the catalogue has no entries for the client-server
 * endpoints themselves):
 * - client /state, /members and /joined_members: ST-01 (MUST) — the fully resolved state of the
 *   room; a client's view of current state is that state, and a joined server has no excuse to
 *   serve another once it holds the full state (MSC3902's resync promises the same, JS-03/JS-04,
 *   but only at MSC level);
 * - summary counts: LL-08 (MUST); heroes: LL-07 (its MUST clauses here; its SHOULD clauses in
 *   `heroesChosenFromMembers`, judged as SHOULD by harness/audit/run.ts);
 * - senders' memberships in a lazy-loaded /messages page: LL-04 (MUST);
 * - during the resync, a member list presented as complete while members are missing: LL-03
 *   (MUST) — the spec promises a client that does not lazy-load every membership event, and
 *   /members is where its lazy-loading section sends clients for that same complete list; the
 *   MSC texts (JS-08, C-7) say how to avoid it (wait), and are recorded separately.
 */
import { defineCheck } from './define.ts';
import type { Check, Evaluation } from './types.ts';
import {
  describeDifferences,
  heroMustProblems,
  heroShouldProblems,
  noDifferences,
  pageSenderProblems,
  setDifferences,
  stateDifferences,
  usersWithMembership,
  type PageSender,
  type RoomSummary,
  type StateEntry,
} from '../audit/compare.ts';

/** An answer of the candidate: its status, or null when none came within the bound. */
export type Answered<T> = { status: number; body: T } | null;

/** What the candidate shows of one room once its resync is over, with the truth beside it. */
export interface AuditObservation {
  roomId: string;
  /** The candidate's user who joined. */
  user: string;
  truth: {
    /** Current state of the room on the resident. */
    state: StateEntry[];
    /** Neither m.room.name nor m.room.canonical_alias in state. */
    nameless: boolean;
  };
  /** `GET /rooms/{roomId}/state`, reduced to state entries. */
  clientState: Answered<StateEntry[]>;
  /** `GET /rooms/{roomId}/members`, reduced to state entries. */
  members: Answered<StateEntry[]>;
  /** `GET /rooms/{roomId}/joined_members`: the joined user IDs. */
  joinedMembers: Answered<string[]>;
  /** An initial lazy-loading /sync: the room's summary and the users whose membership it carries; null when the room was absent. */
  lazySync: { summary: RoomSummary | undefined; memberEventsShown: string[] } | null;
  /** A lazy-loaded `/messages` page (newest first). */
  messages: Answered<{ senders: PageSender[]; stateMembers: Record<string, string> }>;
}

const answerProblem = (name: string, a: Answered<unknown>): string | undefined =>
  a === null ? `${name} gave no answer` : a.status !== 200 ? `${name} answered HTTP ${a.status}` : undefined;

export const clientStateEqualsTruth: Check<AuditObservation> = defineCheck({
  id: 'audit/client-state-equals-truth',
  requirement: 'ST-01',
  title: 'after the resync, GET /rooms/{roomId}/state holds exactly the room\'s current state: every type and state key, with the same event and content',
  evaluate: (o): Evaluation => {
    const expected = `HTTP 200 with the ${o.truth.state.length} state events of the room's current state`;
    const bad = answerProblem('/state', o.clientState);
    if (bad) return { ok: false, reason: bad, expected, observed: o.clientState };
    const d = stateDifferences(o.truth.state, o.clientState!.body);
    if (noDifferences(d)) return { ok: true };
    return { ok: false, reason: `the client's state differs from the room's: ${describeDifferences(d)}`, expected, observed: d };
  },
  controls: [
    { name: 'a member event left out', mutate: (o) => ({ ...o, clientState: { status: 200, body: o.clientState!.body.filter((e) => e.type !== 'm.room.member' || e.stateKey === o.user) } }) },
    { name: 'an extra state event', mutate: (o) => ({ ...o, clientState: { status: 200, body: [...o.clientState!.body, { type: 'm.room.topic', stateKey: '', eventId: '$invented', content: { topic: 'x' } }] } }) },
    {
      name: 'a content changed',
      mutate: (o) => ({ ...o, clientState: { status: 200, body: o.clientState!.body.map((e) => (e.type === 'm.room.join_rules' ? { ...e, content: { join_rule: 'invite' } } : e)) } }),
    },
    { name: 'answered 403', mutate: (o) => ({ ...o, clientState: { status: 403, body: [] } }) },
  ],
});

export const membersEqualTruth: Check<AuditObservation> = defineCheck({
  id: 'audit/members-equal-truth',
  requirement: 'ST-01',
  title: 'after the resync, GET /rooms/{roomId}/members lists exactly the membership events of the room\'s current state',
  evaluate: (o): Evaluation => {
    const truth = o.truth.state.filter((e) => e.type === 'm.room.member');
    const expected = `HTTP 200 with the ${truth.length} membership events of the current state`;
    const bad = answerProblem('/members', o.members);
    if (bad) return { ok: false, reason: bad, expected, observed: o.members };
    const d = stateDifferences(truth, o.members!.body);
    if (noDifferences(d)) return { ok: true };
    return { ok: false, reason: `/members differs from the room's membership: ${describeDifferences(d)}`, expected, observed: d };
  },
  controls: [
    { name: 'a member left out', mutate: (o) => ({ ...o, members: { status: 200, body: o.members!.body.filter((e) => e.stateKey === o.user) } }) },
    { name: 'a stale membership', mutate: (o) => ({ ...o, members: { status: 200, body: o.members!.body.map((e) => (e.stateKey === o.user ? e : { ...e, eventId: '$older', content: { membership: 'leave' } })) } }) },
    { name: 'no answer', mutate: (o) => ({ ...o, members: null }) },
  ],
});

export const joinedMembersEqualTruth: Check<AuditObservation> = defineCheck({
  id: 'audit/joined-members-equal-truth',
  requirement: 'ST-01',
  title: 'after the resync, GET /rooms/{roomId}/joined_members names exactly the users joined in the room\'s current state',
  evaluate: (o): Evaluation => {
    const truth = usersWithMembership(o.truth.state, 'join');
    const expected = `HTTP 200 naming the ${truth.length} joined users`;
    const bad = answerProblem('/joined_members', o.joinedMembers);
    if (bad) return { ok: false, reason: bad, expected, observed: o.joinedMembers };
    const d = setDifferences(truth, o.joinedMembers!.body);
    if (d.missing.length === 0 && d.extra.length === 0) return { ok: true };
    return { ok: false, reason: `/joined_members: ${d.missing.length} joined users missing, ${d.extra.length} not joined listed`, expected, observed: d };
  },
  controls: [
    { name: 'a joined member missing', mutate: (o) => ({ ...o, joinedMembers: { status: 200, body: [o.user] } }) },
    { name: 'a stranger listed', mutate: (o) => ({ ...o, joinedMembers: { status: 200, body: [...o.joinedMembers!.body, '@stranger:elsewhere.test'] } }) },
    { name: 'answered 500', mutate: (o) => ({ ...o, joinedMembers: { status: 500, body: [] } }) },
  ],
});

export const summaryCountsEqualTruth: Check<AuditObservation> = defineCheck({
  id: 'audit/summary-counts-equal-truth',
  requirement: 'LL-08',
  title: 'after the resync, an initial /sync\'s room summary counts the joined (syncing user included) and invited users of the room',
  evaluate: (o): Evaluation => {
    const joined = usersWithMembership(o.truth.state, 'join').length;
    const invited = usersWithMembership(o.truth.state, 'invite').length;
    const expected = `summary with m.joined_member_count ${joined} and m.invited_member_count ${invited} (required in an initial sync)`;
    if (!o.lazySync) return { ok: false, reason: 'the room is not in the initial lazy-loading sync', expected, observed: null };
    const s = o.lazySync.summary ?? {};
    const wrong: string[] = [];
    if (s['m.joined_member_count'] !== joined) wrong.push(`m.joined_member_count is ${JSON.stringify(s['m.joined_member_count'])}`);
    if (s['m.invited_member_count'] !== invited) wrong.push(`m.invited_member_count is ${JSON.stringify(s['m.invited_member_count'])}`);
    return wrong.length ? { ok: false, reason: wrong.join('; '), expected, observed: o.lazySync.summary ?? null } : { ok: true };
  },
  controls: [
    { name: 'joined count from partial state', mutate: (o) => ({ ...o, lazySync: { ...o.lazySync!, summary: { ...o.lazySync!.summary, 'm.joined_member_count': 1 } } }) },
    { name: 'invited count missing', mutate: (o) => ({ ...o, lazySync: { ...o.lazySync!, summary: { 'm.joined_member_count': o.lazySync!.summary?.['m.joined_member_count'] } } }) },
    { name: 'room absent', mutate: (o) => ({ ...o, lazySync: null }) },
  ],
});

function otherMembers(o: AuditObservation, memberships: string[]): string[] {
  return o.truth.state.filter((e) => e.type === 'm.room.member' && e.stateKey !== o.user && memberships.includes(e.content.membership as string)).map((e) => e.stateKey);
}

export const heroesMustClauses: Check<AuditObservation> = defineCheck({
  id: 'audit/heroes-must-clauses',
  requirement: 'LL-07',
  title: 'after the resync, m.heroes is given for a nameless room, never names the syncing user, and each hero\'s membership is in the lazy-loading sync',
  evaluate: (o): Evaluation => {
    const expected = 'm.heroes present when the room has no name or alias, without the syncing user, with each hero\'s membership event in the response';
    if (!o.lazySync) return { ok: false, reason: 'the room is not in the initial lazy-loading sync', expected, observed: null };
    const problems = heroMustProblems({
      summary: o.lazySync.summary,
      nameless: o.truth.nameless,
      forUser: o.user,
      otherMembers: otherMembers(o, ['join', 'invite', 'leave', 'ban']),
      memberEventsShown: o.lazySync.memberEventsShown,
    });
    return problems.length ? { ok: false, reason: problems.join('; '), expected, observed: o.lazySync } : { ok: true };
  },
  controls: [
    { name: 'the syncing user among the heroes', mutate: (o) => ({ ...o, lazySync: { ...o.lazySync!, summary: { ...o.lazySync!.summary, 'm.heroes': [o.user, ...(o.lazySync!.summary?.['m.heroes'] ?? [])] } } }) },
    { name: 'heroes left out of a nameless room', mutate: (o) => ({ ...o, truth: { ...o.truth, nameless: true }, lazySync: { ...o.lazySync!, summary: { 'm.joined_member_count': 2, 'm.invited_member_count': 0 } } }) },
    {
      name: 'a hero without membership event',
      mutate: (o) => ({ ...o, lazySync: { summary: { ...o.lazySync!.summary, 'm.heroes': ['@hero:elsewhere.test'] }, memberEventsShown: o.lazySync!.memberEventsShown.filter((u) => u === o.user) } }),
    },
  ],
});

export const heroesChosenFromMembers: Check<AuditObservation> = defineCheck({
  id: 'audit/heroes-chosen-from-members',
  requirement: 'LL-07a',
  title: 'after the resync, m.heroes names joined or invited members (left or banned only when none are), at least five when five are available (SHOULD)',
  evaluate: (o): Evaluation => {
    const joinedOrInvited = otherMembers(o, ['join', 'invite']);
    const leftOrBanned = otherMembers(o, ['leave', 'ban']);
    const expected = `up to five of ${JSON.stringify((joinedOrInvited.length ? joinedOrInvited : leftOrBanned).slice(0, 10))}${joinedOrInvited.length > 10 ? ' …' : ''}`;
    if (!o.lazySync) return { ok: false, reason: 'the room is not in the initial lazy-loading sync', expected, observed: null };
    const heroes = o.lazySync.summary?.['m.heroes'];
    if (heroes === undefined && !o.truth.nameless) return { notApplicable: 'the room has a name or an alias and the candidate sent no heroes' };
    const problems = heroShouldProblems({ heroes, forUser: o.user, joinedOrInvited, leftOrBanned });
    return problems.length ? { ok: false, reason: problems.join('; '), expected, observed: heroes ?? null } : { ok: true };
  },
  controls: [
    { name: 'a hero who left', mutate: (o) => ({ ...o, lazySync: { ...o.lazySync!, summary: { ...o.lazySync!.summary, 'm.heroes': ['@gone:elsewhere.test'] } } }) },
    { name: 'too few heroes', mutate: (o) => ({ ...o, lazySync: { ...o.lazySync!, summary: { ...o.lazySync!.summary, 'm.heroes': [] } } }) },
  ],
});

export const messagesSendersHaveMembership: Check<AuditObservation> = defineCheck({
  id: 'audit/messages-senders-have-membership',
  requirement: 'LL-04',
  title: 'after the resync, a lazy-loaded /messages page carries in "state" the membership event of every sender of its events',
  evaluate: (o): Evaluation => {
    const expected = 'HTTP 200 with the membership event of each sender of the chunk in "state"';
    const bad = answerProblem('/messages', o.messages);
    if (bad) return { ok: false, reason: bad, expected, observed: o.messages };
    const problems = pageSenderProblems(o.messages!.body.senders, o.messages!.body.stateMembers);
    return problems.length ? { ok: false, reason: problems.join('; '), expected, observed: o.messages!.body } : { ok: true };
  },
  controls: [
    { name: 'state without members', mutate: (o) => ({ ...o, messages: { status: 200, body: { ...o.messages!.body, stateMembers: {} } } }) },
    {
      name: 'a wrong membership event',
      mutate: (o) => ({ ...o, messages: { status: 200, body: { ...o.messages!.body, stateMembers: Object.fromEntries(Object.keys(o.messages!.body.stateMembers).map((u) => [u, '$wrong'])) } } }),
    },
    { name: 'answered 403', mutate: (o) => ({ ...o, messages: { status: 403, body: { senders: [], stateMembers: {} } } }) },
  ],
});

/**
 * What the candidate's client API said of the room's members while the resync was still running:
 * each of eager /sync, /members and /joined_members either withheld the list (the room left out,
 * no answer within the bound, an error) or gave the joined users it gave.
 */
export interface MemberListDuringResyncObservation {
  /** Users joined on the resident (the truth). */
  truthJoined: string[];
  answers: Array<{
    /** `eager /sync`, `/members`, `/joined_members`. */
    source: string;
    /** Joined users as presented, or null when the list was withheld (and why). */
    joined: string[] | null;
    withheld?: string;
  }>;
}

export const memberListNotPresentedIncomplete: Check<MemberListDuringResyncObservation> = defineCheck({
  id: 'audit/member-list-not-presented-incomplete',
  requirement: 'LL-03',
  title: 'during the resync, eager /sync, /members and /joined_members either withhold the member list or give it complete, never a partial list as if whole',
  evaluate: (o): Evaluation => {
    const incomplete = o.answers
      .filter((a) => a.joined !== null)
      .map((a) => ({ source: a.source, missing: setDifferences(o.truthJoined, a.joined!).missing }))
      .filter((a) => a.missing.length > 0);
    if (incomplete.length === 0) return { ok: true };
    return {
      ok: false,
      reason: incomplete.map((a) => `${a.source} presented the member list without ${a.missing.length} joined users`).join('; '),
      expected: `each list withheld until the resync completes (wait, leave the room out, or refuse), or complete with the ${o.truthJoined.length} joined users`,
      observed: incomplete,
    };
  },
  controls: [
    { name: 'members answered from partial state', mutate: (o) => ({ ...o, answers: [...o.answers, { source: '/members', joined: o.truthJoined.slice(0, 1) }] }) },
  ],
});

export const auditChecks = {
  audit: [clientStateEqualsTruth, membersEqualTruth, joinedMembersEqualTruth, summaryCountsEqualTruth, heroesMustClauses, heroesChosenFromMembers, messagesSendersHaveMembership],
  'member-list-during-resync': [memberListNotPresentedIncomplete],
} as const;
