/**
 * Smoke: the candidate starts, serves its users, and federates both ways with a remote in full
 * (non-partial) mode. When these fail, nothing else in the suite can be judged.
 */
import { mergeTests } from '@playwright/test';
import { candidateTest, expect } from '../../harness/candidates/fixture.ts';
import { membershipIn, timelineOf } from '../../harness/client/types.ts';
import { remoteTest } from '../../harness/remote/fixture.ts';
import type { Remote } from '../../harness/remote/remote.ts';
import { sendJoinHandler } from '../../harness/remote/routes/membership.ts';

const test = mergeTests(candidateTest, remoteTest);

/** The remote received `eventId` and found its signatures and hashes valid. */
function expectAccepted(remote: Remote, eventId: string): void {
  const outcome = remote.pduOutcome(eventId);
  expect(outcome, `the remote received ${eventId}`).toBeDefined();
  expect(outcome!.error, `why the remote refused ${eventId}`).toBeUndefined();
}

/** Federation on loopback takes milliseconds; this bounds a candidate's outbound queue delays. */
const FEDERATION_WITHIN_MS = 20_000;

test.describe('candidate smoke', () => {
  test('two local users talk in a room', async ({ client: alice, newClient }) => {
    const bob = await newClient({ displayName: 'Bob' });
    const roomId = await test.step('alice creates a room and invites bob', async () => {
      const { room_id } = (await alice.createRoom({ preset: 'private_chat', invite: [bob.userId] })).ok();
      return room_id;
    });
    await test.step('bob joins', async () => {
      expect((await bob.join(roomId)).ok().room_id).toBe(roomId);
    });
    const eventId = await test.step('alice sends a message', async () => (await alice.sendMessage(roomId, 'hello bob')).ok().event_id);
    await test.step('bob reads it through /sync', async () => {
      const sync = await bob.waitForSync((s) => timelineOf(s, roomId).some((e) => e.event_id === eventId), {
        timeoutMs: 10_000,
        description: `alice's message ${eventId} in bob's timeline of ${roomId}`,
      });
      const message = timelineOf(sync, roomId).find((e) => e.event_id === eventId)!;
      expect(message.sender).toBe(alice.userId);
      expect(message.content).toMatchObject({ msgtype: 'm.text', body: 'hello bob' });
    });
    await test.step('both are joined members', async () => {
      const { joined } = (await bob.joinedMembers(roomId)).ok();
      expect(Object.keys(joined).sort()).toEqual([alice.userId, bob.userId].sort());
      expect(joined[bob.userId]?.display_name).toBe('Bob');
    });
  });

  test('a remote joins a room on the candidate and receives its messages', async ({ candidate, client: alice, remote }) => {
    const { room_id: roomId } = (await alice.createRoom({ preset: 'public_chat' })).ok();
    const remoteUser = remote.userId('bob');
    await test.step('the remote joins through make_join and send_join (full state)', async () => {
      const join = await remote.joinRoom(candidate.serverName, roomId, remoteUser, { mode: 'full' });
      expect(join.invalidEvents, 'events of the send_join response with bad signatures or hashes').toEqual([]);
      await alice.waitForSync((s) => membershipIn(s, roomId, remoteUser) === 'join', {
        timeoutMs: 10_000,
        description: `${remoteUser}'s join in ${roomId} as seen by ${alice.userId}`,
      });
    });
    await test.step('a message sent on the candidate reaches the remote by /send, validly signed', async () => {
      const { event_id: eventId } = (await alice.sendMessage(roomId, 'hello remote')).ok();
      await remote.expectPdu({ type: 'm.room.message', room_id: roomId, sender: alice.userId, content: { body: 'hello remote' } }, { within: FEDERATION_WITHIN_MS });
      expectAccepted(remote, eventId);
    });
  });

  test('the candidate joins a room on a remote and its messages reach the remote', async ({ candidate, client: alice, remote }) => {
    // Full state even though the candidate may ask for partial state: partial joins are not the subject here.
    remote.route('send_join', sendJoinHandler({ ignoreOmitMembers: true }));
    const room = remote.createRoom({ joinRule: 'public', name: 'smoke room' });
    await test.step(`${alice.userId} joins ${room.roomId} via the remote`, async () => {
      expect((await alice.join(room.roomId, { via: [remote.serverName] })).ok().room_id).toBe(room.roomId);
      const joinPdu = remote.requests('send_join').find((r) => r.status === 200);
      expect(joinPdu, 'a successful send_join on the remote').toBeDefined();
      expect(candidate.serverName).toBe(joinPdu!.origin);
    });
    await test.step('a message sent on the candidate reaches the remote by /send, validly signed', async () => {
      const { event_id: eventId } = (await alice.sendMessage(room.roomId, 'hello from the candidate')).ok();
      await remote.expectPdu({ type: 'm.room.message', room_id: room.roomId, sender: alice.userId }, { within: FEDERATION_WITHIN_MS });
      expectAccepted(remote, eventId);
      expect(room.has(eventId), 'the remote stored the message in its room').toBe(true);
    });
  });
});
