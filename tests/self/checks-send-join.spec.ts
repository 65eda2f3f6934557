/**
 * The send_join checks on cases the controls do not cover: judging without ground truth, the
 * unstable MSC3706 names, and what the failure reasons say.
 */
import { test, expect } from '@playwright/test';
import * as sj from '../../harness/checks/send-join.ts';
import type { SendJoinObservation, WirePdu } from '../../harness/checks/send-join-observation.ts';
import { buildRoom, sendJoinObservation } from '../../harness/checks/testing/synthetic-room.ts';
import type { Evaluation } from '../../harness/checks/types.ts';

const nameless = buildRoom({ roomVersion: '10' });
const named = buildRoom({ roomVersion: '11', named: true });
const withoutTruth = (o: SendJoinObservation): SendJoinObservation => ({ ...o, truth: undefined });
const body = (o: SendJoinObservation) => o.response.body as Record<string, unknown> & { state: WirePdu[]; auth_chain: WirePdu[] };
const kind = (e: Evaluation) => ('notApplicable' in e ? 'not-applicable' : e.ok ? 'pass' : 'fail');
const reason = (e: Evaluation) => ('ok' in e && !e.ok ? e.reason : '');

test('without ground truth, a state with no membership at all still counts as members omitted', () => {
  const partialNamed = withoutTruth(sendJoinObservation(named, { partial: true }));
  expect(kind(sj.membersOmittedFlagged.evaluate(partialNamed))).toBe('pass');
  body(partialNamed).members_omitted = false;
  expect(reason(sj.membersOmittedFlagged.evaluate(partialNamed))).toBe('membership events were left out of state but members_omitted is false');
  // With heroes present and no truth, omission cannot be told: not applicable rather than a guess.
  const partialNameless = withoutTruth(sendJoinObservation(nameless, { partial: true }));
  expect(kind(sj.membersOmittedFlagged.evaluate(partialNameless))).toBe('not-applicable');
  expect(kind(sj.membersOmittedOnlyWhenOmitted.evaluate(partialNameless))).toBe('not-applicable');
});

test('without ground truth, non-member completeness requires at least the create event', () => {
  const o = withoutTruth(sendJoinObservation(named));
  expect(kind(sj.nonMemberStateComplete.evaluate(o))).toBe('pass');
  body(o).state = body(o).state.filter((e) => e.type !== 'm.room.create');
  expect(reason(sj.nonMemberStateComplete.evaluate(o))).toBe('state lacks m.room.create|');
});

test('without ground truth, servers_in_room must name the resident and the servers of returned joined members', () => {
  const o = withoutTruth(sendJoinObservation(nameless, { partial: true }));
  expect(kind(sj.serversInRoomListed.evaluate(o))).toBe('pass');
  body(o).servers_in_room = ['resident.test'];
  expect(reason(sj.serversInRoomListed.evaluate(o))).toBe('servers known to have joined members are not listed: other.test');
});

test('with ground truth, servers_in_room must be exact: a server whose members all left is not listed', () => {
  const o = sendJoinObservation(nameless, { partial: true });
  body(o).servers_in_room = ['resident.test', 'other.test', 'gone.test'];
  expect(reason(sj.serversInRoomListed.evaluate(o))).toBe('servers listed without joined members before the join: gone.test');
});

test('an opt-in under the unstable name is answered under the unstable names', () => {
  const o = sendJoinObservation(nameless, { partial: true, unstable: true });
  expect(kind(sj.membersOmittedFlagged.evaluate(o))).toBe('pass');
  // Stable names in answer to an unstable request do not count.
  const b = body(o);
  b.members_omitted = b['org.matrix.msc3706.partial_state'];
  b.servers_in_room = b['org.matrix.msc3706.servers_in_room'];
  delete b['org.matrix.msc3706.partial_state'];
  delete b['org.matrix.msc3706.servers_in_room'];
  expect(reason(sj.membersOmittedFlagged.evaluate(o))).toContain('but org.matrix.msc3706.partial_state is null');
  expect(reason(sj.serversInRoomListed.evaluate(o))).toBe('');
});

test('omit_members=false is no opt-in: members must all be returned', () => {
  const o = sendJoinObservation(nameless);
  o.request.omitMembers = 'false';
  expect(kind(sj.membersKeptWithoutOptIn.evaluate(o))).toBe('pass');
  body(o).state = body(o).state.filter((e) => !(e.type === 'm.room.member' && e.state_key === '@erin:gone.test'));
  expect(reason(sj.membersKeptWithoutOptIn.evaluate(o))).toBe('membership events of @erin:gone.test are missing from state although the request did not opt in (omit_members was "false")');
});

test('a missing auth event is reported with the event that needs it', () => {
  const o = sendJoinObservation(nameless, { partial: true });
  const erinJoin = body(o).auth_chain.find((e) => e.type === 'm.room.member' && e.state_key === '@erin:gone.test')!;
  body(o).auth_chain = body(o).auth_chain.filter((e) => e !== erinJoin);
  const r = sj.authChainComplete.evaluate(o);
  expect(reason(r)).toMatch(/^1 auth event\(s\) are in neither auth_chain nor state: \$\S+ needed by \$\S+ \(m\.room\.topic\|\)$/);
});

test('a heroes rule does not apply to a named room or when the heroes are unknown', () => {
  expect(sj.heroMembershipsIncluded.evaluate(sendJoinObservation(named, { partial: true }))).toEqual({ notApplicable: 'the room has an m.room.name or m.room.canonical_alias, so no heroes are needed' });
  const o = sendJoinObservation(nameless, { partial: true });
  delete o.truth!.heroes;
  expect(kind(sj.heroMembershipsIncluded.evaluate(o))).toBe('not-applicable');
});

test('a full answer to omit_members=true is informational absence of partial state, not a failure of SJ-08', () => {
  const o = sendJoinObservation(nameless);
  o.request.omitMembers = 'true';
  expect(reason(sj.partialStateOffered.evaluate(o))).toBe('the resident answered omit_members=true with the full state');
  expect(kind(sj.membersKeptWithoutOptIn.evaluate(o))).toBe('not-applicable');
  expect(kind(sj.authChainComplete.evaluate(o))).toBe('pass');
});

test('an answer that is not 200 is judged once, by the well-formedness check', () => {
  const o: SendJoinObservation = { ...sendJoinObservation(nameless), response: { status: 403, body: { errcode: 'M_FORBIDDEN' } } };
  const verdicts = sj.sendJoinChecks.map((c) => [c.id, kind(c.evaluate(o))]).filter(([, k]) => k !== 'not-applicable');
  expect(verdicts).toEqual([['send-join/response-well-formed', 'fail']]);
});
