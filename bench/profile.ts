/**
 * Where a candidate's time goes during a benchmark join (`npm run bench -- --profile`): a sampling
 * CPU profile of the candidate from the `/join` request until the room is synced, summarised as
 * the frames with the largest shares.
 *
 * - Synapse: py-spy (`py-spy record --nonblocking --format raw`, 50 samples a second), from env
 *   `LAZYJOIN_PY_SPY` or `py-spy` on PATH (`pip install py-spy`). Summarised by
 *   `where-time-goes.ts` over Synapse's own frames.
 * - Dendrite: Go's pprof, which Dendrite serves when started with `PPROFLISTEN`: consecutive
 *   10-second CPU profiles for the whole join, merged and summarised by `go tool pprof -top`
 *   (env `LAZYJOIN_GO`, else `go`).
 *
 * A profiler that cannot run leaves the join measured and says why in the results' failures; a
 * profile is never made up.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { request } from 'undici';
import { summariseFolded, type FrameShare } from './where-time-goes.ts';

/** A profile taken during one join: the files it left and the summary's path. */
export interface ProfileRecord {
  /** What was profiled, e.g. `synapse N=150000 partial run 2`. */
  what: string;
  profiler: 'py-spy' | 'pprof';
  /** The summary (text), relative to the results folder. */
  summary: string;
  /** Samples in the profile (py-spy) or seconds profiled (pprof). */
  samples: number;
}

export interface RunningProfiler {
  /** Stops sampling and writes the raw profile and its summary; throws a one-line reason if there is none. */
  stop(): Promise<ProfileRecord>;
}

const PY_SPY_RATE = 50;
/** Synapse's frames that name work (rather than its reactor, logging and metrics plumbing). */
const SYNAPSE_WORK = /synapse\/(handlers|federation|storage\/(databases|persist_events|controllers)|state|event_auth|crypto|events\/)/;
const PPROF_WINDOW_SECONDS = 10;
/** Bound on a profiler's own shutdown (py-spy writing its file, the last pprof window). */
const STOP_BOUND_MS = (PPROF_WINDOW_SECONDS + 20) * 1000;

/** A free loopback port for Dendrite's pprof listener (taken and released at once). */
export async function freeLoopbackPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

function slug(what: string): string {
  return what.replace(/[^A-Za-z0-9]+/g, '-').replace(/^-|-$/g, '');
}

function shareTable(title: string, rows: readonly FrameShare[], total: number): string[] {
  return [`${title} (of ${total} samples)`, ...rows.map((r) => `${(100 * r.share).toFixed(1).padStart(6)}%  ${r.frame}`)];
}

/** The text summary of a py-spy profile (folded stacks) of Synapse. */
export function pySpySummary(what: string, folded: string): { summary: string; samples: number } {
  const work = summariseFolded(folded, 30, SYNAPSE_WORK, { byFunction: true });
  const own = summariseFolded(folded, 20, 'synapse/', { byFunction: true });
  const all = summariseFolded(folded, 20, '', { byFunction: true });
  const lines = [
    `${what}: py-spy at ${PY_SPY_RATE} Hz, ${all.totalSamples} samples of busy threads (py-spy leaves idle threads out; Synapse's database work runs in a thread pool, so shares add up over threads). Shares per function, all its lines together.`,
    '',
    ...shareTable("Synapse's handlers, federation, storage, state, auth and crypto code, inclusive", work.inclusive, work.totalSamples),
    '',
    ...shareTable("Synapse's own frames, self", own.self, own.totalSamples),
    '',
    ...shareTable('all frames, self', all.self, all.totalSamples),
    '',
  ];
  return { summary: lines.join('\n'), samples: all.totalSamples };
}

/** Starts py-spy on `pid`; `outDir` gets `<what>.folded` and `<what>.txt`. */
export function startPySpy(pid: number, what: string, outDir: string): RunningProfiler {
  mkdirSync(join(outDir, 'profiles'), { recursive: true });
  const base = join('profiles', slug(what));
  const folded = join(outDir, `${base}.folded`);
  const pySpy = process.env.LAZYJOIN_PY_SPY ?? 'py-spy';
  const child = spawn(pySpy, ['record', '--pid', String(pid), '--rate', String(PY_SPY_RATE), '--nonblocking', '--format', 'raw', '-o', folded], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-2000)));
  let spawnError: Error | undefined;
  child.on('error', (err) => (spawnError = err));
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  return {
    async stop() {
      if (!spawnError && child.exitCode === null) child.kill('SIGINT'); // py-spy writes its file on SIGINT
      const code = await Promise.race([exited, new Promise<'late'>((resolve) => setTimeout(() => resolve('late'), STOP_BOUND_MS).unref())]);
      if (spawnError) throw new Error(`py-spy could not start (${pySpy}: ${spawnError.message}); install it with pip install py-spy or set LAZYJOIN_PY_SPY`);
      if (code === 'late') {
        child.kill('SIGKILL');
        throw new Error(`py-spy did not stop within ${STOP_BOUND_MS / 1000} s of SIGINT`);
      }
      let text: string;
      try {
        text = readFileSync(folded, 'utf8');
      } catch {
        throw new Error(`py-spy wrote no profile (exit ${code}): ${stderr.trim().split('\n').slice(-3).join(' | ')}`);
      }
      const { summary, samples } = pySpySummary(what, text);
      writeFileSync(join(outDir, `${base}.txt`), summary);
      return { what, profiler: 'py-spy', summary: `${base}.txt`, samples };
    },
  };
}

/** The text summary of Go CPU profiles of Dendrite (merged by `go tool pprof`), headed by `title`. */
export function pprofSummary(title: string, files: readonly string[]): string {
  const go = process.env.LAZYJOIN_GO ?? 'go';
  const pprof = (...args: string[]) => {
    const r = spawnSync(go, ['tool', 'pprof', ...args, ...files], { encoding: 'utf8', timeout: 120_000 });
    if (r.status !== 0) throw new Error(`go tool pprof ${args.join(' ')} failed: ${(r.stderr || String(r.error)).trim().slice(0, 300)}`);
    return r.stdout.trim();
  };
  return [
    title,
    '',
    "## Dendrite's own functions by inclusive time (cum)",
    pprof('-top', '-cum', '-nodecount=30', '-show=matrix-org/dendrite'),
    '',
    '## all functions by own time (flat)',
    pprof('-top', '-nodecount=30'),
    '',
    '## all functions by inclusive time (cum)',
    pprof('-top', '-cum', '-nodecount=30'),
    '',
  ].join('\n');
}

/** Takes consecutive CPU profiles from a Go pprof listener at `address` until stopped. */
export function startPprof(address: string, what: string, outDir: string): RunningProfiler {
  mkdirSync(join(outDir, 'profiles'), { recursive: true });
  const base = join('profiles', slug(what));
  const files: string[] = [];
  let running = true;
  let failure: Error | undefined;
  const loop = (async () => {
    while (running) {
      try {
        const res = await request(`http://${address}/debug/pprof/profile?seconds=${PPROF_WINDOW_SECONDS}`, { headersTimeout: STOP_BOUND_MS, bodyTimeout: STOP_BOUND_MS });
        const body = Buffer.from(await res.body.arrayBuffer());
        if (res.statusCode !== 200) throw new Error(`pprof at ${address} answered ${res.statusCode}: ${body.toString('utf8', 0, 200)}`);
        const file = join(outDir, `${base}.${files.length + 1}.pprof`);
        writeFileSync(file, body);
        files.push(file);
      } catch (err) {
        failure = err as Error;
        return;
      }
    }
  })();
  return {
    async stop() {
      running = false;
      await loop; // the window in progress ends within PPROF_WINDOW_SECONDS
      if (!files.length) throw new Error(`no pprof profile from ${address}: ${failure?.message ?? 'none taken'}`);
      writeFileSync(join(outDir, `${base}.txt`), pprofSummary(`${what}: Go pprof CPU profile, ${files.length} windows of ${PPROF_WINDOW_SECONDS} s merged${failure ? ` (stopped early: ${failure.message})` : ''}`, files));
      return { what, profiler: 'pprof', summary: `${base}.txt`, samples: files.length * PPROF_WINDOW_SECONDS };
    },
  };
}

// The summary of profiles taken by hand:
//   npx tsx bench/profile.ts <py-spy-profile.folded> [what it profiled]
//   npx tsx bench/profile.ts --pprof "<title>" <cpu.pprof>...
if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  if (args[0] === '--pprof' && args.length >= 3) {
    process.stdout.write(pprofSummary(args[1], args.slice(2)));
  } else if (args.length >= 1 && !args[0].startsWith('--')) {
    const [file, ...what] = args;
    process.stdout.write(pySpySummary(what.join(' ') || file, readFileSync(file, 'utf8')).summary);
  } else {
    console.error('usage: npx tsx bench/profile.ts <py-spy-profile.folded> [what it profiled] | --pprof "<title>" <cpu.pprof>...');
    process.exit(2);
  }
}
