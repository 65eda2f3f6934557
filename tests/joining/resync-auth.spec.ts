/**
 * Authorisation across the resync (inventory #28-#30). While partial, a joiner authorises incoming
 * events against its partial state and the events' own auth events (MSC3902, JS-05), so a
 * stale-auth event can be wrongly accepted and a valid one wrongly rejected; once it knows the full
 * state it must re-run authorisation (JS-04) and end with the resident's state (ST-01).
 *
 * Invalid events are stored by the remote as outliers: served on request (/event, /event_auth)
 * but not part of its room state, so the remote's state stays the ground truth.
 */
import { test, expect } from '../../harness/fixtures.ts';
import { judge } from '../../harness/checks/judge.ts';
import { resyncReauthorisesEvents } from '../../harness/checks/partial-state.ts';
import { judgeNotServed, observeStateAtEvent, pushAndJudge, seenInLazySync, servedToClient } from '../../harness/joining/resync-observe.ts';
import { UncheckedJoin } from '../../harness/joining/unchecked-join.ts';
import { citedAuthEvents } from '../../harness/joining/room-versions.ts';
import { recordNotSupported } from '../../harness/checks/judge.ts';

const RESYNC_WITHIN_MS = 30_000;

test.describe('joining: authorisation across the resync', () => {
  test('an event rejected under partial state stays rejected after the resync (#28)', { tag: ['@complement-28', '@SG-10', '@ST-01', '@ST-09'] }, async ({ candidate, client, remote }, testInfo) => {
    // Sending org.lazyjoin.restricted needs power 50; @derek has 0, so the event fails the auth
    // rules against its own auth events whatever else the candidate knows.
    const join = await UncheckedJoin.start({ candidate, client, remote, room: { powerLevels: { events: { 'org.lazyjoin.restricted': 50 } } } });
    join.joinAnswer.ok();
    if (join.partial) await join.resyncArrived(RESYNC_WITHIN_MS);
    const why = 'is sent by a user with power 0 where the event type needs 50';
    const bad = join.room.forge({ type: 'org.lazyjoin.restricted', sender: join.derek, content: { body: 'not allowed' }, outlier: true }).eventId;
    const sentinel = join.room.sendMessage(join.charlie, 'sentinel after the unauthorised event');
    await pushAndJudge(testInfo, candidate.serverName, join, [bad, sentinel]);
    expect(await seenInLazySync(client, join.roomId, sentinel), `the sentinel ${sentinel} in a lazy-loading /sync`).toBe(true);
    if (join.partial) await judgeNotServed(testInfo, join, bad, 'partial', why);
    join.releaseResync();
    await join.awaitResyncComplete(RESYNC_WITHIN_MS);
    await judgeNotServed(testInfo, join, bad, 'complete', why);
    await observeStateAtEvent(testInfo, candidate.serverName, join, sentinel, 'complete');
  });

  test('state accepted under partial state with stale auth is rejected once the full state is known (#29)', { tag: ['@complement-29', '@SG-10', '@JS-04'] }, async ({ candidate, client, remote }, testInfo) => {
    // @derek (power 50) joined and left before the candidate joined; the partial state omits both.
    let derekJoin = '';
    const join = await UncheckedJoin.start({
      candidate,
      client,
      remote,
      room: { powerLevels: { users: { [remote.userId('charlie')]: 100, [remote.userId('derek')]: 50 } } },
      prepare: ({ room, derek }) => {
        derekJoin = room.stateEventId('m.room.member', derek)!;
        room.leave(derek);
      },
    });
    join.joinAnswer.ok();
    if (join.partial) await join.resyncArrived(RESYNC_WITHIN_MS);
    // Stale auth: cites derek's old join as his membership.
    const auth = citedAuthEvents(join.room, ['m.room.create', 'm.room.power_levels']);
    const stale = join.room.forge({ type: 'org.lazyjoin.test', stateKey: '', sender: join.derek, content: { stale: true }, authEvents: [...auth, derekJoin], outlier: true }).eventId;
    const sentinel = join.room.sendMessage(join.charlie, 'sentinel after the stale-auth event');
    await pushAndJudge(testInfo, candidate.serverName, join, [stale, sentinel]);
    expect(await seenInLazySync(client, join.roomId, sentinel), `the sentinel ${sentinel} in a lazy-loading /sync`).toBe(true);
    if (join.partial) {
      const during = await servedToClient(join, stale);
      testInfo.annotations.push({ type: 'lazyjoin-observed', description: `stale-auth event ${stale} served while partial: ${JSON.stringify(during)}` });
    } else recordNotSupported(testInfo, ['JS-04'], `no partial state to re-evaluate (${join.omitMembersSent})`);
    join.releaseResync();
    await join.awaitResyncComplete(RESYNC_WITHIN_MS);
    const after = await servedToClient(join, stale);
    if (join.partial) judge(testInfo, resyncReauthorisesEvents, { request: { scenario: 'a stale-auth state event accepted while partial' }, facts: [{ fact: `${stale} served to the client once resynced`, expected: false, observed: after.served }] });
    await judgeNotServed(testInfo, join, stale, 'complete', 'fails the auth rules against the full state before it: its sender had left the room');
  });

  test('state rejected under partial state because of a stale-auth kick is accepted once the full state is known (#30)', { tag: ['@complement-30', '@SG-10', '@JS-04', '@ST-01'] }, async ({ candidate, client, remote }, testInfo) => {
    // @derek (power 100) joined and left; @elsie (power 50) is joined. Derek then "kicks" elsie
    // citing his old join: the kick is invalid, so elsie's later state event is valid.
    let derekJoin = '';
    const elsie = remote.userId('elsie');
    const join = await UncheckedJoin.start({
      candidate,
      client,
      remote,
      room: { powerLevels: { users: { [remote.userId('charlie')]: 100, [remote.userId('derek')]: 100, [elsie]: 50 } } },
      prepare: ({ room, derek }) => {
        derekJoin = room.stateEventId('m.room.member', derek)!;
        room.leave(derek);
        room.join(elsie);
      },
    });
    join.joinAnswer.ok();
    if (join.partial) await join.resyncArrived(RESYNC_WITHIN_MS);
    const room = join.room;
    const auth = citedAuthEvents(room, ['m.room.create', 'm.room.power_levels']);
    const elsieJoin = room.stateEventId('m.room.member', elsie)!;
    const before = room.forwardExtremities();
    const kick = room.forge({ type: 'm.room.member', stateKey: elsie, sender: join.derek, content: { membership: 'leave' }, authEvents: [...auth, derekJoin, elsieJoin], outlier: true }).eventId;
    // Elsie's event follows the kick and the last valid event: with the kick rejected, she is joined before it.
    const elsieState = room.forge({ type: 'org.lazyjoin.test', stateKey: 'elsie', sender: elsie, content: { by: 'elsie' }, prevEvents: [kick, ...before] }).eventId;
    const sentinel = room.sendMessage(join.charlie, 'sentinel after elsie');
    await pushAndJudge(testInfo, candidate.serverName, join, [kick, elsieState, sentinel]);
    expect(await seenInLazySync(client, join.roomId, sentinel), `the sentinel ${sentinel} in a lazy-loading /sync`).toBe(true);
    if (join.partial) {
      const during = { kick: await servedToClient(join, kick), elsieState: await servedToClient(join, elsieState) };
      testInfo.annotations.push({ type: 'lazyjoin-observed', description: `while partial: ${JSON.stringify(during)}` });
    } else recordNotSupported(testInfo, ['JS-04'], `no partial state to re-evaluate (${join.omitMembersSent})`);
    join.releaseResync();
    await join.awaitResyncComplete(RESYNC_WITHIN_MS);
    const after = { kick: await servedToClient(join, kick), elsieState: await servedToClient(join, elsieState) };
    if (join.partial) {
      judge(testInfo, resyncReauthorisesEvents, {
        request: { scenario: 'a stale-auth kick accepted while partial, and the state event it wrongly blocked' },
        facts: [
          { fact: `the kick ${kick} served once resynced`, expected: false, observed: after.kick.served },
          { fact: `the blocked state event ${elsieState} served once resynced`, expected: true, observed: after.elsieState.served },
        ],
      });
    }
    await judgeNotServed(testInfo, join, kick, 'complete', 'fails the auth rules against the full state before it: its sender had left the room');
    await observeStateAtEvent(testInfo, candidate.serverName, join, sentinel, 'complete');
  });
});
