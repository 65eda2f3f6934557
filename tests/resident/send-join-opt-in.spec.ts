/**
 * send_join with and without the MSC3706 opt-in: the full answer when the joiner did not opt in
 * (absent or omit_members=false), the reduced answer when it did (omit_members=true, or the
 * unstable org.matrix.msc3706.partial_state), and the refusal of other values.
 *
 * The room is named and has members on the candidate and on another remote, so a partial answer
 * has memberships it may leave out and needs no heroes.
 */
import { test } from '../../harness/fixtures.ts';
import { recordInformational } from '../../harness/checks/index.ts';
import { judgeJoin, observeJoin, partialAnswered, recordFixtureIfAsked } from '../../harness/resident/observe.ts';
import { ResidentRoom } from '../../harness/resident/room.ts';
import { forEachRoomVersion, roomVersionOffered } from '../../harness/resident/versions.ts';
import type { CandidateClient } from '../../harness/client/client.ts';
import type { Remote } from '../../harness/remote/remote.ts';

async function namedRoomWithMembers(candidateServer: string, owner: CandidateClient, newClient: () => Promise<CandidateClient>, makeRemote: () => Promise<Remote>, roomVersion: string): Promise<ResidentRoom> {
  const room = await ResidentRoom.create(owner, { name: 'opt-in room', topic: 'resident-side conformance', room_version: roomVersion });
  const bob = await newClient();
  await room.joinLocal(bob);
  const other = await makeRemote();
  await room.joinRemoteUser(candidateServer, other, other.userId('carol'));
  await room.invite(owner, (await newClient()).userId);
  return room;
}

test.describe('send_join opt-in', () => {
  forEachRoomVersion((version, vTag) => {
    test('without omit_members the answer has the full state and a self-contained auth chain', { tag: ['@SJ-08', '@SJ-11', '@SJ-13', '@SJ-14', '@SJ-16', '@SJ-17a', '@SJ-19', '@SG-01', '@MJ-08', '@must', vTag] }, async ({ candidate, client, newClient, makeRemote, remote }, testInfo) => {
      if (!(await roomVersionOffered(testInfo, client, version))) return;
      const room = await namedRoomWithMembers(candidate.serverName, client, newClient, makeRemote, version.id);
      const exchange = await observeJoin(remote, candidate.serverName, room, remote.userId('zed'), { optIn: 'none' });
      judgeJoin(testInfo, exchange);
      recordFixtureIfAsked(testInfo, candidate, `full-v${version.id}`, exchange);
      const body = exchange.sendJoin.response.body as Record<string, unknown>;
      recordInformational(testInfo, 'SJ-19', 'servers_in_room' in body, { servers_in_room: body.servers_in_room ?? null }, 'servers_in_room in an answer that is not partial');
    });

    test('omit_members=false gets the full state', { tag: ['@SJ-08', '@SJ-11', '@SJ-13', '@SJ-16', '@SJ-17a', '@must', vTag] }, async ({ candidate, client, newClient, makeRemote, remote }, testInfo) => {
      if (!(await roomVersionOffered(testInfo, client, version))) return;
      const room = await namedRoomWithMembers(candidate.serverName, client, newClient, makeRemote, version.id);
      judgeJoin(testInfo, await observeJoin(remote, candidate.serverName, room, remote.userId('zed'), { optIn: { omitMembers: 'false' } }));
    });

    test('omit_members=true in a named room gets a partial answer with every non-member event and servers_in_room', { tag: ['@SJ-07', '@SJ-10', '@SJ-12', '@SJ-13', '@SJ-14', '@SJ-16', '@SJ-17', '@SJ-18', '@must', vTag] }, async ({ candidate, client, newClient, makeRemote, remote }, testInfo) => {
      if (!(await roomVersionOffered(testInfo, client, version))) return;
      const room = await namedRoomWithMembers(candidate.serverName, client, newClient, makeRemote, version.id);
      const exchange = await observeJoin(remote, candidate.serverName, room, remote.userId('zed'), { optIn: { omitMembers: 'true' } });
      judgeJoin(testInfo, exchange);
      recordFixtureIfAsked(testInfo, candidate, `partial-named-v${version.id}`, exchange);
      const partial = partialAnswered(testInfo, exchange.sendJoin, ['SJ-18']);
      // Offering partial answers is optional (a resident may answer full state to everyone).
      recordInformational(testInfo, 'SJ-10', partial, { members_omitted: (exchange.sendJoin.response.body as Record<string, unknown> | null)?.members_omitted ?? null }, partial ? 'partial answers offered' : 'full state answered to omit_members=true');
    });

    test('the unstable org.matrix.msc3706.partial_state=true is read under the unstable names', { tag: ['@SJ-07', '@SJ-12', '@SJ-13', '@SJ-18', '@msc-only', vTag] }, async ({ candidate, client, newClient, makeRemote, remote }, testInfo) => {
      if (!(await roomVersionOffered(testInfo, client, version))) return;
      const room = await namedRoomWithMembers(candidate.serverName, client, newClient, makeRemote, version.id);
      const exchange = await observeJoin(remote, candidate.serverName, room, remote.userId('zed'), { optIn: { unstable: 'true' } });
      judgeJoin(testInfo, exchange);
      partialAnswered(testInfo, exchange.sendJoin, ['SJ-18']);
    });
  });

  for (const value of ['yes', 'TRUE', '1', '']) {
    test(`omit_members=${JSON.stringify(value)} is refused with 400 M_INVALID_PARAM`, { tag: ['@SJ-09', '@msc-only'] }, async ({ candidate, client, remote }, testInfo) => {
      const room = await ResidentRoom.create(client, { name: 'invalid opt-in' });
      judgeJoin(testInfo, await observeJoin(remote, candidate.serverName, room, remote.userId('zed'), { optIn: { omitMembers: value } }));
    });
  }
});
