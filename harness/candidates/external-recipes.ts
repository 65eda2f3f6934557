/**
 * Operator recipes: what a server run by hand needs so that lazyjoin can test it as the `external`
 * candidate, in that server's own config syntax (`lazyjoin external-config --implementation X`).
 * The settings come from the same functions the drivers configure their candidates with
 * (synapseLazyjoinSettings, dendriteLazyjoinSettings, conduitLazyjoinSettings), so a recipe and a
 * driver cannot drift apart. Synapse and Dendrite recipes are run by lazyjoin's own CI; the
 * Conduit family's are written from documentation only and say so.
 */
import { randomBytes } from 'node:crypto';
import { isIP } from 'node:net';
import { join, resolve } from 'node:path';
import { stringify } from 'yaml';
import { CONDUIT_FAMILY, CONDUIT_FAMILY_FACTS, conduitLazyjoinSettings, isConduitFamily, tomlTable } from './conduit/config.ts';
import { dendriteArgs, dendriteEnv, dendriteLazyjoinSettings } from './dendrite/config.ts';
import { DEFAULT_DENDRITE_VERSION } from './dendrite/install.ts';
import { synapseLazyjoinSettings, synapseListeners } from './synapse/config.ts';
import { DEFAULT_SYNAPSE_VERSION } from './synapse/install.ts';

export const RECIPE_IMPLEMENTATIONS = ['synapse', 'dendrite', ...CONDUIT_FAMILY] as const;
export type RecipeImplementation = (typeof RECIPE_IMPLEMENTATIONS)[number];

/** Which recipes lazyjoin's CI runs against a real server, and with which version. */
export const VERIFIED_RECIPES: Partial<Record<RecipeImplementation, string>> = {
  synapse: DEFAULT_SYNAPSE_VERSION,
  dendrite: DEFAULT_DENDRITE_VERSION,
};

export interface RecipeInput {
  implementation: RecipeImplementation;
  /** `host:port` the server federates as, reached directly (no .well-known, no SRV). */
  serverName: string;
  /** Port of the plain-HTTP client listener, when the server has a separate one. */
  clientPort: number;
  /** The suite CA's certificate path. */
  caCertPath: string;
  /** Where `lazyjoin ca issue <host> --out DIR` put (or will put) `<host>.crt` and `<host>.key`. */
  certDir: string;
  /** The registration shared secret (Synapse, Dendrite) or token (Conduit family); random when absent. */
  secret?: string;
}

/** Splits `host:port` (IPv6 in brackets); the port defaults to federation's 8448. */
export function splitServerName(serverName: string): { host: string; port: number } {
  const m = /^(\[[0-9a-fA-F:.]+\]|[^:\[\]]+)(?::(\d{1,5}))?$/.exec(serverName);
  if (!m || (m[2] !== undefined && (Number(m[2]) < 1 || Number(m[2]) > 65535))) {
    throw new Error(`server name "${serverName}" is not host or host:port (e.g. 127.0.0.1:8448)`);
  }
  return { host: m[1]!.replace(/^\[|\]$/g, ''), port: m[2] ? Number(m[2]) : 8448 };
}

const comment = (lines: string[]) => lines.map((l) => (l ? `# ${l}` : '#')).join('\n');

function verificationLine(name: RecipeImplementation): string {
  const version = VERIFIED_RECIPES[name];
  return version
    ? `Verified: lazyjoin's CI runs ${name} ${version} configured from this recipe.`
    : `UNVERIFIED: written from ${name}'s documentation and sources only; lazyjoin has not run it. Report what differs.`;
}

function lazyjoinEnvLines(i: RecipeInput, clientUrl: string, registration: string): string[] {
  return [
    'Then point lazyjoin at it:',
    `  export LAZYJOIN_EXTERNAL_CLIENT_URL=${clientUrl}`,
    `  export LAZYJOIN_EXTERNAL_SERVER_NAME=${i.serverName}`,
    `  export ${registration}`,
    `  export LAZYJOIN_EXTERNAL_IMPLEMENTATION=${i.implementation} LAZYJOIN_EXTERNAL_VERSION=<its version>`,
    '  npx lazyjoin run --candidate external',
  ];
}

/** The recipe's text: the settings, in the server's syntax, with how to start it and point lazyjoin at it. */
export function externalRecipe(input: RecipeInput): string {
  const i = { ...input, certDir: resolve(input.certDir), secret: input.secret ?? randomBytes(16).toString('hex') };
  const { host, port } = splitServerName(i.serverName);
  const tlsCertPath = join(i.certDir, `${host}.crt`);
  const tlsKeyPath = join(i.certDir, `${host}.key`);
  const hostInUrl = isIP(host) === 6 ? `[${host}]` : host;
  const issue = `npx lazyjoin ca issue ${host} --out ${i.certDir}`;
  const head = [
    `lazyjoin settings for ${i.implementation}, to test it as the external candidate ${i.serverName}.`,
    verificationLine(i.implementation),
    `Federation certificate (from the suite CA ${i.caCertPath}): ${issue}`,
  ];

  if (i.implementation === 'synapse') {
    const settings = {
      listeners: synapseListeners({ clientPort: i.clientPort, federationPort: port, bindAddress: host }),
      ...synapseLazyjoinSettings({ caCertPath: i.caCertPath, tlsCertPath, tlsKeyPath, registrationSharedSecret: i.secret }),
    };
    return [
      comment([
        ...head,
        'Save as lazyjoin.yaml and load it after your own configuration (later files override its top-level keys):',
        '  python -m synapse.app.homeserver -c homeserver.yaml -c lazyjoin.yaml',
        `Your homeserver.yaml keeps server_name (${i.serverName}), report_stats, database, signing key and the rest.`,
        'These listeners replace yours: plain HTTP for the client API, TLS for federation and keys.',
      ]),
      stringify(settings, { aliasDuplicateObjects: false }).trimEnd(),
      comment(['', ...lazyjoinEnvLines(i, `http://${hostInUrl}:${i.clientPort}`, `LAZYJOIN_EXTERNAL_SHARED_SECRET=${i.secret}`)]),
      '',
    ].join('\n');
  }

  if (i.implementation === 'dendrite') {
    const rootsDir = join(i.certDir, 'no-extra-roots');
    const env = dendriteEnv({}, i.caCertPath, rootsDir);
    const args = dendriteArgs({ configPath: 'dendrite.yaml', clientPort: i.clientPort, federationPort: port, tlsCertPath, tlsKeyPath, bindAddress: host });
    return [
      comment([
        ...head,
        'Merge these sections into your dendrite.yaml (one from "generate-config -dir DIR -server NAME" will do);',
        `its global.server_name must be ${i.serverName}.`,
      ]),
      stringify(dendriteLazyjoinSettings({ registrationSharedSecret: i.secret })).trimEnd(),
      comment([
        '',
        'Start it with federation over TLS from the suite CA, trusting the suite CA only (Go reads SSL_CERT_FILE and',
        'SSL_CERT_DIR; the empty folder keeps the system roots out):',
        `  mkdir -p ${rootsDir}`,
        `  ${Object.entries(env).map(([k, v]) => `${k}=${v}`).join(' ')} dendrite ${args.join(' ')}`,
        '',
        ...lazyjoinEnvLines(i, `http://${hostInUrl}:${i.clientPort}`, `LAZYJOIN_EXTERNAL_SHARED_SECRET=${i.secret}`),
      ]),
      '',
    ].join('\n');
  }

  if (isConduitFamily(i.implementation)) {
    const name = i.implementation;
    const facts = CONDUIT_FAMILY_FACTS[name];
    const needed = conduitLazyjoinSettings(name, { registrationToken: i.secret, tlsCertPath, tlsKeyPath });
    const clientUrl = facts.hasDualProtocol ? `http://${hostInUrl}:${i.clientPort}` : `https://${hostInUrl}:${port}`;
    const ports = facts.hasDualProtocol
      ? `address = ["${host}"] and port = [${i.clientPort}, ${port}] (dual_protocol serves plain HTTP and TLS on both)`
      : `address = "${host}" and port = ${port} (TLS, so the client API is https on the same port)`;
    return [
      comment([
        ...head,
        `Merge these keys into the [global] and [global.tls] tables of the file ${facts.configEnv} names;`,
        `keep your server_name (${i.serverName}) and database_path, with ${ports}.`,
      ]),
      tomlTable('global', needed.global).trimEnd(),
      tomlTable('global.tls', needed.tls).trimEnd(),
      comment([
        '',
        `Outbound federation trust: ${facts.trust}:`,
        `  SSL_CERT_FILE=${i.caCertPath} ${facts.configEnv}=<config file> ${name}`,
        'No rate-limit settings are known to apply to what the suite does.',
        '',
        ...lazyjoinEnvLines(i, clientUrl, `LAZYJOIN_EXTERNAL_REGISTRATION_TOKEN=${i.secret}`),
      ]),
      '',
    ].join('\n');
  }
  throw new Error(`no recipe for "${i.implementation}" (known: ${RECIPE_IMPLEMENTATIONS.join(', ')})`);
}
