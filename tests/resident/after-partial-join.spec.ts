/**
 * After a partial join the remote completes its picture of the room from the candidate: /state_ids
 * and /state at its join event give the full state before the join, memberships included (ST-01,
 * compared with the room as the test built it), and the candidate takes the remote's events: its
 * join reaches the other servers in the room, and a message sent by /send reaches the candidate's
 * users (SJ-22).
 */
import { test, expect } from '../../harness/fixtures.ts';
import { stateChecks, type StateObservation } from '../../harness/checks/index.ts';
import { membershipIn, timelineOf } from '../../harness/client/types.ts';
import { matrixFunctions } from '../../harness/checks/index.ts';
import { judgeApplicable } from '../../harness/resident/observe.ts';
import { ResidentRoom } from '../../harness/resident/room.ts';
import { judge } from '../../harness/checks/judge.ts';
import { joinRelayedToRoom } from '../../harness/checks/join-relay.ts';

/** Federation on loopback takes milliseconds; this bounds a candidate's outbound queue delays. */
const FEDERATION_WITHIN_MS = 20_000;

test('after a partial join, /state_ids and /state give the full state and the remote takes part in the room', { tag: ['@ST-01', '@ST-02', '@ST-03', '@SJ-22', '@must'] }, async ({ candidate, client, newClient, makeRemote, remote }, testInfo) => {
  const room = await ResidentRoom.create(client, { preset: 'public_chat' });
  await room.joinLocal(await newClient());
  const other = await makeRemote();
  await room.joinRemoteUser(candidate.serverName, other, other.userId('carol'));
  const zed = remote.userId('zed');
  const truth = await room.truth(zed);
  const join = await test.step('the remote joins with omit_members=true', () => remote.joinRoom(candidate.serverName, room.roomId, zed, { mode: 'partial' }));
  const snapshot = truth.currentState.map((e) => ({ type: e.type, state_key: e.state_key, event_id: e.event_id! }));

  await test.step('/state_ids and /state at the join event', async () => {
    for (const endpoint of ['state_ids', 'state'] as const) {
      const res = endpoint === 'state'
        ? await remote.client.state(candidate.serverName, room.roomId, join.joinEventId)
        : await remote.client.stateIds(candidate.serverName, room.roomId, join.joinEventId);
      const observation: StateObservation = {
        request: { endpoint, roomId: room.roomId, eventId: join.joinEventId, roomVersion: room.roomVersion },
        response: { status: res.status, body: res.body ?? res.raw },
        truth: snapshot,
        eventIdOf: matrixFunctions(room.roomVersion).eventIdOf,
      };
      judgeApplicable(testInfo, stateChecks, observation);
    }
  });

  await test.step('the join reaches the other remote in the room and the candidate\'s user sees it', async () => {
    const [received, shown] = await Promise.all([
      other.expectPdu({ type: 'm.room.member', state_key: zed, room_id: room.roomId }, { within: FEDERATION_WITHIN_MS }).then(() => true, () => false),
      client
        .waitForSync((s) => membershipIn(s, room.roomId, zed) === 'join', {
          timeoutMs: FEDERATION_WITHIN_MS,
          description: `the join of ${zed} in ${room.roomId} as seen by ${client.userId}`,
        })
        .then(() => true, () => false),
    ]);
    judge(testInfo, joinRelayedToRoom, {
      joinEventId: join.joinEventId,
      joiningServer: remote.serverName,
      otherServers: [{ server: other.serverName, received, withinMs: FEDERATION_WITHIN_MS }],
      shownToLocalUsers: shown,
    });
  });

  await test.step('a message of the remote user sent by /send reaches the candidate\'s user', async () => {
    const replica = join.room;
    const message = replica.build({ type: 'm.room.message', sender: zed, content: { msgtype: 'm.text', body: 'hello after a partial join' } });
    const res = await remote.client.send(candidate.serverName, { pdus: [message] });
    expect(res.status, `/send answered ${res.status}`).toBe(200);
    await client.waitForSync((s) => timelineOf(s, room.roomId).some((e) => e.sender === zed && e.type === 'm.room.message'), {
      timeoutMs: FEDERATION_WITHIN_MS,
      description: `the message of ${zed} in ${room.roomId} as seen by ${client.userId}`,
    });
  });
});
