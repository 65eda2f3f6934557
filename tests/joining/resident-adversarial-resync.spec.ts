/**
 * Adversarial residents in the resync and after the join: /state_ids and /state answers far
 * larger than the room, an answer that never ends, state IDs nobody serves, another room's state,
 * and a forged leave of the joiner pushed while the room is partial. As in
 * resident-adversarial.spec.ts, each test states its `safeBehaviour`; no invalid event may become
 * state (JS-01, judged) and the outcome is judged under JS-03 (the resident's true state once
 * resynced, other rooms still working); for the answer that never ends, under JS-08 (the partial
 * room and the others keep working); where the resident never gives its true state, recorded
 * under C-15.
 */
import { randomBytes } from 'node:crypto';
import type { TestInfo } from '@playwright/test';
import { test } from '../../harness/fixtures.ts';
import { judge, recordInformational, recordNotSupported } from '../../harness/checks/judge.ts';
import { noInvalidEventInState } from '../../harness/checks/joiner-resync-integrity.ts';
import { ADVERSARIAL_RESYNC_WITHIN_MS, judgeAdversarialOutcome, judgeRoomsWorkWithoutResync, localRoomWorks, SAFE_BEHAVIOUR_ANNOTATION, stateKeyOf } from '../../harness/joining/adversarial-resident.ts';
import { pushAndJudge } from '../../harness/joining/resync-observe.ts';
import { UncheckedJoin } from '../../harness/joining/unchecked-join.ts';
import { generateSigningKey, signEvent, type PDU } from '../../harness/matrix/index.ts';
import type { Room } from '../../harness/remote/room.ts';
import { state as stateRoute, stateIds as stateIdsRoute } from '../../harness/remote/routes/events.ts';
import { json, responseText, type RouteContext, type RouteHandler, type RouteResponse } from '../../harness/remote/routing.ts';

/** How far beyond the room the oversized answers go. */
const JUNK_IDS = 100_000;
/**
 * Badly signed events cost a joiner a signature check and, in Synapse, a refetch each: a count a
 * sound joiner gets through within the bound below, still hundreds of times the room.
 */
const JUNK_EVENTS = 1_000;
/**
 * Bound on the resync of the oversized answers: Synapse takes 5 to 10 s over them on an idle
 * machine; a joiner still busy after a minute is stalled by them.
 */
const OVERSIZED_RESYNC_WITHIN_MS = 60_000;
/** The pace of the answer that never ends: one byte of JSON whitespace per interval (the attack, not a wait). */
const DRIP_EVERY_MS = 250;

/** For answers that only arise in a partial join: a candidate that asked for full state does not support the feature. */
function partialOnly(testInfo: TestInfo, join: UncheckedJoin, requirement: string): boolean {
  if (join.partial) return false;
  recordNotSupported(testInfo, [requirement], `the candidate did not ask for partial state (${join.omitMembersSent}), so no resync answer arises`);
  return true;
}

/** An event ID of the current format that names no event anywhere. */
function phantomId(): string {
  return `$${randomBytes(32).toString('base64url')}`;
}

function roomFor(ctx: RouteContext): Room {
  const room = ctx.remote.rooms.get(ctx.params.roomId);
  if (!room) throw new Error(`no room ${ctx.params.roomId} on the remote`);
  return room;
}

/**
 * Members of nobody's making: `count` member events of the resident's server, signed under the
 * resident's key ID by another key, so that no signature verifies (and no key fetch helps).
 */
function junkMembers(room: Room, sender: string, count: number, keyId: string): Array<{ event: PDU; eventId: string }> {
  const stranger = generateSigningKey(keyId);
  const template = room.draft({ type: 'm.room.member', stateKey: sender, sender, content: { membership: 'join' }, outlier: true });
  const server = sender.slice(sender.indexOf(':') + 1);
  return Array.from({ length: count }, (_, i) => {
    const user = `@junk-${i}:${server}`;
    return signEvent({ ...template, sender: user, state_key: user } as PDU, server, stranger, room.version);
  });
}

/** The honest /state_ids answer with `extra(ctx)` appended to its state IDs. */
function stateIdsWith(extra: (ctx: RouteContext) => string[]): RouteHandler {
  return async (ctx) => {
    const honest = JSON.parse(responseText(await stateIdsRoute(ctx))) as { pdu_ids: string[]; auth_chain_ids: string[] };
    return json({ ...honest, pdu_ids: [...honest.pdu_ids, ...extra(ctx)] });
  };
}

test.describe('joining: adversarial residents (the resync and after)', () => {
  test(`/state_ids lists ${JUNK_IDS.toLocaleString('en')} state IDs beyond the room`, { tag: ['@JS-01', '@JS-03'] }, async ({ candidate, client, remote }, testInfo) => {
    test.setTimeout(OVERSIZED_RESYNC_WITHIN_MS + 60_000);
    const junk = Array.from({ length: JUNK_IDS }, phantomId);
    const join = await UncheckedJoin.start({
      candidate,
      client,
      remote,
      resyncAnswer: {
        stateIds: stateIdsWith(() => junk),
      },
    });
    if (partialOnly(testInfo, join, 'JS-03')) return;
    await judgeAdversarialOutcome(testInfo, join, {
      requirement: 'JS-03',
      resyncWithinMs: OVERSIZED_RESYNC_WITHIN_MS,
      safeBehaviour: `Complete the resync with the true state: the ${JUNK_IDS.toLocaleString('en')} extra IDs name events nobody serves (/event and /state know none of them), so none can become state, and fetching them must stall neither the room nor the server (JS-03: the resync obtains the state at the join).`,
    });
  });

  test(`/state answers ${JUNK_EVENTS.toLocaleString('en')} badly signed member events beyond the room`, { tag: ['@JS-01', '@JS-03'] }, async ({ candidate, client, remote }, testInfo) => {
    test.setTimeout(OVERSIZED_RESYNC_WITHIN_MS + 60_000);
    let junk: Array<{ event: PDU; eventId: string }> = [];
    const withJunk = (room: Room) => {
      if (!junk.length) junk = junkMembers(room, remote.userId('mallory'), JUNK_EVENTS, remote.key.keyId);
      return junk;
    };
    const join = await UncheckedJoin.start({
      candidate,
      client,
      remote,
      resyncAnswer: {
        stateIds: stateIdsWith((ctx) => withJunk(roomFor(ctx)).map((j) => j.eventId)),
        state: async (ctx): Promise<RouteResponse> => {
          const honest = JSON.parse(responseText(await stateRoute(ctx))) as { pdus: unknown[]; auth_chain: unknown[] };
          return json({ ...honest, pdus: [...honest.pdus, ...withJunk(roomFor(ctx)).map((j) => j.event)] });
        },
      },
    });
    if (partialOnly(testInfo, join, 'JS-03')) return;
    withJunk(join.room);
    await judgeAdversarialOutcome(testInfo, join, {
      requirement: 'JS-03',
      resyncWithinMs: OVERSIZED_RESYNC_WITHIN_MS,
      forbidden: junk.slice(0, 50).map((j) => ({ eventId: j.eventId, why: "its signature does not verify with the resident's key" })),
      safeBehaviour: `Drop the ${JUNK_EVENTS.toLocaleString('en')} events whose signatures do not verify (JS-01) and complete the resync with the true state, without stalling the room or the server.`,
    });
  });

  test('the resync answer never ends: headers sent, the body dribbled out a byte at a time', { tag: ['@JS-08', '@JS-03'] }, async ({ candidate, client, remote }, testInfo) => {
    testInfo.annotations.push({
      type: 'safeBehaviour',
      description:
        'Keep serving the partial room (lazy-loading /sync shows new events, the user can send) and every other room while the resync answer dribbles on; a read without a bound on the whole body must hold up nothing but the resync (MSC3902, JS-08).',
    });
    const dribbled = { started: 0, bytes: 0 };
    const drip = (): RouteResponse => ({
      status: 200,
      chunks: async function* () {
        dribbled.started++;
        yield '{"pdu_ids":[';
        // Ends when the candidate closes the connection or the remote closes at the end of the test.
        for (;;) {
          await new Promise((resolve) => setTimeout(resolve, DRIP_EVERY_MS));
          dribbled.bytes++;
          yield ' ';
        }
      },
    });
    const join = await UncheckedJoin.start({ candidate, client, remote, holdResync: false, resyncAnswer: { stateIds: drip, state: drip } });
    join.joinAnswer.ok();
    if (partialOnly(testInfo, join, 'JS-08')) return;
    join.skipAudit('the resync answer never ends, so the room never resyncs within the test: there is no complete view to audit');
    await join.resyncArrived(20_000);
    await judgeRoomsWorkWithoutResync(testInfo, join, 'the resync answer dribbled out for ever');
    testInfo.annotations.push({ type: 'lazyjoin-observed', description: `dribbled answers started: ${dribbled.started}; bytes dribbled: ${dribbled.bytes}` });
  });

  test('/state_ids names, for the topic, an event that neither /event nor /state supplies', { tag: ['@JS-01', '@JS-03'] }, async ({ candidate, client, remote }, testInfo) => {
    const phantom = phantomId();
    const join = await UncheckedJoin.start({
      candidate,
      client,
      remote,
      room: { state: [{ type: 'm.room.topic', content: { topic: 'the real topic' } }] },
      resyncAnswer: {
        stateIds: async (ctx) => {
          const room = roomFor(ctx);
          const topic = room.stateEventId('m.room.topic', '');
          const honest = JSON.parse(responseText(await stateIdsRoute(ctx))) as { pdu_ids: string[]; auth_chain_ids: string[] };
          return json({ ...honest, pdu_ids: honest.pdu_ids.map((id) => (id === topic ? phantom : id)) });
        },
      },
    });
    if (partialOnly(testInfo, join, 'JS-03')) return;
    join.skipAudit('this test judges the end state itself (JS-03); a candidate that lost the topic would differ from the room in every audited view, one finding counted under many requirements');
    await judgeAdversarialOutcome(testInfo, join, {
      requirement: 'JS-03',
      safeBehaviour:
        'End with the real topic: the partial state already holds it and /state serves it, while the ID /state_ids names for it is served by nobody. A resync that cannot fetch an event it was told of must not drop the key from the room state (JS-03: the resync makes the state whole).',
    });
  });

  test('the resync answers with the state of another room', { tag: ['@JS-01', '@C-15'] }, async ({ candidate, client, remote }, testInfo) => {
    const elsewhere = remote.createRoom({ creator: remote.userId('charlie'), name: 'another room' });
    const foreignState = [...elsewhere.currentState().values()];
    const join = await UncheckedJoin.start({
      candidate,
      client,
      remote,
      resyncAnswer: {
        stateIds: () => json({ pdu_ids: foreignState, auth_chain_ids: elsewhere.authChain(foreignState) }),
        state: () => json({ pdus: foreignState.map((id) => elsewhere.mustEvent(id)), auth_chain: elsewhere.authChain(foreignState).map((id) => elsewhere.mustEvent(id)) }),
      },
    });
    if (partialOnly(testInfo, join, 'C-15')) return;
    join.skipAudit("the resident answers every resync with another room's state, so the room's true membership cannot be had from it: this test judges that none of the foreign events became state (JS-01) and records the rest (C-15)");
    const forbidden = foreignState.map((id) => ({ eventId: id, why: `it belongs to room ${elsewhere.roomId}` }));
    const safeBehaviour =
      "Refuse every event of the answer that is not of the room (JS-01: not a valid event of this room) and keep the room's own state, retrying the resync or staying partial; never take another room's create, power levels or name, and never give the room up without a word to the user. Whether the room ends whole is recorded, not failed: this resident never gives its true state (C-15).";
    join.releaseResync();
    const resynced = await join.awaitResyncComplete(ADVERSARIAL_RESYNC_WITHIN_MS).then(() => true, () => false);
    if (resynced) {
      await judgeAdversarialOutcome(testInfo, join, { requirement: 'C-15', forbidden, safeBehaviour });
      return;
    }
    // Not resynced (the candidate would not take the answer): its whole state may wait for the
    // resync, but each non-member state event is answerable while partial (JS-08), with its ID.
    testInfo.annotations.push({ type: SAFE_BEHAVIOUR_ANNOTATION, description: safeBehaviour });
    const keys = new Map(foreignState.map((id) => [stateKeyOf(elsewhere.mustEvent(id) as unknown as Record<string, unknown>), elsewhere.mustEvent(id)]));
    const stateAfter: Record<string, string> = {};
    const unreadable: string[] = [];
    // A 403 means the candidate no longer counts its user in the room (it gave the room up): nothing of it is served.
    const notInRoom: string[] = [];
    for (const [key, event] of keys) {
      if (event.type === 'm.room.member') continue;
      const read = await client.call('GET', `/_matrix/client/v3/rooms/${encodeURIComponent(join.roomId)}/state/${encodeURIComponent(event.type)}/${encodeURIComponent(event.state_key ?? '')}`, { query: { format: 'event' }, timeoutMs: 5_000 });
      if (read.status === 200 && typeof read.body.event_id === 'string') stateAfter[key] = read.body.event_id;
      else if (read.status === 403) notInRoom.push(key);
      else if (read.status !== 404) unreadable.push(`${key}: HTTP ${read.status} ${JSON.stringify(read.body).slice(0, 200)}`);
    }
    if (unreadable.length) throw new Error(`the candidate's non-member state could not be read as events while partial: ${unreadable.join('; ')}`);
    judge(testInfo, noInvalidEventInState, { join: { status: join.joinAnswer.status, errcode: join.joinAnswer.errcode }, stateAfter, forbidden });
    const otherRooms = await localRoomWorks(client);
    const adopted = forbidden.filter((f) => Object.values(stateAfter).includes(f.eventId)).length;
    const lostRoom = notInRoom.length > 0;
    recordInformational(testInfo, 'C-15', adopted === 0 && !lostRoom && otherRooms.ok, { resynced, stateAfter, adopted, lostRoom, otherRooms }, `safe behaviour: ${safeBehaviour}`);
  });

  test("a leave of the joiner, forged by the resident, is pushed while the room is partial", { tag: ['@JS-01', '@JS-03'] }, async ({ candidate, client, remote }, testInfo) => {
    const join = await UncheckedJoin.start({ candidate, client, remote });
    join.joinAnswer.ok();
    if (join.partial) await join.resyncArrived(20_000);
    const room = join.room;
    const joinId = join.joinEventId!;
    // Signed by the resident alone: a member event is valid only with the signature of its sender's server.
    const forged = room.forge({
      type: 'm.room.member',
      stateKey: client.userId,
      sender: client.userId,
      signAs: remote.serverName,
      content: { membership: 'leave' },
      prevEvents: room.forwardExtremities(),
      authEvents: [room.stateEventId('m.room.create', '')!, room.stateEventId('m.room.power_levels', '')!, joinId],
      outlier: true,
    });
    if (join.partial) {
      await pushAndJudge(testInfo, candidate.serverName, join, [forged.eventId]);
    } else {
      const answer = await join.pushTransaction({ pdus: [forged.event] }, 15_000);
      testInfo.annotations.push({ type: 'lazyjoin-observed', description: `transaction with the forged leave answered: ${JSON.stringify(answer).slice(0, 500)}` });
    }
    await judgeAdversarialOutcome(testInfo, join, {
      requirement: 'JS-03',
      forbidden: [{ eventId: forged.eventId, why: `its sender ${client.userId} is the candidate's own user, and it bears only the resident's signature` }],
      safeBehaviour:
        "Drop the leave: it claims the candidate's own user as sender without the candidate's signature (JS-01: signature checks fail -> dropped), whether the room is partial or not; the user stays joined and the resync ends on the true state.",
    });
  });
});
