/**
 * The vocabulary shared by checks, tests, the report and the baselines (see DESIGN.md "Verdicts").
 * The shapes here are read by the report writer: extend them, do not change them.
 */

/**
 * - pass: the requirement was met.
 * - fail: a MUST was broken.
 * - non-strict: a SHOULD was broken (fails the test only under LAZYJOIN_STRICT=1).
 * - informational: a MAY or MSC-ONLY behaviour, recorded as present or absent (see `present`).
 * - not-supported: an optional feature the candidate does not offer.
 * - not-run: the requirement could not be judged by this test (no restart on an external
 *   candidate, or the observation does not exercise it: `reason` says which).
 * - error: the test could not judge (the candidate crashed, the harness threw).
 * - known-failure: a fail or non-strict listed in the candidate's baseline.
 */
export type Verdict =
  | 'pass'
  | 'fail'
  | 'non-strict'
  | 'informational'
  | 'not-supported'
  | 'not-run'
  | 'error'
  | 'known-failure';

/** MUST breaks fail, SHOULD breaks are non-strict, MAY and MSC-ONLY are informational. */
export type RequirementLevel = 'MUST' | 'SHOULD' | 'MAY' | 'MSC-ONLY';

/** Which role of the candidate a requirement binds. */
export type Direction = 'resident' | 'joiner' | 'client' | 'any';

/** One entry of `schemas/requirements.json` (validated by `schemas/requirements.schema.json`). */
export interface Requirement {
  /** Stable ID from the reference checklist: `SJ-08`, `SJ-15a`, `C-6` ... */
  id: string;
  level: RequirementLevel;
  /** The keyword as written in the source (`MUST`, `SHOULD`, `required field`, `derived`, `none` ...). */
  keyword: string;
  direction: Direction;
  /** Topic used to group the report: `send_join`, `resync`, `sync`, `request-auth`, `keys` ... */
  area: string;
  /** Where the statement lives: spec version and section, or the MSC and its section. */
  source: { document: string; section: string };
  /** What an implementer has to do, in the project's own words. */
  summary: string;
  /**
   * The named profile the requirement belongs to, if any: it binds only a candidate that opted
   * into the profile by its behaviour (`partial-state`: the candidate asked for partial state).
   */
  profile?: Profile;
  /** IDs of the checks that judge this requirement (may be empty). */
  checks: string[];
}

/** Named sets of requirements a candidate opts into by its behaviour (see DESIGN.md "Axes of a run"). */
export type Profile = 'partial-state';

/** The catalogue file as a whole. */
export interface RequirementCatalogue {
  catalogue: string;
  specSnapshot: string;
  requirements: Requirement[];
}

/**
 * One judgement, recorded on the test as the annotation
 * `{ type: 'lazyjoin-check', description: JSON.stringify(outcome) }`.
 */
export interface CheckOutcome {
  /** The check that judged, or null for an outcome recorded for a requirement directly
   * (`recordNotSupported`, `recordInformational`). */
  checkId: string | null;
  requirementId: string;
  /** Copied from the catalogue so a reader of the annotation needs nothing else. */
  level: RequirementLevel;
  verdict: Verdict;
  /** For `informational` only: whether the optional behaviour was observed. */
  present?: boolean;
  /** What would have satisfied the requirement (may list several acceptable outcomes). */
  expected: string;
  /** What came, as JSON trimmed to a readable size (see `trimForReport`). */
  observed: unknown;
  /** Why the verdict is not a plain pass: the failure, or why the check did not apply. */
  reason?: string;
  /**
   * For a failing or known-failure outcome: the wire exchanges of the test up to the judgement
   * (suite to candidate and candidate to the remotes), numbered, bodies trimmed.
   */
  exchanges?: WireExchange[];
}

/** One request and its answer on the wire, as a finding shows it. */
export interface WireExchange {
  /** 1-based order within the test. */
  n: number;
  /** `to-candidate`: the suite asked the candidate; `from-candidate`: the candidate asked a remote. */
  direction: 'to-candidate' | 'from-candidate';
  from: string;
  to: string;
  method: string;
  /** Path with its query string. */
  path: string;
  /** HTTP status, absent while unanswered (held by a gate, or no answer came). */
  status?: number;
  /** Milliseconds since the test's journal opened. */
  atMs: number;
  /** Bodies as JSON text, trimmed. */
  request?: string;
  response?: string;
}

/** The result of a pure check. */
export type Evaluation =
  /** `observed`: what was seen, kept for a recorded (informational) outcome. */
  | { ok: true; observed?: unknown }
  | { ok: false; reason: string; expected: string; observed?: unknown }
  | { notApplicable: string };

/**
 * A pure, named verdict about one kind of observation `O`, tied to one requirement.
 * Each control mutates a passing observation so that the check must then fail: the self-tests
 * run every control, so a check that cannot fail is caught.
 */
export interface Check<O> {
  /** Stable, path-like ID: `send-join/members-kept-without-opt-in`. */
  id: string;
  /** Requirement ID from the catalogue. */
  requirement: string;
  /** One line saying what is checked. */
  title: string;
  evaluate(observation: O): Evaluation;
  controls: Array<{ name: string; mutate(observation: O): O }>;
}
