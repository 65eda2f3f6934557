/**
 * Baselines at test time: while a conformance test runs, the baseline of the candidate under test
 * (expectations/<candidate>-<version>.json) is active, so that `judge` records a listed failure as
 * `known-failure` with the baseline's reason instead of failing the test. Entries are scoped to a
 * check (harness/report/baseline.ts). After the test, an entry scoped to this test whose check ran
 * here and passed fails the test as "unexpectedly passing", so baselines stay current (an
 * `intermittent` entry never does: passing is what it sometimes does). An entry with
 * `scope: "all"` covers every test; whether it still fails anywhere can only be told over the
 * whole run, which the report does.
 */
import { basename } from 'node:path';
import type { TestInfo } from '@playwright/test';
import { entryMatches, findBaseline, type Baseline, type KnownFailure } from '../report/baseline.ts';
import type { CheckOutcome } from './types.ts';

let active: { path: string; baseline: Baseline } | undefined;

/** Activates the baseline of this candidate version (none when the expectations folder has no file for it). */
export function activateBaseline(candidate: string, version: string, dir?: string): { path: string; baseline: Baseline } | undefined {
  active = findBaseline(candidate, version, dir);
  return active;
}

export function deactivateBaseline(): void {
  active = undefined;
}

/**
 * The test as baselines name it: its title, or its describe blocks and title joined with " > ", as
 * the report writes them (testInfo.titlePath starts with the test file, which the report leaves out).
 */
function subject(testInfo: TestInfo, outcome: Pick<CheckOutcome, 'requirementId' | 'checkId' | 'verdict'>) {
  return { requirementId: outcome.requirementId, checkId: outcome.checkId, verdict: outcome.verdict, testTitle: testInfo.title, testTitlePath: testInfo.titlePath.slice(1) };
}

/** The active baseline's entry excusing this failing outcome in this test, with the file it is in. */
export function knownFailureFor(testInfo: TestInfo, outcome: CheckOutcome): { entry: KnownFailure; file: string } | undefined {
  if (!active || (outcome.verdict !== 'fail' && outcome.verdict !== 'non-strict')) return undefined;
  const entry = active.baseline.knownFailures.find((e) => entryMatches(e, subject(testInfo, outcome)));
  return entry ? { entry, file: `expectations/${basename(active.path)}` } : undefined;
}

/**
 * Entries scoped to this test (by `test`) and not intermittent, whose check was judged here
 * without any failure: one line each, naming the file to edit. Empty without an active baseline.
 */
export function unexpectedlyPassing(testInfo: TestInfo, outcomes: CheckOutcome[]): string[] {
  if (!active) return [];
  const file = `expectations/${basename(active.path)}`;
  return active.baseline.knownFailures
    .filter((e) => e.test !== undefined && !e.intermittent)
    .flatMap((entry) => {
      const judged = outcomes.filter((o) => entryMatches(entry, subject(testInfo, o)));
      const failing = judged.some((o) => ['fail', 'non-strict', 'known-failure'].includes(o.verdict));
      const passing = judged.some((o) => o.verdict === 'pass' || o.verdict === 'informational');
      return passing && !failing ? [`${entry.requirement} (${entry.check}) in "${entry.test}" is unexpectedly passing: remove it from ${file} (it said: ${entry.reason})`] : [];
    });
}
