import { applyBaseline, type Baseline, type KnownFailure } from './baseline.ts';
import type { Requirement } from './catalogue.ts';
import {
  LEVEL_TAGS,
  LEVELS,
  REQUIREMENT_TAG,
  SPEC_COVERAGE,
  VERDICTS,
  type CandidateInfo,
  type Level,
  type RunResults,
  type TestRecord,
  type TestStatus,
  type Verdict,
} from './model.ts';

/**
 * Turns per-test records into per-requirement verdicts per candidate.
 *
 * 1. Outcomes. Every `lazyjoin-check` outcome of a test is one outcome for its requirement. A
 *    requirement the test is tagged with but did not judge gets one outcome from the test's status:
 *    passed -> `pass`; skipped -> `not-run`; failed, timed out or interrupted -> `error` (the test
 *    ended before judging it: the harness threw or the candidate broke). A test that ended
 *    failed/timedOut/interrupted although none of its checks failed or erred also adds an `error`
 *    to each requirement it judged, so that an unexplained test failure is never lost.
 * 2. The candidate's baseline turns listed `fail`/`non-strict` outcomes into `known-failure`.
 * 3. The requirement's verdict for the candidate is the first verdict of VERDICT_PRECEDENCE
 *    present among its outcomes: any fail gives `fail`; an `error` wins only when nothing was
 *    judged (no pass, fail, non-strict, known failure, informational or not-supported outcome),
 *    and the cell then still counts the errors (`counts.error`); no outcome at all is `not-run`.
 *    So an error is never shown as a fail, nor a fail as an error.
 * 4. The run's gate fails when a MUST requirement is `fail` for some candidate, when (under
 *    strict) a MUST or SHOULD requirement is `fail` or `non-strict`, when a MUST requirement is
 *    `error` (its tests ran and none could judge it: a candidate that crashes or never answers
 *    must not pass the gate), or when a baseline entry is unexpectedly passing. Other errors and
 *    not-run do not fail the gate; they are counted and shown.
 */
export const VERDICT_PRECEDENCE: readonly Verdict[] = [
  'fail',
  'non-strict',
  'known-failure',
  'pass',
  'informational',
  'not-supported',
  'error',
  'not-run',
];

export function aggregateVerdict(verdicts: Iterable<Verdict>): Verdict {
  const present = new Set(verdicts);
  return VERDICT_PRECEDENCE.find((v) => present.has(v)) ?? 'not-run';
}

export type VerdictCounts = Record<Verdict, number>;

export interface TestSummary {
  title: string;
  titlePath: string[];
  file: string;
  line: number;
  status: TestStatus;
  durationMs: number;
  errors: string[];
  wireExchange?: string;
  candidateLogTail?: string;
}

/** A non-passing outcome worth showing: what was expected against what came. */
export interface Finding {
  verdict: Verdict;
  /** Absent for an outcome recorded for the requirement directly, without a check. */
  checkId?: string;
  /** For `informational`: whether the optional behaviour was observed. */
  present?: boolean;
  expected?: unknown;
  observed?: unknown;
  reason: string;
  knownFailureReason?: string;
  /** Index into the cell's `tests`. */
  test: number;
}

export interface Cell {
  verdict: Verdict;
  counts: VerdictCounts;
  tests: TestSummary[];
  findings: Finding[];
  /** The baseline lists this requirement as failing, but it passed. */
  unexpectedlyPassing: boolean;
}

export interface RequirementRow extends Requirement {
  /** False for a requirement named by a test tag but absent from the catalogue. */
  inCatalogue: boolean;
  results: Record<string, Cell>;
}

export interface CandidateEntry extends CandidateInfo {
  baseline: string | null;
  unexpectedlyPassing: KnownFailure[];
  unexercisedBaselineEntries: KnownFailure[];
}

export interface Totals {
  all: VerdictCounts;
  byLevel: Record<string, VerdictCounts>;
  byArea: Record<string, VerdictCounts>;
}

export interface ComplianceReport {
  format: 'lazyjoin-compliance/1';
  lazyjoinVersion: string;
  runStartedAt: string;
  generatedAt: string;
  spec: typeof SPEC_COVERAGE;
  strict: boolean;
  candidates: CandidateEntry[];
  requirements: RequirementRow[];
  totals: Record<string, Totals>;
  gate: { passed: boolean; reasons: string[] };
  warnings: string[];
}

export interface AggregateOptions {
  catalogue: Requirement[];
  /** Baseline per candidate name, with the file it came from. */
  baselines?: Record<string, { path: string; baseline: Baseline }>;
  strict?: boolean;
  now?: Date;
  warnings?: string[];
}

/** One outcome of one test for one requirement, before aggregation. */
interface Outcome {
  requirementId: string;
  verdict: Verdict;
  testTitle: string;
  testTitlePath: string[];
  record: TestRecord;
  /** Whether the outcome came from a check annotation (rather than from the test's status). */
  recorded?: boolean;
  checkId?: string;
  present?: boolean;
  expected?: unknown;
  observed?: unknown;
  reason: string;
}

const ENDED_BADLY: ReadonlySet<TestStatus> = new Set(['failed', 'timedOut', 'interrupted']);
const EXPLAINS_FAILURE: ReadonlySet<Verdict> = new Set(['fail', 'non-strict', 'error', 'known-failure']);

export function requirementTags(tags: string[]): string[] {
  return tags.flatMap((t) => {
    const m = REQUIREMENT_TAG.exec(t);
    return m ? [m[1]] : [];
  });
}

export function outcomesOf(record: TestRecord): Omit<Outcome, 'record' | 'testTitle' | 'testTitlePath'>[] {
  const out: Omit<Outcome, 'record' | 'testTitle' | 'testTitlePath'>[] = record.checks.map((c) => ({
    requirementId: c.requirementId,
    verdict: c.verdict,
    recorded: true,
    ...(c.checkId !== null ? { checkId: c.checkId } : {}),
    ...(c.present !== undefined ? { present: c.present } : {}),
    expected: c.expected,
    observed: c.observed,
    reason: c.reason ?? `${c.checkId ?? c.requirementId}: ${c.verdict}`,
  }));
  const judged = new Set(record.checks.map((c) => c.requirementId));
  const firstError = record.errors[0] ?? `test ${record.status}`;
  for (const id of requirementTags(record.tags)) {
    if (judged.has(id)) continue;
    if (record.status === 'passed') out.push({ requirementId: id, verdict: 'pass', reason: 'the test passed' });
    else if (record.status === 'skipped') out.push({ requirementId: id, verdict: 'not-run', reason: record.skipReason ?? 'the test was skipped' });
    else out.push({ requirementId: id, verdict: 'error', reason: `the test ended ${record.status} before judging ${id}: ${firstError}` });
  }
  if (ENDED_BADLY.has(record.status) && !record.checks.some((c) => EXPLAINS_FAILURE.has(c.verdict))) {
    for (const id of judged) {
      out.push({ requirementId: id, verdict: 'error', reason: `the test ended ${record.status} after its checks: ${firstError}` });
    }
  }
  return out;
}

export function emptyCounts(): VerdictCounts {
  return Object.fromEntries(VERDICTS.map((v) => [v, 0])) as VerdictCounts;
}

export function aggregate(results: RunResults, options: AggregateOptions): ComplianceReport {
  const warnings = [...(options.warnings ?? []), ...(results.globalErrors ?? []).map((e) => `error outside any test: ${e}`)];
  const strict = options.strict ?? false;
  const candidateNames = results.projects;

  const rows = new Map<string, RequirementRow>();
  for (const req of options.catalogue) rows.set(req.id, { ...req, inCatalogue: true, results: {} });

  const candidates: CandidateEntry[] = [];
  for (const name of candidateNames) {
    const info = results.candidates[name] ?? { name, version: 'unknown', driver: 'unknown' };
    const records = results.tests.filter((t) => t.candidate === name);
    // A test that names no requirement (a smoke test) has no cell; its failure must still show.
    for (const r of records) {
      if (ENDED_BADLY.has(r.status) && r.checks.length === 0 && requirementTags(r.tags).length === 0) {
        warnings.push(`${name}: test "${r.title}" (${r.file}:${r.line}), which names no requirement, ended ${r.status}: ${r.errors[0]?.split('\n')[0] ?? ''}`);
      }
    }
    const outcomes: Outcome[] = records.flatMap((record) =>
      outcomesOf(record).map((o) => ({ ...o, record, testTitle: record.title, testTitlePath: record.titlePath })),
    );
    const found = options.baselines?.[name];
    if (found && (found.baseline.candidate !== (info.implementation ?? name) || found.baseline.version !== info.version)) {
      warnings.push(`baseline ${found.path} is for ${found.baseline.candidate} ${found.baseline.version}, applied to ${name} ${info.version}`);
    }
    const applied = applyBaseline(outcomes, found?.baseline);
    candidates.push({
      ...info,
      name,
      baseline: found?.path ?? null,
      unexpectedlyPassing: applied.unexpectedlyPassing,
      unexercisedBaselineEntries: applied.unexercised,
    });

    const byRequirement = new Map<string, typeof applied.outcomes>();
    for (const o of applied.outcomes) {
      const list = byRequirement.get(o.requirementId) ?? [];
      list.push(o);
      byRequirement.set(o.requirementId, list);
    }
    for (const [id, list] of byRequirement) {
      let row = rows.get(id);
      if (!row) {
        row = uncataloguedRow(id, list.map((o) => o.record));
        if (options.catalogue.length > 0) warnings.push(`requirement ${id} (tagged on "${list[0].record.title}") is not in the catalogue`);
        rows.set(id, row);
      }
      row.results[name] = cellOf(list, applied.unexpectedlyPassing.some((e) => e.requirement === id));
    }
  }

  // Catalogue order (the project's reading order), then requirements known only from tags.
  const requirements = [
    ...[...rows.values()].filter((r) => r.inCatalogue),
    ...[...rows.values()].filter((r) => !r.inCatalogue).sort((a, b) => compareIds(a.id, b.id)),
  ];
  for (const row of requirements) {
    for (const name of candidateNames) row.results[name] ??= cellOf([], false);
  }

  const totals: Record<string, Totals> = {};
  for (const name of candidateNames) {
    const t: Totals = { all: emptyCounts(), byLevel: {}, byArea: {} };
    for (const level of LEVELS) t.byLevel[level] = emptyCounts();
    for (const row of requirements) {
      const v = row.results[name].verdict;
      t.all[v]++;
      t.byLevel[row.level][v]++;
      (t.byArea[row.area] ??= emptyCounts())[v]++;
    }
    totals[name] = t;
  }

  const reasons: string[] = [];
  for (const row of requirements) {
    for (const name of candidateNames) {
      const v = row.results[name].verdict;
      const gating = row.level === 'MUST' ? (strict ? ['fail', 'non-strict'] : ['fail']) : row.level === 'SHOULD' && strict ? ['fail', 'non-strict'] : [];
      if (gating.includes(v)) reasons.push(`${name}: ${row.level} requirement ${row.id} is ${v}`);
      else if (row.level === 'MUST' && v === 'error') reasons.push(`${name}: MUST requirement ${row.id} could not be judged (its tests ended in errors)`);
    }
  }
  for (const c of candidates) {
    for (const e of c.unexpectedlyPassing) {
      reasons.push(`${c.name}: baseline ${c.baseline} lists ${e.requirement} ${e.check}${e.test ? ` in "${e.test}"` : ' in every test'} as failing, but it passed: update the baseline`);
    }
  }

  return {
    format: 'lazyjoin-compliance/1',
    lazyjoinVersion: results.lazyjoinVersion,
    runStartedAt: results.startedAt,
    generatedAt: (options.now ?? new Date()).toISOString(),
    spec: SPEC_COVERAGE,
    strict,
    candidates,
    requirements,
    totals,
    gate: { passed: reasons.length === 0, reasons },
    warnings,
  };
}

function cellOf(outcomes: (Outcome & { knownFailureReason?: string })[], unexpectedlyPassing: boolean): Cell {
  const counts = emptyCounts();
  for (const o of outcomes) counts[o.verdict]++;
  const tests: TestSummary[] = [];
  const testIndex = new Map<TestRecord, number>();
  for (const o of outcomes) {
    if (testIndex.has(o.record)) continue;
    testIndex.set(o.record, tests.length);
    const r = o.record;
    tests.push({
      title: r.title,
      titlePath: r.titlePath,
      file: r.file,
      line: r.line,
      status: r.status,
      durationMs: r.durationMs,
      errors: r.errors,
      ...(r.wireExchange !== undefined ? { wireExchange: r.wireExchange } : {}),
      ...(r.candidateLogTail !== undefined ? { candidateLogTail: r.candidateLogTail } : {}),
    });
  }
  const findings: Finding[] = outcomes
    .filter((o) => o.verdict !== 'pass')
    .map((o) => ({
      verdict: o.verdict,
      ...(o.checkId !== undefined ? { checkId: o.checkId } : {}),
      ...(o.present !== undefined ? { present: o.present } : {}),
      ...(o.recorded ? { expected: o.expected ?? null, observed: o.observed ?? null } : {}),
      reason: o.reason,
      ...(o.knownFailureReason !== undefined ? { knownFailureReason: o.knownFailureReason } : {}),
      test: testIndex.get(o.record)!,
    }));
  // The wire exchange and the log tail serve to explain findings; a test without one drops them
  // (they stay in results.json), which keeps the report small for a mostly passing run.
  const explained = new Set(findings.map((f) => f.test));
  for (const [i, t] of tests.entries()) {
    if (explained.has(i)) continue;
    delete t.wireExchange;
    delete t.candidateLogTail;
  }
  return { verdict: aggregateVerdict(outcomes.map((o) => o.verdict)), counts, tests, findings, unexpectedlyPassing };
}

/** A requirement seen only in tags: its level comes from the test's level tag when unambiguous. */
function uncataloguedRow(id: string, records: TestRecord[]): RequirementRow {
  const levels = new Set(records.flatMap((r) => r.tags.map((t) => LEVEL_TAGS[t]).filter(Boolean)));
  // Unknown level counts as MUST, so that a failure is never hidden by a missing catalogue entry.
  const level: Level = levels.size === 1 ? [...levels][0] : 'MUST';
  return { id, level, direction: '', area: 'uncatalogued', source: '', summary: '', mscs: [], inCatalogue: false, results: {} };
}

/** SJ-2 before SJ-10, SJ-15 before SJ-15a. */
export function compareIds(a: string, b: string): number {
  return a.localeCompare(b, 'en', { numeric: true });
}
