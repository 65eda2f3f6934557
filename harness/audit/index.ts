/**
 * The post-resync audit: a joining candidate's whole view of a room (client state, members,
 * room summary, a lazy-loaded history page, federation /state_ids) against the truth.
 * Pure comparisons in compare.ts, I/O in gather.ts, judging in run.ts, the test fixture in fixture.ts.
 */
export * from './compare.ts';
export { gatherAudit, gatherMemberListDuringResync, gatherStateIdsAtNewest, truthState, AUDIT_CALL_MS, type AuditTarget } from './gather.ts';
export { runAudit, judgeRoomSummary, AUDIT_SETTLE_MS, type AuditResult } from './run.ts';
export { registerForAudit, auditFixture, AUDIT_ANNOTATION, AUDIT_SKIPPED_ANNOTATION, AUDIT_FIXTURE_TIMEOUT_MS, type AuditRegistration } from './fixture.ts';
