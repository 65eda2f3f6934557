/**
 * The remote works out a big room's answers (state, auth chain, send_join) in slices between which
 * its event loop runs, so that it keeps answering other requests (key fetches) meanwhile. The
 * sliced answers must be the very answers the one-go walk gives.
 */
import { expect, test } from '@playwright/test';
import { generateSigningKey, type SigningKey } from '../../harness/matrix/index.ts';
import { addMembers, type MemberSpec } from '../../harness/remote/bulk.ts';
import { sendJoinContent, sendJoinContentAsync } from '../../harness/remote/join-response.ts';
import { Room } from '../../harness/remote/room.ts';
import { runSliced, type Steps } from '../../harness/remote/slices.ts';

const A = 'a.example';
const B = 'b.example';
const alice = `@alice:${A}`;

test('runSliced gives the event loop turns between slices, and the walk\'s result', async () => {
  function* busy(): Steps<number> {
    for (let i = 0; i < 40; i++) {
      const until = performance.now() + 2;
      while (performance.now() < until) {
        // a step that holds the loop for 2 ms
      }
      yield;
    }
    return 42;
  }
  let turns = 0;
  const ticker = setInterval(() => turns++, 0);
  try {
    expect(await runSliced(busy(), 5)).toBe(42);
  } finally {
    clearInterval(ticker);
  }
  // 80 ms of work in slices of at least 5 ms: the interval ran between them.
  expect(turns).toBeGreaterThan(3);
});

test('sliced send_join content, state and auth chain equal the one-go walk (full and partial, nameless room with heroes)', async () => {
  const keys = new Map<string, SigningKey>([A, B].map((s) => [s, generateSigningKey()]));
  const room = Room.create({ creator: alice }, (s) => keys.get(s));
  const members: MemberSpec[] = Array.from({ length: 3000 }, (_, i) => ({
    userId: `@m${i}:${i % 3 ? A : B}`,
    membership: (['join', 'join', 'invite', 'leave', 'ban'] as const)[i % 5],
  }));
  await addMembers(room, members, { admin: alice, keys, workers: 0 });
  const joiner = `@joiner:${B}`;
  const joinId = room.join(joiner);
  for (const omit of [false, true]) {
    const sliced = await sendJoinContentAsync(room, joinId, joiner, omit);
    expect(sliced).toEqual(sendJoinContent(room, joinId, joiner, omit));
    expect(sliced.state.length).toBeGreaterThan(omit ? 0 : 3000);
  }
  const last = room.forwardExtremities()[0];
  const state = [...(await room.stateBeforeAsync(last)).values()];
  // A fresh room object would not have the cache; compare against a replay through the sync path.
  expect(state).toEqual([...room.stateBefore(last).values()]);
  expect(await room.authChainAsync(state)).toEqual(room.authChain(state));
});
