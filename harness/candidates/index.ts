/**
 * Picks the driver for a candidate name (the names are those of the Playwright projects), and
 * installs candidates into the cache ahead of a run.
 */
import { createDendrite } from './dendrite/index.ts';
import { DEFAULT_DENDRITE_VERSION, installDendrite } from './dendrite/install.ts';
import { deferred, type DriverFactory } from './deferred.ts';
import { createExternal } from './external.ts';
import { createPalpo } from './palpo/index.ts';
import { DEFAULT_PALPO_VERSION, installPalpo } from './palpo/install.ts';
import { createSynapse, createSynapse198, createSynapsePostgres } from './synapse/index.ts';
import { DEFAULT_SYNAPSE_VERSION, SYNAPSE_1_98_VERSION, installSynapse } from './synapse/install.ts';
import { installSynapsePostgresSupport } from './synapse/postgres.ts';
import { CandidateError, type Candidate, type DriverOptions } from './types.ts';

/**
 * The container drivers pull in testcontainers, whose import alone takes seconds: they are
 * loaded on first start, so that runs without containers do not pay for them in every worker.
 */
const containerDrivers = () => import('./container/index.ts');

const drivers: Record<string, DriverFactory> = {
  synapse: createSynapse,
  'synapse-1.98': createSynapse198,
  'synapse-postgres': createSynapsePostgres,
  dendrite: createDendrite,
  palpo: createPalpo,
  external: createExternal,
  'synapse-container': deferred('synapse-container', 'container', async () => (await containerDrivers()).createSynapseContainer),
  'synapse-container-postgres': deferred(
    'synapse-container-postgres',
    'container',
    async () => (await containerDrivers()).createSynapseContainerPostgres,
  ),
  'dendrite-container': deferred('dendrite-container', 'container', async () => (await containerDrivers()).createDendriteContainer),
  container: deferred('container', 'container', async () => (await containerDrivers()).createNamedImageContainer),
};

export const knownCandidates = Object.keys(drivers);

import { defaultCacheDir } from './cache-dir.ts';

export { defaultCacheDir };

/** Creates (does not start) the driver for `name`. */
export function createCandidate(name: string, opts: DriverOptions): Candidate {
  const driver = drivers[name];
  if (!driver) throw new CandidateError(`unknown candidate "${name}"; known: ${knownCandidates.join(', ')}`);
  return driver(opts);
}

/** Installs a candidate into the cache (no-op when cached); resolves to the installed version. */
const installers: Record<string, (cacheDir: string) => Promise<string>> = {
  synapse: async (cacheDir) =>
    (await installSynapse({ cacheDir, version: process.env.LAZYJOIN_SYNAPSE_VERSION ?? DEFAULT_SYNAPSE_VERSION })).version,
  'synapse-1.98': async (cacheDir) => (await installSynapse({ cacheDir, version: SYNAPSE_1_98_VERSION })).version,
  'synapse-postgres': async (cacheDir) => {
    const install = await installSynapse({ cacheDir, version: process.env.LAZYJOIN_SYNAPSE_VERSION ?? DEFAULT_SYNAPSE_VERSION });
    await installSynapsePostgresSupport(cacheDir, install);
    return install.version;
  },
  dendrite: async (cacheDir) =>
    (await installDendrite({ cacheDir, version: process.env.LAZYJOIN_DENDRITE_VERSION ?? DEFAULT_DENDRITE_VERSION })).version,
  palpo: async (cacheDir) => (await installPalpo({ cacheDir, version: process.env.LAZYJOIN_PALPO_VERSION ?? DEFAULT_PALPO_VERSION })).version,
};

export const installableCandidates = Object.keys(installers);

export async function installCandidate(name: string, cacheDir = defaultCacheDir()): Promise<string> {
  const installer = installers[name];
  if (!installer) throw new CandidateError(`cannot install candidate "${name}"; installable: ${installableCandidates.join(', ')}`);
  return installer(cacheDir);
}
