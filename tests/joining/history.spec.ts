/**
 * History across the join point of a partial join. The room on the remote has history from before
 * the candidate's user joined; the candidate learns of it only by asking a resident (/backfill,
 * /get_missing_events) or not at all. While the resync is held and once it is over, the user pages
 * /messages back across the join and asks /context around the last event before it: whatever is
 * served must be events the room's history visibility lets the user see, each as the room holds
 * it (HV-01). Missing history is allowed, wrong history is not.
 *
 * Visibility, for a user who is joined now: `shared` shows every earlier event; `invited` the
 * events from the user's invite on; `joined` those from the join on; a change of visibility
 * before the join applies from the change on. A candidate that never asks for partial state runs
 * the same scenarios as full joins (nothing here is partial-only).
 */
import { test } from '../../harness/fixtures.ts';
import { DURING_RESYNC_WAIT_MS, judgeHistory } from '../../harness/joining/history-observe.ts';
import { pushAndJudge, seenInLazySync } from '../../harness/joining/resync-observe.ts';
import { UncheckedJoin } from '../../harness/joining/unchecked-join.ts';
import type { Room } from '../../harness/remote/room.ts';

/** Bound on the first resync request after the join. */
const RESYNC_STARTS_WITHIN_MS = 20_000;
/** Bound on the resync once released (a small room on loopback). */
const RESYNC_WITHIN_MS = 30_000;

interface HistoryScenario {
  name: string;
  visibility: 'shared' | 'invited' | 'joined';
  /** History made before the join; returns the last event before the join worth asking /context about. */
  before: (room: Room, people: { charlie: string; derek: string; joiner: string }) => string;
}

const messages = (room: Room, sender: string, label: string, n: number): string[] => Array.from({ length: n }, (_, i) => room.sendMessage(sender, `${label} ${i + 1}`));

const SCENARIOS: HistoryScenario[] = [
  {
    name: 'shared: every event before the join is the member\'s to see',
    visibility: 'shared',
    before: (room, p) => messages(room, p.derek, 'before the join', 12).at(-1)!,
  },
  {
    name: 'invited: events from the invite on, none before it',
    visibility: 'invited',
    before: (room, p) => {
      messages(room, p.derek, 'before the invite', 6);
      room.invite(p.charlie, p.joiner);
      return messages(room, p.derek, 'after the invite, before the join', 4).at(-1)!;
    },
  },
  {
    name: 'joined: nothing before the join',
    visibility: 'joined',
    before: (room, p) => messages(room, p.derek, 'before the join', 8).at(-1)!,
  },
  {
    name: 'shared, then joined before the join: events until the change are the member\'s to see, none after it',
    visibility: 'shared',
    before: (room, p) => {
      messages(room, p.derek, 'while shared', 5);
      room.setState(p.charlie, 'm.room.history_visibility', '', { history_visibility: 'joined' });
      return messages(room, p.derek, 'while joined-only, before the join', 5).at(-1)!;
    },
  },
];

test.describe('joining: history across the join point', () => {
  for (const scenario of SCENARIOS) {
    test(`history visibility ${scenario.name}: /messages and /context during and after the resync`, { tag: ['@HV-01', '@ST-09'] }, async ({ candidate, client, remote }, testInfo) => {
      let aroundBeforeJoin = '';
      const join = await UncheckedJoin.start({
        candidate,
        client,
        remote,
        room: { joinRule: 'public', name: `history: ${scenario.visibility}`, historyVisibility: scenario.visibility },
        prepare: ({ room, charlie, derek }) => {
          aroundBeforeJoin = scenario.before(room, { charlie, derek, joiner: client.userId });
        },
      });
      join.joinAnswer.ok();
      if (join.partial) await join.resyncArrived(RESYNC_STARTS_WITHIN_MS);
      const { room } = join;
      const sendJoinSeq = remote.requests('send_join').find((r) => r.status === 200)?.seq ?? 0;

      const afterJoin = room.sendMessage(join.derek, 'after the join');
      await pushAndJudge(testInfo, candidate.serverName, join, [afterJoin]);
      if (!(await seenInLazySync(client, room.roomId, afterJoin))) throw new Error(`the message ${afterJoin} pushed after the join did not reach a lazy-loading /sync: the history around it cannot be looked at`);

      if (join.partial) {
        const during = await test.step('/messages and /context while the resync is held', () => judgeHistory(testInfo, room, client, aroundBeforeJoin, true));
        testInfo.annotations.push({
          type: 'lazyjoin-observed',
          description: `while partial: /messages ${during.messagesAnswered ? `served ${during.messages.length} events` : `did not answer within ${DURING_RESYNC_WAIT_MS} ms`}; /context: ${during.context.status}; /backfill requests to the resident: ${remote.requests('backfill').filter((r) => r.seq > sendJoinSeq && r.origin === candidate.serverName).length}`,
        });
      }
      join.releaseResync();
      await test.step('the resync completes', () => join.awaitResyncComplete(RESYNC_WITHIN_MS));
      const look = await test.step('/messages and /context once resynced', () => judgeHistory(testInfo, room, client, aroundBeforeJoin, false));

      const joinEvent = join.joinEventId;
      const beforeJoin = new Set(room.eventIds().filter((id) => joinEvent && room.streamOrder(id) < room.streamOrder(joinEvent)));
      const preJoinServed = new Set(look.messages.map((e) => e.event_id).filter((id) => beforeJoin.has(id))).size;
      testInfo.annotations.push({
        type: 'lazyjoin-observed',
        description: `once resynced: ${preJoinServed} of ${beforeJoin.size} events from before the join served by /messages; /context around ${aroundBeforeJoin}: HTTP ${look.context.status}${look.context.errcode ? ` ${look.context.errcode}` : ''}; /backfill requests in all: ${remote.requests('backfill').filter((r) => r.seq > sendJoinSeq && r.origin === candidate.serverName).length}`,
      });
    });
  }
});
