/**
 * The audit fixture: every joining scenario registers here (harness/joining/partial-join.ts does
 * it for `partialJoin`), says when its resync completed, and at the end of the test the candidate's
 * whole view of each completed room is audited against the truth (harness/audit/run.ts).
 *
 * A test may opt out with a stated reason, `join.skipAudit('the room is left before ...')`: the
 * reason is recorded as a `not-run` outcome of the audit's requirements, so the report shows it,
 * and as a `lazyjoin-audit-skipped` annotation. A scenario whose resync never completed in the
 * test is not audited (`lazyjoin-audit-skipped` says so). Each audit run leaves a
 * `lazyjoin-audit` annotation: the room, how many checks, which differed.
 */
import type { TestInfo } from '@playwright/test';
import { CHECK_ANNOTATION } from '../checks/judge.ts';
import { requirement } from '../checks/catalogue.ts';
import { auditChecks } from '../checks/audit-checks.ts';
import { stateIdsAfterResyncIsFullState } from '../checks/joining2-checks.ts';
import type { CheckOutcome } from '../checks/types.ts';
import type { AuditTarget } from './gather.ts';
import { runAudit } from './run.ts';

export const AUDIT_ANNOTATION = 'lazyjoin-audit';
export const AUDIT_SKIPPED_ANNOTATION = 'lazyjoin-audit-skipped';
/** The audit's own time at the end of a test (several rooms may be audited). */
export const AUDIT_FIXTURE_TIMEOUT_MS = 60_000;

/** What a scenario helper holds to talk to the audit. */
export interface AuditRegistration {
  /** The resync is over: audit this room at the end of the test. */
  resyncCompleted(): void;
  /** Do not audit this room, for the reason given (shown in the report). */
  skip(reason: string): void;
}

interface Registered {
  target: AuditTarget;
  completed: boolean;
  skipped?: string;
}

/** Scenarios of the running test; one test runs at a time in a worker. */
let active: Registered[] | undefined;

/** Registers a scenario with the running test's audit; outside a test with the fixture it does nothing. */
export function registerForAudit(target: AuditTarget): AuditRegistration {
  const session = active;
  if (!session) return { resyncCompleted() {}, skip() {} };
  const entry: Registered = { target, completed: false };
  session.push(entry);
  return {
    resyncCompleted() {
      entry.completed = true;
    },
    skip(reason) {
      if (!reason.trim()) throw new Error('skipAudit needs a reason, shown in the report');
      entry.skipped = reason;
    },
  };
}

/** Requirements the audit judges, for not-run outcomes of a skipped audit. */
function auditRequirements(): string[] {
  return [...new Set([...auditChecks.audit, stateIdsAfterResyncIsFullState].map((c) => c.requirement))];
}

function recordSkipped(testInfo: TestInfo, roomId: string, reason: string, asOutcomes: boolean): void {
  testInfo.annotations.push({ type: AUDIT_SKIPPED_ANNOTATION, description: `${roomId}: ${reason}` });
  if (!asOutcomes) return;
  for (const id of auditRequirements()) {
    const req = requirement(id);
    const outcome: CheckOutcome = { checkId: null, requirementId: id, level: req.level, verdict: 'not-run', expected: 'the post-resync audit of the room', observed: null, reason: `audit of ${roomId} skipped: ${reason}` };
    testInfo.annotations.push({ type: CHECK_ANNOTATION, description: JSON.stringify(outcome) });
  }
}

/**
 * The fixture body: opens the test's audit session, runs the test, then audits each registered
 * room whose resync completed. A test that timed out, was interrupted or skipped is not audited.
 */
export async function auditFixture(use: () => Promise<void>, testInfo: TestInfo): Promise<void> {
  const session: Registered[] = [];
  active = session;
  try {
    await use();
  } finally {
    active = undefined;
  }
  const status = testInfo.status;
  if (status === 'timedOut' || status === 'interrupted' || status === 'skipped') return;
  for (const entry of session) {
    const roomId = entry.target.room.roomId;
    if (entry.skipped) recordSkipped(testInfo, roomId, entry.skipped, true);
    else if (!entry.completed) recordSkipped(testInfo, roomId, 'the test ended before the resync was seen to complete', false);
    else {
      const result = await runAudit(testInfo, entry.target);
      testInfo.annotations.push({
        type: AUDIT_ANNOTATION,
        description: JSON.stringify({
          roomId,
          checks: result.outcomes.length,
          differences: result.differences.map((o) => ({ check: o.checkId, requirement: o.requirementId, verdict: o.verdict, reason: o.reason })),
          settledMs: result.settledMs,
        }),
      });
    }
  }
}
