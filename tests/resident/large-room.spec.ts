/**
 * A room of more than a thousand members, most of them users of a remote and of its bystander
 * server names, all joined through the candidate with make_join and send_join. The partial answer
 * is compared with the full one by size (reported as an informational outcome and an
 * attachment, not timed); both are judged by every check.
 */
import { test } from '../../harness/fixtures.ts';
import { recordInformational } from '../../harness/checks/index.ts';
import { answerSizes, judgeJoin, observeJoin, partialAnswered } from '../../harness/resident/observe.ts';
import { joinOverFederation, ResidentRoom, type SuiteServer } from '../../harness/resident/room.ts';

const MEMBERS = 1_000;
const SERVERS = 4;
/** Joins in flight at once: enough to keep the candidate busy, few enough not to time out its queue. */
const PARALLEL_JOINS = 8;

test('a 1000-member room: partial answer against full answer', { tag: ['@SJ-07', '@SJ-12', '@SJ-14', '@SJ-16', '@SJ-17', '@SJ-18', '@must'] }, async ({ candidate, client, makeRemote, remote }, testInfo) => {
  test.setTimeout(10 * 60_000);
  const room = await ResidentRoom.create(client, { name: 'a large room' });
  const host = await makeRemote();
  const servers: SuiteServer[] = [host, ...(await Promise.all(Array.from({ length: SERVERS - 1 }, () => host.addServer({ mode: 'serve' }))))];
  await test.step(`${MEMBERS} remote users join across ${SERVERS} servers, ${PARALLEL_JOINS} at a time`, async () => {
    const users = Array.from({ length: MEMBERS }, (_, i) => ({ server: servers[i % SERVERS], userId: `@m${i}:${servers[i % SERVERS].serverName}` }));
    let next = 0;
    const worker = async () => {
      while (next < users.length) {
        const { server, userId } = users[next++];
        // Partial joins keep the answers small while the room grows; the answers are not judged here.
        await joinOverFederation(candidate.serverName, server, room.roomId, userId, 'partial');
        room.recordMembership(userId, 'join');
      }
    };
    await Promise.all(Array.from({ length: PARALLEL_JOINS }, worker));
  });
  const partial = await observeJoin(remote, candidate.serverName, room, remote.userId('partial'), { optIn: { omitMembers: 'true' } });
  judgeJoin(testInfo, partial);
  partialAnswered(testInfo, partial.sendJoin, ['SJ-18']);
  const full = await observeJoin(remote, candidate.serverName, room, remote.userId('full'), { optIn: { omitMembers: 'false' } });
  judgeJoin(testInfo, full);
  const sizes = { members: MEMBERS + 1, partial: answerSizes(partial.sendJoin), full: answerSizes(full.sendJoin) };
  const ratio = sizes.partial.bytes / sizes.full.bytes;
  await testInfo.attach('partial and full send_join answer sizes', { body: JSON.stringify({ ...sizes, partialToFullBytes: ratio }, null, 2), contentType: 'application/json' });
  recordInformational(testInfo, 'SJ-07', ratio < 0.5, { ...sizes, partialToFullBytes: Number(ratio.toFixed(4)) }, `partial answer ${sizes.partial.bytes} bytes, full ${sizes.full.bytes} bytes (${(ratio * 100).toFixed(1)}%)`);
});
