/**
 * What partial-state joins buy, measured on real candidates (`npm run bench`, see options.ts):
 *
 * 1. joiner: per candidate, N and run, a fresh candidate joins a fresh N-member room on a remote
 *    with partial state and, on another fresh candidate, with full state (the remote ignoring
 *    `omit_members`);
 * 2. resident: after each full join, a second remote joins the same room through the candidate
 *    with and without `omit_members`;
 * 3. suite: synthesis rate against the raw Ed25519 sign rate; time and peak memory for the
 *    biggest room.
 *
 * Writes `<out>/results.json` (schemas/bench.schema.json), `<out>/results.md`,
 * `<out>/<candidate>.svg` and `<out>/index.html`, rewritten after every measurement so that an
 * interrupted run leaves what it measured. `--merge a/results.json,b/results.json --out DIR`
 * writes the same outputs for several earlier runs together.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import { acquirePostgres, type PostgresService } from '../harness/candidates/postgres.ts';
import { ensureSuiteCA } from '../harness/remote/pki.ts';
import { measureJoin, type JoinMeasurement } from './joiner-bench.ts';
import { parseBenchArgs, type BenchOptions } from './options.ts';
import { renderHtml, renderMarkdown, renderPlotSvg } from './render.ts';
import { measureResident } from './resident-bench.ts';
import { fullToPartialRatios, mergeResults, summariseJoins, validateResults, type BenchResults } from './results.ts';
import { synthesiseInChild } from './synthesis-bench.ts';

/**
 * Bound on one join plus its resync: generous, since a full join of a big room is slow by nature
 * (Dendrite 0.13.8 took 63 s for N = 1,000 at load average 25: 60 ms per member leaves room).
 */
function joinBoundMs(members: number, opts: BenchOptions): number {
  return opts.boundSeconds !== undefined ? opts.boundSeconds * 1000 : 300_000 + 60 * members;
}

/** The candidates that use the harness's PostgreSQL service (measured alongside). */
const ON_POSTGRES = ['synapse-postgres', 'palpo'];

/** Tries per measurement. */
const MAX_ATTEMPTS = 2;

function load(): string {
  return loadavg().map((l) => l.toFixed(1)).join(' ');
}

function emptyResults(opts: BenchOptions): BenchResults {
  return {
    schema: 'lazyjoin-bench/1',
    generatedAt: new Date().toISOString(),
    quick: opts.quick,
    machine: { node: process.version, platform: `${process.platform} ${process.arch}`, cpus: availableParallelism(), cpuModel: cpus()[0]?.model ?? 'unknown', memoryBytes: totalmem() },
    options: { candidates: opts.candidates, sizes: opts.sizes, runs: opts.runs },
    joins: [],
    joinSummaries: [],
    ratios: [],
    resident: [],
    synthesis: [],
    failures: [],
  };
}

/** Writes every output for the results so far; throws when the document breaks its schema. */
export function writeOutputs(results: BenchResults, outDir: string): void {
  results.generatedAt = new Date().toISOString();
  results.joinSummaries = summariseJoins(results.joins);
  results.ratios = fullToPartialRatios(results.joinSummaries);
  const errors = validateResults(results);
  if (errors.length) throw new Error(`benchmark results break schemas/bench.schema.json: ${errors.join('; ')}`);
  mkdirSync(outDir, { recursive: true });
  writeFileSync(join(outDir, 'results.json'), JSON.stringify(results, null, 2) + '\n');
  writeFileSync(join(outDir, 'results.md'), renderMarkdown(results));
  const plots = new Map<string, string>();
  for (const candidate of new Set(results.joinSummaries.map((s) => s.candidate))) {
    const svg = renderPlotSvg(candidate, results.joinSummaries);
    plots.set(candidate, svg);
    writeFileSync(join(outDir, `${candidate}.svg`), svg);
  }
  writeFileSync(join(outDir, 'index.html'), renderHtml(results, plots));
}

/**
 * Runs the benchmark. Needs the run folder (env `LAZYJOIN_RUN_DIR`, as the Playwright global setup
 * makes) and the suite CA; `main` makes them when run from the command line. A measurement that fails is recorded
 * in `failures`; for a candidate that fails at some N, larger N are not attempted.
 */
export async function runBench(opts: BenchOptions, log: (line: string) => void = console.log): Promise<BenchResults> {
  const results = emptyResults(opts);
  const outDir = resolve(opts.outDir);
  const workRoot = mkdtempSync(join(tmpdir(), 'lazyjoin-bench-candidates-'));
  // One PostgreSQL server for the whole benchmark, started before any candidate (so that a
  // candidate's start adds only its own process), each candidate with a fresh database.
  let postgres: PostgresService | undefined;
  try {
    if (opts.candidates.some((c) => ON_POSTGRES.includes(c))) {
      postgres = await acquirePostgres(workRoot);
      log(`PostgreSQL ${postgres.version} (pid ${postgres.pid}) on ${postgres.socketDir}`);
    }
    if (opts.synthesisMembers > 0) {
      log(`synthesis of ${opts.synthesisMembers} members (load ${load()})`);
      try {
        const s = await synthesiseInChild(opts.synthesisMembers, 30 * 60_000);
        results.synthesis.push(s);
        log(`  ${s.events} events in ${s.wallSeconds.toFixed(1)} s, ${Math.round(s.eventsPerCpuSecond)} events/CPU s vs ${Math.round(s.rawSignsPerCpuSecond)} raw signs/CPU s, peak RSS ${(s.peakRssBytes / 2 ** 20).toFixed(0)} MiB`);
      } catch (err) {
        results.failures.push({ what: `synthesis of ${opts.synthesisMembers} members`, error: (err as Error).message });
      }
    }
    writeOutputs(results, outDir);

    for (const candidateName of opts.candidates) {
      let partialAsked = true;
      sizes: for (const members of opts.sizes) {
        for (let run = 1; run <= opts.runs; run++) {
          for (const mode of opts.modes) {
            if (mode === 'partial' && !partialAsked) continue;
            const what = `${candidateName} N=${members} ${mode} run ${run}`;
            log(`${what} (load ${load()})`);
            let measured: JoinMeasurement | undefined;
            // One retry: on a loaded machine a candidate can give up on a remote that answered
            // late (a key fetch timing out); twice in a row means it does not cope at this N.
            for (let attempt = 1; attempt <= MAX_ATTEMPTS && !measured; attempt++) {
              try {
                measured = await measureJoin({
                  candidateName,
                  members,
                  mode,
                  run,
                  workRoot,
                  boundMs: joinBoundMs(members, opts),
                  log: (line) => log(`  ${line}`),
                  profileDir: opts.profile ? outDir : undefined,
                  postgres: ON_POSTGRES.includes(candidateName) ? postgres : undefined,
                  afterJoin:
                    mode === 'full'
                      ? async ({ candidate, pid, bench }) => {
                          try {
                            results.resident.push(...(await measureResident(candidate, pid, bench.room.roomId, members, run, joinBoundMs(members, opts))));
                          } catch (err) {
                            results.failures.push({ what: `${candidateName} N=${members} resident run ${run}`, error: (err as Error).message });
                          }
                        }
                      : undefined,
                });
              } catch (err) {
                results.failures.push({ what: `${what} (attempt ${attempt} of ${MAX_ATTEMPTS})`, error: (err as Error).message });
                log(`  FAILED (attempt ${attempt} of ${MAX_ATTEMPTS}): ${(err as Error).message.split('\n')[0]}`);
                writeOutputs(results, outDir);
                // A join still going at the bound would take as long again: not retried.
                if ((err as Error).message.includes(': did not join within ')) break;
              }
            }
            if (!measured) break sizes; // a candidate that cannot cope at N will not at larger N
            results.joins.push(measured);
            if (mode === 'partial' && measured.askedOmitMembers !== 'true') {
              partialAsked = false;
              results.failures.push({
                what: `${candidateName} partial joins`,
                error: `${candidateName} ${measured.candidateVersion} did not ask for partial state (omit_members ${measured.askedOmitMembers ?? 'absent'}): its joins are always full, so partial joins were measured once only`,
              });
            }
            writeOutputs(results, outDir);
          }
        }
      }
    }
  } finally {
    await postgres?.stop();
    rmSync(workRoot, { recursive: true, force: true });
  }
  writeOutputs(results, outDir);
  log(`wrote ${join(outDir, 'results.json')}, results.md, index.html and the plots`);
  return results;
}

/** `--merge a.json,b.json --out DIR`: writes the outputs for the union of earlier results. */
function mergeFiles(argv: string[]): boolean {
  const at = argv.indexOf('--merge');
  if (at < 0) return false;
  const files = (argv[at + 1] ?? '').split(',').filter(Boolean);
  const outAt = argv.indexOf('--out');
  if (files.length === 0 || outAt < 0 || !argv[outAt + 1]) throw new Error('usage: npm run bench -- --merge a/results.json,b/results.json --out DIR');
  const docs = files.map((f) => {
    const doc = JSON.parse(readFileSync(f, 'utf8')) as unknown;
    const errors = validateResults(doc);
    if (errors.length) throw new Error(`${f} is not a benchmark results document: ${errors.slice(0, 3).join('; ')}`);
    return doc as BenchResults;
  });
  writeOutputs(mergeResults(docs), resolve(argv[outAt + 1]));
  console.log(`merged ${files.length} results into ${resolve(argv[outAt + 1])}`);
  return true;
}

async function main(): Promise<void> {
  try {
    if (mergeFiles(process.argv.slice(2))) return;
  } catch (err) {
    console.error((err as Error).message);
    process.exit(2);
  }
  let opts: BenchOptions;
  try {
    opts = parseBenchArgs(process.argv.slice(2));
  } catch (err) {
    console.error((err as Error).message);
    process.exit(2);
  }
  if (!process.env.LAZYJOIN_RUN_DIR) {
    const runDir = mkdtempSync(join(tmpdir(), 'lazyjoin-bench-run-'));
    process.env.LAZYJOIN_RUN_DIR = runDir;
    await ensureSuiteCA();
  }
  const results = await runBench(opts);
  process.exitCode = results.failures.some((f) => !f.what.endsWith('partial joins')) ? 1 : 0;
}

if (import.meta.url === `file://${process.argv[1]}`) await main();
