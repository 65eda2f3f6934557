import { expect } from '@playwright/test';
import { eventId, signRequest, verifyEvent } from '../../harness/matrix/index.ts';
import { remoteTest as test } from '../../harness/remote/fixture.ts';
import { errcodeOf, legacySendJoinV1, sendJoinHandler, type Remote } from '../../harness/remote/index.ts';

/** Settles within `ms` or fails naming what was awaited. */
function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  return Promise.race([promise, new Promise<T>((_r, reject) => setTimeout(() => reject(new Error(`${what} did not settle within ${ms} ms`)), ms))]);
}

async function roomOn(a: Remote) {
  const room = a.createRoom();
  room.join(a.userId('bob'));
  return room;
}

test.describe('scripting a remote', () => {
  test('a held state_ids is answered only when the test releases it', async ({ makeRemote }) => {
    const a = await makeRemote();
    const b = await makeRemote();
    const room = await roomOn(a);
    const at = room.forwardExtremities()[0];
    const gate = a.gate('state_ids');
    let answered = false;
    const call = b.client.stateIds(a.serverName, room.roomId, at).then((r) => ((answered = true), r));
    const held = await gate.arrived(5000);
    expect(held).toMatchObject({ route: 'state_ids', origin: b.serverName, params: { roomId: room.roomId } });
    expect(held.query.get('event_id')).toBe(at);
    expect(answered).toBe(false);
    expect(a.requests('state_ids')[0].heldBy).toBe('gate on state_ids');
    gate.release();
    const res = await call;
    expect(res.status).toBe(200);
    expect(res.body!.pdu_ids.length).toBeGreaterThan(0);
  });

  test('a gate released with a custom response answers with it', async ({ makeRemote }) => {
    const a = await makeRemote();
    const b = await makeRemote();
    const room = await roomOn(a);
    const gate = a.gate('state_ids');
    const call = b.client.stateIds(a.serverName, room.roomId, room.forwardExtremities()[0]);
    await gate.arrived(5000);
    gate.release({ status: 403, body: { errcode: 'M_FORBIDDEN', error: 'held and refused' } });
    expect((await call).body).toEqual({ errcode: 'M_FORBIDDEN', error: 'held and refused' });
  });

  test('a gate never released is released by close(), so the caller does not hang', async ({ makeRemote }) => {
    const a = await makeRemote();
    const b = await makeRemote();
    const room = await roomOn(a);
    const gate = a.gate('state_ids');
    a.gate('state_ids'); // a second gate, never reached: close() must not trip on it
    const call = b.client.stateIds(a.serverName, room.roomId, room.forwardExtremities()[0]).then(
      (r) => r.status,
      (e: Error) => e.message,
    );
    await gate.arrived(5000);
    await a.close();
    expect(await within(call, 5000, 'the held state_ids call')).toBe(200);
  });

  test('a body dribbled out piece by piece arrives whole; one that never ends is cut by close()', async ({ makeRemote }) => {
    const a = await makeRemote();
    const b = await makeRemote();
    const room = await roomOn(a);
    const at = room.forwardExtremities()[0];
    const nextTurn = () => new Promise((resolve) => setImmediate(resolve));
    a.route('state_ids', () => ({
      status: 200,
      chunks: async function* () {
        yield '{"pdu_ids":[';
        await nextTurn();
        yield '"$a"';
        await nextTurn();
        yield '],"auth_chain_ids":[]}';
      },
    }));
    const whole = await b.client.stateIds(a.serverName, room.roomId, at);
    expect(whole.status).toBe(200);
    expect(whole.body).toEqual({ pdu_ids: ['$a'], auth_chain_ids: [] });

    let began!: () => void;
    let ended!: () => void;
    const beganDribbling = new Promise<void>((resolve) => (began = resolve));
    const endedDribbling = new Promise<void>((resolve) => (ended = resolve));
    a.route('state_ids', () => ({
      status: 200,
      chunks: async function* () {
        try {
          yield '{"pdu_ids":[';
          began();
          for (;;) {
            await nextTurn();
            yield ' ';
          }
        } finally {
          ended();
        }
      },
    }));
    const endless = b.client.stateIds(a.serverName, room.roomId, at).then(
      (r) => `answered ${r.status}`,
      (e: Error) => e.message,
    );
    await within(beganDribbling, 5000, 'the first piece of the endless answer');
    await a.close();
    expect(await within(endless, 5000, 'the endless state_ids call')).not.toMatch(/^answered/);
    await within(endedDribbling, 5000, 'the end of the dribbling body once the connection is cut');
  });

  test('requests with a bad signature, another destination or no auth get 401 M_UNAUTHORIZED and are recorded', async ({ makeRemote }) => {
    const a = await makeRemote();
    const b = await makeRemote();
    const path = '/_matrix/federation/v1/user/devices/' + encodeURIComponent(a.userId('bob'));
    const signedForOtherPath = signRequest({ method: 'GET', uri: '/_matrix/federation/v1/version', origin: b.serverName, destination: a.serverName }, b.key);
    const badSig = await b.client.request('GET', a.serverName, path, { authorization: signedForOtherPath });
    const otherDestination = await b.client.request('GET', a.serverName, path, { signedDestination: '127.0.0.1:1' });
    const none = await b.client.request('GET', a.serverName, path, { unsigned: true });
    const good = await b.client.request('GET', a.serverName, path);
    for (const res of [badSig, otherDestination, none]) {
      expect(res.status).toBe(401);
      expect(res.body.errcode).toBe('M_UNAUTHORIZED');
    }
    expect(good.status).toBe(200);
    const auths = a.requests('user_devices').map((r) => r.auth.kind);
    expect(auths).toEqual(['failed', 'failed', 'failed', 'ok']);
    expect(a.requests('user_devices')[1].auth).toMatchObject({ kind: 'failed', origin: b.serverName, reason: expect.stringMatching(/destination/) });
  });

  test('an unknown route gets 404 M_UNRECOGNIZED, a wrong method 405, and both are recorded', async ({ makeRemote }) => {
    const a = await makeRemote();
    const b = await makeRemote();
    const unknown = await b.client.request('GET', a.serverName, '/_matrix/federation/v1/no_such_thing');
    expect(unknown.status).toBe(404);
    expect(unknown.body.errcode).toBe('M_UNRECOGNIZED');
    expect(unknown.headers['content-type']).toBe('application/json');
    const wrongMethod = await b.client.request('POST', a.serverName, '/_matrix/federation/v1/version', { body: {} });
    expect(wrongMethod.status).toBe(405);
    expect(wrongMethod.body.errcode).toBe('M_UNRECOGNIZED');
    expect(a.requests('unknown')).toMatchObject([{ path: '/_matrix/federation/v1/no_such_thing', status: 404 }]);
    expect(a.formatLog()).toContain('[unknown] GET /_matrix/federation/v1/no_such_thing');
  });

  test('faults: status, malformed JSON, dropped connection, delay, bad signatures', async ({ makeRemote }) => {
    const a = await makeRemote();
    const b = await makeRemote();
    const room = await roomOn(a);
    const at = room.forwardExtremities()[0];
    a.fault('event', { kind: 'status', status: 502 });
    expect((await b.client.event(a.serverName, at)).status).toBe(502);
    a.fault('event', { kind: 'malformed' });
    const malformed = await b.client.event(a.serverName, at);
    expect([malformed.status, malformed.body]).toEqual([200, undefined]);
    a.fault('event', { kind: 'drop' });
    await expect(b.client.event(a.serverName, at)).rejects.toThrow(new RegExp(`GET https://${a.serverName.replace(/\./g, '\\.')}/_matrix/federation/v1/event/`));
    a.fault('event', { kind: 'delay', ms: 300 });
    const t0 = Date.now();
    expect((await b.client.event(a.serverName, at)).status).toBe(200);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(300);
    a.fault('event', { kind: 'bad-signature' });
    const tampered = (await b.client.event(a.serverName, at)).body!.pdus[0];
    expect((await b.verifyPdu(tampered, room)).signaturesOk).toBe(false);
    // Faults are used up: the next answer is normal and verifies.
    const normal = (await b.client.event(a.serverName, at)).body!.pdus[0];
    expect((await b.verifyPdu(normal, room)).ok).toBe(true);
  });

  test('send_join misbehaviour: no servers_in_room, members left in, wrong members_omitted', async ({ makeRemote }) => {
    const a = await makeRemote();
    const b = await makeRemote();
    const room = a.createRoom({ name: 'named' });
    for (const n of ['m1', 'm2', 'm3']) room.join(a.userId(n));
    a.route('send_join', sendJoinHandler({ serversInRoom: 'omit', leaveMembersIn: 2 }));
    const join = await b.joinRoom(a.serverName, room.roomId, b.userId('j1'));
    expect(join.sendJoin.body!.servers_in_room).toBeUndefined();
    expect(join.sendJoin.body!.members_omitted).toBe(true);
    expect(join.sendJoin.body!.state.filter((e) => e.type === 'm.room.member')).toHaveLength(2);
    a.route('send_join', sendJoinHandler({ membersOmitted: false, serversInRoom: ['wrong.example'] }));
    const second = await b.joinRoom(a.serverName, room.roomId, b.userId('j2'));
    expect(second.sendJoin.body).toMatchObject({ members_omitted: false, servers_in_room: ['wrong.example'] });
    a.resetRoute('send_join');
    const third = await b.joinRoom(a.serverName, room.roomId, b.userId('j3'));
    expect(third.sendJoin.body!.servers_in_room).toEqual([a.serverName, b.serverName].sort());
  });

  test('make_join and send_join refuse what the spec says they refuse; v1 send_join is gone unless installed', async ({ makeRemote }) => {
    const a = await makeRemote();
    const b = await makeRemote();
    const inviteOnly = a.createRoom({ joinRule: 'invite' });
    const forbidden = await b.client.makeJoin(a.serverName, inviteOnly.roomId, b.userId('x'));
    expect([forbidden.status, errcodeOf(forbidden)]).toEqual([403, 'M_FORBIDDEN']);
    const notMine = await b.client.makeJoin(a.serverName, inviteOnly.roomId, a.userId('x'));
    expect(notMine.status).toBe(403);
    const oldVersions = await b.client.makeJoin(a.serverName, inviteOnly.roomId, b.userId('x'), ['9']);
    expect([oldVersions.status, errcodeOf(oldVersions), oldVersions.body?.room_version]).toEqual([400, 'M_INCOMPATIBLE_ROOM_VERSION', '10']);

    const room = a.createRoom();
    const template = (await b.client.makeJoin(a.serverName, room.roomId, b.userId('y'))).body!.event;
    const { signEvent } = await import('../../harness/matrix/index.ts');
    const signed = signEvent(template, b.serverName, b.key, '10');
    const badFlag = await b.client.request('PUT', a.serverName, `/_matrix/federation/v2/send_join/${encodeURIComponent(room.roomId)}/${encodeURIComponent(signed.eventId)}`, {
      query: { omit_members: 'maybe' },
      body: signed.event,
    });
    expect([badFlag.status, badFlag.body.errcode]).toEqual([400, 'M_INVALID_PARAM']);
    const wrongId = await b.client.sendJoin(a.serverName, room.roomId, '$not-the-id', signed.event);
    expect([wrongId.status, errcodeOf(wrongId)]).toEqual([400, 'M_INVALID_PARAM']);
    const v1 = await b.client.request('PUT', a.serverName, `/_matrix/federation/v1/send_join/${encodeURIComponent(room.roomId)}/${encodeURIComponent(signed.eventId)}`, {
      body: signed.event,
    });
    expect([v1.status, v1.body.errcode]).toEqual([404, 'M_UNRECOGNIZED']);
    a.route('send_join_v1', legacySendJoinV1);
    const legacy = await b.client.request('PUT', a.serverName, `/_matrix/federation/v1/send_join/${encodeURIComponent(room.roomId)}/${encodeURIComponent(signed.eventId)}`, {
      body: signed.event,
    });
    expect(legacy.status).toBe(200);
    expect(legacy.body[0]).toBe(200);
    expect(legacy.body[1].state.length).toBeGreaterThan(0);
  });

  test('history routes: event, event_auth, get_missing_events, backfill, directory, leave', async ({ makeRemote }) => {
    const a = await makeRemote();
    const b = await makeRemote();
    const room = a.createRoom({ alias: `#lobby:${a.serverName}` });
    const bob = a.userId('bob');
    room.join(bob);
    const first = room.sendMessage(bob, 'one');
    const second = room.sendMessage(bob, 'two');
    const third = room.sendMessage(bob, 'three');
    const auth = await b.client.eventAuth(a.serverName, room.roomId, third);
    expect(auth.body!.auth_chain.map((e) => eventId(e, '10')).sort()).toEqual(room.authChain([third]).sort());
    const missing = await b.client.getMissingEvents(a.serverName, room.roomId, { earliest_events: [first], latest_events: [third], limit: 10 });
    expect(missing.body!.events.map((e) => eventId(e, '10'))).toEqual([second]);
    const back = await b.client.backfill(a.serverName, room.roomId, [third], 2);
    expect(back.body!.pdus.map((e) => eventId(e, '10'))).toEqual([second, third]);
    const dir = await b.client.queryDirectory(a.serverName, `#lobby:${a.serverName}`);
    expect(dir.body).toEqual({ room_id: room.roomId, servers: [a.serverName] });
    expect((await b.client.queryDirectory(a.serverName, '#nope:x')).status).toBe(404);

    const join = await b.joinRoom(a.serverName, room.roomId, b.userId('z'));
    expect(join.invalidEvents).toEqual([]);
    const leaveTemplate = (await b.client.makeLeave(a.serverName, room.roomId, b.userId('z'))).body!.event;
    const { signEvent } = await import('../../harness/matrix/index.ts');
    const leave = signEvent(leaveTemplate, b.serverName, b.key, '10');
    expect((await b.client.sendLeave(a.serverName, room.roomId, leave.eventId, leave.event)).status).toBe(200);
    expect(room.membership(b.userId('z'))).toBe('leave');
    expect(verifyEvent(room.mustEvent(leave.eventId), '10', b.keys.lookup).ok).toBe(true);
  });

  test('bystander servers: keys always served; federation 404, dropped, hung until close, served, or refused when offline', async ({ makeRemote }) => {
    const a = await makeRemote();
    const b = await makeRemote();
    const quiet = await a.addServer({ mode: 'not-found' });
    const dropping = await a.addServer({ mode: 'drop' });
    const hanging = await a.addServer({ mode: 'hang' });
    for (const s of [quiet, dropping, hanging]) {
      await b.keys.ensure(s.serverName, s.key.keyId);
      expect(b.keys.lookup(s.serverName, s.key.keyId)).toEqual(s.key.publicKey);
    }
    expect((await b.client.userDevices(quiet.serverName, quiet.userId('u'))).status).toBe(404);
    await expect(b.client.userDevices(dropping.serverName, dropping.userId('u'))).rejects.toThrow(/failed/);
    const hung = b.client.userDevices(hanging.serverName, hanging.userId('u')).then(
      (r) => `status ${r.status}`,
      () => 'connection closed',
    );
    await within(
      (async () => {
        while (!a.requests('user_devices').some((r) => r.to === hanging.serverName)) await new Promise((r) => setImmediate(r));
      })(),
      5000,
      'the request reaching the hanging bystander',
    );
    // A bystander that goes offline refuses connections; one switched to `serve` answers.
    await quiet.goOffline();
    await expect(b.client.userDevices(quiet.serverName, quiet.userId('u'))).rejects.toThrow(/ECONNREFUSED/);
    dropping.setMode('serve');
    expect((await b.client.userDevices(dropping.serverName, dropping.userId('u'))).status).toBe(200);
    await a.close();
    expect(await within(hung, 5000, 'the call to the hanging bystander')).toBe('connection closed');
  });

  test('a bounded expectation names what it awaited when the bound is hit', async ({ remote }) => {
    await expect(remote.expectPdu({ type: 'm.room.member', sender: '@nobody:x' }, { within: 100 })).rejects.toThrow(
      /no PDU matching \{"type":"m.room.member","sender":"@nobody:x"\} reached .* within 100 ms; none received/,
    );
    const gate = remote.gate('make_join');
    await expect(gate.arrived(50)).rejects.toThrow(/no make_join request reached the gate .* within 50 ms/);
  });
});
