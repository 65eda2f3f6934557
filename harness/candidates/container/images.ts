/**
 * The candidate images defined in `docker/`: their names, build contexts and build arguments, used
 * both by `npm run images` (scripts/images.ts, through the engine's command line) and by the
 * container driver when an image is missing (through the engine's API).
 *
 * An image records a hash of its inputs (Containerfile, context files, build arguments) in the
 * label `io.lazyjoin.inputs`, so that an image built from other inputs is rebuilt, never reused.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ContainerRuntimeClient } from 'testcontainers';
import { DEFAULT_DENDRITE_VERSION, checkDendriteVersion } from '../dendrite/install.ts';
import { SYNAPSE_CONTAINER_VERSION, checkSynapseVersion } from '../synapse/install.ts';
import { CandidateError } from '../types.ts';

export const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

/** The label holding the inputs hash. */
export const INPUTS_LABEL = 'io.lazyjoin.inputs';

/** Base images for a machine that reaches Docker Hub; `npm run images` can make local ones instead. */
export const UPSTREAM_BASES = {
  python: 'docker.io/library/python:3.11-slim-bookworm',
  go: 'docker.io/library/golang:1.22-bookworm',
  debian: 'docker.io/library/debian:bookworm-slim',
} as const;

/** Which base images a build uses: upstream by default, or the local ones `npm run images` made. */
export interface BaseImages {
  /** A Debian bookworm image with python3 (3.11) and python3-venv. */
  python: string;
  /** A Debian bookworm image with Go (>= 1.21) at /usr/local/go/bin. */
  go: string;
  /** A Debian bookworm runtime image. */
  debian: string;
}

export interface ImageDefinition {
  kind: 'synapse' | 'dendrite';
  version: string;
  /**
   * `localhost/lazyjoin-<kind>:<version>` (Synapse: `<version>-<recipe hash>`, see synapseImage):
   * local by construction, never pulled.
   */
  tag: string;
  /** Absolute path of the build context. */
  context: string;
  /** Paths relative to `context`: the Containerfile, then every file the build copies. */
  containerfile: string;
  files: string[];
  buildArgs: Record<string, string>;
}

/** Where `npm run images` records the bases it built or chose, for the driver's own builds. */
function basesRecord(cacheDir: string): string {
  return join(cacheDir, 'images', 'bases.json');
}

export function recordBases(cacheDir: string, bases: BaseImages): void {
  mkdirSync(dirname(basesRecord(cacheDir)), { recursive: true });
  writeFileSync(basesRecord(cacheDir), `${JSON.stringify(bases, null, 2)}\n`);
}

/**
 * The bases a build uses: env `LAZYJOIN_BASE_IMAGE` / `LAZYJOIN_GO_IMAGE` first, else those
 * recorded by `npm run images`, else upstream. The same bases give the same inputs hash, so an
 * image `npm run images` built is found current by the driver.
 */
export function basesFor(cacheDir: string, env: NodeJS.ProcessEnv = process.env): BaseImages {
  const recorded: Partial<BaseImages> = existsSync(basesRecord(cacheDir)) ? JSON.parse(readFileSync(basesRecord(cacheDir), 'utf8')) : {};
  const local = env.LAZYJOIN_BASE_IMAGE;
  return {
    python: local ?? recorded.python ?? UPSTREAM_BASES.python,
    go: env.LAZYJOIN_GO_IMAGE ?? recorded.go ?? UPSTREAM_BASES.go,
    debian: local ?? recorded.debian ?? UPSTREAM_BASES.debian,
  };
}

export function synapseImage(version = SYNAPSE_CONTAINER_VERSION, bases: BaseImages = UPSTREAM_BASES): ImageDefinition {
  checkSynapseVersion(version);
  const [major, minor] = version.split('.');
  const constraints = `constraints-${major}.${minor}.txt`;
  // The pins are the process driver's: the build context is the repository, of which the build
  // reads only the Containerfile and the constraints files.
  const pinsDir = 'harness/candidates/synapse';
  const constraintsFiles = readdirSync(join(repoRoot, pinsDir)).filter((f) => /^constraints-.*\.txt$/.test(f)).sort();
  const hasConstraints = constraintsFiles.includes(constraints);
  const containerfile = 'docker/synapse/Containerfile';
  const files = constraintsFiles.map((f) => `${pinsDir}/${f}`);
  return {
    kind: 'synapse',
    version,
    // The tag names the recipe (Containerfile and pins), not only the version: an image of an
    // older recipe (e.g. one without psycopg2) keeps its own tag, so a checkout of either recipe
    // finds its own image instead of rebuilding the other's back and forth. The bases, which
    // change daily, stay out of the tag: the inputs label decides a rebuild on them.
    tag: `localhost/lazyjoin-synapse:${version}-${recipeHash(repoRoot, containerfile, files)}`,
    context: repoRoot,
    containerfile,
    files,
    buildArgs: { BASE_IMAGE: bases.python, SYNAPSE_VERSION: version, CONSTRAINTS: hasConstraints ? constraints : 'none' },
  };
}

/** Hash (8 hex digits) of a recipe's files: the Containerfile and every file the build copies. */
export function recipeHash(context: string, containerfile: string, files: string[]): string {
  const hash = createHash('sha256');
  for (const file of [containerfile, ...files]) hash.update(`\0${file}\0`).update(readFileSync(join(context, file)));
  return hash.digest('hex').slice(0, 8);
}

export function dendriteImage(version = DEFAULT_DENDRITE_VERSION, bases: BaseImages = UPSTREAM_BASES): ImageDefinition {
  checkDendriteVersion(version);
  return {
    kind: 'dendrite',
    version,
    tag: `localhost/lazyjoin-dendrite:${version}`,
    context: join(repoRoot, 'docker', 'dendrite'),
    containerfile: 'Containerfile',
    files: [],
    buildArgs: { GO_IMAGE: bases.go, BASE_IMAGE: bases.debian, DENDRITE_VERSION: version },
  };
}

/** Hash of everything a build reads: the Containerfile, the files it copies, the build arguments. */
export function inputsHash(def: ImageDefinition): string {
  const hash = createHash('sha256');
  for (const file of [def.containerfile, ...def.files]) hash.update(`\0${file}\0`).update(readFileSync(join(def.context, file)));
  hash.update(JSON.stringify(Object.entries(def.buildArgs).sort()));
  return hash.digest('hex').slice(0, 16);
}

/** The inputs hash an existing image was built from, or undefined when there is no such image. */
export async function builtInputs(client: ContainerRuntimeClient, tag: string): Promise<string | undefined> {
  const { ImageName } = await import('testcontainers');
  const name = ImageName.fromString(tag);
  if (!(await client.image.exists(name))) return undefined;
  const info = await client.image.inspect(name);
  return info.Config?.Labels?.[INPUTS_LABEL] ?? '';
}

/**
 * Builds `def` through the engine's API unless an image with the same inputs exists. Throws a
 * one-line CandidateError naming the image and the build's last output lines.
 */
export async function ensureImage(client: ContainerRuntimeClient, def: ImageDefinition): Promise<'cached' | 'built'> {
  const inputs = inputsHash(def);
  if ((await builtInputs(client, def.tag)) === inputs) return 'cached';
  const output: string[] = [];
  try {
    const stream = await client.container.dockerode.buildImage(
      { context: def.context, src: [def.containerfile, ...def.files] },
      {
        t: def.tag,
        dockerfile: def.containerfile,
        buildargs: def.buildArgs,
        labels: { [INPUTS_LABEL]: inputs },
        networkmode: 'host',
      },
    );
    await followBuild(stream, output);
  } catch (err) {
    throw new CandidateError(
      `building image ${def.tag} from ${relative(repoRoot, join(def.context, def.containerfile))} failed: ${(err as Error).message.split('\n')[0]} (prepare it with \`npm run images\`)`,
      output.slice(-30).join(''),
    );
  }
  return 'built';
}

/** Reads a build's JSON progress stream to its end; rejects on the first error message. */
function followBuild(stream: NodeJS.ReadableStream, output: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    let pending = '';
    let failure: string | undefined;
    stream.on('data', (chunk: Buffer) => {
      pending += chunk.toString('utf8');
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      for (const line of lines.filter(Boolean)) {
        try {
          const message = JSON.parse(line) as { stream?: string; error?: string };
          if (message.stream) output.push(message.stream);
          if (message.error) failure ??= message.error;
        } catch {
          output.push(line);
        }
      }
    });
    stream.on('error', reject);
    stream.on('end', () => (failure ? reject(new Error(failure)) : resolve()));
  });
}
