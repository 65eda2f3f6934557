/**
 * The data the compliance report is made of: the raw per-test records the reporter gathers
 * (saved as `results.json`, so a report can be rebuilt without re-running), and the verdict
 * vocabulary of DESIGN.md "Verdicts".
 */

import type { CheckOutcome, RequirementLevel, Verdict } from '../checks/types.ts';
import type { ProfileRequest } from '../checks/annotations.ts';

export type { CheckOutcome, ProfileRequest, Verdict };
export type Level = RequirementLevel;

export const VERDICTS = [
  'pass',
  'fail',
  'non-strict',
  'informational',
  'not-supported',
  'not-run',
  'error',
  'known-failure',
] as const satisfies readonly Verdict[];

export const LEVELS = ['MUST', 'SHOULD', 'MAY', 'MSC-ONLY'] as const satisfies readonly Level[];

/** The Playwright tag that carries each level (`@must`, `@should`, `@may`, `@msc-only`). */
export const LEVEL_TAGS: Record<string, Level> = {
  '@must': 'MUST',
  '@should': 'SHOULD',
  '@may': 'MAY',
  '@msc-only': 'MSC-ONLY',
};

/** A requirement ID tag: `@SJ-12`, `@SJ-15a`, `@C-6`. */
export const REQUIREMENT_TAG = /^@([A-Z]+-\d+[a-z]?)$/;

/** What the specification and proposals checked by this version of the suite are. */
export const SPEC_COVERAGE = {
  specVersions: [{ version: 'v1.6+', mscs: ['MSC3706', 'MSC3943'] }],
  /** Proposals never merged into the spec; their requirements are MSC-ONLY. */
  unmergedMscs: ['MSC2775', 'MSC3895', 'MSC3902'],
} as const;

export interface CandidateInfo {
  name: string;
  /** The homeserver implementation, which names the baseline; the name when not recorded. */
  implementation?: string;
  version: string;
  driver: string;
  /** Where the candidate stored its data, when its driver chose it (e.g. `sqlite`, `postgres`). */
  database?: string;
}

/** Playwright's final status of a test (`TestResult['status']`). */
export type TestStatus = 'passed' | 'failed' | 'timedOut' | 'skipped' | 'interrupted';

/** One test's final result against one candidate: what the reporter gathers. */
export interface TestRecord {
  /** Playwright project name = candidate name. */
  candidate: string;
  title: string;
  /** Describe blocks and title, without the project and file. */
  titlePath: string[];
  /** Relative to the repository root. */
  file: string;
  line: number;
  tags: string[];
  status: TestStatus;
  durationMs: number;
  retry: number;
  /** First lines of the test's errors (what Playwright reported). */
  errors: string[];
  checks: CheckOutcome[];
  /** Whether the candidate opted into a profile in this test (`lazyjoin-profile` annotations). */
  profiles?: ProfileRequest[];
  /** Why the test was skipped or annotated `skip`/`fixme`, if it was. */
  skipReason?: string;
  /** The remote's wire exchange (`remote-requests` attachment), trimmed. */
  wireExchange?: string;
  /** The candidate's log tail (`candidate-log` attachment), trimmed. */
  candidateLogTail?: string;
  /** The room version the test judged in (its `lazyjoin-room-version` annotation, or its `@vN` tag). */
  roomVersion?: string;
  /**
   * Attempts before this one, when the test was retried (`LAZYJOIN_RETRIES`): how each ended and
   * the checks it judged. A departure judged in an earlier attempt still counts for its
   * requirement (the candidate was wrong then, whatever the retry saw); an attempt that ended in
   * an error judged nothing, so only the retry speaks for the requirements it could not judge.
   */
  earlierAttempts?: EarlierAttempt[];
}

export interface EarlierAttempt {
  retry: number;
  status: TestStatus;
  errors: string[];
  checks: CheckOutcome[];
}

/** Annotation type naming the room version a test judged in. */
export const ROOM_VERSION_ANNOTATION = 'lazyjoin-room-version';

/** The room version of a test: its annotation, else its `@vN` tag. */
export function roomVersionOf(annotations: ReadonlyArray<{ type: string; description?: string }>, tags: readonly string[]): string | undefined {
  const annotated = annotations.find((a) => a.type === ROOM_VERSION_ANNOTATION && a.description)?.description;
  if (annotated) return annotated;
  const tag = tags.find((t) => /^@v\d+$/.test(t));
  return tag?.slice(2);
}

/** Everything needed to rebuild a report: the content of `results.json`. */
export interface RunResults {
  format: 'lazyjoin-results/1';
  lazyjoinVersion: string;
  startedAt: string;
  /** Candidates by project name, as the candidate fixture recorded them (may be absent). */
  candidates: Record<string, CandidateInfo>;
  /** Project names that ran conformance tests, in first-seen order (even with no record). */
  projects: string[];
  tests: TestRecord[];
  /** Errors outside any test (global setup, worker teardown), first lines. */
  globalErrors?: string[];
  /** How the run ended; absent in results written before this field existed (read as complete). */
  status?: 'complete' | 'interrupted';
  /** Why an interrupted run stopped: `interrupted` (Ctrl-C, a signal) or `timedout` (the global timeout). */
  endedBecause?: string;
  /** Set when this is one shard of a sharded run: its gate covers what it saw. */
  shard?: { current: number; total: number };
}
