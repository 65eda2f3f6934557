/**
 * Installs Dendrite with the Go toolchain into a cached folder, `<cache>/dendrite-<version>/bin`:
 * `go install github.com/matrix-org/dendrite/cmd/...@<version>` with CGO_ENABLED=0, so SQLite is
 * the pure-Go modernc driver and no C compiler is needed.
 *
 * The module and build caches live inside the version's folder while it builds (nothing depends
 * on the user's Go caches) and are removed once the binaries are in place. A marker file is
 * written only after the build succeeded and `dendrite --version` reported the expected version,
 * so an interrupted or broken install is redone on the next run.
 *
 * v0.13.8 (go.mod: `go 1.21.0`, no replace directives) builds unchanged with Go 1.26 through the
 * module proxy: no VCS access, no toolchain download, no patch. Measured here: about 2 minutes cold
 * on 2 idle cores (5 minutes with the machine busy), 105 MB of binaries; a cached install is a
 * marker check.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { withFileLock } from '../file-lock.ts';
import { SpawnFailure, runToCompletion } from '../process.ts';
import { CandidateError } from '../types.ts';

export const DEFAULT_DENDRITE_VERSION = 'v0.13.8';

/** The Apache-2.0 module; later releases moved to an AGPL repository the suite does not use. */
export const DENDRITE_MODULE = 'github.com/matrix-org/dendrite';

/** The commands installed: the server, and the tools its documentation builds alongside it. */
export const DENDRITE_COMMANDS = ['dendrite', 'generate-keys', 'generate-config', 'create-account'] as const;

/**
 * Well above the cold build measured here (2 to 5 minutes), and below the candidate fixture's
 * 15-minute setup bound, so that a stuck build ends with this step's reason and its log tail.
 */
const INSTALL_TIMEOUT_MS = 12 * 60_000;

export interface DendriteInstallOptions {
  cacheDir: string;
  version: string;
  /** The Go toolchain (default env `LAZYJOIN_GO`, else `go` on PATH). */
  go?: string;
}

export interface DendriteInstallation {
  version: string;
  binDir: string;
  /** The monolith server binary. */
  dendrite: string;
}

/** Accepts a release tag (`v0.13.8`, `v0.13.8-rc1`); anything else is refused before any work. */
export function checkDendriteVersion(version: string): string {
  if (!/^v\d+\.\d+\.\d+(-[0-9A-Za-z.]+)?$/.test(version)) {
    const hint = /^\d/.test(version) ? ` (did you mean v${version}?)` : '';
    throw new CandidateError(
      `Dendrite version "${version}" is not a release tag of the form v0.13.8${hint} (from option or LAZYJOIN_DENDRITE_VERSION)`,
    );
  }
  return version;
}

export function dendriteInstallPaths(cacheDir: string, version: string) {
  const root = join(cacheDir, `dendrite-${version}`);
  const binDir = join(root, 'bin');
  return {
    root,
    binDir,
    dendrite: join(binDir, 'dendrite'),
    goDir: join(root, 'go'),
    marker: join(root, 'installed.json'),
    log: join(root, 'install.log'),
  };
}

/** What the marker must say for an install to count as done. */
function expectedMarker(version: string): string {
  return JSON.stringify({ module: DENDRITE_MODULE, version, commands: DENDRITE_COMMANDS, cgo: false });
}

export function isDendriteInstalled(cacheDir: string, version: string): boolean {
  const paths = dendriteInstallPaths(cacheDir, version);
  return (
    existsSync(paths.marker) &&
    readFileSync(paths.marker, 'utf8') === expectedMarker(version) &&
    DENDRITE_COMMANDS.every((cmd) => existsSync(join(paths.binDir, cmd)))
  );
}

/** The Go environment of the build: everything inside `goDir`, no cgo, no toolchain download. */
export function goInstallEnv(base: NodeJS.ProcessEnv, binDir: string, goDir: string): NodeJS.ProcessEnv {
  return {
    ...base,
    GOBIN: binDir,
    GOPATH: goDir,
    GOMODCACHE: join(goDir, 'mod'),
    GOCACHE: join(goDir, 'build'),
    CGO_ENABLED: '0',
    // Build with the installed Go (v0.13.8's go.mod asks for go 1.21.0): never fetch a toolchain.
    GOTOOLCHAIN: 'local',
    // -modcacherw: the module cache can be deleted with a plain rm; no VCS stamping (no git here).
    GOFLAGS: '-modcacherw -buildvcs=false',
    GO111MODULE: 'on',
    GOWORK: 'off',
  };
}

/** The version the binary reports (`0.13.8` for tag `v0.13.8`). */
export async function dendriteReportedVersion(dendriteBinary: string): Promise<string> {
  const { stdout } = await promisify(execFile)(dendriteBinary, ['--version'], { timeout: 30_000 });
  return stdout.trim();
}

/** Installs (once; cached) and returns where. Throws a one-line CandidateError naming the failed step. */
export async function installDendrite(opts: DendriteInstallOptions): Promise<DendriteInstallation> {
  const version = checkDendriteVersion(opts.version);
  const paths = dendriteInstallPaths(opts.cacheDir, version);
  const result = { version, binDir: paths.binDir, dendrite: paths.dendrite };
  if (isDendriteInstalled(opts.cacheDir, version)) return result;

  mkdirSync(paths.root, { recursive: true });
  return withFileLock(paths.root, INSTALL_TIMEOUT_MS, async () => {
    // Another worker may have finished the install while this one waited for the lock.
    if (isDendriteInstalled(opts.cacheDir, version)) return result;
    rmSync(paths.marker, { force: true });
    rmSync(paths.binDir, { recursive: true, force: true });
    writeFileSync(paths.log, '');
    const go = opts.go ?? process.env.LAZYJOIN_GO ?? 'go';
    const name = `dendrite ${version} install`;
    try {
      await runToCompletion({
        name,
        command: go,
        args: ['install', ...DENDRITE_COMMANDS.map((cmd) => `${DENDRITE_MODULE}/cmd/${cmd}@${version}`)],
        cwd: paths.root,
        env: goInstallEnv(process.env, paths.binDir, paths.goDir),
        logPath: paths.log,
        timeoutMs: INSTALL_TIMEOUT_MS,
      });
    } catch (err) {
      if (err instanceof SpawnFailure && err.errno === 'ENOENT') {
        throw new CandidateError(`${name}: Go toolchain "${go}" not found (Dendrite needs Go >= 1.21; set LAZYJOIN_GO)`);
      }
      throw err;
    }
    const reported = await dendriteReportedVersion(paths.dendrite).catch((err: Error) => {
      throw new CandidateError(`${name}: built, but \`dendrite --version\` failed: ${err.message.split('\n')[0]}`);
    });
    const release = version.slice(1).replace(/-.*$/, '');
    if (reported !== release && !reported.startsWith(`${release}-`)) {
      throw new CandidateError(`${name}: built, but \`dendrite --version\` says ${reported}, expected ${version}`);
    }
    writeFileSync(paths.marker, expectedMarker(version));
    // The binaries are static; the ~1.3 GB of module and build caches are not needed any more.
    rmSync(paths.goDir, { recursive: true, force: true });
    return result;
  });
}
