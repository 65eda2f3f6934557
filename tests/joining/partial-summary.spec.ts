/**
 * The /sync room summary of a partially joined room (spec /sync `summary`, LL-07 and LL-08). While
 * members are omitted the candidate cannot count them from its own state; what its summary says
 * then is recorded (MSC2775 C-7 asks clients to rely on it for member lists during the resync).
 * Once resynced, counts and heroes must be right, and with lazy-loading the heroes' membership
 * events must come with them even when their joins have left the timeline.
 */
import { test } from '../../harness/fixtures.ts';
import { judge, recordInformational } from '../../harness/checks/judge.ts';
import { summaryCountsEqualTruth } from '../../harness/checks/client-data.ts';
import { heroMustProblems, heroShouldProblems } from '../../harness/audit/compare.ts';
import { judgeRoomSummary } from '../../harness/audit/run.ts';
import type { AuditTarget } from '../../harness/audit/gather.ts';
import { LAZY_FILTER, partialJoin, type PartialJoin } from '../../harness/joining/partial-join.ts';
import { seenInLazySync } from '../../harness/joining/resync-observe.ts';

function auditTarget(join: PartialJoin, candidateServer: string): AuditTarget {
  return { remote: join.remote, room: join.room, joiner: join.joiner, candidateServer };
}

/** Pushes an invite of a new remote user by the room's creator and waits until a lazy-loading sync shows it. */
async function inviteSomeone(join: PartialJoin): Promise<void> {
  const inviteId = join.room.invite(join.remoteMembers[0], join.remote.userId('invitee'));
  await join.pushEvents([inviteId]);
  if (!(await seenInLazySync(join.joiner, join.roomId, inviteId))) throw new Error(`the invite ${inviteId} pushed to the candidate never reached a lazy-loading /sync`);
}

test.describe('joining: the room summary across the resync', () => {
  test('what the summary says while members are omitted is recorded; once resynced counts and heroes are right (nameless room, three servers, an invite)', { tag: ['@C-7', '@LL-07', '@LL-08'] }, async ({ candidate, client, remote }, testInfo) => {
    const join = await partialJoin({ candidate, remote, joiner: client }, { members: 8, servers: 2 });
    const partial = !join.notPartial(testInfo, ['C-7']);
    if (partial) await join.awaitResyncStarted();
    await test.step('an invite reaches the candidate', () => inviteSomeone(join));
    if (partial) {
      await test.step('the summary of a lazy-loading sync during the resync', async () => {
        const summary = (await client.sync({ filter: LAZY_FILTER })).ok().rooms?.join?.[join.roomId]?.summary;
        const members = join.room.members();
        const others = (ms: string[]) => members.filter((m) => m.userId !== client.userId && ms.includes(m.membership)).map((m) => m.userId);
        const truth = { joined: members.filter((m) => m.membership === 'join').length, invited: members.filter((m) => m.membership === 'invite').length };
        const heroProblems = [
          ...heroMustProblems({ summary, nameless: true, forUser: client.userId, otherMembers: others(['join', 'invite', 'leave', 'ban']), memberEventsShown: summary?.['m.heroes'] ?? [] }),
          ...heroShouldProblems({ heroes: summary?.['m.heroes'], forUser: client.userId, joinedOrInvited: others(['join', 'invite']), leftOrBanned: others(['leave', 'ban']) }),
        ];
        const countsRight = summary?.['m.joined_member_count'] === truth.joined && summary?.['m.invited_member_count'] === truth.invited;
        // A summary given while partial is data like any other: its counts are judged at the spec's MUST.
        judge(testInfo, summaryCountsEqualTruth, { request: { roomId: join.roomId, duringResync: true }, response: { roomShown: summary !== undefined, ...(summary ? { summary } : {}) }, truth });
        recordInformational(
          testInfo,
          'C-7',
          countsRight && heroProblems.length === 0,
          { summary: summary ?? null, truth, heroProblems },
          'during the resync the room summary already counts every member and names proper heroes, so clients can show "heroes + N others"',
        );
      });
      join.releaseResync();
    }
    await test.step('the resync completes', () => join.awaitResyncComplete());
    await test.step('the summary once resynced', () => judgeRoomSummary(testInfo, auditTarget(join, candidate.serverName)));
  });

  for (const mode of ['partial', 'full'] as const) {
    test(`heroes' membership events come with a lazy-loading sync whose timeline no longer holds their joins (${mode} state)`, { tag: ['@LL-07'] }, async ({ candidate, client, remote }, testInfo) => {
      const join = await partialJoin({ candidate, remote, joiner: client }, { members: 5, servers: 1, sendJoin: { ignoreOmitMembers: mode === 'full' } });
      join.releaseResync();
      await test.step('the resync completes', () => join.awaitResyncComplete());
      await test.step('fifteen messages from the creator push the joins out of the timeline', async () => {
        const ids = Array.from({ length: 15 }, (_, i) => join.room.sendMessage(join.remoteMembers[0], `message ${i}`));
        await join.pushEvents(ids);
        if (!(await seenInLazySync(client, join.roomId, ids.at(-1)!))) throw new Error(`the last of fifteen pushed messages, ${ids.at(-1)}, never reached a lazy-loading /sync`);
      });
      await test.step('the summary and the heroes\' memberships of an initial lazy-loading sync', () => judgeRoomSummary(testInfo, auditTarget(join, candidate.serverName)));
    });
  }
});
