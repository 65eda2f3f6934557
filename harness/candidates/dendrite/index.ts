/**
 * The Dendrite candidate: the matrix-org/dendrite monolith built with `go install` into a cached
 * folder, one process per instance, SQLite and JetStream in the instance folder, client API over
 * plain HTTP and federation over TLS on loopback (both listeners serve every API; the suite uses
 * each for its own).
 */
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { writeInstanceFiles } from '../process.ts';
import { ProcessCandidate, type Launch, type ProcessDriverOptions } from '../process-candidate.ts';
import type { ListenerPorts } from '../loopback.ts';
import type { Candidate, CandidateInfo } from '../types.ts';
import { DENDRITE_DATABASES, checkDendriteLogLevel, dendriteArgs, dendriteEnv, dendriteInstanceFiles, dendriteInstancePaths } from './config.ts';
import { DEFAULT_DENDRITE_VERSION, checkDendriteVersion, installDendrite } from './install.ts';

export interface DendriteDriverOptions extends ProcessDriverOptions {
  /** The Go toolchain used to install (default env `LAZYJOIN_GO`, else `go` on PATH). */
  go?: string;
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

class DendriteCandidate extends ProcessCandidate {
  readonly info: CandidateInfo;
  protected readonly healthPath = '/_matrix/client/versions';
  private readonly files: ReturnType<typeof instanceFiles>;
  private readonly go?: string;
  private readonly jetstreamInMemory?: boolean;
  private readonly logLevel: string;
  private configWritten = false;

  constructor(opts: DendriteDriverOptions) {
    // Bad input is refused before anything touches the disk.
    const version = checkDendriteVersion(opts.version ?? process.env.LAZYJOIN_DENDRITE_VERSION ?? DEFAULT_DENDRITE_VERSION);
    const logLevel = checkDendriteLogLevel(opts.logLevel ?? process.env.LAZYJOIN_DENDRITE_LOG_LEVEL ?? 'info');
    const files = instanceFiles(opts.workDir);
    super(opts, files.log, DEFAULT_HEALTH_TIMEOUT_MS);
    this.info = { name: 'dendrite', implementation: 'dendrite', version, driver: 'process' };
    this.logLevel = logLevel;
    this.files = files;
    this.go = opts.go;
    this.jetstreamInMemory = opts.jetstreamInMemory;
  }

  protected async prepareLaunch(ports: ListenerPorts): Promise<Launch> {
    const install = await installDendrite({ cacheDir: this.opts.cacheDir, version: this.info.version, go: this.go });
    if (!this.configWritten) await this.writeConfig();
    return {
      command: install.dendrite,
      args: dendriteArgs({
        configPath: this.files.config,
        clientPort: ports.client,
        federationPort: ports.federation,
        tlsCertPath: this.files.tlsCert,
        tlsKeyPath: this.files.tlsKey,
      }),
      env: dendriteEnv(process.env, this.opts.caCertPath, this.files.emptyCertDir),
    };
  }

  /** Writes config, signing key and TLS files once; restarts reuse them. */
  private async writeConfig(): Promise<void> {
    writeInstanceFiles(
      dendriteInstanceFiles({
        serverName: this.serverName,
        dir: this.opts.workDir,
        tls: await this.opts.issueCert(['127.0.0.1']),
        registrationSharedSecret: this.sharedSecret,
        jetstreamInMemory: this.jetstreamInMemory,
        logLevel: this.logLevel,
      }),
    );
    mkdirSync(this.files.emptyCertDir, { recursive: true });
    this.configWritten = true;
  }

  protected removeData(): void {
    for (const db of Object.values(DENDRITE_DATABASES)) {
      for (const suffix of ['', '-wal', '-shm', '-journal']) rmSync(join(this.opts.workDir, `dendrite_${db}.db${suffix}`), { force: true });
    }
    for (const dir of [this.files.jetstream, this.files.media]) rmSync(dir, { recursive: true, force: true });
  }
}
