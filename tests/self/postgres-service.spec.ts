/**
 * The PostgreSQL service the harness runs for candidates: it starts (as an unprivileged user when
 * this process is root), makes fresh databases with the encoding and collation Synapse requires,
 * is shared by the leases of one process, and leaves nothing running: not after the last stop,
 * not when the process that started it is killed outright.
 */
import { expect, test } from '@playwright/test';
import { execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { acquirePostgres, findPostgresBinaries, postgresIdentifier } from '../../harness/candidates/postgres.ts';
import { processIsAlive, waitUntilGone } from '../../harness/candidates/process.ts';
import { checkSynapseDatabase } from '../../harness/candidates/synapse/postgres.ts';

const serviceModule = fileURLToPath(new URL('../../harness/candidates/postgres.ts', import.meta.url));

let binaries: ReturnType<typeof findPostgresBinaries> | undefined;
try {
  binaries = findPostgresBinaries();
} catch {
  binaries = undefined;
}

let dir: string;
test.beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'lazyjoin-pg-test-'));
});
test.afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

function psql(url: string, sql: string): string {
  return execFileSync(binaries!.psql, ['-X', '-w', '-At', '-v', 'ON_ERROR_STOP=1', url, '-c', sql], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
}

test('missing server binaries: one line naming the package to install', () => {
  let message = '';
  try {
    findPostgresBinaries({ PATH: '/nonexistent' }, dir);
  } catch (err) {
    message = (err as Error).message;
  }
  expect(message).toMatch(/^PostgreSQL server binaries \(initdb, postgres\) not found: install Debian's postgresql package/);
  expect(message).not.toContain('\n');
  expect(() => findPostgresBinaries({ LAZYJOIN_PG_BINDIR: dir })).toThrow(/does not hold initdb, postgres and psql/);
});

test('LAZYJOIN_SYNAPSE_DATABASE takes sqlite or postgres; anything else is refused in one line before any work', () => {
  expect(checkSynapseDatabase('Postgres')).toBe('postgres');
  expect(checkSynapseDatabase('sqlite')).toBe('sqlite');
  expect(() => checkSynapseDatabase('mysql')).toThrow('Synapse database "mysql" is not one of sqlite, postgres (from option or LAZYJOIN_SYNAPSE_DATABASE)');
});

test('database names become PostgreSQL identifiers', () => {
  expect(postgresIdentifier('synapse-w0')).toBe('synapse_w0');
  expect(postgresIdentifier('1st.Instance')).toBe('_1st_instance');
  expect(postgresIdentifier('x'.repeat(80))).toHaveLength(63);
});

test.describe('with the server', () => {
  test.skip(!binaries, "PostgreSQL server binaries not installed (Debian's postgresql package)");
  test.describe.configure({ timeout: 120_000 });

  test('fresh UTF8/C databases over the socket and over loopback; shared leases; nothing left after the last stop', async () => {
    const first = await acquirePostgres(dir);
    const second = await acquirePostgres(dir);
    expect(second.pid).toBe(first.pid);
    const db = await first.createDatabase('synapse-w0');
    expect(db.name).toBe('synapse_w0');
    expect(psql(db.url, "SELECT current_user || ' ' || pg_encoding_to_char(encoding) || ' ' || datcollate || ' ' || datctype FROM pg_database WHERE datname = current_database()")).toBe(
      'synapse_w0 UTF8 C C',
    );
    expect(psql(db.tcpUrl, 'SELECT 1')).toBe('1');
    // Loopback without the password is refused.
    expect(() => psql(`postgresql://${db.user}@127.0.0.1:${db.port}/${db.name}`, 'SELECT 1')).toThrow();
    psql(db.url, 'CREATE TABLE t (x int); INSERT INTO t VALUES (1)');
    // Creating it again gives an empty database.
    const again = await first.createDatabase('synapse-w0');
    expect(psql(again.url, "SELECT count(*) FROM pg_tables WHERE tablename = 't'")).toBe('0');

    await first.stop();
    await first.stop(); // idempotent: does not release the other lease
    expect(processIsAlive(second.pid)).toBe(true);
    await second.stop();
    expect(await waitUntilGone(second.pid, 5_000)).toBe(true);
    expect(existsSync(join(dir, 'postgres', `p${process.pid}`))).toBe(false);
  });

  test('the server does not outlive a process that is killed outright', async () => {
    const script = `import(${JSON.stringify(serviceModule)}).then(async (m) => { const pg = await m.acquirePostgres(${JSON.stringify(dir)}); console.log('pid ' + pg.pid); setInterval(() => {}, 1000); });`;
    const child = spawn(process.execPath, ['--import', 'tsx', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    const pid = await new Promise<number>((resolve, reject) => {
      child.stdout!.on('data', (chunk: Buffer) => {
        out += chunk.toString();
        const m = /pid (\d+)/.exec(out);
        if (m) resolve(Number(m[1]));
      });
      child.once('exit', (code) => reject(new Error(`child exited (${code}) before the server was up: ${out}`)));
    });
    expect(processIsAlive(pid)).toBe(true);
    child.kill('SIGKILL');
    await once(child, 'exit');
    // The kernel sends the server its parent-death signal (immediate shutdown).
    expect(await waitUntilGone(pid, 15_000)).toBe(true);
  });
});
