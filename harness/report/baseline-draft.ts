/**
 * `lazyjoin baseline`: drafts the baseline entries a candidate's run calls for, from its
 * results.json. Each failing or non-strict check outcome the candidate's baseline does not
 * already excuse becomes one entry scoped to its test and check, with the check's reason and the
 * observed value as evidence; one seen only in an attempt a retry then passed is marked
 * intermittent. Errors are never drafted (a baseline cannot excuse them): they are listed apart,
 * so whoever reviews the draft sees what the run could not judge.
 */
import { existsSync, readFileSync } from 'node:fs';
import { baselinePath, BASELINE_DIR, entryMatches, readBaseline, type Baseline, type KnownFailure } from './baseline.ts';
import type { CheckOutcome, RunResults, TestRecord } from './model.ts';

const EVIDENCE_CHARS = 1_500;

export interface BaselineDraft {
  /** The file the entries belong in (it may not exist yet). */
  path: string;
  candidate: string;
  version: string;
  /** New entries, in test order. */
  entries: KnownFailure[];
  /** Failing outcomes the existing baseline already excuses (known failures at test time, or matched now). */
  alreadyListed: number;
  /** Tests that ended in an error, with the first line of it: not excusable, for review. */
  errors: string[];
}

function evidenceOf(observed: unknown): unknown {
  const text = JSON.stringify(observed ?? null);
  return text.length <= EVIDENCE_CHARS ? observed ?? null : `${text.slice(0, EVIDENCE_CHARS)}… (${text.length} chars)`;
}

function departures(checks: CheckOutcome[]): CheckOutcome[] {
  return checks.filter((c) => (c.verdict === 'fail' || c.verdict === 'non-strict') && c.checkId !== null);
}

/** The draft for `project` of `results`; `dir` holds the baselines (default expectations/). */
export function draftBaseline(results: RunResults, project: string, dir = BASELINE_DIR): BaselineDraft {
  const info = results.candidates[project];
  if (!info) throw new Error(`no candidate "${project}" in these results (they have ${Object.keys(results.candidates).join(', ') || 'none'})`);
  const candidate = info.implementation ?? project;
  const path = baselinePath(candidate, info.version, dir);
  const existing: Baseline | undefined = existsSync(path) ? readBaseline(path) : undefined;
  const entries: KnownFailure[] = [];
  let alreadyListed = 0;
  const errors: string[] = [];
  const tests = results.tests.filter((t: TestRecord) => t.candidate === project);
  for (const t of tests) {
    alreadyListed += t.checks.filter((c) => c.verdict === 'known-failure').length;
    const last = departures(t.checks).map((c) => ({ c, intermittent: false }));
    const earlier = (t.earlierAttempts ?? []).flatMap((a) => departures(a.checks)).map((c) => ({ c, intermittent: true }));
    for (const { c, intermittent } of [...last, ...earlier]) {
      const subject = { requirementId: c.requirementId, checkId: c.checkId, verdict: c.verdict, testTitle: t.title, testTitlePath: t.titlePath };
      if (existing?.knownFailures.some((e) => entryMatches(e, subject))) {
        alreadyListed++;
        continue;
      }
      const duplicate = entries.find((e) => e.requirement === c.requirementId && e.check === c.checkId && e.test === t.title);
      if (duplicate) {
        // Seen in the last attempt too: not intermittent after all.
        if (!intermittent) delete duplicate.intermittent;
        continue;
      }
      entries.push({
        requirement: c.requirementId,
        check: c.checkId!,
        test: t.title,
        reason: `${info.implementation ?? project} ${info.version}: ${c.reason ?? c.checkId}`,
        evidence: evidenceOf(c.observed),
        ...(intermittent ? { intermittent: true } : {}),
      });
    }
    const ended = t.status === 'failed' || t.status === 'timedOut' || t.status === 'interrupted';
    const judgedError = t.checks.some((c) => c.verdict === 'error');
    if ((ended && departures(t.checks).length === 0) || judgedError) errors.push(`${t.titlePath.join(' > ')}: ${(t.errors[0] ?? t.status).split('\n')[0].slice(0, 300)}`);
  }
  return { path, candidate, version: info.version, entries, alreadyListed, errors };
}

/** The baseline file's text with `draft.entries` appended (a new file when there is none). */
export function mergedBaselineText(draft: BaselineDraft): string {
  const current: Baseline = existsSync(draft.path)
    ? (JSON.parse(readFileSync(draft.path, 'utf8')) as Baseline)
    : { candidate: draft.candidate, version: draft.version, knownFailures: [] };
  return `${JSON.stringify({ ...current, knownFailures: [...current.knownFailures, ...draft.entries] }, null, 2)}\n`;
}
