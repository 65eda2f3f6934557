/**
 * The container candidates, by name:
 *
 *   synapse-container    localhost/lazyjoin-synapse:<LAZYJOIN_SYNAPSE_VERSION or 1.98.0>-<recipe hash>,
 *                        built from docker/synapse when missing (or LAZYJOIN_SYNAPSE_IMAGE, run as
 *                        it is); SQLite, or PostgreSQL with LAZYJOIN_SYNAPSE_DATABASE=postgres
 *   synapse-container-postgres
 *                        the same image on PostgreSQL whatever LAZYJOIN_SYNAPSE_DATABASE says: a
 *                        fresh database per instance on the harness's PostgreSQL (driver.ts)
 *   dendrite-container   localhost/lazyjoin-dendrite:<LAZYJOIN_DENDRITE_VERSION or v0.13.8>, built
 *                        from docker/dendrite when missing (or LAZYJOIN_DENDRITE_IMAGE)
 *   container            any image: LAZYJOIN_CONTAINER_IMAGE, configured as LAZYJOIN_CONTAINER_KIND
 *                        (synapse, dendrite, tuwunel, continuwuity), pulled when missing
 *
 * All take LAZYJOIN_CONTAINER_NETWORK (host or bridge; see driver.ts).
 */
import { DEFAULT_DENDRITE_VERSION } from '../dendrite/install.ts';
import { SYNAPSE_CONTAINER_VERSION } from '../synapse/install.ts';
import { checkSynapseDatabase, type SynapseDatabase } from '../synapse/postgres.ts';
import { CandidateError, type Candidate, type DriverOptions } from '../types.ts';
import { ContainerCandidate } from './driver.ts';
import { basesFor, dendriteImage, synapseImage } from './images.ts';
import { containerKind, containerKinds } from './kinds.ts';

export function createSynapseContainer(opts: DriverOptions, forced?: SynapseDatabase): Candidate {
  // Bad input is refused before any engine or image work.
  const database = forced ?? checkSynapseDatabase(process.env.LAZYJOIN_SYNAPSE_DATABASE ?? 'sqlite');
  const version = opts.version ?? process.env.LAZYJOIN_SYNAPSE_VERSION ?? SYNAPSE_CONTAINER_VERSION;
  const definition = synapseImage(version, basesFor(opts.cacheDir));
  const image = process.env.LAZYJOIN_SYNAPSE_IMAGE;
  return new ContainerCandidate({
    ...opts,
    candidateName: forced ? `synapse-container-${forced}` : 'synapse-container',
    kind: containerKinds.synapse!,
    image: image ?? definition.tag,
    versionHint: version,
    definition: image ? undefined : definition,
    database,
  });
}

/** Synapse in a container on PostgreSQL whatever `LAZYJOIN_SYNAPSE_DATABASE` says (`synapse-container-postgres`). */
export function createSynapseContainerPostgres(opts: DriverOptions): Candidate {
  return createSynapseContainer(opts, 'postgres');
}

export function createDendriteContainer(opts: DriverOptions): Candidate {
  const version = opts.version ?? process.env.LAZYJOIN_DENDRITE_VERSION ?? DEFAULT_DENDRITE_VERSION;
  const definition = dendriteImage(version, basesFor(opts.cacheDir));
  const image = process.env.LAZYJOIN_DENDRITE_IMAGE;
  return new ContainerCandidate({
    ...opts,
    candidateName: 'dendrite-container',
    kind: containerKinds.dendrite!,
    image: image ?? definition.tag,
    versionHint: version,
    definition: image ? undefined : definition,
  });
}

export function createNamedImageContainer(opts: DriverOptions, env: NodeJS.ProcessEnv = process.env): Candidate {
  const image = env.LAZYJOIN_CONTAINER_IMAGE;
  const kindName = env.LAZYJOIN_CONTAINER_KIND;
  const missing = [image ? undefined : 'LAZYJOIN_CONTAINER_IMAGE', kindName ? undefined : 'LAZYJOIN_CONTAINER_KIND'].filter(Boolean);
  if (missing.length) {
    throw new CandidateError(`container candidate: missing environment variable(s): ${missing.join(', ')} (kinds: ${Object.keys(containerKinds).join(', ')})`);
  }
  return new ContainerCandidate({
    ...opts,
    candidateName: 'container',
    kind: containerKind(kindName!, 'LAZYJOIN_CONTAINER_KIND'),
    image: image!,
  });
}
