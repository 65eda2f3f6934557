/**
 * The first resident fails at join time. The client's /join names two servers of the room (`via`);
 * the first answers make_join, or send_join, with an error, the second serves. The candidate joins
 * through a server that serves (the spec lets any valid resident serve either phase of the
 * handshake, so a join built from the first server's template may go to the second; a candidate
 * that gives up instead has not joined, which no requirement forbids: the test then records what
 * it did and ends not run), and, when the answer is
 * partial, resyncs first from the server that answered send_join, at the join (MSC3902, JS-03),
 * not from the server that failed. The path it took is recorded with the test.
 */
import { test, expect } from '../../harness/fixtures.ts';
import { judge } from '../../harness/checks/judge.ts';
import type { JoinerMembershipRequest } from '../../harness/checks/joiner-make-join.ts';
import { resyncAsksSendJoinServerFirst, resyncFetchesStateAtJoin } from '../../harness/checks/joining-resync.ts';
import { breakRoutesAt, partialJoin, type PartialJoinOptions } from '../../harness/joining/partial-join.ts';
import { ClientApiError } from '../../harness/client/client.ts';

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
      const membershipRequests = (): JoinerMembershipRequest[] =>
        [...remote.requests('make_join'), ...remote.requests('send_join')]
          .filter((r) => r.origin === candidate.serverName)
          .sort((a, b) => a.seq - b.seq)
          .map((r) => ({ route: r.route as 'make_join' | 'send_join', to: r.to, status: r.status, ...(r.route === 'send_join' ? { event: r.body as Record<string, unknown> } : {}) }));
      const recordPath = () => {
        const path = membershipRequests().map((r) => `${r.route} -> ${r.to} ${r.status ?? 'unanswered'}`);
        testInfo.annotations.push({ type: 'lazyjoin-observed', description: `membership requests: ${JSON.stringify(path)}` });
        return path;
      };
      let join;
      try {
        join = await partialJoin({ candidate, remote, joiner: client }, { members: 4, servers: 1, hold: ['state_ids'], ...failure.script() });
      } catch (err) {
        // No requirement makes a joiner try every via server: a candidate that gives up after the
        // first one's error has not joined, so the resync this test judges never happens. What it
        // did is recorded, and JS-03 is not run here (never an error, never a pass).
        if (!(err instanceof ClientApiError) || !err.path.includes('/join/')) throw err;
        const path = recordPath();
        testInfo.skip(true, `the candidate did not join: its /join answered ${err.message} after ${path.join(', ') || 'no membership request to the remote'}; trying the other via servers is not required by the spec, so the resync (JS-03) was not observed`);
        return;
      }
      const requests = membershipRequests();
      recordPath();
      if (failure.asked) expect(requests.some((r) => r.to === remote.serverName && r.status === 500), `the candidate asked the first via server ${remote.serverName} before the second`).toBe(true);
      // Any server in the room that serves may complete the handshake (the room's own server, or the
      // second via server): which one did is in the recorded path, and the resync is judged from it.
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
