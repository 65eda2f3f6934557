/**
 * Playwright fixtures for a running candidate.
 *
 * - `candidateName` (worker option, set per project) picks the driver.
 * - `candidate` (worker): installed, configured and started once per worker, torn down at the end.
 *   A candidate that fails to start makes every test that uses it fail with the one-line reason
 *   and the log tail; the failure is remembered in the run folder so that later workers report it
 *   at once instead of trying again (a start that timed out would otherwise cost each of them the
 *   full bound).
 * - `user` / `client` (test): a fresh user per test, and a client acting as that user;
 *   `newClient()` registers more.
 * - Every test is annotated with the candidate's name, version and driver, and after any test that
 *   did not end as expected the candidate's log tail is attached (both as the report expects).
 * - Before each test, a candidate that exited on its own (a crash during an earlier test) fails the
 *   test at once with how it ended and its log tail: an error, not a long wait for answers that
 *   cannot come. Playwright then replaces the worker, so later tests get a fresh candidate.
 */
import { test } from '@playwright/test';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CandidateClient } from '../client/client.ts';
import { issueServerCert, runDir, suiteCA } from '../remote/pki.ts';
import { CANDIDATE_ANNOTATION, LOG_ATTACHMENT } from '../report/compliance-reporter.ts';
import { createCandidate, defaultCacheDir } from './index.ts';
import { behindProxy, faultsFromEnv, startFaultProxy } from './fault-proxy.ts';
import { CandidateError, describeExit, type Candidate, type CandidateUser } from './types.ts';

/** Installing on a cold cache takes minutes; starting takes seconds. */
const CANDIDATE_SETUP_TIMEOUT_MS = 15 * 60_000;
const LOG_TAIL_LINES = 200;

export interface CandidateTestFixtures {
  /** A fresh user on the candidate, registered for this test. */
  user: CandidateUser;
  /** A client acting as `user`. */
  client: CandidateClient;
  /** Registers another fresh user and returns a client acting as them. */
  newClient: (opts?: { displayName?: string; admin?: boolean }) => Promise<CandidateClient>;
  /** Annotates the test with the candidate, and attaches its log tail when the test did not end as expected (automatic). */
  candidateRecord: void;
}

export interface CandidateWorkerFixtures {
  candidateName: string;
  candidate: Candidate;
}

/** How a candidate's log says that a port it was given was taken before it bound it. */
const PORT_TAKEN = /address already in use|EADDRINUSE|AddrInUse/i;
const PORT_RACE_ATTEMPTS = 3;

function startFailureMemo(candidateName: string): string {
  return join(runDir(), 'candidates', `${candidateName}.start-failed.txt`);
}

export const candidateTest = test.extend<CandidateTestFixtures, CandidateWorkerFixtures>({
  candidateName: ['synapse', { option: true, scope: 'worker' }],

  candidate: [
    async ({ candidateName }, use, workerInfo) => {
      const memo = startFailureMemo(candidateName);
      if (existsSync(memo)) throw new CandidateError(`${candidateName} failed to start earlier in this run: ${readFileSync(memo, 'utf8')}`);
      const instanceName = `${candidateName}-w${workerInfo.workerIndex}`;
      const workDir = join(runDir(), 'candidates', instanceName);
      mkdirSync(workDir, { recursive: true });
      let candidate: Candidate | undefined;
      for (let attempt = 1; ; attempt++) {
        try {
          candidate = createCandidate(candidateName, {
            instanceName,
            workDir,
            cacheDir: defaultCacheDir(),
            caCertPath: suiteCA().certPath,
            issueCert: issueServerCert,
          });
          await candidate.start();
          break;
        } catch (err) {
          await candidate?.teardown().catch(() => undefined);
          candidate = undefined;
          const message = err instanceof Error ? err.message : String(err);
          // A port found free and taken by another process before the candidate bound it is the
          // harness's race, not the candidate's fault: a new instance gets new ports (twice at most).
          if (attempt < PORT_RACE_ATTEMPTS && PORT_TAKEN.test(message)) continue;
          writeFileSync(memo, attempt > 1 ? `${message} (attempt ${attempt} of ${PORT_RACE_ATTEMPTS}; the earlier ones lost their ports to another process)` : message);
          throw err;
        }
      }
      // Known-bad self-tests only: answers rewritten by a proxy in front of the real candidate.
      const faults = faultsFromEnv();
      const proxy = faults.length ? await startFaultProxy(candidate, faults) : undefined;
      await use(proxy ? behindProxy(candidate, proxy) : candidate);
      await proxy?.close();
      await candidate.teardown();
    },
    { scope: 'worker', timeout: CANDIDATE_SETUP_TIMEOUT_MS },
  ],

  user: async ({ candidate }, use) => {
    await use(await candidate.registerUser());
  },

  client: async ({ candidate, user }, use) => {
    await use(new CandidateClient(candidate.clientUrl, user));
  },

  newClient: async ({ candidate }, use) => {
    await use(async (opts = {}) => new CandidateClient(candidate.clientUrl, await candidate.registerUser(undefined, opts)));
  },

  candidateRecord: [
    async ({ candidate }, use, testInfo) => {
      testInfo.annotations.push({ type: CANDIDATE_ANNOTATION, description: JSON.stringify(candidate.info) });
      const exit = await candidate.unexpectedExit();
      if (exit) {
        await testInfo.attach(LOG_ATTACHMENT, { body: candidate.logTail(LOG_TAIL_LINES), contentType: 'text/plain' });
        throw new CandidateError(
          `the candidate exited (${describeExit(exit)}) during the run, before this test (${candidate.info.name} ${candidate.info.version})`,
          candidate.logTail(),
        );
      }
      await use();
      if (testInfo.status !== testInfo.expectedStatus) {
        await testInfo.attach(LOG_ATTACHMENT, { body: candidate.logTail(LOG_TAIL_LINES), contentType: 'text/plain' });
      }
    },
    { auto: true },
  ],
});

export { expect } from '@playwright/test';
