/**
 * The candidate driver interface: what every way of getting a homeserver under test (a local
 * process, an external server, later a container) gives the fixtures and tests.
 */

/** A user registered on a candidate. */
export interface CandidateUser {
  /** Full Matrix user ID, e.g. `@alice:127.0.0.1:8448`. */
  userId: string;
  accessToken: string;
  deviceId: string;
}

/** Capabilities that decide whether a test can run ("not run" otherwise, never "pass"). */
export interface CandidateCapabilities {
  /** The suite can stop and start the candidate with the same data. */
  restart: boolean;
  /** The candidate has an admin user / admin API the suite can use. */
  admin: boolean;
}

export interface CandidateInfo {
  /** Driver name as used for the Playwright project: `synapse`, `dendrite`, `external`, ... */
  name: string;
  /**
   * The homeserver implementation (`synapse`, `dendrite`, `tuwunel`, ...), whatever the driver:
   * `synapse` and `synapse-container` are both `synapse`. Baselines of known failures belong to an
   * implementation and version (`expectations/<implementation>-<version>.json`).
   */
  implementation: string;
  /** Implementation version as installed (e.g. `1.98.0`, `v0.13.8`), or `unknown`. */
  version: string;
  /** How it runs: `process`, `external`, `container`. */
  driver: string;
  /** Where it stores its data, when the driver chooses it (Synapse: `sqlite` or `postgres`). */
  database?: string;
}

export interface Candidate {
  readonly info: CandidateInfo;
  readonly capabilities: CandidateCapabilities;
  /** The candidate's server name, e.g. `127.0.0.1:38443`. */
  readonly serverName: string;
  /** Base URL of the client-server API (no trailing slash). */
  readonly clientUrl: string;
  /** Base URL of the federation API (https, no trailing slash). */
  readonly federationUrl: string;

  /** Installs if needed, writes config, starts, waits for health (bounded). Idempotent. */
  start(): Promise<void>;
  /** Stops the process (if any), leaving data in place. Idempotent. */
  stop(): Promise<void>;
  /** Stop then start with the same data and configuration. */
  restart(): Promise<void>;
  /** Stops and removes everything the driver created (process, port, temp data). Idempotent. */
  teardown(): Promise<void>;

  /** Registers a fresh user (localpart generated when omitted). */
  registerUser(localpart?: string, opts?: { admin?: boolean; displayName?: string }): Promise<CandidateUser>;

  /**
   * How the candidate ended if it is not running although the suite did not stop it (a crash);
   * undefined while it runs, after a stop the suite asked for, or when the driver cannot tell
   * (an external server).
   */
  unexpectedExit(): Promise<CandidateExit | undefined>;

  /** The last `lines` lines of the candidate's log (empty string if it has none). */
  logTail(lines?: number): string;
}

/** How a candidate process or container ended: an exit code, or the signal that killed it. */
export interface CandidateExit {
  code: number | null;
  signal: string | null;
}

/** `code 1`, `signal SIGKILL`: the cause of an exit in a few words. */
export function describeExit(exit: CandidateExit): string {
  if (exit.signal) return `signal ${exit.signal}`;
  return exit.code === null ? 'no exit status left' : `code ${exit.code}`;
}

/** One file of a candidate instance (config, key, certificate): where it goes, what it holds, its mode. */
export interface InstanceFile {
  path: string;
  content: string;
  mode: number;
}

/** Thrown for any failure to install, start or reach a candidate: one line naming the cause. */
export class CandidateError extends Error {
  constructor(message: string, readonly logTail: string = '') {
    super(logTail ? `${message}\n--- candidate log tail ---\n${logTail}` : message);
    this.name = 'CandidateError';
  }
}

/** What the fixtures give a driver to create one candidate instance. */
export interface DriverOptions {
  /** Unique within the run, e.g. `synapse-w0`; used for folder names and log prefixes. */
  instanceName: string;
  /** A fresh folder for this instance's config, data and log (inside the run folder). */
  workDir: string;
  /** Where installs are cached across runs (outside the repo's tracked files). */
  cacheDir: string;
  /** Implementation version to install; the driver's default when omitted. */
  version?: string;
  /** PEM path of the run's CA, which the candidate must trust for outbound federation. */
  caCertPath: string;
  /** Issues a TLS certificate (signed by the run's CA) for the candidate's federation listener. */
  issueCert(names: string[]): Promise<{ certPem: string; keyPem: string }>;
}
