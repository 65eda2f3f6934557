/**
 * Picks the driver for a candidate name. The names are those of the Playwright projects.
 */
import { homedir } from 'node:os';
import { join } from 'node:path';
import { createExternal } from './external.ts';
import { createSynapse } from './synapse/index.ts';
import { CandidateError, type Candidate, type DriverOptions } from './types.ts';

type DriverFactory = (opts: DriverOptions) => Candidate;

async function loadDendrite(): Promise<DriverFactory> {
  const modulePath = './dendrite/index.ts';
  try {
    const mod = (await import(modulePath)) as { createDendrite?: DriverFactory };
    if (typeof mod.createDendrite === 'function') return mod.createDendrite;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ERR_MODULE_NOT_FOUND') throw err;
  }
  throw new CandidateError('candidate "dendrite": its driver (harness/candidates/dendrite/index.ts, createDendrite) is not available yet');
}

const drivers: Record<string, () => Promise<DriverFactory>> = {
  synapse: async () => createSynapse,
  dendrite: loadDendrite,
  external: async () => createExternal,
};

export const knownCandidates = Object.keys(drivers);

/** Where installs are cached across runs: env `LAZYJOIN_CACHE`, else `~/.cache/lazyjoin`. */
export function defaultCacheDir(): string {
  return process.env.LAZYJOIN_CACHE ?? join(homedir(), '.cache', 'lazyjoin');
}

/** Creates (does not start) the driver for `name`. */
export async function createCandidate(name: string, opts: DriverOptions): Promise<Candidate> {
  const driver = drivers[name];
  if (!driver) throw new CandidateError(`unknown candidate "${name}"; known: ${knownCandidates.join(', ')}`);
  return (await driver())(opts);
}
