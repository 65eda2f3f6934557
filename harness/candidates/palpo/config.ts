/**
 * The Palpo configuration for one candidate instance: one TOML file (Palpo reads the file named by
 * `PALPO_CONFIG`, then `PALPO_*` variables over it), a PostgreSQL database of its own, one TLS
 * listener on loopback serving both the client and the federation APIs, outbound federation
 * trusting the suite CA only, no trusted key servers, registration by token only, presence and the
 * admin room off, no update checks.
 *
 * What Palpo 0.0.2 takes from elsewhere than the TOML (read from its source):
 * - its TLS pair from `./certs/cert.pem` and `./certs/key.pem` relative to its working directory
 *   (the `[tls]` table is parsed but not used by the listener), so the driver runs it in the
 *   instance folder;
 * - the roots its outbound federation client (reqwest over the system's OpenSSL) trusts, from
 *   `SSL_CERT_FILE` and `SSL_CERT_DIR`;
 * - without a `[keypair]` it makes a new signing key at every start, so the key is written here
 *   and a restart keeps the server's identity.
 *
 * Palpo 0.0.2 has no rate limiting and no outbound IP-range block list, so neither needs lifting.
 */
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { CandidateError, type InstanceFile } from '../types.ts';

export interface PalpoConfigInput {
  /** `127.0.0.1:<port>`: the listener's address, which is also the server name. */
  serverName: string;
  listenPort: number;
  /** The instance folder: working directory, media (`space_path`), TLS files. */
  dir: string;
  /** `postgres://user@host:port/database` of this instance's own database. */
  databaseUrl: string;
  registrationToken: string;
  /** The server's signing key: PKCS#8 DER (base64) and key version (the part after `ed25519:`). */
  keypair: { document: string; version: string };
  /** `tracing` env-filter directives (default `info`). */
  logFilter?: string;
}

/** A TOML value: what the config generator writes. */
type TomlValue = string | number | boolean | string[] | { [key: string]: TomlValue };

/** Syntax of a tracing env-filter: directives like `info`, `palpo=debug,diesel=warn`. */
const LOG_FILTER = /^[A-Za-z0-9_:=,.\-[\]{}"]+$/;

export function checkPalpoLogFilter(filter: string): string {
  if (!LOG_FILTER.test(filter)) {
    throw new CandidateError(`Palpo log filter "${filter}" is not a tracing filter such as info or palpo=debug,warn (from option or LAZYJOIN_PALPO_LOG)`);
  }
  return filter;
}

export function palpoConfig(c: PalpoConfigInput): Record<string, TomlValue> {
  const paths = palpoInstancePaths(c.dir);
  return {
    server_name: c.serverName,
    listen_addr: `127.0.0.1:${c.listenPort}`,
    enable_tls: true,
    // Parsed by 0.0.2 but not read by its listener (see the module comment); kept for clarity.
    tls: { certs: paths.tlsCert, key: paths.tlsKey },
    allow_federation: true,
    allow_registration: false,
    registration_token: c.registrationToken,
    allow_check_for_updates: false,
    // The default appends " ⚡️" to every new user's display name.
    enable_lightning_bolt: false,
    // The admin room is made by a server user at first start: events unrelated to any test.
    enable_admin_room: false,
    // Presence EDUs are federation traffic unrelated to joins; they would only add noise.
    allow_local_presence: false,
    allow_incoming_presence: false,
    allow_outgoing_presence: false,
    allow_outgoing_read_receipts: false,
    // No notary: keys come from the origin servers (the remotes) only.
    trusted_servers: [],
    query_trusted_key_servers_first: false,
    query_trusted_key_servers_first_on_join: false,
    only_query_trusted_key_servers: false,
    // Events queued for remotes of earlier tests are not sent again at a restart.
    startup_netburst: false,
    space_path: paths.space,
    rust_log: checkPalpoLogFilter(c.logFilter ?? 'info'),
    log_format: 'compact',
    keypair: { document: c.keypair.document, version: c.keypair.version },
    db: { url: c.databaseUrl, pool_size: 10 },
    well_known: { server: c.serverName, client: `https://${c.serverName}` },
  };
}

/** A fresh Ed25519 signing key as Palpo reads it: PKCS#8 DER in base64, and a key version. */
export function palpoKeypair(): { document: string; version: string } {
  const { privateKey } = generateKeyPairSync('ed25519');
  return {
    document: privateKey.export({ format: 'der', type: 'pkcs8' }).toString('base64'),
    version: `a_${randomBytes(3).toString('hex')}`,
  };
}

/** The instance folder's file names, fixed so that a restart finds the same files. */
export function palpoInstancePaths(dir: string) {
  return {
    config: `${dir}/palpo.toml`,
    // Fixed by Palpo 0.0.2: relative to its working directory, which is `dir`.
    tlsCert: `${dir}/certs/cert.pem`,
    tlsKey: `${dir}/certs/key.pem`,
    space: `${dir}/space`,
  };
}

// ---- TOML output (the few forms the config uses) ----

function tomlString(s: string): string {
  return JSON.stringify(s); // a TOML basic string is a JSON string for these characters
}

function tomlInline(value: TomlValue): string {
  if (typeof value === 'string') return tomlString(value);
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (Array.isArray(value)) return `[${value.map(tomlString).join(', ')}]`;
  throw new Error('tables are written as [sections]');
}

/** Top-level keys first, then one `[section]` per table (one level deep, which is all Palpo reads). */
export function toToml(config: Record<string, TomlValue>): string {
  const top: string[] = [];
  const sections: string[] = [];
  for (const [key, value] of Object.entries(config)) {
    if (typeof value === 'object' && !Array.isArray(value)) {
      sections.push(`\n[${key}]`, ...Object.entries(value).map(([k, v]) => `${k} = ${tomlInline(v)}`));
    } else {
      top.push(`${key} = ${tomlInline(value)}`);
    }
  }
  return `${[...top, ...sections].join('\n')}\n`;
}

export interface PalpoInstanceInput extends Omit<PalpoConfigInput, 'keypair'> {
  tls: { certPem: string; keyPem: string };
}

/** Every file one Palpo instance needs (config with a fresh signing key, TLS pair): the one place where an instance is described. */
export function palpoInstanceFiles(i: PalpoInstanceInput): InstanceFile[] {
  const paths = palpoInstancePaths(i.dir);
  const { tls, ...rest } = i;
  return [
    { path: paths.tlsCert, content: tls.certPem, mode: 0o644 },
    { path: paths.tlsKey, content: tls.keyPem, mode: 0o600 },
    { path: paths.config, content: toToml(palpoConfig({ ...rest, keypair: palpoKeypair() })), mode: 0o600 },
  ];
}

/**
 * The environment of the Palpo process: the config file, and OpenSSL's roots narrowed to the suite
 * CA (an empty folder as SSL_CERT_DIR), so outbound federation trusts nothing else.
 */
export function palpoEnv(base: NodeJS.ProcessEnv, configPath: string, caCertPath: string, emptyCertDir: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  // Any PALPO_* variable of the caller would override the generated config.
  for (const [k, v] of Object.entries(base)) if (!k.startsWith('PALPO_')) env[k] = v;
  return { ...env, PALPO_CONFIG: configPath, SSL_CERT_FILE: caCertPath, SSL_CERT_DIR: emptyCertDir, RUST_BACKTRACE: '1' };
}
