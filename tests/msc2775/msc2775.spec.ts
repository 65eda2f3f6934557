/**
 * MSC2775 ("Lazy loading over federation", closed, superseded by MSC3902) as seen from the
 * joining candidate: the `syncing: true` flag in a partial room's state block of /sync, the
 * `lazy_load_members` flag on send_join, `lazy_load_members_only` on /state, and the blocking
 * /join for clients that do not lazy-load. None of it is in the spec: each feature is reported
 * as supported (informational, present) or not supported, never as a failure.
 */
import { test } from '../../harness/fixtures.ts';
import { recordFeature } from '../../harness/checks/judge.ts';
import { LAZY_FILTER, partialJoin } from '../../harness/joining/partial-join.ts';

test.describe('MSC2775 (never merged): lazy loading over federation, joining side', () => {
  test('the room state block of /sync carries syncing: true during the resync and not afterwards', { tag: ['@C-6', '@msc-only'] }, async ({ candidate, client, remote }, testInfo) => {
    const join = await partialJoin({ candidate, remote, joiner: client }, { members: 4, servers: 1 });
    if (join.notPartial(testInfo, ['C-6'])) return;
    await join.awaitResyncStarted();
    // Eager syncs may leave the partial room out (MSC3902); a lazy-loading sync shows it.
    const during = (await client.sync({ filter: LAZY_FILTER })).ok();
    const stateBlock = during.rooms?.join?.[join.roomId]?.state as Record<string, unknown> | undefined;
    const flagged = stateBlock?.syncing === true;
    join.releaseResync();
    await join.awaitResyncComplete();
    const after = (await client.sync({ filter: LAZY_FILTER })).ok();
    const afterBlock = after.rooms?.join?.[join.roomId]?.state as Record<string, unknown> | undefined;
    const cleared = afterBlock !== undefined && afterBlock.syncing !== true;
    recordFeature(testInfo, 'C-6', flagged && cleared, { during: stateBlock?.syncing ?? null, after: afterBlock?.syncing ?? null, roomInLazySyncDuring: stateBlock !== undefined }, 'syncing: true during the resync, absent or false after it');
  });

  test('the joiner asks send_join with lazy_load_members and /state with lazy_load_members_only', { tag: ['@C-1', '@C-3', '@msc-only'] }, async ({ candidate, client, remote }, testInfo) => {
    const join = await partialJoin({ candidate, remote, joiner: client }, { members: 4, servers: 1 });
    const body = join.sendJoinRecord.body as Record<string, unknown> | undefined;
    const inBody = body?.lazy_load_members === true;
    const inQuery = join.sendJoinRecord.query.lazy_load_members === 'true';
    recordFeature(testInfo, 'C-1', inBody || inQuery, { body: body?.lazy_load_members ?? null, query: join.sendJoinRecord.query }, 'lazy_load_members: true on send_join');
    join.releaseResync();
    if (join.partial) await join.awaitResyncComplete();
    const stateCalls = remote.requests('state');
    const withFlag = stateCalls.filter((r) => r.query.lazy_load_members_only === 'true' || (r.body as Record<string, unknown> | undefined)?.lazy_load_members_only === true);
    recordFeature(testInfo, 'C-3', withFlag.length > 0, { stateRequests: stateCalls.map((r) => ({ query: r.query, body: r.body ?? null })) }, 'lazy_load_members_only: true on /state');
  });

  test('a client that does not lazy-load gets its /join answer only after the state is loaded', { tag: ['@C-5', '@msc-only'] }, async ({ candidate, client, remote }, testInfo) => {
    const join = await partialJoin({ candidate, remote, joiner: client }, { members: 4, servers: 1 });
    if (join.notPartial(testInfo, ['C-5'])) return;
    join.releaseResync();
    // The /join request carries no filter, so a server cannot know whether the client lazy-loads;
    // MSC2775's blocking join shows as a /join that waited for the held resync.
    recordFeature(testInfo, 'C-5', !join.joinReturnedDuringResync, { joinReturnedDuringResync: join.joinReturnedDuringResync }, '/join waits for the resync');
  });
});
