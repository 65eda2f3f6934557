/**
 * The Palpo candidate: the `palpo` crate built with cargo into a cached folder, one process per
 * instance, a PostgreSQL database per instance (on the harness's PostgreSQL service, one server
 * per test process, see ../postgres.ts; made at first start, dropped at teardown), one TLS
 * listener on loopback.
 *
 * Palpo serves the client and federation APIs on a single listener, and with TLS on, only over
 * TLS. Remotes reach it there directly (`federationUrl`); the suite's client API calls go to a
 * second loopback port whose connections are carried over TLS to that same listener (a
 * {@link TlsBridge}), so `clientUrl` stays plain HTTP like every other local candidate's.
 *
 * Users are registered with a registration token (Palpo has no shared-secret registration); an
 * admin user is a registered user whose `users.is_admin` flag the driver sets in the database,
 * which is where Palpo 0.0.2 keeps it (it has no API that grants it).
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { acquirePostgres, releaseDatabase, type PostgresService } from '../postgres.ts';
import { writeInstanceFiles } from '../process.ts';
import { ProcessCandidate, type Launch, type ProcessDriverOptions } from '../process-candidate.ts';
import type { ListenerPorts } from '../loopback.ts';
import { freshLocalpart } from '../shared-secret-registration.ts';
import { TlsBridge } from '../tls-bridge.ts';
import { registerWithToken } from '../token-registration.ts';
import { CandidateError, type Candidate, type CandidateInfo, type CandidateUser } from '../types.ts';
import { checkPalpoLogFilter, palpoEnv, palpoInstanceFiles, palpoInstancePaths } from './config.ts';
import { makeAdmin } from './database.ts';
import { DEFAULT_PALPO_VERSION, checkPalpoVersion, installPalpo } from './install.ts';

export interface PalpoDriverOptions extends ProcessDriverOptions {
  /** tracing filter (default env `LAZYJOIN_PALPO_LOG`, else `info`). */
  logFilter?: string;
}

/** A first start runs every schema migration against PostgreSQL: seconds, more on a busy machine. */
const DEFAULT_HEALTH_TIMEOUT_MS = 90_000;

/**
 * A build started by a test's fixture must end within the fixture's 15-minute setup bound, with
 * its reason. A cold build can take longer (12 minutes on two idle cores): install ahead with
 * `npx tsx scripts/install-candidates.ts palpo`; an interrupted build resumes from the cached
 * target folder.
 */
const BUILD_IN_FIXTURE_TIMEOUT_MS = 13 * 60_000;

export function createPalpo(opts: PalpoDriverOptions): Candidate {
  return new PalpoCandidate(opts);
}

class PalpoCandidate extends ProcessCandidate {
  readonly info: CandidateInfo;
  override readonly capabilities = { restart: true, admin: true };
  protected readonly healthPath = '/_matrix/client/versions';
  private readonly registrationToken = randomBytes(16).toString('hex');
  private readonly logFilter: string;
  private readonly paths: ReturnType<typeof palpoInstancePaths> & { log: string; emptyCertDir: string };
  private postgres?: PostgresService;
  /** The instance database's URL (loopback TCP with the role's password). */
  private databaseUrl?: string;
  private bridge?: TlsBridge;
  private configWritten = false;

  constructor(opts: PalpoDriverOptions) {
    // Bad input is refused before anything touches the disk.
    const version = checkPalpoVersion(opts.version ?? process.env.LAZYJOIN_PALPO_VERSION ?? DEFAULT_PALPO_VERSION);
    const logFilter = checkPalpoLogFilter(opts.logFilter ?? process.env.LAZYJOIN_PALPO_LOG ?? 'info');
    const log = join(opts.workDir, 'palpo.log');
    super(opts, log, DEFAULT_HEALTH_TIMEOUT_MS);
    this.info = { name: 'palpo', implementation: 'palpo', version, driver: 'process' };
    this.logFilter = logFilter;
    this.paths = { ...palpoInstancePaths(opts.workDir), log, emptyCertDir: join(opts.workDir, 'no-extra-roots') };
  }

  protected async prepareLaunch(ports: ListenerPorts): Promise<Launch> {
    const install = await installPalpo({ cacheDir: this.opts.cacheDir, version: this.info.version, timeoutMs: BUILD_IN_FIXTURE_TIMEOUT_MS }).catch((err: Error) => {
      throw new CandidateError(
        `${err.message.split('\n')[0]} (a cold build takes 12 minutes or more: install ahead with \`npx tsx scripts/install-candidates.ts palpo\`)`,
        err instanceof CandidateError ? err.logTail : '',
      );
    });
    if (!this.configWritten) await this.writeConfig(ports);
    // The client port carries the suite's client calls to Palpo's one (TLS) listener.
    this.bridge ??= await TlsBridge.open({
      name: `${this.name} client bridge`,
      listenPort: ports.client,
      targetPort: ports.federation,
      ca: readFileSync(this.opts.caCertPath),
    });
    return { command: install.palpo, args: [], env: palpoEnv(process.env, this.paths.config, this.opts.caCertPath, this.paths.emptyCertDir) };
  }

  /** Makes the database and writes config, signing key and TLS files once; restarts reuse them. */
  private async writeConfig(ports: ListenerPorts): Promise<void> {
    // The service lives next to the instance folders, in the run folder.
    this.postgres ??= await acquirePostgres(dirname(this.opts.workDir));
    // Over TCP: Palpo parses the URL itself and needs a host in it.
    this.databaseUrl = (await this.postgres.createDatabase(this.opts.instanceName)).tcpUrl;
    writeInstanceFiles(
      palpoInstanceFiles({
        serverName: this.serverName,
        listenPort: ports.federation,
        dir: this.opts.workDir,
        databaseUrl: this.databaseUrl,
        registrationToken: this.registrationToken,
        logFilter: this.logFilter,
        tls: await this.opts.issueCert(['127.0.0.1']),
      }),
    );
    mkdirSync(this.paths.emptyCertDir, { recursive: true });
    this.configWritten = true;
  }

  override async stop(): Promise<void> {
    await super.stop();
    await this.bridge?.close();
    this.bridge = undefined;
  }

  override async teardown(): Promise<void> {
    await super.teardown();
    const postgres = this.postgres;
    this.postgres = undefined;
    this.configWritten = false;
    await releaseDatabase(postgres, this.opts.instanceName);
  }

  protected removeData(): void {
    rmSync(this.paths.space, { recursive: true, force: true });
  }

  override async registerUser(localpart?: string, opts: { admin?: boolean; displayName?: string } = {}): Promise<CandidateUser> {
    if (!this.isRunning()) throw new CandidateError(`${this.name}: registerUser called while not running`, this.logTail());
    const user = await registerWithToken({
      clientUrl: this.clientUrl,
      token: this.registrationToken,
      localpart: localpart ?? freshLocalpart(),
      displayName: opts.displayName,
      candidate: this.name,
    });
    if (opts.admin) await makeAdmin(this.databaseUrl!, user.userId, `${this.name}: making ${user.userId} an admin`);
    return user;
  }
}
