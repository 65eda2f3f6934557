/**
 * A knock into a room whose state the candidate holds only partially (room versions 7 and later).
 * The candidate's first user joined the public room with partial state; during the resync the
 * room's admin turns the join rule to `knock`, and a second local user knocks. A knock needs only
 * the knocking user's own membership and the join rules, both known while partial (MSC3902
 * "Handling client requests", JS-08): it answers without waiting for the resync, and the knock
 * reaches the resident (JS-02: events sent while partial go to the servers in the room).
 */
import { test, expect } from '../../harness/fixtures.ts';
import { judge, recordNotSupported } from '../../harness/checks/judge.ts';
import { clientOperationsWorkWhilePartial, localRequestsAnswerAtOnce } from '../../harness/checks/partial-state.ts';
import { ROOM_VERSIONS } from '../../harness/matrix/index.ts';
import { FEDERATION_WITHIN_MS, partialJoin, settlesWithin } from '../../harness/joining/partial-join.ts';
import { seenInLazySync } from '../../harness/joining/resync-observe.ts';

/** Bound on a request expected not to wait for the resync. */
const ANSWERS_WITHIN_MS = 5_000;

test.describe('joining: a knock into a partial-state room', () => {
  test('a second local user knocks while the resync is held: the knock answers at once and reaches the resident', { tag: ['@JS-08', '@msc-only'] }, async ({ candidate, client, remote, newClient, roomVersion }, testInfo) => {
    if (!ROOM_VERSIONS[roomVersion]?.knocking) {
      recordNotSupported(testInfo, ['JS-08'], `room version ${roomVersion} has no knock join rule`);
      return;
    }
    const join = await partialJoin({ candidate, remote, joiner: client }, { members: 4, servers: 1, name: 'room that turns to knocking' });
    if (join.notPartial(testInfo, ['JS-08'])) return;
    await join.awaitResyncStarted();
    const rule = join.room.setState(remote.userId('alice'), 'm.room.join_rules', '', { join_rule: 'knock' });
    await join.pushEvents([rule]);
    expect(await seenInLazySync(client, join.roomId, rule), `the join rule change ${rule} in a lazy-loading /sync`).toBe(true);

    const knocker = await newClient();
    const since = remote.pdus.mark();
    const requestsBefore = remote.requests().length;
    const pending = knocker.knock(join.roomId, { via: [remote.serverName], reason: 'knocking while partial' });
    const answered = await settlesWithin(pending, ANSWERS_WITHIN_MS);
    const answer = answered ? await pending : undefined;
    testInfo.annotations.push({ type: 'lazyjoin-observed', description: `knock while partial: ${answered ? `HTTP ${answer!.status} ${JSON.stringify(answer!.body).slice(0, 200)}` : `no answer within ${ANSWERS_WITHIN_MS} ms`}` });
    judge(testInfo, localRequestsAnswerAtOnce, { request: { operation: 'knock by a second local user', needsRemoteMembers: false, heldForMs: ANSWERS_WITHIN_MS }, response: { answeredWhileHeld: answered, ...(answer ? { status: answer.status } : {}) } });
    let reached = false;
    if (answer?.status === 200) {
      reached = await remote
        .expectPdu((p) => p.type === 'm.room.member' && p.state_key === knocker.userId && (p.content as { membership?: string }).membership === 'knock', { within: FEDERATION_WITHIN_MS, since })
        .then(() => true, () => false);
    }
    const membershipRoutes = remote.requests().slice(requestsBefore).filter((r) => r.origin === candidate.serverName && /knock/.test(r.route)).map((r) => `${r.route} -> ${r.to} ${r.status ?? ''}`);
    if (membershipRoutes.length) testInfo.annotations.push({ type: 'lazyjoin-observed', description: `knock requests to the remote: ${JSON.stringify(membershipRoutes)}` });
    judge(testInfo, clientOperationsWorkWhilePartial, {
      request: { scenario: 'a knock by a second local user while partial' },
      facts: [
        { fact: '/knock answered 200', expected: true, observed: answer?.status === 200 },
        { fact: `the knock reached ${remote.serverName} within ${FEDERATION_WITHIN_MS} ms`, expected: true, observed: reached },
      ],
    });
    join.releaseResync();
  });
});
