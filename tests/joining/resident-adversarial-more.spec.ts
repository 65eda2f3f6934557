/**
 * More adversarial residents, on the send_join answer and what the candidate signs from the
 * resident's template: auth chains that loop or name rejected or foreign events, one event ID for
 * two bodies, keys the resident has retired, events too big or in another version's format, and a
 * returned join that is not the one sent. As in resident-adversarial.spec.ts, each test states its
 * `safeBehaviour`; no invalid event may become state (JS-01, judged) and the outcome is judged
 * safe or not under JS-03 (a clear refusal, or the resident's true state once resynced, other
 * rooms still working).
 */
import { randomBytes } from 'node:crypto';
import { test } from '../../harness/fixtures.ts';
import { judge } from '../../harness/checks/judge.ts';
import { eventsAfterValidUntilRejected } from '../../harness/checks/joiner-key-validity.ts';
import { judgeAdversarialOutcome, rewrittenSendJoin, stateKeyOf, type SendJoinBody } from '../../harness/joining/adversarial-resident.ts';
import { UncheckedJoin } from '../../harness/joining/unchecked-join.ts';
import {
  encodeBase64,
  eventId as computeEventId,
  eventRefIds,
  generateSigningKey,
  opaqueEventId,
  signEvent,
  signJson,
  stateKey as stateMapKey,
  type PDU,
} from '../../harness/matrix/index.ts';
import { makeJoin } from '../../harness/remote/routes/membership.ts';
import { json } from '../../harness/remote/routing.ts';

const PL = stateMapKey('m.room.power_levels', '');
const TOPIC = stateMapKey('m.room.topic', '');
const HOUR = 3_600_000;
/** The spec's bound on a whole event in canonical JSON (client-server API, "Size limits"). */
const EVENT_SIZE_LIMIT = 65_536;
/** The most prev_events an event may cite (the PDU schema). */
const MAX_PREV_EVENTS = 20;

type Json = Record<string, unknown>;

/** Replaces the state event for `key` in a send_join answer (throws, a harness error, when absent). */
function replaceInState(body: SendJoinBody, key: string, event: unknown): void {
  const i = body.state.findIndex((e) => stateKeyOf(e) === key);
  if (i < 0) throw new Error(`the honest send_join answer has no ${key} in state`);
  body.state[i] = event as Json;
}

test.describe('joining: adversarial residents (auth chains, identities, keys, formats)', () => {
  test('the auth chain holds a cycle: power levels and a membership that authorise each other', { tag: ['@JS-01', '@JS-03', '@v1'] }, async ({ candidate, client, remote }, testInfo) => {
    // Only room versions 1 and 2 name events by an ID the creator chooses; from v3 an ID is the
    // event's hash, so two events cannot cite each other. The cited hashes are left empty: each
    // would have to cover the other.
    const ids = { powerLevels: opaqueEventId(remote.serverName), charlie: opaqueEventId(remote.serverName) };
    const join = await UncheckedJoin.start({
      candidate,
      client,
      remote,
      room: { version: '1' },
      sendJoinRoute: rewrittenSendJoin((body, { room }) => {
        const charlie = remote.userId('charlie');
        const create = room.stateEventId('m.room.create', '')!;
        const powerLevels = room.build({
          type: 'm.room.power_levels',
          stateKey: '',
          sender: charlie,
          content: { ...room.stateContent('m.room.power_levels', '')!, users: { [charlie]: 100, [client.userId]: 100 } },
          authEvents: [create, ids.charlie],
          extra: { event_id: ids.powerLevels },
        });
        const membership = room.build({
          type: 'm.room.member',
          stateKey: charlie,
          sender: charlie,
          content: { membership: 'join' },
          authEvents: [create, ids.powerLevels, room.stateEventId('m.room.join_rules', '')!],
          extra: { event_id: ids.charlie },
        });
        replaceInState(body, PL, powerLevels);
        const charlieKey = stateMapKey('m.room.member', charlie);
        if (body.state.some((e) => stateKeyOf(e) === charlieKey)) replaceInState(body, charlieKey, membership);
        body.auth_chain.push(powerLevels as unknown as Json, membership as unknown as Json);
      }),
    });
    await judgeAdversarialOutcome(testInfo, join, {
      requirement: 'JS-03',
      forbidden: [
        { eventId: ids.powerLevels, why: `its auth events include ${ids.charlie}, whose auth events include it: neither can be authorised first` },
        { eventId: ids.charlie, why: `its auth events include ${ids.powerLevels}, whose auth events include it` },
      ],
      safeBehaviour:
        'Detect the loop (an event is authorised against auth events that must be authorised before it, JS-01), drop both events, and refuse the join with a client error or take the real power levels from the resync; never loop for ever, and never let the looped power levels (which make the joiner an admin) become state.',
    });
  });

  test("the make_join template's auth events cite the create event of another room", { tag: ['@JS-01', '@JS-03'] }, async ({ candidate, client, remote }, testInfo) => {
    const elsewhere = remote.createRoom({ creator: remote.userId('charlie') });
    const foreignCreate = elsewhere.stateEventId('m.room.create', '')!;
    remote.route('make_join', async (ctx) => {
      const answer = await makeJoin(ctx);
      const body = answer.body as { event?: PDU } | undefined;
      const room = remote.rooms.get(ctx.params.roomId);
      if (answer.status !== 200 || !body?.event || !room) return answer;
      const ownCreate = room.stateEventId('m.room.create', '');
      body.event.auth_events = eventRefIds(body.event.auth_events).map((id) => (id === ownCreate ? foreignCreate : id));
      return answer;
    });
    const join = await UncheckedJoin.start({ candidate, client, remote });
    const signedJoin = join.joinEventId ? join.room.mustEvent(join.joinEventId) : undefined;
    const citesForeign = signedJoin !== undefined && eventRefIds(signedJoin.auth_events).includes(foreignCreate);
    testInfo.annotations.push({ type: 'lazyjoin-observed', description: `the join the candidate signed cites the foreign create event: ${citesForeign}` });
    if (citesForeign) join.skipAudit("the candidate signed a join whose auth events name another room's create event, which the remote stored: that join is invalid, so the remote's room is no ground truth for it");
    await judgeAdversarialOutcome(testInfo, join, {
      requirement: 'JS-03',
      forbidden: citesForeign ? [{ eventId: join.joinEventId!, why: `its auth events name ${foreignCreate}, the create event of room ${elsewhere.roomId}` }] : [],
      safeBehaviour:
        "Choose the join's auth events from the room's own state (the auth events selection; the template is only the resident's suggestion), or refuse the join with a client error; a join citing another room's create event fails the auth rules (every auth event must be of the room) and must never stand as the joiner's membership (JS-01).",
    });
  });

  test('a state event cites, among its auth events, a power-levels event the auth rules reject', { tag: ['@JS-01', '@JS-03'] }, async ({ candidate, client, remote }, testInfo) => {
    const forged = { rejected: '', topic: '' };
    const join = await UncheckedJoin.start({
      candidate,
      client,
      remote,
      room: { state: [{ type: 'm.room.topic', content: { topic: 'the real topic' } }] },
      sendJoinRoute: rewrittenSendJoin((body, { room }) => {
        const derek = remote.userId('derek');
        const charlie = remote.userId('charlie');
        const pick = (types: string[], member: string) => [...types.map((t) => room.stateEventId(t, '')!), room.stateEventId('m.room.member', member)!];
        // derek has power 0: his power-levels change, raising himself and the joiner, fails the auth rules.
        const rejected = room.forge({
          type: 'm.room.power_levels',
          stateKey: '',
          sender: derek,
          content: { ...room.stateContent('m.room.power_levels', '')!, users: { [charlie]: 100, [derek]: 100, [client.userId]: 100 } },
          authEvents: pick(['m.room.create', 'm.room.power_levels'], derek),
          outlier: true,
        });
        const topic = room.forge({ type: 'm.room.topic', stateKey: '', sender: derek, content: { topic: 'set on the strength of a rejected event' }, authEvents: [room.stateEventId('m.room.create', '')!, rejected.eventId, room.stateEventId('m.room.member', derek)!], outlier: true });
        forged.rejected = rejected.eventId;
        forged.topic = topic.eventId;
        replaceInState(body, TOPIC, topic.event);
        body.auth_chain.push(rejected.event as unknown as Json);
      }),
    });
    await judgeAdversarialOutcome(testInfo, join, {
      requirement: 'JS-03',
      forbidden: [
        { eventId: forged.rejected, why: 'its sender has power 0 and may not change the power levels' },
        { eventId: forged.topic, why: `its power-levels auth event ${forged.rejected} is rejected, and without it the sender (power 0) may not set the topic` },
      ],
      safeBehaviour:
        'Reject the power-levels event (it fails the auth rules) and with it the topic that rests on it: an event is authorised against its auth events, and a rejected auth event authorises nothing (JS-01). Refuse the join with a client error, or keep the real topic from the resync.',
    });
  });

  test('one event ID stands for two bodies: a forged power levels in the state, the real one in the auth chain', { tag: ['@JS-01', '@JS-03', '@v1'] }, async ({ candidate, client, remote }, testInfo) => {
    // Room versions 1 and 2 carry the event ID inside the event, so a second body can claim it and
    // still verify; from v3 the ID is the body's hash and a second body simply has another ID.
    const join = await UncheckedJoin.start({
      candidate,
      client,
      remote,
      room: { version: '1' },
      sendJoinRoute: rewrittenSendJoin((body, { room }) => {
        const real = room.stateEventId('m.room.power_levels', '')!;
        const charlie = remote.userId('charlie');
        const twin = room.build({
          type: 'm.room.power_levels',
          stateKey: '',
          sender: charlie,
          content: { ...room.stateContent('m.room.power_levels', '')!, users: { [charlie]: 100, [client.userId]: 100 } },
          authEvents: room.authEventIds(real),
          prevEvents: room.prevEventIds(real),
          extra: { event_id: real },
        });
        const realBody = body.state.find((e) => stateKeyOf(e) === PL)!;
        replaceInState(body, PL, twin);
        if (!body.auth_chain.some((e) => e.event_id === real)) body.auth_chain.push(realBody);
      }),
    });
    const realContent = join.room.stateContent('m.room.power_levels', '')!;
    await judgeAdversarialOutcome(testInfo, join, {
      requirement: 'JS-03',
      completedFacts: async () => {
        const served = await client.stateEvent(join.roomId, 'm.room.power_levels');
        const users = served.status === 200 ? (served.body.users as Record<string, number> | undefined) : undefined;
        return [{ fact: 'the power levels a client reads are the real body, not its twin (the joiner has no power entry)', expected: realContent.users, observed: users ?? `HTTP ${served.status}` }];
      },
      safeBehaviour:
        "Notice that one event ID names two different bodies and refuse the answer with a client error, or settle on the body the resync and the auth chain agree on; a client must never read the twin's power levels, which make the joiner an admin. An event is one body (JS-01: a valid event), whatever list it arrives in.",
    });
  });

  test('servers_in_room names ten thousand servers', { tag: ['@JS-01', '@JS-03'] }, async ({ candidate, client, remote }, testInfo) => {
    // Loopback addresses on a closed port: each is a valid server name that refuses at once, so a
    // joiner that tries them all is slowed by their number, not by network timeouts.
    const crowd = Array.from({ length: 10_000 }, (_, i) => `127.254.${i >> 8}.${i & 255}:1`);
    const join = await UncheckedJoin.start({ candidate, client, remote, sendJoin: { serversInRoom: [remote.serverName, ...crowd] } });
    const outcome = await judgeAdversarialOutcome(testInfo, join, {
      requirement: 'JS-03',
      completedFacts: async () => {
        // The resident (the one real server) still gets the joiner's events.
        const sent = await client.sendMessage(join.roomId, 'after the crowd');
        const reached = sent.status === 200 && (await remote.expectPdu({ type: 'm.room.message', sender: client.userId }, { within: 15_000 }).then(() => true, () => false));
        return [{ fact: 'a message sent after the resync reaches the resident', expected: true, observed: reached }];
      },
      safeBehaviour:
        'Complete the join and the resync from the send_join server and keep delivering to it: servers_in_room only says where to send while partial (JS-02); ten thousand dead names must stall neither the resync, nor the room, nor the server.',
    });
    testInfo.annotations.push({ type: 'lazyjoin-observed', description: `ten thousand names in servers_in_room: partial=${join.partial}, resynced=${outcome.resynced}` });
  });

  test('a state event is signed with a key the resident retired before the event was dated', { tag: ['@JS-01', '@JS-03', '@KY-04'] }, async ({ candidate, client, remote }, testInfo) => {
    const retired = generateSigningKey();
    const expiredTs = Date.now() - HOUR;
    // The key document: the resident's current key, and the retired one with the time it stopped being used.
    remote.route('key_server', (ctx) =>
      json(
        signJson(
          {
            server_name: ctx.self.serverName,
            verify_keys: { [ctx.self.key.keyId]: { key: ctx.self.key.publicKeyBase64 } },
            old_verify_keys: ctx.self.serverName === remote.serverName ? { [retired.keyId]: { key: encodeBase64(retired.publicKey), expired_ts: expiredTs } } : {},
            valid_until_ts: Date.now() + 24 * HOUR,
          },
          ctx.self.serverName,
          ctx.self.key,
        ),
      ),
    );
    const charlie = remote.userId('charlie');
    const signedWithRetired = { inTime: '', inTimeTs: expiredTs - HOUR, late: '', lateTs: Date.now() };
    const join = await UncheckedJoin.start({
      candidate,
      client,
      remote,
      room: { state: [{ type: 'm.room.topic', content: { topic: 'the real topic' } }] },
      prepare: ({ room }) => {
        // Part of the room: a state event signed with the retired key while it was in use.
        const inTime = signEvent(room.draft({ type: 'org.lazyjoin.signed_before_retirement', stateKey: '', sender: charlie, content: { note: 'signed while the key was current' }, originServerTs: signedWithRetired.inTimeTs }), remote.serverName, retired, room.version);
        signedWithRetired.inTime = room.importEvent(inTime.event, { trustedEventId: inTime.eventId });
      },
      sendJoinRoute: rewrittenSendJoin((body, { room }) => {
        const late = signEvent(room.draft({ type: 'm.room.topic', stateKey: '', sender: charlie, content: { topic: 'signed with a retired key' }, originServerTs: signedWithRetired.lateTs }), remote.serverName, retired, room.version);
        signedWithRetired.late = late.eventId;
        replaceInState(body, TOPIC, late.event);
      }),
    });
    const outcome = await judgeAdversarialOutcome(testInfo, join, {
      requirement: 'JS-03',
      forbidden: [{ eventId: signedWithRetired.late, why: `it is signed only with ${retired.keyId}, which the resident retired (expired_ts ${new Date(expiredTs).toISOString()}) before the event's origin_server_ts` }],
      safeBehaviour:
        "Reject the topic signed with the retired key (keys are valid for events only up to their expiry, KY-04; a signature that does not verify with a valid key drops the event, JS-01) and take the real topic from the resync, or refuse the join with a client error; the event signed while the key was current stays state.",
    });
    if (outcome.stateAfter) {
      const inState = new Set(Object.values(outcome.stateAfter));
      judge(testInfo, eventsAfterValidUntilRejected, {
        rule: 'valid-until',
        publishedValidUntil: expiredTs,
        fetchedAt: Date.now(),
        events: [
          { eventId: signedWithRetired.inTime, originServerTs: signedWithRetired.inTimeTs, accepted: inState.has(signedWithRetired.inTime) },
          { eventId: signedWithRetired.late, originServerTs: signedWithRetired.lateTs, accepted: inState.has(signedWithRetired.late) },
        ],
      });
    }
  });

  test('the send_join answer returns the join with content changed under the same event ID', { tag: ['@JS-01', '@JS-03'] }, async ({ candidate, client, remote }, testInfo) => {
    // Changing a membership's displayname leaves the redacted event, hence its ID and signatures, as they were; only the content hash fails.
    const resident = 'renamed by the resident';
    const join = await UncheckedJoin.start({
      candidate,
      client,
      remote,
      sendJoinRoute: rewrittenSendJoin((body, ctx) => {
        const sent = structuredClone(ctx.body) as PDU;
        sent.content = { ...sent.content, displayname: resident };
        body.event = sent as unknown as Json;
      }),
    });
    join.skipAudit("this test judges the joiner's served membership itself (JS-01); a candidate that adopted the changed body would differ from the room in every audited view, one finding counted under many requirements");
    await judgeAdversarialOutcome(testInfo, join, {
      requirement: 'JS-03',
      probeTampered: async () => {
        const own = await client.stateEvent(join.roomId, 'm.room.member', client.userId);
        return own.status === 200 && own.body.displayname === resident ? [{ eventId: join.joinEventId ?? '(the join)', why: "the resident changed its content; the joiner's own copy says otherwise" }] : [];
      },
      safeBehaviour:
        "Keep the join it signed: a returned `event` is only for a join the resident co-signed (restricted rooms) and must be that same event; this one fails its content hash check, so its content must never be served (JS-01: hash checks fail -> redacted).",
    });
  });

  test('a state event larger than the 64 KiB an event may be', { tag: ['@JS-01', '@JS-03'] }, async ({ candidate, client, remote }, testInfo) => {
    let oversized = '';
    let size = 0;
    const join = await UncheckedJoin.start({
      candidate,
      client,
      remote,
      sendJoinRoute: rewrittenSendJoin((body, { room }) => {
        const big = room.build({ type: 'org.lazyjoin.oversized', stateKey: '', sender: remote.userId('charlie'), content: { filler: 'x'.repeat(EVENT_SIZE_LIMIT + 4_096) } });
        oversized = computeEventId(big, room.version);
        size = Buffer.byteLength(JSON.stringify(big));
        body.state.push(big as unknown as Json);
      }),
    });
    await judgeAdversarialOutcome(testInfo, join, {
      requirement: 'JS-03',
      forbidden: [{ eventId: oversized, why: `it is ${size} bytes, over the ${EVENT_SIZE_LIMIT} an event may be` }],
      safeBehaviour:
        'Drop the oversized event ("The complete event MUST NOT be larger than 65536 bytes"; an invalid event is dropped, JS-01) and complete the join with the true state, or refuse it with a client error.',
    });
  });

  test('a state event cites 21 prev_events, one more than an event may', { tag: ['@JS-01', '@JS-03'] }, async ({ candidate, client, remote }, testInfo) => {
    let overlong = '';
    const join = await UncheckedJoin.start({
      candidate,
      client,
      remote,
      room: { state: [{ type: 'm.room.topic', content: { topic: 'the real topic' } }] },
      sendJoinRoute: rewrittenSendJoin((body, { room }) => {
        // The room's forward extremity and twenty events nobody has seen: well-formed IDs, one too many.
        const prevEvents = [...room.forwardExtremities(), ...Array.from({ length: MAX_PREV_EVENTS }, () => `$${randomBytes(32).toString('base64url')}`)];
        const forged = room.build({ type: 'm.room.topic', stateKey: '', sender: remote.userId('charlie'), content: { topic: 'with one prev event too many' }, prevEvents });
        overlong = computeEventId(forged, room.version);
        replaceInState(body, TOPIC, forged);
      }),
    });
    await judgeAdversarialOutcome(testInfo, join, {
      requirement: 'JS-03',
      forbidden: [{ eventId: overlong, why: `it has ${MAX_PREV_EVENTS + 1} prev_events; an event may have at most ${MAX_PREV_EVENTS}` }],
      safeBehaviour:
        'Drop the event with too many prev_events (prev_events "Must contain less than or equal to 20 events"; an invalid event is dropped, JS-01) and take the real topic from the resync, or refuse the join with a client error.',
    });
  });

  test('a state event arrives in the format of room version 1 in a room of a later version', { tag: ['@JS-01', '@JS-03'] }, async ({ candidate, client, remote }, testInfo) => {
    let misformatted = '';
    const join = await UncheckedJoin.start({
      candidate,
      client,
      remote,
      room: { state: [{ type: 'm.room.topic', content: { topic: 'the real topic' } }] },
      sendJoinRoute: rewrittenSendJoin((body, { room }) => {
        if (room.version.eventIdFormat === 'v1') throw new Error('this scenario needs a room version whose events carry no event_id');
        const draft = room.draft({ type: 'm.room.topic', stateKey: '', sender: remote.userId('charlie'), content: { topic: 'in the format of another room version' } }) as PDU & Json;
        // v1 shape: the creator's own event ID, and references as [event ID, hashes] pairs.
        const pair = (id: string) => [id, { sha256: encodeBase64(Buffer.alloc(32)) }];
        draft.event_id = opaqueEventId(remote.serverName);
        draft.prev_events = eventRefIds(draft.prev_events).map(pair) as unknown as string[];
        draft.auth_events = eventRefIds(draft.auth_events).map(pair) as unknown as string[];
        const signed = signEvent(draft, remote.serverName, remote.key, room.version);
        misformatted = signed.eventId;
        replaceInState(body, TOPIC, signed.event);
      }),
    });
    await judgeAdversarialOutcome(testInfo, join, {
      requirement: 'JS-03',
      forbidden: [{ eventId: misformatted, why: `it has an event_id and [ID, hashes] references, the format of room version 1, in a room of version ${join.room.version.id}` }],
      safeBehaviour:
        "Drop the event that is not in the room version's format (not a valid event: dropped, JS-01) and take the real topic from the resync, or refuse the join with a client error.",
    });
  });
});
