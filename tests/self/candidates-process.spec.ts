/**
 * The child-process manager, the file lock and the port helpers under the conditions that break
 * naive versions: children that ignore SIGTERM, a parent that crashes, concurrent lock holders,
 * a lock left by a dead process, ports that are taken.
 */
import { expect, test } from '@playwright/test';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { withFileLock } from '../../harness/candidates/file-lock.ts';
import { ManagedProcess, assertPortFree, freePort, isPortFree, processIsAlive, runToCompletion, waitUntilGone } from '../../harness/candidates/process.ts';

const processModule = fileURLToPath(new URL('../../harness/candidates/process.ts', import.meta.url));

/**
 * A private scratch folder per test (not test-results/, which any concurrent Playwright run in
 * the same tree wipes at its start).
 */
let dir: string;
test.beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'lazyjoin-candidates-'));
});
test.afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

test('stop() escalates to SIGKILL when the child ignores SIGTERM', async () => {
  const proc = await ManagedProcess.spawn({
    name: 'stubborn',
    command: 'sh',
    // The trap is inherited by sleep, so the whole group ignores SIGTERM.
    args: ['-c', 'trap "" TERM; echo ready; sleep 60'],
    logPath: join(dir, 'stubborn.log'),
  });
  // Only once the trap is set does SIGTERM go unheeded.
  await proc.waitForLog(/^ready$/m, { timeoutMs: 10_000 });
  const started = Date.now();
  await proc.stop(300);
  expect(proc.running).toBe(false);
  expect(proc.exitSignal).toBe('SIGKILL');
  expect(Date.now() - started).toBeLessThan(5_000);
  expect(processIsAlive(proc.pid)).toBe(false);
});

/**
 * Runs a parent process (node with the tsx loader, so that signals reach it directly) that
 * starts a `sleep` child through the registry, prints the child's pid, then does `then`.
 * Resolves once the parent has ended, with its output and the child's pid.
 */
async function parentWithChild(then: string, onChildStarted?: (parent: ChildProcess) => void) {
  const script = join(dir, 'parent.mts');
  writeFileSync(
    script,
    [
      `import { ManagedProcess } from ${JSON.stringify(processModule)};`,
      `const child = await ManagedProcess.spawn({ name: 'orphan-to-be', command: 'sleep', args: ['60'], logPath: ${JSON.stringify(join(dir, 'orphan.log'))} });`,
      `console.log('child pid ' + child.pid);`,
      then,
    ].join('\n'),
  );
  const parent = spawn(process.execPath, ['--import', 'tsx', script], { cwd: process.cwd(), stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  let childPid = 0;
  parent.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
  parent.stdout!.on('data', (c: Buffer) => {
    stdout += c.toString();
    const match = /child pid (\d+)/.exec(stdout);
    if (match && !childPid) {
      childPid = Number(match[1]);
      onChildStarted?.(parent);
    }
  });
  const bound = setTimeout(() => parent.kill('SIGKILL'), 30_000);
  const [code, signal] = (await once(parent, 'exit')) as [number | null, NodeJS.Signals | null];
  clearTimeout(bound);
  return { stdout, stderr, childPid, code, signal };
}

test('a child process is killed when its parent dies of an uncaught exception', async () => {
  const parent = await parentWithChild(`setTimeout(() => { throw new Error('parent crashes on purpose'); }, 10);`);
  expect(parent.stderr, 'the parent should have died of its exception').toContain('parent crashes on purpose');
  expect(parent.childPid, `parent output: ${parent.stdout}`).toBeGreaterThan(0);
  expect(await waitUntilGone(parent.childPid, 5_000), `child ${parent.childPid} outlived its parent by 5 s`).toBe(true);
});

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  test(`a child process is killed when its parent gets ${signal}, and the parent still ends`, async () => {
    // The parent would otherwise live for a minute.
    const parent = await parentWithChild(`setTimeout(() => {}, 60_000);`, (p) => p.kill(signal));
    expect(parent.childPid, `parent output: ${parent.stdout} ${parent.stderr}`).toBeGreaterThan(0);
    expect(parent.signal, 'the signal keeps its default meaning for the parent').toBe(signal);
    expect(await waitUntilGone(parent.childPid, 5_000), `child ${parent.childPid} outlived its parent by 5 s`).toBe(true);
  });
}

test('runToCompletion names the failing command and its exit code', async () => {
  const err = await runToCompletion({
    name: 'install step',
    command: 'sh',
    args: ['-c', 'echo "no matching distribution" >&2; exit 7'],
    logPath: join(dir, 'step.log'),
    timeoutMs: 10_000,
  }).then(
    () => undefined,
    (e: Error) => e,
  );
  expect(err?.message.split('\n')[0]).toBe('install step: `sh -c echo "no matching distribution" >&2; exit 7` exited with code 7');
  expect(err?.message).toContain('no matching distribution');
});

test('the file lock serialises holders and takes over a lock left by a dead process', async () => {
  const order: string[] = [];
  const holder = (name: string) =>
    withFileLock(join(dir, 'install'), 10_000, async () => {
      order.push(`${name} in`);
      await new Promise((resolve) => setImmediate(resolve));
      order.push(`${name} out`);
    });
  await Promise.all([holder('a'), holder('b')]);
  expect(order).toEqual(['a in', 'a out', 'b in', 'b out']);

  // A lock whose owner pid does not exist (pids are below 2^22 on Linux).
  mkdirSync(join(dir, 'stale.lock'), { recursive: true });
  writeFileSync(join(dir, 'stale.lock', 'owner.pid'), '99999999');
  expect(await withFileLock(join(dir, 'stale'), 2_000, async () => 'taken over')).toBe('taken over');
});

test('a lock held by a live process times out with a clear message', async () => {
  mkdirSync(join(dir, 'held.lock'), { recursive: true });
  writeFileSync(join(dir, 'held.lock', 'owner.pid'), String(process.pid));
  await expect(withFileLock(join(dir, 'held'), 300, async () => 'never')).rejects.toThrow(
    `lock ${join(dir, 'held.lock')} still held by another process after 300 ms (remove it if no install is running)`,
  );
});

test('port helpers: a free port is free, a bound one is reported taken', async () => {
  const port = await freePort();
  expect(await isPortFree(port)).toBe(true);
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  try {
    expect(await isPortFree(port)).toBe(false);
    await expect(assertPortFree(port, '127.0.0.1', 'test listener')).rejects.toThrow(
      `port 127.0.0.1:${port} for the test listener is already in use`,
    );
  } finally {
    await new Promise((resolve) => server.close(resolve));
  }
});
