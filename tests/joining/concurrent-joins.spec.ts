/**
 * Two partial joins at once: the candidate's user joins a room on each of two remotes (two
 * scripted residents), both answer send_join with partial state and hold the resync. One resync
 * is let go and completes while the other stays held. Blocking is per room (MSC3902 "Handling
 * client requests", JS-08): the completed room's member list answers and eager syncs show it,
 * while the held room's member list still waits; once released, it answers with its own members.
 * Every member list, whenever it answers, is judged against its remote's truth (CD-01).
 */
import { test } from '../../harness/fixtures.ts';
import { judge } from '../../harness/checks/judge.ts';
import { memberListEqualsTruth } from '../../harness/checks/client-data.ts';
import { eagerSyncLeavesRoomOut, remoteMemberRequestsWait, resyncsIndependentPerRoom } from '../../harness/checks/partial-state.ts';
import type { ApiResult } from '../../harness/client/client.ts';
import type { ClientEvent } from '../../harness/client/types.ts';
import { partialJoin, RESYNC_WITHIN_MS, settlesWithin, withBound, type PartialJoin } from '../../harness/joining/partial-join.ts';

/** How long the held room's /members must stay unanswered before we call it waiting (loopback answers take milliseconds). */
const BLOCKED_FOR_MS = 1_500;
/** Bound on the completed room's /members, which has nothing left to wait for. */
const ANSWERS_WITHIN_MS = 5_000;

/** The joined users of a /members answer. */
function joinedOf(answer: ApiResult<unknown>): string[] {
  const chunk = (answer.body as { chunk?: ClientEvent[] } | undefined)?.chunk ?? [];
  return chunk.filter((e) => e.type === 'm.room.member' && e.content.membership === 'join').map((e) => e.state_key!).sort();
}

/** Joined users of the room as the remote knows it (the joiner included). */
function truthOf(join: PartialJoin): string[] {
  return join.room.members().filter((m) => m.membership === 'join').map((m) => m.userId).sort();
}

function judgeMembers(testInfo: Parameters<typeof judge>[0], join: PartialJoin, answer: ApiResult<unknown>, duringResync: boolean): void {
  judge(testInfo, memberListEqualsTruth, {
    request: { api: 'GET /members', roomId: join.roomId, duringResync },
    response: { status: answer.status, ...(answer.status === 200 ? { joined: joinedOf(answer) } : {}) },
    truth: { joined: truthOf(join) },
  });
}

test.describe('joining: two partial joins at once', () => {
  test('two rooms on two remotes: one resync held, the other completes; each room\'s member list waits or answers on its own', { tag: ['@JS-08', '@CD-01', '@msc-only'] }, async ({ candidate, client, remote, makeRemote }, testInfo) => {
    const secondRemote = await makeRemote();
    const held = await test.step('join a room on the first remote (its resync stays held)', () => partialJoin({ candidate, remote, joiner: client }, { members: 4, servers: 1, name: 'held room' }));
    const freed = await test.step('join a room on the second remote (its resync is let go)', () => partialJoin({ candidate, remote: secondRemote, joiner: client }, { members: 5, servers: 1, name: 'freed room' }));
    if (held.notPartial(testInfo, ['JS-08'])) {
      // Full joins: both member lists answer at once with their rooms' members (CD-01 still binds).
      judgeMembers(testInfo, held, await client.members(held.roomId), false);
      judgeMembers(testInfo, freed, await client.members(freed.roomId), false);
      return;
    }
    await test.step('both resyncs reach their remotes', async () => {
      await held.awaitResyncStarted();
      await freed.awaitResyncStarted();
    });
    const heldMembers = client.members(held.roomId, { timeoutMs: RESYNC_WITHIN_MS + 10_000 });
    freed.releaseResync();
    await test.step('the freed room resyncs: an eager /sync shows all its members', () => freed.awaitResyncComplete());

    const freedMembers = client.members(freed.roomId, { timeoutMs: RESYNC_WITHIN_MS });
    const freedAnswered = await test.step(`the freed room's /members answers within ${ANSWERS_WITHIN_MS} ms`, () => settlesWithin(freedMembers, ANSWERS_WITHIN_MS));
    const heldAnsweredEarly = await settlesWithin(heldMembers, BLOCKED_FOR_MS);
    const eager = (await client.sync()).ok();
    const shown = Object.keys(eager.rooms?.join ?? {});
    judge(testInfo, resyncsIndependentPerRoom, {
      request: { scenario: `${freed.roomId} resynced while the resync of ${held.roomId} is held` },
      facts: [
        { fact: `/members of the resynced room answered within ${ANSWERS_WITHIN_MS} ms`, expected: true, observed: freedAnswered },
        { fact: 'an eager /sync shows the resynced room', expected: true, observed: shown.includes(freed.roomId) },
        { fact: `/members of the held room answered within ${BLOCKED_FOR_MS} ms`, expected: false, observed: heldAnsweredEarly },
      ],
    });
    judge(testInfo, remoteMemberRequestsWait, { request: { operation: 'GET /members (another room resynced meanwhile)', needsRemoteMembers: true, heldForMs: BLOCKED_FOR_MS }, response: { answeredWhileHeld: heldAnsweredEarly } });
    judge(testInfo, eagerSyncLeavesRoomOut, { request: { roomId: held.roomId, lazyLoadMembers: false }, response: { status: 200, roomsJoined: shown }, truth: { resyncReleased: false } });
    if (freedAnswered) judgeMembers(testInfo, freed, await freedMembers, false);

    held.releaseResync();
    const heldAnswer = await withBound(heldMembers, RESYNC_WITHIN_MS + 10_000, `the held room's /members once its resync was released`);
    judgeMembers(testInfo, held, heldAnswer, heldAnsweredEarly);
    if (!freedAnswered) judgeMembers(testInfo, freed, await withBound(freedMembers, RESYNC_WITHIN_MS, `the resynced room's /members`), false);
    await test.step('the held room resyncs too', () => held.awaitResyncComplete());
  });
});
