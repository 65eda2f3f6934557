/**
 * Picks the driver for a candidate name. The names are those of the Playwright projects.
 */
import { homedir } from 'node:os';
import { join } from 'node:path';
import { createExternal } from './external.ts';
import { createSynapse } from './synapse/index.ts';
import { DEFAULT_SYNAPSE_VERSION, installSynapse } from './synapse/install.ts';
import { CandidateError, type Candidate, type DriverOptions } from './types.ts';

type DriverFactory = (opts: DriverOptions) => Candidate;

/**
 * Loads a module of the Dendrite driver (developed separately) and checks it has `name`, with a
 * clear error while it is not there yet. The path is a variable so that the type checker does
 * not require the module to exist.
 */
async function dendriteModule(file: string, name: string): Promise<Record<string, unknown>> {
  const modulePath = `./dendrite/${file}`;
  try {
    const mod = (await import(modulePath)) as Record<string, unknown>;
    if (typeof mod[name] === 'function') return mod;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ERR_MODULE_NOT_FOUND') throw err;
  }
  throw new CandidateError(`candidate "dendrite": its driver (harness/candidates/dendrite/${file}, ${name}) is not available yet`);
}

const loadDendrite = async () => (await dendriteModule('index.ts', 'createDendrite')).createDendrite as DriverFactory;

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

/** Installs a candidate into the cache (no-op when cached); returns the installed version. */
const installers: Record<string, (cacheDir: string) => Promise<string>> = {
  synapse: async (cacheDir) =>
    (await installSynapse({ cacheDir, version: process.env.LAZYJOIN_SYNAPSE_VERSION ?? DEFAULT_SYNAPSE_VERSION })).version,
  dendrite: async (cacheDir) => {
    const mod = await dendriteModule('install.ts', 'installDendrite');
    const install = mod.installDendrite as (o: { cacheDir: string; version: string }) => Promise<{ version: string }>;
    const version = process.env.LAZYJOIN_DENDRITE_VERSION ?? (mod.DEFAULT_DENDRITE_VERSION as string);
    return (await install({ cacheDir, version })).version;
  },
};

export const installableCandidates = Object.keys(installers);

export async function installCandidate(name: string, cacheDir = defaultCacheDir()): Promise<string> {
  const installer = installers[name];
  if (!installer) throw new CandidateError(`cannot install candidate "${name}"; installable: ${installableCandidates.join(', ')}`);
  return installer(cacheDir);
}
