/**
 * Compares two runs' verdicts requirement by requirement: an external run of a server against a
 * process-driver run of the same implementation and version.
 *
 *   npx tsx scripts/compare-runs.ts EXTERNAL/results.json[:PROJECT] PROCESS/results.json[:PROJECT]
 *
 * Both runs are judged over the same tests only (those both ran, matched by file and title), each
 * through the report's own verdict path (buildReport: catalogue, baselines, aggregation), so a
 * process run of the whole suite compares fairly with an external run of a few folders. Tests the
 * external run could not run by design (a restart) are left out of both sides and listed. Without
 * a PROJECT, the first candidate of each file is taken. Prints every difference; exit status 1
 * when there is one, 0 when the verdicts are equal, 2 on bad input.
 */
import { findBaseline } from '../harness/report/baseline.ts';
import { buildReport, readResults } from '../harness/report/write.ts';
import type { RunResults, TestRecord } from '../harness/report/model.ts';

export interface RunSide {
  results: RunResults;
  project: string;
}

export interface Comparison {
  /** Requirements judged on both sides with the same verdict. */
  equal: number;
  /** `ID: external X, process Y`, one per requirement whose verdicts differ. */
  differences: string[];
  /**
   * Requirements that passed on one side and were a known failure on the other where the
   * candidate's baseline lists that requirement only as intermittent: a failure seen in some runs
   * and not in others, so no difference between the drivers.
   */
  intermittent: string[];
  /** Tests left out because the external candidate could not run them by design. */
  notRunByDesign: string[];
  /** Verdict totals per side over the compared tests. */
  totals: { external: Record<string, number>; process: Record<string, number> };
}

const key = (t: TestRecord) => `${t.file} :: ${t.titlePath.join(' > ')}`;

/** A skip the external driver causes by design: the test needs the suite to restart the candidate. */
function skippedByDesign(t: TestRecord): boolean {
  return t.status === 'skipped' && /cannot be restarted/.test(t.skipReason ?? '');
}

function restrict(side: RunSide, keep: Set<string>): RunResults {
  const tests = side.results.tests.filter((t) => t.candidate === side.project && keep.has(key(t)));
  return { ...side.results, projects: [side.project], candidates: { [side.project]: side.results.candidates[side.project]! }, tests };
}

/** Whether every fail behind this cell was judged in an attempt that a retry then passed. */
function failedOnlyBeforeRetry(cell: { findings: Array<{ verdict: string; reason: string }> } | undefined): boolean {
  const fails = (cell?.findings ?? []).filter((f) => f.verdict === 'fail');
  return fails.length > 0 && fails.every((f) => f.reason.startsWith('intermittent: attempt '));
}

export function compareRuns(external: RunSide, process: RunSide): Comparison {
  const ext = external.results.tests.filter((t) => t.candidate === external.project);
  const proc = new Set(process.results.tests.filter((t) => t.candidate === process.project).map(key));
  const notRunByDesign = ext.filter(skippedByDesign).map(key);
  const keep = new Set(ext.filter((t) => !skippedByDesign(t) && proc.has(key(t))).map(key));
  const a = buildReport(restrict(external, keep));
  const b = buildReport(restrict(process, keep));
  const verdictsB = new Map(b.requirements.map((r) => [r.id, r.results[process.project]?.verdict ?? 'not-run']));
  const differences: string[] = [];
  const intermittent: string[] = [];
  const info = external.results.candidates[external.project];
  const entries = info ? (findBaseline(info.implementation ?? external.project, info.version)?.baseline.knownFailures ?? []) : [];
  const onlyIntermittent = (id: string) => {
    const listed = entries.filter((e) => e.requirement === id);
    return listed.length > 0 && listed.every((e) => e.intermittent === true);
  };
  let equal = 0;
  const totals = { external: {} as Record<string, number>, process: {} as Record<string, number> };
  for (const row of a.requirements) {
    const va = row.results[external.project]?.verdict ?? 'not-run';
    const vb = verdictsB.get(row.id) ?? 'not-run';
    if (va === 'not-run' && vb === 'not-run') continue;
    totals.external[va] = (totals.external[va] ?? 0) + 1;
    totals.process[vb] = (totals.process[vb] ?? 0) + 1;
    if (va === vb) equal++;
    else if ([va, vb].sort().join() === 'known-failure,pass' && onlyIntermittent(row.id)) intermittent.push(`${row.id} (${row.level}): external ${va}, process ${vb}`);
    else if ((va === 'fail') !== (vb === 'fail') && failedOnlyBeforeRetry(va === 'fail' ? row.results[external.project] : b.requirements.find((r) => r.id === row.id)?.results[process.project])) {
      // The fail comes only from an attempt that a retry then passed: the same intermittent
      // behaviour, whatever the other side's verdict (a pass, or a known failure elsewhere).
      intermittent.push(`${row.id} (${row.level}): external ${va}, process ${vb} (the fail is an attempt a retry passed)`);
    }
    else differences.push(`${row.id} (${row.level}): external ${va}, process ${vb}`);
  }
  return { equal, differences, intermittent, notRunByDesign, totals };
}

function side(arg: string): RunSide {
  const m = /^(.*?\.json)(?::(.+))?$/.exec(arg);
  if (!m) throw new Error(`${arg}: expected PATH/results.json[:PROJECT]`);
  const results = readResults(m[1]!);
  const project = m[2] ?? results.projects[0];
  if (!project || !results.projects.includes(project)) throw new Error(`${m[1]}: no project ${project ?? '(none)'} (has ${results.projects.join(', ') || 'none'})`);
  return { results, project };
}

export function formatComparison(c: Comparison, names: { external: string; process: string }): string {
  const totals = (t: Record<string, number>) => Object.entries(t).sort().map(([v, n]) => `${n} ${v}`).join(', ');
  const lines = [
    `verdicts, ${names.external}: ${totals(c.totals.external)}`,
    `verdicts, ${names.process}: ${totals(c.totals.process)}`,
    `${c.equal} requirement(s) with equal verdicts, ${c.differences.length} different`,
    ...c.differences.map((d) => `  differs: ${d}`),
    ...c.intermittent.map((d) => `  intermittent in the baseline, not a difference: ${d}`),
    ...(c.notRunByDesign.length ? [`not run on the external candidate by design (needs a restart): ${c.notRunByDesign.length} test(s)`] : []),
    ...c.notRunByDesign.map((t) => `  not run: ${t}`),
  ];
  return lines.join('\n');
}

async function main(args: string[]): Promise<number> {
  if (args.length !== 2) {
    console.error('usage: npx tsx scripts/compare-runs.ts EXTERNAL/results.json[:PROJECT] PROCESS/results.json[:PROJECT]');
    return 2;
  }
  let a: RunSide;
  let b: RunSide;
  try {
    a = side(args[0]!);
    b = side(args[1]!);
  } catch (e) {
    console.error((e as Error).message);
    return 2;
  }
  const c = compareRuns(a, b);
  console.log(formatComparison(c, { external: a.project, process: b.project }));
  return c.differences.length ? 1 : 0;
}

if (import.meta.url === `file://${process.argv[1]}`) process.exitCode = await main(process.argv.slice(2));
