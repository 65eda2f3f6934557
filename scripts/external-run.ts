/**
 * Runs real servers the way an operator would, outside every lazyjoin driver, and tests them as
 * the `external` candidate; then compares the verdicts with a process-driver run of the same
 * implementation and version.
 *
 *   npx tsx scripts/external-run.ts [--implementation synapse|dendrite]... [--against RESULTS.json]
 *                                   [--out DIR] [-- <test folders or files>]
 *
 * For each implementation (default: synapse and dendrite):
 *  1. a certificate for 127.0.0.1 from `lazyjoin ca issue`, and the recipe from
 *     `lazyjoin external-config --implementation X` (with this server's ports and secret);
 *  2. the server's own config tool writes its base config (Synapse --generate-config, Dendrite
 *     generate-config and generate-keys); the recipe goes on top (Synapse: a second -c file;
 *     Dendrite: its sections merged in) and the server starts with the recipe's command line;
 *  3. `lazyjoin run --candidate external` over the test folders (default smoke, resident, joining,
 *     in the default room version);
 *  4. the server is stopped, and scripts/compare-runs.ts compares the run with the process run of
 *     the same implementation and version found in --against (a results.json holding it), or, when
 *     there is none, with a process run it makes itself over the same tests.
 *
 * Ends with one line `N passed, N failed, N skipped`: the tests of every run, plus one check per
 * comparison (failed when any verdict differs) and per server that did not start.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parse, stringify } from 'yaml';
import { defaultCacheDir, knownCandidates } from '../harness/candidates/index.ts';
import { installDendrite, DEFAULT_DENDRITE_VERSION } from '../harness/candidates/dendrite/install.ts';
import { installSynapse } from '../harness/candidates/synapse/install.ts';
import { freePort, ManagedProcess } from '../harness/candidates/process.ts';
import { readResults } from '../harness/report/write.ts';
import type { RunResults } from '../harness/report/model.ts';
import { compareRuns, formatComparison } from './compare-runs.ts';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const LAZYJOIN = join(ROOT, 'bin', 'lazyjoin.mjs');
/** The Synapse run here: the last Apache-2.0 release, cached by the process driver's installer. */
const SYNAPSE_VERSION = '1.98.0';
const HEALTH_TIMEOUT_MS = 120_000;
/**
 * The smoke, resident and joining tests in the candidate's default room version: the copies of a
 * test for other room versions (tagged @v1 ... @v12) are the process runs' to make, and leaving
 * them out keeps this step to minutes.
 */
const DEFAULT_TESTS = ['tests/smoke', 'tests/resident', 'tests/joining', '--grep-invert', '@v[0-9]+(\\s|$)'];

interface Tally {
  passed: number;
  failed: number;
  skipped: number;
}

/** Runs the lazyjoin command; output goes to the console (and is returned when `capture`). */
function lazyjoin(args: string[], env: NodeJS.ProcessEnv = process.env, capture = false): Promise<{ code: number; stdout: string }> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, [LAZYJOIN, ...args], { cwd: ROOT, env, stdio: ['ignore', capture ? 'pipe' : 'inherit', 'inherit'] });
    let out = '';
    child.stdout?.on('data', (d) => (out += d));
    child.on('error', fail);
    child.on('close', (code) => done({ code: code ?? 1, stdout: out }));
  });
}

/** Runs a setup command of the server's own (config generation), failing with its output. */
function tool(command: string, args: string[], cwd: string): Promise<string> {
  return new Promise((done, fail) => {
    const child = spawn(command, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    child.on('error', fail);
    child.on('close', (code) => (code === 0 ? done(out) : fail(new Error(`${command} ${args.join(' ')} exited ${code}: ${out.trim().split('\n').slice(-3).join(' | ')}`))));
  });
}

/** Deep merge of plain objects (the recipe's sections into the server's generated config). */
function merge(base: Record<string, unknown>, over: Record<string, unknown>): Record<string, unknown> {
  const out = { ...base };
  for (const [k, v] of Object.entries(over)) {
    const b = out[k];
    out[k] = v && typeof v === 'object' && !Array.isArray(v) && b && typeof b === 'object' && !Array.isArray(b) ? merge(b as Record<string, unknown>, v as Record<string, unknown>) : v;
  }
  return out;
}

interface Server {
  implementation: 'synapse' | 'dendrite';
  version: string;
  process: ManagedProcess;
  clientUrl: string;
  serverName: string;
  secret: string;
}

async function startServer(implementation: 'synapse' | 'dendrite', work: string): Promise<Server> {
  const clientPort = await freePort();
  const federationPort = await freePort();
  const serverName = `127.0.0.1:${federationPort}`;
  const secret = randomBytes(16).toString('hex');
  const tlsDir = join(work, 'tls');
  const issued = await lazyjoin(['ca', 'issue', '127.0.0.1', '--out', tlsDir], process.env, true);
  if (issued.code !== 0) throw new Error(`lazyjoin ca issue failed (exit ${issued.code})`);
  const recipe = await lazyjoin(
    ['external-config', '--implementation', implementation, '--server-name', serverName, '--client-port', String(clientPort), '--cert-dir', tlsDir, '--secret', secret],
    process.env,
    true,
  );
  if (recipe.code !== 0) throw new Error(`lazyjoin external-config failed (exit ${recipe.code})`);
  writeFileSync(join(work, 'lazyjoin-recipe.txt'), recipe.stdout);
  const logPath = join(work, `${implementation}.log`);

  if (implementation === 'synapse') {
    const install = await installSynapse({ cacheDir: defaultCacheDir(), version: SYNAPSE_VERSION });
    const config = join(work, 'homeserver.yaml');
    await tool(install.python, ['-m', 'synapse.app.homeserver', '--generate-config', '-H', serverName, '--report-stats=no', '-c', config, '--data-directory', work, '--config-directory', work], work);
    writeFileSync(join(work, 'lazyjoin.yaml'), recipe.stdout);
    // The recipe's start line: python -m synapse.app.homeserver -c homeserver.yaml -c lazyjoin.yaml
    const process_ = await ManagedProcess.spawn({
      name: 'external synapse',
      command: install.python,
      args: ['-m', 'synapse.app.homeserver', '-c', config, '-c', join(work, 'lazyjoin.yaml')],
      cwd: work,
      env: { ...process.env, PYTHONUNBUFFERED: '1' },
      logPath,
    });
    return { implementation, version: SYNAPSE_VERSION, process: process_, clientUrl: `http://127.0.0.1:${clientPort}`, serverName, secret };
  }

  const install = await installDendrite({ cacheDir: defaultCacheDir(), version: DEFAULT_DENDRITE_VERSION });
  const generated = await tool(join(install.binDir, 'generate-config'), ['-dir', work, '-server', serverName], work);
  await tool(join(install.binDir, 'generate-keys'), ['--private-key', join(work, 'matrix_key.pem')], work);
  const base = parse(generated) as Record<string, unknown>;
  const settings = parse(recipe.stdout) as Record<string, unknown>;
  const merged = merge(base, settings) as { global: Record<string, unknown> };
  merged.global.private_key = join(work, 'matrix_key.pem');
  writeFileSync(join(work, 'dendrite.yaml'), stringify(merged));
  // The recipe's start line: `mkdir -p <roots>` then `SSL_CERT_FILE=… SSL_CERT_DIR=… dendrite --config … …`.
  const lines = recipe.stdout.split('\n').map((l) => l.replace(/^#\s*/, ''));
  const mkdir = lines.find((l) => l.startsWith('mkdir -p '));
  if (mkdir) mkdirSync(mkdir.slice('mkdir -p '.length).trim(), { recursive: true });
  const start = lines.find((l) => / dendrite --config /.test(l));
  if (!start) throw new Error('the Dendrite recipe has no start line');
  const words = start.trim().split(/\s+/);
  const env: Record<string, string> = {};
  while (words[0] && /^[A-Z_]+=/.test(words[0])) {
    const [k, ...v] = words.shift()!.split('=');
    env[k!] = v.join('=');
  }
  words.shift(); // "dendrite"
  const process_ = await ManagedProcess.spawn({
    name: 'external dendrite',
    command: install.dendrite,
    args: words.map((w) => (w === 'dendrite.yaml' ? join(work, 'dendrite.yaml') : w)),
    cwd: work,
    env: { ...process.env, ...env },
    logPath,
  });
  return { implementation, version: install.version, process: process_, clientUrl: `http://127.0.0.1:${clientPort}`, serverName, secret };
}

/** The last `N passed, N failed, N skipped` line a run printed. */
function tallyOf(output: string): Tally | undefined {
  const m = [...output.matchAll(/^(\d+) passed, (\d+) failed(?:, (\d+) skipped)?$/gm)].pop();
  return m ? { passed: Number(m[1]), failed: Number(m[2]), skipped: Number(m[3] ?? 0) } : undefined;
}

/** `lazyjoin run`, its output shown and kept for the tally line. */
function run(args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number; output: string }> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, [LAZYJOIN, 'run', ...args], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
      process.stdout.write(d);
    });
    child.on('error', fail);
    child.on('close', (code) => done({ code: code ?? 1, output: out }));
  });
}

/** The process-driver project of an implementation and version in `results`, if it ran there. */
function processProjectIn(results: RunResults, implementation: string, version: string): string | undefined {
  return results.projects.find((p) => {
    const info = results.candidates[p];
    return info?.driver === 'process' && info.implementation === implementation && info.version === version;
  });
}

/** The process candidate to run for an implementation and version when no run is given. */
function processCandidateFor(implementation: string, version: string): string {
  if (implementation === 'synapse' && version === SYNAPSE_VERSION && knownCandidates.includes('synapse-1.98')) return 'synapse-1.98';
  return implementation;
}

async function main(argv: string[]): Promise<number> {
  const sep = argv.indexOf('--');
  const own = sep >= 0 ? argv.slice(0, sep) : argv;
  const tests = sep >= 0 ? argv.slice(sep + 1) : DEFAULT_TESTS;
  const implementations: Array<'synapse' | 'dendrite'> = [];
  let against: string | undefined;
  let out = resolve('lazyjoin-report/external');
  for (let i = 0; i < own.length; i++) {
    const a = own[i];
    if (a === '--implementation' && (own[i + 1] === 'synapse' || own[i + 1] === 'dendrite')) implementations.push(own[++i] as 'synapse' | 'dendrite');
    else if (a === '--against' && own[i + 1]) against = resolve(own[++i]!);
    else if (a === '--out' && own[i + 1]) out = resolve(own[++i]!);
    else {
      console.error(`external-run: unexpected argument ${a} (usage: [--implementation synapse|dendrite]... [--against results.json] [--out DIR] [-- tests])`);
      return 2;
    }
  }
  if (implementations.length === 0) implementations.push('synapse', 'dendrite');
  const againstResults = against && existsSync(against) ? readResults(against) : undefined;
  if (against && !againstResults) console.log(`external-run: ${against} does not exist; process runs are made here`);

  const total: Tally = { passed: 0, failed: 0, skipped: 0 };
  const add = (t: Tally | undefined) => {
    if (!t) {
      total.failed++;
      return;
    }
    total.passed += t.passed;
    total.failed += t.failed;
    total.skipped += t.skipped;
  };
  const summary: string[] = [];

  for (const implementation of implementations) {
    const started = Date.now();
    const work = mkdtempSync(join(tmpdir(), `lazyjoin-external-${implementation}-`));
    const reportDir = join(out, implementation);
    let server: Server | undefined;
    let externalRun: { code: number; output: string } | undefined;
    try {
      console.log(`\n=== external ${implementation}: started by hand in ${work}`);
      server = await startServer(implementation, work);
      await server.process.waitForHealth(`${server.clientUrl}/_matrix/client/versions`, { timeoutMs: HEALTH_TIMEOUT_MS });
      console.log(`external ${implementation} ${server.version} serves at ${server.clientUrl} as ${server.serverName} (${((Date.now() - started) / 1000).toFixed(1)} s)`);
      externalRun = await run(['--candidate', 'external', '--out', reportDir, '--', ...tests], {
        ...process.env,
        LAZYJOIN_EXTERNAL_CLIENT_URL: server.clientUrl,
        LAZYJOIN_EXTERNAL_SERVER_NAME: server.serverName,
        LAZYJOIN_EXTERNAL_SHARED_SECRET: server.secret,
        LAZYJOIN_EXTERNAL_IMPLEMENTATION: implementation,
        LAZYJOIN_EXTERNAL_VERSION: server.version,
      });
      add(tallyOf(externalRun.output));
    } catch (err) {
      console.log(`external ${implementation}: ${(err as Error).message}`);
      if (server) console.log(server.process.logTail(30));
      total.failed++;
    } finally {
      await server?.process.stop();
    }
    if (!server || !externalRun || !existsSync(join(reportDir, 'results.json'))) {
      summary.push(`${implementation}: no external run to compare`);
      total.failed++;
      continue;
    }
    rmSync(work, { recursive: true, force: true });

    const externalResults = readResults(join(reportDir, 'results.json'));
    let processResults = againstResults;
    let processProject = processResults && processProjectIn(processResults, implementation, server.version);
    if (!processProject) {
      const name = processCandidateFor(implementation, server.version);
      console.log(`\n=== process run of ${name} over the same tests, to compare with`);
      const processRun = await run(['--candidate', name, '--out', `${reportDir}-process`, '--', ...tests], process.env);
      add(tallyOf(processRun.output));
      processResults = existsSync(join(`${reportDir}-process`, 'results.json')) ? readResults(join(`${reportDir}-process`, 'results.json')) : undefined;
      processProject = processResults && processProjectIn(processResults, implementation, server.version);
    }
    if (!processResults || !processProject) {
      summary.push(`${implementation}: no process run of ${implementation} ${server.version} to compare with`);
      total.failed++;
      continue;
    }
    const comparison = compareRuns({ results: externalResults, project: 'external' }, { results: processResults, project: processProject });
    const text = formatComparison(comparison, { external: `external ${implementation} ${server.version}`, process: `${processProject} (process)` });
    summary.push(`${implementation} ${server.version}, ${((Date.now() - started) / 1000).toFixed(0)} s:\n${text}`);
    if (comparison.differences.length) total.failed++;
    else total.passed++;
  }

  console.log('\n=== external runs compared with process runs');
  console.log(summary.join('\n\n'));
  console.log(`\n${total.passed} passed, ${total.failed} failed, ${total.skipped} skipped`);
  return total.failed ? 1 : 0;
}

process.exitCode = await main(process.argv.slice(2));
