/**
 * The Synapse configuration for one candidate instance: local SQLite (or a given database), a
 * plain client listener and a TLS federation listener on loopback, cheap hashing, and the settings lazyjoin needs of every
 * Synapse (synapseLazyjoinSettings: outbound federation trusting only the suite CA and allowed to
 * reach loopback, no key servers, no rate limits), which the operator's recipe prints too.
 */
import { randomBytes } from 'node:crypto';
import { stringify } from 'yaml';
import { CandidateError, type InstanceFile } from '../types.ts';

export interface SynapseConfigInput {
  /** Turns presence on (lazyjoin's settings keep it off: its EDUs are noise for most tests). */
  presence?: boolean;
  serverName: string;
  clientPort: number;
  federationPort: number;
  workDir: string;
  caCertPath: string;
  tlsCertPath: string;
  tlsKeyPath: string;
  signingKeyPath: string;
  logConfigPath: string;
  registrationSharedSecret: string;
  /** Address both listeners bind (default `127.0.0.1`; `0.0.0.0` inside a bridged container). */
  bindAddress?: string;
  /** The `database` section (default: SQLite in the instance folder). */
  database?: Record<string, unknown>;
}

/** Synapse 1.98's default outbound IP block list (`DEFAULT_IP_RANGE_BLOCKLIST`) less 127.0.0.0/8 and ::1. */
const BLOCKED_EXCEPT_LOOPBACK = [
  '10.0.0.0/8',
  '172.16.0.0/12',
  '192.168.0.0/16',
  '100.64.0.0/10',
  '192.0.0.0/24',
  '169.254.0.0/16',
  '192.88.99.0/24',
  '198.18.0.0/15',
  '192.0.2.0/24',
  '198.51.100.0/24',
  '203.0.113.0/24',
  '224.0.0.0/4',
  'fe80::/10',
  'fc00::/7',
  '2001:db8::/32',
  'ff00::/8',
  'fec0::/10',
];

/** Limits far above anything a test does, so rate limiting never shapes a result. */
const UNLIMITED = { per_second: 1_000_000, burst_count: 1_000_000 };

/** What lazyjoin needs of any Synapse, however it is run (the driver, a container, an operator's server). */
export interface SynapseLazyjoinInput {
  /** The suite CA as the server sees it: the only root trusted for outbound federation. */
  caCertPath: string;
  /** The federation listener's certificate and key (from the suite CA), as the server sees them. */
  tlsCertPath: string;
  tlsKeyPath: string;
  registrationSharedSecret: string;
}

/**
 * The settings lazyjoin needs of a Synapse: federation TLS from the suite CA both ways, loopback
 * and IP-literal remotes reachable, no notary key servers, no rate limits, shared-secret
 * registration, presence off, no cached /sync. The driver's config and the operator's recipe
 * (`lazyjoin external-config --implementation synapse`) are both made from this one object.
 */
export function synapseLazyjoinSettings(c: SynapseLazyjoinInput): Record<string, unknown> {
  return {
    tls_certificate_path: c.tlsCertPath,
    tls_private_key_path: c.tlsKeyPath,
    federation_verify_certificates: true,
    federation_custom_ca_list: [c.caCertPath],
    // Remotes live on loopback, which Synapse blocks for outbound requests by default. The allow
    // list alone is not enough: 1.98 checks IP-literal server names against the block list only.
    // So the block list is Synapse's default without loopback: every other range stays blocked.
    ip_range_blacklist: BLOCKED_EXCEPT_LOOPBACK,
    ip_range_whitelist: ['127.0.0.0/8', '::1/128'],
    trusted_key_servers: [],
    suppress_key_server_warning: true,
    registration_shared_secret: c.registrationSharedSecret,
    // A cached /sync answer could hide a state change a test waits for.
    caches: { sync_response_cache_duration: 0 },
    // Presence EDUs are federation traffic unrelated to joins; they would only add noise to what
    // the remotes record.
    presence: { enabled: false },
    allow_device_name_lookup_over_federation: true,
    rc_message: UNLIMITED,
    rc_registration: UNLIMITED,
    rc_registration_token_validity: UNLIMITED,
    rc_login: { address: UNLIMITED, account: UNLIMITED, failed_attempts: UNLIMITED },
    rc_admin_redaction: UNLIMITED,
    rc_joins: { local: UNLIMITED, remote: UNLIMITED },
    rc_joins_per_room: UNLIMITED,
    rc_3pid_validation: UNLIMITED,
    rc_invites: { per_room: UNLIMITED, per_user: UNLIMITED, per_issuer: UNLIMITED },
    rc_third_party_invite: UNLIMITED,
    rc_key_requests: UNLIMITED,
    rc_federation: { window_size: 1000, sleep_limit: 1_000_000, sleep_delay: 1, reject_limit: 1_000_000, concurrent: 1_000_000 },
  };
}

/** A plain client listener and a TLS federation listener (which also serves `/_matrix/key/v2/*`). */
export function synapseListeners(c: { clientPort: number; federationPort: number; bindAddress?: string }): Record<string, unknown>[] {
  return [
    {
      port: c.clientPort,
      bind_addresses: [c.bindAddress ?? '127.0.0.1'],
      type: 'http',
      tls: false,
      x_forwarded: false,
      resources: [{ names: ['client'], compress: false }],
    },
    {
      port: c.federationPort,
      bind_addresses: [c.bindAddress ?? '127.0.0.1'],
      type: 'http',
      tls: true,
      x_forwarded: false,
      resources: [{ names: ['federation'], compress: false }],
    },
  ];
}

export function synapseConfig(c: SynapseConfigInput): Record<string, unknown> {
  return {
    server_name: c.serverName,
    pid_file: `${c.workDir}/homeserver.pid`,
    public_baseurl: `http://127.0.0.1:${c.clientPort}/`,
    report_stats: false,
    listeners: synapseListeners(c),
    database: c.database ?? { name: 'sqlite3', args: { database: `${c.workDir}/homeserver.db` } },
    media_store_path: `${c.workDir}/media_store`,
    signing_key_path: c.signingKeyPath,
    log_config: c.logConfigPath,
    enable_registration: false,
    macaroon_secret_key: randomBytes(24).toString('hex'),
    form_secret: randomBytes(24).toString('hex'),
    bcrypt_rounds: 4,
    enable_metrics: false,
    url_preview_enabled: false,
    ...synapseLazyjoinSettings(c),
    ...(c.presence ? { presence: { enabled: true } } : {}),
  };
}

export const SYNAPSE_LOG_LEVELS = ['DEBUG', 'INFO', 'WARNING', 'ERROR'] as const;
export type SynapseLogLevel = (typeof SYNAPSE_LOG_LEVELS)[number];

/** Accepts a Python logging level Synapse knows, in any case; anything else is refused before any work. */
export function checkSynapseLogLevel(level: string): SynapseLogLevel {
  const upper = level.toUpperCase();
  if (!(SYNAPSE_LOG_LEVELS as readonly string[]).includes(upper)) {
    throw new CandidateError(`Synapse log level "${level}" is not one of ${SYNAPSE_LOG_LEVELS.join(', ')} (from option or LAZYJOIN_SYNAPSE_LOG_LEVEL)`);
  }
  return upper as SynapseLogLevel;
}

/** Python logging config: everything to stderr, which the driver appends to the instance log. */
export function synapseLogConfig(level: SynapseLogLevel = 'INFO'): Record<string, unknown> {
  return {
    version: 1,
    formatters: { precise: { format: '%(asctime)s %(name)s %(lineno)d %(levelname)s %(request)s %(message)s' } },
    filters: { context: { '()': 'synapse.logging.context.LoggingContextFilter', request: '' } },
    handlers: { console: { class: 'logging.StreamHandler', formatter: 'precise', filters: ['context'], stream: 'ext://sys.stderr' } },
    loggers: {
      // SQL at INFO level is a line per query: it would bury everything else.
      'synapse.storage.SQL': { level: 'WARNING' },
      'twisted': { level: 'WARNING' },
    },
    root: { level, handlers: ['console'] },
    disable_existing_loggers: false,
  };
}

/** A fresh Synapse signing key file line: `ed25519 <version> <unpadded base64 seed>`. */
export function synapseSigningKey(): string {
  const version = `a_${randomBytes(3).toString('hex')}`;
  const seed = randomBytes(32).toString('base64').replace(/=+$/, '');
  return `ed25519 ${version} ${seed}\n`;
}

export interface SynapseInstanceInput {
  /** Presence on (default off). */
  presence?: boolean;
  serverName: string;
  clientPort: number;
  federationPort: number;
  /** The instance folder as the server sees it (a host folder, or `/data` in a container). */
  dir: string;
  /** Where the suite CA is, as the server sees it. */
  caCertPath: string;
  tls: { certPem: string; keyPem: string };
  registrationSharedSecret: string;
  bindAddress?: string;
  /** Root log level (default INFO). */
  logLevel?: SynapseLogLevel;
  /** The `database` section (default: SQLite in the instance folder). */
  database?: Record<string, unknown>;
}

/** The instance folder's file names, fixed so that a restart finds the same files. */
export function synapseInstancePaths(dir: string) {
  return {
    config: `${dir}/homeserver.yaml`,
    logConfig: `${dir}/log.config.yaml`,
    signingKey: `${dir}/signing.key`,
    tlsCert: `${dir}/federation.crt`,
    tlsKey: `${dir}/federation.key`,
  };
}

/**
 * Every file one Synapse instance needs (config, log config, fresh signing key, TLS pair), for a
 * driver to write to disk or copy into a container: the one place where an instance is described.
 */
export function synapseInstanceFiles(i: SynapseInstanceInput): InstanceFile[] {
  const paths = synapseInstancePaths(i.dir);
  const config = synapseConfig({
    serverName: i.serverName,
    clientPort: i.clientPort,
    federationPort: i.federationPort,
    workDir: i.dir,
    caCertPath: i.caCertPath,
    tlsCertPath: paths.tlsCert,
    tlsKeyPath: paths.tlsKey,
    signingKeyPath: paths.signingKey,
    logConfigPath: paths.logConfig,
    registrationSharedSecret: i.registrationSharedSecret,
    bindAddress: i.bindAddress,
    database: i.database,
    presence: i.presence,
  });
  return [
    { path: paths.tlsCert, content: i.tls.certPem, mode: 0o644 },
    { path: paths.tlsKey, content: i.tls.keyPem, mode: 0o600 },
    { path: paths.signingKey, content: synapseSigningKey(), mode: 0o600 },
    { path: paths.logConfig, content: stringify(synapseLogConfig(i.logLevel)), mode: 0o644 },
    { path: paths.config, content: stringify(config), mode: 0o644 },
  ];
}
