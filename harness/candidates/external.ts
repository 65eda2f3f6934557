/**
 * A candidate that someone else runs: the suite only reaches it. Described by environment:
 *
 *   LAZYJOIN_EXTERNAL_CLIENT_URL           client-server API base URL (required)
 *   LAZYJOIN_EXTERNAL_SERVER_NAME          its server name (required)
 *   LAZYJOIN_EXTERNAL_FEDERATION_URL       federation base URL (default https://<server name>)
 *   LAZYJOIN_EXTERNAL_SHARED_SECRET        registration through /_synapse/admin/v1/register, or
 *   LAZYJOIN_EXTERNAL_REGISTRATION_TOKEN   registration through /register with m.login.registration_token
 *   LAZYJOIN_EXTERNAL_IMPLEMENTATION       the implementation (synapse, dendrite, ...; default external),
 *   LAZYJOIN_EXTERNAL_VERSION              and its version (default unknown): shown in the report and
 *                                          naming the baseline expectations/<implementation>-<version>.json
 *   LAZYJOIN_EXTERNAL_CA                   PEM of the CA its federation certificate chains to, when it is
 *                                          not one from `lazyjoin ca issue`
 *
 * Its operator must make it trust the suite CA for outbound federation (`lazyjoin ca` prints where
 * it is; `lazyjoin external-config` prints the settings); the preflight
 * (external-preflight.ts) checks all this before the first test.
 */
import { rootCertificates } from 'node:tls';
import { Agent, request, setGlobalDispatcher } from 'undici';
import { setServerUrl } from '../remote/discovery.ts';
import { externalCAFromEnv, federationTrust } from '../remote/tls-trust.ts';
import { freshLocalpart, registerWithSharedSecret } from './shared-secret-registration.ts';
import { registerWithToken } from './token-registration.ts';
import { CandidateError, type Candidate, type CandidateUser, type DriverOptions } from './types.ts';

const ENV = {
  clientUrl: 'LAZYJOIN_EXTERNAL_CLIENT_URL',
  serverName: 'LAZYJOIN_EXTERNAL_SERVER_NAME',
  federationUrl: 'LAZYJOIN_EXTERNAL_FEDERATION_URL',
  sharedSecret: 'LAZYJOIN_EXTERNAL_SHARED_SECRET',
  registrationToken: 'LAZYJOIN_EXTERNAL_REGISTRATION_TOKEN',
  implementation: 'LAZYJOIN_EXTERNAL_IMPLEMENTATION',
  version: 'LAZYJOIN_EXTERNAL_VERSION',
} as const;

export interface ExternalDescription {
  clientUrl: string;
  serverName: string;
  federationUrl: string;
  registration: { sharedSecret: string } | { registrationToken: string };
  implementation: string;
  version: string;
}

/** Reads the description from `env`; one-line error naming every missing variable. */
export function externalFromEnv(env: NodeJS.ProcessEnv = process.env): ExternalDescription {
  const missing: string[] = [];
  if (!env[ENV.clientUrl]) missing.push(ENV.clientUrl);
  if (!env[ENV.serverName]) missing.push(ENV.serverName);
  if (!env[ENV.sharedSecret] && !env[ENV.registrationToken]) missing.push(`${ENV.sharedSecret} or ${ENV.registrationToken}`);
  if (missing.length) throw new CandidateError(`external candidate: missing environment variable(s): ${missing.join(', ')}`);
  const clientUrl = env[ENV.clientUrl]!.replace(/\/+$/, '');
  if (!/^https?:\/\/[^/]+/.test(clientUrl)) throw new CandidateError(`external candidate: ${ENV.clientUrl}="${clientUrl}" is not an http(s) URL`);
  const serverName = env[ENV.serverName]!;
  try {
    externalCAFromEnv(env);
  } catch (err) {
    throw new CandidateError(`external candidate: ${(err as Error).message}`);
  }
  return {
    clientUrl,
    serverName,
    federationUrl: (env[ENV.federationUrl] ?? `https://${serverName}`).replace(/\/+$/, ''),
    registration: env[ENV.sharedSecret] ? { sharedSecret: env[ENV.sharedSecret]! } : { registrationToken: env[ENV.registrationToken]! },
    implementation: env[ENV.implementation] || 'external',
    version: env[ENV.version] || 'unknown',
  };
}

/**
 * A client API served over TLS (a Conduit-family server on one port) may have a certificate from
 * the suite CA or LAZYJOIN_EXTERNAL_CA: the suite's client requests then trust those as well.
 */
export function trustTlsClientApi(clientUrl: string): void {
  if (clientUrl.startsWith('https:')) setGlobalDispatcher(new Agent({ connect: { ca: [...rootCertificates, ...federationTrust()] } }));
}

export function createExternal(opts: DriverOptions): Candidate {
  return new ExternalCandidate(opts, externalFromEnv());
}

class ExternalCandidate implements Candidate {
  readonly info;
  readonly capabilities = { restart: false, admin: false };
  readonly serverName: string;
  readonly clientUrl: string;
  readonly federationUrl: string;
  private announced = false;

  constructor(
    private readonly opts: DriverOptions,
    private readonly description: ExternalDescription,
  ) {
    this.info = { name: 'external', implementation: description.implementation, version: description.version, driver: 'external' };
    this.serverName = description.serverName;
    this.clientUrl = description.clientUrl;
    this.federationUrl = description.federationUrl;
    this.capabilities.admin = 'sharedSecret' in description.registration;
  }

  async start(): Promise<void> {
    if (!this.announced) {
      this.announced = true;
      process.env.LAZYJOIN_SUITE_CA = this.opts.caCertPath;
      console.log(`[lazyjoin] external candidate ${this.serverName}: it must trust the suite CA at ${this.opts.caCertPath} for outbound federation`);
      // Remotes reach the candidate at its federation URL, which may differ from its server name.
      setServerUrl(this.serverName, this.federationUrl);
      trustTlsClientApi(this.clientUrl);
    }
    const url = `${this.clientUrl}/_matrix/client/versions`;
    try {
      const res = await request(url, { headersTimeout: 10_000, bodyTimeout: 10_000 });
      const body = await res.body.text();
      if (res.statusCode !== 200) throw new Error(`HTTP ${res.statusCode} ${body.slice(0, 200)}`);
    } catch (err) {
      throw new CandidateError(`external candidate not reachable: GET ${url} failed: ${(err as Error).message}`);
    }
  }

  async stop(): Promise<void> {}

  async restart(): Promise<void> {
    throw new CandidateError('external candidate cannot be restarted by the suite (capability restart=false)');
  }

  async teardown(): Promise<void> {}

  async registerUser(localpart?: string, opts: { admin?: boolean; displayName?: string } = {}): Promise<CandidateUser> {
    const name = localpart ?? freshLocalpart();
    const reg = this.description.registration;
    if ('sharedSecret' in reg) {
      return registerWithSharedSecret({ clientUrl: this.clientUrl, sharedSecret: reg.sharedSecret, localpart: name, admin: opts.admin, displayName: opts.displayName, candidate: 'external' });
    }
    if (opts.admin) throw new CandidateError('external candidate: admin users need LAZYJOIN_EXTERNAL_SHARED_SECRET');
    return registerWithToken({ clientUrl: this.clientUrl, token: reg.registrationToken, localpart: name, displayName: opts.displayName, candidate: 'external' });
  }

  /** An external server's exits are its operator's to see. */
  async unexpectedExit(): Promise<undefined> {
    return undefined;
  }

  logTail(): string {
    return '';
  }
}
