/**
 * make_join on the resident: the join template for a remote user, and the refusals for a room
 * version the joiner does not support and for a room the resident does not know.
 */
import { test } from '../../harness/fixtures.ts';
import { makeJoinChecks, type MakeJoinObservation } from '../../harness/checks/index.ts';
import { judgeApplicable, OFFERED_VERSIONS } from '../../harness/resident/observe.ts';
import { ResidentRoom } from '../../harness/resident/room.ts';

test.describe('make_join', () => {
  test('make_join answers a join template for the remote user in a room version it offered', { tag: ['@MJ-08', '@MJ-04', '@must'] }, async ({ candidate, client, remote }, testInfo) => {
    const room = await ResidentRoom.create(client);
    const userId = remote.userId('zed');
    const res = await remote.client.makeJoin(candidate.serverName, room.roomId, userId, OFFERED_VERSIONS);
    const observation: MakeJoinObservation = {
      request: { roomId: room.roomId, userId, supportedVersions: OFFERED_VERSIONS, roomVersion: room.roomVersion },
      response: { status: res.status, body: res.body ?? res.raw },
    };
    judgeApplicable(testInfo, makeJoinChecks, observation);
  });

  test('make_join offering none of the room\'s version is refused with M_INCOMPATIBLE_ROOM_VERSION', { tag: ['@MJ-05', '@must'] }, async ({ candidate, client, remote }, testInfo) => {
    const room = await ResidentRoom.create(client);
    const userId = remote.userId('zed');
    // Versions 1 and 2 exist everywhere, yet the room is newer: the joiner cannot join it.
    const offered = ['1', '2'];
    const res = await remote.client.makeJoin(candidate.serverName, room.roomId, userId, offered);
    judgeApplicable(testInfo, makeJoinChecks, {
      request: { roomId: room.roomId, userId, supportedVersions: offered, roomVersion: room.roomVersion },
      response: { status: res.status, body: res.body ?? res.raw },
    });
  });

  test('make_join for a user an invite-only room does not let in is refused with 403 M_FORBIDDEN', { tag: ['@MJ-05', '@must'] }, async ({ candidate, client, remote }, testInfo) => {
    const room = await ResidentRoom.create(client, { preset: 'private_chat', name: 'invite only' });
    const userId = remote.userId('zed');
    const res = await remote.client.makeJoin(candidate.serverName, room.roomId, userId, OFFERED_VERSIONS);
    judgeApplicable(testInfo, makeJoinChecks, {
      request: { roomId: room.roomId, userId, supportedVersions: OFFERED_VERSIONS, roomVersion: room.roomVersion, notPermitted: true },
      response: { status: res.status, body: res.body ?? res.raw },
    });
  });

  test('make_join for a room the resident does not know is refused with 404 M_NOT_FOUND', { tag: ['@MJ-05', '@must'] }, async ({ candidate, remote }, testInfo) => {
    const roomId = `!no-such-room-${Date.now()}:${candidate.serverName}`;
    const userId = remote.userId('zed');
    const res = await remote.client.makeJoin(candidate.serverName, roomId, userId, OFFERED_VERSIONS);
    judgeApplicable(testInfo, makeJoinChecks, {
      request: { roomId, userId, supportedVersions: OFFERED_VERSIONS, unknownRoom: true },
      response: { status: res.status, body: res.body ?? res.raw },
    });
  });
});
