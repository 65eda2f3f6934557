/**
 * Join events the resident must refuse (SJ-01: any 4xx; SJ-02 to SJ-06: 400 M_INVALID_PARAM is
 * the recommended answer), and a send_join for a room the resident does not know.
 */
import { test } from '../../harness/fixtures.ts';
import type { PDU } from '../../harness/matrix/index.ts';
import type { InvalidJoinFault } from '../../harness/checks/index.ts';
import { judgeApplicable, observeJoin, type JoinExchange, type ObserveJoinOptions } from '../../harness/resident/observe.ts';
import type { CandidateClient } from '../../harness/client/client.ts';
import type { Remote } from '../../harness/remote/index.ts';
import { ResidentRoom } from '../../harness/resident/room.ts';
import { forEachRoomVersion, roomVersionOffered } from '../../harness/resident/versions.ts';
import { sendJoinChecks } from '../../harness/checks/index.ts';

/** Flips the first character of every signature, keeping its length. */
function corruptSignatures(pdu: PDU): PDU {
  const signatures = Object.fromEntries(Object.entries(pdu.signatures ?? {}).map(([server, sigs]) => [
    server,
    Object.fromEntries(Object.entries(sigs).map(([k, sig]) => [k, (sig.startsWith('A') ? 'B' : 'A') + sig.slice(1)])),
  ]));
  return { ...pdu, signatures };
}

const FAULTS: Array<{ fault: InvalidJoinFault; requirement: string; what: string; make: (remoteName: string) => Pick<ObserveJoinOptions, 'changeJoin' | 'afterSigning'> }> = [
  { fault: 'bad-signature', requirement: 'SJ-02', what: 'a join whose signature does not verify', make: () => ({ afterSigning: corruptSignatures }) },
  { fault: 'wrong-type', requirement: 'SJ-03', what: 'an event of another type', make: () => ({ changeJoin: (d) => ({ ...d, type: 'org.lazyjoin.not_a_member' }) }) },
  { fault: 'not-join', requirement: 'SJ-04', what: 'a membership that is not a join', make: () => ({ changeJoin: (d) => ({ ...d, content: { ...d.content, membership: 'leave' } }) }) },
  {
    fault: 'foreign-sender',
    requirement: 'SJ-05',
    what: 'a join of a user of another server',
    make: () => ({ changeJoin: (d) => ({ ...d, sender: '@mallory:elsewhere.example', state_key: '@mallory:elsewhere.example' }) }),
  },
  { fault: 'state-key-mismatch', requirement: 'SJ-06', what: 'a join whose state_key is another user', make: (name) => ({ changeJoin: (d) => ({ ...d, state_key: `@someone-else:${name}` }) }) },
];

/**
 * A join of zed (a user of `remote`) that only the room's new join rules forbid: the template comes
 * from the room while it is public, the room's join rules then change to `rules`, and the join is
 * rebased on that change (its auth and prev events), so it is well formed and consistent with the
 * room. Only the join rules stand in its way.
 */
async function joinAfterRulesChange(candidateServer: string, client: CandidateClient, remote: Remote, rules: Record<string, unknown>, fault: InvalidJoinFault, roomVersion: string, authorisedVia?: string): Promise<JoinExchange> {
  const room = await ResidentRoom.create(client, { preset: 'public_chat', room_version: roomVersion, name: `turns ${String(rules.join_rule)}` });
  const before = (await room.currentState()).find((e) => e.type === 'm.room.join_rules')!.event_id;
  let changed = '';
  const exchange = await observeJoin(remote, candidateServer, room, remote.userId('zed'), {
    afterMakeJoin: async () => {
      changed = (await client.sendState(room.roomId, 'm.room.join_rules', '', rules)).ok().event_id;
    },
    changeJoin: (d) => ({
      ...d,
      auth_events: d.auth_events.map((id) => (id === before ? changed : id)),
      prev_events: [changed],
      depth: d.depth + 1,
      ...(authorisedVia ? { content: { ...d.content, join_authorised_via_users_server: authorisedVia } } : {}),
    }),
    invalidJoin: fault,
  });
  if (!exchange.joinEvent.auth_events.includes(changed)) throw new Error(`the make_join template did not name the join rules ${before} among its auth events`);
  return exchange;
}

test.describe('invalid joins', () => {
  forEachRoomVersion((version, vTag) => {
    for (const { fault, requirement, what, make } of FAULTS) {
      test(`send_join refuses ${what}`, { tag: ['@SJ-01', `@${requirement}`, '@must', '@should', vTag] }, async ({ candidate, client, remote }, testInfo) => {
        if (!(await roomVersionOffered(testInfo, client, version))) return;
        const room = await ResidentRoom.create(client, { name: `invalid join: ${fault}`, room_version: version.id });
        const exchange = await observeJoin(remote, candidate.serverName, room, remote.userId('zed'), { ...make(remote.serverName), invalidJoin: fault });
        judgeApplicable(testInfo, sendJoinChecks, exchange.sendJoin);
      });
    }
  });

  // The join is rebased on the rules change by rewriting its references, which v1/v2 write as
  // [id, hash] pairs of events the joiner cannot fetch before joining: versions 3+ only.
  forEachRoomVersion((version, vTag) => {
    test('send_join of a join the room forbids (invite-only, no invite) is refused with 403 M_FORBIDDEN', { tag: ['@SJ-01', '@SJ-24', '@must', vTag] }, async ({ candidate, client, remote }, testInfo) => {
      if (!(await roomVersionOffered(testInfo, client, version))) return;
      const exchange = await joinAfterRulesChange(candidate.serverName, client, remote, { join_rule: 'invite' }, 'not-permitted', version.id);
      judgeApplicable(testInfo, sendJoinChecks, exchange.sendJoin);
    });
  }, (v) => !v.eventReferencesWithHashes);

  forEachRoomVersion((version, vTag) => {
    test('send_join to a restricted room whose only allowed room the candidate is not in is refused with 400 M_UNABLE_TO_AUTHORISE_JOIN', { tag: ['@SJ-01', '@SJ-23', '@must', vTag] }, async ({ candidate, client, remote }, testInfo) => {
      if (!(await roomVersionOffered(testInfo, client, version))) return;
      // The allowing room lives on the remote, which has zed in it; the candidate cannot check that.
      // The join names the room's creator as authorising it, as a restricted make_join would.
      const elsewhere = remote.createRoom({ joinRule: 'public', name: 'the allowing room, not on the candidate' });
      elsewhere.join(remote.userId('zed'));
      const exchange = await joinAfterRulesChange(candidate.serverName, client, remote, { join_rule: 'restricted', allow: [{ type: 'm.room_membership', room_id: elsewhere.roomId }] }, 'restricted-unverifiable', version.id, client.userId);
      judgeApplicable(testInfo, sendJoinChecks, exchange.sendJoin);
    });

    test('send_join to a restricted room by a user in none of its allowed rooms is refused with 403 M_FORBIDDEN', { tag: ['@SJ-01', '@SJ-23', '@must', vTag] }, async ({ candidate, client, remote }, testInfo) => {
      if (!(await roomVersionOffered(testInfo, client, version))) return;
      // The allowing room is on the candidate, so it can check; zed is not in it.
      const allowing = await ResidentRoom.create(client, { name: 'the allowing room, zed not in it' });
      const exchange = await joinAfterRulesChange(candidate.serverName, client, remote, { join_rule: 'restricted', allow: [{ type: 'm.room_membership', room_id: allowing.roomId }] }, 'restricted-not-allowed', version.id, client.userId);
      judgeApplicable(testInfo, sendJoinChecks, exchange.sendJoin);
    });
  }, (v) => v.restrictedJoins);

  test('send_join for a room the resident does not know is refused', { tag: ['@SJ-01', '@must'] }, async ({ candidate, client, remote }, testInfo) => {
    const room = await ResidentRoom.create(client, { name: 'a real room to get a template from' });
    const unknown = `!no-such-room-${Date.now()}:${candidate.serverName}`;
    const exchange = await observeJoin(remote, candidate.serverName, room, remote.userId('zed'), { changeJoin: (d) => ({ ...d, room_id: unknown }), invalidJoin: 'unknown-room' });
    judgeApplicable(testInfo, sendJoinChecks, exchange.sendJoin);
  });
});
