/**
 * Membership changes around a partial join: the joiner leaving before and after the resync,
 * rejoining while it is still held, a second local user joining the partial room, another user
 * joining after a leave, and the remote kicking or banning the joiner.
 */
import { test, expect } from '../../harness/fixtures.ts';
import type { TestInfo } from '@playwright/test';
import { judge, scenarioStopsAt } from '../../harness/checks/judge.ts';
import { removalShownInSync, type ClientRemovalSyncObservation } from '../../harness/checks/client-data.ts';
import type { CheckOutcome } from '../../harness/checks/types.ts';
import { localRequestsAnswerAtOnce } from '../../harness/checks/partial-state.ts';
import type { CandidateClient } from '../../harness/client/client.ts';
import type { SyncResponse } from '../../harness/client/types.ts';
import { FEDERATION_WITHIN_MS, LAZY_FILTER, partialJoin, type PartialJoin } from '../../harness/joining/partial-join.ts';

/** Bound on a client request expected not to wait for the resync. */
const ANSWERS_WITHIN_MS = 5_000;

/** The leave of `userId` as the remote received it (send_leave or a transaction). */
async function expectLeaveAt(join: PartialJoin, userId: string) {
  const pdu = await join.remote.expectPdu({ type: 'm.room.member', room_id: join.roomId, state_key: userId, content: { membership: 'leave' } }, { within: FEDERATION_WITHIN_MS });
  return pdu;
}

/** A sync token taken before a leave, so that the leave shows in the incremental syncs after it. */
async function tokenBefore(client: CandidateClient): Promise<string> {
  return (await client.sync({ filter: LAZY_FILTER })).ok().next_batch;
}

/**
 * Long-polls incremental lazy syncs of `client` from `since` until one lists the room under
 * `leave`, and judges that one did within the bound (CD-04), with the last body seen when none
 * did. Returns the outcome (a scenario that needs the client to know of its removal stops on it).
 */
async function judgeLeftInSync(testInfo: TestInfo, client: CandidateClient, join: PartialJoin, since: string, change: ClientRemovalSyncObservation['change']): Promise<CheckOutcome> {
  let last: SyncResponse | undefined;
  let shown: SyncResponse | undefined;
  try {
    shown = await client.waitForSync(
      (s) => {
        last = s;
        return s.rooms?.leave?.[join.roomId] !== undefined;
      },
      { since, filter: LAZY_FILTER, timeoutMs: FEDERATION_WITHIN_MS, description: `${join.roomId} under rooms.leave for ${client.userId}` },
    );
  } catch (err) {
    if (!/timed out/.test((err as Error).message)) throw err;
  }
  const left = shown?.rooms?.leave?.[join.roomId];
  const ownMember = [...(left?.timeline?.events ?? []), ...(left?.state?.events ?? [])].filter((e) => e.type === 'm.room.member' && e.state_key === client.userId).at(-1);
  return judge(testInfo, removalShownInSync, {
    request: { roomId: join.roomId, userId: client.userId, since, lazyLoadMembers: true },
    change,
    waitedMs: FEDERATION_WITHIN_MS,
    response: shown ? { shownUnderLeave: true, ...(ownMember ? { membership: ownMember.content.membership as string } : {}) } : { shownUnderLeave: false, lastBody: last ?? null },
  });
}

/** Runs a client call and records whether it answered within the bound; returns its HTTP status (undefined when it did not answer). */
async function timed(testInfo: Parameters<Parameters<typeof test>[2]>[1], what: string, call: Promise<{ status: number }>): Promise<number | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const bound = new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), ANSWERS_WITHIN_MS)));
  const status = await Promise.race([call.then((r) => r.status), bound]);
  clearTimeout(timer);
  judge(testInfo, localRequestsAnswerAtOnce, { request: { operation: what, needsRemoteMembers: false, heldForMs: ANSWERS_WITHIN_MS }, response: { answeredWhileHeld: status !== undefined, ...(status !== undefined ? { status } : {}) } });
  return status;
}

test.describe('joining: leaves, kicks, bans and second joins around the resync', () => {
  test('leaving during the resync answers at once and the leave reaches the remote', { tag: ['@complement-40', '@complement-41', '@JS-08', '@CD-04', '@msc-only'] }, async ({ candidate, client, remote }, testInfo) => {
    const join = await partialJoin({ candidate, remote, joiner: client }, { members: 4, servers: 1 });
    if (join.notPartial(testInfo, ['JS-08'])) return;
    await join.awaitResyncStarted();
    const since = await tokenBefore(client);
    const status = await timed(testInfo, 'leaving', client.leave(join.roomId));
    if (status === undefined) join.releaseResync();
    await expectLeaveAt(join, client.userId);
    await judgeLeftInSync(testInfo, client, join, since, { membership: 'leave', by: 'self' });
    join.releaseResync();
  });

  test('leaving after the resync completed reaches the remote', { tag: ['@CD-04'] }, async ({ candidate, client, remote }, testInfo) => {
    const join = await partialJoin({ candidate, remote, joiner: client }, { members: 4, servers: 1 });
    join.releaseResync();
    await join.awaitResyncComplete();
    const since = await tokenBefore(client);
    (await client.leave(join.roomId)).ok();
    await expectLeaveAt(join, client.userId);
    await judgeLeftInSync(testInfo, client, join, since, { membership: 'leave', by: 'self' });
  });

  test('leaving and rejoining while the first resync is still held', { tag: ['@complement-43', '@JS-08', '@msc-only'] }, async ({ candidate, client, remote }, testInfo) => {
    const join = await partialJoin({ candidate, remote, joiner: client }, { members: 4, servers: 1 });
    if (join.notPartial(testInfo, ['JS-08'])) return;
    await join.awaitResyncStarted();
    (await client.leave(join.roomId)).ok();
    await expectLeaveAt(join, client.userId);
    const status = await timed(testInfo, 'rejoining before the first resync finished', client.join(join.roomId, { via: [remote.serverName] }));
    join.releaseResync();
    if (status === undefined) return;
    expect(status, 'HTTP status of the rejoin').toBe(200);
    // The rejoin made a new membership on the remote; the room must end with the joiner in it and every member known.
    expect(join.room.membership(client.userId), `${client.userId}'s membership on the remote after the rejoin`).toBe('join');
    await join.awaitResyncComplete();
  });

  test('a second local user joins the partial room without waiting, and both see every member afterwards', { tag: ['@complement-37', '@JS-08', '@msc-only'] }, async ({ candidate, client, remote, newClient }, testInfo) => {
    const join = await partialJoin({ candidate, remote, joiner: client }, { members: 4, servers: 1 });
    if (join.notPartial(testInfo, ['JS-08'])) return;
    await join.awaitResyncStarted();
    const bob = await newClient();
    const status = await timed(testInfo, "a second local user's join", bob.join(join.roomId, { via: [remote.serverName] }));
    const secondSendJoin = remote.requests('send_join').filter((r) => r.status === 200).at(-1);
    testInfo.annotations.push({ type: 'lazyjoin-observed', description: `second join's send_join query: ${JSON.stringify(secondSendJoin?.query)}` });
    join.releaseResync();
    if (status === undefined) return;
    expect(status, "HTTP status of the second user's join").toBe(200);
    await join.awaitResyncComplete();
    const joined = Object.keys((await bob.joinedMembers(join.roomId)).ok().joined).sort();
    expect(joined, `/joined_members as ${bob.userId}`).toEqual([...join.remoteMembers, client.userId, bob.userId].sort());
  });

  test('after a second local user joined the partial room, the first leaves and both see the leave', { tag: ['@complement-42', '@JS-08', '@CD-04', '@msc-only'] }, async ({ candidate, client, remote, newClient }, testInfo) => {
    const join = await partialJoin({ candidate, remote, joiner: client }, { members: 4, servers: 1 });
    if (join.notPartial(testInfo, ['JS-08'])) return;
    await join.awaitResyncStarted();
    const bob = await newClient();
    (await bob.join(join.roomId, { via: [remote.serverName] })).ok();
    const since = await tokenBefore(client);
    await timed(testInfo, 'leaving after a second local join', client.leave(join.roomId));
    await expectLeaveAt(join, client.userId);
    await judgeLeftInSync(testInfo, client, join, since, { membership: 'leave', by: 'self' });
    await bob.waitForSync((s) => (s.rooms?.join?.[join.roomId]?.timeline?.events ?? []).some((e) => e.type === 'm.room.member' && e.state_key === client.userId && e.content.membership === 'leave'), {
      filter: LAZY_FILTER,
      timeoutMs: FEDERATION_WITHIN_MS,
      description: `${client.userId}'s leave in ${bob.userId}'s timeline of ${join.roomId}`,
    });
    join.releaseResync();
  });

  test('another local user joins after the first left during the resync', { tag: ['@complement-44', '@JS-08', '@msc-only'] }, async ({ candidate, client, remote, newClient }, testInfo) => {
    const join = await partialJoin({ candidate, remote, joiner: client }, { members: 4, servers: 1 });
    if (join.notPartial(testInfo, ['JS-08'])) return;
    await join.awaitResyncStarted();
    (await client.leave(join.roomId)).ok();
    await expectLeaveAt(join, client.userId);
    const bob = await newClient();
    const status = await timed(testInfo, 'a join after the only local member left', bob.join(join.roomId, { via: [remote.serverName] }));
    join.releaseResync();
    if (status === undefined) return;
    expect(status, "HTTP status of the other user's join").toBe(200);
    expect(join.room.membership(bob.userId), `${bob.userId}'s membership on the remote`).toBe('join');
  });

  test('a kick by the remote during the resync removes the joiner', { tag: ['@complement-45', '@CD-04'] }, async ({ candidate, client, remote }, testInfo) => {
    const join = await partialJoin({ candidate, remote, joiner: client }, { members: 3, servers: 1 });
    if (join.partial) await join.awaitResyncStarted();
    const since = await tokenBefore(client);
    await join.pushEvents([join.room.kick(join.remoteMembers[0], client.userId, 'kicked while partial')]);
    await judgeLeftInSync(testInfo, client, join, since, { membership: 'kick', by: 'remote' });
    join.releaseResync();
  });

  test('a ban by the remote during the resync removes the joiner and a rejoin is refused', { tag: ['@complement-46', '@CD-04'] }, async ({ candidate, client, remote }, testInfo) => {
    const join = await partialJoin({ candidate, remote, joiner: client }, { members: 3, servers: 1 });
    if (join.partial) await join.awaitResyncStarted();
    const since = await tokenBefore(client);
    await join.pushEvents([join.room.ban(join.remoteMembers[0], client.userId, 'banned while partial')]);
    const told = await judgeLeftInSync(testInfo, client, join, since, { membership: 'ban', by: 'remote' });
    if (told.verdict !== 'pass') {
      join.releaseResync();
      scenarioStopsAt(testInfo, told, `${client.userId} was not told of the ban, so a refused rejoin would not show that the ban was applied`);
    }
    const rejoin = await client.join(join.roomId, { via: [remote.serverName] });
    expect(rejoin.status, `a rejoin by the banned ${client.userId} (${rejoin.errcode ?? 'no errcode'})`).toBeGreaterThanOrEqual(400);
    join.releaseResync();
  });
});
