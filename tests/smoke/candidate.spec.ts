import { candidateTest as test, expect } from '../../harness/candidates/fixture.ts';
import { timelineOf } from '../../harness/client/types.ts';

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
});
