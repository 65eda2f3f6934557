/**
 * Events the candidate receives in a room it joined on a remote (full state: the join is only the
 * way in): a message whose content was changed after signing must be kept as its redacted copy
 * (SG-05); a message with 21 prev_events must be rejected while one with 20 is accepted (SG-08),
 * unless it comes in a /backfill answer (ST-07); a message carrying a float or an integer beyond
 * ±(2^53-1) must be discarded (SG-07); and received events are known by their reference hash
 * (SG-03), while the candidate's own requests sign the object the spec defines (AU-02).
 */
import { test } from '../../harness/fixtures.ts';
import type { CandidateClient } from '../../harness/client/client.ts';
import { judge } from '../../harness/checks/judge.ts';
import { hashMismatchKeptRedacted, pduLimitsEnforced, type PduLimitsObservation } from '../../harness/checks/joiner-received-events.ts';
import type { PDU } from '../../harness/matrix/index.ts';
import type { Remote } from '../../harness/remote/index.ts';
import type { Room } from '../../harness/remote/room.ts';
import { sendJoinHandler } from '../../harness/remote/routes/membership.ts';
import { backfillNotValidatedOnLimits, eventsKnownByReferenceHash, strictCanonicalJsonEnforced, type BackfillLimitsObservation, type ReferenceHashObservation, type StrictJsonFault, type StrictJsonObservation } from '../../harness/checks/joiner-received-events.ts';
import { requestSignatureObject, signedRequestObservation } from '../../harness/checks/request-object.ts';
import { signEventWithNonCanonicalNumbers, signRequestWithNonCanonicalNumbers } from '../../harness/matrix/non-canonical.ts';
import { canonicalJson, encodeBase64Url, eventId, redactEvent } from '../../harness/matrix/index.ts';
import { timelineOf } from '../../harness/client/types.ts';
import { createHash } from 'node:crypto';

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

  test('an event with 21 prev_events in a /backfill answer is not rejected for it', { tag: ['@ST-07', '@must'] }, async ({ candidate, client, remote }, testInfo) => {
    remote.route('send_join', sendJoinHandler({ ignoreOmitMembers: true }));
    const room = remote.createRoom({ joinRule: 'public', name: 'backfilled merge', historyVisibility: 'shared' });
    const alice = remote.userId('alice');
    // 21 branches on one parent, then a message merging them: history the candidate only gets by backfilling.
    const parent = room.forwardExtremities();
    for (let i = 0; i < 21; i++) room.forge({ type: 'm.room.message', sender: alice, content: { msgtype: 'm.text', body: `branch ${i}` }, prevEvents: parent });
    const merge = room.sendMessage(alice, 'the merge of 21 branches');
    (await client.join(room.roomId, { via: [remote.serverName] })).ok();

    const seen = new Set<string>();
    await test.step('the candidate\'s user pages back through the history (the candidate backfills from the remote)', async () => {
      let from: string | undefined;
      for (let page = 0; page < 4 && !seen.has(merge); page++) {
        const res = (await client.messages(room.roomId, { dir: 'b', limit: 50, from })).ok();
        for (const e of res.chunk) seen.add(e.event_id as string);
        if (!res.end || res.chunk.length === 0) break;
        from = res.end;
      }
    });
    const backfills = remote.requests().filter((r) => r.route === 'backfill' && r.origin === candidate.serverName);
    const servedIds = new Set(
      backfills.flatMap((r) => {
        const pdus = (r.responseBody as { pdus?: unknown[] } | undefined)?.pdus;
        return Array.isArray(pdus) ? pdus.map((p) => eventIdOfServed(room, p)) : [];
      }),
    );
    const observation: BackfillLimitsObservation = {
      backfillRequests: backfills.length,
      served: [...servedIds].filter((id): id is string => !!id && room.has(id)).map((id) => {
        const pdu = room.mustEvent(id);
        return { eventId: id, prevEvents: pdu.prev_events.length, authEvents: pdu.auth_events.length, accepted: seen.has(id) };
      }),
    };
    await testInfo.attach('backfill requests and fates', { body: JSON.stringify({ requests: backfills.map((r) => `${r.method} ${r.uri} -> ${r.status}`), merge, seenByTheClient: [...seen], observation }, null, 2), contentType: 'application/json' });
    judge(testInfo, backfillNotValidatedOnLimits, observation);
  });

  test('messages carrying a float or an integer beyond 2^53-1 are discarded; a plain one is accepted', { tag: ['@SG-07', '@must'] }, async ({ candidate, client, remote }, testInfo) => {
    const room = await joinedRoom(remote, client, 'strict canonical JSON');
    const alice = remote.userId('alice');
    const parent = room.forwardExtremities();
    const events: StrictJsonObservation['events'] = [];
    // The numbers sit in an m.room.message's content, which redaction drops: the signature and the
    // event ID are ordinary, and the content hash covers the number as a lax server writes it.
    const bad: Array<[StrictJsonFault, number]> = [['float', 1.5], ['integer-too-large', 2 ** 53]];
    for (const [fault, value] of bad) {
      const draft = room.draft({ type: 'm.room.message', sender: alice, content: { msgtype: 'm.text', body: `carrying ${fault}`, value }, prevEvents: parent });
      const { event, eventId } = signEventWithNonCanonicalNumbers(draft, remote.serverName, remote.key, room.version.id);
      const path = `/_matrix/federation/v1/send/strict-json-${Date.now()}-${fault}`;
      const txn = { origin: remote.serverName, origin_server_ts: Date.now(), pdus: [event] };
      const authorization = signRequestWithNonCanonicalNumbers({ method: 'PUT', uri: path, origin: remote.serverName, destination: candidate.serverName, content: txn }, remote.key);
      const answer = await remote.client.request('PUT', candidate.serverName, path, { body: txn, authorization });
      await testInfo.attach(`transaction answer (${fault})`, { body: JSON.stringify({ status: answer.status, body: answer.body ?? answer.raw }, null, 2), contentType: 'application/json' });
      events.push({ eventId, fault, value: JSON.stringify(value), transactionStatus: answer.status, accepted: false });
    }
    const plain = room.forge({ type: 'm.room.message', sender: alice, content: { msgtype: 'm.text', body: 'plain' }, prevEvents: parent });
    await remote.client.send(candidate.serverName, { pdus: [plain.event] });
    // The faulted events went first: once the plain one is visible, the candidate has decided on them.
    events.push({ eventId: plain.eventId, fault: 'none', transactionStatus: 200, accepted: (await servedEvent(client, room.roomId, plain.eventId, VISIBLE_WITHIN_MS)).status === 200 });
    for (const e of events) if (e.fault !== 'none') e.accepted = (await servedEvent(client, room.roomId, e.eventId, 0)).status === 200;
    judge(testInfo, strictCanonicalJsonEnforced, { roomVersion: room.version.id, strictCanonicalJson: room.version.strictCanonicalJson, events });
  });

  test('a received event is known by its reference hash; the candidate signs its requests over the object the spec defines', { tag: ['@SG-03', '@AU-02', '@must'] }, async ({ candidate, client, remote }, testInfo) => {
    const room = await joinedRoom(remote, client, 'reference hashes');
    const alice = remote.userId('alice');
    const body = `known by its reference hash ${Date.now()}`;
    const { event, eventId } = room.forge({ type: 'm.room.message', sender: alice, content: { msgtype: 'm.text', body, 'org.example.detail': { kept: 'until redaction' } } });
    // unsigned data travels with the event but is covered by neither the hash nor the signatures.
    const sent: PDU = { ...event, unsigned: { 'org.example.note': 'not part of the reference hash' } };
    const hashOf = (value: unknown) => '$' + encodeBase64Url(createHash('sha256').update(canonicalJson(value), 'utf8').digest());
    const { signatures, unsigned: _unsigned, ...unredacted } = sent;
    const { signatures: _s, ...redacted } = redactEvent(event, room.version);
    const wrongIds = { 'not redacted': hashOf(unredacted), 'with unsigned': hashOf({ ...redacted, unsigned: sent.unsigned }), 'with signatures': hashOf({ ...redacted, signatures }) };
    await remote.client.send(candidate.serverName, { pdus: [sent] });

    const namedAs: ReferenceHashObservation['events'][number]['namedAs'] = [];
    const shown = await client
      .waitForSync((s) => timelineOf(s, room.roomId).some((e) => (e.content as { body?: string }).body === body), { timeoutMs: VISIBLE_WITHIN_MS, description: `the message "${body}" in ${room.roomId}` })
      .then((s) => timelineOf(s, room.roomId).filter((e) => (e.content as { body?: string }).body === body).map((e) => e.event_id as string), () => [] as string[]);
    namedAs.push({ where: 'client timeline', ids: shown });
    if (shown.length) {
      const reply = `after ${body}`;
      (await client.sendMessage(room.roomId, reply)).ok();
      const next = await remote.expectPdu((p) => p.type === 'm.room.message' && (p.content as { body?: string }).body === reply, { within: VISIBLE_WITHIN_MS });
      namedAs.push({ where: 'prev_events of its next event', ids: next.prev_events });
    }
    judge(testInfo, eventsKnownByReferenceHash, { roomVersion: room.version.id, events: [{ eventId, wrongIds, namedAs }] });
    judge(testInfo, requestSignatureObject, signedRequestObservation(candidate.serverName, remote.requests(), remote.keys.lookup));
  });
});

/** The ID of a PDU as served (the room's own events: their reference hash). */
function eventIdOfServed(room: Room, pdu: unknown): string | undefined {
  try {
    return eventId(pdu as PDU, room.version.id);
  } catch {
    return undefined;
  }
}
