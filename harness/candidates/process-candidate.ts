/**
 * The base of the process candidate drivers (synapse/, dendrite/): one child process per
 * instance, listeners on loopback, users made with the shared registration secret. A driver
 * says only how to install and configure its server, how to launch it, where its health path is
 * and which data to drop at teardown.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { ManagedProcess, fileTail, type SpawnOptions } from './process.ts';
import { LoopbackCandidate, waitUntilServing, type ListenerPorts } from './loopback.ts';
import { freshLocalpart, registerWithSharedSecret } from './shared-secret-registration.ts';
import { CandidateError, type Candidate, type CandidateExit, type CandidateInfo, type CandidateUser, type DriverOptions } from './types.ts';

export interface ProcessDriverOptions extends DriverOptions {
  /** Fixed ports instead of free ones picked at start. */
  clientPort?: number;
  federationPort?: number;
  /** Bound on the wait for health after spawning (each driver has its default). */
  healthTimeoutMs?: number;
}

/** How to run the server, as a driver describes it once installed and configured. */
export type Launch = Pick<SpawnOptions, 'command' | 'args' | 'env'>;

export abstract class ProcessCandidate extends LoopbackCandidate implements Candidate {
  abstract readonly info: CandidateInfo;
  readonly capabilities = { restart: true, admin: true };
  /** Both servers make users (admins too) through the shared-secret registration API. */
  protected readonly sharedSecret = randomBytes(24).toString('hex');
  private process?: ManagedProcess;

  /**
   * `logPath`: where the server's output goes (kept at teardown, for the report);
   * `defaultHealthTimeoutMs`: the bound when `opts.healthTimeoutMs` is not given.
   */
  protected constructor(
    protected readonly opts: ProcessDriverOptions,
    private readonly logPath: string,
    private readonly defaultHealthTimeoutMs: number,
  ) {
    super(opts.instanceName);
    mkdirSync(opts.workDir, { recursive: true });
  }

  /** The client API path that answers 2xx once the server is up. */
  protected abstract readonly healthPath: string;

  /** Installs (cached) and writes the instance's files if not yet done; says how to launch. */
  protected abstract prepareLaunch(ports: ListenerPorts): Promise<Launch>;

  /** Removes the bulky data at teardown (the process is stopped by then). */
  protected abstract removeData(): void;

  protected isRunning(): boolean {
    return this.process?.running ?? false;
  }

  protected async doStart(): Promise<void> {
    // Ports come first: a taken fixed port is reported before any slow install.
    const ports = await this.listeners.claim({ client: this.opts.clientPort, federation: this.opts.federationPort });
    const launch = await this.prepareLaunch(ports);
    const child = await ManagedProcess.spawn({ ...launch, name: this.name, cwd: this.opts.workDir, logPath: this.logPath });
    this.process = child;
    await waitUntilServing(
      this.listeners,
      { healthPath: this.healthPath, caCertPath: this.opts.caCertPath, timeoutMs: this.opts.healthTimeoutMs ?? this.defaultHealthTimeoutMs },
      (url, step) => child.waitForHealth(url, step),
    );
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

  async teardown(): Promise<void> {
    await this.stop();
    // Keep the log and config for the report; drop the bulky data.
    this.removeData();
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
