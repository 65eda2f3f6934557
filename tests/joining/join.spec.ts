/**
 * The candidate joins a room on a remote with partial state (MSC3706 `omit_members`) and fetches
 * the rest (MSC3902 resync): what it asks for, where and at which event it resyncs, fallback to
 * other servers of `servers_in_room`, resuming after a restart, and its own events reaching the
 * room's servers while its state is partial.
 */
import { test, expect } from '../../harness/fixtures.ts';
import { inCoreRoomVersions } from '../../harness/joining/room-versions.ts';
import { judge } from '../../harness/checks/judge.ts';
import { clientOperationsWorkWhilePartial, resyncResumesAfterRestart } from '../../harness/checks/partial-state.ts';
import {
  eventsReachServersInRoom,
  resyncAsksSendJoinServerFirst,
  resyncFallsBackToServersInRoom,
  resyncFetchesStateAtJoin,
} from '../../harness/checks/joining-resync.ts';
import { breakStateAt, FEDERATION_WITHIN_MS, fixtureExpectation, partialJoin, recordObservationFixture, receivedBy } from '../../harness/joining/partial-join.ts';

inCoreRoomVersions((copy) => test.describe('joining: the partial join and the resync', () => {
  test('asks for partial state, returns /join while the resync is held, then fetches the state at the join from the send_join server', { tag: ['@JS-03', '@msc-only'] }, async ({ candidate, client, remote }, testInfo) => {
    const join = await partialJoin({ candidate, remote, joiner: client }, { members: 6, servers: 2 });
    await test.step('what the candidate asked send_join for', async () => {
      testInfo.annotations.push({ type: 'lazyjoin-observed', description: `send_join query: ${JSON.stringify(join.sendJoinRecord.query)}` });
    });
    if (join.notPartial(testInfo, ['JS-03', 'JS-08'])) return;
    expect(join.askedFor.omitMembers ?? join.askedFor.unstablePartialState, 'omit_members (or the unstable flag) in the send_join query').toBe('true');
    await test.step('the client /join returned while the remote held the resync', async () => {
      judge(testInfo, clientOperationsWorkWhilePartial, { request: { scenario: 'the client /join of a partial join' }, facts: [{ fact: '/join returned while the resync was held', expected: true, observed: join.joinReturnedDuringResync }] });
    });
    const held = await test.step('a resync request reaches the remote', () => join.awaitResyncStarted());
    testInfo.annotations.push({ type: 'lazyjoin-observed', description: `first resync request: ${held.route} ${held.query.toString()}` });
    join.releaseResync();
    await test.step('the resync completes: an eager /sync shows every member', () => join.awaitResyncComplete());
    const observation = join.observe();
    testInfo.annotations.push({ type: 'lazyjoin-observed', description: `resync requests: ${JSON.stringify(observation.truth.resyncRequests)}` });
    const verdicts = [resyncFetchesStateAtJoin, resyncAsksSendJoinServerFirst].map((check) => [check.id, judge(testInfo, check, observation)] as const);
    recordObservationFixture(testInfo, candidate, `recorded-${candidate.info.name}-resync-from-send-join-server`, 'a partial join held at /state_ids, then released: where and at which event the joiner fetched the state', observation, Object.fromEntries(verdicts.map(([id, o]) => [id, fixtureExpectation(o)])));
  });

  const brokenAnswers = [
    { name: 'an error', answer: { status: 500, body: { errcode: 'M_UNKNOWN', error: 'scripted failure' } } },
    { name: 'garbage', answer: { status: 200, raw: '{"pdu_ids": "not a list", "auth_chain": 7' } },
  ];
  for (const { name, answer } of brokenAnswers) {
    test(`falls back to another server of servers_in_room when the send_join server answers the resync with ${name}`, { tag: ['@complement-25', '@JS-02', '@msc-only'] }, async ({ candidate, client, remote }, testInfo) => {
      const join = await partialJoin({ candidate, remote, joiner: client }, { members: 4, servers: 1, hold: ['state_ids'] });
      if (join.notPartial(testInfo, ['JS-02'])) return;
      await join.awaitResyncStarted();
      // The remote (which answered send_join) breaks; its bystander, also in servers_in_room, serves.
      breakStateAt(join, remote.serverName, answer);
      join.releaseResync();
      // Not completing is the finding itself (informational), judged below from the request log.
      const completed = await test.step('the resync completes through the bystander', () => join.awaitResyncComplete().then(() => true, () => false));
      testInfo.annotations.push({ type: 'lazyjoin-observed', description: `resync completed: ${completed}` });
      const observation = join.observe({ failingServers: [remote.serverName] });
      testInfo.annotations.push({ type: 'lazyjoin-observed', description: `resync requests: ${JSON.stringify(observation.truth.resyncRequests)}` });
      const outcome = judge(testInfo, resyncFallsBackToServersInRoom, observation);
      recordObservationFixture(testInfo, candidate, `recorded-${candidate.info.name}-resync-fallback-after-${name.replace(/^an /, '')}`, `the send_join server answered the resync with ${name}; a bystander in servers_in_room served`, observation, { [resyncFallsBackToServersInRoom.id]: fixtureExpectation(outcome) });
    });
  }

  // A restart costs seconds; it runs in the candidate's default room version only.
  if (!copy) test('the resync resumes after the candidate restarts in the middle of it', { tag: ['@complement-24', '@JS-17', '@msc-only'] }, async ({ candidate, client, remote }, testInfo) => {
    test.skip(!candidate.capabilities.restart, `${candidate.info.name} cannot be restarted by the suite`);
    const join = await partialJoin({ candidate, remote, joiner: client }, { members: 4, servers: 1, hold: ['state_ids'] });
    if (join.notPartial(testInfo, ['JS-17'])) return;
    await join.awaitResyncStarted();
    // Everything logged from here on is after the held request; a restarted candidate resumes during its start-up.
    const afterRestart = remote.requests().length;
    await test.step('restart the candidate while its /state_ids request is held', () => candidate.restart());
    // The held request's connection died with the old process; from now on everything is answered.
    join.releaseResync();
    const completed = await test.step('the restarted candidate completes the resync', () => join.awaitResyncComplete().then(() => true, () => false));
    const resumed = remote.requests().slice(afterRestart).filter((r) => (r.route === 'state_ids' || r.route === 'state') && r.origin === candidate.serverName);
    testInfo.annotations.push({ type: 'lazyjoin-observed', description: `state requests after the restart: ${JSON.stringify(resumed.map((r) => `${r.route} -> ${r.to} ${r.status ?? 'unanswered'}`))}` });
    judge(testInfo, resyncResumesAfterRestart, {
      request: { scenario: 'a restart while /state_ids of the resync was held' },
      facts: [
        { fact: 'the restarted candidate asked for the state again', expected: true, observed: resumed.length > 0 },
        { fact: 'the resync completed (an eager /sync shows every member)', expected: true, observed: completed },
      ],
    });
  });

  test('messages and display-name changes sent during the resync reach every server in servers_in_room', { tag: ['@complement-6', '@complement-7', '@JS-02', '@msc-only'] }, async ({ candidate, client, remote }, testInfo) => {
    const join = await partialJoin({ candidate, remote, joiner: client }, { members: 4, servers: 2 });
    if (join.notPartial(testInfo, ['JS-02'])) return;
    await join.awaitResyncStarted();
    const sent = await test.step('the joiner sends a message and changes its display name while partial', async () => {
      const message = (await client.sendMessage(join.roomId, 'sent while partial')).ok().event_id;
      (await client.setDisplayName('Partial Joiner')).ok();
      return message;
    });
    await test.step('the message and the new membership reach the remote and its bystanders', async () => {
      await remote.expectPdu({ type: 'm.room.message', room_id: join.roomId, sender: client.userId }, { within: FEDERATION_WITHIN_MS });
      await remote.expectPdu({ type: 'm.room.member', room_id: join.roomId, state_key: client.userId, content: { displayname: 'Partial Joiner' } }, { within: FEDERATION_WITHIN_MS });
    });
    // Each server gets its own transaction: after every PDU that arrives, look again at who has the
    // message, until all do or the bound passes (the check below then names who missed it).
    const servers = join.serversInRoom;
    const deadline = Date.now() + FEDERATION_WITHIN_MS;
    while (receivedBy(join, sent, servers).length < servers.length && Date.now() < deadline) {
      const since = remote.pdus.mark();
      if (receivedBy(join, sent, servers).length === servers.length) break;
      const arrived = await remote.pdus.expect((p) => p.room_id === join.roomId, { within: deadline - Date.now(), since }).then(() => true, () => false);
      if (!arrived) break;
    }
    const observation = join.observe({ deliveries: [{ eventId: sent, receivedBy: receivedBy(join, sent, servers) }] });
    join.releaseResync();
    judge(testInfo, eventsReachServersInRoom, observation);
  });
}));
