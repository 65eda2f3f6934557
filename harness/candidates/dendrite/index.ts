/**
 * The Dendrite candidate: the matrix-org/dendrite monolith built with `go install` into a cached
 * folder, one process per instance, SQLite and JetStream in the instance folder, client API over
 * plain HTTP and federation over TLS on loopback (both listeners serve every API; the suite uses
 * each for its own).
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { Agent } from 'undici';
import { ManagedProcess, assertPortFree, fileTail, freePort, writeInstanceFiles } from '../process.ts';
import { freshLocalpart, registerWithSharedSecret } from '../shared-secret-registration.ts';
import { CandidateError, type Candidate, type CandidateExit, type CandidateUser, type DriverOptions } from '../types.ts';
import { DENDRITE_DATABASES, checkDendriteLogLevel, dendriteArgs, dendriteEnv, dendriteInstanceFiles, dendriteInstancePaths } from './config.ts';
import { DEFAULT_DENDRITE_VERSION, checkDendriteVersion, installDendrite } from './install.ts';

export interface DendriteDriverOptions extends DriverOptions {
  /** The Go toolchain used to install (default env `LAZYJOIN_GO`, else `go` on PATH). */
  go?: string;
  /** Fixed ports instead of free ones picked at start. */
  clientPort?: number;
  federationPort?: number;
  /** Bound on the wait for health after spawning (default 60 s). */
  healthTimeoutMs?: number;
  /** See DendriteConfigInput.jetstreamInMemory (default false: restarts keep queued work). */
  jetstreamInMemory?: boolean;
  /** logrus level (default env `LAZYJOIN_DENDRITE_LOG_LEVEL`, else `info`). */
  logLevel?: string;
}

/** A first start creates every SQLite schema: a few seconds, more on a busy machine. */
const DEFAULT_HEALTH_TIMEOUT_MS = 60_000;

/**
 * The instance folder's files (those the config generator writes, the log, and what the server
 * makes), fixed so that a restart finds the same data.
 */
function instanceFiles(workDir: string) {
  return {
    ...dendriteInstancePaths(workDir),
    log: join(workDir, 'dendrite.log'),
    jetstream: join(workDir, 'jetstream'),
    media: join(workDir, 'media'),
  };
}

export function createDendrite(opts: DendriteDriverOptions): Candidate {
  return new DendriteCandidate(opts);
}

class DendriteCandidate implements Candidate {
  readonly info;
  readonly capabilities = { restart: true, admin: true };
  private readonly files;
  private readonly logLevel: string;
  private readonly sharedSecret = randomBytes(24).toString('hex');
  private ports?: { client: number; federation: number };
  private configWritten = false;
  private process?: ManagedProcess;
  private starting?: Promise<void>;

  constructor(private readonly opts: DendriteDriverOptions) {
    const version = checkDendriteVersion(opts.version ?? process.env.LAZYJOIN_DENDRITE_VERSION ?? DEFAULT_DENDRITE_VERSION);
    this.info = { name: 'dendrite', implementation: 'dendrite', version, driver: 'process' };
    this.logLevel = checkDendriteLogLevel(opts.logLevel ?? process.env.LAZYJOIN_DENDRITE_LOG_LEVEL ?? 'info');
    mkdirSync(opts.workDir, { recursive: true });
    this.files = instanceFiles(opts.workDir);
  }

  private get name(): string {
    return this.opts.instanceName;
  }

  get serverName(): string {
    return `127.0.0.1:${this.requirePorts().federation}`;
  }

  get clientUrl(): string {
    return `http://127.0.0.1:${this.requirePorts().client}`;
  }

  get federationUrl(): string {
    return `https://127.0.0.1:${this.requirePorts().federation}`;
  }

  private requirePorts(): { client: number; federation: number } {
    if (!this.ports) throw new CandidateError(`${this.name}: not started yet, so it has no ports`);
    return this.ports;
  }

  start(): Promise<void> {
    if (this.process?.running) return Promise.resolve();
    this.starting ??= this.doStart().finally(() => (this.starting = undefined));
    return this.starting;
  }

  private async doStart(): Promise<void> {
    // Ports come first: a taken fixed port is reported before any slow install. They are kept
    // across restarts, since the server name (and so every stored ID) contains the federation port.
    this.ports ??= {
      client: this.opts.clientPort ?? (await freePort()),
      federation: this.opts.federationPort ?? (await freePort()),
    };
    await assertPortFree(this.ports.client, '127.0.0.1', `${this.name} client listener`);
    await assertPortFree(this.ports.federation, '127.0.0.1', `${this.name} federation listener`);

    const install = await installDendrite({ cacheDir: this.opts.cacheDir, version: this.info.version, go: this.opts.go });
    if (!this.configWritten) await this.writeConfig();

    this.process = await ManagedProcess.spawn({
      name: this.name,
      command: install.dendrite,
      args: dendriteArgs({
        configPath: this.files.config,
        clientPort: this.ports.client,
        federationPort: this.ports.federation,
        tlsCertPath: this.files.tlsCert,
        tlsKeyPath: this.files.tlsKey,
      }),
      cwd: this.opts.workDir,
      env: dendriteEnv(process.env, this.opts.caCertPath, this.files.emptyCertDir),
      logPath: this.files.log,
    });
    const timeoutMs = this.opts.healthTimeoutMs ?? DEFAULT_HEALTH_TIMEOUT_MS;
    const deadline = Date.now() + timeoutMs;
    await this.process.waitForHealth(`${this.clientUrl}/_matrix/client/versions`, { timeoutMs });
    // The federation listener must answer over TLS with a certificate the suite CA vouches for.
    const trustingSuiteCA = new Agent({ connect: { ca: readFileSync(this.opts.caCertPath) } });
    try {
      await this.process.waitForHealth(`${this.federationUrl}/_matrix/key/v2/server`, {
        timeoutMs: Math.max(1_000, deadline - Date.now()),
        dispatcher: trustingSuiteCA,
      });
    } finally {
      await trustingSuiteCA.close();
    }
  }

  /** Writes config, signing key and TLS files once; restarts reuse them. */
  private async writeConfig(): Promise<void> {
    writeInstanceFiles(
      dendriteInstanceFiles({
        serverName: this.serverName,
        dir: this.opts.workDir,
        tls: await this.opts.issueCert(['127.0.0.1']),
        registrationSharedSecret: this.sharedSecret,
        jetstreamInMemory: this.opts.jetstreamInMemory,
        logLevel: this.logLevel,
      }),
    );
    mkdirSync(this.files.emptyCertDir, { recursive: true });
    this.configWritten = true;
  }

  async stop(): Promise<void> {
    await this.starting?.catch(() => undefined);
    await this.process?.stop();
    // Stopped on purpose: not an exit to report (see unexpectedExit).
    this.process = undefined;
  }

  async unexpectedExit(): Promise<CandidateExit | undefined> {
    return this.process?.exit;
  }

  async restart(): Promise<void> {
    await this.stop();
    await this.start();
  }

  async teardown(): Promise<void> {
    await this.stop();
    // Keep the log and config for the report; drop the bulky data.
    for (const db of Object.values(DENDRITE_DATABASES)) {
      for (const suffix of ['', '-wal', '-shm', '-journal']) rmSync(join(this.opts.workDir, `dendrite_${db}.db${suffix}`), { force: true });
    }
    for (const dir of [this.files.jetstream, this.files.media]) rmSync(dir, { recursive: true, force: true });
  }

  async registerUser(localpart?: string, opts: { admin?: boolean; displayName?: string } = {}): Promise<CandidateUser> {
    if (!this.process?.running) throw new CandidateError(`${this.name}: registerUser called while not running`, this.logTail());
    return registerWithSharedSecret({
      clientUrl: this.clientUrl,
      sharedSecret: this.sharedSecret,
      localpart: localpart ?? freshLocalpart(),
      admin: opts.admin,
      displayName: opts.displayName,
      candidate: this.name,
    });
  }

  logTail(lines = 40): string {
    return fileTail(this.files.log, lines);
  }
}
