/**
 * A room of more than a thousand members, users of a remote and of its bystander server names.
 * The remote joins once through make_join and send_join (full state), then, like any server
 * already in a room, sends the joins of its other users (and of its bystander names' users) as
 * PDUs in /send transactions of 50, each from the sender's own server. The partial answer is then
 * compared with the full one by size (reported as an informational outcome and an attachment,
 * not timed); both are judged by every check.
 */
import { test, expect } from '../../harness/fixtures.ts';
import { recordInformational } from '../../harness/checks/index.ts';
import { judge, scenarioStopsAt } from '../../harness/checks/judge.ts';
import { transactionAnsweredDuringResync } from '../../harness/checks/joiner-resync-integrity.ts';
import { FederationClient, NoResponseError, type FederationResponse } from '../../harness/remote/client.ts';
import { timelineOf } from '../../harness/client/types.ts';
import { answerSizes, judgeJoin, observeJoin, partialAnswered } from '../../harness/resident/observe.ts';
import { ResidentRoom, type SuiteServer } from '../../harness/resident/room.ts';

const MEMBERS = 1_000;
const BYSTANDERS = 3;
/** PDUs per transaction: the spec's limit. */
const TRANSACTION_PDUS = 50;
/** Bounds the processing of one transaction of joins (a few seconds on either candidate). */
const TRANSACTION_VISIBLE_WITHIN_MS = 60_000;
/** Bounds the answer to one transaction of joins (the federation client's default bound). */
const TRANSACTION_ANSWERED_WITHIN_MS = 30_000;

test('a 1000-member room: partial answer against full answer', { tag: ['@SJ-07', '@SJ-12', '@SJ-14', '@SJ-16', '@SJ-17', '@SJ-18', '@must'] }, async ({ candidate, client, makeRemote, remote }, testInfo) => {
  test.setTimeout(10 * 60_000);
  const room = await ResidentRoom.create(client, { name: 'a large room' });
  const host = await makeRemote();
  const servers: SuiteServer[] = [host, ...(await Promise.all(Array.from({ length: BYSTANDERS }, () => host.addServer({ mode: 'serve' }))))];
  const first = host.userId('m0');
  const { room: replica } = await test.step('the remote joins its first user through send_join', () => host.joinRoom(candidate.serverName, room.roomId, first, { mode: 'full' }));
  room.recordMembership(first, 'join');

  await test.step(`${MEMBERS - 1} more users of ${servers.length} servers join by /send, ${TRANSACTION_PDUS} per transaction`, async () => {
    // The creator's sync shows when a transaction's joins are in the room. Each transaction is
    // sent once the previous one is visible: transactions from different origins may be
    // processed in parallel, and a join whose prev_event is still queued would send the
    // candidate fetching missing events instead.
    const filter = { room: { rooms: [room.roomId], state: { lazy_load_members: true }, timeline: { limit: 5, lazy_load_members: true } } };
    let since = (await client.sync({ filter })).ok().next_batch;
    // Blocks of one transaction per server, so that each transaction comes from its senders' server.
    for (let block = 0, n = 1; n < MEMBERS; block++) {
      const server = servers[block % servers.length];
      const joins: string[] = [];
      for (; joins.length < TRANSACTION_PDUS && n < MEMBERS; n++) {
        const userId = `@m${n}:${server.serverName}`;
        joins.push(replica.append({ type: 'm.room.member', sender: userId, stateKey: userId, content: { membership: 'join' } }));
        room.recordMembership(userId, 'join');
      }
      // A transaction the candidate does not answer (in time, or at all) is judged so (ST-09),
      // and the room cannot be built further: its joins' fate is unknown.
      let res: FederationResponse | undefined;
      let noAnswer: NoResponseError | undefined;
      try {
        res = await new FederationClient(server.serverName, server.key).send(candidate.serverName, { pdus: joins.map((id) => replica.mustEvent(id)) });
      } catch (err) {
        if (!(err instanceof NoResponseError)) throw err;
        noAnswer = err;
      }
      const outcome = judge(testInfo, transactionAnsweredDuringResync, {
        pduIds: joins,
        eduTypes: [],
        response: res ? { status: res.status, body: res.body ?? res.raw } : null,
        waitedMs: TRANSACTION_ANSWERED_WITHIN_MS,
        ...(noAnswer?.closed ? { closed: noAnswer.message } : {}),
      });
      if (!res) scenarioStopsAt(testInfo, outcome, `the candidate did not answer a transaction of ${joins.length} joins from ${server.serverName} (${noAnswer?.message})`);
      if (res.status !== 200) scenarioStopsAt(testInfo, outcome, `the candidate answered a transaction of ${joins.length} joins from ${server.serverName} with HTTP ${res.status}`);
      const refused = Object.entries(res.body?.pdus ?? {}).filter(([, r]) => r && typeof r === 'object' && 'error' in r);
      expect(refused, `joins the candidate refused in a transaction from ${server.serverName}`).toEqual([]);
      const last = joins[joins.length - 1];
      since = (await client.waitForSync((sync) => timelineOf(sync, room.roomId).some((e) => e.event_id === last), {
        since,
        filter,
        timeoutMs: TRANSACTION_VISIBLE_WITHIN_MS,
        description: `the join ${last}, last of a transaction from ${server.serverName}, in the timeline of ${room.roomId}`,
      })).next_batch;
    }
  });

  const partial = await observeJoin(remote, candidate.serverName, room, remote.userId('partial'), { optIn: { omitMembers: 'true' } });
  judgeJoin(testInfo, partial);
  partialAnswered(testInfo, partial.sendJoin, ['SJ-18']);
  const full = await observeJoin(remote, candidate.serverName, room, remote.userId('full'), { optIn: { omitMembers: 'false' } });
  judgeJoin(testInfo, full);
  const sizes = { members: MEMBERS + 2, partial: answerSizes(partial.sendJoin), full: answerSizes(full.sendJoin) };
  const ratio = sizes.partial.bytes / sizes.full.bytes;
  await testInfo.attach('partial and full send_join answer sizes', { body: JSON.stringify({ ...sizes, partialToFullBytes: ratio }, null, 2), contentType: 'application/json' });
  recordInformational(testInfo, 'SJ-07', ratio < 0.5, { ...sizes, partialToFullBytes: Number(ratio.toFixed(4)) }, `partial answer ${sizes.partial.bytes} bytes, full ${sizes.full.bytes} bytes (${(ratio * 100).toFixed(1)}%)`);
});
