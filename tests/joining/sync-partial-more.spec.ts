/**
 * Two /sync situations of a partial-state room that the other sync tests do not make
 * (MSC3902 "/sync", JS-09 and JS-10):
 * - an incremental eager sync made during the resync leaves the room out even though events of
 *   the room arrived since the token; an incremental eager sync from the same token, once the
 *   resync completes, brings the room with every member (the state the client never got);
 * - a lazy-loading initial sync, made after a remote member the partial state lacks has spoken,
 *   carries that member's membership with his message.
 */
import { test } from '../../harness/fixtures.ts';
import { judge } from '../../harness/checks/judge.ts';
import { eagerSyncLeavesRoomOut, eagerSyncShowsRoomOnceResynced, lazySyncDeliversRoomUpdates } from '../../harness/checks/partial-state.ts';
import type { SyncResponse } from '../../harness/client/types.ts';
import { LAZY_FILTER, partialJoin, RESYNC_WITHIN_MS } from '../../harness/joining/partial-join.ts';
import { seenInLazySync } from '../../harness/joining/resync-observe.ts';

/** Users whose membership in `roomId` is `join` in one sync body (state block and timeline). */
function joinedIn(sync: SyncResponse, roomId: string): string[] {
  const room = sync.rooms?.join?.[roomId];
  const joined = new Map<string, boolean>();
  for (const e of [...(room?.state?.events ?? []), ...(room?.timeline?.events ?? [])]) {
    if (e.type === 'm.room.member' && e.state_key !== undefined) joined.set(e.state_key, e.content.membership === 'join');
  }
  return [...joined].filter(([, j]) => j).map(([u]) => u).sort();
}

test.describe('joining: more /sync during the resync', () => {
  test('an incremental eager sync leaves the room out during the resync; from the same token after it, the room comes with every member', { tag: ['@complement-3', '@JS-10', '@msc-only'] }, async ({ candidate, client, remote }, testInfo) => {
    const join = await partialJoin({ candidate, remote, joiner: client }, { members: 4, servers: 1 });
    if (join.notPartial(testInfo, ['JS-10'])) return;
    await join.awaitResyncStarted();
    const since = (await client.sync()).ok().next_batch;
    // Something happens in the room after the token, so that an incremental sync has news of it.
    const message = await join.sendFromRemote(join.remoteMembers[1], 'news after the eager token');
    if (!(await seenInLazySync(client, join.roomId, message))) throw new Error(`the candidate did not show ${message} to a lazy-loading /sync: the eager sync below would show nothing about partial state`);
    const during = (await client.sync({ since })).ok();
    judge(testInfo, eagerSyncLeavesRoomOut, { request: { roomId: join.roomId, lazyLoadMembers: false }, response: { status: 200, roomsJoined: Object.keys(during.rooms?.join ?? {}) }, truth: { resyncReleased: false } });
    join.releaseResync();
    const truth = join.room.members().filter((m) => m.membership === 'join').map((m) => m.userId).sort();
    let after: SyncResponse | undefined;
    try {
      after = await client.waitForSync((s) => s.rooms?.join?.[join.roomId] !== undefined, { since, timeoutMs: RESYNC_WITHIN_MS, description: `${join.roomId} in an incremental eager /sync from a token of the resync` });
    } catch (err) {
      if (!/timed out/.test((err as Error).message)) throw err;
    }
    judge(testInfo, eagerSyncShowsRoomOnceResynced, {
      request: { scenario: 'an incremental eager /sync from a token taken during the resync, once it completed' },
      facts: [
        { fact: 'the room is in the answer', expected: true, observed: after !== undefined },
        { fact: 'members joined in its state block and timeline', expected: truth, observed: after ? joinedIn(after, join.roomId) : [] },
      ],
    });
  });

  test('a lazy-loading initial sync after a remote member spoke carries his membership', { tag: ['@complement-18', '@JS-09', '@msc-only'] }, async ({ candidate, client, remote }, testInfo) => {
    const join = await partialJoin({ candidate, remote, joiner: client }, { members: 4, servers: 1, name: 'named room' });
    if (join.notPartial(testInfo, ['JS-09'])) return;
    await join.awaitResyncStarted();
    const speaker = join.remoteMembers[2];
    const message = await join.sendFromRemote(speaker, 'hello from a member the partial state lacks');
    if (!(await seenInLazySync(client, join.roomId, message))) throw new Error(`the candidate did not show ${message} to a lazy-loading /sync`);
    const initial = (await client.sync({ filter: LAZY_FILTER })).ok();
    const timeline = initial.rooms?.join?.[join.roomId]?.timeline?.events ?? [];
    judge(testInfo, lazySyncDeliversRoomUpdates, {
      request: { scenario: 'a lazy-loading initial /sync after a message from a member the partial state lacks' },
      facts: [
        { fact: `${message} in the timeline`, expected: true, observed: timeline.some((e) => e.event_id === message) },
        { fact: `${speaker} joined in the state block or timeline`, expected: true, observed: joinedIn(initial, join.roomId).includes(speaker) },
      ],
    });
    join.releaseResync();
  });
});
