/**
 * The first resident fails at join time. The client's /join names two servers of the room (`via`);
 * the first answers make_join, or send_join, with an error, the second serves. The candidate joins
 * through the second (the spec lets any valid resident serve either phase of the handshake, so a
 * join built from the first server's template may go to the second), and, when the answer is
 * partial, resyncs first from the server that answered send_join, at the join (MSC3902, JS-03),
 * not from the server that failed. The path it took is recorded with the test.
 */
import { test, expect } from '../../harness/fixtures.ts';
import { judge } from '../../harness/checks/judge.ts';
import type { JoinerMembershipRequest } from '../../harness/checks/joiner-make-join.ts';
import { resyncAsksSendJoinServerFirst, resyncFetchesStateAtJoin } from '../../harness/checks/joining-resync.ts';
import { breakRoutesAt, partialJoin, type PartialJoinOptions } from '../../harness/joining/partial-join.ts';

const ERROR = { status: 500, body: { errcode: 'M_UNKNOWN', error: 'scripted failure' } };

type Scripting = Pick<PartialJoinOptions, 'via' | 'beforeJoin'>;

/** How the first via server fails; the second via server is always the remote's bystander, which serves. */
const failures: Array<{ name: string; asked: boolean; script: () => Scripting }> = [
  {
    name: 'answers make_join with 500',
    asked: true,
    script: () => ({ via: (s) => [s.remote, s.bystanders[0]], beforeJoin: ({ remote }) => breakRoutesAt(remote, remote.serverName, ['make_join'], ERROR) }),
  },
  {
    name: 'answers send_join with 500',
    asked: true,
    script: () => ({ via: (s) => [s.remote, s.bystanders[0]], beforeJoin: ({ remote }) => breakRoutesAt(remote, remote.serverName, ['send_join'], ERROR) }),
  },
  {
    // A server with no member in the room (so no event of the room needs its key), offline from before the join.
    name: 'is unreachable',
    asked: false,
    script: () => {
      let offline = '';
      return {
        beforeJoin: async ({ remote }) => {
          const server = await remote.addServer({ mode: 'serve' });
          offline = server.serverName;
          await server.goOffline();
        },
        via: (s) => [offline, s.bystanders[0]],
      };
    },
  },
];

test.describe('joining: the first via server fails at join time', () => {
  for (const failure of failures) {
    test(`the first via server ${failure.name}: the candidate joins through the second and resyncs from it`, { tag: ['@JS-03', '@msc-only'] }, async ({ candidate, client, remote }, testInfo) => {
      const join = await partialJoin(
        { candidate, remote, joiner: client },
        {
          members: 4,
          servers: 1,
          hold: ['state_ids'],
          ...failure.script(),
        },
      );
      const second = join.bystanders[0].serverName;
      const requests: JoinerMembershipRequest[] = [...remote.requests('make_join'), ...remote.requests('send_join')]
        .filter((r) => r.origin === candidate.serverName)
        .sort((a, b) => a.seq - b.seq)
        .map((r) => ({ route: r.route as 'make_join' | 'send_join', to: r.to, status: r.status, ...(r.route === 'send_join' ? { event: r.body as Record<string, unknown> } : {}) }));
      testInfo.annotations.push({ type: 'lazyjoin-observed', description: `membership requests: ${JSON.stringify(requests.map((r) => `${r.route} -> ${r.to} ${r.status ?? 'unanswered'}`))}` });
      if (failure.asked) expect(requests.some((r) => r.to === remote.serverName && r.status === 500), `the candidate asked the first via server ${remote.serverName} before the second`).toBe(true);
      expect(join.sendJoinRecord.to, 'the server whose send_join answer the candidate used').toBe(second);
      if (join.notPartial(testInfo, ['JS-03'])) return;
      await join.awaitResyncStarted();
      join.releaseResync();
      await test.step('the resync completes: an eager /sync shows every member', () => join.awaitResyncComplete());
      const observation = join.observe();
      testInfo.annotations.push({ type: 'lazyjoin-observed', description: `resync requests: ${JSON.stringify(observation.truth.resyncRequests)}` });
      judge(testInfo, resyncAsksSendJoinServerFirst, observation);
      judge(testInfo, resyncFetchesStateAtJoin, observation);
    });
  }
});
