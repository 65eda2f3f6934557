/**
 * The Conduit family (Conduit, conduwuit, continuwuity, tuwunel): the TOML settings lazyjoin
 * needs of them, used by the container kinds and by the operator's recipe
 * (`lazyjoin external-config --implementation <name>`) alike. Key names come from each project's
 * sources and example configs (see the project's reference notes on homeservers); lazyjoin has NOT
 * run any of these servers, so every line here is written from documentation only.
 */

export const CONDUIT_FAMILY = ['conduit', 'conduwuit', 'continuwuity', 'tuwunel'] as const;
export type ConduitFamilyName = (typeof CONDUIT_FAMILY)[number];

export type TomlValue = string | number | boolean | Array<string | number>;

interface FamilyFacts {
  /** The environment variable naming the config file. */
  configEnv: string;
  /** Outbound requests are checked against `ip_range_denylist` (loopback included by default). */
  hasDenylist: boolean;
  /** `query_trusted_key_servers_first(_on_join)` exist (they would ask a notary first). */
  hasTrustedFirst: boolean;
  /** `allow_{local,incoming,outgoing}_presence` exist. */
  hasPresenceSwitches: boolean;
  /** `[global.tls] dual_protocol` serves plain HTTP and TLS on each port. */
  hasDualProtocol: boolean;
  /** Extra keys the server needs to let the suite register users. */
  registrationExtra: Record<string, TomlValue>;
  /** How outbound federation is made to trust the suite CA, in a sentence. */
  trust: string;
}

export const CONDUIT_FAMILY_FACTS: Record<ConduitFamilyName, FamilyFacts> = {
  conduit: {
    configEnv: 'CONDUIT_CONFIG',
    hasDenylist: false,
    hasTrustedFirst: false,
    hasPresenceSwitches: false,
    hasDualProtocol: false,
    registrationExtra: {},
    trust: 'reqwest with rustls-native-certs, which reads SSL_CERT_FILE: point it at the suite CA (there is no skip-verification option)',
  },
  conduwuit: {
    configEnv: 'CONDUWUIT_CONFIG',
    hasDenylist: true,
    hasTrustedFirst: true,
    hasPresenceSwitches: true,
    hasDualProtocol: true,
    registrationExtra: {},
    trust: "the platform trust store: add the suite CA to it (update-ca-certificates), as conduwuit's own Complement image does; SSL_CERT_FILE is set too",
  },
  continuwuity: {
    configEnv: 'CONTINUWUITY_CONFIG',
    hasDenylist: true,
    hasTrustedFirst: true,
    hasPresenceSwitches: true,
    hasDualProtocol: true,
    // First-run mode interferes with registration (continuwuity's own note on this hidden key).
    registrationExtra: { force_disable_first_run_mode: true },
    trust: 'the platform trust store, which its docs say to extend with SSL_CERT_FILE: point it at the suite CA',
  },
  tuwunel: {
    configEnv: 'TUWUNEL_CONFIG',
    hasDenylist: true,
    hasTrustedFirst: true,
    hasPresenceSwitches: true,
    hasDualProtocol: true,
    registrationExtra: {},
    trust: 'the platform trust store, which its docs say to extend with SSL_CERT_FILE: point it at the suite CA',
  },
};

export function isConduitFamily(name: string): name is ConduitFamilyName {
  return (CONDUIT_FAMILY as readonly string[]).includes(name);
}

export interface ConduitLazyjoinInput {
  registrationToken: string;
  tlsCertPath: string;
  tlsKeyPath: string;
}

/**
 * The `[global]` and `[global.tls]` keys lazyjoin needs: federation on, users through a
 * registration token, no notary key servers, loopback not denied, presence off, TLS from the
 * suite CA.
 */
export function conduitLazyjoinSettings(name: ConduitFamilyName, c: ConduitLazyjoinInput): { global: Record<string, TomlValue>; tls: Record<string, TomlValue> } {
  const facts = CONDUIT_FAMILY_FACTS[name];
  const global: Record<string, TomlValue> = {
    allow_federation: true,
    // Registration only with the token: closed to anyone else.
    allow_registration: true,
    registration_token: c.registrationToken,
    ...facts.registrationExtra,
    trusted_servers: [],
  };
  if (facts.hasTrustedFirst) Object.assign(global, { query_trusted_key_servers_first: false, query_trusted_key_servers_first_on_join: false });
  if (facts.hasDenylist) global.ip_range_denylist = [];
  if (facts.hasPresenceSwitches) Object.assign(global, { allow_local_presence: false, allow_incoming_presence: false, allow_outgoing_presence: false });
  const tls: Record<string, TomlValue> = { certs: c.tlsCertPath, key: c.tlsKeyPath };
  if (facts.hasDualProtocol) tls.dual_protocol = true;
  return { global, tls };
}

/** The environment the server process needs: its config file, and the suite CA as trust root. */
export function conduitFamilyEnv(name: ConduitFamilyName, configPath: string, caCertPath: string): Record<string, string> {
  return { [CONDUIT_FAMILY_FACTS[name].configEnv]: configPath, SSL_CERT_FILE: caCertPath };
}

/** One TOML table of plain values; strings as JSON strings, which are valid TOML basic strings. */
export function tomlTable(name: string, values: Record<string, TomlValue>): string {
  const literal = (v: string | number | boolean) => JSON.stringify(v);
  const lines = Object.entries(values).map(([key, v]) => `${key} = ${Array.isArray(v) ? `[${v.map(literal).join(', ')}]` : literal(v)}`);
  return `[${name}]\n${lines.join('\n')}\n`;
}
