/**
 * What every driver of a local candidate (process or container) shares: its two loopback
 * listeners (ports chosen once and kept, the URLs built from them), the wait until both answer,
 * and one start at a time.
 */
import { readFileSync } from 'node:fs';
import { Agent, type Dispatcher } from 'undici';
import { assertPortFree, freePort } from './process.ts';
import { CandidateError } from './types.ts';

export interface ListenerPorts {
  client: number;
  federation: number;
}

/**
 * The client listener (plain HTTP) and the federation listener (TLS) of one instance on
 * 127.0.0.1. The ports are picked at the first claim and kept across restarts, since the server
 * name (and so every stored ID) contains the federation port.
 */
export class LoopbackListeners {
  private ports?: ListenerPorts;

  /** `instanceName` prefixes every error message, e.g. `synapse-w0`. */
  constructor(private readonly instanceName: string) {}

  /**
   * The ports, picked on the first call (`fixed` ones where given, else free ones) and then kept.
   * Throws a one-line CandidateError when one is taken, so call it before any slow install.
   */
  async claim(fixed: Partial<ListenerPorts> = {}): Promise<ListenerPorts> {
    this.ports ??= {
      client: fixed.client ?? (await freePort()),
      federation: fixed.federation ?? (await freePort()),
    };
    await assertPortFree(this.ports.client, '127.0.0.1', `${this.instanceName} client listener`);
    await assertPortFree(this.ports.federation, '127.0.0.1', `${this.instanceName} federation listener`);
    return this.ports;
  }

  /** The claimed ports; throws before the first claim. */
  require(): ListenerPorts {
    if (!this.ports) throw new CandidateError(`${this.instanceName}: not started yet, so it has no ports`);
    return this.ports;
  }

  get serverName(): string {
    return `127.0.0.1:${this.require().federation}`;
  }

  get clientUrl(): string {
    return `http://127.0.0.1:${this.require().client}`;
  }

  get federationUrl(): string {
    return `https://127.0.0.1:${this.require().federation}`;
  }
}

/**
 * The base of the local candidate drivers: the listeners' addresses, and a start() that callers
 * may race (concurrent calls share one start; a running candidate returns at once).
 */
export abstract class LoopbackCandidate {
  protected readonly listeners: LoopbackListeners;
  /** The start under way, if any. */
  protected starting?: Promise<void>;

  protected constructor(protected readonly name: string) {
    this.listeners = new LoopbackListeners(name);
  }

  /** True while the server runs as far as the driver knows (a stop on purpose clears it). */
  protected abstract isRunning(): boolean;

  /** Starts (or starts again) the server and waits until it serves. */
  protected abstract doStart(): Promise<void>;

  abstract stop(): Promise<void>;

  get serverName(): string {
    return this.listeners.serverName;
  }

  get clientUrl(): string {
    return this.listeners.clientUrl;
  }

  get federationUrl(): string {
    return this.listeners.federationUrl;
  }

  start(): Promise<void> {
    if (this.isRunning()) return Promise.resolve();
    this.starting ??= this.doStart().finally(() => (this.starting = undefined));
    return this.starting;
  }

  async restart(): Promise<void> {
    await this.stop();
    await this.start();
  }
}

/** One step of waitUntilServing: poll `url` until it answers 2xx, within `step.timeoutMs`. */
export type HealthPoll = (url: string, step: { timeoutMs: number; dispatcher?: Dispatcher }) => Promise<void>;

/**
 * Waits until the candidate serves: first the client API's `healthPath`, then the federation key
 * endpoint over TLS trusting only the suite CA (so a wrong certificate fails here, not mid-test).
 * `poll` does the polling and owns the error messages (it knows how the candidate can die
 * meanwhile). The client step gets the whole `timeoutMs`; the federation step what is left of it,
 * at least 1 s.
 */
export async function waitUntilServing(
  listeners: Pick<LoopbackListeners, 'clientUrl' | 'federationUrl'>,
  opts: { healthPath: string; caCertPath: string; timeoutMs: number },
  poll: HealthPoll,
): Promise<void> {
  const deadline = Date.now() + opts.timeoutMs;
  await poll(`${listeners.clientUrl}${opts.healthPath}`, { timeoutMs: opts.timeoutMs });
  const trustingSuiteCA = new Agent({ connect: { ca: readFileSync(opts.caCertPath) } });
  try {
    await poll(`${listeners.federationUrl}/_matrix/key/v2/server`, {
      timeoutMs: Math.max(1_000, deadline - Date.now()),
      dispatcher: trustingSuiteCA,
    });
  } finally {
    await trustingSuiteCA.close();
  }
}
