/**
 * The Dendrite (v0.13.x monolith) configuration for one candidate instance: every SQLite database
 * and the JetStream store in the instance folder, the client API over plain HTTP and federation
 * over TLS on loopback, outbound federation verifying certificates against the suite CA only, no
 * key servers, no rate limits, cheap hashing, log lines on stdout/stderr (which the driver sends
 * to the instance log file).
 *
 * Dendrite takes its listeners and TLS files from the command line, not from the YAML; the config
 * is loaded over Dendrite's built-in defaults, so only what differs from them (or what the suite
 * relies on) is written here.
 */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { CandidateError, type InstanceFile } from '../types.ts';

export interface DendriteConfigInput {
  /** `127.0.0.1:<federation port>`. */
  serverName: string;
  /** The instance folder: databases, JetStream store, media, signing key. */
  workDir: string;
  signingKeyPath: string;
  registrationSharedSecret: string;
  /**
   * Keep JetStream (Dendrite's internal queues) in memory instead of in `workDir`. Faster, but a
   * restart then drops events received and not yet processed, which a real restart would keep.
   */
  jetstreamInMemory?: boolean;
  /** logrus level: `trace`, `debug`, `info`, `warn`, `error` (default `info`). */
  logLevel?: string;
}

export interface DendriteListeners {
  configPath: string;
  clientPort: number;
  federationPort: number;
  tlsCertPath: string;
  tlsKeyPath: string;
  /** Address both listeners bind (default `127.0.0.1`; `0.0.0.0` inside a bridged container). */
  bindAddress?: string;
}

/** Each Dendrite component keeps its own SQLite database (no `global.database` with SQLite). */
export const DENDRITE_DATABASES = {
  federation_api: 'federationapi',
  key_server: 'keyserver',
  media_api: 'mediaapi',
  mscs: 'mscs',
  relay_api: 'relayapi',
  room_server: 'roomserver',
  sync_api: 'syncapi',
  user_api: 'userapi',
} as const;

const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error'];

/** Accepts a logrus level Dendrite knows; anything else is refused before any work. */
export function checkDendriteLogLevel(level: string): string {
  if (!LOG_LEVELS.includes(level)) {
    throw new CandidateError(
      `Dendrite log level "${level}" is not one of ${LOG_LEVELS.join(', ')} (from option or LAZYJOIN_DENDRITE_LOG_LEVEL)`,
    );
  }
  return level;
}

/** golang.org/x/crypto/bcrypt's MinCost: registration and login stay cheap. */
const BCRYPT_MIN_COST = 4;

/**
 * The settings lazyjoin needs of any Dendrite, however it is run (the driver, a container, an
 * operator's server), as config sections to merge: presence off, shared-secret registration, no
 * rate limits, outbound federation verifying certificates (against the suite CA, given through
 * SSL_CERT_FILE: see dendriteEnv), no key servers. `lazyjoin external-config --implementation
 * dendrite` prints exactly this.
 */
export function dendriteLazyjoinSettings(c: { registrationSharedSecret: string }): Record<string, Record<string, unknown>> {
  return {
    global: {
      presence: { enable_inbound: false, enable_outbound: false },
      // Never ask matrix.org (or anyone) for third-party IDs.
      trusted_third_party_id_servers: [],
      disable_federation: false,
    },
    client_api: {
      // Users come only from the shared-secret admin API, which this flag does not gate.
      registration_disabled: true,
      registration_shared_secret: c.registrationSharedSecret,
      guests_disabled: true,
      rate_limiting: { enabled: false },
    },
    federation_api: {
      // Remotes must present a certificate the suite CA signed (trusted through SSL_CERT_FILE).
      // v0.13 has no outbound IP deny list, so remotes on 127.0.0.0/8 need no allow rule.
      disable_tls_validation: false,
      // One connection per request: a remote that is gone leaves no idle connection behind.
      disable_http_keepalives: true,
      // Never ask matrix.org (or anyone) for keys: fetch each remote's keys from the remote.
      key_perspectives: [],
      prefer_direct_fetch: true,
      enable_relays: false,
    },
  };
}

export function dendriteConfig(c: DendriteConfigInput): Record<string, unknown> {
  const logLevel = checkDendriteLogLevel(c.logLevel ?? 'info');
  const sqlite = (name: string) => ({ connection_string: `file:${join(c.workDir, `dendrite_${name}.db`)}` });
  const needed = dendriteLazyjoinSettings(c);
  const config: Record<string, Record<string, unknown> | unknown> = {
    version: 2,
    global: {
      server_name: c.serverName,
      private_key: c.signingKeyPath,
      ...needed.global,
      jetstream: {
        // Dendrite's embedded NATS does not listen on any port; only its store needs isolating.
        storage_path: join(c.workDir, 'jetstream'),
        in_memory: c.jetstreamInMemory ?? false,
        topic_prefix: 'Dendrite',
      },
      metrics: { enabled: false },
      sentry: { enabled: false },
      dns_cache: { enabled: false },
      // On by default: would create a `_server` user and room the tests never asked for.
      server_notices: { enabled: false },
      report_stats: { enabled: false },
    },
    client_api: needed.client_api,
    federation_api: needed.federation_api,
    media_api: { base_path: join(c.workDir, 'media') },
    mscs: { mscs: [] },
    sync_api: { search: { enabled: false } },
    user_api: { bcrypt_cost: BCRYPT_MIN_COST },
    logging: [{ type: 'std', level: logLevel }],
  };
  for (const [section, name] of Object.entries(DENDRITE_DATABASES)) {
    const key = section === 'user_api' ? 'account_database' : 'database';
    const block = (config[section] as Record<string, unknown> | undefined) ?? {};
    config[section] = { ...block, [key]: sqlite(name) };
  }
  return config;
}

/** The command line of the monolith: listeners and TLS files are flags in v0.13. */
export function dendriteArgs(l: DendriteListeners): string[] {
  return [
    '--config', l.configPath,
    '--http-bind-address', `${l.bindAddress ?? '127.0.0.1'}:${l.clientPort}`,
    '--https-bind-address', `${l.bindAddress ?? '127.0.0.1'}:${l.federationPort}`,
    '--tls-cert', l.tlsCertPath,
    '--tls-key', l.tlsKeyPath,
  ];
}

/**
 * The environment of the Dendrite process. Go's crypto/x509 on Linux takes its roots from
 * SSL_CERT_FILE and SSL_CERT_DIR: pointing the first at the suite CA and the second at an empty
 * folder makes the suite CA the only root outbound federation trusts.
 */
export function dendriteEnv(base: NodeJS.ProcessEnv, caCertPath: string, emptyCertDir: string): NodeJS.ProcessEnv {
  return { ...base, SSL_CERT_FILE: caCertPath, SSL_CERT_DIR: emptyCertDir };
}

/**
 * A fresh Ed25519 signing key in Dendrite's format: a `MATRIX PRIVATE KEY` PEM block whose body is
 * the 32-byte seed and whose `Key-ID` header names the key (`ed25519:` then [a-zA-Z0-9_]+).
 */
export function dendriteSigningKeyPem(keyId = `ed25519:${randomBytes(4).toString('hex')}`): string {
  if (!/^ed25519:[a-zA-Z0-9_]+$/.test(keyId)) {
    throw new Error(`Dendrite key ID "${keyId}" must be ed25519: followed by letters, digits or _`);
  }
  const seed = randomBytes(32).toString('base64');
  return `-----BEGIN MATRIX PRIVATE KEY-----\nKey-ID: ${keyId}\n\n${seed}\n-----END MATRIX PRIVATE KEY-----\n`;
}

/** The instance folder's file names, fixed so that a restart finds the same files. */
export function dendriteInstancePaths(dir: string) {
  return {
    config: `${dir}/dendrite.yaml`,
    signingKey: `${dir}/matrix_key.pem`,
    tlsCert: `${dir}/federation.crt`,
    tlsKey: `${dir}/federation.key`,
    // Empty on purpose: the only root outbound federation trusts is the suite CA (see dendriteEnv).
    emptyCertDir: `${dir}/no-extra-roots`,
  };
}

export interface DendriteInstanceInput extends Omit<DendriteConfigInput, 'workDir' | 'signingKeyPath'> {
  /** The instance folder as the server sees it (a host folder, or `/data` in a container). */
  dir: string;
  tls: { certPem: string; keyPem: string };
}

/**
 * Every file one Dendrite instance needs (config, fresh signing key, TLS pair), for a driver to
 * write to disk or copy into a container: the one place where an instance is described. The empty
 * roots folder (`dendriteInstancePaths(dir).emptyCertDir`) is the driver's to create.
 */
export function dendriteInstanceFiles(i: DendriteInstanceInput): InstanceFile[] {
  const paths = dendriteInstancePaths(i.dir);
  const { dir, tls, ...rest } = i;
  const config = dendriteConfig({ ...rest, workDir: dir, signingKeyPath: paths.signingKey });
  return [
    { path: paths.tlsCert, content: tls.certPem, mode: 0o644 },
    { path: paths.tlsKey, content: tls.keyPem, mode: 0o600 },
    { path: paths.signingKey, content: dendriteSigningKeyPem(), mode: 0o600 },
    { path: paths.config, content: stringify(config), mode: 0o644 },
  ];
}
