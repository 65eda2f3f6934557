import { expect } from '@playwright/test';
import { request } from 'undici';
import { eventId, signRequest, STABLE_ROOM_VERSIONS, stateKey, type PDU } from '../../harness/matrix/index.ts';
import { baseUrlFor, federationAgent } from '../../harness/remote/discovery.ts';
import { remoteTest as test } from '../../harness/remote/fixture.ts';
import type { Remote, Room } from '../../harness/remote/index.ts';

/** A room on `resident` with members from the resident, a bystander and a leaver, in a chosen order. */
async function populatedRoom(resident: Remote, opts: { name?: string; alias?: string; version?: string } = {}) {
  const other = await resident.addServer();
  const room = resident.createRoom({ version: '10', ...opts });
  const alice = resident.userId('alice');
  const bob = resident.userId('bob');
  const carol = other.userId('carol');
  const dave = other.userId('dave');
  const erin = resident.userId('erin');
  room.join(bob);
  room.join(carol);
  room.invite(alice, dave);
  room.join(erin);
  room.leave(erin);
  room.sendMessage(bob, 'hello');
  return { room, other, alice, bob, carol, dave, erin };
}

function typeAndKey(e: PDU): string {
  return `${e.type}|${e.state_key}`;
}

test.describe('two remotes over real HTTPS', () => {
  test('partial-state join of a nameless room: members omitted except heroes, servers_in_room, de-duplicated auth chain', async ({ makeRemote }) => {
    const a = await makeRemote();
    const b = await makeRemote();
    const { room, other, alice, bob, carol, dave } = await populatedRoom(a);
    const joiner = b.userId('joiner');

    const join = await b.joinRoom(a.serverName, room.roomId, joiner, { mode: 'partial' });
    const body = join.sendJoin.body!;
    expect(join.sendJoin.headers['content-type']).toBe('application/json');
    expect(body.members_omitted).toBe(true);
    expect([...body.servers_in_room!].sort()).toEqual([a.serverName, other.serverName].sort());

    // Heroes: the first five joined or invited members by stream order, never the joiner.
    const members = body.state.filter((e) => e.type === 'm.room.member').map((e) => e.state_key);
    expect(members.sort()).toEqual([alice, bob, carol, dave].sort());
    // Non-member state is all there.
    const expectedNonMember = [...room.stateBefore(join.joinEventId).values()]
      .map((id) => room.mustEvent(id))
      .filter((e) => e.type !== 'm.room.member')
      .map(typeAndKey)
      .sort();
    expect(body.state.filter((e) => e.type !== 'm.room.member').map(typeAndKey).sort()).toEqual(expectedNonMember);

    // Auth chain: no duplicates, nothing already in state, and closed (every auth event present).
    const idOf = (e: PDU) => eventId(e, room.version);
    const stateIdSet = new Set(body.state.map(idOf));
    const chainIds = body.auth_chain.map(idOf);
    expect(new Set(chainIds).size).toBe(chainIds.length);
    expect(chainIds.filter((id) => stateIdSet.has(id))).toEqual([]);
    const returned = new Set([...stateIdSet, ...chainIds]);
    for (const e of [...body.state, ...body.auth_chain, join.room.mustEvent(join.joinEventId)]) {
      for (const authId of e.auth_events) expect(returned.has(authId), `auth event ${authId} of ${typeAndKey(e)} returned`).toBe(true);
    }
    // The erin leave is not a hero (joined/invited members exist) and so is omitted.
    expect(members).not.toContain(a.userId('erin'));
    expect(join.invalidEvents).toEqual([]);
  });

  for (const naming of [{ name: 'Named' }, { alias: 'lobby' }, { name: 'Named', alias: 'lobby' }]) {
    test(`partial-state join of a room with ${Object.keys(naming).join(' and ')}: no heroes, only the joiner's prior membership`, async ({ makeRemote }) => {
      const a = await makeRemote();
      const b = await makeRemote();
      const alias = naming.alias ? `#${naming.alias}:${a.serverName}` : undefined;
      const { room, alice } = await populatedRoom(a, { name: naming.name, alias });
      const joiner = b.userId('joiner');
      room.invite(alice, joiner);
      const join = await b.joinRoom(a.serverName, room.roomId, joiner, { mode: 'partial' });
      const members = join.sendJoin.body!.state.filter((e) => e.type === 'm.room.member');
      expect(members.map((e) => [e.state_key, e.content.membership])).toEqual([[joiner, 'invite']]);
      expect(join.sendJoin.body!.members_omitted).toBe(true);
    });
  }

  test('full-state join returns every member, the full auth chain, and no members_omitted', async ({ makeRemote }) => {
    const a = await makeRemote();
    const b = await makeRemote();
    const { room } = await populatedRoom(a);
    const join = await b.joinRoom(a.serverName, room.roomId, b.userId('joiner'), { mode: 'absent' });
    const body = join.sendJoin.body!;
    expect(body.members_omitted).toBeUndefined();
    const expected = [...room.stateBefore(join.joinEventId).keys()].sort();
    expect(body.state.map((e) => stateKey(e.type, e.state_key!)).sort()).toEqual(expected);
    // Without omit_members, state events stay in auth_chain (the create event is in both).
    expect(body.auth_chain.some((e) => e.type === 'm.room.create')).toBe(true);
    expect(join.invalidEvents).toEqual([]);
    expect(join.room.stateBefore(join.joinEventId)).toEqual(room.stateBefore(join.joinEventId));
  });

  test('a partial joiner resyncs through state_ids and state and ends with the full state; the resident verified the join', async ({ makeRemote }) => {
    const a = await makeRemote();
    const b = await makeRemote();
    const { room } = await populatedRoom(a);
    const join = await b.joinRoom(a.serverName, room.roomId, b.userId('joiner'), { mode: 'partial' });
    expect(join.room.stateBefore(join.joinEventId)).not.toEqual(room.stateBefore(join.joinEventId));

    const resync = await b.resyncState(a.serverName, room.roomId, join.joinEventId);
    expect(resync.stateIds.status).toBe(200);
    expect(resync.state?.status).toBe(200);
    expect(resync.fetchedSingly).toEqual([]);
    expect(resync.invalidEvents).toEqual([]);
    expect(join.room.stateBefore(join.joinEventId)).toEqual(room.stateBefore(join.joinEventId));
    expect(join.room.currentState()).toEqual(room.currentState());
    // Both directions were authenticated with X-Matrix and the join is in A's room.
    expect(a.requests('send_join')[0].auth).toMatchObject({ kind: 'ok', origin: b.serverName });
    expect(a.requests('state_ids')[0].auth).toMatchObject({ kind: 'ok', origin: b.serverName });
    expect(room.membership(b.userId('joiner'))).toBe('join');
  });

  for (const version of STABLE_ROOM_VERSIONS) {
    test(`room version ${version}: a partial join and its resync verify every event and end with the resident's state`, { tag: [`@v${version}`] }, async ({ makeRemote }) => {
      const a = await makeRemote();
      const b = await makeRemote();
      const { room } = await populatedRoom(a, { version });
      const join = await b.joinRoom(a.serverName, room.roomId, b.userId('joiner'), { mode: 'partial' });
      expect(join.invalidEvents).toEqual([]);
      expect(join.sendJoin.body?.members_omitted).toBe(true);
      const resync = await b.resyncState(a.serverName, room.roomId, join.joinEventId);
      expect(resync.invalidEvents).toEqual([]);
      expect(join.room.currentState()).toEqual(room.currentState());
      expect(room.membership(b.userId('joiner'))).toBe('join');
    });
  }

  test('unstable partial_state flag gets both stable and unstable response fields', async ({ makeRemote }) => {
    const a = await makeRemote();
    const b = await makeRemote();
    const { room } = await populatedRoom(a);
    const join = await b.joinRoom(a.serverName, room.roomId, b.userId('joiner'), { mode: 'unstable-partial' });
    const body = join.sendJoin.body!;
    expect(body['org.matrix.msc3706.partial_state']).toBe(true);
    expect(body['org.matrix.msc3706.servers_in_room']).toEqual(body.servers_in_room);
  });

  test('a PDU sent in a transaction is verified, stored and awaited; a forged signature is refused', async ({ makeRemote }) => {
    const a = await makeRemote();
    const b = await makeRemote();
    const { room } = await populatedRoom(a);
    const join = await b.joinRoom(a.serverName, room.roomId, b.userId('joiner'));
    const message = join.room.build({ type: 'm.room.message', sender: b.userId('joiner'), content: { body: 'hi' } });
    const forged = { ...message, content: { body: 'changed after signing' } };
    const res = await b.client.send(a.serverName, { pdus: [message], edus: [{ edu_type: 'm.typing', content: { typing: true } }] });
    expect(res.status).toBe(200);
    // sendEvents splits into transactions of at most 50 PDUs.
    const many = Array.from({ length: 51 }, (_, i) => join.room.sendMessage(b.userId('joiner'), `m${i}`));
    const transactions = await b.sendEvents(a.serverName, join.room, many);
    expect(transactions.map((t) => [t.status, Object.keys(t.body!.pdus).length])).toEqual([[200, 50], [200, 1]]);
    expect(a.pduOutcome(many[50])).toEqual({ eventId: many[50], origin: b.serverName });
    const received = await a.expectPdu({ type: 'm.room.message', sender: b.userId('joiner') }, { within: 2000 });
    expect(received.content).toEqual({ body: 'hi' });
    await a.expectEdu({ edu_type: 'm.typing', origin: b.serverName }, { within: 2000 });
    await expect(a.expectNoEdu({ edu_type: 'm.typing' }, { for: 50 })).rejects.toThrow(/unexpected EDU/);
    await a.expectNoEdu({ edu_type: 'm.device_list_update' }, { for: 100 });
    const second = await b.client.send(a.serverName, { pdus: [forged] });
    const [verdict] = Object.values(second.body!.pdus);
    // The content changed, so the content hash no longer matches (the redacted copy still verifies).
    expect(verdict.error).toMatch(/hash/);
  });

  test('restricted room: make_join names an authorising member, send_join returns the event counter-signed by the resident', async ({ makeRemote }) => {
    const a = await makeRemote();
    const b = await makeRemote();
    const room = a.createRoom({ joinRule: 'restricted', allowRooms: ['!other:example.org'] });
    const join = await b.joinRoom(a.serverName, room.roomId, b.userId('r'));
    const template = join.makeJoin.body!.event;
    expect(template.content.join_authorised_via_users_server).toBe(a.userId('alice'));
    const returned = join.sendJoin.body!.event!;
    expect(Object.keys(returned.signatures!).sort()).toEqual([a.serverName, b.serverName].sort());
    expect(join.invalidEvents).toEqual([]);
    expect((await a.verifyPdu(room.mustEvent(join.joinEventId), room)).ok).toBe(true);
  });

  test('invite v2: the invitee\'s server counter-signs and records the invite', async ({ makeRemote }) => {
    const a = await makeRemote();
    const b = await makeRemote();
    const room = a.createRoom({ joinRule: 'invite' });
    const invitee = b.userId('guest');
    const inviteEvent = room.build({ type: 'm.room.member', stateKey: invitee, sender: a.userId('alice'), content: { membership: 'invite' } });
    const id = eventId(inviteEvent, '10');
    const res = await a.client.invite(b.serverName, room.roomId, id, { room_version: '10', event: inviteEvent, invite_room_state: [] });
    expect(res.status).toBe(200);
    expect(Object.keys(res.body!.event.signatures!).sort()).toEqual([a.serverName, b.serverName].sort());
    expect((await a.verifyPdu(res.body!.event, '10')).ok).toBe(true);
    expect(b.invites.all().map((i) => i.eventId)).toEqual([id]);
    const notOurs = room.build({ type: 'm.room.member', stateKey: a.userId('x'), sender: a.userId('alice'), content: { membership: 'invite' } });
    const refused = await a.client.invite(b.serverName, room.roomId, eventId(notOurs, '10'), { room_version: '10', event: notOurs });
    expect(refused.status).toBe(400);
  });

  test('a big answer is written in pieces: complete, logged with its size, and a reader that stops reading holds up nobody', async ({ makeRemote }) => {
    const a = await makeRemote();
    const b = await makeRemote();
    const other = await a.addServer();
    const room = a.createRoom({ version: '10' });
    for (let i = 0; i < 1300; i++) room.join(i % 2 ? a.userId(`m${i}`) : other.userId(`m${i}`));
    const at = room.sendMessage(a.userId('alice'), 'after the members');
    const stateIds = [...room.stateBefore(at).values()];

    // Whole and right: more than two pieces of events, as one JSON document.
    const res = await b.client.state(a.serverName, room.roomId, at);
    expect(res.status).toBe(200);
    const idOf = (e: PDU) => eventId(e, room.version);
    expect(res.body!.pdus.map(idOf).sort()).toEqual([...stateIds].sort());
    expect(res.body!.auth_chain.map(idOf).sort()).toEqual(room.authChain(stateIds).sort());
    const logged = a.requests('state').at(-1)!;
    expect(logged.responseBytes).toBe(Buffer.byteLength(res.raw));
    expect(logged.responseBody).toEqual(expect.stringMatching(new RegExp(`… \\(${res.raw.length} chars\\)$`)));

    // A reader that stops reading: the remote still answers other requests (here a bystander's
    // keys) meanwhile, and the answer completes once read.
    const uri = `/_matrix/federation/v1/state/${encodeURIComponent(room.roomId)}?event_id=${encodeURIComponent(at)}`;
    const authorization = signRequest({ method: 'GET', uri, origin: b.serverName, destination: a.serverName }, b.key);
    const slow = await request(`${baseUrlFor(a.serverName)}${uri}`, { headers: { host: a.serverName, authorization }, dispatcher: federationAgent() });
    expect(slow.statusCode).toBe(200);
    const keys = await request(`${baseUrlFor(other.serverName)}/_matrix/key/v2/server`, { dispatcher: federationAgent() });
    expect(keys.statusCode).toBe(200);
    expect(((await keys.body.json()) as { server_name: string }).server_name).toBe(other.serverName);
    expect(Buffer.byteLength(await slow.body.text())).toBe(Buffer.byteLength(res.raw));
  });
});

