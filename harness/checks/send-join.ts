/**
 * Resident-side checks over one `PUT /_matrix/federation/v2/send_join` exchange (MSC3706,
 * MSC3943, spec v1.6+): the answer, which state it returns and the members_omitted flag, whether
 * partial state is offered, heroes. The auth chain, servers_in_room, invalid opt-in values,
 * restricted joins and signatures are in send-join-chain.ts. Each is pure; its controls are
 * mutations of a passing observation that must make it fail.
 */
import { defineCheck, errcodeOfBody } from './define.ts';
import { pduSchemaFor, validate } from './schema.ts';
import { sendJoinRefusalChecks } from './send-join-refusals.ts';
import {
  authChainComplete,
  authChainDeduplicated,
  authChainSelfContainedWithoutOptIn,
  invalidOmitMembersRejected,
  restrictedJoinEventCountersigned,
  restrictedJoinEventReturned,
  returnedEventsVerify,
  v1ReferenceHashes,
  serversInRoomListed,
} from './send-join-chain.ts';
import type { Check } from './types.ts';
import { ROOM_VERSIONS } from '../matrix/index.ts';
import {
  arr,
  describeEvent,
  isMember,
  keyOf,
  membersOmittedInFact,
  missingFromState,
  onView,
  optedIn,
  safeEventId,
  serverOf,
  roomOf,
  viewOf,
  withBody,
  withTruth,
  type SendJoinObservation,
  type WirePdu,
} from './send-join-observation.ts';

export * from './send-join-chain.ts';

type SendJoinCheck = Check<SendJoinObservation>;

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
      const room = roomOf(o, pdu);
      if (room !== o.request.roomId) problems.push(`state[${i}] belongs to room ${JSON.stringify(room)}`);
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
    {
      // v1-v11: the create event names another room; v12: a create event with other content is another room's.
      name: "another room's create event",
      mutate: (o) => withBody(o, (b) => {
        const create = arr(b, 'state').find((e) => e.type === 'm.room.create')!;
        if (ROOM_VERSIONS[o.request.roomVersion]?.roomIdFromCreateEvent) create.content = { ...(create.content as object), 'org.lazyjoin.other': true };
        else create.room_id = '!elsewhere:resident.test';
      }),
    },
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
    { name: 'power levels replaced by another event', mutate: (o) => withBody(o, (b) => { const pl = arr(b, 'state').find((e) => e.type === 'm.room.power_levels'); if (pl) { pl.origin_server_ts = Number(pl.origin_server_ts) + 1; if (typeof pl.event_id === 'string') pl.event_id = `$another-${pl.event_id.slice(1)}`; } }) },
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

/**
 * MSC3943 names the keys: a room is nameless unless `m.room.name` or `m.room.canonical_alias`
 * exists at state key "". One whose name or alias events sit only at other state keys still needs
 * its heroes; only such rooms are judged here (SJ-15 covers the rest).
 */
export const heroMembershipsIncludedNameAtOtherKey: SendJoinCheck = defineCheck({
  id: 'send-join/hero-memberships-name-only-at-empty-key',
  requirement: 'SJ-15a',
  title: 'a partial answer for a room whose name or alias events sit only at non-empty state keys still includes the heroes\' memberships',
  evaluate: (o) => {
    const elsewhere = (o.truth?.currentState ?? []).filter((e) => (e.type === 'm.room.name' || e.type === 'm.room.canonical_alias') && e.state_key !== '');
    if (elsewhere.length === 0) return { notApplicable: 'the room has no m.room.name or m.room.canonical_alias at a non-empty state key' };
    const verdict = heroMembershipsIncluded.evaluate(o);
    if ('ok' in verdict && !verdict.ok) return { ...verdict, reason: `${verdict.reason} (its ${elsewhere.map((e) => `${e.type} at state key "${e.state_key}"`).join(', ')} do not name it)` };
    return verdict;
  },
  controls: [
    { name: 'one hero membership dropped', mutate: (o) => withBody(o, (b) => { const h = o.truth?.heroes?.[0]; b.state = arr(b, 'state').filter((e) => !(isMember(e) && e.state_key === h)); }) },
    { name: 'the name at another key taken as naming the room (no memberships)', mutate: (o) => withBody(o, (b) => { b.state = arr(b, 'state').filter((e) => !isMember(e)); }) },
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
  heroMembershipsIncludedNameAtOtherKey,
  authChainComplete,
  authChainDeduplicated,
  authChainSelfContainedWithoutOptIn,
  serversInRoomListed,
  invalidOmitMembersRejected,
  restrictedJoinEventReturned,
  restrictedJoinEventCountersigned,
  returnedEventsVerify,
  v1ReferenceHashes,
  ...sendJoinRefusalChecks,
];
