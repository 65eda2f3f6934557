/**
 * Pure comparisons between what a candidate shows of a room (client API, federation) and the
 * room's truth (the remote's room model). No I/O: harness/audit/gather.ts makes the observation,
 * harness/checks/audit-checks.ts turns these differences into verdicts.
 */

/** One state event of the truth or of an answer, reduced to what is compared. */
export interface StateEntry {
  type: string;
  stateKey: string;
  eventId: string;
  content: Record<string, unknown>;
}

/** A (type, state key) whose event differs between truth and observation. */
export interface ChangedEntry {
  type: string;
  stateKey: string;
  expected: { eventId: string; content: Record<string, unknown> };
  observed: { eventId: string; content: Record<string, unknown> };
}

export interface StateDifferences {
  /** In the truth, absent from the observation. */
  missing: Array<{ type: string; stateKey: string; eventId: string }>;
  /** In the observation, absent from the truth. */
  extra: Array<{ type: string; stateKey: string; eventId: string }>;
  /** Both have the key, with another event or another content. */
  changed: ChangedEntry[];
}

const keyOf = (type: string, stateKey: string) => JSON.stringify([type, stateKey]);

/** Deep equality of JSON values (object key order ignored). */
export function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a)) {
    const bs = b as unknown[];
    return a.length === bs.length && a.every((v, i) => jsonEqual(v, bs[i]));
  }
  const ak = Object.keys(a);
  const bo = b as Record<string, unknown>;
  return ak.length === Object.keys(bo).length && ak.every((k) => k in bo && jsonEqual((a as Record<string, unknown>)[k], bo[k]));
}

/** Differences between two sets of state events, keyed by (type, state key); event ID and content both count. */
export function stateDifferences(truth: readonly StateEntry[], observed: readonly StateEntry[]): StateDifferences {
  const byKey = new Map(observed.map((e) => [keyOf(e.type, e.stateKey), e]));
  const truthKeys = new Set<string>();
  const out: StateDifferences = { missing: [], extra: [], changed: [] };
  for (const t of truth) {
    const k = keyOf(t.type, t.stateKey);
    truthKeys.add(k);
    const o = byKey.get(k);
    if (!o) out.missing.push({ type: t.type, stateKey: t.stateKey, eventId: t.eventId });
    else if (o.eventId !== t.eventId || !jsonEqual(o.content, t.content)) {
      out.changed.push({ type: t.type, stateKey: t.stateKey, expected: { eventId: t.eventId, content: t.content }, observed: { eventId: o.eventId, content: o.content } });
    }
  }
  for (const o of observed) if (!truthKeys.has(keyOf(o.type, o.stateKey))) out.extra.push({ type: o.type, stateKey: o.stateKey, eventId: o.eventId });
  return out;
}

export function noDifferences(d: StateDifferences): boolean {
  return d.missing.length === 0 && d.extra.length === 0 && d.changed.length === 0;
}

/** "2 missing, 1 extra, 1 changed", for reasons. */
export function describeDifferences(d: StateDifferences): string {
  return [`${d.missing.length} missing`, `${d.extra.length} extra`, `${d.changed.length} changed`].join(', ');
}

/** Users whose membership is `membership` in a set of state events. */
export function usersWithMembership(state: readonly StateEntry[], membership: string): string[] {
  return state.filter((e) => e.type === 'm.room.member' && e.content.membership === membership).map((e) => e.stateKey).sort();
}

/** Members of one set missing from the other, both ways. */
export function setDifferences(expected: readonly string[], observed: readonly string[]): { missing: string[]; extra: string[] } {
  const o = new Set(observed);
  const e = new Set(expected);
  return { missing: expected.filter((x) => !o.has(x)).sort(), extra: [...o].filter((x) => !e.has(x)).sort() };
}

/** The room summary of a /sync body for one room (fields absent when the server left them out). */
export interface RoomSummary {
  'm.heroes'?: string[];
  'm.joined_member_count'?: number;
  'm.invited_member_count'?: number;
}

/**
 * Breaks of the MUST clauses about heroes (client-server /sync `summary.m.heroes`): required when
 * the room has neither a name nor a canonical alias; never the syncing user; with lazy-loading on,
 * each hero's membership event is in the response (`memberEventsShown`: users whose membership
 * event the sync body carries). Empty when all hold.
 */
export function heroMustProblems(opts: {
  summary: RoomSummary | undefined;
  nameless: boolean;
  forUser: string;
  /** Other users with any membership in the truth: with none, there is nobody to name the room after. */
  otherMembers: readonly string[];
  memberEventsShown: readonly string[];
}): string[] {
  const heroes = opts.summary?.['m.heroes'];
  const problems: string[] = [];
  if (heroes === undefined) {
    if (opts.nameless && opts.otherMembers.length > 0) problems.push('m.heroes is absent although the room has neither m.room.name nor m.room.canonical_alias');
    return problems;
  }
  if (heroes.includes(opts.forUser)) problems.push(`m.heroes includes the syncing user ${opts.forUser}`);
  if (opts.nameless && heroes.length === 0 && opts.otherMembers.length > 0) problems.push('m.heroes is empty in a nameless room with other members');
  const shown = new Set(opts.memberEventsShown);
  const unshown = heroes.filter((h) => h !== opts.forUser && !shown.has(h));
  if (unshown.length) problems.push(`the membership events of heroes ${unshown.join(', ')} are not in the lazy-loading sync`);
  return problems;
}

/**
 * Breaks of the SHOULD clauses about heroes: drawn from the joined or invited members other than
 * the syncing user (from the left and banned ones only when there are none), and no fewer than
 * five unless fewer are available. Which five is left to the candidate: "stream ordering" is each
 * server's own, so a joiner's order legitimately differs from the resident's.
 */
export function heroShouldProblems(opts: {
  heroes: readonly string[] | undefined;
  forUser: string;
  /** Other users by membership in the truth. */
  joinedOrInvited: readonly string[];
  leftOrBanned: readonly string[];
}): string[] {
  if (opts.heroes === undefined) return [];
  const pool = opts.joinedOrInvited.length ? opts.joinedOrInvited : opts.leftOrBanned;
  const allowed = new Set(pool);
  const problems: string[] = [];
  const outside = opts.heroes.filter((h) => h !== opts.forUser && !allowed.has(h));
  if (outside.length) {
    problems.push(`heroes ${outside.join(', ')} are not among the ${opts.joinedOrInvited.length ? 'joined or invited' : 'left or banned'} members`);
  }
  const wanted = Math.min(5, pool.length);
  const distinct = new Set(opts.heroes.filter((h) => allowed.has(h))).size;
  if (distinct < wanted) problems.push(`${distinct} heroes given where ${wanted} are available`);
  return problems;
}

/** A sender of a lazy-loaded /messages page, with the membership events that may stand for it. */
export interface PageSender {
  sender: string;
  /** Events of the page sent by this user. */
  eventIds: string[];
  /** The sender's membership event in the truth's state at any of those events. */
  acceptable: string[];
}

/**
 * Senders of a lazy-loaded page whose membership is missing from the page's `state` (or shown with
 * an event the truth never had as their membership at those events).
 */
export function pageSenderProblems(senders: readonly PageSender[], stateMembers: Readonly<Record<string, string>>): string[] {
  const problems: string[] = [];
  for (const s of senders) {
    const shown = stateMembers[s.sender];
    if (shown === undefined) problems.push(`no membership event for ${s.sender} (sender of ${s.eventIds.join(', ')})`);
    else if (s.acceptable.length && !s.acceptable.includes(shown)) problems.push(`${s.sender}'s membership is shown as ${shown}, expected one of ${s.acceptable.join(', ')}`);
  }
  return problems;
}
