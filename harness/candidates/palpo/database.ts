/**
 * The PostgreSQL database of one Palpo instance, made on a PostgreSQL server that the suite
 * reaches with an administrative URL, and the few statements the driver runs in it (through
 * `psql`, PostgreSQL's own client).
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { CandidateError } from '../types.ts';

export interface InstanceDatabase {
  /** `postgres://user@host:port/<name>`: what the candidate connects to. */
  url: string;
  /** Drops the database (the candidate must be stopped). Idempotent. */
  drop(): Promise<void>;
}

/** Makes one empty database per candidate instance. */
export interface DatabaseProvider {
  create(name: string): Promise<InstanceDatabase>;
}

const run = promisify(execFile);

/** Runs one SQL statement with psql; one-line error naming what failed. */
export async function psql(url: string, sql: string, what: string): Promise<string> {
  try {
    const { stdout } = await run(process.env.LAZYJOIN_PSQL ?? 'psql', ['-X', '-q', '-t', '-A', '-v', 'ON_ERROR_STOP=1', '-d', url, '-c', sql], { timeout: 60_000 });
    return stdout.trim();
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { stderr?: string };
    const cause = e.code === 'ENOENT' ? 'psql not found (apt-get install postgresql-client, or set LAZYJOIN_PSQL)' : (e.stderr?.trim() || e.message).split('\n')[0];
    throw new CandidateError(`${what}: ${cause}`);
  }
}

/** The URL of database `name` on the same server as `adminUrl`. */
export function databaseUrl(adminUrl: string, name: string): string {
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return url.toString();
}

/** Databases on the server at `adminUrl` (a role allowed to create databases). */
export function databasesAt(adminUrl: string): DatabaseProvider {
  return {
    async create(name: string): Promise<InstanceDatabase> {
      if (!/^[a-z_][a-z0-9_]{0,62}$/.test(name)) throw new CandidateError(`database name "${name}" must be lower-case letters, digits and _`);
      await psql(adminUrl, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`, `dropping a leftover database ${name}`);
      await psql(adminUrl, `CREATE DATABASE ${name} ENCODING 'UTF8' LC_COLLATE 'C' LC_CTYPE 'C' TEMPLATE template0`, `creating database ${name}`);
      return {
        url: databaseUrl(adminUrl, name),
        drop: async () => {
          await psql(adminUrl, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`, `dropping database ${name}`);
        },
      };
    },
  };
}
