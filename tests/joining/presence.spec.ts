/**
 * Presence received during the resync (Complement's CanReceivePresenceDuringPartialStateJoin,
 * skipped there for Synapse). The suite's candidates run with presence off, so this test starts a
 * Synapse instance of its own with presence on. A member of the remote, whose membership the
 * partial state leaves out, sends `m.presence` during the resync: a lazy-loading /sync delivers
 * what arrives for the room, its EDUs included (MSC3902 "/sync", JS-09), so the joiner shares a
 * room with him and sees his presence. A second update after the resync shows that presence
 * reaches the joiner at all.
 */
import { mkdirSync } from 'node:fs';
import { join as joinPath } from 'node:path';
import { test } from '../../harness/fixtures.ts';
import { judge, recordNotRun } from '../../harness/checks/judge.ts';
import { lazySyncDeliversRoomUpdates } from '../../harness/checks/partial-state.ts';
import { createCandidate, defaultCacheDir } from '../../harness/candidates/index.ts';
import type { DriverOptions } from '../../harness/candidates/types.ts';
import { CandidateClient } from '../../harness/client/client.ts';
import type { SyncResponse } from '../../harness/client/types.ts';
import { partialJoin } from '../../harness/joining/partial-join.ts';
import { lazySyncShows, pushAndJudge } from '../../harness/joining/resync-observe.ts';
import { issueServerCert, runDir, suiteCA } from '../../harness/remote/pki.ts';
import { serverOf } from '../../harness/remote/room.ts';

/** Drivers that can start an instance with presence on. */
const PRESENCE_DRIVERS = ['synapse', 'synapse-1.98', 'synapse-postgres'];

function presenceOf(sync: SyncResponse, userId: string): string | undefined {
  const events = (sync as { presence?: { events?: Array<{ sender?: string; type?: string; content?: { presence?: string } }> } }).presence?.events ?? [];
  return events.filter((e) => e.type === 'm.presence' && e.sender === userId).at(-1)?.content?.presence;
}

test.describe('joining: presence during the resync', () => {
  test('presence from a member the partial state lacks reaches a lazy-loading /sync during the resync', { tag: ['@complement-9', '@JS-09', '@msc-only'] }, async ({ candidate, remote }, testInfo) => {
    if (!PRESENCE_DRIVERS.includes(candidate.info.name)) {
      recordNotRun(testInfo, ['JS-09'], `the suite can start ${candidate.info.name} with presence on only for ${PRESENCE_DRIVERS.join(', ')}`);
      return;
    }
    const instanceName = `${candidate.info.name}-presence-w${testInfo.workerIndex}-${testInfo.repeatEachIndex}-${testInfo.retry}`;
    const workDir = joinPath(runDir(), 'candidates', instanceName);
    mkdirSync(workDir, { recursive: true });
    const options: DriverOptions & { presence: boolean } = { instanceName, workDir, cacheDir: defaultCacheDir(), caCertPath: suiteCA().certPath, issueCert: issueServerCert, version: candidate.info.version, presence: true };
    const own = createCandidate(candidate.info.name, options);
    try {
      await test.step(`start ${candidate.info.name} ${candidate.info.version} with presence on`, () => own.start());
      const client = new CandidateClient(own.clientUrl, await own.registerUser());
      const join = await partialJoin({ candidate: own, remote, joiner: client }, { members: 4, servers: 1, name: 'presence room' });
      // The instance stops with the test, before the end-of-test audit would look at it.
      join.skipAudit('the room lives on an instance of the candidate started by the test and stopped at its end');
      if (join.notPartial(testInfo, ['JS-09'])) return;
      await join.awaitResyncStarted();
      const member = join.remoteMembers.find((u) => serverOf(u) === remote.serverName && u !== join.remoteMembers[0]) ?? join.remoteMembers[0];
      const presence = (state: string) => ({ edu_type: 'm.presence', content: { push: [{ user_id: member, presence: state, last_active_ago: 1_000, currently_active: state === 'online' }] } });
      await pushAndJudge(testInfo, own.serverName, join, [], [presence('online')]);
      const during = await lazySyncShows(client, (s) => presenceOf(s, member) === 'online', `${member} online in the presence of a lazy-loading /sync`);
      join.releaseResync();
      await join.awaitResyncComplete();
      await pushAndJudge(testInfo, own.serverName, join, [], [presence('unavailable')]);
      const after = await lazySyncShows(client, (s) => presenceOf(s, member) === 'unavailable', `${member} unavailable in the presence of a lazy-loading /sync`);
      judge(testInfo, lazySyncDeliversRoomUpdates, {
        request: { scenario: `m.presence of ${member} (a member the partial state lacks) during the resync, then after it` },
        facts: [
          { fact: 'presence sent during the resync reaches /sync', expected: true, observed: during },
          { fact: 'presence sent after the resync reaches /sync', expected: true, observed: after },
        ],
      });
    } finally {
      await own.teardown();
    }
  });
});
