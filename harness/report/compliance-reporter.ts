import { existsSync, readFileSync } from 'node:fs';
import { isAbsolute, relative } from 'node:path';
import type { FullConfig, FullResult, Reporter, Suite, TestCase, TestError, TestResult } from '@playwright/test/reporter';
import { roomVersionOf, VERDICTS, type CandidateInfo, type CheckOutcome, type ProfileRequest, type RunResults, type TestRecord } from './model.ts';
import { emptyCounts, requirementTags } from './aggregate.ts';
import { CHECK_ANNOTATION, PROFILE_ANNOTATION, parseCheckAnnotation, parseProfileAnnotation } from '../checks/annotations.ts';
import { lazyjoinVersion, settingsFromEnv, writeReport, type ReportSettings } from './write.ts';

export { CHECK_ANNOTATION };
/** Kept for readers of the reporter's API: the one parser lives in harness/checks/annotations.ts. */
export const parseCheck = parseCheckAnnotation;
export const CANDIDATE_ANNOTATION = 'lazyjoin-candidate';
export const WIRE_ATTACHMENT = 'remote-requests';
export const LOG_ATTACHMENT = 'candidate-log';

const WIRE_LIMIT = 12_000;
const LOG_LIMIT = 8_000;
const ERROR_LINES = 12;

export interface ComplianceReporterOptions extends ReportSettings {
  /** Projects that are not candidates (the harness's own tests). */
  excludeProjects?: string[];
  /** Print one progress line per test (also env `LAZYJOIN_PROGRESS=1`). */
  progress?: boolean;
}

/**
 * Playwright reporter that writes the compliance report (results.json, compliance.json,
 * summary.md, index.html) for the candidate projects of a run. Options come from the config
 * entry, then from the environment the `lazyjoin` command sets (LAZYJOIN_REPORT_DIR,
 * LAZYJOIN_REQUIREMENTS, LAZYJOIN_BASELINE, LAZYJOIN_STRICT, LAZYJOIN_PROGRESS). Works the same
 * under `playwright merge-reports`, which replays sharded blob reports through it.
 */
export default class ComplianceReporter implements Reporter {
  private readonly options: ComplianceReporterOptions;
  private readonly excluded: Set<string>;
  private readonly records = new Map<string, TestRecord>();
  private readonly candidates: Record<string, CandidateInfo> = {};
  private readonly globalErrors: string[] = [];
  private projects: string[] = [];
  private shard: { current: number; total: number } | undefined;
  private startedAt = new Date();
  private total = 0;
  private done = 0;

  constructor(options: ComplianceReporterOptions = {}) {
    this.options = { ...options, ...settingsFromEnv() };
    if (process.env.LAZYJOIN_PROGRESS) this.options.progress = process.env.LAZYJOIN_PROGRESS === '1';
    // The harness's own projects judge the suite, not a candidate: they get no column.
    this.excluded = new Set(options.excludeProjects ?? ['self', 'known-bad']);
  }

  printsToStdio(): boolean {
    return this.options.progress ?? false;
  }

  onBegin(config: FullConfig, suite: Suite): void {
    this.startedAt = new Date();
    this.shard = config.shard ? { current: config.shard.current, total: config.shard.total } : undefined;
    const candidateSuites = suite.suites.filter((s) => !this.excluded.has(s.project()?.name ?? ''));
    this.projects = candidateSuites.map((s) => s.project()!.name);
    // A requested candidate whose tests were all filtered out still gets its (not-run) column.
    const requested = (process.env.LAZYJOIN_CANDIDATES ?? '').split(',').map((s) => s.trim());
    for (const p of config.projects) {
      if (requested.includes(p.name) && !this.excluded.has(p.name) && !this.projects.includes(p.name)) this.projects.push(p.name);
    }
    this.total = candidateSuites.reduce((n, s) => n + s.allTests().length, 0);
    this.progress(`${this.total} conformance test(s) on ${this.projects.join(', ') || 'no candidate'}${this.shard ? ` (shard ${this.shard.current} of ${this.shard.total})` : ''}`);
  }

  onTestEnd(test: TestCase, result: TestResult): void {
    const project = test.parent.project()?.name ?? '';
    if (this.excluded.has(project)) return;
    if (!this.projects.includes(project)) this.projects.push(project);
    const earlier = this.records.get(test.id);
    const isRetry = earlier !== undefined;
    let record = this.recordOf(test, result, project);
    if (earlier) {
      // A retry never erases what an earlier attempt saw (model.ts, `earlierAttempts`).
      const previous = { retry: earlier.retry, status: earlier.status, errors: earlier.errors, checks: earlier.checks };
      record = { ...record, earlierAttempts: [...(earlier.earlierAttempts ?? []), previous] };
    }
    this.records.set(test.id, record);
    if (!isRetry) this.done++;
    this.progress(`${this.done}/${this.total} ${project}: ${record.status.padEnd(8)} ${record.title}${result.retry ? ` (retry ${result.retry})` : ''}`);
  }

  onError(error: TestError): void {
    this.globalErrors.push(firstLines(errorText(error), 3));
  }

  async onEnd(result: FullResult): Promise<{ status?: FullResult['status'] } | undefined> {
    // A run of the harness's own tests only (`--project=self`) has no compliance report to write,
    // nor has a run that executed no candidate test (`--list`, nothing matched): an existing report
    // stays as it was. An interrupted run writes one, saying so, whatever it had seen.
    const unfinished = result.status === 'interrupted' || result.status === 'timedout';
    if (this.projects.length === 0 || (this.records.size === 0 && !unfinished)) return undefined;
    const results: RunResults = {
      format: 'lazyjoin-results/1',
      lazyjoinVersion: lazyjoinVersion(),
      startedAt: this.startedAt.toISOString(),
      candidates: this.candidates,
      projects: this.projects,
      tests: [...this.records.values()],
      ...(this.globalErrors.length ? { globalErrors: this.globalErrors } : {}),
      status: unfinished ? 'interrupted' : 'complete',
      ...(unfinished ? { endedBecause: result.status === 'timedout' ? 'the global timeout was reached' : 'interrupted' } : {}),
      ...(this.shard ? { shard: this.shard } : {}),
    };
    try {
      const written = writeReport(results, this.options);
      const counts = emptyCounts();
      for (const row of written.report.requirements) for (const cell of Object.values(row.results)) counts[cell.verdict]++;
      const totals = VERDICTS.filter((v) => counts[v] > 0).map((v) => `${counts[v]} ${v}`).join(', ');
      const gate = { passed: 'gate passed', failed: 'GATE FAILED', incomplete: 'GATE INCOMPLETE (the run was interrupted)' }[written.report.gate.status];
      const shard = this.shard ? `shard ${this.shard.current} of ${this.shard.total} (the whole-suite gate is decided when shards are merged); ` : '';
      process.stdout.write(`\nlazyjoin compliance: ${shard}${gate}; ${totals || 'no requirement'}; report ${written.dir}/index.html\n`);
      return unfinished ? { status: 'interrupted' } : undefined;
    } catch (e) {
      process.stderr.write(`\nlazyjoin: the compliance report could not be written: ${(e as Error).message}\n`);
      return { status: result.status === 'passed' ? 'failed' : result.status };
    }
  }

  private recordOf(test: TestCase, result: TestResult, project: string): TestRecord {
    const annotations = [...test.annotations, ...(result.annotations ?? [])];
    const unique = annotations.filter((a, i) => annotations.findIndex((b) => b.type === a.type && b.description === a.description) === i);
    const checks: CheckOutcome[] = [];
    const profiles: ProfileRequest[] = [];
    const errors = result.errors.map((e) => firstLines(errorText(e), ERROR_LINES));
    let skipReason: string | undefined;
    for (const a of unique) {
      if (a.type === CHECK_ANNOTATION) {
        const parsed = parseCheckAnnotation(a.description);
        if (typeof parsed === 'string') {
          errors.push(parsed);
          for (const id of requirementTags(test.tags)) {
            checks.push({ checkId: null, requirementId: id, level: 'MUST', verdict: 'error', expected: 'a well-formed check outcome', observed: a.description ?? null, reason: parsed });
          }
        } else checks.push(parsed);
      } else if (a.type === PROFILE_ANNOTATION) {
        const parsed = parseProfileAnnotation(a.description);
        if (typeof parsed === 'string') errors.push(parsed);
        else profiles.push(parsed);
      } else if (a.type === CANDIDATE_ANNOTATION) {
        const info = parseCandidate(a.description);
        if (info) this.candidates[project] = info;
        else errors.push(`malformed ${CANDIDATE_ANNOTATION} annotation: ${a.description ?? ''}`);
      } else if ((a.type === 'skip' || a.type === 'fixme') && result.status === 'skipped') {
        skipReason = a.description || a.type;
      }
    }
    const wire = attachmentText(result, WIRE_ATTACHMENT);
    const log = attachmentText(result, LOG_ATTACHMENT);
    const roomVersion = roomVersionOf(unique, test.tags);
    const file = isAbsolute(test.location.file) ? relative(process.cwd(), test.location.file) : test.location.file;
    return {
      candidate: project,
      title: test.title,
      titlePath: test.titlePath().slice(3),
      file,
      line: test.location.line,
      tags: test.tags,
      status: result.status,
      durationMs: result.duration,
      retry: result.retry,
      errors,
      checks,
      ...(profiles.length ? { profiles } : {}),
      ...(skipReason !== undefined ? { skipReason } : {}),
      ...(wire !== undefined ? { wireExchange: trimHead(prettyJson(wire), WIRE_LIMIT) } : {}),
      ...(log !== undefined ? { candidateLogTail: trimTail(log, LOG_LIMIT) } : {}),
      ...(roomVersion !== undefined ? { roomVersion } : {}),
    };
  }

  private progress(line: string): void {
    if (this.options.progress) process.stdout.write(`[lazyjoin] ${line}\n`);
  }
}

function parseCandidate(description: string | undefined): CandidateInfo | undefined {
  try {
    const o = JSON.parse(description ?? '');
    if (typeof o?.name === 'string') {
      return {
        name: o.name,
        ...(typeof o.implementation === 'string' ? { implementation: o.implementation } : {}),
        version: String(o.version ?? 'unknown'),
        driver: String(o.driver ?? 'unknown'),
        ...(typeof o.database === 'string' ? { database: o.database } : {}),
      };
    }
  } catch {
    // reported by the caller
  }
  return undefined;
}

function attachmentText(result: TestResult, name: string): string | undefined {
  const a = result.attachments.find((x) => x.name === name);
  if (!a) return undefined;
  if (a.body) return a.body.toString('utf8');
  if (a.path && existsSync(a.path)) return readFileSync(a.path, 'utf8');
  return `(attachment ${name} was not kept: ${a.path ?? 'no body'})`;
}

function errorText(e: TestError): string {
  // Playwright's messages carry ANSI colours; the report is plain text.
  return (e.message ?? e.value ?? 'unknown error').replace(/\u001b\[[0-9;]*m/g, '');
}

function firstLines(text: string, n: number): string {
  const lines = text.split('\n');
  return lines.length > n ? [...lines.slice(0, n), `… (${lines.length - n} more lines)`].join('\n') : text;
}

function prettyJson(text: string): string {
  try {
    return JSON.stringify(JSON.parse(text), null, 2);
  } catch {
    return text;
  }
}

export function trimHead(text: string, limit: number): string {
  return text.length > limit ? `${text.slice(0, limit)}\n… (${text.length - limit} more characters trimmed)` : text;
}

export function trimTail(text: string, limit: number): string {
  return text.length > limit ? `(… ${text.length - limit} earlier characters trimmed)\n${text.slice(-limit)}` : text;
}
