import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Verdict } from './model.ts';

/**
 * Baselines: the failures a given candidate version is known to have, kept outside the tests
 * (`expectations/<candidate>-<version>.json`). Each entry is scoped to one check: it names the
 * requirement, the check ID and the test (its title, or its title path joined with " > "), the
 * reason and the evidence (the value the check observed when the entry was written). A failing
 * outcome of that check in that test is reported as `known-failure` instead of `fail`/`non-strict`;
 * an entry whose check ran and passed is "unexpectedly passing" and fails the run, so that
 * baselines stay current.
 *
 * An entry that affects every test (the same defect met by every join, say) carries
 * `"scope": "all"` instead of a test, and `scopeReason` saying why every test is affected. An entry
 * without a check, or without a test and without that scope, is refused with a one-line message.
 *
 * An entry with `"intermittent": true` is for a candidate behaviour seen to fail in some runs and
 * pass in others: it excuses the failure when it happens and is never "unexpectedly passing",
 * neither at test time nor in the report's gate. Its reason says what was seen, in how many runs.
 */
export interface KnownFailure {
  requirement: string;
  /** The check whose failing outcome the entry excuses. */
  check: string;
  /** The test it is excused in: its title, or its title path joined with " > ". Absent only with `scope: 'all'`. */
  test?: string;
  /** Excused in every test, for the reason in `scopeReason`. */
  scope?: 'all';
  /** Why every test is affected (required with `scope: 'all'`). */
  scopeReason?: string;
  reason: string;
  /** What the check observed when the entry was written (trimmed JSON). */
  evidence: unknown;
  /** The failure comes and goes from run to run: a pass is no sign that the baseline is stale. */
  intermittent?: boolean;
}

export interface Baseline {
  candidate: string;
  version: string;
  knownFailures: KnownFailure[];
}

export const BASELINE_DIR = fileURLToPath(new URL('../../expectations/', import.meta.url));

export function baselinePath(candidate: string, version: string, dir = BASELINE_DIR): string {
  return join(dir, `${candidate}-${version}.json`);
}

const ENTRY_KEYS = new Set(['requirement', 'check', 'test', 'scope', 'scopeReason', 'reason', 'evidence', 'intermittent']);

/** Validates a parsed baseline file; every problem is one line naming the file and the entry. */
export function parseBaseline(raw: unknown, origin: string): Baseline {
  const fail = (what: string): never => {
    throw new Error(`baseline ${origin}: ${what}`);
  };
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) fail('expected an object { candidate, version, knownFailures }');
  const b = raw as Record<string, unknown>;
  if (typeof b.candidate !== 'string' || !b.candidate) fail('"candidate" must be a non-empty string');
  if (typeof b.version !== 'string' || !b.version) fail('"version" must be a non-empty string');
  if (!Array.isArray(b.knownFailures)) fail('"knownFailures" must be an array');
  const knownFailures = (b.knownFailures as unknown[]).map((entry, i): KnownFailure => {
    const e = entry as Record<string, unknown>;
    if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) fail(`knownFailures[${i}] must be an object`);
    const name = `knownFailures[${i}] (${String(e.requirement)})`;
    if (typeof e.requirement !== 'string' || !e.requirement) fail(`knownFailures[${i}].requirement must be a requirement ID`);
    const unknownKey = Object.keys(e).find((k) => !ENTRY_KEYS.has(k));
    if (unknownKey) fail(`${name} has an unknown field "${unknownKey}" (fields: ${[...ENTRY_KEYS].join(', ')})`);
    if (typeof e.check !== 'string' || !e.check) fail(`${name} names no "check": an entry excuses one check's failure, name its ID`);
    if (e.test !== undefined && (typeof e.test !== 'string' || !e.test)) fail(`${name}.test must be a test title when present`);
    if (e.scope !== undefined && e.scope !== 'all') fail(`${name}.scope must be "all" when present`);
    if (e.scope === 'all' && e.test !== undefined) fail(`${name} has both "test" and "scope": "all"; keep one`);
    if (e.scope === undefined && e.test === undefined) fail(`${name} names no "test": scope it to a test, or give "scope": "all" with a "scopeReason" saying why every test is affected`);
    if (e.scope === 'all' && (typeof e.scopeReason !== 'string' || !e.scopeReason.trim())) fail(`${name} has "scope": "all" without a "scopeReason" saying why every test is affected`);
    if (e.scope === undefined && e.scopeReason !== undefined) fail(`${name} has a "scopeReason" without "scope": "all"`);
    if (typeof e.reason !== 'string' || !e.reason.trim()) fail(`${name} needs a "reason"`);
    if (e.evidence === undefined || e.evidence === null) fail(`${name} needs "evidence": the value the check observed`);
    if (e.intermittent !== undefined && typeof e.intermittent !== 'boolean') fail(`${name}.intermittent must be true or false when present`);
    return {
      requirement: e.requirement as string,
      check: e.check as string,
      ...(e.test !== undefined ? { test: e.test as string } : {}),
      ...(e.scope === 'all' ? { scope: 'all' as const, scopeReason: e.scopeReason as string } : {}),
      reason: e.reason as string,
      evidence: e.evidence,
      ...(e.intermittent === true ? { intermittent: true } : {}),
    };
  });
  return { candidate: b.candidate as string, version: b.version as string, knownFailures };
}

export function readBaseline(path: string): Baseline {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new Error(`baseline ${path}: cannot read: ${(e as Error).message}`);
  }
  return parseBaseline(raw, path);
}

/** The baseline file for this candidate version, if the expectations folder has one. */
export function findBaseline(candidate: string, version: string, dir = BASELINE_DIR): { path: string; baseline: Baseline } | undefined {
  const path = baselinePath(candidate, version, dir);
  return existsSync(path) ? { path, baseline: readBaseline(path) } : undefined;
}

/** The part of an outcome the baseline looks at. */
export interface BaselineSubject {
  requirementId: string;
  /** The check that judged (null for an outcome recorded without one, which no entry matches). */
  checkId?: string | null;
  verdict: Verdict;
  testTitle: string;
  testTitlePath: string[];
}

export type BaselineMatched<T> = T & { knownFailureReason?: string };

export interface BaselineApplied<T> {
  outcomes: BaselineMatched<T>[];
  /** Entries (not intermittent) whose outcomes were judged and none failed: the baseline is out of date. */
  unexpectedlyPassing: KnownFailure[];
  /** Entries with no passing or failing outcome (not run, error, not supported, no such test). */
  unexercised: KnownFailure[];
}

const FAILING: ReadonlySet<Verdict> = new Set(['fail', 'non-strict', 'known-failure']);
const PASSING: ReadonlySet<Verdict> = new Set(['pass', 'informational']);

export function entryMatches(entry: KnownFailure, subject: BaselineSubject): boolean {
  if (entry.requirement !== subject.requirementId || entry.check !== subject.checkId) return false;
  if (entry.scope === 'all') return true;
  return entry.test === subject.testTitle || entry.test === subject.testTitlePath.join(' > ');
}

/**
 * Turns every `fail`/`non-strict` outcome an entry matches into `known-failure` carrying the
 * entry's reason. Other verdicts are untouched: an error is never excused by a baseline.
 */
export function applyBaseline<T extends BaselineSubject>(outcomes: T[], baseline: Baseline | undefined): BaselineApplied<T> {
  if (!baseline) return { outcomes: outcomes.map((o) => ({ ...o })), unexpectedlyPassing: [], unexercised: [] };
  const mapped = outcomes.map((o): BaselineMatched<T> => {
    if (o.verdict !== 'fail' && o.verdict !== 'non-strict') return { ...o };
    const entry = baseline.knownFailures.find((e) => entryMatches(e, o));
    return entry ? { ...o, verdict: 'known-failure', knownFailureReason: entry.reason } : { ...o };
  });
  const unexpectedlyPassing: KnownFailure[] = [];
  const unexercised: KnownFailure[] = [];
  for (const entry of baseline.knownFailures) {
    const matching = outcomes.filter((o) => entryMatches(entry, o));
    if (matching.some((o) => FAILING.has(o.verdict))) continue;
    if (!matching.some((o) => PASSING.has(o.verdict))) unexercised.push(entry);
    else if (!entry.intermittent) unexpectedlyPassing.push(entry);
  }
  return { outcomes: mapped, unexpectedlyPassing, unexercised };
}
