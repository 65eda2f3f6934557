/**
 * Directories built from room state: the candidate's public room list (joined member counts)
 * and its user directory (users sharing a room). MSC2775 (C-10) says partial state must not feed
 * them; either way they must be right once the resync completes. MSC-only: informational.
 */
import { test } from '../../harness/fixtures.ts';
import { recordInformational, recordNotRun } from '../../harness/checks/judge.ts';
import type { CandidateClient } from '../../harness/client/client.ts';
import { partialJoin, RESYNC_WITHIN_MS } from '../../harness/joining/partial-join.ts';

/** Directories are refreshed in the background; this bounds how long the candidate may take after the resync. */
const DIRECTORY_SETTLES_WITHIN_MS = 15_000;

/** `num_joined_members` of the room in the candidate's public room list, or undefined when it is not listed. */
async function listedMembers(client: CandidateClient, roomId: string): Promise<number | undefined> {
  const res = await client.call<{ chunk?: Array<{ room_id: string; num_joined_members: number }> }>('GET', '/_matrix/client/v3/publicRooms', { query: { limit: 100 } });
  return res.ok().chunk?.find((r) => r.room_id === roomId)?.num_joined_members;
}

/** User IDs the candidate's user directory returns for `term`. */
async function directoryHits(client: CandidateClient, term: string): Promise<string[]> {
  const res = await client.searchUserDirectory(term, 50);
  return (res.ok().results ?? []).map((r) => r.user_id);
}

/** Polls `probe` until `done` holds or the bound passes; returns the last value. The directories have no event to wait on. */
async function settle<T>(probe: () => Promise<T>, done: (value: T) => boolean, withinMs: number): Promise<T> {
  const deadline = Date.now() + withinMs;
  let value = await probe();
  while (!done(value) && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 250));
    value = await probe();
  }
  return value;
}

test.describe('joining: directories once the resync completes', () => {
  test('the public room list counts every joined member once the resync completes', { tag: ['@complement-38', '@C-10', '@msc-only'] }, async ({ candidate, remote, newClient }, testInfo) => {
    // Publishing to the candidate's room list takes a server admin (the room's power is on the remote).
    const admin = await newClient({ admin: true });
    const join = await partialJoin({ candidate, remote, joiner: admin }, { members: 5, servers: 1, name: 'listed room' });
    if (join.notPartial(testInfo, ['C-10'])) return;
    await join.awaitResyncStarted();
    const published = await admin.setRoomVisibility(join.roomId, 'public');
    if (published.status !== 200) {
      join.releaseResync();
      recordNotRun(testInfo, ['C-10'], `publishing the room to the candidate's room list was refused (HTTP ${published.status} ${published.errcode ?? ''}), so its member count cannot be read`);
      return;
    }
    const during = await listedMembers(admin, join.roomId);
    join.releaseResync();
    await join.awaitResyncComplete(RESYNC_WITHIN_MS);
    const truth = join.remoteMembers.length + 1;
    const after = await settle(() => listedMembers(admin, join.roomId), (n) => n === truth, DIRECTORY_SETTLES_WITHIN_MS);
    recordInformational(testInfo, 'C-10', after === truth, { during: during ?? null, after: after ?? null, joined: truth }, 'num_joined_members in /publicRooms is corrected once the resync completes');
  });

  test('the user directory finds the remote members once the resync completes', { tag: ['@complement-39', '@C-10', '@msc-only'] }, async ({ candidate, client, remote }, testInfo) => {
    const join = await partialJoin({ candidate, remote, joiner: client }, { members: 4, servers: 1 });
    if (join.notPartial(testInfo, ['C-10'])) return;
    await join.awaitResyncStarted();
    // member3 is a remote member whose membership the partial state left out.
    const sought = join.remoteMembers[4];
    const during = await directoryHits(client, 'member3');
    join.releaseResync();
    await join.awaitResyncComplete(RESYNC_WITHIN_MS);
    const after = await settle(() => directoryHits(client, 'member3'), (hits) => hits.includes(sought), DIRECTORY_SETTLES_WITHIN_MS);
    recordInformational(testInfo, 'C-10', after.includes(sought), { sought, during, after }, 'the user directory lists a remote member once the resync completes');
  });
});
