/**
 * The candidate's federation API beyond joins, as a server in its room sees it: its published
 * keys and the X-Matrix headers on its own requests; single events, auth chains and missing
 * events on request; and the refusals the spec names (unknown endpoint, wrong method, outsider,
 * unknown event, wrong destination, another server's user). Every JSON answer's Content-Type is
 * judged as well.
 */
import { request } from 'undici';
import type { TestInfo } from '@playwright/test';
import { test } from '../../harness/fixtures.ts';
import { federationApiChecks, type ContentTypeObservation, type EventReadObservation, type HeaderVariant, type InboundHeaderObservation, type RefusalCase, type RefusalObservation } from '../../harness/checks/federation-api.ts';
import { keyDocumentVerifier } from '../../harness/checks/matrix-binding.ts';
import { requestSignatureObject, signedRequestObservation } from '../../harness/checks/request-object.ts';
import { judge, scenarioStopsAt } from '../../harness/checks/judge.ts';
import { outboundEventIdIsReferenceHash } from '../../harness/checks/federation-api-outbound.ts';
import { eventId, eventRefIds, parseXMatrixHeader, selectAuthEvents, signEvent, signRequest, stateKey, type PDU, type StateMap } from '../../harness/matrix/index.ts';
import type { CandidateClient } from '../../harness/client/client.ts';
import type { FederationResponse } from '../../harness/remote/client.ts';
import { baseUrlFor, federationAgent } from '../../harness/remote/discovery.ts';
import type { Remote } from '../../harness/remote/index.ts';
import { judgeApplicable } from '../../harness/resident/observe.ts';
import { ResidentRoom } from '../../harness/resident/room.ts';
import { forEachRoomVersion, roomVersionOffered } from '../../harness/resident/versions.ts';

/** Bound on a PDU the candidate sends reaching the remote. */
const PDU_WITHIN_MS = 20_000;

const enc = encodeURIComponent;

function contentTypeOf(headers: Record<string, string | string[] | undefined>): string | undefined {
  const value = headers['content-type'];
  return Array.isArray(value) ? value.join(', ') : value;
}

/** Answers to judge for SJ-28, gathered as a test goes. */
class ContentTypes {
  readonly observation: ContentTypeObservation = { answers: [] };
  add(requestLine: string, res: { status: number; headers: Record<string, string | string[] | undefined> }): void {
    this.observation.answers.push({ request: requestLine, status: res.status, contentType: contentTypeOf(res.headers) });
  }
}

/** A room on the candidate with a user of `remote` in it, so that the remote may read it. */
async function sharedRoom(candidateServer: string, client: CandidateClient, remote: Remote, roomVersion?: string): Promise<ResidentRoom> {
  const room = await ResidentRoom.create(client, { preset: 'public_chat', name: 'federation API', ...(roomVersion ? { room_version: roomVersion } : {}) });
  await room.joinRemoteUser(candidateServer, remote, remote.userId('reader'));
  return room;
}

/**
 * Sends `bodies` in order as the room's creator; returns their event IDs, the events as the remote
 * received them and the last of them (awaited: the candidate's transactions reaching the remote).
 * Each is found on arrival by its content, not by the event ID under test.
 */
async function linearMessages(client: CandidateClient, room: ResidentRoom, remote: Remote, bodies: string[]): Promise<{ ids: string[]; pdus: PDU[]; last: PDU }> {
  const ids: string[] = [];
  for (const body of bodies) ids.push((await client.sendMessage(room.roomId, body)).ok().event_id as string);
  const pdus: PDU[] = [];
  for (const body of bodies) {
    pdus.push(await remote.expectPdu((p) => p.room_id === room.roomId && p.type === 'm.room.message' && (p.content as { body?: unknown } | undefined)?.body === body, { within: PDU_WITHIN_MS }));
  }
  return { ids, pdus, last: pdus[pdus.length - 1] };
}

/**
 * Judges that the IDs the client was given for `ids` are the reference hashes of the events as
 * the remote received them (SG-06). The reads that follow name events by those IDs, so a room
 * whose IDs are not the reference hashes cannot be read further (see `scenarioStopsAt`).
 */
async function judgeIdsOrStop(testInfo: TestInfo, remote: Remote, room: ResidentRoom, ids: string[], pdus: PDU[]): Promise<void> {
  const observed = [];
  for (const [i, pdu] of pdus.entries()) {
    const v = await remote.verifyPdu(pdu, room.roomVersion);
    observed.push({ clientEventId: ids[i], computed: { eventId: v.eventId, hashOk: v.hashOk, signaturesOk: v.signaturesOk, errors: v.errors } });
  }
  const outcome = judge(testInfo, outboundEventIdIsReferenceHash, { roomVersion: room.roomVersion, pdus: observed });
  if (outcome.verdict !== 'pass' && outcome.verdict !== 'not-run') {
    scenarioStopsAt(testInfo, outcome, `the event IDs the client was given in ${room.roomId} (room version ${room.roomVersion}) are not the reference hashes the remote computes, so the remote cannot name them`);
  }
}

test.describe('federation API of the resident', () => {
  test('keys: a well-formed document signed by its keys, listing every key the server signs with, valid for an hour; its own requests carry plain, verifiable X-Matrix headers', { tag: ['@KY-01', '@KY-02', '@KY-05', '@AU-01', '@AU-02', '@AU-03', '@AU-06', '@SJ-28', '@must'] }, async ({ candidate, client, remote }, testInfo) => {
    // The candidate signs a join answer, events and a transaction for the suite.
    const room = await sharedRoom(candidate.serverName, client, remote);
    const { last: pdu } = await linearMessages(client, room, remote, ['signed for the suite']);
    // Every request the remote authenticates came from the candidate (unknown routes and the key
    // and version endpoints are not authenticated).
    const fromCandidate = remote.requests().filter((r) => r.auth.kind !== 'none');
    const keysInUse = new Set<string>([
      ...Object.keys((pdu.signatures ?? {})[candidate.serverName] ?? {}),
      ...fromCandidate.flatMap((r) => (r.auth.kind === 'ok' ? [r.auth.keyId] : [])),
    ]);

    const types = new ContentTypes();
    const fetchedAt = Date.now();
    const res = await request(`${baseUrlFor(candidate.serverName)}/_matrix/key/v2/server`, { dispatcher: federationAgent() });
    const text = await res.body.text();
    let body: unknown = text;
    try {
      body = JSON.parse(text);
    } catch {
      // judged as a non-JSON answer
    }
    types.add('GET /_matrix/key/v2/server', { status: res.statusCode, headers: res.headers });
    judgeApplicable(testInfo, federationApiChecks['resident-key-server'], {
      serverName: candidate.serverName,
      fetchedAt,
      response: { status: res.statusCode, contentType: contentTypeOf(res.headers), body },
      keysInUse: [...keysInUse],
      verifySignature: keyDocumentVerifier(candidate.serverName),
    });
    judgeApplicable(testInfo, federationApiChecks['resident-content-type'], types.observation);
    const outbound = {
      origin: candidate.serverName,
      requests: fromCandidate.map((r) => ({
        request: `${r.method} ${r.path}`,
        to: r.to,
        authorization: r.authorization,
        verified: r.auth.kind === 'ok',
        failure: r.auth.kind === 'failed' ? r.auth.reason : undefined,
      })),
    };
    await testInfo.attach('requests from the candidate', { body: JSON.stringify(outbound, null, 2), contentType: 'application/json' });
    judgeApplicable(testInfo, federationApiChecks['outbound-request-auth'], outbound);
    judge(testInfo, requestSignatureObject, signedRequestObservation(candidate.serverName, remote.requests(), remote.keys.lookup));
  });

  forEachRoomVersion((version, vTag) => test("the candidate's own events: a matching content hash, its signature over the redacted event, the reference hash as event ID, the selected auth events", { tag: ['@SG-02', '@SG-04', '@SG-06', '@SG-09', '@must', vTag] }, async ({ candidate, client, remote }, testInfo) => {
    if (!(await roomVersionOffered(testInfo, client, version))) return;
    const room = await sharedRoom(candidate.serverName, client, remote, version.id);
    // Each event is found on arrival by its content, not by the ID under test.
    const sent: Array<{ id: string; matches: (p: PDU) => boolean }> = [];
    const topic = 'a state event too';
    sent.push({ id: (await client.sendState(room.roomId, 'm.room.topic', '', { topic })).ok().event_id as string, matches: (p) => p.type === 'm.room.topic' && p.content?.topic === topic });
    for (const body of ['plain', 'with unicode: é ü 中文 🎉']) {
      sent.push({ id: (await client.sendMessage(room.roomId, body)).ok().event_id as string, matches: (p) => p.type === 'm.room.message' && p.content?.body === body });
    }
    // For a message or a topic, the room version's selection rules name the power levels, the
    // sender's membership and, where the version lists it, the create event (no state of these
    // kinds changed in between).
    const state: StateMap = new Map((await room.currentState()).filter((e) => typeof e.state_key === 'string').map((e) => [stateKey(e.type, e.state_key!), e.event_id]));
    const pdus = [];
    for (const { id, matches } of sent) {
      const pdu = await remote.expectPdu((p) => p.room_id === room.roomId && matches(p), { within: PDU_WITHIN_MS });
      const v = await remote.verifyPdu(pdu, room.roomVersion);
      // The selection only asks whether the picked state events exist; the state map is the candidate's own.
      const expectedAuthEvents = selectAuthEvents(pdu, state, () => ({}) as PDU, room.roomVersion);
      pdus.push({ clientEventId: id, computed: { eventId: v.eventId, hashOk: v.hashOk, signaturesOk: v.signaturesOk, errors: v.errors }, authEvents: eventRefIds(pdu.auth_events), expectedAuthEvents });
    }
    judgeApplicable(testInfo, federationApiChecks['outbound-pdus'], { roomVersion: room.roomVersion, pdus });
  }));

  forEachRoomVersion((version, vTag) => test('reading the room: /event, /event_auth and /get_missing_events', { tag: ['@ST-05', '@ST-06', '@ST-08', '@SJ-28', '@must', vTag] }, async ({ candidate, client, remote }, testInfo) => {
    if (!(await roomVersionOffered(testInfo, client, version))) return;
    const room = await sharedRoom(candidate.serverName, client, remote, version.id);
    const sent = await linearMessages(client, room, remote, ['m1', 'm2', 'm3', 'm4']);
    await judgeIdsOrStop(testInfo, remote, room, sent.ids, sent.pdus);
    const [m1, m2, m3, m4] = sent.ids;
    const eventIdOf = (p: Record<string, unknown>) => eventId(p as PDU, room.roomVersion);
    const types = new ContentTypes();
    const judgeRead = (o: EventReadObservation) => judgeApplicable(testInfo, federationApiChecks['resident-event-read'], o);
    const answer = (res: FederationResponse) => ({ status: res.status, contentType: contentTypeOf(res.headers), body: res.body ?? res.raw });

    const eventPath = `/_matrix/federation/v1/event/${enc(m4)}`;
    const event = await remote.client.request('GET', candidate.serverName, eventPath);
    types.add(`GET ${eventPath}`, event);
    judgeRead({ endpoint: 'event', roomId: room.roomId, roomVersion: room.roomVersion, eventId: m4, response: answer(event), eventIdOf });

    // The asked event's auth_events, from the client API's view of it where /event failed.
    const fetched = (event.body?.pdus ?? []).find((p: Record<string, unknown>) => eventIdOf(p) === m4) as PDU | undefined;
    const authPath = `/_matrix/federation/v1/event_auth/${enc(room.roomId)}/${enc(m4)}`;
    const auth = await remote.client.request('GET', candidate.serverName, authPath);
    types.add(`GET ${authPath}`, auth);
    judgeRead({ endpoint: 'event_auth', roomId: room.roomId, roomVersion: room.roomVersion, eventId: m4, authEventsOfTarget: fetched ? eventRefIds(fetched.auth_events) : undefined, response: answer(auth), eventIdOf });

    // m1..m4 were sent one after another by one user: a single line of prev_events.
    const missingPath = `/_matrix/federation/v1/get_missing_events/${enc(room.roomId)}`;
    for (const [limit, expected] of [[10, [m2, m3]], [1, [m3]]] as Array<[number, string[]]>) {
      const missing = await remote.client.request('POST', candidate.serverName, missingPath, { body: { earliest_events: [m1], latest_events: [m4], limit, min_depth: 0 } });
      types.add(`POST ${missingPath} (limit ${limit})`, missing);
      judgeRead({ endpoint: 'get_missing_events', roomId: room.roomId, roomVersion: room.roomVersion, missing: { earliest: [m1], latest: [m4], limit, expected }, response: answer(missing), eventIdOf });
    }
    judgeApplicable(testInfo, federationApiChecks['resident-content-type'], types.observation);
  }));

  test('a transaction holding a PDU the candidate rejects is still answered 200', { tag: ['@ST-10', '@SJ-28', '@should'] }, async ({ candidate, client, remote }, testInfo) => {
    const room = await sharedRoom(candidate.serverName, client, remote);
    const { last } = await linearMessages(client, room, remote, ['the remote answers this']);
    const state = await room.currentState();
    const idOf = (type: string, stateKey: string) => state.find((e) => e.type === type && e.state_key === stateKey)?.event_id;
    const sender = remote.userId('reader');
    const authEvents = [idOf('m.room.create', ''), idOf('m.room.power_levels', ''), idOf('m.room.member', sender)];
    if (authEvents.some((id) => id === undefined)) throw new Error(`the room state lacks the create, power levels or ${sender}'s join: ${JSON.stringify(authEvents)}`);
    const message = (body: string, depth: number, prev: string) =>
      signEvent(
        { room_id: room.roomId, sender, type: 'm.room.message', content: { msgtype: 'm.text', body }, auth_events: authEvents as string[], prev_events: [prev], depth, origin_server_ts: Date.now() } as Omit<PDU, 'hashes' | 'signatures'>,
        remote.serverName,
        remote.key,
        room.roomVersion,
      );
    const good = message('a fine reply', last.depth + 1, eventId(last, room.roomVersion));
    const forged = message('a reply whose signature is broken', last.depth + 2, good.eventId);
    const sigs = forged.event.signatures![remote.serverName];
    for (const keyId of Object.keys(sigs)) sigs[keyId] = (sigs[keyId].startsWith('A') ? 'B' : 'A') + sigs[keyId].slice(1);

    const res = await remote.client.send(candidate.serverName, { pdus: [good.event, forged.event] });
    const types = new ContentTypes();
    types.add('PUT /_matrix/federation/v1/send/…', res);
    judgeApplicable(testInfo, federationApiChecks['resident-transaction'], {
      pdus: [
        { eventId: good.eventId, mustBeRejected: false },
        { eventId: forged.eventId, mustBeRejected: true },
      ],
      response: { status: res.status, contentType: contentTypeOf(res.headers), body: res.body ?? res.raw },
    });
    judgeApplicable(testInfo, federationApiChecks['resident-content-type'], types.observation);
  });

  test('X-Matrix headers in every form the grammar allows are accepted: any order, any case, whitespace, escapes, unknown parameters, unquoted colons', { tag: ['@AU-05', '@AU-06', '@AU-07', '@must', '@should'] }, async ({ candidate, client, remote }, testInfo) => {
    const room = await sharedRoom(candidate.serverName, client, remote);
    const {
      ids: [message],
    } = await linearMessages(client, room, remote, ['read with odd headers']);
    const path = `/_matrix/federation/v1/event/${enc(message)}`;
    const p = parseXMatrixHeader(signRequest({ method: 'GET', uri: path, origin: remote.serverName, destination: candidate.serverName }, remote.key));
    const forms: Array<[HeaderVariant, string]> = [
      ['reordered', `X-Matrix sig="${p.sig}",key="${p.key}",destination="${p.destination}",origin="${p.origin}"`],
      ['names-in-other-case', `X-Matrix Origin="${p.origin}",DESTINATION="${p.destination}",Key="${p.key}",SIG="${p.sig}"`],
      ['whitespace-around-commas', `X-Matrix origin="${p.origin}" ,\tdestination="${p.destination}" , key="${p.key}",  sig="${p.sig}"`],
      ['escaped-quoted-value', `X-Matrix origin="${p.origin}",destination="${p.destination}",key="${p.key.replace(':', '\\:')}",sig="${p.sig}"`],
      ['unknown-parameter', `X-Matrix origin="${p.origin}",destination="${p.destination}",key="${p.key}",sig="${p.sig}",lazyjoin="ignored"`],
      ['unquoted-values-with-colons', `X-Matrix origin=${p.origin},destination=${p.destination},key=${p.key},sig="${p.sig}"`],
    ];
    for (const [variant, header] of forms) {
      const res = await remote.client.request('GET', candidate.serverName, path, { authorization: header });
      const observation: InboundHeaderObservation = { variant, header, request: `GET ${path}`, response: { status: res.status, contentType: contentTypeOf(res.headers), body: res.body ?? res.raw } };
      judgeApplicable(testInfo, federationApiChecks['inbound-x-matrix'], observation);
    }
  });

  test("server ACLs: a denied server is refused on every room endpoint, another server is not", { tag: ['@SJ-26', '@SJ-28', '@must'] }, async ({ candidate, client, remote, makeRemote }, testInfo) => {
    const room = await sharedRoom(candidate.serverName, client, remote);
    const allowed = await makeRemote();
    await room.joinRemoteUser(candidate.serverName, allowed, allowed.userId('reader'));
    const {
      ids: [first, last],
    } = await linearMessages(client, room, remote, ['before the ACL', 'also before the ACL']);
    // ACLs match host names without the port; the remote's host is its own loopback address.
    const deniedHost = remote.serverName.slice(0, remote.serverName.lastIndexOf(':'));
    (await client.sendState(room.roomId, 'm.room.server_acl', '', { allow: ['*'], deny: [deniedHost], allow_ip_literals: true })).ok();

    const types = new ContentTypes();
    const r = enc(room.roomId);
    const asks: Array<[string, string, { body?: unknown }?]> = [
      ['GET', `/_matrix/federation/v1/make_join/${r}/${enc(remote.userId('another'))}?ver=10&ver=11`],
      ['GET', `/_matrix/federation/v1/state/${r}?event_id=${enc(last)}`],
      ['GET', `/_matrix/federation/v1/state_ids/${r}?event_id=${enc(last)}`],
      ['GET', `/_matrix/federation/v1/event_auth/${r}/${enc(last)}`],
      ['POST', `/_matrix/federation/v1/get_missing_events/${r}`, { body: { earliest_events: [first], latest_events: [last], limit: 10 } }],
      ['GET', `/_matrix/federation/v1/backfill/${r}?v=${enc(last)}&limit=5`],
    ];
    for (const [method, path, opts] of asks) {
      const res = await remote.client.request(method, candidate.serverName, path, opts ?? {});
      types.add(`${method} ${path}`, res);
      judgeApplicable(testInfo, federationApiChecks['resident-refusal'], { case: 'server-acl-denied', request: { method, path }, response: { status: res.status, contentType: contentTypeOf(res.headers), body: res.body ?? res.raw } });
    }
    // The ACL denies one server, not everyone: the other remote still reads the room.
    const control = await allowed.client.request('GET', candidate.serverName, `/_matrix/federation/v1/state_ids/${r}?event_id=${enc(last)}`);
    if (control.status !== 200) throw new Error(`a server the ACL allows got HTTP ${control.status} from /state_ids: the scenario shows nothing about the ACL (${control.raw.slice(0, 200)})`);
    judgeApplicable(testInfo, federationApiChecks['resident-content-type'], types.observation);
  });

  test('refusals: unknown endpoint, wrong method, outsider, unknown event, wrong destination, another server\'s user', { tag: ['@SJ-27', '@ST-04', '@AU-04', '@MJ-03', '@SJ-28', '@must'] }, async ({ candidate, client, remote, makeRemote }, testInfo) => {
    const room = await sharedRoom(candidate.serverName, client, remote);
    const {
      ids: [message],
    } = await linearMessages(client, room, remote, ['something to ask about']);
    const outsider = await makeRemote();
    const types = new ContentTypes();
    const refusal = async (c: RefusalCase, from: Remote, method: string, path: string, opts: { body?: unknown; signedDestination?: string } = {}) => {
      const res = await from.client.request(method, candidate.serverName, path, opts);
      types.add(`${method} ${path}`, res);
      const observation: RefusalObservation = { case: c, request: { method, path }, response: { status: res.status, contentType: contentTypeOf(res.headers), body: res.body ?? res.raw } };
      judgeApplicable(testInfo, federationApiChecks['resident-refusal'], observation);
    };
    const stateIds = (at: string) => `/_matrix/federation/v1/state_ids/${enc(room.roomId)}?event_id=${enc(at)}`;

    await refusal('unknown-endpoint', remote, 'GET', '/_matrix/federation/v1/lazyjoin-no-such-endpoint');
    await refusal('wrong-method', remote, 'PUT', '/_matrix/federation/v1/version', { body: {} });
    await refusal('state-ids-not-in-room', outsider, 'GET', stateIds(message));
    await refusal('state-ids-unknown-event', remote, 'GET', stateIds(`$lazyjoin-unknown-${Date.now()}`));
    await refusal('wrong-destination', remote, 'GET', `/_matrix/federation/v1/event/${enc(message)}`, { signedDestination: outsider.serverName });
    await refusal('make-join-foreign-user', remote, 'GET', `/_matrix/federation/v1/make_join/${enc(room.roomId)}/${enc(outsider.userId('someone'))}?ver=10&ver=11`);
    judgeApplicable(testInfo, federationApiChecks['resident-content-type'], types.observation);
  });
});
