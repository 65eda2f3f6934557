/**
 * A join to a restricted room (join rule `restricted`, allowed through membership of another room
 * on the candidate) is authorised by the candidate: make_join names one of its users in
 * join_authorised_via_users_server, and send_join returns the join countersigned in "event"
 * (SJ-20, SJ-21).
 */
import { test } from '../../harness/fixtures.ts';
import { judgeJoin, observeJoin } from '../../harness/resident/observe.ts';
import { ResidentRoom } from '../../harness/resident/room.ts';
import { forEachRoomVersion, roomVersionOffered } from '../../harness/resident/versions.ts';

// Restricted join rules exist where the room-version table says so (v8+).
forEachRoomVersion((version, vTag) => {
  for (const optIn of [{ omitMembers: 'true' }, { omitMembers: 'false' }]) {
    test(`a restricted join authorised by the candidate comes back countersigned (omit_members=${optIn.omitMembers})`, { tag: ['@SJ-20', '@SJ-21', '@SJ-16', '@MJ-08', '@must', vTag] }, async ({ candidate, client, remote }, testInfo) => {
      if (!(await roomVersionOffered(testInfo, client, version))) return;
      const zed = remote.userId('zed');
      const space = await ResidentRoom.create(client, { name: 'the allowing room' });
      await space.joinRemoteUser(candidate.serverName, remote, zed);
      const room = await ResidentRoom.create(client, {
        name: 'restricted room',
        room_version: version.id,
        initial_state: [{ type: 'm.room.join_rules', state_key: '', content: { join_rule: 'restricted', allow: [{ type: 'm.room_membership', room_id: space.roomId }] } }],
      });
      const exchange = await observeJoin(remote, candidate.serverName, room, zed, { optIn });
      const template = (exchange.makeJoin.response.body as { event?: { content?: Record<string, unknown> } }).event;
      test.expect(template?.content?.join_authorised_via_users_server, 'make_join names a candidate user authorising the restricted join').toBe(client.userId);
      judgeJoin(testInfo, exchange);
    });
  }
}, (v) => v.restrictedJoins);
