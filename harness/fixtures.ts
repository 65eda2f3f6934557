/**
 * The fixtures every conformance test uses, in one import: a running candidate (worker-scoped, per
 * Playwright project), fresh users and clients on it, and fresh scripted remotes per test.
 * Around each test, the candidate version's baseline is active (see harness/checks/test-baseline.ts)
 * and the wire journal is open (harness/checks/wire.ts).
 * After each test, every joined room whose resync completed is audited against the truth
 * (harness/audit/fixture.ts), while the baseline is still active and the remotes still run.
 *
 *   import { test, expect } from '../../harness/fixtures.ts';
 */
import { mergeTests } from '@playwright/test';
import { candidateTest } from './candidates/fixture.ts';
import { remoteTest } from './remote/fixture.ts';
import { recordedOutcomes } from './checks/judge.ts';
import { activateBaseline, deactivateBaseline, unexpectedlyPassing } from './checks/test-baseline.ts';
import { closeWireJournal, openWireJournal } from './checks/wire.ts';
import { auditFixture, AUDIT_FIXTURE_TIMEOUT_MS } from './audit/fixture.ts';
import { CandidateClient } from './client/client.ts';
import { roomVersionForTest, roomVersionsFromCapabilities, type CandidateRoomVersions } from './joining/room-versions.ts';

export const test = mergeTests(candidateTest, remoteTest)
  .extend<{ roomVersion: string }, { candidateRoomVersions: CandidateRoomVersions }>({
    /** The candidate's room versions, read once per worker from /capabilities by a user of its own. */
    candidateRoomVersions: [
      async ({ candidate }, use) => {
        const probe = new CandidateClient(candidate.clientUrl, await candidate.registerUser());
        await use(roomVersionsFromCapabilities((await probe.call('GET', '/_matrix/client/v3/capabilities')).ok()));
      },
      { scope: 'worker' },
    ],
    /** The version the test's rooms are built in: its `@v<N>` tag, else the candidate's default (harness/joining/room-versions.ts). */
    roomVersion: async ({ candidateRoomVersions }, use, testInfo) => {
      const version = roomVersionForTest(testInfo, candidateRoomVersions);
      testInfo.annotations.push({ type: 'lazyjoin-room-version', description: version });
      await use(version);
    },
    // Remotes create their rooms in the test's room version unless a test names another.
    makeRemote: async ({ makeRemote, roomVersion }, use) => {
      await use((opts) => makeRemote({ roomVersion, ...opts }));
    },
  })
  .extend<{ candidateBaseline: void }>({
  candidateBaseline: [
    async ({ candidate }, use, testInfo) => {
      activateBaseline(candidate.info.implementation, candidate.info.version);
      // The wire journal feeds the exchanges a failing outcome carries (harness/checks/wire.ts).
      openWireJournal();
      try {
        await use();
        const stale = unexpectedlyPassing(testInfo, recordedOutcomes(testInfo));
        if (stale.length) throw new Error(stale.join('\n'));
      } finally {
        deactivateBaseline();
        closeWireJournal();
      }
    },
    { auto: true },
  ],
}).extend<{ postResyncAudit: void }>({
  postResyncAudit: [
    // Depends on the baseline and the remotes, so it is torn down (and audits) before them.
    async ({ candidateBaseline, makeRemote }, use, testInfo) => {
      void candidateBaseline;
      void makeRemote;
      await auditFixture(use, testInfo);
    },
    { auto: true, timeout: AUDIT_FIXTURE_TIMEOUT_MS },
  ],
});
export { expect } from '@playwright/test';
