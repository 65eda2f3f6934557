/**
 * A restricted room joined with partial state (room versions 8 and later). The candidate's user is
 * not a member of the room; the resident's make_join names one of its members with invite power
 * in `join_authorised_via_users_server`, and its send_join answer returns the join countersigned
 * by the resident (`event`). The joiner must keep that signature (SJ-21: the join must carry a
 * valid signature of the authorising user's server, or every other server rejects it), resync as
 * after any partial join (JS-03), and end with the resident's state (the end-of-test audit).
 */
import { test, expect } from '../../harness/fixtures.ts';
import { judge, recordNotSupported } from '../../harness/checks/judge.ts';
import { resyncFetchesStateAtJoin } from '../../harness/checks/joining-resync.ts';
import { restrictedJoinKeepsCountersignature } from '../../harness/checks/partial-state.ts';
import { partialJoin } from '../../harness/joining/partial-join.ts';
import { FederationClient } from '../../harness/remote/client.ts';
import { ROOM_VERSIONS } from '../../harness/matrix/index.ts';

test.describe('joining: a restricted room', () => {
  test('a restricted room joined partially through a countersigning resident: the join keeps the resident\'s signature and the resync completes', { tag: ['@SJ-21', '@JS-03', '@must'] }, async ({ candidate, client, remote, roomVersion }, testInfo) => {
    if (!ROOM_VERSIONS[roomVersion]?.restrictedJoins) {
      recordNotSupported(testInfo, ['SJ-21'], `room version ${roomVersion} has no restricted join rule`);
      return;
    }
    const join = await partialJoin(
      { candidate, remote, joiner: client },
      {
        members: 4,
        servers: 1,
        name: 'restricted room',
        // The members joined while the room was public; from now on a join needs an authoriser.
        beforeJoin: ({ remote: r, room }) => void room.setState(r.userId('alice'), 'm.room.join_rules', '', { join_rule: 'restricted', allow: [{ type: 'm.room_membership', room_id: `!elsewhere:${r.serverName}` }] }),
      },
    );
    const joinEvent = join.room.mustEvent(join.joinEventId);
    const authoriser = (joinEvent.content as { join_authorised_via_users_server?: unknown }).join_authorised_via_users_server;
    expect(authoriser, 'join_authorised_via_users_server of the join the resident stored (it named its own member in make_join)').toBe(remote.userId('alice'));
    if (join.partial) {
      await join.awaitResyncStarted();
      join.releaseResync();
    } else {
      recordNotSupported(testInfo, ['JS-03'], `${candidate.info.name} ${candidate.info.version} joined with full state`);
    }
    await test.step('the resync completes: an eager /sync shows every member', () => join.awaitResyncComplete());
    if (join.partial) judge(testInfo, resyncFetchesStateAtJoin, join.observe());

    // Another server of the room asks the candidate for its join, as any server meeting it would.
    const bystander = join.bystanders[0];
    const answer = await new FederationClient(bystander.serverName, bystander.key).event(candidate.serverName, join.joinEventId);
    const served = answer.status === 200 ? answer.body?.pdus?.[0] : undefined;
    const verified = served ? await remote.verifyPdu(served, join.room) : undefined;
    testInfo.annotations.push({ type: 'lazyjoin-observed', description: `the join as served: HTTP ${answer.status}, signed by ${JSON.stringify(Object.keys(served?.signatures ?? {}))}${verified && !verified.ok ? `, fails verification: ${verified.errors.join('; ')}` : ''}` });
    judge(testInfo, restrictedJoinKeepsCountersignature, {
      request: { scenario: `${bystander.serverName} fetches the candidate's restricted join ${join.joinEventId} over federation` },
      facts: [
        { fact: 'the join is served (HTTP 200)', expected: true, observed: answer.status === 200 && served !== undefined },
        { fact: `it carries a signature of ${remote.serverName}, the authorising user's server`, expected: true, observed: served?.signatures?.[remote.serverName] !== undefined },
        { fact: 'its signatures and hashes verify', expected: true, observed: verified?.ok === true },
      ],
    });
  });
});
