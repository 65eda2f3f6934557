/**
 * Partial state is transient (MSC3902 "Security considerations", JS-14): while partial, a joiner
 * accepts events without the full checks, which "is mitigated by (a) the process of re-running the
 * event authorisation process once we have full state". The scenario makes that mitigation
 * visible: @derek was banned before the candidate joined, and the partial state leaves his ban out
 * (a membership event). During the resync his server sends messages citing his old join: the
 * partial state cannot tell they are forbidden. Once the full state is known, they must be
 * rejected: no longer served to the joiner's client (JS-14; SG-10 for any rejected event).
 *
 * The remote stores the forbidden events as outliers: served on request, never part of its state.
 */
import { test, expect } from '../../harness/fixtures.ts';
import { judge, recordNotSupported } from '../../harness/checks/judge.ts';
import { partialAcceptanceRevisited } from '../../harness/checks/partial-state.ts';
import { judgeNotServed, pushAndJudge, seenInLazySync, servedToClient } from '../../harness/joining/resync-observe.ts';
import { citedAuthEvents } from '../../harness/joining/room-versions.ts';
import { UncheckedJoin } from '../../harness/joining/unchecked-join.ts';

const RESYNC_WITHIN_MS = 30_000;

test.describe('joining: events accepted under partial state', () => {
  for (const kind of ['message', 'state event'] as const) {
    test(`a ${kind} from a member banned before the join, citing his old join, is rejected once the full state is known`, { tag: ['@JS-14', '@SG-10', '@msc-only'] }, async ({ candidate, client, remote }, testInfo) => {
      let derekJoin = '';
      const join = await UncheckedJoin.start({
        candidate,
        client,
        remote,
        room: { name: 'a ban the partial state leaves out' },
        prepare: ({ room, charlie, derek }) => {
          derekJoin = room.stateEventId('m.room.member', derek)!;
          room.ban(charlie, derek, 'banned before the candidate joined');
        },
      });
      join.joinAnswer.ok();
      if (join.partial) await join.resyncArrived(RESYNC_WITHIN_MS);
      // Stale auth: his old join stands for his membership; the ban that replaced it is not cited.
      const auth = citedAuthEvents(join.room, ['m.room.create', 'm.room.power_levels']);
      const forbidden = join.room.forge({
        type: kind === 'message' ? 'm.room.message' : 'org.lazyjoin.test',
        ...(kind === 'state event' ? { stateKey: '' } : {}),
        sender: join.derek,
        content: kind === 'message' ? { msgtype: 'm.text', body: 'sent after my ban' } : { after_ban: true },
        authEvents: [...auth, derekJoin],
        outlier: true,
      }).eventId;
      const sentinel = join.room.sendMessage(join.charlie, `sentinel after the banned member's ${kind}`);
      await pushAndJudge(testInfo, candidate.serverName, join, [forbidden, sentinel]);
      expect(await seenInLazySync(client, join.roomId, sentinel), `the sentinel ${sentinel} in a lazy-loading /sync`).toBe(true);
      let acceptedWhilePartial = false;
      if (join.partial) {
        const during = await servedToClient(join, forbidden);
        acceptedWhilePartial = during.served;
        testInfo.annotations.push({ type: 'lazyjoin-observed', description: `the banned member's ${kind} ${forbidden} while partial: ${JSON.stringify(during)}` });
      } else {
        recordNotSupported(testInfo, ['JS-14'], `no partial state to revisit (${join.omitMembersSent})`);
      }
      join.releaseResync();
      await join.awaitResyncComplete(RESYNC_WITHIN_MS);
      const after = await servedToClient(join, forbidden);
      // Only an event the partial state let in has an acceptance to revisit; one refused at once is judged by SG-10 alone.
      if (acceptedWhilePartial) {
        judge(testInfo, partialAcceptanceRevisited, {
          request: { scenario: `a ${kind} from a member banned before the join, pushed during the resync with stale auth` },
          facts: [{ fact: `${forbidden} served to the client once resynced`, expected: false, observed: after.served }],
        });
      }
      await judgeNotServed(testInfo, join, forbidden, 'complete', 'fails the auth rules against the full state before it: its sender is banned');
    });
  }
});
