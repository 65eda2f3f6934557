/**
 * Resident-side checks over one `PUT /_matrix/federation/v2/send_join` exchange (MSC3706,
 * MSC3943, spec v1.6+). Each is pure; its controls are mutations of a passing observation that
 * must make it fail.
 */
import { defineCheck, errcodeOfBody } from './define.ts';
import { pduSchemaFor, validate } from './schema.ts';
import { sendJoinRefusalChecks } from './send-join-refusals.ts';
import type { Check, Evaluation } from './types.ts';
import {
  keyOf,
  membersOmittedInFact,
  missingFromState,
  optedIn,
  safeEventId,
  serverOf,
  viewOf,
  withBody,
  withTruth,
  type SendJoinObservation,
  type SendJoinView,
  type WirePdu,
} from './send-join-observation.ts';

type SendJoinCheck = Check<SendJoinObservation>;

/** Runs `judge` on the readable answer, or says why the answer could not be read. */
function onView(o: SendJoinObservation, judge: (v: SendJoinView) => Evaluation): Evaluation {
  const read = viewOf(o);
  return 'unusable' in read ? { notApplicable: read.unusable } : judge(read.view);
}

const arr = (body: Record<string, unknown>, key: string) => body[key] as WirePdu[];
const isMember = (pdu: WirePdu) => pdu.type === 'm.room.member';
const describeEvent = (pdu: WirePdu) => `${String(pdu.type)}|${String(pdu.state_key)}`;
const NAME_OR_ALIAS = [keyOf('m.room.name', ''), keyOf('m.room.canonical_alias', '')];

// ---- SJ-11: the answer and its state --------------------------------------------------------------

export const responseWellFormed: SendJoinCheck = defineCheck({
  id: 'send-join/response-well-formed',
  requirement: 'SJ-11',
  title: 'a valid join is answered 200 with state and auth_chain as arrays of PDUs of the room version',
  evaluate(o) {
    const value = o.request.omitMembers;
    if (value !== undefined && value !== 'true' && value !== 'false') {
      return { notApplicable: `the request was invalid on purpose (omit_members=${JSON.stringify(value)})` };
    }
    if (o.request.invalidJoin) return { notApplicable: `the join event was invalid on purpose (${o.request.invalidJoin})` };
    const expected = 'HTTP 200 with a body matching schemas/send-join-v2-response.schema.json and every event matching the room version PDU schema';
    if (o.response.status !== 200) {
      return { ok: false, reason: `the join was answered HTTP ${o.response.status}`, expected, observed: o.response };
    }
    const result = validate('send-join-v2-response', o.response.body);
    const errors = new Set(result.ok ? [] : result.errors);
    const pduSchema = pduSchemaFor(o.request.roomVersion);
    const body = o.response.body as Record<string, unknown> | null;
    if (pduSchema && body && typeof body === 'object') {
      for (const field of ['state', 'auth_chain'] as const) {
        const events = body[field];
        if (!Array.isArray(events)) continue;
        events.forEach((ev, i) => {
          const r = validate(pduSchema, ev);
          // The room-version schema reports paths inside the event: prefix them with its place.
          if (!r.ok) r.errors.forEach((e) => errors.add(`/${field}/${i}${e.startsWith('/:') ? e.slice(1) : e}`));
        });
      }
    }
    if (errors.size === 0) return { ok: true };
    const list = [...errors];
    return { ok: false, reason: `the answer does not match the schema: ${list.slice(0, 8).join('; ')}${list.length > 8 ? ` (+${list.length - 8} more)` : ''}`, expected, observed: list };
  },
  controls: [
    { name: 'answered 500', mutate: (o) => ({ ...o, response: { status: 500, body: { errcode: 'M_UNKNOWN', error: 'boom' } } }) },
    { name: 'state missing', mutate: (o) => withBody(o, (b) => { delete b.state; }) },
    { name: 'auth_chain is an object', mutate: (o) => withBody(o, (b) => { b.auth_chain = {}; }) },
    { name: 'a state event has a numeric content hash', mutate: (o) => withBody(o, (b) => { (arr(b, 'state')[0].hashes as Record<string, unknown>).sha256 = 5; }) },
    { name: 'a state event has a string depth', mutate: (o) => withBody(o, (b) => { arr(b, 'state')[0].depth = '3'; }) },
    { name: 'a state event sender is not a user ID', mutate: (o) => withBody(o, (b) => { arr(b, 'state')[0].sender = 'alice'; }) },
  ],
});

export const stateIsRoomStateBeforeJoin: SendJoinCheck = defineCheck({
  id: 'send-join/state-is-room-state-before-join',
  requirement: 'SJ-11',
  title: 'state holds state events of this room, one per (type, state_key), with the create event and without the join itself',
  evaluate: (o) => onView(o, (v) => {
    const problems: string[] = [];
    const seen = new Map<string, number>();
    const joinId = safeEventId(o, o.request.joinEvent);
    v.state.forEach((pdu, i) => {
      if (typeof pdu.state_key !== 'string') problems.push(`state[${i}] (${String(pdu.type)}) has no state_key: not a state event`);
      if (pdu.room_id !== o.request.roomId) problems.push(`state[${i}] belongs to room ${JSON.stringify(pdu.room_id)}`);
      const key = keyOf(pdu.type, pdu.state_key);
      if (seen.has(key)) problems.push(`state[${i}] and state[${seen.get(key)}] are both ${describeEvent(pdu)}`);
      else seen.set(key, i);
      if (safeEventId(o, pdu) === joinId) problems.push(`state[${i}] is the join event itself, which is not part of the state before it`);
    });
    if (!seen.has(keyOf('m.room.create', ''))) problems.push('no m.room.create event');
    if (problems.length === 0) return { ok: true };
    return {
      ok: false,
      reason: problems.slice(0, 6).join('; '),
      expected: `state events of ${o.request.roomId}, unique per (type, state_key), including m.room.create, excluding the join ${joinId}`,
      observed: v.state.map(describeEvent),
    };
  }),
  controls: [
    { name: 'create event removed', mutate: (o) => withBody(o, (b) => { b.state = arr(b, 'state').filter((e) => e.type !== 'm.room.create'); }) },
    { name: 'a state key duplicated with other content', mutate: (o) => withBody(o, (b) => { const s = arr(b, 'state'); s.push({ ...s[s.length - 1], content: { duplicated: true } }); }) },
    { name: 'the join event itself added', mutate: (o) => withBody(o, (b) => { arr(b, 'state').push(structuredClone(o.request.joinEvent)); }) },
    { name: 'an event of another room', mutate: (o) => withBody(o, (b) => { arr(b, 'state')[1].room_id = '!elsewhere:resident.test'; }) },
    { name: 'a message event among the state', mutate: (o) => withBody(o, (b) => { const s = arr(b, 'state'); const m = structuredClone(s[1]); delete m.state_key; m.type = 'm.room.message'; s.push(m); }) },
  ],
});

// ---- SJ-08, SJ-12, SJ-13, SJ-14: which state is returned, and the flag -----------------------------

export const membersKeptWithoutOptIn: SendJoinCheck = defineCheck({
  id: 'send-join/members-kept-without-opt-in',
  requirement: 'SJ-08',
  title: 'without omit_members=true, every current membership is in state',
  evaluate: (o) => {
    if (optedIn(o)) return { notApplicable: 'the request had omit_members=true, so members may be omitted' };
    return onView(o, (v) => {
      const fact = membersOmittedInFact(o, v);
      if (!fact.omitted) return { ok: true };
      return {
        ok: false,
        reason: fact.exact
          ? `membership events of ${fact.which.join(', ')} are missing from state although the request did not opt in (omit_members was ${JSON.stringify(o.request.omitMembers ?? null)})`
          : 'state holds no m.room.member event at all although the request did not opt in',
        expected: 'every m.room.member event of the current state',
        observed: v.state.filter(isMember).map(describeEvent),
      };
    });
  },
  controls: [
    { name: 'one membership dropped', mutate: (o) => withBody(o, (b) => { const s = arr(b, 'state'); s.splice(s.findIndex(isMember), 1); }) },
    { name: 'all memberships dropped', mutate: (o) => withBody(o, (b) => { b.state = arr(b, 'state').filter((e) => !isMember(e)); }) },
  ],
});

export const membersOmittedFlagged: SendJoinCheck = defineCheck({
  id: 'send-join/members-omitted-flagged',
  requirement: 'SJ-12',
  title: 'when membership events were left out, members_omitted is true',
  evaluate: (o) => onView(o, (v) => {
    const fact = membersOmittedInFact(o, v);
    if (!fact.omitted) return { notApplicable: fact.exact ? 'no membership event was left out' : 'no ground truth and state has memberships: cannot tell whether any was left out' };
    if (v.membersOmitted === true) return { ok: true };
    return {
      ok: false,
      reason: `membership events were left out of state${fact.which.length ? ` (${fact.which.join(', ')})` : ''} but ${v.membersOmittedField} is ${JSON.stringify(v.membersOmitted ?? null)}`,
      expected: `${v.membersOmittedField}: true`,
      observed: { [v.membersOmittedField]: v.membersOmitted ?? null },
    };
  }),
  controls: [
    { name: 'flag false', mutate: (o) => withBody(o, (b) => { b[o.request.unstablePrefix ? 'org.matrix.msc3706.partial_state' : 'members_omitted'] = false; }) },
    { name: 'flag absent', mutate: (o) => withBody(o, (b) => { delete b[o.request.unstablePrefix ? 'org.matrix.msc3706.partial_state' : 'members_omitted']; }) },
  ],
});

export const membersOmittedIsBoolean: SendJoinCheck = defineCheck({
  id: 'send-join/members-omitted-is-boolean',
  requirement: 'SJ-13',
  title: 'members_omitted is a boolean or absent',
  evaluate: (o) => onView(o, (v) => {
    if (v.membersOmitted === undefined || typeof v.membersOmitted === 'boolean') return { ok: true };
    return {
      ok: false,
      reason: `${v.membersOmittedField} is ${JSON.stringify(v.membersOmitted)}, not a boolean`,
      expected: `${v.membersOmittedField} absent, true or false`,
      observed: { [v.membersOmittedField]: v.membersOmitted },
    };
  }),
  controls: [
    { name: 'the string "true"', mutate: (o) => withBody(o, (b) => { b[o.request.unstablePrefix ? 'org.matrix.msc3706.partial_state' : 'members_omitted'] = 'true'; }) },
    { name: 'the number 1', mutate: (o) => withBody(o, (b) => { b[o.request.unstablePrefix ? 'org.matrix.msc3706.partial_state' : 'members_omitted'] = 1; }) },
    { name: 'null', mutate: (o) => withBody(o, (b) => { b[o.request.unstablePrefix ? 'org.matrix.msc3706.partial_state' : 'members_omitted'] = null; }) },
  ],
});

export const membersOmittedOnlyWhenOmitted: SendJoinCheck = defineCheck({
  id: 'send-join/members-omitted-only-when-omitted',
  requirement: 'SJ-13',
  title: 'members_omitted is true only when some membership event was actually left out',
  evaluate: (o) => onView(o, (v) => {
    if (v.membersOmitted !== true) return { notApplicable: `${v.membersOmittedField} is not true` };
    if (!o.truth) return { notApplicable: 'no ground truth: cannot tell whether every membership was returned' };
    const fact = membersOmittedInFact(o, v);
    if (fact.omitted) return { ok: true };
    return {
      ok: false,
      reason: `${v.membersOmittedField} is true but every membership of the current state was returned (MSC3706: it must otherwise be false or absent)`,
      expected: `${v.membersOmittedField} false or absent when no m.room.member event is left out`,
      observed: { [v.membersOmittedField]: true, memberships: v.state.filter(isMember).map(describeEvent) },
    };
  }),
  controls: [
    {
      name: 'the room has no members beyond those returned',
      mutate: (o) => withTruth(o, (t) => {
        const read = viewOf(o);
        if ('unusable' in read) throw new Error(read.unusable);
        const returned = new Set(read.view.state.filter(isMember).map((e) => keyOf(e.type, e.state_key)));
        t.currentState = t.currentState.filter((e) => e.type !== 'm.room.member' || returned.has(keyOf(e.type, e.state_key)));
      }),
    },
  ],
});

export const nonMemberStateComplete: SendJoinCheck = defineCheck({
  id: 'send-join/non-member-state-complete',
  requirement: 'SJ-14',
  title: 'every current state event that is not a membership is in state, as the same event',
  evaluate: (o) => onView(o, (v) => {
    const wanted = o.truth
      ? o.truth.currentState.filter((e) => e.type !== 'm.room.member')
      : [{ type: 'm.room.create', state_key: '' }];
    const missing = missingFromState(o, v, wanted);
    if (missing.length === 0) return { ok: true };
    return {
      ok: false,
      reason: `state lacks ${missing.map((m) => `${m.type}|${m.state_key}${m.returned ? ` (returned ${m.returned} instead of ${m.event_id})` : ''}`).join(', ')}`,
      expected: o.truth ? `all ${wanted.length} non-membership state events: ${wanted.map((e) => `${e.type}|${e.state_key}`).join(', ')}` : 'the m.room.create event (no ground truth given)',
      observed: v.state.filter((e) => !isMember(e)).map(describeEvent),
    };
  }),
  controls: [
    { name: 'join rules dropped', mutate: (o) => withBody(o, (b) => { b.state = arr(b, 'state').filter((e) => e.type !== 'm.room.join_rules'); }) },
    { name: 'create event dropped', mutate: (o) => withBody(o, (b) => { b.state = arr(b, 'state').filter((e) => e.type !== 'm.room.create'); }) },
    { name: 'power levels replaced by another event', mutate: (o) => withBody(o, (b) => { const pl = arr(b, 'state').find((e) => e.type === 'm.room.power_levels'); if (pl) pl.origin_server_ts = Number(pl.origin_server_ts) + 1; }) },
  ],
});

// ---- SJ-07: whether partial state is offered at all ------------------------------------------------

export const partialStateOffered: SendJoinCheck = defineCheck({
  id: 'send-join/partial-state-offered',
  requirement: 'SJ-07',
  title: 'omit_members=true is honoured with a reduced answer (optional: a full answer is also conformant)',
  evaluate: (o) => {
    if (!optedIn(o)) return { notApplicable: 'the request did not carry omit_members=true' };
    return onView(o, (v) => {
      const fact = membersOmittedInFact(o, v);
      if (!fact.exact && !fact.omitted && v.membersOmitted !== true) return { notApplicable: 'no ground truth and no members_omitted flag: cannot tell whether the answer is reduced' };
      if (fact.omitted || v.membersOmitted === true) return { ok: true };
      return {
        ok: false,
        reason: 'the resident answered omit_members=true with the full state',
        expected: 'membership events left out of state, flagged by members_omitted: true',
        observed: { [v.membersOmittedField]: v.membersOmitted ?? null, memberships: v.state.filter(isMember).length },
      };
    });
  },
  controls: [
    {
      name: 'full state returned, unflagged',
      mutate: (o) => {
        const read = viewOf(o);
        if ('unusable' in read) throw new Error(read.unusable);
        const returned = new Set(read.view.state.filter(isMember).map((e) => keyOf(e.type, e.state_key)));
        const flag = o.request.unstablePrefix ? 'org.matrix.msc3706.partial_state' : 'members_omitted';
        return withBody(withTruth(o, (t) => {
          t.currentState = t.currentState.filter((e) => e.type !== 'm.room.member' || returned.has(keyOf(e.type, e.state_key)));
        }), (b) => { delete b[flag]; });
      },
    },
  ],
});

// ---- SJ-15: heroes ---------------------------------------------------------------------------------

export const heroMembershipsIncluded: SendJoinCheck = defineCheck({
  id: 'send-join/hero-memberships-included',
  requirement: 'SJ-15',
  title: 'a partial answer for a room without name or canonical alias includes the heroes\' memberships',
  evaluate: (o) => onView(o, (v) => {
    const fact = membersOmittedInFact(o, v);
    if (!fact.omitted && v.membersOmitted !== true) return { notApplicable: 'the answer is not partial' };
    const stateKeys = o.truth
      ? new Set(o.truth.currentState.map((e) => keyOf(e.type, e.state_key)))
      : new Set(v.state.map((e) => keyOf(e.type, e.state_key)));
    const named = NAME_OR_ALIAS.filter((k) => stateKeys.has(k));
    if (named.length > 0) return { notApplicable: 'the room has an m.room.name or m.room.canonical_alias, so no heroes are needed' };
    if (!o.truth?.heroes) return { notApplicable: 'the test did not say who the heroes are' };
    const heroes = o.truth.heroes;
    const missing = missingFromState(o, v, heroes.map((h) => ({
      type: 'm.room.member',
      state_key: h,
      event_id: o.truth!.currentState.find((e) => e.type === 'm.room.member' && e.state_key === h)?.event_id,
    })));
    if (missing.length === 0) return { ok: true };
    return {
      ok: false,
      reason: `the room has no name nor canonical alias, and the membership events of heroes ${missing.map((m) => m.state_key).join(', ')} are missing from state`,
      expected: `memberships of the heroes ${heroes.join(', ')} in state`,
      observed: v.state.filter(isMember).map(describeEvent),
    };
  }),
  controls: [
    { name: 'one hero membership dropped', mutate: (o) => withBody(o, (b) => { const h = o.truth?.heroes?.[0]; b.state = arr(b, 'state').filter((e) => !(isMember(e) && e.state_key === h)); }) },
    { name: 'all memberships dropped', mutate: (o) => withBody(o, (b) => { b.state = arr(b, 'state').filter((e) => !isMember(e)); }) },
  ],
});

// ---- SJ-16, SJ-17, SJ-17a: the auth chain ---------------------------------------------------------

interface AuthWalk {
  /** Auth event IDs referenced but found in neither state nor auth_chain, with who referenced them. */
  missing: Array<{ id: string; neededBy: string }>;
  /** Auth event IDs (transitively needed) found only in state, not in auth_chain. */
  onlyInState: string[];
}

/** Walks auth_events from the join and every returned state event, transitively. */
function walkAuth(o: SendJoinObservation, v: SendJoinView): AuthWalk {
  const inState = new Map<string, WirePdu>();
  const inChain = new Map<string, WirePdu>();
  for (const pdu of v.state) inState.set(safeEventId(o, pdu), pdu);
  for (const pdu of v.authChain) inChain.set(safeEventId(o, pdu), pdu);
  const missing: AuthWalk['missing'] = [];
  const onlyInState = new Set<string>();
  const visited = new Set<string>();
  const queue: Array<{ pdu: WirePdu; id: string }> = [
    { pdu: o.request.joinEvent, id: safeEventId(o, o.request.joinEvent) },
    ...v.state.map((pdu) => ({ pdu, id: safeEventId(o, pdu) })),
  ];
  while (queue.length > 0) {
    const { pdu, id } = queue.pop()!;
    if (visited.has(id)) continue;
    visited.add(id);
    const authIds = Array.isArray(pdu.auth_events) ? pdu.auth_events : [];
    for (const authId of authIds) {
      if (typeof authId !== 'string') continue;
      const found = inChain.get(authId) ?? inState.get(authId);
      if (!found) {
        missing.push({ id: authId, neededBy: `${id} (${describeEvent(pdu)})` });
        continue;
      }
      if (!inChain.has(authId)) onlyInState.add(authId);
      queue.push({ pdu: found, id: authId });
    }
  }
  return { missing, onlyInState: [...onlyInState] };
}

export const authChainComplete: SendJoinCheck = defineCheck({
  id: 'send-join/auth-chain-complete',
  requirement: 'SJ-16',
  title: 'every auth event of the join and of every returned event is returned (in auth_chain, or in state when deduplication is allowed)',
  evaluate: (o) => onView(o, (v) => {
    const { missing } = walkAuth(o, v);
    if (missing.length === 0) return { ok: true };
    return {
      ok: false,
      reason: `${missing.length} auth event(s) are in neither auth_chain nor state: ${missing.slice(0, 5).map((m) => `${m.id} needed by ${m.neededBy}`).join('; ')}`,
      expected: 'the full auth chain of the join event and of every event in state',
      observed: missing,
    };
  }),
  controls: [
    {
      name: 'an auth event found only in auth_chain removed',
      mutate: (o) => withBody(o, (b) => {
        const stateIds = new Set(arr(b, 'state').map((e) => o.eventIdOf(e)));
        const chain = arr(b, 'auth_chain');
        const i = chain.findIndex((e) => !stateIds.has(o.eventIdOf(e)));
        if (i < 0) throw new Error('control needs an auth_chain event that is not in state');
        chain.splice(i, 1);
      }),
    },
    {
      name: 'create event removed everywhere',
      mutate: (o) => withBody(o, (b) => {
        b.state = arr(b, 'state').filter((e) => e.type !== 'm.room.create');
        b.auth_chain = arr(b, 'auth_chain').filter((e) => e.type !== 'm.room.create');
      }),
    },
    { name: 'auth_chain emptied', mutate: (o) => withBody(o, (b) => { b.auth_chain = []; }) },
  ],
});

export const authChainDeduplicated: SendJoinCheck = defineCheck({
  id: 'send-join/auth-chain-deduplicated',
  requirement: 'SJ-17',
  title: 'with omit_members=true, events already in state are left out of auth_chain (optional)',
  evaluate: (o) => {
    if (!optedIn(o)) return { notApplicable: 'deduplication is only allowed with omit_members=true' };
    return onView(o, (v) => {
      const stateIds = new Set(v.state.map((e) => safeEventId(o, e)));
      const repeated = v.authChain.filter((e) => stateIds.has(safeEventId(o, e)));
      if (repeated.length === 0) return { ok: true };
      return {
        ok: false,
        reason: `${repeated.length} of ${v.authChain.length} auth_chain events are also in state`,
        expected: 'auth_chain without events that are in state',
        observed: repeated.map(describeEvent),
      };
    });
  },
  controls: [
    { name: 'create event repeated in auth_chain', mutate: (o) => withBody(o, (b) => { const c = arr(b, 'state').find((e) => e.type === 'm.room.create'); arr(b, 'auth_chain').push(structuredClone(c!)); }) },
  ],
});

export const authChainSelfContainedWithoutOptIn: SendJoinCheck = defineCheck({
  id: 'send-join/auth-chain-self-contained-without-opt-in',
  requirement: 'SJ-17a',
  title: 'without omit_members=true, auth_chain itself holds every auth event, even those also in state',
  evaluate: (o) => {
    if (optedIn(o)) return { notApplicable: 'with omit_members=true, auth events in state may be left out of auth_chain' };
    return onView(o, (v) => {
      const { onlyInState } = walkAuth(o, v);
      if (onlyInState.length === 0) return { ok: true };
      return {
        ok: false,
        reason: `${onlyInState.length} auth event(s) appear only in state, not in auth_chain, although the request did not allow deduplication: ${onlyInState.slice(0, 5).join(', ')}`,
        expected: 'auth_chain containing the full auth chain of the join and of the state',
        observed: onlyInState,
      };
    });
  },
  controls: [
    { name: 'create event left out of auth_chain', mutate: (o) => withBody(o, (b) => { b.auth_chain = arr(b, 'auth_chain').filter((e) => e.type !== 'm.room.create'); }) },
    { name: 'power levels left out of auth_chain', mutate: (o) => withBody(o, (b) => { b.auth_chain = arr(b, 'auth_chain').filter((e) => e.type !== 'm.room.power_levels'); }) },
  ],
});

// ---- SJ-18: servers_in_room ----------------------------------------------------------------------

export const serversInRoomListed: SendJoinCheck = defineCheck({
  id: 'send-join/servers-in-room',
  requirement: 'SJ-18',
  title: 'when members_omitted is true, servers_in_room lists exactly the servers with joined members before the join, once each',
  evaluate: (o) => onView(o, (v) => {
    if (v.membersOmitted !== true) return { notApplicable: `${v.membersOmittedField} is not true` };
    const field = v.serversInRoomField;
    const list = v.serversInRoom;
    const expectedServers = o.truth
      ? [...new Set(o.truth.currentState.filter((e) => e.type === 'm.room.member' && e.membership === 'join').map((e) => serverOf(e.state_key)).filter((s): s is string => !!s))].sort()
      : undefined;
    const expected = expectedServers
      ? `${field}: ${JSON.stringify(expectedServers)} (any order, no duplicates)`
      : `${field}: an array of server names without duplicates, including ${o.request.residentServer} and the servers of the joined members returned in state`;
    const fail = (reason: string): Evaluation => ({ ok: false, reason, expected, observed: { [field]: list ?? null } });
    if (!Array.isArray(list)) return fail(`${field} is ${list === undefined ? 'absent' : `not an array (${JSON.stringify(list)})`} although ${v.membersOmittedField} is true`);
    if (!list.every((s) => typeof s === 'string')) return fail(`${field} contains non-strings`);
    const duplicates = list.filter((s, i) => list.indexOf(s) !== i);
    if (duplicates.length > 0) return fail(`${field} lists ${[...new Set(duplicates)].join(', ')} more than once`);
    const listed = new Set(list as string[]);
    if (expectedServers) {
      const absent = expectedServers.filter((s) => !listed.has(s));
      const extra = [...listed].filter((s) => !expectedServers.includes(s));
      if (absent.length || extra.length) {
        return fail([
          absent.length ? `servers with joined members not listed: ${absent.join(', ')}` : '',
          extra.length ? `servers listed without joined members before the join: ${extra.join(', ')}` : '',
        ].filter(Boolean).join('; '));
      }
      return { ok: true };
    }
    const visible = v.state.filter((e) => isMember(e) && (e.content as Record<string, unknown> | undefined)?.membership === 'join').map((e) => serverOf(e.state_key));
    const needed = [o.request.residentServer, ...visible].filter((s): s is string => !!s);
    const absent = [...new Set(needed)].filter((s) => !listed.has(s));
    return absent.length ? fail(`servers known to have joined members are not listed: ${absent.join(', ')}`) : { ok: true };
  }),
  controls: [
    { name: 'servers_in_room absent', mutate: (o) => withBody(o, (b) => { delete b[o.request.unstablePrefix ? 'org.matrix.msc3706.servers_in_room' : 'servers_in_room']; }) },
    { name: 'a server listed twice', mutate: (o) => withBody(o, (b) => { const f = o.request.unstablePrefix ? 'org.matrix.msc3706.servers_in_room' : 'servers_in_room'; (b[f] as string[]).push((b[f] as string[])[0]); }) },
    { name: 'the resident left out', mutate: (o) => withBody(o, (b) => { const f = o.request.unstablePrefix ? 'org.matrix.msc3706.servers_in_room' : 'servers_in_room'; b[f] = (b[f] as string[]).filter((s) => s !== o.request.residentServer); }) },
    { name: 'a server without joined members added', mutate: (o) => withBody(o, (b) => { const f = o.request.unstablePrefix ? 'org.matrix.msc3706.servers_in_room' : 'servers_in_room'; (b[f] as string[]).push(o.request.joiningServer); }) },
    { name: 'a string instead of a list', mutate: (o) => withBody(o, (b) => { b[o.request.unstablePrefix ? 'org.matrix.msc3706.servers_in_room' : 'servers_in_room'] = o.request.residentServer; }) },
  ],
});

// ---- SJ-09: invalid omit_members values ------------------------------------------------------------

export const invalidOmitMembersRejected: SendJoinCheck = defineCheck({
  id: 'send-join/invalid-omit-members-rejected',
  requirement: 'SJ-09',
  title: 'an omit_members value other than true or false is rejected with 400 M_INVALID_PARAM',
  evaluate: (o) => {
    const value = o.request.omitMembers;
    if (value === undefined || value === 'true' || value === 'false') return { notApplicable: 'omit_members was absent, "true" or "false"' };
    const errcode = errcodeOfBody(o.response.body);
    if (o.response.status === 400 && errcode === 'M_INVALID_PARAM') return { ok: true };
    return {
      ok: false,
      reason: `omit_members=${JSON.stringify(value)} was answered HTTP ${o.response.status}${errcode ? ` ${String(errcode)}` : ''}`,
      expected: 'HTTP 400 with errcode M_INVALID_PARAM',
      observed: { status: o.response.status, body: o.response.body },
    };
  },
  controls: [
    { name: 'accepted with 200', mutate: (o) => ({ ...o, response: { status: 200, body: { state: [], auth_chain: [] } } }) },
    { name: 'another errcode', mutate: (o) => ({ ...o, response: { status: 400, body: { errcode: 'M_BAD_JSON', error: 'bad' } } }) },
    { name: 'another status', mutate: (o) => ({ ...o, response: { status: 500, body: { errcode: 'M_INVALID_PARAM' } } }) },
  ],
});

// ---- SJ-20, SJ-21: the resident-signed event of a restricted join ----------------------------------

/** Top-level fields (other than signatures and unsigned) whose JSON differs between two events. */
function changedFields(a: WirePdu, b: WirePdu): string[] {
  const sorted = (v: unknown): unknown => Array.isArray(v) ? v.map(sorted)
    : v && typeof v === 'object' ? Object.fromEntries(Object.keys(v).sort().map((k) => [k, sorted((v as Record<string, unknown>)[k])])) : v;
  const keys = new Set([...Object.keys(a), ...Object.keys(b)].filter((k) => k !== 'signatures' && k !== 'unsigned'));
  return [...keys].filter((k) => JSON.stringify(sorted(a[k])) !== JSON.stringify(sorted(b[k])));
}

function authorisingUser(o: SendJoinObservation): string | undefined {
  const content = o.request.joinEvent.content as Record<string, unknown> | undefined;
  const via = content?.join_authorised_via_users_server;
  return typeof via === 'string' ? via : undefined;
}

export const restrictedJoinEventReturned: SendJoinCheck = defineCheck({
  id: 'send-join/restricted-join-event-returned',
  requirement: 'SJ-20',
  title: 'a join authorised via join_authorised_via_users_server gets the same join event back in "event" (signatures aside)',
  evaluate: (o) => {
    if (!authorisingUser(o)) return { notApplicable: 'the join does not name join_authorised_via_users_server' };
    return onView(o, (v) => {
      const joinId = safeEventId(o, o.request.joinEvent);
      const expected = `"event": the join event ${joinId} with the resident's signature added`;
      const ev = v.event;
      if (typeof ev !== 'object' || ev === null || Array.isArray(ev)) {
        return { ok: false, reason: `"event" is ${ev === undefined ? 'absent' : 'not an object'}`, expected, observed: { event: ev ?? null } };
      }
      const returnedId = safeEventId(o, ev as WirePdu);
      if (returnedId !== joinId) return { ok: false, reason: `"event" is ${returnedId}, a different event from the join ${joinId}`, expected, observed: { event: ev } };
      // The event ID covers only the redacted event: compare everything but the signatures too.
      const changed = changedFields(o.request.joinEvent, ev as WirePdu);
      if (changed.length === 0) return { ok: true };
      return { ok: false, reason: `"event" has the join's ID but differs from it in ${changed.join(', ')}`, expected, observed: { event: ev } };
    });
  },
  controls: [
    { name: 'event absent', mutate: (o) => withBody(o, (b) => { delete b.event; }) },
    { name: 'event content changed', mutate: (o) => withBody(o, (b) => { ((b.event as WirePdu).content as Record<string, unknown>).displayname = 'changed'; }) },
    { name: 'event is a list', mutate: (o) => withBody(o, (b) => { b.event = [b.event]; }) },
  ],
});

export const restrictedJoinEventCountersigned: SendJoinCheck = defineCheck({
  id: 'send-join/restricted-join-event-countersigned',
  requirement: 'SJ-21',
  title: 'the returned join carries a valid signature of the authorising user\'s server',
  evaluate: (o) => {
    const via = authorisingUser(o);
    if (!via) return { notApplicable: 'the join does not name join_authorised_via_users_server' };
    return onView(o, (v) => {
      const ev = v.event as WirePdu | undefined;
      if (typeof ev !== 'object' || ev === null) return { notApplicable: '"event" is absent (judged by send-join/restricted-join-event-returned)' };
      const server = serverOf(via)!;
      const expected = `"event".signatures containing a valid signature of ${server}`;
      const signatures = ev.signatures as Record<string, unknown> | undefined;
      if (!signatures || typeof signatures !== 'object' || !(server in signatures)) {
        return { ok: false, reason: `"event" carries no signature of ${server}, the server of ${via}`, expected, observed: { signatures: signatures ?? null } };
      }
      if (!o.verifyEvent) return { ok: true };
      const verdict = o.verifyEvent(ev);
      return verdict.ok ? { ok: true } : { ok: false, reason: `"event" does not verify: ${verdict.reason}`, expected, observed: { signatures } };
    });
  },
  controls: [
    { name: 'resident signature removed', mutate: (o) => withBody(o, (b) => { const s = (b.event as WirePdu).signatures as Record<string, unknown>; delete s[serverOf(authorisingUser(o))!]; }) },
    {
      name: 'resident signature corrupted',
      mutate: (o) => withBody(o, (b) => {
        const s = ((b.event as WirePdu).signatures as Record<string, Record<string, string>>)[serverOf(authorisingUser(o))!];
        for (const k of Object.keys(s)) s[k] = s[k].startsWith('A') ? 'B' + s[k].slice(1) : 'A' + s[k].slice(1);
      }),
    },
  ],
});

// ---- SG-01: returned events are correctly hashed and signed -----------------------------------------

export const returnedEventsVerify: SendJoinCheck = defineCheck({
  id: 'send-join/returned-events-verify',
  requirement: 'SG-01',
  title: 'every event in state and auth_chain passes its signature and content hash checks',
  evaluate: (o) => {
    const verify = o.verifyEvent;
    if (!verify) return { notApplicable: 'no event verifier was given with the observation' };
    return onView(o, (v) => {
      const failures: string[] = [];
      for (const [field, events] of [['state', v.state], ['auth_chain', v.authChain]] as const) {
        events.forEach((pdu, i) => {
          const r = verify(pdu);
          if (!r.ok) failures.push(`${field}[${i}] ${describeEvent(pdu)}: ${r.reason}`);
        });
      }
      if (failures.length === 0) return { ok: true };
      return {
        ok: false,
        reason: `${failures.length} returned event(s) fail verification: ${failures.slice(0, 4).join('; ')}`,
        expected: 'events whose hashes and senders\' signatures verify',
        observed: failures,
      };
    });
  },
  controls: [
    { name: 'state event content altered', mutate: (o) => withBody(o, (b) => { const e = arr(b, 'state').find((x) => x.type === 'm.room.join_rules')!; (e.content as Record<string, unknown>).join_rule = 'invite'; }) },
    { name: 'auth_chain event signatures stripped', mutate: (o) => withBody(o, (b) => { const chain = arr(b, 'auth_chain'); const e = chain.length ? chain[0] : arr(b, 'state')[0]; e.signatures = {}; }) },
  ],
});

/** All send_join checks, in report order. */
export const sendJoinChecks: ReadonlyArray<SendJoinCheck> = [
  responseWellFormed,
  stateIsRoomStateBeforeJoin,
  membersKeptWithoutOptIn,
  membersOmittedFlagged,
  membersOmittedIsBoolean,
  membersOmittedOnlyWhenOmitted,
  nonMemberStateComplete,
  partialStateOffered,
  heroMembershipsIncluded,
  authChainComplete,
  authChainDeduplicated,
  authChainSelfContainedWithoutOptIn,
  serversInRoomListed,
  invalidOmitMembersRejected,
  restrictedJoinEventReturned,
  restrictedJoinEventCountersigned,
  returnedEventsVerify,
  ...sendJoinRefusalChecks,
];
