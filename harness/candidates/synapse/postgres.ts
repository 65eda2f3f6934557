/**
 * Synapse on PostgreSQL: which database a Synapse instance uses (env `LAZYJOIN_SYNAPSE_DATABASE`,
 * `sqlite` by default, or `postgres`), the psycopg2 driver in the cached virtualenv, and the
 * `database` section of its config.
 *
 * psycopg2 (Synapse's `postgres` extra) is added to an existing install as a separate step with its
 * own marker, so that the SQLite installs already in the cache stay valid and are not rebuilt.
 * It builds from source: it needs pg_config (Debian's libpq-dev) and the Python headers.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { withFileLock } from '../file-lock.ts';
import type { PostgresDatabase } from '../postgres.ts';
import { runToCompletion } from '../process.ts';
import { CandidateError } from '../types.ts';
import { synapseInstallPaths, type SynapseInstallation } from './install.ts';

export const SYNAPSE_DATABASES = ['sqlite', 'postgres'] as const;
export type SynapseDatabase = (typeof SYNAPSE_DATABASES)[number];

/** Accepts `sqlite` or `postgres` (any case); anything else is refused before any work. */
export function checkSynapseDatabase(value: string): SynapseDatabase {
  const lower = value.toLowerCase();
  if (!(SYNAPSE_DATABASES as readonly string[]).includes(lower)) {
    throw new CandidateError(`Synapse database "${value}" is not one of ${SYNAPSE_DATABASES.join(', ')} (from option or LAZYJOIN_SYNAPSE_DATABASE)`);
  }
  return lower as SynapseDatabase;
}

const EXTRA_TIMEOUT_MS = 10 * 60_000;

/** Adds psycopg2 to the install's virtualenv once (cached; marker `postgres-extra.json`). */
export async function installSynapsePostgresSupport(cacheDir: string, install: SynapseInstallation): Promise<void> {
  const paths = synapseInstallPaths(cacheDir, install.version);
  const marker = join(paths.root, 'postgres-extra.json');
  const expected = JSON.stringify({ extra: 'postgres', version: install.version });
  const done = () => existsSync(marker) && readFileSync(marker, 'utf8') === expected;
  if (done()) return;
  await withFileLock(join(paths.root, 'postgres-extra'), EXTRA_TIMEOUT_MS, async () => {
    if (done()) return;
    const log = join(paths.root, 'install-postgres.log');
    writeFileSync(log, '');
    const constraints = join(dirname(fileURLToPath(import.meta.url)), `constraints-${install.version.split('.').slice(0, 2).join('.')}.txt`);
    const pins = existsSync(constraints) ? ['-c', constraints] : [];
    try {
      await runToCompletion({
        name: `synapse ${install.version} postgres extra`,
        command: install.python,
        args: ['-m', 'pip', 'install', '--disable-pip-version-check', '--no-input', ...pins, 'setuptools<81', `matrix-synapse[postgres]==${install.version}`],
        env: { ...process.env, PIP_NO_INPUT: '1' },
        logPath: log,
        timeoutMs: EXTRA_TIMEOUT_MS,
        cwd: paths.root,
      });
      await runToCompletion({
        name: `synapse ${install.version} postgres extra`,
        command: install.python,
        args: ['-c', 'import psycopg2'],
        logPath: log,
        timeoutMs: 60_000,
      });
    } catch (err) {
      const tail = readFileSync(log, 'utf8');
      if (/pg_config executable not found/.test(tail)) {
        throw new CandidateError(`synapse ${install.version}: building psycopg2 needs pg_config: install Debian's libpq-dev (see ${log})`);
      }
      throw err;
    }
    writeFileSync(marker, expected);
  });
}

/**
 * The `database` section of homeserver.yaml for a PostgreSQL database: over the Unix socket by
 * default (the process driver), or over TCP to `host` (the container driver: 127.0.0.1, where the
 * role's password is required).
 */
export function synapsePostgresDatabaseConfig(db: PostgresDatabase, host: string = db.host): Record<string, unknown> {
  return {
    name: 'psycopg2',
    args: { user: db.user, password: db.password, database: db.name, host, port: db.port, cp_min: 1, cp_max: 10 },
  };
}
