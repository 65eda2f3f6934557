import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { ensureSuiteCA, pinSuiteCA } from './remote/pki.ts';

/**
 * Runs once per `playwright test` invocation, before any worker starts: makes the run folder and
 * makes sure the lasting suite CA exists (creating it on first use, replacing one close to its
 * end), then pins it for the run. Workers inherit `LAZYJOIN_RUN_DIR` and the pin through the
 * environment.
 */
export default async function globalSetup(): Promise<void> {
  const dir = resolve(process.env.LAZYJOIN_RUN_DIR ?? `.lazyjoin/run-${process.pid}-${Date.now()}`);
  mkdirSync(dir, { recursive: true });
  process.env.LAZYJOIN_RUN_DIR = dir;
  const ca = await ensureSuiteCA();
  if (ca.status === 'created') console.log(`[lazyjoin] created the suite CA ${ca.certPath} (kept for later runs)`);
  if (ca.notice) console.warn(`[lazyjoin] ${ca.notice}`);
  pinSuiteCA(ca);
}
