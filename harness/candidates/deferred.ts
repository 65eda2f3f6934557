/**
 * A candidate whose driver module is loaded only when it starts. The container drivers pull in
 * testcontainers, whose import alone takes seconds: a run that does not use them must not pay
 * for it in every worker.
 */
import {
  CandidateError,
  type Candidate,
  type CandidateCapabilities,
  type CandidateExit,
  type CandidateInfo,
  type CandidateUser,
  type DriverOptions,
} from './types.ts';

export type DriverFactory = (opts: DriverOptions) => Candidate;

class DeferredCandidate implements Candidate {
  private inner?: Candidate;
  private readonly placeholderInfo: CandidateInfo;

  constructor(
    name: string,
    driver: string,
    private readonly load: () => Promise<DriverFactory>,
    private readonly opts: DriverOptions,
  ) {
    this.placeholderInfo = { name, implementation: 'unknown', version: 'unknown', driver };
  }

  private started(what: string): Candidate {
    if (!this.inner) throw new CandidateError(`${this.placeholderInfo.name}: ${what} needs the candidate started first`);
    return this.inner;
  }

  get info(): CandidateInfo {
    return this.inner?.info ?? this.placeholderInfo;
  }

  get capabilities(): CandidateCapabilities {
    return this.started('capabilities').capabilities;
  }

  get serverName(): string {
    return this.started('serverName').serverName;
  }

  get clientUrl(): string {
    return this.started('clientUrl').clientUrl;
  }

  get federationUrl(): string {
    return this.started('federationUrl').federationUrl;
  }

  async start(): Promise<void> {
    this.inner ??= (await this.load())(this.opts);
    await this.inner.start();
  }

  async stop(): Promise<void> {
    await this.inner?.stop();
  }

  async restart(): Promise<void> {
    await this.started('restart').restart();
  }

  async teardown(): Promise<void> {
    await this.inner?.teardown();
  }

  async registerUser(localpart?: string, opts?: { admin?: boolean; displayName?: string }): Promise<CandidateUser> {
    return this.started('registerUser').registerUser(localpart, opts);
  }

  async unexpectedExit(): Promise<CandidateExit | undefined> {
    return this.inner?.unexpectedExit();
  }

  logTail(lines?: number): string {
    return this.inner?.logTail(lines) ?? '';
  }
}

/** A factory for a driver loaded on first start. */
export function deferred(name: string, driver: string, load: () => Promise<DriverFactory>): DriverFactory {
  return (opts) => new DeferredCandidate(name, driver, load, opts);
}
