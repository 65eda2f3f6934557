/**
 * Room version 12 takes the create event out of every event's `auth_events`: the room ID is the
 * create event's, so it is implied, and an event that still lists it there fails the auth rules
 * (its auth events are not those the selection algorithm names). A resident that serves such an
 * event in its resync answer is serving an invalid event: the candidate must not take it into
 * the room's state (JS-01), and should end the resync with the room's true state (JS-03), as it
 * would after any other invalid event in an answer.
 */
import { test } from '../../harness/fixtures.ts';
import { recordNotSupported } from '../../harness/checks/judge.ts';
import { judgeAdversarialOutcome } from '../../harness/joining/adversarial-resident.ts';
import { UncheckedJoin } from '../../harness/joining/unchecked-join.ts';
import { stateKey as stateMapKey } from '../../harness/matrix/index.ts';
import { json, type RouteContext } from '../../harness/remote/routing.ts';
import type { Room } from '../../harness/remote/room.ts';

const TOPIC = stateMapKey('m.room.topic', '');

test('room version 12: the resync answer holds a topic that cites the create event among its auth events', { tag: ['@JS-01', '@JS-03', '@v12'] }, async ({ candidate, client, remote, candidateRoomVersions }, testInfo) => {
  if (!('12' in candidateRoomVersions.available)) {
    const why = `room version 12 is not among the candidate's room versions (/capabilities: ${Object.keys(candidateRoomVersions.available).join(', ')})`;
    recordNotSupported(testInfo, ['JS-01', 'JS-03'], why);
    test.skip(true, why);
  }
  let forged: string | undefined;
  /** The state at the asked event, with the true topic replaced by one citing the create event. */
  const forgedState = (ctx: RouteContext, room: Room): string[] => {
    if (!forged) {
      const creator = remote.userId('charlie'); // UncheckedJoin's room creator
      forged = room.forge({
        type: 'm.room.topic',
        stateKey: '',
        sender: creator,
        content: { topic: 'cites the create event' },
        authEvents: [room.stateEventId('m.room.create', '')!, room.stateEventId('m.room.power_levels', '')!, room.stateEventId('m.room.member', creator)!],
        outlier: true,
      }).eventId;
    }
    const ids = new Map(room.stateBefore(ctx.query.get('event_id')!));
    ids.set(TOPIC, forged);
    return [...ids.values()];
  };
  const withRoom = (answer: (ctx: RouteContext, room: Room) => ReturnType<typeof json>) => (ctx: RouteContext) => answer(ctx, remote.rooms.get(ctx.params.roomId)!);
  const join = await UncheckedJoin.start({
    candidate,
    client,
    remote,
    room: { version: '12', state: [{ type: 'm.room.topic', content: { topic: 'the real topic' } }] },
    resyncAnswer: {
      stateIds: withRoom((ctx, room) => {
        const ids = forgedState(ctx, room);
        return json({ pdu_ids: ids, auth_chain_ids: room.authChain(ids) });
      }),
      state: withRoom((ctx, room) => {
        const ids = forgedState(ctx, room);
        return json({ pdus: ids.map((id) => room.mustEvent(id)), auth_chain: room.authChain(ids).map((id) => room.mustEvent(id)) });
      }),
    },
  });
  join.skipAudit('this test judges the end state itself (JS-01, JS-03): the resync answer lies about the topic, so the room as the remote holds it is what the candidate must end with');
  await judgeAdversarialOutcome(testInfo, join, {
    requirement: 'JS-03',
    forbidden: forged ? [{ eventId: forged, why: 'in room version 12 an event must not list the create event among its auth events (the auth rules reject it)' }] : [],
    safeBehaviour:
      'Reject the topic that cites the create event (room version 12 auth rules), keep the resync going, and end with the true state; a resync that stops at the invalid event leaves the room partial for good.',
  });
});
