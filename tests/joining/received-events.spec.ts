/**
 * Events the candidate receives in a room it joined on a remote (full state: the join is only the
 * way in): a message whose content was changed after signing must be kept as its redacted copy
 * (SG-05), and a message with 21 prev_events must be rejected while one with 20 is accepted (SG-08).
 */
import { test } from '../../harness/fixtures.ts';
import type { CandidateClient } from '../../harness/client/client.ts';
import { judge } from '../../harness/checks/judge.ts';
import { hashMismatchKeptRedacted, pduLimitsEnforced, type PduLimitsObservation } from '../../harness/checks/joiner-received-events.ts';
import type { PDU } from '../../harness/matrix/index.ts';
import type { Remote } from '../../harness/remote/index.ts';
import type { Room } from '../../harness/remote/room.ts';
import { sendJoinHandler } from '../../harness/remote/routes/membership.ts';

/** Bound on an accepted event becoming visible to the candidate's user. */
const VISIBLE_WITHIN_MS = 20_000;

/** A public room on the remote, joined by the candidate's user (full state). */
async function joinedRoom(remote: Remote, client: CandidateClient, name: string): Promise<Room> {
  remote.route('send_join', sendJoinHandler({ ignoreOmitMembers: true }));
  const room = remote.createRoom({ joinRule: 'public', name });
  (await client.join(room.roomId, { via: [remote.serverName] })).ok();
  return room;
}

/** The client API's view of an event, once it shows in the room's timeline (or the bound passed). */
async function servedEvent(client: CandidateClient, roomId: string, eventId: string, withinMs: number): Promise<{ status: number; content?: Record<string, unknown> }> {
  if (withinMs > 0) await client.awaitTimelineEvent(roomId, eventId, withinMs);
  const res = await client.event(roomId, eventId);
  return res.status === 200 ? { status: 200, content: (res.body as { content?: Record<string, unknown> }).content ?? {} } : { status: res.status };
}

test.describe('joining: events received in the room', () => {
  test('a message whose content was changed after signing is kept as its redacted copy', { tag: ['@SG-05', '@should'] }, async ({ candidate, client, remote }, testInfo) => {
    const room = await joinedRoom(remote, client, 'altered content');
    const signedContent = { msgtype: 'm.text', body: 'what was signed' };
    const { event, eventId } = room.forge({ type: 'm.room.message', sender: remote.userId('alice'), content: signedContent });
    // The signature covers the redacted event (no content), so it still verifies; the hash does not.
    const sentContent = { msgtype: 'm.text', body: 'changed after signing' };
    const altered: PDU = { ...event, content: sentContent };
    const answer = await remote.client.send(candidate.serverName, { pdus: [altered] });
    await testInfo.attach('transaction answer', { body: JSON.stringify({ status: answer.status, body: answer.body }, null, 2), contentType: 'application/json' });
    const served = await servedEvent(client, room.roomId, eventId, VISIBLE_WITHIN_MS);
    judge(testInfo, hashMismatchKeptRedacted, { eventId, signedContent, sentContent, served });
  });

  test('a message with 21 prev_events is rejected; one with 20 is accepted', { tag: ['@SG-08', '@must'] }, async ({ candidate, client, remote }, testInfo) => {
    const room = await joinedRoom(remote, client, 'many parents');
    // 21 messages after the join, sent to the candidate and awaited, so that every parent is known.
    const alice = remote.userId('alice');
    const earlier = Array.from({ length: 21 }, (_, i) => room.sendMessage(alice, `parent ${i}`));
    await remote.client.send(candidate.serverName, { pdus: earlier.map((id) => room.mustEvent(id)) });
    if ((await servedEvent(client, room.roomId, earlier[20], VISIBLE_WITHIN_MS)).status !== 200) {
      throw new Error(`the candidate did not accept the 21 plain messages meant as parents (the last, ${earlier[20]}, is not visible within ${VISIBLE_WITHIN_MS} ms)`);
    }
    const make = (count: number, body: string) => room.forge({ type: 'm.room.message', sender: alice, content: { msgtype: 'm.text', body }, prevEvents: earlier.slice(-count) });
    const twentyOne = make(21, 'twenty-one parents');
    const twenty = make(20, 'twenty parents');
    const answers = [await remote.client.send(candidate.serverName, { pdus: [twentyOne.event] }), await remote.client.send(candidate.serverName, { pdus: [twenty.event] })];
    await testInfo.attach('transaction answers', { body: JSON.stringify(answers.map((a) => ({ status: a.status, body: a.body })), null, 2), contentType: 'application/json' });
    const accepted20 = (await servedEvent(client, room.roomId, twenty.eventId, VISIBLE_WITHIN_MS)).status === 200;
    // The 21-parent event went first: once the later one is visible, the candidate has decided on it.
    const accepted21 = (await servedEvent(client, room.roomId, twentyOne.eventId, 0)).status === 200;
    const observation: PduLimitsObservation = {
      events: [
        { eventId: twenty.eventId, fault: 'none', prevEvents: 20, accepted: accepted20 },
        { eventId: twentyOne.eventId, fault: 'too-many-prev-events', prevEvents: 21, accepted: accepted21 },
      ],
    };
    judge(testInfo, pduLimitsEnforced, observation);
  });
});
