/**
 * Memberships other than joins in the room a remote joins partially: invited, left and banned
 * members of the room, and the joiner's own earlier membership (an invite, or a leave), which is
 * an auth event of its join and so must come back in state or auth_chain.
 */
import { test } from '../../harness/fixtures.ts';
import { judgeJoin, observeJoin, partialAnswered } from '../../harness/resident/observe.ts';
import { ResidentRoom } from '../../harness/resident/room.ts';
import { forEachRoomVersion, roomVersionOffered } from '../../harness/resident/versions.ts';

test.describe('memberships in partial answers', () => {
  forEachRoomVersion((version, vTag) => {
    test('invited, left and banned members of a named room', { tag: ['@SJ-12', '@SJ-13', '@SJ-14', '@SJ-16', '@SJ-18', '@must', vTag] }, async ({ candidate, client, newClient, makeRemote, remote }, testInfo) => {
      if (!(await roomVersionOffered(testInfo, client, version))) return;
      const room = await ResidentRoom.create(client, { name: 'mixed memberships', room_version: version.id });
      const other = await makeRemote();
      const leaver = await newClient();
      await room.joinLocal(leaver);
      await room.leave(leaver);
      await room.joinRemoteUser(candidate.serverName, other, other.userId('banned'));
      await room.ban(client, other.userId('banned'));
      await room.invite(client, (await newClient()).userId);
      await room.joinRemoteUser(candidate.serverName, other, other.userId('stays'));
      const exchange = await observeJoin(remote, candidate.serverName, room, remote.userId('zed'));
      judgeJoin(testInfo, exchange);
      partialAnswered(testInfo, exchange.sendJoin, ['SJ-18']);
    });

    test("the joiner's own earlier invite is returned with its join", { tag: ['@SJ-16', '@SJ-12', '@SJ-13', '@SJ-11', '@must', vTag] }, async ({ candidate, client, remote }, testInfo) => {
      if (!(await roomVersionOffered(testInfo, client, version))) return;
      const room = await ResidentRoom.create(client, { name: 'invite only', preset: 'private_chat', room_version: version.id });
      const zed = remote.userId('zed');
      await room.invite(client, zed);
      const exchange = await observeJoin(remote, candidate.serverName, room, zed);
      judgeJoin(testInfo, exchange);
      partialAnswered(testInfo, exchange.sendJoin, ['SJ-18']);
    });

    test("the joiner's own earlier leave is returned with its join", { tag: ['@SJ-16', '@SJ-12', '@SJ-13', '@SJ-11', '@must', vTag] }, async ({ candidate, client, remote }, testInfo) => {
      if (!(await roomVersionOffered(testInfo, client, version))) return;
      const room = await ResidentRoom.create(client, { name: 'come back', room_version: version.id });
      const zed = remote.userId('zed');
      await room.joinRemoteUser(candidate.serverName, remote, zed);
      await room.leaveRemoteUser(candidate.serverName, remote, zed);
      const exchange = await observeJoin(remote, candidate.serverName, room, zed);
      judgeJoin(testInfo, exchange);
      partialAnswered(testInfo, exchange.sendJoin, ['SJ-18']);
    });
  });
});
