/**
 * The container driver: bad input ends in a one-line error naming the cause and leaves nothing
 * running; a live Synapse container starts, serves, restarts with its data, and is removed at
 * teardown and when the process is interrupted.
 *
 * The live cases need a container engine and the Synapse image (`npm run images`); without them
 * they are skipped with that reason. The bad-input cases that need neither always run.
 */
import { expect, test } from '@playwright/test';
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ImageName, type ContainerRuntimeClient } from 'testcontainers';
import { createCandidate, defaultCacheDir } from '../../harness/candidates/index.ts';
import { containerNetworkFromEnv, ContainerCandidate } from '../../harness/candidates/container/driver.ts';
import { containerEngine, resolveDockerHost, trackedContainerIds } from '../../harness/candidates/container/engine.ts';
import { createNamedImageContainer, createSynapseContainer, createSynapseContainerPostgres } from '../../harness/candidates/container/index.ts';
import { ensureImage, synapseImage } from '../../harness/candidates/container/images.ts';
import { containerKinds } from '../../harness/candidates/container/kinds.ts';
import { acquirePostgres, findPostgresBinaries, postgresIdentifier, type PostgresService } from '../../harness/candidates/postgres.ts';
import { CandidateError, type DriverOptions } from '../../harness/candidates/types.ts';
import { CandidateClient } from '../../harness/client/client.ts';
import { issueServerCert, suiteCA } from '../../harness/remote/pki.ts';

function postgresBinaries(): ReturnType<typeof findPostgresBinaries> | undefined {
  try {
    return findPostgresBinaries();
  } catch {
    return undefined;
  }
}

/** One query as the cluster's superuser over its socket; rows on lines, columns as psql -A prints them. */
function superuserQuery(pg: PostgresService, sql: string, database = 'postgres'): string {
  const args = ['-X', '-w', '-At', '-v', 'ON_ERROR_STOP=1', '-h', pg.socketDir, '-p', String(pg.port), '-U', 'postgres', '-d', database, '-c', sql];
  return execFileSync(postgresBinaries()!.psql, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
}

/** The first line of an error: the part that must name the cause on its own. */
function headline(err: unknown): string {
  return (err as Error).message.split('\n')[0]!;
}

async function failure(work: () => unknown): Promise<CandidateError> {
  const err = await Promise.resolve()
    .then(work)
    .then(
      () => undefined,
      (e: unknown) => e,
    );
  expect(err, 'should have failed').toBeInstanceOf(CandidateError);
  return err as CandidateError;
}

/** Instance names unique to this run: a container left by an earlier, killed run cannot interfere. */
const run = randomBytes(3).toString('hex');
const instance = (base: string) => `${base}-${run}`;

let dir: string;
test.beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'lazyjoin-container-'));
});
test.afterEach(() => rmSync(dir, { recursive: true, force: true }));

function driverOptions(instanceName: string): DriverOptions {
  return { instanceName, workDir: join(dir, 'work'), cacheDir: defaultCacheDir(), caCertPath: suiteCA().certPath, issueCert: issueServerCert };
}

test.describe('container driver: bad input without an engine', () => {
  test('a DOCKER_HOST socket that does not exist is named, before any work', () => {
    const socket = join(dir, 'no-such.sock');
    expect(() => resolveDockerHost(dir, { DOCKER_HOST: `unix://${socket}` })).toThrow(CandidateError);
    expect(() => resolveDockerHost(dir, { DOCKER_HOST: `unix://${socket}` })).toThrow(
      `no container engine: DOCKER_HOST=unix://${socket} names a socket that does not exist`,
    );
  });

  test('a run with a dead DOCKER_HOST ends with that one line, and its process exits', async () => {
    // A fresh process: this worker may already hold a working engine client.
    const socket = join(dir, 'no-such.sock');
    const script = `
      import { createCandidate } from './harness/candidates/index.ts';
      import { createSuiteCA, issueServerCert } from './harness/remote/pki.ts';
      const ca = await createSuiteCA(${JSON.stringify(join(dir, 'ca'))});
      const candidate = createCandidate('synapse-container', { instanceName: 'dead-host', workDir: ${JSON.stringify(join(dir, 'work'))},
        cacheDir: ${JSON.stringify(join(dir, 'cache'))}, caCertPath: ca.certPath, issueCert: (names) => issueServerCert(names, ca) });
      try { await candidate.start(); console.log('started'); } catch (err) { console.log(err.message); }`;
    const out = await runScript(script, { DOCKER_HOST: `unix://${socket}` });
    expect(out.trim()).toBe(
      `no container engine: DOCKER_HOST=unix://${socket} names a socket that does not exist (start Docker, or Podman's socket with \`npm run images\`)`,
    );
  });

  test('the named-image driver lists the variables it lacks', async () => {
    const err = await failure(() => createNamedImageContainer(driverOptions('named'), {}));
    expect(headline(err)).toBe(
      'container candidate: missing environment variable(s): LAZYJOIN_CONTAINER_IMAGE, LAZYJOIN_CONTAINER_KIND (kinds: synapse, dendrite, tuwunel, continuwuity, conduwuit)',
    );
  });

  test('an unknown config kind is refused when the candidate is created', async () => {
    const err = await failure(() => createNamedImageContainer(driverOptions('named'), { LAZYJOIN_CONTAINER_IMAGE: 'x', LAZYJOIN_CONTAINER_KIND: 'conduit' }));
    expect(headline(err)).toBe('container config kind "conduit" (from LAZYJOIN_CONTAINER_KIND) is not one of synapse, dendrite, tuwunel, continuwuity, conduwuit');
  });

  test('an unknown network mode is refused', async () => {
    const err = await failure(() => containerNetworkFromEnv({ LAZYJOIN_CONTAINER_NETWORK: 'overlay' }));
    expect(headline(err)).toBe('LAZYJOIN_CONTAINER_NETWORK="overlay" is not host or bridge');
  });

  test('the drivers are registered under their project names', () => {
    for (const name of ['synapse-container', 'synapse-container-postgres', 'dendrite-container']) {
      expect(createCandidate(name, driverOptions(name)).info).toMatchObject({ name, driver: 'container' });
    }
  });

  test('Synapse in a container: the database comes from LAZYJOIN_SYNAPSE_DATABASE, or is fixed by synapse-container-postgres', async () => {
    const saved = process.env.LAZYJOIN_SYNAPSE_DATABASE;
    try {
      delete process.env.LAZYJOIN_SYNAPSE_DATABASE;
      expect(createSynapseContainer(driverOptions('db')).info).toMatchObject({ name: 'synapse-container', database: 'sqlite' });
      expect(createSynapseContainerPostgres(driverOptions('db')).info).toMatchObject({ name: 'synapse-container-postgres', database: 'postgres' });
      process.env.LAZYJOIN_SYNAPSE_DATABASE = 'Postgres';
      expect(createSynapseContainer(driverOptions('db')).info).toMatchObject({ name: 'synapse-container', database: 'postgres' });
      process.env.LAZYJOIN_SYNAPSE_DATABASE = 'sqlite';
      expect(createSynapseContainerPostgres(driverOptions('db')).info).toMatchObject({ database: 'postgres' });
      process.env.LAZYJOIN_SYNAPSE_DATABASE = 'mysql';
      const err = await failure(() => createSynapseContainer(driverOptions('db')));
      expect(headline(err)).toBe('Synapse database "mysql" is not one of sqlite, postgres (from option or LAZYJOIN_SYNAPSE_DATABASE)');
    } finally {
      if (saved === undefined) delete process.env.LAZYJOIN_SYNAPSE_DATABASE;
      else process.env.LAZYJOIN_SYNAPSE_DATABASE = saved;
    }
  });

  test('PostgreSQL in a container is refused, before any work, in bridge mode and for kinds that cannot use it', async () => {
    const options = { ...driverOptions('pg'), candidateName: 'pg', image: 'x', database: 'postgres' as const };
    const bridged = await failure(() => new ContainerCandidate({ ...options, kind: containerKinds.synapse!, network: 'bridge' }));
    expect(headline(bridged)).toBe(
      "pg: PostgreSQL needs LAZYJOIN_CONTAINER_NETWORK=host (the harness's PostgreSQL listens on the host's loopback, which a bridged container cannot reach)",
    );
    const dendrite = await failure(() => new ContainerCandidate({ ...options, kind: containerKinds.dendrite!, network: 'host' }));
    expect(headline(dendrite)).toBe('pg: the dendrite kind cannot run on PostgreSQL');
    // The control: the same options on host networking are accepted.
    expect(new ContainerCandidate({ ...options, kind: containerKinds.synapse!, network: 'host' }).info.database).toBe('postgres');
  });
});

test.describe('container driver on a live engine', () => {
  let engine: ContainerRuntimeClient | undefined;
  let skipReason = '';
  const synapseTag = synapseImage().tag;

  test.beforeAll(async () => {
    try {
      engine = await containerEngine(defaultCacheDir());
    } catch (err) {
      skipReason = headline(err);
      return;
    }
    if (!(await engine.image.exists(ImageName.fromString(synapseTag)))) skipReason = `image ${synapseTag} not built (npm run images)`;
  });

  test.beforeEach(() => {
    test.skip(skipReason !== '', skipReason);
    // A container start is seconds on an idle machine, tens of seconds on a busy one.
    test.setTimeout(180_000);
  });

  /** Containers of this instance still on the engine, whatever their state. */
  async function leftovers(instanceName: string): Promise<string[]> {
    const all = await engine!.container.list();
    return all.filter((c) => c.Labels['io.lazyjoin.instance'] === instanceName).map((c) => `${c.Id.slice(0, 12)} ${c.State}`);
  }

  test('an image that does not exist: one line naming it, nothing left running', async () => {
    const name = instance('missing-image');
    const candidate = createNamedImageContainer(driverOptions(name), {
      LAZYJOIN_CONTAINER_IMAGE: 'localhost/lazyjoin-no-such-image:0',
      LAZYJOIN_CONTAINER_KIND: 'synapse',
    });
    const err = await failure(() => candidate.start());
    expect(headline(err)).toMatch(new RegExp(`^${name}: image localhost/lazyjoin-no-such-image:0 is not on this engine and could not be pulled: \\S`));
    expect(await leftovers(name)).toEqual([]);
  });

  test('a build that fails: one line naming the image and the failing step, with the build output', async () => {
    const context = join(dir, 'failing-build');
    mkdirSync(context);
    // On the Synapse image, so that nothing needs pulling.
    writeFileSync(join(context, 'Containerfile'), `FROM ${synapseTag}\nRUN echo "preparing the failing step" && exit 3\n`);
    const definition = { kind: 'synapse' as const, version: '0', tag: 'localhost/lazyjoin-failing-build:0', context, containerfile: 'Containerfile', files: [], buildArgs: {} };
    const err = await failure(() => ensureImage(engine!, definition));
    expect(headline(err)).toMatch(/^building image localhost\/lazyjoin-failing-build:0 from \S*Containerfile failed: .*exit (status|code):? ?3.* \(prepare it with `npm run images`\)$/);
    expect(err.logTail).toContain('preparing the failing step');
    expect(await engine!.image.exists(ImageName.fromString(definition.tag))).toBe(false);
  });

  test('a container that exits at start: its exit code and log tail, nothing left running', async () => {
    // Dendrite's command line given to Synapse's image: Synapse's argument parser refuses it.
    const name = instance('exits-at-start');
    const candidate = new ContainerCandidate({
      ...driverOptions(name),
      candidateName: 'container',
      kind: containerKinds.dendrite!,
      image: synapseTag,
    });
    const started = Date.now();
    const err = await failure(() => candidate.start());
    expect(headline(err)).toMatch(
      new RegExp(`^${name}: container of ${synapseTag} exited with code 2 while waiting for http://127\\.0\\.0\\.1:\\d+/_matrix/client/versions to be healthy$`),
    );
    // Synapse's argument parser, refusing Dendrite's flags.
    expect(err.logTail).toMatch(/homeserver\.py: error: .*--config/);
    expect(Date.now() - started, 'the exit ends the wait, not the health bound').toBeLessThan(30_000);
    expect(await leftovers(name)).toEqual([]);
    expect(trackedContainerIds()).toEqual([]);
  });

  test('synapse-container starts, serves, restarts with its data, tells a crash from a stop, and is removed at teardown', async () => {
    const name = instance('synapse-live');
    const candidate = createCandidate('synapse-container', driverOptions(name));
    try {
      await test.step('start', () => candidate.start());
      expect(candidate.info).toEqual({ name: 'synapse-container', implementation: 'synapse', version: '1.98.0', driver: 'container', database: 'sqlite' });
      expect(candidate.serverName).toMatch(/^127\.0\.0\.1:\d+$/);
      const user = await candidate.registerUser('alice', { displayName: 'Alice' });
      expect(user.userId).toBe(`@alice:${candidate.serverName}`);
      const client = new CandidateClient(candidate.clientUrl, user);
      const { room_id: roomId } = (await client.createRoom({ preset: 'private_chat' })).ok();
      await test.step('restart', () => candidate.restart());
      // The same access token and room after the restart: the data stayed in the container.
      expect((await client.joinedMembers(roomId)).ok().joined).toHaveProperty([user.userId]);
      // The log follower copies the container's output as it comes: the second start's lines may
      // still be on their way when the health check has already passed.
      await expect
        .poll(() => candidate.logTail(200), { message: 'the log shows both starts listening', timeout: 10_000 })
        .toMatch(/Synapse now listening on TCP port \d+ \(TLS\)[\s\S]*Synapse now listening on TCP port \d+ \(TLS\)/);
      expect(await candidate.unexpectedExit(), 'running, so no exit to report').toBeUndefined();
      await test.step('crash', async () => {
        const [container] = (await engine!.container.list()).filter((c) => c.Labels['io.lazyjoin.instance'] === name);
        await engine!.container.getById(container!.Id).kill({ signal: 'SIGKILL' });
      });
      // The engine reports a process killed by SIGKILL as exit code 128 + 9.
      await expect
        .poll(() => candidate.unexpectedExit(), { message: 'the driver saw the container end', timeout: 30_000 })
        .toEqual({ code: 137, signal: null });
      await candidate.stop();
      expect(await candidate.unexpectedExit(), 'a stop on purpose is no exit to report').toBeUndefined();
    } finally {
      await candidate.teardown();
    }
    expect(await leftovers(name)).toEqual([]);
    expect(candidate.logTail(5), 'the log stays for the report').not.toBe('');
  });

  test('synapse-container-postgres: a fresh database of its own, which holds its data across a restart and is dropped at teardown', async () => {
    test.skip(!postgresBinaries(), "PostgreSQL server binaries not installed (Debian's postgresql package)");
    const name = instance('synapse-pg');
    const candidate = createCandidate('synapse-container-postgres', driverOptions(name));
    // A lease on the same server the driver uses (one per process), to look into it as its superuser.
    const pg = await acquirePostgres(dir);
    const database = postgresIdentifier(name);
    const superuser = (sql: string) => superuserQuery(pg, sql);
    try {
      await test.step('start', () => candidate.start());
      expect(candidate.info).toEqual({ name: 'synapse-container-postgres', implementation: 'synapse', version: '1.98.0', driver: 'container', database: 'postgres' });
      const user = await candidate.registerUser('alice');
      // Synapse's schema and the new user are in the instance's own database, owned by its role.
      expect(superuser(`SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = '${database}'`)).toBe(database);
      expect(superuserQuery(pg, `SELECT name FROM users`, database)).toContain(user.userId);
      // Its sessions come over loopback TCP (the container shares the host's network), as its role.
      expect(superuser(`SELECT DISTINCT usename || ' ' || host(client_addr) FROM pg_stat_activity WHERE datname = '${database}'`)).toBe(`${database} 127.0.0.1`);
      const client = new CandidateClient(candidate.clientUrl, user);
      const { room_id: roomId } = (await client.createRoom({ preset: 'private_chat' })).ok();
      await test.step('restart', () => candidate.restart());
      expect((await client.joinedMembers(roomId)).ok().joined).toHaveProperty([user.userId]);
    } finally {
      await candidate.teardown();
    }
    expect(superuser(`SELECT count(*) FROM pg_database WHERE datname = '${database}'`), 'the database is dropped').toBe('0');
    expect(superuser(`SELECT count(*) FROM pg_roles WHERE rolname = '${database}'`), 'and its role').toBe('0');
    expect(await leftovers(name)).toEqual([]);
    await pg.stop();
  });

  test('an image without psycopg2 on PostgreSQL: one line saying so and how to rebuild, nothing left running', async () => {
    test.skip(!postgresBinaries(), "PostgreSQL server binaries not installed (Debian's postgresql package)");
    // The current image less its psycopg2: what an image of the earlier recipe, or another
    // Synapse image, gives.
    const context = join(dir, 'no-psycopg2');
    mkdirSync(context);
    writeFileSync(join(context, 'Containerfile'), `FROM ${synapseTag}\nRUN rm -rf /opt/synapse/lib/python3*/site-packages/psycopg2\n`);
    const tag = `localhost/lazyjoin-no-psycopg2:${run}`;
    await ensureImage(engine!, { kind: 'synapse', version: '0', tag, context, containerfile: 'Containerfile', files: [], buildArgs: {} });
    const name = instance('no-psycopg2');
    const candidate = new ContainerCandidate({ ...driverOptions(name), candidateName: 'pg', kind: containerKinds.synapse!, image: tag, database: 'postgres' });
    try {
      const err = await failure(() => candidate.start());
      expect(headline(err)).toMatch(
        new RegExp(
          `^${name}: container of ${tag} exited with code \\d+ while waiting for \\S+ to be healthy: the image has no psycopg2 \\(Synapse's postgres extra\\), so it cannot run on PostgreSQL: rebuild it with \`npm run images -- synapse\``,
        ),
      );
      expect(err.logTail).toContain('Cannot create PostgresEngine -- psycopg2 module is not installed');
      expect(await leftovers(name)).toEqual([]);
    } finally {
      await candidate.teardown();
      await engine!.container.dockerode.getImage(tag).remove({ force: true }).catch(() => undefined);
    }
  });

  test('an interrupted run (SIGINT) removes its container', async () => {
    const name = instance('interrupted');
    const script = `
      import { createCandidate } from './harness/candidates/index.ts';
      import { createSuiteCA, issueServerCert } from './harness/remote/pki.ts';
      const ca = await createSuiteCA(${JSON.stringify(join(dir, 'ca'))});
      const candidate = createCandidate('synapse-container', { instanceName: '${name}', workDir: ${JSON.stringify(join(dir, 'work'))},
        cacheDir: ${JSON.stringify(defaultCacheDir())}, caCertPath: ca.certPath, issueCert: (names) => issueServerCert(names, ca) });
      await candidate.start();
      console.log('started');
      setInterval(() => undefined, 1000);`;
    const child = startScript(script);
    try {
      await child.stdoutShows('started', 150_000);
      expect(await leftovers(name), 'the container runs before the interrupt').toHaveLength(1);
      child.process.kill('SIGINT');
      // Whether the process then ends is up to its other SIGINT listeners (tsx's here, Playwright's
      // in a worker); the container must be gone either way.
      await expect.poll(() => leftovers(name), { message: `the container of ${name} removed after SIGINT`, timeout: 60_000 }).toEqual([]);
    } finally {
      child.process.kill('SIGKILL');
    }
  });
});

/** Starts an ES module snippet with tsx from the repository root. */
function startScript(source: string, env: NodeJS.ProcessEnv = {}) {
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', source], {
    cwd: join(import.meta.dirname, '..', '..'),
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  return {
    process: child,
    output: () => ({ stdout, stderr }),
    exited,
    /** Resolves once stdout shows `text`; rejects when the script exits first or after `timeoutMs`. */
    stdoutShows(text: string, timeoutMs: number): Promise<void> {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`script stdout did not show "${text}" within ${timeoutMs} ms; stderr: ${stderr.slice(-800)}`)), timeoutMs);
        const check = () => {
          if (stdout.includes(text)) {
            clearTimeout(timer);
            resolve();
          }
        };
        child.stdout.on('data', check);
        check();
        void exited.then(({ code, signal }) => {
          clearTimeout(timer);
          if (!stdout.includes(text)) reject(new Error(`script exited (${signal ?? code}) before stdout showed "${text}"; stderr: ${stderr.slice(-800)}`));
        });
      });
    },
  };
}

/** Runs an ES module snippet to its end (bounded); resolves to its stdout. */
async function runScript(source: string, env: NodeJS.ProcessEnv): Promise<string> {
  const child = startScript(source, env);
  const timer = setTimeout(() => child.process.kill('SIGKILL'), 120_000);
  const { code, signal } = await child.exited.finally(() => clearTimeout(timer));
  const { stdout, stderr } = child.output();
  if (code !== 0) throw new Error(`script exited with ${signal ?? code} (killed after 120 s if SIGKILL); stderr: ${stderr.slice(-1000)}`);
  return stdout;
}
