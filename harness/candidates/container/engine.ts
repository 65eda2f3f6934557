/**
 * The container engine: Docker, or Podman through its Docker-compatible socket, reached by
 * testcontainers. Finds it (or says in one line why there is none), and removes every container
 * this process created when the process ends, by signal (Ctrl-C) too, even where testcontainers'
 * own reaper (Ryuk) is disabled, as it must be on Podman.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { getContainerRuntimeClient, type ContainerRuntimeClient } from 'testcontainers';
import { CandidateError } from '../types.ts';

/** Finding and pinging an engine is quick when there is one; a dead TCP host could hang instead. */
const ENGINE_PING_TIMEOUT_MS = 30_000;

/** Removing a container on the way out: bounded, since the process is ending (a forced removal took
 * seconds here, tens of seconds with the machine overloaded). */
const EXIT_REMOVAL_TIMEOUT_MS = 60_000;

/** Where `npm run images` records the Podman socket it started (see scripts/images.ts). */
export function podmanSocketRecord(cacheDir: string): string {
  return join(cacheDir, 'podman', 'docker-host');
}

/**
 * The DOCKER_HOST this process will use, and why. When DOCKER_HOST is unset and there is no
 * Docker socket, the Podman socket recorded by `npm run images` is adopted (with Ryuk disabled,
 * which Podman does not run).
 */
export function resolveDockerHost(cacheDir: string, env: NodeJS.ProcessEnv = process.env): { dockerHost?: string; source: string } {
  if (env.DOCKER_HOST) {
    const socket = unixSocketPath(env.DOCKER_HOST);
    if (socket !== undefined && !existsSync(socket)) {
      throw new CandidateError(
        `no container engine: DOCKER_HOST=${env.DOCKER_HOST} names a socket that does not exist (start Docker, or Podman's socket with \`npm run images\`)`,
      );
    }
    return { dockerHost: env.DOCKER_HOST, source: 'DOCKER_HOST' };
  }
  if (existsSync('/var/run/docker.sock')) return { source: 'the default Docker socket' };
  const record = podmanSocketRecord(cacheDir);
  if (existsSync(record)) {
    const dockerHost = readFileSync(record, 'utf8').trim();
    const socket = unixSocketPath(dockerHost);
    if (socket && existsSync(socket)) return { dockerHost, source: `the Podman socket started by \`npm run images\` (${record})` };
  }
  return { source: 'testcontainers discovery' };
}

function unixSocketPath(dockerHost: string): string | undefined {
  return dockerHost.startsWith('unix://') ? dockerHost.slice('unix://'.length) : undefined;
}

let engine: Promise<ContainerRuntimeClient> | undefined;

/** The engine client (one per process). Throws a one-line CandidateError when there is none. */
export function containerEngine(cacheDir: string): Promise<ContainerRuntimeClient> {
  engine ??= connect(cacheDir).catch((err: unknown) => {
    engine = undefined; // a later call may find an engine started meanwhile
    throw err;
  });
  return engine;
}

async function connect(cacheDir: string): Promise<ContainerRuntimeClient> {
  const { dockerHost, source } = resolveDockerHost(cacheDir);
  if (dockerHost && !process.env.DOCKER_HOST) {
    process.env.DOCKER_HOST = dockerHost;
    process.env.TESTCONTAINERS_RYUK_DISABLED ??= 'true';
  }
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ENGINE_PING_TIMEOUT_MS} ms`)), ENGINE_PING_TIMEOUT_MS);
  });
  try {
    return await Promise.race([getContainerRuntimeClient(), timeout]);
  } catch (err) {
    const where = dockerHost ? `DOCKER_HOST=${dockerHost} (from ${source})` : source;
    throw new CandidateError(`no container engine reachable through ${where}: ${(err as Error).message} (start Docker, or Podman's socket with \`npm run images\`)`);
  } finally {
    clearTimeout(timer);
  }
}

/** How to reach the engine's API without testcontainers, for removal on the way out. */
interface EngineAddress {
  socketPath?: string;
  host?: string;
  port?: number;
}

function engineAddress(client: ContainerRuntimeClient): EngineAddress {
  const modem = (client.container.dockerode as unknown as { modem?: Record<string, unknown> }).modem ?? {};
  return {
    socketPath: typeof modem.socketPath === 'string' ? modem.socketPath : undefined,
    host: typeof modem.host === 'string' ? modem.host : undefined,
    port: typeof modem.port === 'number' || typeof modem.port === 'string' ? Number(modem.port) : undefined,
  };
}

/** Containers created by this process and not removed yet, with how to reach their engine. */
const liveContainers = new Map<string, EngineAddress>();

/** Remembers a container for removal on exit (normal, signal or crash). */
export function trackContainer(client: ContainerRuntimeClient, id: string): void {
  installExitHooks();
  liveContainers.set(id, engineAddress(client));
}

export function untrackContainer(id: string): void {
  liveContainers.delete(id);
}

/** Ids of the containers this process still owns, for tests that check nothing was left behind. */
export function trackedContainerIds(): string[] {
  return [...liveContainers.keys()];
}

/**
 * Removes every tracked container synchronously: at exit nothing can be awaited, so a short-lived
 * Node child makes the API calls (DELETE /containers/{id}?force=true) and this process waits for it.
 * Plain HTTP only (a unix socket or tcp://): an engine behind TLS is left to Ryuk.
 */
function removeAllNow(): void {
  if (liveContainers.size === 0) return;
  const jobs = [...liveContainers].map(([id, address]) => ({ id, ...address }));
  liveContainers.clear();
  const script = `
    const http = require('node:http');
    const jobs = ${JSON.stringify(jobs)};
    Promise.all(jobs.map((j) => new Promise((done) => {
      const req = http.request({ socketPath: j.socketPath, host: j.host, port: j.port, method: 'DELETE',
        path: '/containers/' + j.id + '?force=true&v=true' }, (res) => { res.resume(); res.on('end', done); });
      req.on('error', done);
      req.end();
    })));`;
  spawnSync(process.execPath, ['-e', script], { stdio: 'ignore', timeout: EXIT_REMOVAL_TIMEOUT_MS });
}

let exitHooksInstalled = false;

function installExitHooks(): void {
  if (exitHooksInstalled) return;
  exitHooksInstalled = true;
  process.on('exit', removeAllNow);
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    // First in line, and once: after removing the containers this hook steps aside, and if no
    // other listener is left the signal is raised again so that it keeps its default meaning.
    // (A later listener that does the same check, like the process driver's, then sees itself
    // alone and does it.)
    const onSignal = (): void => {
      removeAllNow();
      process.removeListener(signal, onSignal);
      if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
    };
    process.prependListener(signal, onSignal);
  }
}
