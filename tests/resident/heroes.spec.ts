/**
 * MSC3943 (spec v1.6, send_join omit_members): a partial answer for a room with neither
 * m.room.name nor m.room.canonical_alias carries the memberships of the room's heroes, as the
 * client-server API defines them (first five joined or invited members in stream order, never
 * the joining user), with their auth chains. The truth comes from the order in which the test
 * made members join or get invited.
 *
 * The fallback to left and banned members cannot be exercised on this side: a resident always has
 * a joined member of its own other than the joiner, so there is always a joined hero.
 */
import { test } from '../../harness/fixtures.ts';
import { judgeJoin, observeJoin, partialAnswered, recordFixtureIfAsked } from '../../harness/resident/observe.ts';
import { ResidentRoom } from '../../harness/resident/room.ts';
import { forEachRoomVersion, roomVersionOffered } from '../../harness/resident/versions.ts';

test.describe('heroes in partial answers', () => {
  forEachRoomVersion((version, vTag) => test('a nameless room with two members: both are heroes and kept', { tag: ['@complement-1', '@SJ-15', '@SJ-12', '@SJ-13', '@SJ-14', '@SJ-16', '@should', vTag] }, async ({ candidate, client, newClient, remote }, testInfo) => {
    if (!(await roomVersionOffered(testInfo, client, version))) return;
    const room = await ResidentRoom.create(client, { preset: 'public_chat', room_version: version.id });
    await room.joinLocal(await newClient());
    const exchange = await observeJoin(remote, candidate.serverName, room, remote.userId('zed'));
    judgeJoin(testInfo, exchange);
    partialAnswered(testInfo, exchange.sendJoin);
    recordFixtureIfAsked(testInfo, candidate, `partial-nameless-v${version.id}`, exchange);
  }));

  test('a nameless room with seven members: the first five in stream order are heroes, whatever their user IDs', { tag: ['@SJ-15', '@SJ-12', '@SJ-13', '@SJ-16', '@SJ-18', '@should'] }, async ({ candidate, client, makeRemote, remote }, testInfo) => {
    const room = await ResidentRoom.create(client, { preset: 'public_chat' });
    const other = await makeRemote();
    // Join in reverse alphabetical order, so that stream order and user ID order disagree.
    for (const localpart of ['u6', 'u5', 'u4', 'u3', 'u2', 'u1']) await room.joinRemoteUser(candidate.serverName, other, other.userId(localpart));
    const exchange = await observeJoin(remote, candidate.serverName, room, remote.userId('zed'));
    judgeJoin(testInfo, exchange);
    partialAnswered(testInfo, exchange.sendJoin);
  });

  test('invited members are heroes too', { tag: ['@SJ-15', '@SJ-12', '@SJ-13', '@SJ-16', '@should'] }, async ({ candidate, client, newClient, makeRemote, remote }, testInfo) => {
    const room = await ResidentRoom.create(client, { preset: 'public_chat' });
    const other = await makeRemote();
    await room.joinRemoteUser(candidate.serverName, other, other.userId('gone'));
    await room.leaveRemoteUser(candidate.serverName, other, other.userId('gone'));
    await room.invite(client, (await newClient()).userId);
    await room.invite(client, other.userId('invitee'));
    for (const localpart of ['j1', 'j2', 'j3', 'j4']) await room.joinRemoteUser(candidate.serverName, other, other.userId(localpart));
    const exchange = await observeJoin(remote, candidate.serverName, room, remote.userId('zed'));
    judgeJoin(testInfo, exchange);
    partialAnswered(testInfo, exchange.sendJoin);
  });

  test('name and alias events at other state keys do not name the room: its heroes are still sent', { tag: ['@SJ-15a', '@SJ-15', '@SJ-12', '@SJ-16', '@should'] }, async ({ candidate, client, makeRemote, remote }, testInfo) => {
    const room = await ResidentRoom.create(client, { preset: 'public_chat' });
    // Six members: five heroes and one whose membership a partial answer leaves out. They join in
    // reverse alphabetical order, so that heroes by stream order and by user ID always differ.
    const other = await makeRemote();
    for (const localpart of ['u5', 'u4', 'u3', 'u2', 'u1']) await room.joinRemoteUser(candidate.serverName, other, other.userId(localpart));
    // MSC3943 looks the name and the alias up at state key "" only.
    (await client.sendState(room.roomId, 'm.room.name', 'decoy', { name: 'not the room name' })).ok();
    // No alias in its content: servers check an alias against the directory, whatever the key.
    (await client.sendState(room.roomId, 'm.room.canonical_alias', 'decoy', {})).ok();
    const exchange = await observeJoin(remote, candidate.serverName, room, remote.userId('zed'));
    judgeJoin(testInfo, exchange);
    partialAnswered(testInfo, exchange.sendJoin, ['SJ-15', 'SJ-15a', 'SJ-18']);
  });

  test('a room with a canonical alias but no name needs no heroes', { tag: ['@SJ-12', '@SJ-13', '@SJ-14', '@SJ-18', '@must'] }, async ({ candidate, client, newClient, remote }, testInfo) => {
    const room = await ResidentRoom.create(client, { preset: 'public_chat', room_alias_name: `alias-${Date.now()}` });
    await room.joinLocal(await newClient());
    await room.joinLocal(await newClient());
    const exchange = await observeJoin(remote, candidate.serverName, room, remote.userId('zed'));
    judgeJoin(testInfo, exchange);
    partialAnswered(testInfo, exchange.sendJoin, ['SJ-18']);
  });
});
