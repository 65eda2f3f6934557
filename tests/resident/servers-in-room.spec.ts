/**
 * servers_in_room (MSC3706, spec v1.6) in a room spanning several servers: the candidate, two
 * remotes, a bystander server name of one of them, and a server whose users have all left. It
 * must list every server with a joined member before the join, the candidate included, and no
 * other, once each.
 */
import { test } from '../../harness/fixtures.ts';
import { judgeJoin, observeJoin, partialAnswered } from '../../harness/resident/observe.ts';
import { ResidentRoom } from '../../harness/resident/room.ts';
import { forEachRoomVersion, roomVersionOffered } from '../../harness/resident/versions.ts';

forEachRoomVersion((version, vTag) =>
  test('servers_in_room lists each server with joined members once, and none whose users all left', { tag: ['@SJ-18', '@SJ-12', '@SJ-13', '@SJ-14', '@SJ-16', '@must', vTag] }, async ({ candidate, client, newClient, makeRemote, remote }, testInfo) => {
    if (!(await roomVersionOffered(testInfo, client, version))) return;
    const room = await ResidentRoom.create(client, { name: 'several servers', room_version: version.id });
    await room.joinLocal(await newClient());
    const first = await makeRemote();
    const second = await makeRemote();
    const gone = await makeRemote();
    const bystander = await first.addServer({ mode: 'serve' });
    await test.step('users of two remotes and of a bystander name join; every user of a third server leaves again', async () => {
      for (const localpart of ['a1', 'a2']) await room.joinRemoteUser(candidate.serverName, first, first.userId(localpart));
      await room.joinRemoteUser(candidate.serverName, second, second.userId('b1'));
      await room.joinRemoteUser(candidate.serverName, bystander, bystander.userId('c1'));
      for (const localpart of ['g1', 'g2']) await room.joinRemoteUser(candidate.serverName, gone, gone.userId(localpart));
      for (const localpart of ['g1', 'g2']) await room.leaveRemoteUser(candidate.serverName, gone, gone.userId(localpart));
    });
    const exchange = await observeJoin(remote, candidate.serverName, room, remote.userId('zed'));
    judgeJoin(testInfo, exchange);
    partialAnswered(testInfo, exchange.sendJoin, ['SJ-18']);
  }),
);
