/**
 * Known-bad candidates: real Synapse (1.98.0 by default) behind a proxy that breaks one requirement
 * (harness/candidates/fault-proxy.ts). For each fault, the conformance tests where the fault shows
 * run in a child run against that candidate, and must fail the gate on the requirement the fault
 * breaks: the requirement has a fail (or, for a SHOULD, a non-strict, under --strict) and the run
 * exits non-zero. A slow but correct candidate must not fail anything.
 *
 * Each fault runs a few targeted tests (in the candidate's default room version only), so the whole file takes a few
 * minutes; it is its own project, `known-bad`, outside `npm test`'s self-tests.
 */
import { test, expect } from '@playwright/test';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FAULTS, type FaultName } from '../../harness/candidates/fault-proxy.ts';
import type { CheckOutcome } from '../../harness/checks/types.ts';

const REPO = fileURLToPath(new URL('../..', import.meta.url));
const PLAYWRIGHT = join(REPO, 'node_modules', '@playwright', 'test', 'cli.js');
// Synapse 1.98.0: its baseline lists what it breaks by itself, so only the fault can fail the gate.
const CANDIDATE = process.env.LAZYJOIN_KNOWN_BAD_CANDIDATE ?? 'synapse-1.98';
/** A child run starts a candidate and runs one to three scenarios. */
const CHILD_RUN_MS = 8 * 60_000;

interface Scenario {
  file: string;
  grep: string;
}

/** Joining tests: the copy in the candidate's default room version, not the `room version N` copies. */
const DEFAULT_COPY = 'room version';

interface ChildRun {
  exitCode: number | null;
  outcomes: Array<CheckOutcome & { test: string }>;
  tests: number;
  log: string;
}

/** Runs `scenarios` against the candidate behind `faults`; returns every recorded check outcome. */
async function runBehindFaults(faults: FaultName[], scenarios: Scenario[], grepInvert?: string): Promise<ChildRun> {
  const dir = mkdtempSync(join(tmpdir(), `lazyjoin-known-bad-${faults.join('-')}-`));
  const json = join(dir, 'results.json');
  const grep = scenarios.map((s) => `(${s.grep})`).join('|');
  // The child is a fresh Playwright run: none of this worker's Playwright variables.
  const inherited = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(TEST_|PW_|PLAYWRIGHT_)/.test(k)));
  const env: NodeJS.ProcessEnv = {
    ...inherited,
    LAZYJOIN_FAULTS: faults.join(','),
    LAZYJOIN_CANDIDATES: CANDIDATE,
    LAZYJOIN_WORKERS: '1',
    LAZYJOIN_STRICT: '1',
    LAZYJOIN_RUN_DIR: join(dir, 'run'),
    LAZYJOIN_REPORT_DIR: join(dir, 'report'),
    PLAYWRIGHT_JSON_OUTPUT_NAME: json,
  };
  const args = [PLAYWRIGHT, 'test', `--project=${CANDIDATE}`, '--reporter=json', `--grep=${grep}`, ...(grepInvert ? [`--grep-invert=${grepInvert}`] : []), ...[...new Set(scenarios.map((s) => s.file))]];
  let log = '';
  const exitCode = await new Promise<number | null>((resolve, reject) => {
    const child = spawn(process.execPath, args, { cwd: REPO, env, stdio: ['ignore', 'ignore', 'pipe'] });
    child.stderr.on('data', (d: Buffer) => (log = (log + d.toString()).slice(-4000)));
    const timer = setTimeout(() => child.kill('SIGTERM'), CHILD_RUN_MS - 10_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve(code);
    });
  });
  if (!existsSync(json)) throw new Error(`the child run behind ${faults.join(',')} wrote no results (exit ${exitCode}): ${log.slice(-1500)}`);
  const report = JSON.parse(readFileSync(json, 'utf8')) as { suites: Suite[] };
  const outcomes: ChildRun['outcomes'] = [];
  let tests = 0;
  const walk = (suite: Suite, path: string[]) => {
    for (const spec of suite.specs ?? []) {
      for (const t of spec.tests ?? []) {
        tests += 1;
        const annotations = [...(t.annotations ?? []), ...(t.results ?? []).flatMap((r) => r.annotations ?? [])];
        const seen = new Set<string>();
        for (const a of annotations) {
          if (a.type !== 'lazyjoin-check' || !a.description || seen.has(a.description)) continue;
          seen.add(a.description);
          outcomes.push({ ...(JSON.parse(a.description) as CheckOutcome), test: [...path, spec.title].join(' › ') });
        }
      }
    }
    for (const s of suite.suites ?? []) walk(s, [...path, s.title]);
  };
  for (const s of report.suites) walk(s, []);
  rmSync(dir, { recursive: true, force: true }); // the child's candidate data and reports
  return { exitCode, outcomes, tests, log };
}

interface Suite {
  title: string;
  specs?: Array<{ title: string; tests?: Array<{ annotations?: Annotation[]; results?: Array<{ annotations?: Annotation[] }> }> }>;
  suites?: Suite[];
}
interface Annotation {
  type: string;
  description?: string;
}


/** Resident tests declared once per room version: the copy in room version 10. */
const v10 = (title: string) => `room version 10 ${title}`;

const cases: Array<{ fault: FaultName; scenarios: Scenario[]; breaks: string[]; grepInvert?: string }> = [
  { fault: 'members-local-only', scenarios: [{ file: 'tests/joining/blocking.spec.ts', grep: 'GET /members waits for the resync' }], breaks: ['CD-01', 'JS-08'], grepInvert: DEFAULT_COPY },
  { fault: 'eager-sync-shows-partial', scenarios: [{ file: 'tests/joining/sync.spec.ts', grep: 'an eager sync leaves the room out during the resync' }], breaks: ['JS-10', 'CD-02'], grepInvert: DEFAULT_COPY },
  { fault: 'joined-members-local-only', scenarios: [{ file: 'tests/joining/sync.spec.ts', grep: 'after the resync, eager and lazy syncs and /joined_members agree' }], breaks: ['CD-01'], grepInvert: DEFAULT_COPY },
  { fault: 'send-join-drops-hero', scenarios: [{ file: 'tests/resident/heroes.spec.ts', grep: v10('a nameless room with two members: both are heroes and kept') }], breaks: ['SJ-15'] },
  { fault: 'send-join-flag-lies', scenarios: [{ file: 'tests/resident/heroes.spec.ts', grep: 'a nameless room with seven members' }], breaks: ['SJ-12'] },
  { fault: 'send-join-strips-signatures', scenarios: [{ file: 'tests/resident/heroes.spec.ts', grep: v10('a nameless room with two members: both are heroes and kept') }], breaks: ['SG-01'] },
  { fault: 'state-ids-leaks', scenarios: [{ file: 'tests/resident/federation-api.spec.ts', grep: 'refusals: unknown endpoint, wrong method, outsider' }], breaks: ['ST-04'] },
  { fault: 'state-ids-drops-event', scenarios: [{ file: 'tests/resident/after-partial-join.spec.ts', grep: 'after a partial join, /state_ids and /state give the full state' }], breaks: ['ST-01'] },
];


for (const { fault, scenarios, breaks, grepInvert } of cases) {
  test(`${fault}: ${FAULTS[fault]} -> fails the gate on ${breaks.join(', ')}`, async ({}, testInfo) => {
    test.setTimeout(CHILD_RUN_MS);
    const run = await runBehindFaults([fault], scenarios, grepInvert);
    const broken = run.outcomes.filter((o) => o.verdict === 'fail' || o.verdict === 'non-strict');
    testInfo.annotations.push({ type: 'lazyjoin-known-bad', description: JSON.stringify({ fault, exitCode: run.exitCode, tests: run.tests, failed: broken.map((o) => `${o.requirementId} ${o.checkId} (${o.verdict}): ${o.reason ?? ''}`.slice(0, 300)) }) });
    expect(run.tests, `tests run behind ${fault} (grep ${scenarios.map((s) => s.grep).join(' | ')})`).toBeGreaterThan(0);
    for (const requirementId of breaks) {
      expect(broken.filter((o) => o.requirementId === requirementId).map((o) => o.verdict), `${requirementId} failed behind ${fault}; outcomes: ${JSON.stringify(run.outcomes.filter((o) => o.requirementId === requirementId).map((o) => [o.checkId, o.verdict, o.reason]))}`).not.toEqual([]);
    }
    expect(run.exitCode, `the gate (exit status) of the run behind ${fault}`).not.toBe(0);
  });
}

test(`slow: ${FAULTS.slow} -> passes`, async ({}, testInfo) => {
  test.setTimeout(CHILD_RUN_MS);
  const run = await runBehindFaults(['slow'], [
    { file: 'tests/joining/blocking.spec.ts', grep: '^(?!.*room version).*GET /members waits for the resync' },
    { file: 'tests/resident/heroes.spec.ts', grep: v10('a nameless room with two members: both are heroes and kept') },
  ]);
  const bad = run.outcomes.filter((o) => o.verdict === 'fail' || o.verdict === 'non-strict' || o.verdict === 'error');
  testInfo.annotations.push({ type: 'lazyjoin-known-bad', description: JSON.stringify({ fault: 'slow', exitCode: run.exitCode, tests: run.tests, outcomes: run.outcomes.length }) });
  expect(run.tests).toBeGreaterThan(0);
  expect(bad.map((o) => `${o.test}: ${o.requirementId} ${o.checkId} ${o.verdict} ${o.reason ?? ''}`)).toEqual([]);
  expect(run.exitCode, `exit status of the slow run: ${run.log.slice(-800)}`).toBe(0);
});
