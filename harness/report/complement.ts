/**
 * Coverage of Complement's partial-state tests by lazyjoin's tests.
 *
 * Complement (matrix-org/complement) has 63 leaf test cases about partial-state joins: one on the
 * resident side (`TestSendJoinPartialStateResponse`) and 62 subtests of `TestPartialStateJoin`
 * (tests/msc3902). They are numbered here as in the suite's research notes. A lazyjoin test says
 * which of them it covers with a Playwright tag `@complement-<N>`; `lazyjoin list --coverage`
 * builds the table from those tags. A case no test tags carries the reason it is not covered.
 */

/** The tag naming the Complement case a test covers. */
export const COMPLEMENT_TAG = /^@complement-(\d+)$/;

export interface ComplementCase {
  n: number;
  /** The Go test or subtest name. */
  name: string;
  /** Why no lazyjoin test covers it (only for cases no test tags). */
  notCovered?: string;
}

export const COMPLEMENT_CASES: readonly ComplementCase[] = [
  { n: 1, name: 'TestSendJoinPartialStateResponse' },
  { n: 2, name: 'EagerInitialSyncDuringPartialStateJoin' },
  { n: 3, name: 'EagerIncrementalSyncDuringPartialStateJoin' },
  { n: 4, name: 'EagerLongPollingSyncWokenWhenResyncCompletes' },
  { n: 5, name: 'CanLazyLoadingSyncDuringPartialStateJoin' },
  { n: 6, name: 'CanSendEventsDuringPartialStateJoin' },
  { n: 7, name: 'Can change display name during partial state join' },
  { n: 8, name: 'CanReceiveTypingDuringPartialStateJoin' },
  { n: 9, name: 'CanReceivePresenceDuringPartialStateJoin' },
  { n: 10, name: 'CanReceiveToDeviceDuringPartialStateJoin' },
  { n: 11, name: 'CanReceiveReceiptDuringPartialStateJoin' },
  { n: 12, name: 'CanReceiveDeviceListUpdateDuringPartialStateJoin' },
  { n: 13, name: 'CanReceiveSigningKeyUpdateDuringPartialStateJoin' },
  { n: 14, name: 'CanReceiveEventsDuringPartialStateJoin' },
  { n: 15, name: 'CanReceiveEventsWithMissingParentsDuringPartialStateJoin' },
  { n: 16, name: 'CanReceiveEventsWithHalfMissingParentsDuringPartialStateJoin' },
  { n: 17, name: 'CanReceiveEventsWithHalfMissingGrandparentsDuringPartialStateJoin' },
  { n: 18, name: 'Lazy-loading initial sync includes remote memberships during partial state join' },
  { n: 19, name: 'Lazy-loading gappy sync includes remote memberships during partial state join' },
  { n: 20, name: 'Lazy-loading incremental sync includes remote memberships during partial state join' },
  { n: 21, name: 'GappySyncAfterPartialStateSynced' },
  { n: 22, name: 'MembersRequestBlocksDuringPartialStateJoin' },
  { n: 23, name: 'joined_members blocks during partial state join' },
  { n: 24, name: 'PartialStateJoinContinuesAfterRestart' },
  { n: 25, name: 'PartialStateJoinSyncsUsingOtherHomeservers' },
  { n: 26, name: 'Resync completes even when events arrive before their prev_events' },
  { n: 27, name: 'Purge during resync' },
  { n: 28, name: 'Rejected events remain rejected after resync' },
  { n: 29, name: 'State accepted incorrectly' },
  { n: 30, name: 'State rejected incorrectly' },
  { n: 31, name: 'Rejects make_join during partial join' },
  { n: 32, name: 'Rejects send_join during partial join' },
  { n: 33, name: 'Rejects make_knock during partial join' },
  { n: 34, name: 'Rejects send_knock during partial join' },
  { n: 35, name: 'Room aliases can be added and queried during a resync' },
  { n: 36, name: 'Room aliases can be added and deleted during a resync' },
  { n: 37, name: 'CanFastJoinDuringPartialStateJoin' },
  { n: 38, name: 'Room stats are correctly updated once state re-sync completes' },
  { n: 39, name: 'User directory is correctly updated once state re-sync completes' },
  { n: 40, name: 'Leave during resync/is seen after the resync' },
  { n: 41, name: 'Leave during resync/does not wait for resync' },
  { n: 42, name: 'Leave during resync/works after a second partial join' },
  { n: 43, name: 'Leave during resync/succeeds, then rejoin succeeds without resync completing' },
  { n: 44, name: 'Leave during resync/succeeds, then another user can join without resync completing' },
  { n: 45, name: 'Leave during resync/can be triggered by remote kick' },
  { n: 46, name: 'Leave during resync/can be triggered by remote ban' },
  { n: 47, name: 'Outgoing device list updates/Device list updates reach all servers in partial state rooms' },
  { n: 48, name: 'Outgoing device list updates/Device list updates reach newly joined servers in partial state rooms' },
  { n: 49, name: 'Outgoing device list updates/Device list updates no longer reach departed servers after partial state join completes' },
  { n: 50, name: 'Outgoing device list updates/Device list updates reach incorrectly kicked servers once partial state join completes' },
  { n: 51, name: 'Outgoing device list updates/Device list updates reach incorrectly kicked servers once partial state join completes even though remote server left room' },
  { n: 52, name: 'Outgoing device list updates/Device list updates reach incorrectly absent servers once partial state join completes' },
  { n: 53, name: 'Outgoing device list updates/Device list updates reach incorrectly absent servers once partial state join completes even though remote server left room' },
  { n: 54, name: 'Device list tracking/Device list tracking for pre-existing members in partial state room' },
  { n: 55, name: 'Device list tracking/Device list tracking when pre-existing members in partial state room join another shared room' },
  { n: 56, name: 'Device list tracking/Device list tracked for new members in partial state room' },
  { n: 57, name: 'Device list tracking/Device list no longer tracked when new member leaves partial state room' },
  { n: 58, name: 'Device list tracking/Device list no longer tracked when leaving partial state room' },
  { n: 59, name: 'Device list tracking/Device list no longer tracked when failing to complete partial state join' },
  { n: 60, name: 'Device list tracking/Device list no longer tracked for user incorrectly believed to be in room' },
  { n: 61, name: 'Device list tracking/Device list no longer tracked for user incorrectly believed to be in room when they rejoin before partial state join completes' },
  { n: 62, name: 'Device list tracking/Device list no longer tracked for user incorrectly believed to be in room when they rejoin after partial state join completes' },
  { n: 63, name: 'Device list tracking/Device list no longer tracked for user incorrectly believed to be in room when they join another shared room before partial state join completes' },
];

/** A test as `lazyjoin list` sees it (file relative to tests/, title, tags). */
export interface CoverageTest {
  file: string;
  title: string;
  tags: readonly string[];
}

export interface CoverageRow {
  case: ComplementCase;
  /** Distinct tests tagged with the case (room-version copies of one test count once), as "file: title". */
  tests: string[];
}

export interface Coverage {
  rows: CoverageRow[];
  covered: number;
  total: number;
  /** Inconsistencies between the tags and the case list: tags naming no case, covered cases still giving a reason, uncovered ones giving none. */
  problems: string[];
}

/** Joins the tests' `@complement-N` tags to the case list. */
export function complementCoverage(tests: readonly CoverageTest[], cases: readonly ComplementCase[] = COMPLEMENT_CASES): Coverage {
  const byCase = new Map<number, Set<string>>();
  const problems: string[] = [];
  const known = new Set(cases.map((c) => c.n));
  for (const t of tests) {
    for (const tag of t.tags) {
      const m = COMPLEMENT_TAG.exec(tag);
      if (!m) continue;
      const n = Number(m[1]);
      if (!known.has(n)) {
        problems.push(`${t.file}: "${t.title}" is tagged ${tag}, which names no Complement case (1-${cases.length})`);
        continue;
      }
      byCase.set(n, (byCase.get(n) ?? new Set()).add(`${t.file}: ${t.title}`));
    }
  }
  const rows = cases.map((c) => ({ case: c, tests: [...(byCase.get(c.n) ?? [])].sort() }));
  for (const r of rows) {
    if (r.tests.length > 0 && r.case.notCovered) problems.push(`Complement case ${r.case.n} is covered by ${r.tests.length} test(s) but still gives a reason for not being covered`);
    if (r.tests.length === 0 && !r.case.notCovered) problems.push(`Complement case ${r.case.n} (${r.case.name}) has no test tagged @complement-${r.case.n} and no reason for not being covered`);
  }
  return { rows, covered: rows.filter((r) => r.tests.length > 0).length, total: cases.length, problems };
}

/** The Markdown table and summary line `lazyjoin list --coverage` prints (and the README holds). */
export function formatCoverage(coverage: Coverage): string {
  const cell = (text: string) => text.replace(/\\/g, '\\\\').replace(/\|/g, '\\|');
  const lines = ['| # | Complement case | lazyjoin test(s) |', '|---|---|---|'];
  for (const r of coverage.rows) {
    const covering = r.tests.length > 0 ? r.tests.map(cell).join('<br>') : `not covered: ${cell(r.case.notCovered ?? 'no reason given')}`;
    lines.push(`| ${r.case.n} | ${cell(r.case.name)} | ${covering} |`);
  }
  lines.push('', `${coverage.covered} of ${coverage.total} covered.`);
  return lines.join('\n') + '\n';
}
