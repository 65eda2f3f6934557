/**
 * The Synapse candidate: matrix-synapse from PyPI in a cached virtualenv, one process per
 * instance, SQLite, client API over plain HTTP and federation over TLS on loopback.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { Agent } from 'undici';
import { registerWithSharedSecret, freshLocalpart } from '../shared-secret-registration.ts';
import { ManagedProcess, assertPortFree, freePort, fileTail, writeInstanceFiles } from '../process.ts';
import { CandidateError, type Candidate, type CandidateExit, type CandidateUser, type DriverOptions } from '../types.ts';
import { checkSynapseLogLevel, synapseInstanceFiles, synapseInstancePaths, type SynapseLogLevel } from './config.ts';
import { DEFAULT_SYNAPSE_VERSION, checkSynapseVersion, installSynapse } from './install.ts';

export interface SynapseDriverOptions extends DriverOptions {
  /** Interpreter used to create the virtualenv (default env `LAZYJOIN_PYTHON` or `python3.11`). */
  python?: string;
  /** Fixed ports instead of free ones picked at start. */
  clientPort?: number;
  federationPort?: number;
  /** Bound on the wait for health after spawning (default 90 s). */
  healthTimeoutMs?: number;
  /** Root log level (default env `LAZYJOIN_SYNAPSE_LOG_LEVEL`, else INFO). */
  logLevel?: string;
}

/** Synapse's first start creates the whole SQLite schema: seconds, but slow on a busy machine. */
const DEFAULT_HEALTH_TIMEOUT_MS = 90_000;

export function createSynapse(opts: SynapseDriverOptions): Candidate {
  return new SynapseCandidate(opts);
}

class SynapseCandidate implements Candidate {
  readonly info;
  readonly capabilities = { restart: true, admin: true };
  private readonly logPath: string;
  private readonly logLevel: SynapseLogLevel;
  private readonly sharedSecret = randomBytes(24).toString('hex');
  private ports?: { client: number; federation: number };
  private configPath?: string;
  private process?: ManagedProcess;
  private starting?: Promise<void>;

  constructor(private readonly opts: SynapseDriverOptions) {
    const version = checkSynapseVersion(opts.version ?? process.env.LAZYJOIN_SYNAPSE_VERSION ?? DEFAULT_SYNAPSE_VERSION);
    this.info = { name: 'synapse', implementation: 'synapse', version, driver: 'process' };
    this.logLevel = checkSynapseLogLevel(opts.logLevel ?? process.env.LAZYJOIN_SYNAPSE_LOG_LEVEL ?? 'INFO');
    mkdirSync(opts.workDir, { recursive: true });
    this.logPath = join(opts.workDir, 'synapse.log');
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
    // Ports come first: a taken fixed port is reported before any slow install.
    this.ports ??= {
      client: this.opts.clientPort ?? (await freePort()),
      federation: this.opts.federationPort ?? (await freePort()),
    };
    await assertPortFree(this.ports.client, '127.0.0.1', `${this.name} client listener`);
    await assertPortFree(this.ports.federation, '127.0.0.1', `${this.name} federation listener`);

    const install = await installSynapse({ cacheDir: this.opts.cacheDir, version: this.info.version, python: this.opts.python });
    this.configPath ??= await this.writeConfig();

    this.process = await ManagedProcess.spawn({
      name: this.name,
      command: install.python,
      args: ['-m', 'synapse.app.homeserver', '-c', this.configPath],
      cwd: this.opts.workDir,
      env: { ...process.env, PYTHONUNBUFFERED: '1' },
      logPath: this.logPath,
    });
    const timeoutMs = this.opts.healthTimeoutMs ?? DEFAULT_HEALTH_TIMEOUT_MS;
    const deadline = Date.now() + timeoutMs;
    await this.process.waitForHealth(`${this.clientUrl}/health`, { timeoutMs });
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

  /** Writes config, log config, signing key and TLS files once; restarts reuse them. */
  private async writeConfig(): Promise<string> {
    const ports = this.requirePorts();
    writeInstanceFiles(
      synapseInstanceFiles({
        serverName: this.serverName,
        clientPort: ports.client,
        federationPort: ports.federation,
        dir: this.opts.workDir,
        caCertPath: this.opts.caCertPath,
        tls: await this.opts.issueCert(['127.0.0.1']),
        registrationSharedSecret: this.sharedSecret,
        logLevel: this.logLevel,
      }),
    );
    return synapseInstancePaths(this.opts.workDir).config;
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
    // Keep the log for the report; drop the bulky data.
    for (const suffix of ['', '-wal', '-shm', '-journal']) rmSync(join(this.opts.workDir, `homeserver.db${suffix}`), { force: true });
    rmSync(join(this.opts.workDir, 'media_store'), { recursive: true, force: true });
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
    return fileTail(this.logPath, lines);
  }
}
