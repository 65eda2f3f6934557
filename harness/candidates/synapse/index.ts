/**
 * The Synapse candidate: matrix-synapse from PyPI in a cached virtualenv, one process per
 * instance, SQLite (or PostgreSQL: env `LAZYJOIN_SYNAPSE_DATABASE=postgres`, or the
 * `synapse-postgres` candidate), client API over plain HTTP and federation over TLS on loopback.
 *
 * On PostgreSQL, each instance gets a fresh database on the harness's PostgreSQL service (one
 * server per test process, see ../postgres.ts), created at first start and dropped at teardown.
 */
import { rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { acquirePostgres, releaseDatabase, type PostgresService } from '../postgres.ts';
import { writeInstanceFiles } from '../process.ts';
import { ProcessCandidate, type Launch, type ProcessDriverOptions } from '../process-candidate.ts';
import type { ListenerPorts } from '../loopback.ts';
import type { Candidate, CandidateInfo } from '../types.ts';
import { checkSynapseLogLevel, synapseInstanceFiles, synapseInstancePaths, type SynapseLogLevel } from './config.ts';
import { DEFAULT_SYNAPSE_VERSION, SYNAPSE_1_98_VERSION, checkSynapseVersion, installSynapse } from './install.ts';
import { checkSynapseDatabase, installSynapsePostgresSupport, synapsePostgresDatabaseConfig, type SynapseDatabase } from './postgres.ts';

export interface SynapseDriverOptions extends ProcessDriverOptions {
  /** Interpreter used to create the virtualenv (default env `LAZYJOIN_PYTHON` or `python3.11`). */
  python?: string;
  /** Bound on the wait for health after spawning (default 90 s). */
  healthTimeoutMs?: number;
  /** Root log level (default env `LAZYJOIN_SYNAPSE_LOG_LEVEL`, else INFO). */
  logLevel?: string;
  /** `sqlite` or `postgres` (default env `LAZYJOIN_SYNAPSE_DATABASE`, else sqlite). */
  database?: string;
  /** Presence on (default off; for the few tests about presence, which start an instance of their own). */
  presence?: boolean;
}

/** Synapse's first start creates the whole SQLite schema: seconds, but slow on a busy machine. */
const DEFAULT_HEALTH_TIMEOUT_MS = 90_000;

export function createSynapse(opts: SynapseDriverOptions): Candidate {
  return new SynapseCandidate(opts);
}

/**
 * Synapse 1.98.0, the last Apache-2.0 release, as a project of its own (`synapse-1.98`): the same
 * driver with the version fixed, whatever `LAZYJOIN_SYNAPSE_VERSION` says.
 */
export function createSynapse198(opts: SynapseDriverOptions): Candidate {
  return new SynapseCandidate({ ...opts, version: SYNAPSE_1_98_VERSION }, 'synapse-1.98');
}

/** Synapse on PostgreSQL whatever `LAZYJOIN_SYNAPSE_DATABASE` says (the `synapse-postgres` candidate). */
export function createSynapsePostgres(opts: SynapseDriverOptions): Candidate {
  return new SynapseCandidate({ ...opts, database: 'postgres' }, 'synapse-postgres');
}

class SynapseCandidate extends ProcessCandidate {
  readonly info: CandidateInfo;
  protected readonly healthPath = '/health';
  private readonly python?: string;
  private readonly presence: boolean;
  private readonly logLevel: SynapseLogLevel;
  private configPath?: string;
  readonly database: SynapseDatabase;
  private postgres?: PostgresService;

  constructor(opts: SynapseDriverOptions, name = 'synapse') {
    // Bad input is refused before anything touches the disk.
    const version = checkSynapseVersion(opts.version ?? process.env.LAZYJOIN_SYNAPSE_VERSION ?? DEFAULT_SYNAPSE_VERSION);
    const logLevel = checkSynapseLogLevel(opts.logLevel ?? process.env.LAZYJOIN_SYNAPSE_LOG_LEVEL ?? 'INFO');
    const database = checkSynapseDatabase(opts.database ?? process.env.LAZYJOIN_SYNAPSE_DATABASE ?? 'sqlite');
    super(opts, join(opts.workDir, 'synapse.log'), DEFAULT_HEALTH_TIMEOUT_MS);
    this.info = { name, implementation: 'synapse', version, driver: 'process', database };
    this.database = database;
    this.logLevel = logLevel;
    this.python = opts.python;
    this.presence = opts.presence ?? false;
  }

  protected async prepareLaunch(ports: ListenerPorts): Promise<Launch> {
    const install = await installSynapse({ cacheDir: this.opts.cacheDir, version: this.info.version, python: this.python });
    if (this.database === 'postgres') await installSynapsePostgresSupport(this.opts.cacheDir, install);
    this.configPath ??= await this.writeConfig(ports);
    return {
      command: install.python,
      args: ['-m', 'synapse.app.homeserver', '-c', this.configPath],
      env: { ...process.env, PYTHONUNBUFFERED: '1' },
    };
  }

  /** Writes config, log config, signing key and TLS files once; restarts reuse them. */
  private async writeConfig(ports: ListenerPorts): Promise<string> {
    let database: Record<string, unknown> | undefined;
    if (this.database === 'postgres') {
      // The service lives next to the instance folders, in the run folder.
      this.postgres ??= await acquirePostgres(dirname(this.opts.workDir));
      database = synapsePostgresDatabaseConfig(await this.postgres.createDatabase(this.opts.instanceName));
    }
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
        database,
        presence: this.presence,
      }),
    );
    return synapseInstancePaths(this.opts.workDir).config;
  }

  override async teardown(): Promise<void> {
    await super.teardown();
    const postgres = this.postgres;
    this.postgres = undefined;
    this.configPath = undefined;
    await releaseDatabase(postgres, this.opts.instanceName);
  }

  protected removeData(): void {
    for (const suffix of ['', '-wal', '-shm', '-journal']) rmSync(join(this.opts.workDir, `homeserver.db${suffix}`), { force: true });
    rmSync(join(this.opts.workDir, 'media_store'), { recursive: true, force: true });
  }
}
