import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { createSuiteCA } from './remote/pki.ts';

/**
 * Runs once per `playwright test` invocation, before any worker starts: makes the run folder and
 * the run's CA. Workers inherit `LAZYJOIN_RUN_DIR` through the environment.
 */
export default async function globalSetup(): Promise<void> {
  const dir = resolve(process.env.LAZYJOIN_RUN_DIR ?? `.lazyjoin/run-${process.pid}-${Date.now()}`);
  mkdirSync(dir, { recursive: true });
  process.env.LAZYJOIN_RUN_DIR = dir;
  await createSuiteCA(resolve(dir, 'ca'));
}
