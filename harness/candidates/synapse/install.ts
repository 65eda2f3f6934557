/**
 * Installs matrix-synapse from PyPI into a cached virtualenv, `<cache>/synapse-<version>/venv`.
 *
 * A marker file is written only after pip succeeded and the server module imports and reports the
 * expected version, so an interrupted or broken install is redone on the next run. The marker also
 * records a hash of the constraints file: changing the pins reinstalls.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { withFileLock } from '../file-lock.ts';
import { SpawnFailure, runToCompletion } from '../process.ts';
import { CandidateError } from '../types.ts';

/**
 * The Synapse release tested by default: the current release on PyPI when it was last raised.
 * Raise it deliberately, together with its baseline `expectations/synapse-<version>.json`.
 */
export const DEFAULT_SYNAPSE_VERSION = '1.163.2';

/** The last Apache-2.0 release, kept as the second Synapse project (`synapse-1.98`). */
export const SYNAPSE_1_98_VERSION = '1.98.0';

/**
 * The Synapse image the container driver builds by default: 1.98.0, whose image lazyjoin's CI
 * builds and checks; `LAZYJOIN_SYNAPSE_VERSION` builds and runs any other release.
 */
export const SYNAPSE_CONTAINER_VERSION = SYNAPSE_1_98_VERSION;

/** pip needs minutes on a cold cache; ten is far beyond what a healthy install takes here. */
const INSTALL_TIMEOUT_MS = 10 * 60_000;

export interface SynapseInstallOptions {
  cacheDir: string;
  version: string;
  /** Python interpreter used to create the virtualenv (default env `LAZYJOIN_PYTHON` or `python3.11`). */
  python?: string;
}

export interface SynapseInstallation {
  version: string;
  venvDir: string;
  /** The virtualenv's interpreter, which runs the server. */
  python: string;
}

const here = dirname(fileURLToPath(import.meta.url));

/** The committed constraints for a Synapse release line, e.g. `constraints-1.98.txt`, if any. */
function constraintsFileFor(version: string): string | undefined {
  const [major, minor] = version.split('.');
  const path = join(here, `constraints-${major}.${minor}.txt`);
  return existsSync(path) ? path : undefined;
}

/** Whether this Synapse release imports `pkg_resources` at start (every release before 1.139). */
function importsPkgResources(version: string): boolean {
  const [major, minor] = version.split('.').map(Number);
  return major < 1 || (major === 1 && minor < 139);
}

export function checkSynapseVersion(version: string): string {
  if (!/^\d+\.\d+\.\d+(rc\d+)?$/.test(version)) {
    throw new CandidateError(`Synapse version "${version}" is not of the form 1.98.0 (from option or LAZYJOIN_SYNAPSE_VERSION)`);
  }
  return version;
}

/** Where one version lives in the cache: its folder, virtualenv, interpreter, marker and install log. */
export function synapseInstallPaths(cacheDir: string, version: string) {
  const root = join(cacheDir, `synapse-${version}`);
  const venvDir = join(root, 'venv');
  return { root, venvDir, python: join(venvDir, 'bin', 'python'), marker: join(root, 'installed.json'), log: join(root, 'install.log') };
}

/** What the marker must say for an install to count as done. */
export function synapseInstallMarker(version: string): string {
  const constraints = constraintsFileFor(version);
  const constraintsHash = constraints ? createHash('sha256').update(readFileSync(constraints)).digest('hex') : 'none';
  return JSON.stringify({ package: 'matrix-synapse', version, constraintsHash });
}

export function isSynapseInstalled(cacheDir: string, version: string): boolean {
  const paths = synapseInstallPaths(cacheDir, version);
  return existsSync(paths.python) && existsSync(paths.marker) && readFileSync(paths.marker, 'utf8') === synapseInstallMarker(version);
}

/** Installs (once; cached) and returns where. Throws a one-line CandidateError naming the failed step. */
export async function installSynapse(opts: SynapseInstallOptions): Promise<SynapseInstallation> {
  const version = checkSynapseVersion(opts.version);
  const paths = synapseInstallPaths(opts.cacheDir, version);
  const result = { version, venvDir: paths.venvDir, python: paths.python };
  if (isSynapseInstalled(opts.cacheDir, version)) return result;

  mkdirSync(paths.root, { recursive: true });
  return withFileLock(paths.root, INSTALL_TIMEOUT_MS, async () => {
    // Another worker may have finished the install while this one waited for the lock.
    if (isSynapseInstalled(opts.cacheDir, version)) return result;
    rmSync(paths.venvDir, { recursive: true, force: true });
    rmSync(paths.marker, { force: true });
    writeFileSync(paths.log, '');
    const python = opts.python ?? process.env.LAZYJOIN_PYTHON ?? 'python3.11';
    const step = { name: `synapse ${version} install`, logPath: paths.log, timeoutMs: INSTALL_TIMEOUT_MS, cwd: paths.root };
    try {
      await runToCompletion({ ...step, command: python, args: ['-m', 'venv', paths.venvDir] });
    } catch (err) {
      if (err instanceof SpawnFailure && err.errno === 'ENOENT') {
        throw new CandidateError(
          `synapse ${version} install: Python interpreter "${python}" not found (set LAZYJOIN_PYTHON to a Python 3.11)`,
        );
      }
      throw err;
    }
    const constraints = constraintsFileFor(version);
    // A release line with a committed constraints file installs on the dependency set it was
    // released with; any other release installs with its own declared dependency ranges, except
    // that a Synapse before 1.139 imports pkg_resources at start, which setuptools 81 removed.
    const pins = constraints ? ['-c', constraints] : [];
    const extra = importsPkgResources(version) ? ['setuptools<81'] : [];
    await runToCompletion({
      ...step,
      command: paths.python,
      args: ['-m', 'pip', 'install', '--disable-pip-version-check', '--no-input', ...pins, ...extra, `matrix-synapse==${version}`],
      env: { ...process.env, PIP_NO_INPUT: '1' },
    });
    await runToCompletion({
      ...step,
      command: paths.python,
      args: [
        '-c',
        `import sys, synapse, synapse.app.homeserver; sys.exit(0 if synapse.__version__ == ${JSON.stringify(version)} else "imported synapse " + synapse.__version__ + ", expected ${version}")`,
      ],
    });
    writeFileSync(paths.marker, synapseInstallMarker(version));
    return result;
  });
}
