/**
 * Adversarial residents: the remote answers the candidate's join or resync with malformed,
 * invented or withheld state. Each test states, as a `safeBehaviour` annotation and in its
 * recorded outcome, what a safe candidate does and the text it rests on. Whatever the candidate
 * does, no invalid event may become room state (JS-01, judged); whether the whole outcome was
 * safe (a clear refusal, or a completed join with the resident's true state, and other rooms
 * still working) is recorded as informational under the MSC-only requirement it rests on.
 */
import { test } from '../../harness/fixtures.ts';
import { citedAuthEvents } from '../../harness/joining/room-versions.ts';
import type { TestInfo } from '@playwright/test';
import { recordNotSupported } from '../../harness/checks/judge.ts';
import { eventId as computeEventId, eventReference, eventRefIds, stateKey as stateMapKey, type PDU } from '../../harness/matrix/index.ts';
import { judgeAdversarialOutcome, judgeRoomsWorkWithoutResync, rewrittenSendJoin, stateKeyOf, type SendJoinBody } from '../../harness/joining/adversarial-resident.ts';
import { observeStateAtEvent, pushAndJudge } from '../../harness/joining/resync-observe.ts';
import { UncheckedJoin } from '../../harness/joining/unchecked-join.ts';
import { json, matrixError, type RouteContext } from '../../harness/remote/routing.ts';
import { state as stateRoute, stateIds as stateIdsRoute } from '../../harness/remote/routes/events.ts';
import type { Room } from '../../harness/remote/room.ts';


/** For answers that only mean something as partial answers: a candidate that asked for full state does not support the feature. */
function partialOnly(testInfo: TestInfo, join: UncheckedJoin, requirement: string): boolean {
  if (join.partial) return false;
  recordNotSupported(testInfo, [requirement], `the candidate did not ask for partial state (${join.omitMembersSent}), so a malformed partial answer does not arise`);
  return true;
}

/** A signed copy of `event` whose every signature is corrupted (same length, other bytes). */
function withBadSignatures(event: PDU): PDU {
  const copy = structuredClone(event) as PDU & { signatures: Record<string, Record<string, string>> };
  for (const sigs of Object.values(copy.signatures)) for (const k of Object.keys(sigs)) sigs[k] = (sigs[k][0] === 'A' ? 'B' : 'A') + sigs[k].slice(1);
  return copy;
}

/** The state event for `key` in a send_join answer; throws (a harness error) when absent. */
function mustFind(body: SendJoinBody, key: string): Record<string, unknown> {
  const found = body.state.find((e) => stateKeyOf(e) === key);
  if (!found) throw new Error(`the honest send_join answer has no ${key} in state`);
  return found;
}

function replaceInState(body: SendJoinBody, key: string, event: unknown) {
  const old = mustFind(body, key);
  body.state = body.state.map((e) => (e === old ? (event as Record<string, unknown>) : e));
}

const PL = stateMapKey('m.room.power_levels', '');
const JOIN_RULES = stateMapKey('m.room.join_rules', '');
const TOPIC = stateMapKey('m.room.topic', '');

test.describe('joining: adversarial residents', () => {
  test('members_omitted is true but servers_in_room is missing', { tag: ['@JS-01', '@JS-03'] }, async ({ candidate, client, remote }, testInfo) => {
    const join = await UncheckedJoin.start({ candidate, client, remote, sendJoin: { serversInRoom: 'omit' } });
    if (partialOnly(testInfo, join, 'JS-03')) return;
    await judgeAdversarialOutcome(testInfo, join, {
      requirement: 'JS-03',
      safeBehaviour:
        'Refuse the join with a client error, or complete it and resync to the true state. servers_in_room is required whenever members_omitted is true (spec v1.6+, SJ-18), and it is where a partial joiner sends its events (MSC3706, JS-02).',
    });
  });

  test('members_omitted is true and servers_in_room is empty', { tag: ['@JS-01', '@JS-03'] }, async ({ candidate, client, remote }, testInfo) => {
    const join = await UncheckedJoin.start({ candidate, client, remote, sendJoin: { serversInRoom: [] } });
    if (partialOnly(testInfo, join, 'JS-03')) return;
    await judgeAdversarialOutcome(testInfo, join, {
      requirement: 'JS-03',
      safeBehaviour:
        'Refuse the join with a client error, or complete it (at least the send_join server is in the room) and resync to the true state. An empty list contradicts the resident having members (SJ-18).',
    });
  });

  test('servers_in_room names a server with no joined member, which never answers', { tag: ['@JS-01', '@JS-03'] }, async ({ candidate, client, remote }, testInfo) => {
    const silent = await remote.addServer({ mode: 'hang' });
    const join = await UncheckedJoin.start({ candidate, client, remote, sendJoin: { serversInRoom: [remote.serverName, silent.serverName] } });
    if (partialOnly(testInfo, join, 'JS-03')) return;
    await judgeAdversarialOutcome(testInfo, join, {
      requirement: 'JS-03',
      safeBehaviour:
        'Complete the join and the resync from the send_join server: servers_in_room only says where to send while partial (JS-02); a listed server that is not in the room and never answers must stall neither the resync nor the room.',
    });
  });

  test('members_omitted is the string "true", not a boolean', { tag: ['@JS-01', '@JS-03'] }, async ({ candidate, client, remote }, testInfo) => {
    const join = await UncheckedJoin.start({ candidate, client, remote, sendJoinRoute: rewrittenSendJoin((body) => (body.members_omitted = 'true')) });
    if (partialOnly(testInfo, join, 'JS-03')) return;
    await judgeAdversarialOutcome(testInfo, join, {
      requirement: 'JS-03',
      safeBehaviour:
        'Treat the answer as malformed and refuse the join with a client error, or read it as partial and resync: members_omitted is a boolean (SJ-13); a joiner that takes the member-less state as full would show a room without its members.',
    });
  });

  test('servers_in_room holds malformed entries', { tag: ['@JS-01', '@JS-03'] }, async ({ candidate, client, remote }, testInfo) => {
    const join = await UncheckedJoin.start({
      candidate,
      client,
      remote,
      sendJoinRoute: rewrittenSendJoin((body) => (body.servers_in_room = ['', 42, 'not a server name!', null, remote.serverName])),
    });
    if (partialOnly(testInfo, join, 'JS-03')) return;
    await judgeAdversarialOutcome(testInfo, join, {
      requirement: 'JS-03',
      safeBehaviour:
        'Ignore the entries that are not server names (or refuse the join with a client error) and complete the join and resync through the send_join server; servers_in_room is an array of server names (SJ-18).',
    });
  });

  test('the partial state lacks m.room.power_levels (kept in the auth chain)', { tag: ['@JS-01', '@JS-03'] }, async ({ candidate, client, remote }, testInfo) => {
    const join = await UncheckedJoin.start({
      candidate,
      client,
      remote,
      sendJoinRoute: rewrittenSendJoin((body) => {
        const pl = mustFind(body, PL);
        body.state = body.state.filter((e) => e !== pl);
        body.auth_chain.push(pl);
      }),
    });
    await judgeAdversarialOutcome(testInfo, join, {
      requirement: 'JS-03',
      safeBehaviour:
        'Refuse the join with a client error, or take the power levels from the resync; never run the room without them. Even a partial answer holds every non-member state event (SJ-14), and partial state must be made whole by the resync (JS-03, JS-14).',
    });
  });

  test('the partial state lacks m.room.join_rules (kept in the auth chain)', { tag: ['@JS-01', '@JS-03'] }, async ({ candidate, client, remote }, testInfo) => {
    const join = await UncheckedJoin.start({
      candidate,
      client,
      remote,
      sendJoinRoute: rewrittenSendJoin((body) => {
        const rules = mustFind(body, JOIN_RULES);
        body.state = body.state.filter((e) => e !== rules);
        body.auth_chain.push(rules);
      }),
    });
    await judgeAdversarialOutcome(testInfo, join, {
      requirement: 'JS-03',
      safeBehaviour: 'Refuse the join with a client error, or take the join rules from the resync; never end with a room without join rules (SJ-14, JS-03).',
    });
  });

  test('the answer lacks the create event and the auth chain is empty', { tag: ['@JS-01', '@JS-03'] }, async ({ candidate, client, remote }, testInfo) => {
    const join = await UncheckedJoin.start({
      candidate,
      client,
      remote,
      sendJoinRoute: rewrittenSendJoin((body) => {
        body.state = body.state.filter((e) => e.type !== 'm.room.create');
        body.auth_chain = [];
      }),
    });
    await judgeAdversarialOutcome(testInfo, join, {
      requirement: 'JS-03',
      safeBehaviour:
        'Refuse the join with a client error (nothing in the room can be authorised without its create event), or fetch the missing auth events (/event_auth) and complete the join with the true state. The auth chain must cover the join and every state event (SJ-16); events are authorised against their auth events (JS-01).',
    });
  });

  test('a power-levels event with a bad signature replaces the real one', { tag: ['@JS-01', '@JS-03'] }, async ({ candidate, client, remote }, testInfo) => {
    let forgedId = '';
    const join = await UncheckedJoin.start({
      candidate,
      client,
      remote,
      sendJoinRoute: rewrittenSendJoin((body, { room }) => {
        const forged = room.build({
          type: 'm.room.power_levels',
          stateKey: '',
          sender: remote.userId('charlie'),
          content: { ...room.stateContent('m.room.power_levels', '')!, users: { [remote.userId('charlie')]: 100, [client.userId]: 100 } },
        });
        forgedId = computeEventId(forged, room.version.id);
        replaceInState(body, PL, withBadSignatures(forged));
      }),
    });
    await judgeAdversarialOutcome(testInfo, join, {
      requirement: 'JS-03',
      forbidden: [{ eventId: forgedId, why: 'its signature does not verify' }],
      safeBehaviour:
        'Drop the badly signed event (JS-01: signature checks fail -> dropped) and either refuse the join with a client error or take the real power levels from the resync; the forged event, which would make the joiner an admin, never becomes state.',
    });
  });

  test('the topic arrives with content that fails its hash check', { tag: ['@JS-01', '@JS-03'] }, async ({ candidate, client, remote }, testInfo) => {
    const join = await UncheckedJoin.start({
      candidate,
      client,
      remote,
      room: { state: [{ type: 'm.room.topic', content: { topic: 'the real topic' } }] },
      // The signature covers the redacted event, which has no topic: it still verifies; the hash does not.
      sendJoinRoute: rewrittenSendJoin((body) => {
        const topic = body.state.find((e) => e.type === 'm.room.topic')!;
        (topic.content as Record<string, unknown>).topic = 'a tampered topic';
      }),
    });
    const topicId = join.room.stateEventId('m.room.topic', '')!;
    join.skipAudit('the remote served the topic event with content failing its hash check, which the candidate must redact (JS-01); a redacted or an intact topic under that event ID is then right, so the remote\'s intact topic is no ground truth');
    await judgeAdversarialOutcome(testInfo, join, {
      requirement: 'JS-03',
      probeTampered: async () => {
        const topic = await client.stateEvent(join.roomId, 'm.room.topic');
        return topic.status === 200 && topic.body.topic === 'a tampered topic' ? [{ eventId: topicId, why: 'its content fails the hash check' }] : [];
      },
      safeBehaviour:
        'Use the redacted copy of the topic event (JS-01: hash checks fail -> redacted before further processing), or the intact copy from the resync; a client must never be shown the tampered topic.',
    });
  });

  test('a state event of another room replaces the power levels', { tag: ['@JS-01', '@JS-03'] }, async ({ candidate, client, remote }, testInfo) => {
    const elsewhere = remote.createRoom({ creator: remote.userId('charlie') });
    const foreignPl = elsewhere.stateEventId('m.room.power_levels', '')!;
    const join = await UncheckedJoin.start({
      candidate,
      client,
      remote,
      sendJoinRoute: rewrittenSendJoin((body) => replaceInState(body, PL, elsewhere.mustEvent(foreignPl))),
    });
    await judgeAdversarialOutcome(testInfo, join, {
      requirement: 'JS-03',
      forbidden: [{ eventId: foreignPl, why: `it belongs to room ${elsewhere.roomId}` }],
      safeBehaviour: 'Reject the event of another room (it is not a valid event of this room, JS-01) and refuse the join with a client error or take the real power levels from the resync.',
    });
  });

  test('a state event of the room cites the power levels of another room among its auth events', { tag: ['@JS-01', '@JS-03'] }, async ({ candidate, client, remote }, testInfo) => {
    const elsewhere = remote.createRoom({ creator: remote.userId('charlie') });
    const foreignPl = elsewhere.stateEventId('m.room.power_levels', '')!;
    let forgedId = '';
    const join = await UncheckedJoin.start({
      candidate,
      client,
      remote,
      sendJoinRoute: rewrittenSendJoin((body, { room }) => {
        // A topic of this room whose power levels auth event is the other room's.
        const spec = { type: 'm.room.topic', stateKey: '', sender: remote.userId('charlie'), content: { topic: 'authorised by another room' } };
        const ownPl = room.stateEventId('m.room.power_levels', '');
        const authEvents = eventRefIds(room.draft(spec).auth_events).map((id) => (id === ownPl ? foreignPl : id));
        const forged = room.build({ ...spec, authEvents: authEvents.map((id) => eventReference(id, id === foreignPl ? elsewhere.mustEvent(id) : room.mustEvent(id), room.version)) as string[] });
        forgedId = computeEventId(forged, room.version.id);
        body.state = [...body.state.filter((e) => stateKeyOf(e) !== TOPIC), forged as unknown as Record<string, unknown>];
        body.auth_chain = [...body.auth_chain, elsewhere.mustEvent(foreignPl) as unknown as Record<string, unknown>];
      }),
    });
    await judgeAdversarialOutcome(testInfo, join, {
      requirement: 'JS-03',
      forbidden: [{ eventId: forgedId, why: `one of its auth events (${foreignPl}) belongs to room ${elsewhere.roomId}; the auth rules reject an event with an auth event of another room` }],
      safeBehaviour: 'Reject the event whose auth events name another room\'s event (auth rules: every auth event must be in the same room) and either refuse the join with a client error or take the true state from the resync.',
    });
  });

  test('the state holds two join-rules events for the same key', { tag: ['@JS-01', '@JS-03'] }, async ({ candidate, client, remote }, testInfo) => {
    let extraId = '';
    const join = await UncheckedJoin.start({
      candidate,
      client,
      remote,
      sendJoinRoute: rewrittenSendJoin((body, { room }) => {
        const extra = room.build({ type: 'm.room.join_rules', stateKey: '', sender: remote.userId('charlie'), content: { join_rule: 'invite' } });
        extraId = computeEventId(extra, room.version.id);
        body.state.push(extra as unknown as Record<string, unknown>);
      }),
    });
    await judgeAdversarialOutcome(testInfo, join, {
      requirement: 'JS-03',
      forbidden: [{ eventId: extraId, why: 'it is not in the room: a second event for a state key already answered' }],
      safeBehaviour:
        'Refuse the answer as malformed (state is a map from type and state key to one event, SJ-11) or resync to the true state; the extra event, which is not part of the room, never becomes state.',
    });
  });

  test('the only member of a server leaves before the resync', { tag: ['@JS-01', '@JS-03'] }, async ({ candidate, client, remote }, testInfo) => {
    // The race raised in MSC2775's review: servers_in_room names a server whose last member leaves right after.
    const other = await remote.addServer({ mode: 'serve' });
    const elsie = other.userId('elsie');
    const join = await UncheckedJoin.start({ candidate, client, remote, prepare: ({ room }) => void room.join(elsie) });
    join.joinAnswer.ok();
    if (join.partial) await join.resyncArrived(20_000);
    const leave = join.room.leave(elsie);
    await pushAndJudge(testInfo, candidate.serverName, join, [leave]);
    const outcome = await judgeAdversarialOutcome(testInfo, join, {
      requirement: 'JS-03',
      safeBehaviour:
        'Complete the resync with elsie shown as left, and stop sending the room to her server once resynced: only servers with joined members share the room (JS-16), and the resync, not servers_in_room, is the truth (JS-03).',
    });
    if (outcome.resynced) {
      const { event_id: after } = (await client.sendMessage(join.roomId, 'after elsie left')).ok();
      await remote.expectPdu({ type: 'm.room.message', room_id: join.roomId }, { within: 15_000 });
      const sentToDeparted = remote.requests('send').some((r) => r.to === other.serverName && JSON.stringify(r.body ?? '').includes(join.roomId) && JSON.stringify(r.body).includes('after elsie left'));
      testInfo.annotations.push({ type: 'lazyjoin-observed', description: `message ${after} sent to the departed server ${other.serverName}: ${sentToDeparted}` });
    }
  });

  test('a server with no member answers the resync with invented state', { tag: ['@JS-01', '@C-15', '@ST-01'] }, async ({ candidate, client, remote }, testInfo) => {
    // servers_in_room lies by adding an outsider; the resident's first three answers fail, so the candidate may turn to the outsider.
    const outsider = await remote.addServer({ mode: 'serve' });
    const mallory = outsider.userId('mallory');
    let invented: { join: string; powerLevels: string } | undefined;
    const inventedState = (room: Room) => {
      if (!invented) {
        const malloryJoin = room.forge({ type: 'm.room.member', stateKey: mallory, sender: mallory, content: { membership: 'join' }, authEvents: citedAuthEvents(room, ['m.room.create', 'm.room.power_levels', 'm.room.join_rules']), outlier: true }).eventId;
        const powerLevels = room.forge({
          type: 'm.room.power_levels',
          stateKey: '',
          sender: mallory,
          content: { ...room.stateContent('m.room.power_levels', '')!, users: { [mallory]: 100 } },
          authEvents: [...citedAuthEvents(room, ['m.room.create', 'm.room.power_levels']), malloryJoin],
          outlier: true,
        }).eventId;
        invented = { join: malloryJoin, powerLevels };
      }
      return invented;
    };
    let residentFailures = 0;
    const answer = (honest: typeof stateIdsRoute, inventedAnswer: (ctx: RouteContext, room: Room) => ReturnType<typeof json>) => (ctx: RouteContext) => {
      const room = remote.rooms.get(ctx.params.roomId);
      if (!room) return honest(ctx);
      if (ctx.self.serverName === outsider.serverName) return inventedAnswer(ctx, room);
      // 404, not 5xx: a joiner retries a 5xx on the same server, but moves on after a 404.
      if (residentFailures++ < 3) return matrixError(404, 'M_NOT_FOUND', 'the resident cannot answer this time');
      return honest(ctx);
    };
    const inventedIds = (ctx: RouteContext, room: Room) => {
      const before = room.stateBefore(ctx.query.get('event_id')!);
      const ids = new Map(before);
      const { join: j, powerLevels } = inventedState(room);
      ids.set(PL, powerLevels);
      ids.set(stateMapKey('m.room.member', mallory), j);
      return [...ids.values()];
    };
    const join = await UncheckedJoin.start({
      candidate,
      client,
      remote,
      sendJoin: { serversInRoom: [remote.serverName, outsider.serverName] },
      resyncAnswer: {
        stateIds: answer(stateIdsRoute, (ctx, room) => json({ pdu_ids: inventedIds(ctx, room), auth_chain_ids: room.authChain(inventedIds(ctx, room)) })),
        state: answer(stateRoute, (ctx, room) => {
          const ids = inventedIds(ctx, room);
          return json({ pdus: ids.map((id) => room.mustEvent(id)), auth_chain: room.authChain(ids).map((id) => room.mustEvent(id)) });
        }),
      },
    });
    inventedState(join.room);
    join.skipAudit('this test judges the end state itself (C-15, ST-01); a candidate that adopted the invented state would differ from the room in every audited view, one finding counted under many requirements');
    const resyncRequestsTo = () => remote.requests().filter((r) => (r.route === 'state_ids' || r.route === 'state') && r.to === outsider.serverName).length;
    const outcome = await judgeAdversarialOutcome(testInfo, join, {
      requirement: 'C-15',
      forbidden: [{ eventId: invented!.powerLevels, why: `it is sent by ${mallory}, who has no power to change power levels (and was never in the room)` }],
      safeBehaviour:
        'Take state only from servers that are in the room, or check what comes: a server with no member has no standing (ST-04 refuses state to such servers), and the invented power levels fail the auth rules (JS-01). The candidate should end with the resident\'s true state, which it can get on retry.',
    });
    testInfo.annotations.push({ type: 'lazyjoin-observed', description: `state requests sent to the outsider ${outsider.serverName}: ${resyncRequestsTo()}` });
    if (outcome.resynced) {
      // The resident itself is honest here, so the state before the candidate's join is known and
      // the candidate's /state_ids at its join, which the resync filled in, must equal it (ST-01).
      await observeStateAtEvent(testInfo, candidate.serverName, join, join.joinEventId!, 'complete');
    }
  });

  test('the resync names a member who was never in the room', { tag: ['@JS-01', '@C-15'] }, async ({ candidate, client, remote }, testInfo) => {
    let phantom = '';
    const withPhantom = (room: Room, eventId: string) => {
      const ids = [...room.stateBefore(eventId).values()];
      if (!phantom) {
        const mallory = remote.userId('mallory');
        phantom = room.forge({
          type: 'm.room.member',
          stateKey: mallory,
          sender: mallory,
          content: { membership: 'join' },
          authEvents: citedAuthEvents(room, ['m.room.create', 'm.room.power_levels', 'm.room.join_rules']),
          outlier: true,
        }).eventId;
      }
      return [...ids, phantom];
    };
    const join = await UncheckedJoin.start({
      candidate,
      client,
      remote,
      resyncAnswer: {
        stateIds: (ctx) => {
          const room = remote.rooms.get(ctx.params.roomId)!;
          const ids = withPhantom(room, ctx.query.get('event_id')!);
          return json({ pdu_ids: ids, auth_chain_ids: room.authChain(ids) });
        },
        state: (ctx) => {
          const room = remote.rooms.get(ctx.params.roomId)!;
          const ids = withPhantom(room, ctx.query.get('event_id')!);
          return json({ pdus: ids.map((id) => room.mustEvent(id)), auth_chain: room.authChain(ids).map((id) => room.mustEvent(id)) });
        },
      },
    });
    join.skipAudit('the resident itself answers the resync with a correctly signed phantom member that passes the auth rules: a candidate that trusts its resident may keep it (recorded, not failed), so the room without it is no ground truth');
    if (partialOnly(testInfo, join, 'C-15')) return;
    await judgeAdversarialOutcome(testInfo, join, {
      requirement: 'C-15',
      safeBehaviour:
        'End with the resident\'s true membership. The phantom join is correctly signed and passes the auth rules, so a joiner that trusts its resident for state (as with full joins, C-15) cannot tell; one that checks the resync against the DAG it has (the join\'s prev_events) can. Recorded, not failed.',
    });
  });

  test('the resync leaves out a ban', { tag: ['@JS-01', '@C-15'] }, async ({ candidate, client, remote }, testInfo) => {
    const mallory = remote.userId('mallory');
    let ban = '';
    const join = await UncheckedJoin.start({
      candidate,
      client,
      remote,
      prepare: ({ room, charlie }) => {
        room.join(mallory);
        ban = room.ban(charlie, mallory, 'spam');
        // So that the join's prev event, where a joiner anchors its resync, is not the ban itself.
        room.sendMessage(charlie, 'after the ban');
      },
      resyncAnswer: {
        stateIds: (ctx) => {
          const room = remote.rooms.get(ctx.params.roomId)!;
          const ids = [...room.stateBefore(ctx.query.get('event_id')!).values()].filter((id) => id !== ban);
          return json({ pdu_ids: ids, auth_chain_ids: room.authChain(ids) });
        },
        state: (ctx) => {
          const room = remote.rooms.get(ctx.params.roomId)!;
          const ids = [...room.stateBefore(ctx.query.get('event_id')!).values()].filter((id) => id !== ban);
          return json({ pdus: ids.map((id) => room.mustEvent(id)), auth_chain: room.authChain(ids).map((id) => room.mustEvent(id)) });
        },
      },
    });
    join.skipAudit('the resident itself answers the resync without the ban: a candidate that trusts its resident may lose it (recorded, not failed), so the room with it is no ground truth');
    if (partialOnly(testInfo, join, 'C-15')) return;
    await judgeAdversarialOutcome(testInfo, join, {
      requirement: 'C-15',
      safeBehaviour:
        'End with the ban in place. The resync answer is inconsistent with the DAG (the ban is a state event before the join); a joiner trusting its resident (C-15) loses it, which would let a banned user back in. Recorded, not failed.',
    });
  });

  test('the resident withholds the resync forever: the room and the other rooms keep working', { tag: ['@ST-09', '@JS-08'] }, async ({ candidate, client, remote }, testInfo) => {
    testInfo.annotations.push({
      type: 'safeBehaviour',
      description:
        'Keep serving the partial room (lazy-loading /sync shows new events, the user can send) and every other room, without waiting on the withheld resync: only requests that need remote members may wait (MSC3902, JS-08).',
    });
    const join = await UncheckedJoin.start({ candidate, client, remote });
    join.joinAnswer.ok();
    if (partialOnly(testInfo, join, 'JS-08')) return;
    await join.resyncArrived(20_000);
    await judgeRoomsWorkWithoutResync(testInfo, join, 'the resync withheld by the resident');
  });
});
