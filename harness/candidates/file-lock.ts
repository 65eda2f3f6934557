/**
 * A cross-process lock on a folder path (used so that two test workers never install the same
 * candidate into the same cache at once). `mkdir` is atomic, and the owner's pid inside the lock
 * folder lets a later process take over a lock left behind by one that died.
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { processIsAlive } from './process.ts';
import { CandidateError } from './types.ts';

const POLL_MS = 250;

function ownerIsAlive(lockDir: string): boolean {
  let pid: number;
  try {
    pid = Number(readFileSync(join(lockDir, 'owner.pid'), 'utf8'));
  } catch {
    return true; // just created, owner not written yet: treat as held
  }
  return Number.isInteger(pid) && pid > 0 && processIsAlive(pid);
}

/** Runs `fn` while holding the lock `<path>.lock`; waits at most `timeoutMs` to get it. */
export async function withFileLock<T>(path: string, timeoutMs: number, fn: () => Promise<T>): Promise<T> {
  const lockDir = `${path}.lock`;
  mkdirSync(dirname(lockDir), { recursive: true });
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      mkdirSync(lockDir);
      writeFileSync(join(lockDir, 'owner.pid'), String(process.pid));
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    if (!ownerIsAlive(lockDir)) {
      rmSync(lockDir, { recursive: true, force: true });
      continue;
    }
    if (Date.now() > deadline) {
      throw new CandidateError(`lock ${lockDir} still held by another process after ${timeoutMs} ms (remove it if no install is running)`);
    }
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
  try {
    return await fn();
  } finally {
    rmSync(lockDir, { recursive: true, force: true });
  }
}
