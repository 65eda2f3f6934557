/**
 * The one statement the Palpo driver runs in its instance's database: Palpo 0.0.2 keeps a user's
 * admin flag in `users.is_admin` and has no API that sets it.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { findPostgresBinaries } from '../postgres.ts';
import { CandidateError } from '../types.ts';

const run = promisify(execFile);

/** The SQL that makes `userId` an admin and returns its ID (nothing when there is no such user). */
export function makeAdminSql(userId: string): string {
  return `UPDATE users SET is_admin = true WHERE id = '${userId.replace(/'/g, "''")}' RETURNING id`;
}

/** Makes `userId` an admin in the database at `url` (psql from the same folder as the server); one-line error otherwise. */
export async function makeAdmin(url: string, userId: string, what: string): Promise<void> {
  let stdout: string;
  try {
    ({ stdout } = await run(findPostgresBinaries().psql, ['-X', '-q', '-t', '-A', '-v', 'ON_ERROR_STOP=1', '-d', url, '-c', makeAdminSql(userId)], { timeout: 60_000 }));
  } catch (err) {
    const e = err as Error & { stderr?: string };
    throw new CandidateError(`${what}: ${(e.stderr?.trim() || e.message).split('\n')[0]}`);
  }
  if (stdout.trim() !== userId) throw new CandidateError(`${what}: no such row in users (psql said ${JSON.stringify(stdout.trim())})`);
}
