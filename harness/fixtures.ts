/**
 * The fixtures every conformance test uses, in one import: a running candidate (worker-scoped, per
 * Playwright project), fresh users and clients on it, and fresh scripted remotes per test.
 * Around each test, the candidate version's baseline is active (see harness/checks/test-baseline.ts).
 *
 *   import { test, expect } from '../../harness/fixtures.ts';
 */
import { mergeTests } from '@playwright/test';
import { candidateTest } from './candidates/fixture.ts';
import { remoteTest } from './remote/fixture.ts';
import { recordedOutcomes } from './checks/judge.ts';
import { activateBaseline, deactivateBaseline, unexpectedlyPassing } from './checks/test-baseline.ts';

export const test = mergeTests(candidateTest, remoteTest).extend<{ candidateBaseline: void }>({
  candidateBaseline: [
    async ({ candidate }, use, testInfo) => {
      activateBaseline(candidate.info.name, candidate.info.version);
      try {
        await use();
        const stale = unexpectedlyPassing(testInfo, recordedOutcomes(testInfo));
        if (stale.length) throw new Error(stale.join('\n'));
      } finally {
        deactivateBaseline();
      }
    },
    { auto: true },
  ],
});
export { expect } from '@playwright/test';
