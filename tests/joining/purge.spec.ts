/**
 * A room purged while its resync runs (Complement's "Purge during resync", Synapse only: the purge
 * is Synapse's admin API, `DELETE /_synapse/admin/v1/rooms/{roomId}`). Partial state is transient
 * (MSC3902 "Security considerations", JS-14): a purge in the middle of the resync must not leave
 * the room behind half-synced. The purge answers once the held resync is let go, and the room is
 * gone from the joiner's syncs, lazy-loading or not. Elsewhere the scenario is "not supported".
 */
import { test } from '../../harness/fixtures.ts';
import { judge, recordNotSupported } from '../../harness/checks/judge.ts';
import { partialStateEndsWithPurge } from '../../harness/checks/partial-state.ts';
import type { SyncResponse } from '../../harness/client/types.ts';
import { LAZY_FILTER, partialJoin, RESYNC_WITHIN_MS, settlesWithin } from '../../harness/joining/partial-join.ts';

/** How long the room may take to leave the syncs once the purge answered (Complement allows 5 s). */
const GONE_WITHIN_MS = 10_000;

test.describe('joining: a purge during the resync', () => {
  test('a room purged by a server admin during its resync is gone from the joiner\'s syncs', { tag: ['@complement-27', '@JS-14', '@msc-only'] }, async ({ candidate, remote, newClient }, testInfo) => {
    if (candidate.info.implementation !== 'synapse' || !candidate.capabilities.admin) {
      recordNotSupported(testInfo, ['JS-14'], `purging a room takes Synapse's admin API; ${candidate.info.name} ${candidate.info.version} has none the suite can use`);
      return;
    }
    const admin = await newClient({ admin: true });
    const join = await partialJoin({ candidate, remote, joiner: admin }, { members: 4, servers: 1, name: 'room to purge' });
    join.skipAudit('the room is purged by the test');
    if (join.notPartial(testInfo, ['JS-14'])) return;
    await join.awaitResyncStarted();
    const purge = admin.adminDeleteRoom(join.roomId, { timeoutMs: RESYNC_WITHIN_MS + 10_000 });
    // Whether the purge waits for the resync or not, the resync is let go (as Complement does).
    await settlesWithin(purge, 1_000);
    join.releaseResync();
    const purged = await purge;
    testInfo.annotations.push({ type: 'lazyjoin-observed', description: `purge answered HTTP ${purged.status}: ${JSON.stringify(purged.body).slice(0, 300)}` });
    const shows = (s: SyncResponse) => s.rooms?.join?.[join.roomId] !== undefined;
    // A fresh pair of initial syncs each round (an incremental one need not show a purged room go); bounded.
    const deadline = Date.now() + GONE_WITHIN_MS;
    let lazy = true;
    let eager = true;
    while (Date.now() < deadline) {
      lazy = shows((await admin.sync({ filter: LAZY_FILTER })).ok());
      eager = shows((await admin.sync()).ok());
      if (!lazy && !eager) break;
    }
    judge(testInfo, partialStateEndsWithPurge, {
      request: { scenario: `DELETE /_synapse/admin/v1/rooms/${join.roomId} while the resync was held` },
      facts: [
        { fact: 'the purge answered 200', expected: true, observed: purged.status === 200 },
        { fact: `the room in a lazy-loading initial /sync ${GONE_WITHIN_MS} ms after the purge`, expected: false, observed: lazy },
        { fact: `the room in an eager initial /sync ${GONE_WITHIN_MS} ms after the purge`, expected: false, observed: eager },
      ],
    });
  });
});
