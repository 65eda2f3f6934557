/**
 * The audit fixture: every joining scenario registers here (harness/joining/partial-join.ts does
 * it for `partialJoin`), says when its resync completed, and at the end of the test the candidate's
 * whole view of each completed room is audited against the truth (harness/audit/run.ts).
 *
 * A scenario whose test ended before its resync completed is completed by the audit (its held
 * requests released, then the same bounded wait as the test's), so every scenario also checks its
 * end state; when it cannot complete (a test that broke every server), or the candidate's user is no
 * longer joined, there is nothing to audit and a `lazyjoin-audit-skipped` annotation says why.
 *
 * A test may opt out with a stated reason, `join.skipAudit('the room is left before ...')`: the
 * reason is recorded as a `not-run` outcome of the audit's requirements, so the report shows it,
 * and as a `lazyjoin-audit-skipped` annotation. Each audit leaves a `lazyjoin-audit` annotation:
 * the room, how many checks, which differed, and whether the audit completed the resync.
 */
import type { TestInfo } from '@playwright/test';
import { recordCheckNotRun } from '../checks/judge.ts';
import { auditChecks } from '../checks/audit-checks.ts';
import { stateIdsAfterResyncIsFullState } from '../checks/joiner-resync-integrity.ts';
import type { Check } from '../checks/types.ts';
import type { AuditTarget } from './gather.ts';
import { runAudit } from './run.ts';

export const AUDIT_ANNOTATION = 'lazyjoin-audit';
export const AUDIT_SKIPPED_ANNOTATION = 'lazyjoin-audit-skipped';
/** The audit's own time at the end of a test (several rooms may be audited). */
export const AUDIT_FIXTURE_TIMEOUT_MS = 60_000;
/** Bound on completing a resync the test left running (the candidate has had the whole test to start it). */
export const COMPLETE_RESYNC_WITHIN_MS = 15_000;

/** What a scenario helper holds to talk to the audit. */
export interface AuditRegistration {
  /** The resync is over: audit this room at the end of the test. */
  resyncCompleted(): void;
  /** Do not audit this room, for the reason given (shown in the report). */
  skip(reason: string): void;
  /** How to let the resync complete and wait for it, should the test end before it does. */
  completesWith(complete: (withinMs: number) => Promise<void>): void;
}

interface Registered {
  target: AuditTarget;
  completed: boolean;
  skipped?: string;
  complete?: (withinMs: number) => Promise<void>;
}

/** Scenarios of the running test; one test runs at a time in a worker. */
let active: Registered[] | undefined;

/** Registers a scenario with the running test's audit; outside a test with the fixture it does nothing. */
export function registerForAudit(target: AuditTarget): AuditRegistration {
  const session = active;
  if (!session) return { resyncCompleted() {}, skip() {}, completesWith() {} };
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
    completesWith(complete) {
      entry.complete = complete;
    },
  };
}

/** The checks the audit runs, for not-run outcomes of a skipped audit. */
function auditCheckList(): Check<never>[] {
  return [...auditChecks.audit, stateIdsAfterResyncIsFullState] as Check<never>[];
}

function recordSkipped(testInfo: TestInfo, roomId: string, reason: string, asOutcomes: boolean): void {
  testInfo.annotations.push({ type: AUDIT_SKIPPED_ANNOTATION, description: `${roomId}: ${reason}` });
  if (!asOutcomes) return;
  for (const check of auditCheckList()) recordCheckNotRun(testInfo, check, `audit of ${roomId} skipped: ${reason}`);
}

/**
 * The fixture body: opens the test's audit session, runs the test, then audits each registered
 * room (completing its resync first if need be). A test that timed out, was interrupted or was
 * skipped is not audited.
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
    const { room, joiner } = entry.target;
    const roomId = room.roomId;
    if (entry.skipped) {
      recordSkipped(testInfo, roomId, entry.skipped, true);
      continue;
    }
    if (room.membership(joiner.userId) !== 'join') {
      // The audit is of a joined user's view; a user who left sees the room as it was when they left.
      recordSkipped(testInfo, roomId, `${joiner.userId} is no longer joined (${room.membership(joiner.userId) ?? 'no membership'})`, true);
      continue;
    }
    const completedByAudit = !entry.completed;
    if (completedByAudit) {
      const failure = entry.complete ? await entry.complete(COMPLETE_RESYNC_WITHIN_MS).then(() => undefined, (e: Error) => e.message) : 'the scenario cannot complete its resync';
      if (failure !== undefined) {
        recordSkipped(testInfo, roomId, `the resync did not complete after the test: ${failure.split('\n')[0].slice(0, 300)}`, true);
        continue;
      }
    }
    const result = await runAudit(testInfo, entry.target);
    testInfo.annotations.push({
      type: AUDIT_ANNOTATION,
      description: JSON.stringify({
        roomId,
        completedByAudit,
        checks: result.outcomes.length,
        differences: result.differences.map((o) => ({ check: o.checkId, requirement: o.requirementId, verdict: o.verdict, reason: o.reason })),
        settledMs: result.settledMs,
      }),
    });
  }
}
