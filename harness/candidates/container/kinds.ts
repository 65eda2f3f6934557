/**
 * Config kinds: how the container driver configures and runs each kind of image. The files come
 * from the same generators as the process drivers' (harness/candidates/<kind>/config.ts), with
 * the paths the server sees inside the container.
 */
import { dendriteArgs, dendriteEnv, dendriteInstanceFiles, dendriteInstancePaths } from '../dendrite/config.ts';
import { type InstanceFile, synapseInstanceFiles, synapseInstancePaths } from '../synapse/config.ts';
import { CandidateError } from '../types.ts';

/** The instance folder inside the container. */
export const CONTAINER_DATA_DIR = '/data';
/** Where the suite CA goes inside the container. */
export const CONTAINER_CA_PATH = `${CONTAINER_DATA_DIR}/suite-ca.pem`;

export interface InstanceInput {
  serverName: string;
  clientPort: number;
  federationPort: number;
  tls: { certPem: string; keyPem: string };
  registrationSharedSecret: string;
  /** `127.0.0.1` with host networking, `0.0.0.0` in a bridged container. */
  bindAddress: string;
}

export interface ContainerInstance {
  /** Files copied into the container before it starts (the suite CA is added by the driver). */
  files: InstanceFile[];
  /** Arguments after the image's entrypoint. */
  command: string[];
  environment: Record<string, string>;
  /** A client-API path that answers 200 once the server is up. */
  healthPath: string;
}

export interface ContainerKind {
  name: string;
  instance(input: InstanceInput): ContainerInstance;
}

const synapse: ContainerKind = {
  name: 'synapse',
  instance(i) {
    const files = synapseInstanceFiles({
      serverName: i.serverName,
      clientPort: i.clientPort,
      federationPort: i.federationPort,
      dir: CONTAINER_DATA_DIR,
      caCertPath: CONTAINER_CA_PATH,
      tls: i.tls,
      registrationSharedSecret: i.registrationSharedSecret,
      bindAddress: i.bindAddress,
    });
    return {
      files,
      command: ['-c', synapseInstancePaths(CONTAINER_DATA_DIR).config],
      environment: { PYTHONUNBUFFERED: '1' },
      healthPath: '/health',
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
      registrationSharedSecret: i.registrationSharedSecret,
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
    };
  },
};

export const containerKinds: Record<string, ContainerKind> = { synapse, dendrite };

export function containerKind(name: string, source: string): ContainerKind {
  const kind = containerKinds[name];
  if (!kind) {
    throw new CandidateError(`container config kind "${name}" (from ${source}) is not one of ${Object.keys(containerKinds).join(', ')}`);
  }
  return kind;
}
