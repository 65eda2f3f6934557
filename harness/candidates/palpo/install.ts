/**
 * Installs Palpo (the `palpo` crate, Apache-2.0) with cargo into a cached folder:
 * `cargo install palpo --version <v> --locked --root <cache>/palpo-<v>/root`, niced, with cargo's
 * target folder kept at `<cache>/palpo-<v>/target` so that a rebuild (a removed binary, a new
 * toolchain) is incremental instead of cold.
 *
 * The binary links libpq (Diesel's PostgreSQL backend), so Debian's `libpq-dev` must be present to
 * build; that is checked first, with a one-line message naming the package. A marker file is written
 * only after cargo succeeded and cargo's own record of the root lists `palpo v<version>`; it also
 * records the build's wall time and the binary's size. Palpo has no `--version` flag (it starts
 * serving whatever the arguments), so cargo's record is what proves the version.
 *
 * Measured here (0.0.2, rustc 1.95, 2 cores shared with other work): see the marker's
 * `buildSeconds`; the cold build is the longest install of any candidate, so CI starts it early.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { withFileLock } from '../file-lock.ts';
import { SpawnFailure, runToCompletion } from '../process.ts';
import { CandidateError } from '../types.ts';

export const DEFAULT_PALPO_VERSION = '0.0.2';
export const PALPO_CRATE = 'palpo';

/**
 * A cold build takes 12 minutes on two idle cores and far longer on a loaded machine; a stuck
 * build still ends, with this step's reason and the build log's tail. The driver passes a shorter
 * bound (it must end within the candidate fixture's setup bound).
 */
export const INSTALL_TIMEOUT_MS = 60 * 60_000;

export interface PalpoInstallOptions {
  cacheDir: string;
  version: string;
  /** The cargo binary (default env `LAZYJOIN_CARGO`, else `cargo` on PATH). */
  cargo?: string;
  /** Bound on the build (default {@link INSTALL_TIMEOUT_MS}). */
  timeoutMs?: number;
}

export interface PalpoInstallation {
  version: string;
  /** The server binary. */
  palpo: string;
  /** What the install recorded: build time and binary size. */
  marker: PalpoInstallMarker;
}

export interface PalpoInstallMarker {
  crate: typeof PALPO_CRATE;
  version: string;
  /** Wall time of the cargo run that produced the binary (0 when cargo found it already built). */
  buildSeconds: number;
  binaryBytes: number;
  /** `rustc --version` of the toolchain that built it. */
  rustc: string;
  finishedAt: string;
}

/** Accepts a crate version (`0.0.2`, `0.1.0-alpha.1`); anything else is refused before any work. */
export function checkPalpoVersion(version: string): string {
  if (!/^\d+\.\d+\.\d+(-[0-9A-Za-z.]+)?$/.test(version)) {
    const hint = /^v\d/.test(version) ? ` (did you mean ${version.slice(1)}?)` : '';
    throw new CandidateError(`Palpo version "${version}" is not a crate version of the form 0.0.2${hint} (from option or LAZYJOIN_PALPO_VERSION)`);
  }
  return version;
}

export function palpoInstallPaths(cacheDir: string, version: string) {
  const root = join(cacheDir, `palpo-${version}`);
  const cargoRoot = join(root, 'root');
  return {
    root,
    cargoRoot,
    palpo: join(cargoRoot, 'bin', 'palpo'),
    /** cargo's record of what it installed into `cargoRoot`. */
    cratesRecord: join(cargoRoot, '.crates.toml'),
    target: join(root, 'target'),
    marker: join(root, 'installed.json'),
    log: join(root, 'install.log'),
  };
}

export function readPalpoMarker(cacheDir: string, version: string): PalpoInstallMarker | undefined {
  const paths = palpoInstallPaths(cacheDir, version);
  try {
    const marker = JSON.parse(readFileSync(paths.marker, 'utf8')) as PalpoInstallMarker;
    return marker.crate === PALPO_CRATE && marker.version === version ? marker : undefined;
  } catch {
    return undefined;
  }
}

/** True when cargo's record of the root says this very crate version is installed there. */
function cargoRecordsVersion(cratesRecord: string, version: string): boolean {
  if (!existsSync(cratesRecord)) return false;
  return readFileSync(cratesRecord, 'utf8').includes(`"${PALPO_CRATE} ${version} (registry+`);
}

export function isPalpoInstalled(cacheDir: string, version: string): boolean {
  const paths = palpoInstallPaths(cacheDir, version);
  return readPalpoMarker(cacheDir, version) !== undefined && existsSync(paths.palpo) && cargoRecordsVersion(paths.cratesRecord, version);
}

/** The libpq the build links: Debian's `libpq-dev` ships the unversioned `libpq.so` and `pg_config`. */
function hasLibpqDev(): boolean {
  const dirs = ['/usr/lib/x86_64-linux-gnu', '/usr/lib/aarch64-linux-gnu', '/usr/lib', '/usr/local/lib', '/usr/local/pgsql/lib'];
  return Boolean(process.env.PQ_LIB_DIR) || dirs.some((d) => existsSync(join(d, 'libpq.so')) || existsSync(join(d, 'libpq.a')));
}

async function rustcVersion(): Promise<string> {
  try {
    const { stdout } = await promisify(execFile)(process.env.LAZYJOIN_RUSTC ?? 'rustc', ['--version'], { timeout: 30_000 });
    return stdout.trim();
  } catch {
    return 'unknown';
  }
}

/** Installs (once; cached) and returns where. Throws a one-line CandidateError naming the failed step. */
export async function installPalpo(opts: PalpoInstallOptions): Promise<PalpoInstallation> {
  const version = checkPalpoVersion(opts.version);
  const paths = palpoInstallPaths(opts.cacheDir, version);
  const done = (): PalpoInstallation => ({ version, palpo: paths.palpo, marker: readPalpoMarker(opts.cacheDir, version)! });
  if (isPalpoInstalled(opts.cacheDir, version)) return done();

  mkdirSync(paths.root, { recursive: true });
  const timeoutMs = opts.timeoutMs ?? INSTALL_TIMEOUT_MS;
  return withFileLock(paths.root, timeoutMs, async () => {
    // Another worker may have finished the install while this one waited for the lock.
    if (isPalpoInstalled(opts.cacheDir, version)) return done();
    const name = `palpo ${version} install`;
    if (!hasLibpqDev()) {
      throw new CandidateError(`${name}: libpq not found (Palpo links PostgreSQL's client library: apt-get install libpq-dev, or set PQ_LIB_DIR)`);
    }
    writeFileSync(paths.log, '');
    const cargo = opts.cargo ?? process.env.LAZYJOIN_CARGO ?? 'cargo';
    const started = performance.now();
    try {
      await runToCompletion({
        name,
        // Niced: the cold build takes every core for many minutes, and tests may be running.
        command: 'nice',
        args: ['-n', '10', cargo, 'install', PALPO_CRATE, '--version', version, '--locked', '--root', paths.cargoRoot],
        cwd: paths.root,
        env: { ...process.env, CARGO_TARGET_DIR: paths.target, CARGO_TERM_COLOR: 'never', CARGO_TERM_PROGRESS_WHEN: 'never' },
        logPath: paths.log,
        timeoutMs,
      });
    } catch (err) {
      if (err instanceof SpawnFailure && err.errno === 'ENOENT') {
        throw new CandidateError(`${name}: \`nice\` not found (coreutils)`);
      }
      const log = readFileSync(paths.log, 'utf8');
      if (/nice: .*No such file or directory/.test(log)) {
        throw new CandidateError(`${name}: cargo "${cargo}" not found (Palpo needs Rust >= 1.85; set LAZYJOIN_CARGO)`);
      }
      throw err;
    }
    const seconds = (performance.now() - started) / 1000;
    if (!existsSync(paths.palpo) || !cargoRecordsVersion(paths.cratesRecord, version)) {
      throw new CandidateError(`${name}: cargo finished, but ${paths.palpo} is missing or ${paths.cratesRecord} does not list palpo ${version}`);
    }
    // "already installed": cargo found the binary in place and built nothing.
    const alreadyThere = /already installed/.test(readFileSync(paths.log, 'utf8'));
    const marker: PalpoInstallMarker = {
      crate: PALPO_CRATE,
      version,
      buildSeconds: alreadyThere ? 0 : Math.round(seconds),
      binaryBytes: statSync(paths.palpo).size,
      rustc: await rustcVersion(),
      finishedAt: new Date().toISOString(),
    };
    writeFileSync(paths.marker, `${JSON.stringify(marker, null, 2)}\n`);
    return done();
  });
}
