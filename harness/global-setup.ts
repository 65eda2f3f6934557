import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { formatPreflight, PREFLIGHT_PASSED_ENV, preflightExternal } from './candidates/external-preflight.ts';
import { externalFromEnv } from './candidates/external.ts';
import { ensureSuiteCA, pinSuiteCA } from './remote/pki.ts';

/**
 * Runs once per `playwright test` invocation, before any worker starts: makes the run folder and
 * makes sure the lasting suite CA exists (creating it on first use, replacing one close to its
 * end), then pins it for the run. Workers inherit `LAZYJOIN_RUN_DIR` and the pin through the
 * environment. With the external candidate in the run, its preflight runs here (unless
 * `lazyjoin run` ran it already): a failing item stops the run before any test.
 */
export default async function globalSetup(): Promise<void> {
  const dir = resolve(process.env.LAZYJOIN_RUN_DIR ?? `.lazyjoin/run-${process.pid}-${Date.now()}`);
  mkdirSync(dir, { recursive: true });
  process.env.LAZYJOIN_RUN_DIR = dir;
  const ca = await ensureSuiteCA();
  if (ca.status === 'created') console.log(`[lazyjoin] created the suite CA ${ca.certPath} (kept for later runs)`);
  if (ca.notice) console.warn(`[lazyjoin] ${ca.notice}`);
  pinSuiteCA(ca);

  const candidates = (process.env.LAZYJOIN_CANDIDATES ?? '').split(',').map((s) => s.trim());
  if (candidates.includes('external') && !process.env[PREFLIGHT_PASSED_ENV]) {
    const external = externalFromEnv();
    const result = await preflightExternal(external);
    console.log(formatPreflight(external, result));
    if (!result.ok) throw new Error('the external candidate failed its preflight (see above); no test was run');
    process.env[PREFLIGHT_PASSED_ENV] = '1';
  }
}
