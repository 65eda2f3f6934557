/**
 * Child processes for process-based candidate drivers: spawn with the output in a log file, wait
 * for health without guessing, stop politely then firmly, and never leave a child behind when the
 * test process ends (normally, by signal or by crash).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, closeSync, existsSync, mkdirSync, openSync, readFileSync, readSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname } from 'node:path';
import { request, type Dispatcher } from 'undici';
import { CandidateError, type CandidateExit, type InstanceFile } from './types.ts';

export interface SpawnOptions {
  /** Shown in every error message, e.g. `synapse-w0`. */
  name: string;
  command: string;
  args?: string[];
  cwd?: string;
  /** Full environment of the child (defaults to this process's environment). */
  env?: NodeJS.ProcessEnv;
  /** stdout and stderr are appended here. */
  logPath: string;
  /**
   * Sent to the leader alone when this process ends abruptly (exit, signal), instead of SIGKILL
   * to the whole group: for a server that must clean up after itself, e.g. PostgreSQL's
   * immediate shutdown (SIGQUIT), which stops its backends and removes its shared memory.
   */
  emergencySignal?: NodeJS.Signals;
}

export interface HealthWaitOptions {
  /** Upper bound on the whole wait. */
  timeoutMs: number;
  /** Pause between polls (default 100 ms). */
  intervalMs?: number;
  /** e.g. an undici Agent trusting the suite CA, for an https URL. */
  dispatcher?: Dispatcher;
}

/** The log is a file another process writes: polled at this pace while waiting for a line. */
const LOG_POLL_MS = 50;

/** Bytes read from the end of a log file for a tail: plenty for the last lines of any server. */
const TAIL_WINDOW_BYTES = 64 * 1024;

/** The last `lines` lines of a file, or '' if it does not exist. */
export function fileTail(path: string, lines = 40): string {
  if (!existsSync(path)) return '';
  const size = statSync(path).size;
  const length = Math.min(size, TAIL_WINDOW_BYTES);
  const buf = Buffer.alloc(length);
  const fd = openSync(path, 'r');
  try {
    readSync(fd, buf, 0, length, size - length);
  } finally {
    closeSync(fd);
  }
  const all = buf.toString('utf8').replace(/\n+$/, '').split('\n');
  return all.slice(-lines).join('\n');
}

/** A command that could not be started at all; `errno` says why (`ENOENT`: no such binary). */
export class SpawnFailure extends CandidateError {
  constructor(
    message: string,
    readonly errno: string | undefined,
  ) {
    super(message);
    this.name = 'SpawnFailure';
  }
}

/** A running (or exited) child process whose output goes to a log file. */
export class ManagedProcess {
  exitCode: number | null = null;
  exitSignal: NodeJS.Signals | null = null;
  /** Resolves once the process has exited, whatever the cause. */
  readonly exited: Promise<void>;
  private hasExited = false;

  private constructor(
    readonly name: string,
    readonly logPath: string,
    private readonly child: ChildProcess,
    private readonly emergencySignal?: NodeJS.Signals,
  ) {
    this.exited = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        this.exitCode = code;
        this.exitSignal = signal;
        this.hasExited = true;
        registry.delete(this);
        resolve();
      });
    });
  }

  /**
   * Starts `command`. Rejects with a one-line {@link SpawnFailure} when it cannot be started at
   * all (missing binary, not executable, bad cwd).
   */
  static async spawn(opts: SpawnOptions): Promise<ManagedProcess> {
    const logFd = openSync(opts.logPath, 'a');
    let child: ChildProcess;
    try {
      // Own process group (detached) so that stop() also reaches anything the command forks.
      child = spawn(opts.command, opts.args ?? [], {
        cwd: opts.cwd,
        env: opts.env ?? process.env,
        stdio: ['ignore', logFd, logFd],
        detached: true,
      });
    } finally {
      closeSync(logFd); // the child holds its own copy
    }
    await new Promise<void>((resolve, reject) => {
      child.once('spawn', resolve);
      child.once('error', (err: NodeJS.ErrnoException) => {
        const cause = err.code === 'ENOENT' ? 'not found (or its working directory does not exist)' : err.message;
        reject(new SpawnFailure(`${opts.name}: cannot start ${opts.command}: ${cause}`, err.code));
      });
    });
    const proc = new ManagedProcess(opts.name, opts.logPath, child, opts.emergencySignal);
    registry.add(proc);
    return proc;
  }

  get pid(): number {
    return this.child.pid!;
  }

  get running(): boolean {
    return !this.hasExited;
  }

  logTail(lines = 40): string {
    return fileTail(this.logPath, lines);
  }

  /** How the process ended; undefined while it runs. */
  get exit(): CandidateExit | undefined {
    return this.hasExited ? { code: this.exitCode, signal: this.exitSignal } : undefined;
  }

  /** How the process ended, in words, e.g. `exited with code 1`. */
  describeExit(): string {
    return this.exitSignal ? `was killed by ${this.exitSignal}` : `exited with code ${this.exitCode}`;
  }

  /**
   * Polls `url` until it answers 2xx. Fails fast when the process exits meanwhile. On timeout,
   * stops the process (a server that never became healthy must not linger) and says what the
   * last poll got.
   */
  async waitForHealth(url: string, opts: HealthWaitOptions): Promise<void> {
    const deadline = Date.now() + opts.timeoutMs;
    let lastOutcome = 'no answer yet';
    const exitedEarly = this.exited.then(() => 'exited' as const);
    while (Date.now() < deadline) {
      if (!this.running) break;
      const remaining = deadline - Date.now();
      const poll = request(url, {
        dispatcher: opts.dispatcher,
        headersTimeout: Math.max(1, Math.min(remaining, 5_000)),
        bodyTimeout: 5_000,
      }).then(
        async (res) => {
          await res.body.text().catch(() => '');
          return res.statusCode;
        },
        (err: unknown) => (err instanceof Error ? `${(err as NodeJS.ErrnoException).code ?? err.name}: ${err.message}` : String(err)),
      );
      const outcome = await Promise.race([poll, exitedEarly]);
      if (outcome === 'exited') break;
      if (typeof outcome === 'number' && outcome >= 200 && outcome < 300) return;
      lastOutcome = typeof outcome === 'number' ? `HTTP ${outcome}` : outcome;
      await Promise.race([sleep(Math.min(opts.intervalMs ?? 100, Math.max(0, deadline - Date.now()))), exitedEarly]);
    }
    if (!this.running) {
      throw new CandidateError(`${this.name} ${this.describeExit()} while waiting for ${url} to be healthy`, this.logTail());
    }
    await this.stop();
    throw new CandidateError(
      `${this.name} not healthy after ${opts.timeoutMs} ms: GET ${url} last got ${lastOutcome}`,
      this.logTail(),
    );
  }

  /**
   * Waits until the log shows `pattern` (e.g. a readiness line). Fails fast when the process
   * exits first; on timeout, says what was awaited.
   */
  async waitForLog(pattern: RegExp, opts: { timeoutMs: number }): Promise<void> {
    const deadline = Date.now() + opts.timeoutMs;
    const exitedEarly = this.exited.then(() => 'exited' as const);
    while (!pattern.test(fileTail(this.logPath, 200))) {
      if (!this.running) {
        throw new CandidateError(`${this.name} ${this.describeExit()} before its log showed ${pattern}`, this.logTail());
      }
      if (Date.now() >= deadline) {
        throw new CandidateError(`${this.name}: log did not show ${pattern} within ${opts.timeoutMs} ms`, this.logTail());
      }
      await Promise.race([sleep(LOG_POLL_MS), exitedEarly]);
    }
  }

  /**
   * SIGTERM to the group (or `signal` to the leader alone, for a server that stops its own
   * children, e.g. SIGINT for PostgreSQL's fast shutdown), then SIGKILL to the group if still
   * running after `graceMs`. Resolves once the process is gone.
   */
  async stop(graceMs = 10_000, signal?: NodeJS.Signals): Promise<void> {
    if (!this.running) return;
    if (signal) this.signalLeader(signal);
    else this.signalGroup('SIGTERM');
    const timer = setTimeout(() => this.signalGroup('SIGKILL'), graceMs);
    try {
      await this.exited;
    } finally {
      clearTimeout(timer);
    }
    // The leader is gone; make sure nothing it forked lingers in its group.
    this.signalGroup('SIGKILL');
  }

  /** Synchronous hard kill (or the emergency signal), for exit paths where nothing can be awaited. */
  killNow(): void {
    if (this.emergencySignal) this.signalLeader(this.emergencySignal);
    else this.signalGroup('SIGKILL');
  }

  private signalLeader(signal: NodeJS.Signals): void {
    try {
      process.kill(this.pid, signal);
    } catch {
      // ESRCH: already gone.
    }
  }

  private signalGroup(signal: NodeJS.Signals): void {
    try {
      process.kill(-this.pid, signal);
    } catch {
      // ESRCH: the group is already gone.
    }
  }
}

/** Writes an instance's files (from its config generator) to disk, each with its mode. */
export function writeInstanceFiles(files: InstanceFile[]): void {
  for (const file of files) {
    mkdirSync(dirname(file.path), { recursive: true });
    writeFileSync(file.path, file.content, { mode: file.mode });
    chmodSync(file.path, file.mode); // the mode above applies to a new file only
  }
}

/** Every child started by this process and not yet exited. */
const registry = new Set<ManagedProcess>();
let exitHooksInstalled = false;

function killAllNow(): void {
  for (const proc of registry) proc.killNow();
  registry.clear();
}

/** Pids of the children still running, for tests that check nothing was left behind. */
export function runningChildPids(): number[] {
  return [...registry].filter((p) => p.running).map((p) => p.pid);
}

function installExitHooks(): void {
  if (exitHooksInstalled) return;
  exitHooksInstalled = true;
  // 'exit' also runs when an uncaught exception ends the process (tests/self/candidates-process).
  process.on('exit', killAllNow);
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    const onSignal = (): void => {
      killAllNow();
      // If nobody else handles this signal, keep its default meaning: end this process.
      if (process.listenerCount(signal) === 1) {
        process.removeListener(signal, onSignal);
        process.kill(process.pid, signal);
      }
    };
    process.on(signal, onSignal);
  }
}
installExitHooks();

/**
 * True while `pid` is a live process. A zombie (killed, not yet reaped: in a container whose init
 * does not reap, orphans stay zombies) counts as gone.
 */
export function processIsAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
  try {
    // /proc/<pid>/stat: "pid (comm) state ..."; comm may contain spaces and parentheses.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return true; // no procfs: trust kill(0)
  }
}

/**
 * Resolves true once `pid` is gone, false if it still lives after `timeoutMs`. A kill sent by
 * another process (a parent dying) takes effect asynchronously, hence a bounded wait.
 */
export async function waitUntilGone(pid: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (processIsAlive(pid)) {
    if (Date.now() >= deadline) return false;
    await sleep(20);
  }
  return true;
}

/** True when nothing is listening on (and nothing has bound) `host:port`. */
export function isPortFree(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EADDRINUSE' || err.code === 'EACCES') resolve(false);
      else reject(err);
    });
    server.listen({ port, host, exclusive: true }, () => server.close(() => resolve(true)));
  });
}

/** Throws a one-line CandidateError when `host:port` is taken. */
export async function assertPortFree(port: number, host = '127.0.0.1', purpose = 'listener'): Promise<void> {
  if (!(await isPortFree(port, host))) {
    throw new CandidateError(`port ${host}:${port} for the ${purpose} is already in use`);
  }
}

/** A port the kernel reports free on `host` right now (bind to 0, read, close). */
export function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen({ port: 0, host, exclusive: true }, () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => (port ? resolve(port) : reject(new Error(`could not get a free port on ${host}`))));
    });
  });
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}


/**
 * Runs a command to completion (an install step), output appended to `logPath`. Throws a one-line
 * CandidateError with the log tail when it cannot start, fails, or outlives `timeoutMs`.
 */
export async function runToCompletion(opts: SpawnOptions & { timeoutMs: number }): Promise<void> {
  const proc = await ManagedProcess.spawn(opts);
  const what = [opts.command, ...(opts.args ?? [])].join(' ');
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    void proc.stop(5_000);
  }, opts.timeoutMs);
  try {
    await proc.exited;
  } finally {
    clearTimeout(timer);
  }
  if (timedOut) throw new CandidateError(`${opts.name}: \`${what}\` did not finish within ${opts.timeoutMs} ms`, proc.logTail());
  if (proc.exitCode !== 0) throw new CandidateError(`${opts.name}: \`${what}\` ${proc.describeExit()}`, proc.logTail());
}
