/**
 * Config kinds: how the container driver configures and runs each kind of image. The files come
 * from the same generators as the process drivers' (harness/candidates/<kind>/config.ts), with
 * the paths the server sees inside the container.
 */
import { dendriteArgs, dendriteEnv, dendriteInstanceFiles, dendriteInstancePaths } from '../dendrite/config.ts';
import { checkSynapseLogLevel, synapseInstanceFiles, synapseInstancePaths } from '../synapse/config.ts';
import { synapsePostgresDatabaseConfig } from '../synapse/postgres.ts';
import type { PostgresDatabase } from '../postgres.ts';
import { conduitFamilyEnv, conduitLazyjoinSettings, tomlTable, type ConduitFamilyName, type TomlValue } from '../conduit/config.ts';
import { CandidateError, type InstanceFile } from '../types.ts';

export { tomlTable };

/** The instance folder inside the container. */
export const CONTAINER_DATA_DIR = '/data';
/** Where the suite CA goes inside the container. */
export const CONTAINER_CA_PATH = `${CONTAINER_DATA_DIR}/suite-ca.pem`;

export interface InstanceInput {
  serverName: string;
  clientPort: number;
  federationPort: number;
  tls: { certPem: string; keyPem: string };
  /** The shared secret or registration token, whichever the kind registers users with. */
  registrationSecret: string;
  /** `127.0.0.1` with host networking, `0.0.0.0` in a bridged container. */
  bindAddress: string;
  /**
   * A fresh database on the harness's PostgreSQL (kinds with `postgres: true` only), reached over
   * loopback TCP with the role's password: the container shares the host's network namespace, so
   * the server's 127.0.0.1 listener is its own 127.0.0.1 (see driver.ts). Without it: SQLite in /data.
   */
  postgres?: PostgresDatabase;
}

export interface ContainerInstance {
  /** Files copied into the container before it starts (the suite CA is added by the driver). */
  files: InstanceFile[];
  /** Arguments after the image's entrypoint. */
  command: string[];
  environment: Record<string, string>;
  /** A client-API path that answers 200 once the server is up. */
  healthPath: string;
  /**
   * How users are made: Synapse's shared-secret admin API (admin users possible), or `/register`
   * with a registration token (no admin users).
   */
  registration: 'shared-secret' | 'token';
  /**
   * A one-line cause read from the log tail of a container that ended at start, when the kind
   * knows it (e.g. an image without the PostgreSQL driver); undefined otherwise.
   */
  explainExit?(logTail: string): string | undefined;
}

export interface ContainerKind {
  name: string;
  /** Whether the kind can run on the harness's PostgreSQL (InstanceInput.postgres). */
  postgres?: boolean;
  instance(input: InstanceInput): ContainerInstance;
}

/** The host address of the PostgreSQL listener as a host-networked container sees it. */
export const CONTAINER_POSTGRES_HOST = '127.0.0.1';

/**
 * What Synapse prints at start when its virtualenv has no psycopg2 (1.98: "RuntimeError: Cannot
 * create PostgresEngine -- psycopg2 module is not installed"), or Python's own import error.
 */
const NO_PSYCOPG2 = /psycopg2 module is not installed|No module named '?psycopg2'?/;

const synapse: ContainerKind = {
  name: 'synapse',
  postgres: true,
  instance(i) {
    const files = synapseInstanceFiles({
      serverName: i.serverName,
      clientPort: i.clientPort,
      federationPort: i.federationPort,
      dir: CONTAINER_DATA_DIR,
      caCertPath: CONTAINER_CA_PATH,
      tls: i.tls,
      registrationSharedSecret: i.registrationSecret,
      bindAddress: i.bindAddress,
      logLevel: checkSynapseLogLevel(process.env.LAZYJOIN_SYNAPSE_LOG_LEVEL ?? 'INFO'),
      database: i.postgres ? synapsePostgresDatabaseConfig(i.postgres, CONTAINER_POSTGRES_HOST) : undefined,
    });
    return {
      files,
      command: ['-c', synapseInstancePaths(CONTAINER_DATA_DIR).config],
      environment: { PYTHONUNBUFFERED: '1' },
      healthPath: '/health',
      registration: 'shared-secret',
      explainExit: (logTail) =>
        i.postgres && NO_PSYCOPG2.test(logTail)
          ? "the image has no psycopg2 (Synapse's postgres extra), so it cannot run on PostgreSQL: rebuild it with `npm run images -- synapse` (docker/synapse/Containerfile installs matrix-synapse[postgres]), or give LAZYJOIN_SYNAPSE_IMAGE an image that has it"
          : undefined,
    };
  },
};

const dendrite: ContainerKind = {
  name: 'dendrite',
  instance(i) {
    const paths = dendriteInstancePaths(CONTAINER_DATA_DIR);
    const files = dendriteInstanceFiles({
      serverName: i.serverName,
      dir: CONTAINER_DATA_DIR,
      tls: i.tls,
      registrationSharedSecret: i.registrationSecret,
      logLevel: process.env.LAZYJOIN_DENDRITE_LOG_LEVEL,
    });
    // An empty file keeps the roots folder in existence; Go's loader finds no certificate in it.
    files.push({ path: `${paths.emptyCertDir}/.empty`, content: '', mode: 0o644 });
    return {
      files,
      command: dendriteArgs({
        configPath: paths.config,
        clientPort: i.clientPort,
        federationPort: i.federationPort,
        tlsCertPath: paths.tlsCert,
        tlsKeyPath: paths.tlsKey,
        bindAddress: i.bindAddress,
      }),
      environment: dendriteEnv({}, CONTAINER_CA_PATH, paths.emptyCertDir) as Record<string, string>,
      healthPath: '/_matrix/client/versions',
      registration: 'shared-secret',
    };
  },
};

/**
 * The Conduit family (conduwuit, continuwuity, tuwunel): one TOML file, both ports in one
 * listener list with `dual_protocol` (plain HTTP and TLS on each), RocksDB in /data, and the
 * settings lazyjoin needs from conduit/config.ts (the same the operator's recipe prints).
 * Conduit itself has one port, so it has no kind here. NOT verified by lazyjoin's own CI, which
 * cannot fetch these images.
 */
function conduitFamily(name: ConduitFamilyName): ContainerKind {
  return {
    name,
    instance(i) {
      const configPath = `${CONTAINER_DATA_DIR}/${name}.toml`;
      const tlsCert = `${CONTAINER_DATA_DIR}/federation.crt`;
      const tlsKey = `${CONTAINER_DATA_DIR}/federation.key`;
      const needed = conduitLazyjoinSettings(name, { registrationToken: i.registrationSecret, tlsCertPath: tlsCert, tlsKeyPath: tlsKey });
      const global: Record<string, TomlValue> = {
        server_name: i.serverName,
        address: [i.bindAddress],
        port: [i.clientPort, i.federationPort],
        database_path: `${CONTAINER_DATA_DIR}/db`,
        allow_check_for_updates: false,
        admin_room_notices: false,
        log: 'info',
        ...needed.global,
      };
      const toml = [tomlTable('global', global), tomlTable('global.tls', needed.tls)].join('\n');
      return {
        files: [
          { path: configPath, content: toml, mode: 0o644 },
          { path: tlsCert, content: i.tls.certPem, mode: 0o644 },
          { path: tlsKey, content: i.tls.keyPem, mode: 0o600 },
        ],
        command: [],
        environment: conduitFamilyEnv(name, configPath, CONTAINER_CA_PATH),
        healthPath: '/_matrix/client/versions',
        registration: 'token',
      };
    },
  };
}

const conduwuit = conduitFamily('conduwuit');
const tuwunel = conduitFamily('tuwunel');
const continuwuity = conduitFamily('continuwuity');

export const containerKinds: Record<string, ContainerKind> = { synapse, dendrite, tuwunel, continuwuity, conduwuit };

export function containerKind(name: string, source: string): ContainerKind {
  const kind = containerKinds[name];
  if (!kind) {
    throw new CandidateError(`container config kind "${name}" (from ${source}) is not one of ${Object.keys(containerKinds).join(', ')}`);
  }
  return kind;
}
