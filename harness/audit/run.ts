/**
 * Running the post-resync audit on one scenario: gather, let the two views settle, judge.
 *
 * Views settle because the audit may start while the last events are in flight (the candidate's
 * own message not yet at the remote, a pushed event not yet processed). While a check of what the
 * candidate holds (state, members, counts, history, federation state) fails, the audit waits for
 * news — a /sync long poll of the candidate returning, or a PDU reaching the remote — and looks
 * again, until AUDIT_SETTLE_MS. What still differs then is a finding.
 */
import type { TestInfo } from '@playwright/test';
import { judge, recordCheckNotRun } from '../checks/judge.ts';
import { stateIdsAfterResyncIsFullState, type JoinerStateAtEventObservation } from '../checks/joiner-resync-integrity.ts';
import { auditChecks, heroesChosenFromMembers, heroesMustClauses, summaryCountsEqualTruth, type AuditObservation } from '../checks/audit-checks.ts';
import type { Check, CheckOutcome } from '../checks/types.ts';
import { gatherAudit, gatherStateIdsAtNewest, type AuditTarget } from './gather.ts';

/** How long differences may take to settle before they count. */
export const AUDIT_SETTLE_MS = 6_000;

/** A cheap incremental sync: one timeline event, members lazy-loaded. */
const NEWS_FILTER = { room: { timeline: { limit: 1 }, state: { lazy_load_members: true } } };

export interface AuditResult {
  roomId: string;
  outcomes: CheckOutcome[];
  /** Outcomes that are not pass, informational or not-run. */
  differences: CheckOutcome[];
  /** How long the views took to settle (or the bound, when they did not). */
  settledMs: number;
}

/** Checks over what the candidate holds, which events in flight can change; the heroes' checks judge how it answers. */
const SETTLING: ReadonlyArray<Check<AuditObservation>> = auditChecks.audit.filter((c) => c !== heroesMustClauses && c !== heroesChosenFromMembers);

/**
 * Whether waiting may still change the verdicts. The federation state before an event does not
 * change once the event is held on both sides; only its absence from the truth can.
 */
function unsettled(obs: AuditObservation, fed: JoinerStateAtEventObservation | string): boolean {
  const ok = (e: ReturnType<Check<never>['evaluate']>) => !('ok' in e) || e.ok;
  return SETTLING.some((c) => !ok(c.evaluate(obs))) || typeof fed === 'string';
}

/** Resolves when the candidate's /sync or the remote's inbox shows news, or after `ms`. */
async function news(t: AuditTarget, ms: number): Promise<void> {
  const since = (await t.joiner.sync({ filter: NEWS_FILTER })).ok().next_batch;
  const inbox = t.remote.pdus.mark();
  const pdu = t.remote.pdus.expect(() => true, { within: ms, since: inbox }).then(
    () => undefined,
    () => undefined,
  );
  await Promise.race([t.joiner.sync({ filter: NEWS_FILTER, since, timeoutMs: ms }).then(() => undefined), pdu]);
}

/** Gathers the candidate's view and the truth until they agree or AUDIT_SETTLE_MS passes, then judges every audit check. */
export async function runAudit(testInfo: TestInfo, t: AuditTarget): Promise<AuditResult> {
  const started = Date.now();
  const deadline = started + AUDIT_SETTLE_MS;
  let obs = await gatherAudit(t);
  let fed = await gatherStateIdsAtNewest(t);
  while (unsettled(obs, fed) && Date.now() < deadline) {
    await news(t, deadline - Date.now());
    obs = await gatherAudit(t);
    fed = await gatherStateIdsAtNewest(t);
  }
  const settledMs = Date.now() - started;
  const outcomes: CheckOutcome[] = [];
  for (const check of auditChecks.audit) outcomes.push(judge(testInfo, check, obs));
  if (typeof fed !== 'string') outcomes.push(judge(testInfo, stateIdsAfterResyncIsFullState, fed));
  else outcomes.push(recordCheckNotRun(testInfo, stateIdsAfterResyncIsFullState, `audit of ${t.room.roomId}: ${fed}`));
  const differences = outcomes.filter((o) => !['pass', 'informational', 'not-run'].includes(o.verdict));
  return { roomId: t.room.roomId, outcomes, differences, settledMs };
}

/** The room summary part of the audit alone (LL-07, LL-08), for tests about the summary; returns the observation judged. */
export async function judgeRoomSummary(testInfo: TestInfo, t: AuditTarget): Promise<AuditObservation> {
  const obs = await gatherAudit(t);
  judge(testInfo, summaryCountsEqualTruth, obs);
  judge(testInfo, heroesMustClauses, obs);
  judge(testInfo, heroesChosenFromMembers, obs);
  return obs;
}
