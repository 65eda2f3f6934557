import { defineConfig } from '@playwright/test';
import type { CandidateOptions } from './harness/fixtures-options.ts';

/**
 * Projects:
 *  - `self`: the harness's own tests (protocol vectors, remote<->remote federation, check controls).
 *  - `known-bad`: real Synapse behind a fault-injecting proxy must fail the gate on the requirement
 *    each fault breaks (tests/known-bad/); a few minutes, run on its own.
 *  - one project per candidate (`synapse`, `synapse-1.98`, `dendrite`, `external`): the conformance
 *    tests, run against that candidate. `LAZYJOIN_CANDIDATES` (comma-separated) picks which candidate
 *    projects exist; the default is every local process candidate, `synapse,synapse-1.98,dendrite` (`lazyjoin run`
 *    sets it from `--candidate`, whose default is `synapse`).
 */
const candidateNames = (process.env.LAZYJOIN_CANDIDATES ?? 'synapse,synapse-1.98,dendrite')
  .split(',')
  .map((s) => s.trim())
  .filter(Boolean);

function retriesFromEnv(value: string | undefined): number {
  if (value === undefined || value === '') return 0;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 3) throw new Error(`LAZYJOIN_RETRIES must be a whole number from 0 to 3, not "${value}"`);
  return n;
}

const conformanceTests = ['smoke/**/*.spec.ts', 'resident/**/*.spec.ts', 'joining/**/*.spec.ts', 'client/**/*.spec.ts', 'msc2775/**/*.spec.ts'];

export default defineConfig<CandidateOptions>({
  testDir: './tests',
  outputDir: './test-results',
  fullyParallel: false,
  forbidOnly: !!process.env.CI,
  // LAZYJOIN_RETRIES (default 0): attempts after a failure. A retry never erases what a failed
  // attempt judged: the report keeps its departures (harness/report/model.ts, earlierAttempts).
  retries: retriesFromEnv(process.env.LAZYJOIN_RETRIES),
  workers: process.env.LAZYJOIN_WORKERS ? Number(process.env.LAZYJOIN_WORKERS) : 2,
  timeout: 60_000,
  globalSetup: './harness/global-setup.ts',
  reporter: [
    ['list'],
    ['junit', { outputFile: `${process.env.LAZYJOIN_REPORT_DIR ?? 'lazyjoin-report'}/junit.xml` }],
    // compliance.json, summary.md, index.html (candidate projects only; a self-only run writes none).
    ['./harness/report/compliance-reporter.ts'],
    ['./harness/report/summary-line.ts'],
  ],
  projects: [
    { name: 'self', testMatch: 'self/**/*.spec.ts' },
    // Known-bad candidates (a fault-injecting proxy in front of Synapse): minutes, so not in `self`.
    { name: 'known-bad', testMatch: 'known-bad/**/*.spec.ts' },
    ...candidateNames.map((name) => ({
      name,
      testMatch: conformanceTests,
      use: { candidateName: name },
    })),
  ],
});
