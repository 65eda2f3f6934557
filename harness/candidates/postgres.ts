/**
 * PostgreSQL as a service the harness runs for candidates that store their data in it.
 *
 * API (stable; drivers and benchmarks use only this):
 *
 *   const pg = await acquirePostgres(dir);      // dir: the run folder (or a cache folder)
 *   pg.socketDir, pg.port, pg.host ('127.0.0.1'), pg.version, pg.pid (the postmaster)
 *   const db = await pg.createDatabase('synapse-w0');
 *     // -> { name, user, password, host: socketDir, port, url, tcpUrl }
 *     //    name/user: the given name made a PostgreSQL identifier (synapse_w0); a fresh, empty
 *     //    database (dropped first if it existed) owned by a role of the same name;
 *     //    encoding UTF8, collation and ctype C, from template0 (what Synapse requires).
 *     //    url:    postgresql://synapse_w0@/synapse_w0?host=<socketDir>&port=<port> (Unix socket, no password)
 *     //    tcpUrl: postgresql://synapse_w0:<password>@127.0.0.1:<port>/synapse_w0 (loopback, password)
 *   await pg.dropDatabase('synapse-w0');       // at a candidate's teardown (optional)
 *   await pg.stop();                           // releases this lease
 *   await releaseDatabase(pg, 'synapse-w0');   // both, the lease released even if the drop fails
 *
 * One cluster per test process (a Playwright worker, a benchmark): the first `acquirePostgres` in
 * a process makes it with initdb in `<dir>/postgres/p<pid>` and starts it; later calls in the
 * same process share it; it stops (fast shutdown) when the last lease is released, and in any
 * case when the process ends: by the process registry's exit and signal hooks, and, should the
 * process be killed outright, by the kernel (the server runs with a parent-death signal).
 *
 * The server listens on a Unix socket in a folder only it and root can enter, and on 127.0.0.1
 * (password roles only there). It is tuned for throwaway data: no fsync, no full-page writes.
 *
 * PostgreSQL refuses to run as root: when the harness runs as root, initdb and the server run as
 * the `postgres` system user (Debian's packages create it; env `LAZYJOIN_PG_USER` names another,
 * else `nobody`), through `setpriv`. The cluster then lives in a folder that user can reach: the
 * given one when every parent folder lets it through, else a fresh folder under the system
 * temporary folder (said in `<dir>/postgres/p<pid>.location`).
 *
 * Binaries: env `LAZYJOIN_PG_BINDIR`, else `pg_config --bindir`, else the newest
 * `/usr/lib/postgresql/<major>/bin`, else `postgres` on PATH (symlinks resolved, e.g.
 * /usr/local/bin/postgres -> /usr/lib/postgresql/15/bin/postgres). initdb, postgres and psql are
 * always taken from one folder so that their versions agree.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chownSync, existsSync, mkdirSync, mkdtempSync, readdirSync, realpathSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { ManagedProcess, fileTail, freePort, runToCompletion } from './process.ts';
import { CandidateError } from './types.ts';

export interface PostgresDatabase {
  /** The database's name, also its owner role's name (a PostgreSQL identifier: [a-z0-9_]). */
  name: string;
  user: string;
  /** The role's password (needed over TCP only; the Unix socket trusts local connections). */
  password: string;
  /** The socket folder, as libpq's `host` takes it. */
  host: string;
  port: number;
  /** libpq URL over the Unix socket. */
  url: string;
  /** libpq URL over loopback TCP with the password. */
  tcpUrl: string;
}

export interface PostgresService {
  socketDir: string;
  port: number;
  host: '127.0.0.1';
  /** e.g. `15.20`. */
  version: string;
  /** The postmaster's pid (its children are the backends), for resource measurements. */
  pid: number;
  /** The server's log. */
  logPath: string;
  createDatabase(name: string): Promise<PostgresDatabase>;
  dropDatabase(name: string): Promise<void>;
  logTail(lines?: number): string;
  /** Releases this lease; the server stops with the last one. Idempotent. */
  stop(): Promise<void>;
}

const SUPERUSER = 'postgres';
const START_TIMEOUT_MS = 60_000;
const INITDB_TIMEOUT_MS = 120_000;
const SQL_TIMEOUT_MS = 60_000;
/** A fast shutdown takes well under a second; after this the process group is killed. */
const STOP_GRACE_MS = 15_000;
/** sun_path holds 108 bytes; `<socketDir>/.s.PGSQL.<port>` must fit. */
const MAX_SOCKET_PATH = 100;
const PACKAGE_HINT = "install Debian's postgresql package (apt-get install postgresql), or set LAZYJOIN_PG_BINDIR";

interface Binaries {
  dir: string;
  initdb: string;
  postgres: string;
  psql: string;
}

const hasServerBinaries = (dir: string): boolean => ['initdb', 'postgres', 'psql'].every((b) => existsSync(join(dir, b)));

/** Finds one folder holding initdb, postgres and psql; a one-line error naming the package otherwise. */
export function findPostgresBinaries(env: NodeJS.ProcessEnv = process.env, debianRoot = '/usr/lib/postgresql'): Binaries {
  const candidates: string[] = [];
  if (env.LAZYJOIN_PG_BINDIR) {
    if (!hasServerBinaries(env.LAZYJOIN_PG_BINDIR)) {
      throw new CandidateError(`LAZYJOIN_PG_BINDIR=${env.LAZYJOIN_PG_BINDIR} does not hold initdb, postgres and psql`);
    }
    candidates.push(env.LAZYJOIN_PG_BINDIR);
  }
  const pgConfig = spawnSync('pg_config', ['--bindir'], { encoding: 'utf8', env });
  if (pgConfig.status === 0) candidates.push(pgConfig.stdout.trim());
  if (existsSync(debianRoot)) {
    const majors = readdirSync(debianRoot).filter((d) => /^\d+$/.test(d)).sort((a, b) => Number(b) - Number(a));
    candidates.push(...majors.map((m) => join(debianRoot, m, 'bin')));
  }
  for (const pathDir of (env.PATH ?? '').split(':').filter(Boolean)) {
    const bin = join(pathDir, 'postgres');
    if (existsSync(bin)) candidates.push(dirname(realpathSync(bin)));
  }
  const dir = candidates.find(hasServerBinaries);
  if (!dir) throw new CandidateError(`PostgreSQL server binaries (initdb, postgres) not found: ${PACKAGE_HINT}`);
  return { dir, initdb: join(dir, 'initdb'), postgres: join(dir, 'postgres'), psql: join(dir, 'psql') };
}

interface ServiceUser {
  uid: number;
  gid: number;
  name: string;
}

/** The unprivileged user the server runs as when this process is root; undefined otherwise. */
function serviceUser(): ServiceUser | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const names = process.env.LAZYJOIN_PG_USER ? [process.env.LAZYJOIN_PG_USER] : ['postgres', 'nobody'];
  for (const name of names) {
    const uid = spawnSync('id', ['-u', name], { encoding: 'utf8' });
    const gid = spawnSync('id', ['-g', name], { encoding: 'utf8' });
    if (uid.status === 0 && gid.status === 0) return { name, uid: Number(uid.stdout.trim()), gid: Number(gid.stdout.trim()) };
  }
  throw new CandidateError(`running as root, PostgreSQL needs an unprivileged user to run as, and none of ${names.join(', ')} exists`);
}

/** True when `user` can enter `dir` and every folder above it. */
function reachable(dir: string, user: ServiceUser): boolean {
  for (let d = resolve(dir); ; d = dirname(d)) {
    const st = statSync(d);
    const ok = st.uid === user.uid ? st.mode & 0o100 : st.gid === user.gid ? st.mode & 0o010 : st.mode & 0o001;
    if (!ok) return false;
    if (d === dirname(d)) return true;
  }
}

/** `setpriv` runs a command as the service user, with a parent-death signal so that it cannot outlive us. */
function wrap(command: string, args: string[], user: ServiceUser | undefined, deathSignal: string): { command: string; args: string[] } {
  const setpriv = ['/usr/bin/setpriv', '/bin/setpriv'].find(existsSync);
  if (!setpriv) {
    if (user) throw new CandidateError('running as root, PostgreSQL must run as another user, and setpriv (Debian package util-linux) is missing');
    return { command, args };
  }
  const ids = user ? ['--reuid', String(user.uid), '--regid', String(user.gid), '--clear-groups'] : [];
  return { command: setpriv, args: [...ids, `--pdeathsig=${deathSignal}`, '--', command, ...args] };
}

/** A PostgreSQL identifier from a free-form name: lower case, [a-z0-9_], at most 63 bytes. */
export function postgresIdentifier(name: string): string {
  const id = name.toLowerCase().replace(/[^a-z0-9_]/g, '_').replace(/^([^a-z_])/, '_$1').slice(0, 63);
  if (!id) throw new CandidateError(`"${name}" cannot name a PostgreSQL database`);
  return id;
}

class Cluster {
  leases = 0;
  private constructor(
    readonly binaries: Binaries,
    readonly root: string,
    readonly dataDir: string,
    readonly socketDir: string,
    readonly port: number,
    readonly version: string,
    readonly logPath: string,
    readonly process: ManagedProcess,
  ) {}

  static async start(dir: string): Promise<Cluster> {
    const binaries = findPostgresBinaries();
    const user = serviceUser();
    const version = execFileSync(binaries.postgres, ['--version'], { encoding: 'utf8' }).trim().replace(/^.*\s(\d+(\.\d+)*).*$/, '$1');
    const home = join(resolve(dir), 'postgres');
    mkdirSync(home, { recursive: true });
    const name = `p${process.pid}`;
    let root = join(home, name);
    if (user && !reachable(home, user)) {
      root = mkdtempSync(join(tmpdir(), 'lazyjoin-pg-'));
      writeFileSync(join(home, `${name}.location`), `${root}\n(${home} is not reachable by the user ${user.name}, who runs PostgreSQL)\n`);
    }
    rmSync(root, { recursive: true, force: true });
    const dataDir = join(root, 'data');
    mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    const logPath = join(home, `${name}.log`);
    writeFileSync(logPath, '');
    if (user) {
      chownSync(root, user.uid, user.gid);
      chownSync(dataDir, user.uid, user.gid);
    }

    const initdb = wrap(
      binaries.initdb,
      ['-D', dataDir, '-U', SUPERUSER, '-E', 'UTF8', '--locale=C', '--auth-local=trust', '--auth-host=scram-sha-256', '--no-sync'],
      user,
      'KILL',
    );
    await runToCompletion({ name: 'postgres initdb', ...initdb, cwd: root, logPath, timeoutMs: INITDB_TIMEOUT_MS });

    // The socket sits in the data folder (mode 0700: only the server's user and root enter it),
    // unless that path is too long for a socket address.
    let socketDir = dataDir;
    if (join(socketDir, '.s.PGSQL.65535').length > MAX_SOCKET_PATH) {
      socketDir = mkdtempSync(join(tmpdir(), 'lazyjoin-pgs-'));
      if (user) chownSync(socketDir, user.uid, user.gid);
    }

    // A free port can be taken by someone else before the server binds it: try a few.
    let lastError: unknown;
    for (let attempt = 0; attempt < 3; attempt++) {
      const port = await freePort();
      const server = wrap(
        binaries.postgres,
        [
          '-D', dataDir, '-k', socketDir, '-p', String(port),
          '-c', 'listen_addresses=127.0.0.1',
          '-c', 'unix_socket_permissions=0700',
          '-c', 'fsync=off',
          '-c', 'synchronous_commit=off',
          '-c', 'full_page_writes=off',
          '-c', 'max_connections=200',
          '-c', 'shared_buffers=64MB',
        ],
        user,
        // Immediate shutdown: the server stops its backends and removes its shared memory.
        'QUIT',
      );
      const proc = await ManagedProcess.spawn({
        name: 'postgres',
        ...server,
        cwd: root,
        logPath,
        // On a sudden exit of this process, the same immediate shutdown (not SIGKILL, which would
        // leave the shared memory segment behind).
        emergencySignal: 'SIGQUIT',
      });
      try {
        await proc.waitForLog(/database system is ready to accept connections/, { timeoutMs: START_TIMEOUT_MS });
        return new Cluster(binaries, root, dataDir, socketDir, port, version, logPath, proc);
      } catch (err) {
        lastError = err;
        await proc.stop(STOP_GRACE_MS, 'SIGINT');
        if (!/could not bind|already in use/i.test(fileTail(logPath, 20))) break;
      }
    }
    throw lastError;
  }

  /** Runs statements as the superuser over the socket, each in its own transaction. */
  async sql(statements: string[]): Promise<void> {
    await runToCompletion({
      name: 'postgres psql',
      command: this.binaries.psql,
      args: ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '-h', this.socketDir, '-p', String(this.port), '-U', SUPERUSER, '-d', 'postgres', ...statements.flatMap((s) => ['-c', s])],
      env: { ...process.env, PGCONNECT_TIMEOUT: '10' },
      logPath: this.logPath,
      timeoutMs: SQL_TIMEOUT_MS,
    });
  }

  async createDatabase(name: string): Promise<PostgresDatabase> {
    const id = postgresIdentifier(name);
    const password = randomBytes(18).toString('hex');
    await this.sql([
      `DROP DATABASE IF EXISTS "${id}" WITH (FORCE)`,
      `DROP ROLE IF EXISTS "${id}"`,
      `CREATE ROLE "${id}" LOGIN PASSWORD '${password}'`,
      `CREATE DATABASE "${id}" OWNER "${id}" ENCODING 'UTF8' LC_COLLATE 'C' LC_CTYPE 'C' TEMPLATE template0`,
    ]);
    return {
      name: id,
      user: id,
      password,
      host: this.socketDir,
      port: this.port,
      url: `postgresql://${id}@/${id}?host=${encodeURIComponent(this.socketDir)}&port=${this.port}`,
      tcpUrl: `postgresql://${id}:${password}@127.0.0.1:${this.port}/${id}`,
    };
  }

  async dropDatabase(name: string): Promise<void> {
    const id = postgresIdentifier(name);
    await this.sql([`DROP DATABASE IF EXISTS "${id}" WITH (FORCE)`, `DROP ROLE IF EXISTS "${id}"`]);
  }

  async stop(): Promise<void> {
    // Fast shutdown: ends the sessions, checkpoints, exits.
    await this.process.stop(STOP_GRACE_MS, 'SIGINT');
    rmSync(this.root, { recursive: true, force: true });
    if (this.socketDir !== this.dataDir) rmSync(this.socketDir, { recursive: true, force: true });
  }
}

let shared: { dir: string; cluster: Promise<Cluster> } | undefined;

/**
 * A lease on this process's PostgreSQL cluster, started on first use (see the file header).
 * Throws a one-line CandidateError (with the server's log tail when it started and failed).
 */
export async function acquirePostgres(dir: string): Promise<PostgresService> {
  if (!shared) {
    const starting = { dir, cluster: Cluster.start(dir) };
    shared = starting;
    starting.cluster.catch(() => {
      if (shared === starting) shared = undefined;
    });
  }
  const mine = shared;
  const cluster = await mine.cluster;
  cluster.leases++;
  let released = false;
  return {
    socketDir: cluster.socketDir,
    port: cluster.port,
    host: '127.0.0.1',
    version: cluster.version,
    pid: cluster.process.pid,
    logPath: cluster.logPath,
    createDatabase: (name) => cluster.createDatabase(name),
    dropDatabase: (name) => cluster.dropDatabase(name),
    logTail: (lines = 40) => fileTail(cluster.logPath, lines),
    stop: async () => {
      if (released) return;
      released = true;
      if (--cluster.leases > 0) return;
      if (shared === mine) shared = undefined;
      await cluster.stop();
    },
  };
}

/** A candidate's teardown: drops its database and releases its lease, even when the drop fails. */
export async function releaseDatabase(postgres: PostgresService | undefined, name: string): Promise<void> {
  if (!postgres) return;
  try {
    await postgres.dropDatabase(name);
  } finally {
    await postgres.stop();
  }
}
