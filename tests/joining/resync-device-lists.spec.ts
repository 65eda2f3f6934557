/**
 * Device lists across a partial join (inventory #47-#63). Outgoing: a local device change must
 * reach every server sharing the room (JS-16, judged once resynced); while partial the candidate
 * only knows servers_in_room (JS-02), and once resynced it must catch up servers it missed and may
 * drop servers that left (JS-12). Incoming: remote users' device lists are tracked and cached
 * while they share a room (JS-12's cache) and changes are surfaced in device_lists (JS-13). The
 * MSC-only parts are informational; Dendrite, which joins with full state, runs the after-resync
 * parts as a plain join.
 *
 * server1 is the remote (resident); server2 is a bystander serving federation, home of @elsie.
 */
import { test, expect } from '../../harness/fixtures.ts';
import { citedAuthEvents } from '../../harness/joining/room-versions.ts';
import type { TestInfo } from '@playwright/test';
import { judge, recordNotSupported } from '../../harness/checks/judge.ts';
import { localDeviceChangesReachRoomServers, remoteDeviceUpdatesKept, type PartialFactsObservation } from '../../harness/checks/partial-state.ts';
import type { Check } from '../../harness/checks/types.ts';
import type { SyncResponse } from '../../harness/client/types.ts';
import { pushAndJudge } from '../../harness/joining/resync-observe.ts';
import { UncheckedJoin, type UncheckedJoinOptions } from '../../harness/joining/unchecked-join.ts';
import {
  joinFromBystander,
  judgeAfterResync,
  keysQueryWentToFederation,
  recordDuringResync,
  updateDeliveries,
  updateReached,
} from '../../harness/joining/device-lists.ts';
import type { Bystander } from '../../harness/remote/remote.ts';
import type { RouteHandler } from '../../harness/remote/routing.ts';

/**
 * Judges one device-list tracking behaviour of the partial-state profile: `holds` is what the
 * scenario expected of a conforming candidate (worked out from who the remote knows is in the
 * room), `observed` the figures it was computed from.
 */
function judgeTracking(testInfo: TestInfo, check: Check<PartialFactsObservation>, holds: boolean, observed: unknown, what: string): void {
  testInfo.annotations.push({ type: 'lazyjoin-observed', description: `${what}: ${JSON.stringify(observed)}` });
  judge(testInfo, check, { request: { scenario: what }, facts: [{ fact: what, expected: true, observed: holds }] });
}

const RESYNC_WITHIN_MS = 30_000;

interface DeviceListScenario {
  join: UncheckedJoin;
  server1: string;
  server2: Bystander;
  elsie: string;
}

/** A room with @elsie of server2 joined before the candidate (unless `elsieLater`), the candidate joined and its resync held. */
async function setUp(
  fx: Pick<UncheckedJoinOptions, 'candidate' | 'client' | 'remote'>,
  opts: Pick<UncheckedJoinOptions, 'sendJoin' | 'prepare' | 'resyncAnswer'> & { elsieLater?: boolean; powerLevels?: Record<string, unknown> } = {},
): Promise<DeviceListScenario> {
  const server2 = await fx.remote.addServer({ mode: 'serve' });
  const elsie = server2.userId('elsie');
  const join = await UncheckedJoin.start({
    ...fx,
    sendJoin: opts.sendJoin,
    resyncAnswer: opts.resyncAnswer,
    // A named room: a partial answer then carries no heroes, so no member of server2 is revealed before the resync.
    room: { name: 'device lists', ...(opts.powerLevels ? { powerLevels: opts.powerLevels } : {}) },
    prepare: async (ctx) => {
      await opts.prepare?.(ctx);
      if (!opts.elsieLater) ctx.room.join(elsie);
    },
  });
  join.joinAnswer.ok();
  if (join.partial) await join.resyncArrived(RESYNC_WITHIN_MS);
  return { join, server1: fx.remote.serverName, server2, elsie };
}

/** Servers other than the candidate with joined members now (the truth JS-16 is judged against). */
function roomServers(join: UncheckedJoin): string[] {
  return join.room.serversInRoom().filter((s) => s !== join.candidate.serverName);
}

function partialNote(testInfo: TestInfo, join: UncheckedJoin, requirements: string[]): void {
  if (!join.partial) recordNotSupported(testInfo, requirements, `the candidate joined with full state (${join.omitMembersSent})`);
}

async function finishResync(join: UncheckedJoin): Promise<void> {
  join.releaseResync();
  await join.awaitResyncComplete(RESYNC_WITHIN_MS);
}

test.describe('joining: outgoing device-list updates', () => {
  test('reach every server of a partial-state room during and after the resync (#47)', { tag: ['@complement-47', '@JS-16', '@JS-02'] }, async ({ candidate, client, remote }, testInfo) => {
    const { join, server1, server2 } = await setUp({ candidate, client, remote });
    partialNote(testInfo, join, ['JS-02']);
    if (join.partial) {
      const during = await updateDeliveries(client, join.deliveredEdus, { expectReceive: [server1, server2.serverName] });
      recordDuringResync(testInfo, during, [server1, server2.serverName], 'a device change during the resync reaches every server of servers_in_room');
    }
    await finishResync(join);
    const after = await updateDeliveries(client, join.deliveredEdus, { expectReceive: roomServers(join) });
    judgeAfterResync(testInfo, client.userId, after, roomServers(join));
  });

  test('reach a server that joins during the resync (#48)', { tag: ['@complement-48', '@JS-16', '@JS-02'] }, async ({ candidate, client, remote }, testInfo) => {
    const { join, server1, server2, elsie } = await setUp({ candidate, client, remote }, { elsieLater: true });
    partialNote(testInfo, join, ['JS-02']);
    if (join.partial) {
      const before = await updateDeliveries(client, join.deliveredEdus, { expectReceive: [server1], expectMiss: [server2.serverName] });
      testInfo.annotations.push({ type: 'lazyjoin-observed', description: `before elsie's join: ${JSON.stringify(Object.fromEntries(before))}` });
    }
    await pushAndJudge(testInfo, candidate.serverName, join, [join.room.join(elsie)]);
    if (join.partial) {
      const during = await updateDeliveries(client, join.deliveredEdus, { expectReceive: [server1, server2.serverName] });
      recordDuringResync(testInfo, during, [server1, server2.serverName], 'after a server joins during the resync, device changes reach it too');
    }
    await finishResync(join);
    judgeAfterResync(testInfo, client.userId, await updateDeliveries(client, join.deliveredEdus, { expectReceive: roomServers(join) }), roomServers(join));
  });

  test('stop reaching a server that left during the resync once resynced (#49)', { tag: ['@complement-49', '@JS-16', '@JS-12'] }, async ({ candidate, client, remote }, testInfo) => {
    const { join, server1, server2, elsie } = await setUp({ candidate, client, remote });
    partialNote(testInfo, join, ['JS-12']);
    await pushAndJudge(testInfo, candidate.serverName, join, [join.room.leave(elsie)]);
    if (join.partial) {
      // While partial the candidate cannot know elsie was server2's last member: either way is fine.
      const during = await updateDeliveries(client, join.deliveredEdus, { expectReceive: [server1, server2.serverName] });
      testInfo.annotations.push({ type: 'lazyjoin-observed', description: `after elsie left, during the resync: ${JSON.stringify(Object.fromEntries(during))}` });
    }
    await finishResync(join);
    const after = await updateDeliveries(client, join.deliveredEdus, { expectReceive: roomServers(join), expectMiss: [server2.serverName] });
    judgeAfterResync(testInfo, client.userId, after, roomServers(join));
    if (join.partial) {
      judgeTracking(testInfo, localDeviceChangesReachRoomServers, after.get(server2.serverName) === false, Object.fromEntries(after), 'once resynced, device changes no longer go to a server that left the room');
    }
  });

  test('reach a server wrongly kicked by a stale-auth event once resynced, with the missed update (#50)', { tag: ['@complement-50', '@JS-16', '@JS-12'] }, async ({ candidate, client, remote }, testInfo) => {
    let derekJoin = '';
    const elsieId = (s: Bystander) => s.userId('elsie');
    let server2Ref: Bystander | undefined;
    const { join, server2, elsie } = await setUp(
      { candidate, client, remote },
      {
        powerLevels: { users: { [remote.userId('charlie')]: 100, [remote.userId('derek')]: 100 } },
        prepare: ({ room, derek }) => {
          derekJoin = room.stateEventId('m.room.member', derek)!;
          room.leave(derek);
        },
      },
    );
    server2Ref = server2;
    partialNote(testInfo, join, ['JS-12']);
    const room = join.room;
    const auth = citedAuthEvents(room, ['m.room.create', 'm.room.power_levels']);
    const kick = room.forge({ type: 'm.room.member', stateKey: elsieId(server2Ref), sender: join.derek, content: { membership: 'leave' }, authEvents: [...auth, derekJoin, room.stateEventId('m.room.member', elsie)!], outlier: true }).eventId;
    await pushAndJudge(testInfo, candidate.serverName, join, [kick]);
    const missedMark = join.deliveredEdus.mark();
    if (join.partial) {
      const during = await updateDeliveries(client, join.deliveredEdus, { expectReceive: [remote.serverName], expectMiss: [server2.serverName] });
      testInfo.annotations.push({ type: 'lazyjoin-observed', description: `after the stale-auth kick, during the resync: ${JSON.stringify(Object.fromEntries(during))}` });
    }
    await finishResync(join);
    if (join.partial) {
      const caughtUp = await updateReached(join.deliveredEdus, client.userId, server2.serverName, missedMark);
      judgeTracking(testInfo, localDeviceChangesReachRoomServers, caughtUp, { caughtUp }, 'once resynced, a server wrongly believed kicked gets the device change it missed');
    }
    judgeAfterResync(testInfo, client.userId, await updateDeliveries(client, join.deliveredEdus, { expectReceive: roomServers(join) }), roomServers(join));
  });

  test('reach a server left out of a lying servers_in_room once resynced, with the missed update (#52)', { tag: ['@complement-52', '@JS-16', '@JS-12'] }, async ({ candidate, client, remote }, testInfo) => {
    const { join, server1, server2 } = await setUp({ candidate, client, remote }, { sendJoin: { serversInRoom: [remote.serverName] } });
    partialNote(testInfo, join, ['JS-12']);
    const missedMark = join.deliveredEdus.mark();
    if (join.partial) {
      const during = await updateDeliveries(client, join.deliveredEdus, { expectReceive: [server1], expectMiss: [server2.serverName] });
      testInfo.annotations.push({ type: 'lazyjoin-observed', description: `with server2 left out of servers_in_room, during the resync: ${JSON.stringify(Object.fromEntries(during))}` });
    }
    await finishResync(join);
    if (join.partial) {
      const caughtUp = await updateReached(join.deliveredEdus, client.userId, server2.serverName, missedMark);
      judgeTracking(testInfo, localDeviceChangesReachRoomServers, caughtUp, { caughtUp }, 'once resynced, a server absent from servers_in_room gets the device change it missed');
    }
    judgeAfterResync(testInfo, client.userId, await updateDeliveries(client, join.deliveredEdus, { expectReceive: roomServers(join) }), roomServers(join));
  });

  for (const variant of [
    { id: '#51', title: 'a wrongly kicked server whose member left the room but shares another', lie: 'kick' as const },
    { id: '#53', title: 'a server left out of servers_in_room whose member left the room but shares another', lie: 'servers_in_room' as const },
  ]) {
    test(`reach ${variant.title} once resynced, with the missed update (${variant.id})`, { tag: [`@complement-${variant.id.slice(1)}`, '@JS-16', '@JS-12'] }, async ({ candidate, client, remote }, testInfo) => {
      let derekJoin = '';
      const { join, server2, elsie } = await setUp(
        { candidate, client, remote },
        variant.lie === 'kick'
          ? {
              powerLevels: { users: { [remote.userId('charlie')]: 100, [remote.userId('derek')]: 100 } },
              prepare: ({ room, derek }) => {
                derekJoin = room.stateEventId('m.room.member', derek)!;
                room.leave(derek);
              },
            }
          : { sendJoin: { serversInRoom: [remote.serverName] } },
      );
      partialNote(testInfo, join, ['JS-12']);
      const room = join.room;
      if (variant.lie === 'kick') {
        const auth = citedAuthEvents(room, ['m.room.create', 'm.room.power_levels']);
        const kick = room.forge({ type: 'm.room.member', stateKey: elsie, sender: join.derek, content: { membership: 'leave' }, authEvents: [...auth, derekJoin, room.stateEventId('m.room.member', elsie)!], outlier: true }).eventId;
        await pushAndJudge(testInfo, candidate.serverName, join, [kick]);
      }
      const missedMark = join.deliveredEdus.mark();
      if (join.partial) {
        const during = await updateDeliveries(client, join.deliveredEdus, { expectReceive: [remote.serverName], expectMiss: [server2.serverName] });
        testInfo.annotations.push({ type: 'lazyjoin-observed', description: `during the resync: ${JSON.stringify(Object.fromEntries(during))}` });
      }
      // Elsie joins a room on the candidate, then leaves the partial room: server2 still shares a room with the candidate.
      const { room_id: shared } = (await client.createRoom({ preset: 'public_chat' })).ok();
      await joinFromBystander(server2, candidate.serverName, shared, elsie);
      await pushAndJudge(testInfo, candidate.serverName, join, [room.leave(elsie)]);
      await finishResync(join);
      if (join.partial) {
        const caughtUp = await updateReached(join.deliveredEdus, client.userId, server2.serverName, missedMark);
        judgeTracking(testInfo, localDeviceChangesReachRoomServers, caughtUp, { caughtUp }, 'once resynced, a server that missed a device change gets it, since it still shares a room with the user');
      }
      const sharing = [...new Set([...roomServers(join), server2.serverName])];
      judgeAfterResync(testInfo, client.userId, await updateDeliveries(client, join.deliveredEdus, { expectReceive: sharing }), sharing);
    });
  }
});

function changed(sync: SyncResponse, userId: string): boolean {
  return sync.device_lists?.changed?.includes(userId) === true;
}

/**
 * #60-#63: fred (power 100) joined and left before the candidate joined. While partial, fred's
 * stale-auth ban of derek is accepted, so derek's valid kick of elsie looks unauthorised and the
 * candidate believes elsie is still in the room. The resync must undo both.
 */
async function wronglyBelievedPresent(fx: Pick<UncheckedJoinOptions, 'candidate' | 'client' | 'remote'>, testInfo: TestInfo, opts: { elsieOnRemote?: boolean } = {}) {
  const { remote } = fx;
  const fred = remote.userId('fred');
  let fredJoin = '';
  const scenario = await setUp(fx, {
    elsieLater: opts.elsieOnRemote,
    powerLevels: { users: { [remote.userId('charlie')]: 100, [fred]: 100, [remote.userId('derek')]: 50 } },
    prepare: ({ room }) => {
      fredJoin = room.join(fred);
      room.leave(fred);
      if (opts.elsieOnRemote) room.join(remote.userId('elsie'));
    },
  });
  const elsie = opts.elsieOnRemote ? remote.userId('elsie') : scenario.elsie;
  const { join } = scenario;
  partialNote(testInfo, join, ['JS-12']);
  const room = join.room;
  const auth = citedAuthEvents(room, ['m.room.create', 'm.room.power_levels']);
  const before = room.forwardExtremities();
  const ban = room.forge({ type: 'm.room.member', stateKey: join.derek, sender: fred, content: { membership: 'ban' }, authEvents: [...auth, fredJoin, room.stateEventId('m.room.member', join.derek)!], outlier: true }).eventId;
  const kick = room.forge({ type: 'm.room.member', stateKey: elsie, sender: join.derek, content: { membership: 'leave' }, prevEvents: [ban, ...before] }).eventId;
  await pushAndJudge(testInfo, fx.candidate.serverName, join, [ban, kick]);
  return { join, elsie };
}

test.describe('joining: tracking remote device lists', () => {
  test('pre-existing members: not cached while partial, changes surfaced and keys cached once resynced (#54)', { tag: ['@complement-54', '@JS-12', '@JS-13'] }, async ({ candidate, client, remote }, testInfo) => {
    const { join } = await setUp({ candidate, client, remote });
    const charlie = join.charlie;
    if (join.partial) {
      const both = [await keysQueryWentToFederation(client, remote, candidate.serverName, charlie), await keysQueryWentToFederation(client, remote, candidate.serverName, charlie)];
      testInfo.annotations.push({ type: 'lazyjoin-observed', description: `keys queries for ${charlie} during the resync went to federation: ${JSON.stringify(both)}` });
    } else recordNotSupported(testInfo, ['JS-13'], `the candidate joined with full state (${join.omitMembersSent})`);
    await finishResync(join);
    // Once resynced, charlie shares the room for sure: the first query fetches and starts tracking, the second is served from the cache.
    await keysQueryWentToFederation(client, remote, candidate.serverName, charlie);
    const cachedAfter = !(await keysQueryWentToFederation(client, remote, candidate.serverName, charlie));
    const since = (await client.sync({ filter: '{}' })).ok().next_batch;
    // prev_id 0 is the stream position the remote publishes at /user/devices, so the update applies without a refetch.
    await pushAndJudge(testInfo, candidate.serverName, join, [], [{ edu_type: 'm.device_list_update', content: { user_id: charlie, device_id: 'CHARLIE2', stream_id: 1, prev_id: [0], deleted: false } }]);
    const surfaced = await client.waitForSync((s) => changed(s, charlie), { since, timeoutMs: 10_000, description: `${charlie} in device_lists.changed` }).then(() => true, () => false);
    if (join.partial) judgeTracking(testInfo, remoteDeviceUpdatesKept, surfaced, { surfaced }, "a resynced room's member's device change is surfaced in device_lists.changed");
    else testInfo.annotations.push({ type: 'lazyjoin-observed', description: `${charlie} in device_lists.changed after a full join: ${surfaced}` });
    judgeTracking(testInfo, localDeviceChangesReachRoomServers, cachedAfter, { cachedAfter }, 'once resynced, a member\'s device list is cached (the second /keys/query does not go to federation)');
  });

  test('a pre-existing member joining another room shared with the candidate is surfaced as changed (#55)', { tag: ['@complement-55', '@JS-13'] }, async ({ candidate, client, remote }, testInfo) => {
    const { join } = await setUp({ candidate, client, remote });
    partialNote(testInfo, join, ['JS-13']);
    const charlie = join.charlie;
    const { room_id: shared } = (await client.createRoom({ preset: 'public_chat' })).ok();
    const since = (await client.sync({ filter: '{}' })).ok().next_batch;
    const joined = await remote.joinRoom(candidate.serverName, shared, charlie, { mode: 'full' });
    expect(joined.invalidEvents, 'events of the candidate\'s send_join answer with bad signatures or hashes').toEqual([]);
    const surfaced = await client.waitForSync((s) => changed(s, charlie), { since, timeoutMs: 10_000, description: `${charlie} in device_lists.changed` }).then(() => true, () => false);
    if (join.partial) judgeTracking(testInfo, remoteDeviceUpdatesKept, surfaced, { surfaced }, 'a member of the partial room who joins another shared room is surfaced in device_lists.changed');
    else expect(surfaced, `${charlie} in device_lists.changed after joining a shared room (full join)`).toBe(true);
    join.releaseResync();
  });

  test('a member joining during the resync: tracked, changes surfaced, keys cached (#56)', { tag: ['@complement-56', '@JS-12', '@JS-13'] }, async ({ candidate, client, remote }, testInfo) => {
    const { join, elsie } = await setUp({ candidate, client, remote }, { elsieLater: true });
    partialNote(testInfo, join, ['JS-13']);
    const since = (await client.sync({ filter: { room: { state: { lazy_load_members: true }, timeline: { lazy_load_members: true } } } })).ok().next_batch;
    await pushAndJudge(testInfo, candidate.serverName, join, [join.room.join(elsie)]);
    await pushAndJudge(testInfo, candidate.serverName, join, [], [{ edu_type: 'm.device_list_update', content: { user_id: elsie, device_id: 'ELSIE2', stream_id: 1, prev_id: [], deleted: false } }]);
    const surfaced = await client
      .waitForSync((s) => changed(s, elsie), { since, filter: { room: { state: { lazy_load_members: true }, timeline: { lazy_load_members: true } } }, timeoutMs: 10_000, description: `${elsie} in device_lists.changed` })
      .then(() => true, () => false);
    const first = await keysQueryWentToFederation(client, remote, candidate.serverName, elsie);
    const second = await keysQueryWentToFederation(client, remote, candidate.serverName, elsie);
    const observed = { surfacedWhilePartial: surfaced, firstQueryToFederation: first, secondQueryToFederation: second };
    if (join.partial) judgeTracking(testInfo, remoteDeviceUpdatesKept, surfaced, observed, 'a member who joined during the resync is tracked: her device change is surfaced in device_lists.changed');
    await finishResync(join);
    const stillCached = !(await keysQueryWentToFederation(client, remote, candidate.serverName, elsie));
    judgeTracking(testInfo, localDeviceChangesReachRoomServers, !second && stillCached, { ...observed, cachedAfterResync: stillCached }, 'keys of a member who joined during the resync are fetched once and then cached, also after it');
  });

  test('a member who joined and left during the resync is no longer tracked (#57)', { tag: ['@complement-57', '@JS-12'] }, async ({ candidate, client, remote }, testInfo) => {
    const { join, elsie } = await setUp({ candidate, client, remote }, { elsieLater: true });
    partialNote(testInfo, join, []);
    const lazy = { room: { state: { lazy_load_members: true }, timeline: { lazy_load_members: true } } };
    await pushAndJudge(testInfo, candidate.serverName, join, [join.room.join(elsie)]);
    await keysQueryWentToFederation(client, remote, candidate.serverName, elsie);
    const since = (await client.sync({ filter: lazy })).ok().next_batch;
    await pushAndJudge(testInfo, candidate.serverName, join, [join.room.leave(elsie)]);
    const left = await client
      .waitForSync((s) => s.device_lists?.left?.includes(elsie) === true, { since, filter: lazy, timeoutMs: 10_000, description: `${elsie} in device_lists.left` })
      .then(() => true, () => false);
    const refetched = await keysQueryWentToFederation(client, remote, candidate.serverName, elsie);
    judgeTracking(testInfo, localDeviceChangesReachRoomServers, left && refetched, { inDeviceListsLeft: left, nextQueryToFederation: refetched }, 'a member who left no longer shares a room: device_lists.left names her and her keys are no longer served from cache');
    join.releaseResync();
  });

  test('a member wrongly believed present is no longer tracked once resynced (#60)', { tag: ['@complement-60', '@JS-12'] }, async ({ candidate, client, remote }, testInfo) => {
    const { join, elsie } = await wronglyBelievedPresent({ candidate, client, remote }, testInfo);
    const duringFirst = await keysQueryWentToFederation(client, remote, candidate.serverName, elsie);
    const duringSecond = await keysQueryWentToFederation(client, remote, candidate.serverName, elsie);
    await finishResync(join);
    const afterResync = await keysQueryWentToFederation(client, remote, candidate.serverName, elsie);
    judgeTracking(testInfo, localDeviceChangesReachRoomServers, afterResync, { duringFirst, duringSecond, afterResyncToFederation: afterResync }, 'once resynced, a member the candidate wrongly believed present is no longer served from its device-list cache');
  });

  test('a member wrongly believed present who rejoins after the resync has her keys fetched afresh (#62)', { tag: ['@complement-62', '@JS-12'] }, async ({ candidate, client, remote }, testInfo) => {
    const { join, elsie } = await wronglyBelievedPresent({ candidate, client, remote }, testInfo);
    await keysQueryWentToFederation(client, remote, candidate.serverName, elsie);
    await finishResync(join);
    await pushAndJudge(testInfo, candidate.serverName, join, [join.room.join(elsie)]);
    // Changes made while she was out of the room never reached the candidate: a cached copy from before is stale.
    const refetched = await keysQueryWentToFederation(client, remote, candidate.serverName, elsie);
    judgeTracking(testInfo, localDeviceChangesReachRoomServers, refetched, { refetched }, 'when she rejoins after the resync, her keys are fetched afresh rather than served from the cache built while she was wrongly believed present');
  });

  test('a member wrongly believed present who rejoins before the resync completes is refetched once resynced (#61)', { tag: ['@complement-61', '@JS-12'] }, async ({ candidate, client, remote }, testInfo) => {
    const { join, elsie } = await wronglyBelievedPresent({ candidate, client, remote }, testInfo);
    await keysQueryWentToFederation(client, remote, candidate.serverName, elsie);
    await pushAndJudge(testInfo, candidate.serverName, join, [join.room.join(elsie)]);
    await finishResync(join);
    // She was out of the room for a while: changes then were not sent to the candidate, so its cache cannot be trusted.
    const refetched = await keysQueryWentToFederation(client, remote, candidate.serverName, elsie);
    judgeTracking(testInfo, localDeviceChangesReachRoomServers, refetched, { refetched }, 'a member who was out of the room during the resync, unknown to the candidate, has her keys fetched afresh once resynced');
  });

  test('a member wrongly believed present who joins another shared room before the resync completes stays tracked (#63)', { tag: ['@complement-63', '@JS-12'] }, async ({ candidate, client, remote }, testInfo) => {
    // Elsie is a user of the remote here, so that she can join a room on the candidate.
    const { join, elsie } = await wronglyBelievedPresent({ candidate, client, remote }, testInfo, { elsieOnRemote: true });
    await keysQueryWentToFederation(client, remote, candidate.serverName, elsie);
    const { room_id: shared } = (await client.createRoom({ preset: 'public_chat' })).ok();
    expect((await remote.joinRoom(candidate.serverName, shared, elsie, { mode: 'full' })).invalidEvents).toEqual([]);
    await finishResync(join);
    // She still shares a room with the candidate, but the tracking it had was built on a false belief: a fresh fetch is the safe outcome.
    const first = await keysQueryWentToFederation(client, remote, candidate.serverName, elsie);
    const second = await keysQueryWentToFederation(client, remote, candidate.serverName, elsie);
    judgeTracking(testInfo, localDeviceChangesReachRoomServers, !second, { firstAfterResyncToFederation: first, secondToFederation: second }, 'a member who shares another room stays tracked after the resync: her keys are cached again after at most one fetch');
  });

  test('leaving the partial-state room stops tracking its members (#58)', { tag: ['@complement-58', '@JS-12'] }, async ({ candidate, client, remote }, testInfo) => {
    const { join } = await setUp({ candidate, client, remote });
    partialNote(testInfo, join, []);
    const charlie = join.charlie;
    await keysQueryWentToFederation(client, remote, candidate.serverName, charlie);
    const since = (await client.sync({ filter: '{}' })).ok().next_batch;
    (await client.leave(join.roomId)).ok();
    await remote.expectPdu({ type: 'm.room.member', state_key: client.userId, content: { membership: 'leave' } }, { within: 15_000 });
    const left = await client
      .waitForSync((s) => s.device_lists?.left?.includes(charlie) === true, { since, timeoutMs: 10_000, description: `${charlie} in device_lists.left` })
      .then(() => true, () => false);
    const refetched = await keysQueryWentToFederation(client, remote, candidate.serverName, charlie);
    judgeTracking(testInfo, localDeviceChangesReachRoomServers, left && refetched, { inDeviceListsLeft: left, nextQueryToFederation: refetched }, 'after leaving the partial room, its members are no longer tracked (device_lists.left, no cache)');
    join.releaseResync();
  });

  test('a resync that cannot complete does not leave members tracked forever (#59)', { tag: ['@complement-59', '@JS-12'] }, async ({ candidate, client, remote }, testInfo) => {
    // Every server answers the resync with 404: the candidate can never complete it.
    const notFound: RouteHandler = (ctx) => ({ status: 404, body: { errcode: 'M_NOT_FOUND', error: `no state at ${ctx.query.get('event_id')}` } });
    const { join } = await setUp({ candidate, client, remote }, { resyncAnswer: { state: notFound, stateIds: notFound } });
    if (!join.partial) {
      recordNotSupported(testInfo, ['JS-12'], `the candidate joined with full state (${join.omitMembersSent}): there is no resync to fail`);
      return;
    }
    const attempts = () => remote.requests().filter((r) => (r.route === 'state_ids' || r.route === 'state') && r.origin === candidate.serverName && r.status === 404).length;
    join.releaseResync();
    // Bounded wait for the candidate to have been refused at least once after the release.
    await expect.poll(attempts, { timeout: 15_000, message: 'a refused resync request from the candidate' }).toBeGreaterThan(0);
    const charlie = join.charlie;
    const first = await keysQueryWentToFederation(client, remote, candidate.serverName, charlie);
    const second = await keysQueryWentToFederation(client, remote, candidate.serverName, charlie);
    judgeTracking(testInfo, localDeviceChangesReachRoomServers, second, { firstQueryToFederation: first, secondQueryToFederation: second, refusedResyncRequests: attempts() }, 'while the resync cannot complete, members are not served from a device-list cache the candidate cannot keep right');
  });
});
