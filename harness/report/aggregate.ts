import { applyBaseline, type Baseline, type KnownFailure } from './baseline.ts';
import { mscsOf, sourceText } from '../checks/catalogue.ts';
import type { Profile, ProfileRequest } from '../checks/annotations.ts';
import type { Requirement, WireExchange } from '../checks/types.ts';
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
 * Turns per-test records into per-requirement verdicts per candidate. One verdict path: every
 * verdict comes from check outcomes that `judge()` recorded; a tag only says what a test covers.
 *
 * 1. Outcomes. Every `lazyjoin-check` outcome of a test is one outcome for its requirement (a
 *    check that did not apply is a `not-run` outcome with its reason). A requirement the test is
 *    tagged with but none of whose checks ran there gets one outcome from the test's status:
 *    passed -> `not-run` ("tagged, but none of its checks ran"); skipped -> `not-run`; failed,
 *    timed out or interrupted -> `error` (the test ended before judging it). A test that ended
 *    failed/timedOut/interrupted although none of its checks failed or erred also adds an `error`
 *    to each requirement it judged, so that an unexplained test failure is never lost.
 * 2. The candidate's baseline turns listed `fail`/`non-strict` outcomes of the listed check into
 *    `known-failure`.
 * 3. Informational means recorded, not passed: a MAY or MSC-ONLY requirement never passes; its cell
 *    counts how many of its observations saw the behaviour present ("present 3 of 4").
 * 4. Profiles: a requirement of the `partial-state` profile binds a candidate that asked for
 *    partial state somewhere in the run (a `lazyjoin-profile` record with `requested: true`); for a
 *    candidate that never asked, every outcome of it is `not-supported`.
 * 5. The requirement's verdict for the candidate is the first verdict of VERDICT_PRECEDENCE
 *    present among its outcomes: any fail gives `fail`; an `error` wins only when nothing was
 *    judged, and the cell then still counts the errors; no outcome at all is `not-run`. So an
 *    error is never shown as a fail, nor a fail as an error.
 * 6. The gate: `incomplete` when the run was interrupted or timed out (an unfinished run never
 *    passes); else `failed` when a MUST requirement is `fail` for some candidate, when (under
 *    strict) a MUST or SHOULD requirement is `fail` or `non-strict`, when a MUST requirement is
 *    `error`, or when a baseline entry is unexpectedly passing (not decided by one shard: an entry
 *    may fail in another); profile requirements gate only with profile gating on
 *    (`--profile none` reports them without gating).
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
  /** How the attempts before a retry ended (`LAZYJOIN_RETRIES`), first to last. */
  earlierAttempts?: Array<{ status: TestStatus; errors: string[] }>;
}

/** A non-passing outcome worth showing: what was expected against what came, and the wire behind it. */
export interface Finding {
  verdict: Verdict;
  /** Absent for an outcome without a check (a tag no check ran for, a test that ended in an error). */
  checkId?: string;
  /** For `informational`: whether the optional behaviour was observed. */
  present?: boolean;
  expected?: unknown;
  observed?: unknown;
  reason: string;
  knownFailureReason?: string;
  /** The requests and answers of the test up to the judgement, numbered, bodies trimmed. */
  exchanges?: WireExchange[];
  /** Index into the cell's `tests`. */
  test: number;
}

/** One outcome behind a cell's verdict (compliance.json lists them all, passes included). */
export interface CellOutcome {
  checkId: string | null;
  verdict: Verdict;
  present?: boolean;
  /** The room version the outcome was judged in, when the test names one. */
  roomVersion?: string;
  /** Index into the cell's `tests`. */
  test: number;
}

export interface Cell {
  verdict: Verdict;
  counts: VerdictCounts;
  tests: TestSummary[];
  outcomes: CellOutcome[];
  findings: Finding[];
  /** For an informational verdict: of the observations recorded, how many saw the behaviour. */
  presence?: { present: number; observed: number };
  /** The baseline lists a check of this requirement as failing, but it passed. */
  unexpectedlyPassing: boolean;
}

/** A requirement as the report shows it: the catalogue's entry, flattened, with its verdicts. */
export interface RequirementRow {
  id: string;
  level: Level;
  direction: string;
  area: string;
  /** Where the requirement comes from, as one line. */
  source: string;
  summary: string;
  /** The proposals the requirement comes from (`MSC3706`, ...), found in its source. */
  mscs: string[];
  profile?: Profile;
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

/** A profile as the report shows it, apart from the base requirements. */
export interface ProfileSection {
  name: Profile;
  /** Whether the profile's broken requirements fail the gate (`--profile none` turns it off). */
  gating: boolean;
  requirements: string[];
  candidates: Record<string, { requested: boolean; evidence?: unknown; totals: VerdictCounts }>;
}

export type GateStatus = 'passed' | 'failed' | 'incomplete';

export interface ComplianceReport {
  format: 'lazyjoin-compliance/1';
  lazyjoinVersion: string;
  runStartedAt: string;
  generatedAt: string;
  /** How the run ended: `complete`, or `interrupted` (Ctrl-C, global timeout) with what it had seen. */
  run: { status: 'complete' | 'interrupted'; shard?: { current: number; total: number } };
  spec: typeof SPEC_COVERAGE;
  strict: boolean;
  candidates: CandidateEntry[];
  requirements: RequirementRow[];
  /** Per candidate, over the base requirements (profile requirements are counted in `profiles`). */
  totals: Record<string, Totals>;
  profiles: ProfileSection[];
  /** Per candidate, the outcomes of tests judged in a named room version, by version (oldest first). */
  roomVersions: Record<string, RoomVersionLine[]>;
  gate: { passed: boolean; status: GateStatus; reasons: string[] };
  warnings: string[];
}

/** The outcomes judged in one room version for one candidate. */
export interface RoomVersionLine {
  roomVersion: string;
  /** Tests that named this version. */
  tests: number;
  /** Check outcomes by verdict, after the baseline. */
  counts: VerdictCounts;
}

/** Per room version: how many tests named it and their outcomes' verdicts (baseline applied). */
function roomVersionLines(outcomes: ReadonlyArray<{ verdict: Verdict; record: TestRecord }>): RoomVersionLine[] {
  const lines = new Map<string, { tests: Set<TestRecord>; counts: VerdictCounts }>();
  for (const o of outcomes) {
    const v = o.record.roomVersion;
    if (v === undefined) continue;
    const line = lines.get(v) ?? { tests: new Set(), counts: emptyCounts() };
    line.tests.add(o.record);
    line.counts[o.verdict]++;
    lines.set(v, line);
  }
  return [...lines].sort(([a], [b]) => Number(a) - Number(b) || a.localeCompare(b)).map(([roomVersion, l]) => ({ roomVersion, tests: l.tests.size, counts: l.counts }));
}

export interface AggregateOptions {
  catalogue: Requirement[];
  /** Baseline per candidate name, with the file it came from. */
  baselines?: Record<string, { path: string; baseline: Baseline }>;
  strict?: boolean;
  /** Whether profile requirements gate (default true; `--profile none` sets false). */
  profileGating?: boolean;
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
  exchanges?: WireExchange[];
}

const ENDED_BADLY: ReadonlySet<TestStatus> = new Set(['failed', 'timedOut', 'interrupted']);
const EXPLAINS_FAILURE: ReadonlySet<Verdict> = new Set(['fail', 'non-strict', 'error', 'known-failure']);
const OPTIONAL: ReadonlySet<Level> = new Set(['MAY', 'MSC-ONLY']);

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
    ...(c.exchanges?.length ? { exchanges: c.exchanges } : {}),
  }));
  const judged = new Set(record.checks.map((c) => c.requirementId));
  const firstError = record.errors[0] ?? `test ${record.status}`;
  for (const id of requirementTags(record.tags)) {
    if (judged.has(id)) continue;
    if (record.status === 'passed') out.push({ requirementId: id, verdict: 'not-run', reason: `the test is tagged @${id}, but none of ${id}'s checks ran in it` });
    else if (record.status === 'skipped') out.push({ requirementId: id, verdict: 'not-run', reason: record.skipReason ?? 'the test was skipped' });
    else out.push({ requirementId: id, verdict: 'error', reason: `the test ended ${record.status} before judging ${id}: ${firstError}` });
  }
  if (ENDED_BADLY.has(record.status) && !record.checks.some((c) => EXPLAINS_FAILURE.has(c.verdict))) {
    for (const id of judged) {
      out.push({ requirementId: id, verdict: 'error', reason: `the test ended ${record.status} after its checks: ${firstError}` });
    }
  }
  // Departures judged in attempts before a retry count as judged (an intermittent departure is a
  // departure); their errors and passes do not: the last attempt speaks for what they could not judge.
  const attempts = (record.earlierAttempts?.length ?? 0) + 1;
  for (const attempt of record.earlierAttempts ?? []) {
    for (const c of attempt.checks) {
      if (c.verdict !== 'fail' && c.verdict !== 'non-strict') continue;
      out.push({
        requirementId: c.requirementId,
        verdict: c.verdict,
        recorded: true,
        ...(c.checkId !== null ? { checkId: c.checkId } : {}),
        expected: c.expected,
        observed: c.observed,
        reason: `intermittent: attempt ${attempt.retry + 1} of ${attempts} judged ${c.verdict} (${c.reason ?? c.checkId ?? c.requirementId}); attempt ${record.retry + 1} ended ${record.status}`,
        ...(c.exchanges?.length ? { exchanges: c.exchanges } : {}),
      });
    }
  }
  return out;
}

export function emptyCounts(): VerdictCounts {
  return Object.fromEntries(VERDICTS.map((v) => [v, 0])) as VerdictCounts;
}

export function rowOf(req: Requirement): RequirementRow {
  return {
    id: req.id,
    level: req.level,
    direction: req.direction,
    area: req.area,
    source: sourceText(req),
    summary: req.summary,
    mscs: mscsOf(req),
    ...(req.profile ? { profile: req.profile } : {}),
    inCatalogue: true,
    results: {},
  };
}

/** Whether a candidate opted into `profile` anywhere in the run, with the first evidence of it. */
function profileRequest(records: TestRecord[], profile: Profile): { requested: boolean; evidence?: unknown } {
  const requests = records.flatMap((r) => (r.profiles ?? []).filter((p) => p.profile === profile).map((p) => ({ p, r })));
  const asked = requests.find(({ p }) => p.requested);
  if (asked) return { requested: true, evidence: { test: asked.r.title, observed: asked.p.observed ?? null } };
  return { requested: false, ...(requests.length ? { evidence: { test: requests[0].r.title, observed: requests[0].p.observed ?? null } } : {}) };
}

export function aggregate(results: RunResults, options: AggregateOptions): ComplianceReport {
  const warnings = [...(options.warnings ?? []), ...(results.globalErrors ?? []).map((e) => `error outside any test: ${e}`)];
  const strict = options.strict ?? false;
  const profileGating = options.profileGating ?? true;
  const candidateNames = results.projects;

  const rows = new Map<string, RequirementRow>();
  for (const req of options.catalogue) rows.set(req.id, rowOf(req));

  const candidates: CandidateEntry[] = [];
  const roomVersions: Record<string, RoomVersionLine[]> = {};
  const requested: Record<string, Partial<Record<Profile, { requested: boolean; evidence?: unknown }>>> = {};
  for (const name of candidateNames) {
    const info = results.candidates[name] ?? { name, version: 'unknown', driver: 'unknown' };
    const records = results.tests.filter((t) => t.candidate === name);
    requested[name] = { 'partial-state': profileRequest(records, 'partial-state') };
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
    roomVersions[name] = roomVersionLines(applied.outcomes);
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
      const optedIn = row.profile === undefined || requested[name][row.profile]?.requested === true;
      const judged = optedIn ? list : list.map((o) => notSupported(o, row.profile!));
      row.results[name] = cellOf(row.level, judged, applied.unexpectedlyPassing.some((e) => e.requirement === id));
    }
  }

  // Catalogue order (the project's reading order), then requirements known only from tags.
  const requirements = [
    ...[...rows.values()].filter((r) => r.inCatalogue),
    ...[...rows.values()].filter((r) => !r.inCatalogue).sort((a, b) => compareIds(a.id, b.id)),
  ];
  for (const row of requirements) {
    for (const name of candidateNames) row.results[name] ??= cellOf(row.level, [], false);
  }

  const totals: Record<string, Totals> = {};
  for (const name of candidateNames) {
    const t: Totals = { all: emptyCounts(), byLevel: {}, byArea: {} };
    for (const level of LEVELS) t.byLevel[level] = emptyCounts();
    for (const row of requirements) {
      if (row.profile) continue;
      const v = row.results[name].verdict;
      t.all[v]++;
      t.byLevel[row.level][v]++;
      (t.byArea[row.area] ??= emptyCounts())[v]++;
    }
    totals[name] = t;
  }
  const profileRows = requirements.filter((r) => r.profile === 'partial-state');
  const profiles: ProfileSection[] = [
    {
      name: 'partial-state',
      gating: profileGating,
      requirements: profileRows.map((r) => r.id),
      candidates: Object.fromEntries(
        candidateNames.map((name) => {
          const counts = emptyCounts();
          for (const row of profileRows) counts[row.results[name].verdict]++;
          const req = requested[name]['partial-state']!;
          return [name, { requested: req.requested, ...(req.evidence !== undefined ? { evidence: req.evidence } : {}), totals: counts }];
        }),
      ),
    },
  ];

  const shard = results.shard;
  const interrupted = results.status === 'interrupted';
  const reasons: string[] = [];
  if (interrupted) reasons.push(`the run did not finish (${results.endedBecause ?? 'interrupted'}): ${results.tests.length} test(s) ended before it stopped; an unfinished run never passes`);
  for (const row of requirements) {
    if (row.profile && !profileGating) continue;
    for (const name of candidateNames) {
      const v = row.results[name].verdict;
      const gating = row.level === 'MUST' ? (strict ? ['fail', 'non-strict'] : ['fail']) : row.level === 'SHOULD' && strict ? ['fail', 'non-strict'] : [];
      const what = row.profile ? `${row.level} requirement ${row.id} of the ${row.profile} profile` : `${row.level} requirement ${row.id}`;
      if (gating.includes(v)) reasons.push(`${name}: ${what} is ${v}`);
      else if (row.level === 'MUST' && v === 'error') reasons.push(`${name}: ${what} could not be judged (its tests ended in errors)`);
    }
  }
  if (!shard) {
    for (const c of candidates) {
      for (const e of c.unexpectedlyPassing) {
        reasons.push(`${c.name}: baseline ${c.baseline} lists ${e.requirement} ${e.check}${e.test ? ` in "${e.test}"` : ' in every test'} as failing, but it passed: update the baseline`);
      }
    }
  }
  const status: GateStatus = interrupted ? 'incomplete' : reasons.length === 0 ? 'passed' : 'failed';

  return {
    format: 'lazyjoin-compliance/1',
    lazyjoinVersion: results.lazyjoinVersion,
    runStartedAt: results.startedAt,
    generatedAt: (options.now ?? new Date()).toISOString(),
    run: { status: interrupted ? 'interrupted' : 'complete', ...(shard ? { shard } : {}) },
    spec: SPEC_COVERAGE,
    strict,
    candidates,
    requirements,
    totals,
    profiles,
    roomVersions,
    gate: { passed: status === 'passed', status, reasons },
    warnings,
  };
}

/** An outcome of a profile requirement for a candidate that never opted into the profile. */
function notSupported<T extends Outcome>(o: T, profile: Profile): T {
  if (o.verdict === 'not-run' || o.verdict === 'error') return o;
  const { present: _present, ...rest } = o;
  return {
    ...rest,
    verdict: 'not-supported',
    reason: `the candidate never asked for partial state (no send_join with omit_members=true in the run), so the ${profile} profile does not bind it | ${o.reason}`,
  } as T;
}

function cellOf(level: Level, given: (Outcome & { knownFailureReason?: string })[], unexpectedlyPassing: boolean): Cell {
  // Informational means recorded, not passed: an optional requirement's outcome is never a pass.
  const outcomes = OPTIONAL.has(level) ? given.map((o) => (o.verdict === 'pass' ? { ...o, verdict: 'informational' as const, present: true } : o)) : given;
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
      ...(r.earlierAttempts?.length ? { earlierAttempts: r.earlierAttempts.map((a) => ({ status: a.status, errors: a.errors })) } : {}),
    });
  }
  const cellOutcomes: CellOutcome[] = outcomes.map((o) => ({
    checkId: o.checkId ?? null,
    verdict: o.verdict,
    ...(o.present !== undefined ? { present: o.present } : {}),
    ...(o.record.roomVersion !== undefined ? { roomVersion: o.record.roomVersion } : {}),
    test: testIndex.get(o.record)!,
  }));
  const findings: Finding[] = outcomes
    .filter((o) => o.verdict !== 'pass')
    .map((o) => ({
      verdict: o.verdict,
      ...(o.checkId !== undefined ? { checkId: o.checkId } : {}),
      ...(o.present !== undefined ? { present: o.present } : {}),
      ...(o.recorded ? { expected: o.expected ?? null, observed: o.observed ?? null } : {}),
      reason: o.reason,
      ...(o.knownFailureReason !== undefined ? { knownFailureReason: o.knownFailureReason } : {}),
      ...(o.exchanges?.length ? { exchanges: o.exchanges } : {}),
      test: testIndex.get(o.record)!,
    }));
  // The wire exchange and the log tail serve to explain findings; a test without one drops them
  // (they stay in results.json), which keeps the report small for a mostly passing run.
  const explained = new Set(findings.filter((f) => f.verdict !== 'not-run' && f.verdict !== 'informational').map((f) => f.test));
  for (const [i, t] of tests.entries()) {
    if (explained.has(i)) continue;
    delete t.wireExchange;
    delete t.candidateLogTail;
  }
  const verdict = aggregateVerdict(outcomes.map((o) => o.verdict));
  const informational = outcomes.filter((o) => o.verdict === 'informational');
  const presence = verdict === 'informational' ? { present: informational.filter((o) => o.present === true).length, observed: informational.length } : undefined;
  return { verdict, counts, tests, outcomes: cellOutcomes, findings, ...(presence ? { presence } : {}), unexpectedlyPassing };
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

/**
 * The verdict-integrity rule, as one line per breach: a `pass` with no passing check outcome
 * behind it, or an informational requirement shown as a pass. Empty for a sound report.
 */
export function integrityBreaches(report: Pick<ComplianceReport, 'requirements'>): string[] {
  const out: string[] = [];
  for (const row of report.requirements) {
    for (const [name, cell] of Object.entries(row.results)) {
      if (cell.verdict !== 'pass') continue;
      if (OPTIONAL.has(row.level)) out.push(`${name}: ${row.id} is ${row.level} but shown as pass`);
      if (!cell.outcomes.some((o) => o.verdict === 'pass' && o.checkId !== null)) out.push(`${name}: ${row.id} passes with no passing check outcome behind it`);
    }
  }
  return out;
}
