/**
 * `npm run images [-- synapse dendrite] [--bases=local|upstream]`: prepares the candidate images of
 * `docker/` for the container driver, on a machine where no image registry may be reachable.
 *
 * 1. Engine: Docker if its socket is there; otherwise Podman, whose Docker-compatible socket is
 *    started in `<cache>/podman/` (runc runtime, modest default ulimits, from a containers.conf of
 *    its own: nothing on the machine is reconfigured) and recorded for the container driver.
 * 2. Bases (`--bases=local`, the default with Podman): a Debian bookworm root made by debootstrap
 *    from the machine's apt mirror, trusting the machine's extra CAs, imported as
 *    `lazyjoin-base`; the same root plus the machine's Go toolchain as `lazyjoin-go`. Both are
 *    keyed by the day and a hash of their inputs, so they are built once a day at most.
 *    `--bases=upstream` (the default with Docker) uses python/golang/debian images from Docker Hub.
 * 3. Candidate images (`localhost/lazyjoin-synapse:<version>`, `localhost/lazyjoin-dendrite:<version>`),
 *    rebuilt only when their inputs (Containerfile, copied files, build arguments) changed.
 *
 * Prints each step's time and the environment to use. Versions: LAZYJOIN_SYNAPSE_VERSION and
 * LAZYJOIN_DENDRITE_VERSION, as for the process driver.
 */
import { execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { join } from 'node:path';
import { podmanSocketRecord } from '../harness/candidates/container/engine.ts';
import {
  UPSTREAM_BASES,
  dendriteImage,
  inputsHash,
  recordBases,
  synapseImage,
  type BaseImages,
  type ImageDefinition,
} from '../harness/candidates/container/images.ts';
import { DEFAULT_DENDRITE_VERSION } from '../harness/candidates/dendrite/install.ts';
import { defaultCacheDir } from '../harness/candidates/index.ts';
import { runToCompletion } from '../harness/candidates/process.ts';
import { SYNAPSE_CONTAINER_VERSION } from '../harness/candidates/synapse/install.ts';
import { CandidateError } from '../harness/candidates/types.ts';

const KNOWN = ['synapse', 'dendrite'] as const;
type Known = (typeof KNOWN)[number];

/** Bounds: debootstrap took 15 s to 3 min here; a cold Dendrite build 2 to 5 min. */
const DEBOOTSTRAP_TIMEOUT_MS = 10 * 60_000;
const BUILD_TIMEOUT_MS = 20 * 60_000;
const SOCKET_READY_TIMEOUT_MS = 30_000;

/** What the local base holds: python3 is 3.11 on bookworm, as Synapse's process driver uses. */
const BASE_PACKAGES = ['ca-certificates', 'python3', 'python3-venv'];
const DEBIAN_SUITE = 'bookworm';
const PATH_ENV = 'PATH=/usr/local/go/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
/** Where a Debian machine keeps the extra CAs it trusts (e.g. an egress proxy's). */
const LOCAL_CA_DIR = '/usr/local/share/ca-certificates';

interface Engine {
  cli: 'podman' | 'docker';
  /** Environment of every engine command (Podman: its own containers.conf). */
  env: NodeJS.ProcessEnv;
  /** What the suite must set to reach this engine, if anything. */
  exports: Record<string, string>;
}

function usage(message: string): never {
  console.error(`images: ${message}\nusage: npm run images [-- ${KNOWN.join(' ')}] [--bases=local|upstream]`);
  process.exit(2);
}

function parseArgs(argv: string[]): { candidates: Known[]; bases?: 'local' | 'upstream' } {
  const candidates: Known[] = [];
  let bases: 'local' | 'upstream' | undefined;
  for (const arg of argv) {
    if (arg.startsWith('--bases=')) {
      const value = arg.slice('--bases='.length);
      if (value !== 'local' && value !== 'upstream') usage(`--bases must be local or upstream, not "${value}"`);
      bases = value;
    } else if ((KNOWN as readonly string[]).includes(arg)) {
      candidates.push(arg as Known);
    } else {
      usage(`unknown argument "${arg}"`);
    }
  }
  return { candidates: candidates.length ? candidates : [...KNOWN], bases };
}

function onPath(command: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** GET /_ping on a unix socket: true when the engine answers OK. */
function pings(socketPath: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = httpRequest({ socketPath, path: '/_ping', timeout: 2_000 }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on('error', () => resolve(false));
    req.on('timeout', () => req.destroy());
    req.end();
  });
}

async function timed<T>(label: string, work: () => Promise<T>): Promise<T> {
  const started = Date.now();
  const result = await work();
  const outcome = typeof result === 'string' ? result : 'done';
  console.log(`${label}: ${outcome} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  return result;
}

async function findEngine(cacheDir: string): Promise<Engine> {
  // Docker when its daemon is there (a DOCKER_HOST of its own, or the default socket), even if
  // podman is installed too, as on GitHub's runners.
  const dockerHost = process.env.DOCKER_HOST;
  const dockerReachable = dockerHost ? !dockerHost.startsWith('unix://') || existsSync(dockerHost.slice(7)) : existsSync('/var/run/docker.sock');
  if (dockerReachable && onPath('docker')) return { cli: 'docker', env: process.env, exports: {} };
  if (!onPath('podman')) {
    throw new CandidateError('no container engine: no Docker socket and no podman on PATH (install Docker, or `apt-get install podman runc`)');
  }
  const podmanDir = join(cacheDir, 'podman');
  mkdirSync(podmanDir, { recursive: true });
  const conf = join(podmanDir, 'containers.conf');
  // runc (crun is not in Debian 12), and ulimits that an unprivileged container can be given.
  writeFileSync(conf, '[containers]\ndefault_ulimits = ["nofile=1024:1024", "nproc=1024:1024"]\n\n[engine]\nruntime = "runc"\n');
  const env = { ...process.env, CONTAINERS_CONF: conf };
  const socket = join(podmanDir, 'podman.sock');
  if (!(await pings(socket))) {
    rmSync(socket, { force: true });
    const log = openSync(join(podmanDir, 'service.log'), 'a');
    // Detached and left running on purpose: the suite's workers use it after this script ends. Its
    // working directory is the cache folder, which outlives any checkout: conmon, started by the
    // service for every container, inherits it and fails if it has gone.
    const service = spawn('podman', ['system', 'service', '--time=0', `unix://${socket}`], { env, cwd: podmanDir, detached: true, stdio: ['ignore', log, log] });
    service.unref();
    const deadline = Date.now() + SOCKET_READY_TIMEOUT_MS;
    while (!(await pings(socket))) {
      if (Date.now() > deadline) throw new CandidateError(`podman system service did not answer on ${socket} within ${SOCKET_READY_TIMEOUT_MS} ms (see ${podmanDir}/service.log)`);
      await new Promise((r) => setTimeout(r, 200));
    }
    console.log(`podman socket: started (pid ${service.pid}) at ${socket}`);
  } else {
    console.log(`podman socket: already running at ${socket}`);
  }
  writeFileSync(podmanSocketRecord(cacheDir), `unix://${socket}\n`);
  return { cli: 'podman', env, exports: { DOCKER_HOST: `unix://${socket}`, TESTCONTAINERS_RYUK_DISABLED: 'true' } };
}

function engineOutput(engine: Engine, args: string[]): string | undefined {
  try {
    return execFileSync(engine.cli, args, { env: engine.env, stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim();
  } catch {
    return undefined;
  }
}

function imageExists(engine: Engine, tag: string): boolean {
  return engineOutput(engine, ['image', 'inspect', '--format', '{{.Id}}', tag]) !== undefined;
}

/** The Debian mirror apt uses on this machine (LAZYJOIN_DEBIAN_MIRROR overrides). */
function debianMirror(): string {
  if (process.env.LAZYJOIN_DEBIAN_MIRROR) return process.env.LAZYJOIN_DEBIAN_MIRROR;
  const texts = ['/etc/apt/sources.list', ...listDir('/etc/apt/sources.list.d').map((f) => `/etc/apt/sources.list.d/${f}`)]
    .filter((f) => /\.(list|sources)$/.test(f) && existsSync(f))
    .map((f) => readFileSync(f, 'utf8'));
  for (const text of texts) {
    const url = /^(?:URIs:\s*|deb\s+(?:\[[^\]]*\]\s+)?)(\S+\/debian)\/?\s*$/m.exec(text)?.[1] ?? /^deb\s+(?:\[[^\]]*\]\s+)?(\S+\/debian)\s+bookworm\b/m.exec(text)?.[1];
    if (url) return url;
  }
  throw new CandidateError('no Debian mirror found in /etc/apt/sources.list*: set LAZYJOIN_DEBIAN_MIRROR');
}

function listDir(dir: string): string[] {
  return existsSync(dir) ? readdirSync(dir).sort() : [];
}

function goRoot(): string | undefined {
  try {
    return execFileSync('go', ['env', 'GOROOT'], { stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim();
  } catch {
    return undefined;
  }
}

/** Local bases, once a day per set of inputs; the Go image only when Dendrite is asked for. */
async function localBases(engine: Engine, cacheDir: string, withGo: boolean): Promise<BaseImages> {
  const mirror = debianMirror();
  const localCAs = listDir(LOCAL_CA_DIR).filter((f) => f.endsWith('.crt'));
  const inputs = createHash('sha256').update(JSON.stringify({ mirror, suite: DEBIAN_SUITE, packages: BASE_PACKAGES }));
  for (const ca of localCAs) inputs.update(readFileSync(join(LOCAL_CA_DIR, ca)));
  const day = new Date().toISOString().slice(0, 10).replaceAll('-', '');
  const key = `${DEBIAN_SUITE}-${day}-${inputs.digest('hex').slice(0, 8)}`;
  const base = `localhost/lazyjoin-base:${key}`;
  const goroot = withGo ? goRoot() : undefined;
  if (withGo && !goroot) throw new CandidateError('the local Go image needs a Go toolchain (>= 1.21) on PATH; or use --bases=upstream');
  const goVersion = goroot ? readFileSync(join(goroot, 'VERSION'), 'utf8').split('\n')[0] : undefined;
  const go = goVersion ? `localhost/lazyjoin-go:${goVersion}-${key}` : UPSTREAM_BASES.go;

  const needBase = !imageExists(engine, base);
  const needGo = withGo && !imageExists(engine, go);
  if (!needBase && !needGo) {
    console.log(`base images: cached (${base}${withGo ? `, ${go}` : ''})`);
    return { python: base, debian: base, go };
  }
  if (process.getuid?.() !== 0) throw new CandidateError('building the local base image runs debootstrap, which needs root; or use --bases=upstream');
  if (!onPath('debootstrap')) throw new CandidateError('debootstrap not found (apt-get install debootstrap); or use --bases=upstream');

  const work = join(cacheDir, 'images');
  const root = join(work, `rootfs-${key}`);
  const log = join(work, `base-${key}.log`);
  mkdirSync(work, { recursive: true });
  rmSync(root, { recursive: true, force: true });
  writeFileSync(log, '');
  try {
    await timed(`debootstrap ${DEBIAN_SUITE} from ${mirror}`, () =>
      runToCompletion({
        name: 'base image',
        command: 'debootstrap',
        args: ['--variant=minbase', `--include=${BASE_PACKAGES.join(',')}`, DEBIAN_SUITE, root, mirror],
        logPath: log,
        timeoutMs: DEBOOTSTRAP_TIMEOUT_MS,
      }),
    );
    // Builds inside the image reach PyPI and the Go proxy as this machine does: through the CAs it trusts.
    for (const ca of localCAs) cpSync(join(LOCAL_CA_DIR, ca), join(root, LOCAL_CA_DIR, ca));
    await runToCompletion({ name: 'base image', command: 'chroot', args: [root, 'update-ca-certificates'], logPath: log, timeoutMs: 60_000 });
    await timed(`import ${base}`, () => importRoot(engine, root, base, log));
    if (goroot) {
      cpSync(goroot, join(root, 'usr', 'local', 'go'), { recursive: true });
      await timed(`import ${go}`, () => importRoot(engine, root, go, log));
    }
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
  return { python: base, debian: base, go };
}

/** `tar -C root -c . | <engine> import - tag`, with a PATH that finds python3 and go. */
function importRoot(engine: Engine, root: string, tag: string, logPath: string): Promise<void> {
  return runToCompletion({
    name: `import ${tag}`,
    command: 'sh',
    args: ['-c', `tar -C "$1" -c . | ${engine.cli} import --change "ENV ${PATH_ENV}" - "$2"`, 'import', root, tag],
    env: engine.env,
    logPath,
    timeoutMs: BUILD_TIMEOUT_MS,
  });
}

async function buildCandidate(engine: Engine, def: ImageDefinition, cacheDir: string): Promise<string> {
  const inputs = inputsHash(def);
  const existing = engineOutput(engine, ['image', 'inspect', '--format', '{{index .Config.Labels "io.lazyjoin.inputs"}}', def.tag]);
  if (existing === inputs) return 'cached';
  const log = join(cacheDir, 'images', `${def.kind}-${def.version}.log`);
  mkdirSync(join(cacheDir, 'images'), { recursive: true });
  writeFileSync(log, '');
  await runToCompletion({
    name: `build ${def.tag}`,
    command: engine.cli,
    args: [
      'build',
      '--network', 'host',
      '-f', join(def.context, def.containerfile),
      ...Object.entries(def.buildArgs).flatMap(([k, v]) => ['--build-arg', `${k}=${v}`]),
      '--label', `io.lazyjoin.inputs=${inputs}`,
      '-t', def.tag,
      def.context,
    ],
    env: engine.env,
    logPath: log,
    timeoutMs: BUILD_TIMEOUT_MS,
  });
  return `built (log ${log})`;
}

async function main(): Promise<void> {
  const { candidates, bases: basesChoice } = parseArgs(process.argv.slice(2));
  const cacheDir = defaultCacheDir();
  const engine = await findEngine(cacheDir);
  const useLocal = (basesChoice ?? (engine.cli === 'podman' ? 'local' : 'upstream')) === 'local';
  const bases: BaseImages = useLocal ? await localBases(engine, cacheDir, candidates.includes('dendrite')) : { ...UPSTREAM_BASES };
  recordBases(cacheDir, bases);
  const definitions = candidates.map((c) =>
    c === 'synapse'
      ? synapseImage(process.env.LAZYJOIN_SYNAPSE_VERSION ?? SYNAPSE_CONTAINER_VERSION, bases)
      : dendriteImage(process.env.LAZYJOIN_DENDRITE_VERSION ?? DEFAULT_DENDRITE_VERSION, bases),
  );
  for (const def of definitions) await timed(def.tag, () => buildCandidate(engine, def, cacheDir));
  const exports = Object.entries(engine.exports);
  console.log(
    exports.length
      ? `\nThe container driver finds this engine by itself; to use it from other tools:\n${exports.map(([k, v]) => `  export ${k}=${v}`).join('\n')}`
      : '\nEngine: Docker at its default socket.',
  );
}

main().catch((err: unknown) => {
  console.error(`images: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
