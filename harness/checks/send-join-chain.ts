/**
 * Resident-side checks over one `PUT /_matrix/federation/v2/send_join` exchange, continued: the
 * auth chain (SJ-16, SJ-17, SJ-17a), servers_in_room (SJ-18), invalid omit_members values (SJ-09),
 * the resident-signed event of a restricted join (SJ-20, SJ-21) and signatures (SG-01). Each is
 * pure; its controls are mutations of a passing observation that must make it fail.
 */
import { defineCheck, errcodeOfBody } from './define.ts';
import { eventRefIds, ROOM_VERSIONS } from '../matrix/index.ts';
import type { Check, Evaluation } from './types.ts';
import {
  arr,
  authEventIdsOf,
  describeEvent,
  isMember,
  onView,
  optedIn,
  safeEventId,
  serverOf,
  withBody,
  type SendJoinObservation,
  type SendJoinView,
  type WirePdu,
} from './send-join-observation.ts';

type SendJoinCheck = Check<SendJoinObservation>;

// ---- SJ-16, SJ-17, SJ-17a: the auth chain ---------------------------------------------------------

interface AuthWalk {
  /** Auth event IDs referenced but found in neither state nor auth_chain, with who referenced them. */
  missing: Array<{ id: string; neededBy: string }>;
  /** Auth event IDs (transitively needed) found only in state, not in auth_chain. */
  onlyInState: string[];
}

/** Walks auth_events from the join and every returned state event, transitively. */
function walkAuth(o: SendJoinObservation, v: SendJoinView, opts: { implied: boolean }): AuthWalk {
  const inState = new Map<string, WirePdu>();
  const inChain = new Map<string, WirePdu>();
  for (const pdu of v.state) inState.set(safeEventId(o, pdu), pdu);
  for (const pdu of v.authChain) inChain.set(safeEventId(o, pdu), pdu);
  // SJ-17a judges the chain the events list; SJ-16 also needs what they imply (v12's create event).
  const authIds = (pdu: WirePdu) => (opts.implied ? authEventIdsOf(o, pdu) : eventRefIds(pdu.auth_events));
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
    for (const authId of authIds(pdu)) {
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
  title: 'every auth event of the join and of every returned event is returned (in auth_chain, or in state when deduplication is allowed); in v12 that includes the create event every event implies',
  evaluate: (o) => onView(o, (v) => {
    const { missing } = walkAuth(o, v, { implied: true });
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
      const { onlyInState } = walkAuth(o, v, { implied: false });
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
    {
      name: "the join's first auth event left out of auth_chain",
      mutate: (o) => withBody(o, (b) => {
        const first = eventRefIds(o.request.joinEvent.auth_events)[0];
        b.auth_chain = arr(b, 'auth_chain').filter((e) => o.eventIdOf(e) !== first);
      }),
    },
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

// ---- SJ-11: v1/v2 references carry their reference hashes -------------------------------------------

/** `[event_id, hashes]` entries of a v1/v2 event whose hashes lack a sha256 string. */
function unhashedReferences(pdu: WirePdu): string[] {
  const out: string[] = [];
  for (const field of ['prev_events', 'auth_events'] as const) {
    const refs = pdu[field];
    if (!Array.isArray(refs)) continue;
    for (const ref of refs) {
      if (!Array.isArray(ref)) continue;
      const hashes = ref[1] as Record<string, unknown> | undefined;
      if (typeof hashes?.sha256 !== 'string') out.push(`${field}: ${String(ref[0])} with ${JSON.stringify(hashes ?? null)}`);
    }
  }
  return out;
}

export const v1ReferenceHashes: SendJoinCheck = defineCheck({
  id: 'send-join/v1-reference-hashes',
  requirement: 'SJ-11',
  title: 'in room versions 1 and 2, every [event_id, hashes] reference of a returned event carries the referenced event\'s sha256 hash',
  evaluate: (o) => {
    if (!ROOM_VERSIONS[o.request.roomVersion]?.eventReferencesWithHashes) return { notApplicable: `room version ${o.request.roomVersion} references events by ID alone` };
    return onView(o, (v) => {
      const bad = [...v.state, ...v.authChain].flatMap((pdu) => unhashedReferences(pdu).map((r) => `${describeEvent(pdu)} ${r}`));
      if (bad.length === 0) return { ok: true };
      return { ok: false, reason: `${bad.length} reference(s) without a sha256 hash: ${bad.slice(0, 4).join('; ')}`, expected: 'prev_events and auth_events entries [event_id, {"sha256": <reference hash>}] (EventHash: sha256 required)', observed: bad.slice(0, 20) };
    });
  },
  controls: [
    {
      name: 'a reference with empty hashes',
      // On a version 3+ answer the control also turns the observation into version 1, whose references it writes.
      mutate: (o) => {
        const m = withBody(o, (b) => { const e = arr(b, 'state').find((x) => Array.isArray(x.auth_events) && x.auth_events.length > 0)!; e.auth_events = (e.auth_events as unknown[]).map((r) => [Array.isArray(r) ? r[0] : r, {}]); });
        return { ...m, request: { ...m.request, roomVersion: ROOM_VERSIONS[o.request.roomVersion]?.eventReferencesWithHashes ? o.request.roomVersion : '1' } };
      },
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

