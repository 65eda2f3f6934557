/**
 * Lazy-loading members in /sync on the candidate's own rooms, as its local clients see it (the
 * joining-side tests judge the same during and after a partial-state resync):
 * - a limited incremental sync returns the membership events of the gap, redundant or not (LL-02);
 * - include_redundant_members makes the server send a sender's membership again (LL-06);
 * - whether it skips redundant memberships otherwise is recorded (LL-05, a MAY).
 */
import { test } from '../../harness/fixtures.ts';
import type { CandidateClient } from '../../harness/client/client.ts';
import type { ClientEvent, SyncResponse } from '../../harness/client/types.ts';
import { judge, recordInformational } from '../../harness/checks/judge.ts';
import { gapMembershipsReturned, redundantMembersIncluded } from '../../harness/checks/client-lazy-loading.ts';

/** Membership events of `roomId` in a sync's state and timeline: user ID -> event ID (the last wins). */
function membershipsIn(sync: SyncResponse, roomId: string): Record<string, string> {
  const room = sync.rooms?.join?.[roomId];
  const out: Record<string, string> = {};
  for (const e of [...(room?.state?.events ?? []), ...(room?.timeline?.events ?? [])] as ClientEvent[]) {
    if (e.type === 'm.room.member' && e.state_key !== undefined && e.event_id) out[e.state_key] = e.event_id;
  }
  return out;
}

async function membershipEventId(client: CandidateClient, roomId: string, userId: string): Promise<string> {
  const state = (await client.state(roomId)).ok();
  const event = state.find((e) => e.type === 'm.room.member' && e.state_key === userId);
  if (!event?.event_id) throw new Error(`${userId} has no membership event in ${roomId}`);
  return event.event_id;
}

test.describe('client: lazy-loading members', () => {
  test('a limited incremental sync returns the membership events of the gap', { tag: ['@LL-02', '@LL-09', '@must'] }, async ({ client: alice, newClient }, testInfo) => {
    const dave = await newClient({ displayName: 'Dave' });
    const bob = await newClient({ displayName: 'Bob' });
    const carol = await newClient({ displayName: 'Carol' });
    const { room_id: roomId } = (await alice.createRoom({ preset: 'public_chat' })).ok();
    (await dave.join(roomId)).ok(); // a member who never sends anything
    (await bob.join(roomId)).ok();
    (await carol.join(roomId)).ok();
    const filter = { room: { state: { lazy_load_members: true }, timeline: { limit: 2 } } };
    const first = (await alice.sync({ filter })).ok();

    // The gap: bob renames himself (a membership event) and speaks; carol's three messages then
    // push both out of a two-event timeline.
    const renamed = (await bob.sendState(roomId, 'm.room.member', bob.userId, { membership: 'join', displayname: 'Bob, renamed' })).ok().event_id as string;
    (await bob.sendMessage(roomId, 'said in the gap')).ok();
    for (let i = 1; i <= 3; i++) (await carol.sendMessage(roomId, `after the gap ${i}`)).ok();

    const second = (await alice.sync({ filter, since: first.next_batch })).ok();
    judge(testInfo, gapMembershipsReturned, {
      scenario: 'gap',
      limited: second.rooms?.join?.[roomId]?.timeline?.limited === true,
      memberships: membershipsIn(second, roomId),
      required: [{ userId: bob.userId, eventId: renamed, why: 'changed in the gap, by a sender of the gap' }],
    });
    // LL-09 (a MAY): membership state limited to what the timeline needs leaves silent dave out.
    const daveSent = membershipsIn(second, roomId)[dave.userId] !== undefined;
    recordInformational(testInfo, 'LL-09', !daveSent, { silentMembersMembershipSent: daveSent }, daveSent ? 'the membership of a member who sent nothing was sent too' : 'only the memberships the timeline needs were sent');
  });

  test('include_redundant_members sends a sender\'s membership again; without it, whether it is skipped is recorded', { tag: ['@LL-06', '@LL-05', '@must'] }, async ({ client: alice, newClient }, testInfo) => {
    const bob = await newClient({ displayName: 'Bob' });
    const { room_id: roomId } = (await alice.createRoom({ preset: 'public_chat' })).ok();
    (await bob.join(roomId)).ok();
    const bobsJoin = await membershipEventId(alice, roomId, bob.userId);
    const redundant = { room: { state: { lazy_load_members: true, include_redundant_members: true }, timeline: { limit: 10 } } };
    const lazy = { room: { state: { lazy_load_members: true }, timeline: { limit: 10 } } };

    (await bob.sendMessage(roomId, 'first')).ok();
    const first = (await alice.sync({ filter: redundant })).ok(); // bob's membership sent once here
    (await bob.sendMessage(roomId, 'second')).ok();
    const second = (await alice.sync({ filter: redundant, since: first.next_batch })).ok();
    judge(testInfo, redundantMembersIncluded, {
      scenario: 'redundant',
      limited: second.rooms?.join?.[roomId]?.timeline?.limited === true,
      memberships: membershipsIn(second, roomId),
      required: [{ userId: bob.userId, eventId: bobsJoin, why: 'sender of the timeline, already sent, asked for again' }],
    });

    (await bob.sendMessage(roomId, 'third')).ok();
    const third = (await alice.sync({ filter: lazy, since: second.next_batch })).ok();
    const resent = membershipsIn(third, roomId)[bob.userId] !== undefined;
    recordInformational(testInfo, 'LL-05', !resent, { bobsMembershipResent: resent }, resent ? 'a redundant membership was sent again without include_redundant_members' : 'the redundant membership was skipped');
  });
});
