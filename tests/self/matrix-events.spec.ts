/**
 * Events: redaction per room version (one test per rule), event IDs, signing and the validation of
 * received events, and the room version table.
 */
import { test, expect } from '@playwright/test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import nacl from 'tweetnacl';
import {
  ROOM_VERSIONS, canonicalJson, contentHash, cosignEvent, decodeBase64, eventId, redactEvent,
  referenceHash, roomIdFromCreateEvent, roomVersion, signEvent, verifyEvent, type KeyLookup, type PDU,
} from '../../harness/matrix/index.ts';
import { checkedGeneratedKey } from '../../harness/matrix/testing/oracle.ts';

/** A PDU with the given type/content and every top-level key some redaction algorithm treats specially. */
function pdu(type: string, content: Record<string, unknown>, extra: Record<string, unknown> = {}): PDU {
  return {
    room_id: '!room:a.example', sender: '@alice:a.example', type, state_key: '', content,
    origin_server_ts: 1_700_000_000_000, depth: 5, prev_events: ['$prev'], auth_events: ['$auth'],
    hashes: { sha256: 'aGFzaA' }, signatures: { 'a.example': { 'ed25519:x': 'c2ln' } }, unsigned: { age: 5 },
    origin: 'a.example', membership: 'join', prev_state: [], event_id: '$id', redacts: '$target', extra_top: 1,
    ...extra,
  };
}

test.describe('redaction: top-level keys', () => {
  test('v1-v10 keep origin, membership and prev_state; v11 drops them', () => {
    const event = pdu('m.room.message', { body: 'hi' });
    for (const v of ['1', '6', '8', '10']) {
      expect(Object.keys(redactEvent(event, v)).sort(), `room v${v}`).toEqual([
        'auth_events', 'content', 'depth', 'event_id', 'hashes', 'membership', 'origin', 'origin_server_ts',
        'prev_events', 'prev_state', 'room_id', 'sender', 'signatures', 'state_key', 'type',
      ]);
    }
    expect(Object.keys(redactEvent(event, '11')).sort()).toEqual([
      'auth_events', 'content', 'depth', 'event_id', 'hashes', 'origin_server_ts', 'prev_events', 'room_id', 'sender',
      'signatures', 'state_key', 'type',
    ]);
  });

  test('unsigned, top-level redacts and unknown keys are dropped in every version', () => {
    for (const v of Object.keys(ROOM_VERSIONS)) {
      const redacted = redactEvent(pdu('m.room.redaction', {}), v);
      expect(redacted, `room v${v}`).not.toHaveProperty('unsigned');
      expect(redacted, `room v${v}`).not.toHaveProperty('redacts');
      expect(redacted, `room v${v}`).not.toHaveProperty('extra_top');
    }
  });

  test('content is always present, even when the event had none', () => {
    const { content: _content, ...noContent } = pdu('m.room.message', {});
    expect(redactEvent(noContent as PDU, '10').content).toEqual({});
    expect(redactEvent(pdu('m.room.message', { body: 'x', msgtype: 'm.text' }), '11').content).toEqual({});
  });
});

test.describe('redaction: content keys per event type', () => {
  const keep = (type: string, content: Record<string, unknown>, v: string) => redactEvent(pdu(type, content), v).content;

  test('m.room.member keeps membership; join_authorised_via_users_server from v9; third_party_invite.signed from v11', () => {
    const content = {
      membership: 'invite', displayname: 'A', join_authorised_via_users_server: '@b:b.example',
      third_party_invite: { display_name: 'x', signed: { mxid: '@c:c.example', token: 't', signatures: {} } },
    };
    expect(keep('m.room.member', content, '8')).toEqual({ membership: 'invite' });
    expect(keep('m.room.member', content, '9')).toEqual({ membership: 'invite', join_authorised_via_users_server: '@b:b.example' });
    expect(keep('m.room.member', content, '10')).toEqual({ membership: 'invite', join_authorised_via_users_server: '@b:b.example' });
    expect(keep('m.room.member', content, '11')).toEqual({
      membership: 'invite', join_authorised_via_users_server: '@b:b.example',
      third_party_invite: { signed: { mxid: '@c:c.example', token: 't', signatures: {} } },
    });
    expect(keep('m.room.member', { membership: 'join', third_party_invite: { display_name: 'no signed' } }, '11')).toEqual({ membership: 'join' });
  });

  test('m.room.create keeps only creator up to v10, all content from v11', () => {
    const content = { creator: '@alice:a.example', room_version: '10', 'm.federate': false, predecessor: { room_id: '!old' } };
    expect(keep('m.room.create', content, '10')).toEqual({ creator: '@alice:a.example' });
    expect(keep('m.room.create', content, '11')).toEqual(content);
  });

  test('m.room.join_rules keeps join_rule, and allow from v8', () => {
    const content = { join_rule: 'restricted', allow: [{ type: 'm.room_membership', room_id: '!s' }], other: 1 };
    expect(keep('m.room.join_rules', content, '7')).toEqual({ join_rule: 'restricted' });
    expect(keep('m.room.join_rules', content, '8')).toEqual({ join_rule: 'restricted', allow: content.allow });
    expect(keep('m.room.join_rules', content, '11')).toEqual({ join_rule: 'restricted', allow: content.allow });
  });

  test('m.room.power_levels keeps the eight levels, and invite from v11', () => {
    const levels = { ban: 50, events: { 'm.room.name': 50 }, events_default: 0, kick: 50, redact: 50, state_default: 50, users: { '@alice:a.example': 100 }, users_default: 0 };
    const content = { ...levels, invite: 0, notifications: { room: 50 } };
    expect(keep('m.room.power_levels', content, '10')).toEqual(levels);
    expect(keep('m.room.power_levels', content, '11')).toEqual({ ...levels, invite: 0 });
  });

  test('m.room.aliases keeps aliases up to v5 only', () => {
    expect(keep('m.room.aliases', { aliases: ['#a:a.example'], x: 1 }, '5')).toEqual({ aliases: ['#a:a.example'] });
    expect(keep('m.room.aliases', { aliases: ['#a:a.example'] }, '6')).toEqual({});
  });

  test('m.room.history_visibility keeps history_visibility in every version', () => {
    for (const v of Object.keys(ROOM_VERSIONS)) {
      expect(keep('m.room.history_visibility', { history_visibility: 'shared', x: 1 }, v)).toEqual({ history_visibility: 'shared' });
    }
  });

  test('m.room.redaction keeps content.redacts from v11 only', () => {
    expect(keep('m.room.redaction', { redacts: '$t', reason: 'spam' }, '10')).toEqual({});
    expect(keep('m.room.redaction', { redacts: '$t', reason: 'spam' }, '11')).toEqual({ redacts: '$t' });
  });

  test('other types keep no content', () => {
    expect(keep('m.room.topic', { topic: 't' }, '11')).toEqual({});
    expect(keep('m.room.message', { body: 'b', membership: 'join' }, '10')).toEqual({});
  });
});

/** Events with random content under the types the redaction rules single out. */
const anyEvent = fc.record({
  type: fc.constantFrom('m.room.member', 'm.room.create', 'm.room.join_rules', 'm.room.power_levels', 'm.room.aliases',
    'm.room.history_visibility', 'm.room.redaction', 'm.room.message', 'x.custom'),
  content: fc.dictionary(
    fc.constantFrom('membership', 'creator', 'join_rule', 'allow', 'invite', 'ban', 'users', 'aliases', 'history_visibility',
      'redacts', 'join_authorised_via_users_server', 'third_party_invite', 'body', 'other'),
    fc.oneof(fc.string(), fc.maxSafeInteger(), fc.record({ signed: fc.string(), extra: fc.string() })),
  ),
  depth: fc.nat(),
  text: fc.string(),
}).map(({ type, content, depth, text }) => ({ ...pdu(type, content), depth, origin: text }) as PDU);

const versionIds = fc.constantFrom(...Object.keys(ROOM_VERSIONS));

test('redaction is idempotent and never adds keys', () => {
  fc.assert(
    fc.property(anyEvent, versionIds, (event, v) => {
      const once = redactEvent(event, v);
      assert.deepEqual(redactEvent(once, v), once);
      for (const k of Object.keys(once)) assert.ok(k === 'content' || Object.hasOwn(event, k), `redaction added ${k}`);
    }),
    { numRuns: 400 },
  );
});

/** Shallow and content-level key reordering (the values are JSON-equal). */
function reversedKeys<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).reverse().map(([k, v]) => [k, v !== null && typeof v === 'object' && !Array.isArray(v) ? reversedKeys(v) : v])) as T;
}

test('event IDs and reference hashes are stable under key reordering and ignore signatures and unsigned', () => {
  fc.assert(
    fc.property(anyEvent, fc.constantFrom('3', '4', '10', '11'), (event, v) => {
      const { event_id: _id, ...noId } = event;
      const id = eventId(noId as PDU, v);
      assert.equal(eventId(reversedKeys(noId) as PDU, v), id);
      assert.equal(eventId({ ...noId, signatures: { other: { 'ed25519:z': 'AAAA' } }, unsigned: { age: 99 } } as PDU, v), id);
      assert.equal(Buffer.from(referenceHash(noId as PDU, v)).toString('base64url'), id.slice(1).replaceAll('+', '-').replaceAll('/', '_'));
    }),
    { numRuns: 200 },
  );
});

test.describe('signing and verifying events', () => {
  const alice = checkedGeneratedKey();
  const bob = checkedGeneratedKey();
  const keys: Record<string, typeof alice> = { 'a.example': alice, 'b.example': bob };
  const lookup: KeyLookup = (server, keyId) => (keys[server]?.keyId === keyId ? keys[server].publicKey : undefined);
  const message = (v: string) => signEvent({
    room_id: '!r:a.example', sender: '@alice:a.example', type: 'm.room.message', content: { body: 'hello', msgtype: 'm.text' },
    origin_server_ts: 1_700_000_000_000, depth: 3, prev_events: ['$p'], auth_events: ['$a1', '$a2'], unsigned: { age: 1 },
  }, 'a.example', alice, v);

  test('a signed event verifies, with the same event ID, and tweetnacl agrees with its signature', () => {
    for (const v of ['3', '4', '10', '11', '12']) {
      const { event, eventId: id } = message(v);
      expect(event.hashes!.sha256).toBe(contentHash(event));
      const result = verifyEvent(event, v, lookup);
      expect(result, `room v${v}`).toMatchObject({ ok: true, signaturesOk: true, hashOk: true, eventId: id, errors: [] });
      expect(result.effective).toBe(event);
      const { signatures, unsigned: _u, ...redacted } = redactEvent(event, v);
      const signature = decodeBase64(signatures!['a.example'][alice.keyId]);
      expect(nacl.sign.detached.verify(Buffer.from(canonicalJson(redacted)), signature, alice.publicKey)).toBe(true);
    }
  });

  test('for any event and room version, signEvent\'s event verifies and gets the ID verifyEvent computes', () => {
    fc.assert(
      fc.property(anyEvent, versionIds, (event, v) => {
        const { hashes: _h, signatures: _s, event_id: _id, ...input } = event;
        if (roomVersion(v).eventIdFormat === 'v1') (input as PDU).event_id = '$fixed:a.example';
        const signed = signEvent(input, 'a.example', alice, v);
        const result = verifyEvent(signed.event, v, lookup);
        assert.deepEqual(result.errors, []);
        assert.equal(result.eventId, signed.eventId);
        assert.equal(eventId(signed.event, v), signed.eventId);
      }),
      { numRuns: 100 },
    );
  });

  test('changed non-essential content: signatures still verify, the hash fails, the redacted copy is effective', () => {
    const { event, eventId: id } = message('10');
    const result = verifyEvent({ ...event, content: { body: 'edited', msgtype: 'm.text' } }, '10', lookup);
    expect(result).toMatchObject({ ok: false, signaturesOk: true, hashOk: false, eventId: id });
    expect(result.effective.content).toEqual({});
    expect(result.effective).not.toHaveProperty('unsigned');
    expect(result.errors).toEqual([expect.stringMatching(/^content hash mismatch: hashes\.sha256 is \S+, computed \S+$/)]);
  });

  test('an event received already redacted keeps its ID and valid signatures', () => {
    const { event, eventId: id } = message('11');
    const result = verifyEvent(redactEvent(event, '11'), '11', lookup);
    expect(result).toMatchObject({ signaturesOk: true, hashOk: false, eventId: id });
  });

  test('changed essential fields break the signature', () => {
    const { event } = message('10');
    const result = verifyEvent({ ...event, depth: 4 }, '10', lookup);
    expect(result.signaturesOk).toBe(false);
    expect(result.errors).toContain(`signature check failed for a.example: bad signature by a.example/${alice.keyId}`);
  });

  test('an unknown key or a missing signature fails with the reason', () => {
    const { event } = message('10');
    expect(verifyEvent(event, '10', () => undefined).errors).toEqual([`signature check failed for a.example: unknown key a.example/${alice.keyId}`]);
    const { signatures: _s, ...unsignedEvent } = event;
    expect(verifyEvent(unsignedEvent as PDU, '10', lookup).errors).toEqual(['signature check failed for a.example: no signatures block']);
    const { hashes: _h, ...noHashes } = event;
    expect(verifyEvent(noHashes as PDU, '10', lookup).errors).toContain('no hashes.sha256 on the event');
  });

  test('requiredServers adds servers whose signatures must verify', () => {
    const { event } = message('10');
    expect(verifyEvent(event, '10', lookup, { requiredServers: ['b.example'] }).errors)
      .toEqual(['signature check failed for b.example: no signature from b.example (signed by: a.example)']);
    const cosigned = cosignEvent(event, 'b.example', bob, '10');
    expect(verifyEvent(cosigned, '10', lookup, { requiredServers: ['b.example'] }).ok).toBe(true);
  });

  test('a restricted join needs the signature of the authorising user\'s server in v8+, not before', () => {
    const join = {
      room_id: '!r:b.example', sender: '@alice:a.example', state_key: '@alice:a.example', type: 'm.room.member',
      content: { membership: 'join', join_authorised_via_users_server: '@bob:b.example' },
      origin_server_ts: 1, depth: 9, prev_events: ['$p'], auth_events: ['$a'],
    };
    const signed10 = signEvent(join, 'a.example', alice, '10');
    expect(verifyEvent(signed10.event, '10', lookup)).toMatchObject({
      ok: false, errors: ['signature check failed for b.example: no signature from b.example (signed by: a.example)'],
    });
    const cosigned = cosignEvent(signed10.event, 'b.example', bob, '10');
    expect(verifyEvent(cosigned, '10', lookup)).toMatchObject({ ok: true, eventId: signed10.eventId });
    // Room v7 has no restricted joins: the key is ordinary (and redacted) content there.
    expect(verifyEvent(signEvent(join, 'a.example', alice, '7').event, '7', lookup).ok).toBe(true);
  });

  test('a third-party invite may be signed by a server other than the sender\'s', () => {
    const invite = {
      room_id: '!r:a.example', sender: '@alice:a.example', state_key: '@erin:e.example', type: 'm.room.member',
      content: { membership: 'invite', third_party_invite: { display_name: 'e', signed: { mxid: '@erin:e.example', token: 't', signatures: {} } } },
      origin_server_ts: 1, depth: 4, prev_events: ['$p'], auth_events: ['$a'],
    };
    const byBob = signEvent(invite, 'b.example', bob, '10').event;
    expect(verifyEvent(byBob, '10', lookup)).toMatchObject({ ok: true, errors: [] });
    // Unknown signers are skipped, but some known signature must be there, and a bad one fails.
    expect(verifyEvent(signEvent(invite, 'z.example', checkedGeneratedKey(), '10').event, '10', lookup))
      .toMatchObject({ signaturesOk: false, errors: ['third-party invite: no signature by a known key'] });
    const forged = { ...byBob, signatures: { 'b.example': { [bob.keyId]: byBob.signatures!['b.example'][bob.keyId].replace(/^./, (c) => (c === 'A' ? 'B' : 'A')) } } };
    expect(verifyEvent(forged, '10', lookup).errors).toEqual([`signature check failed for b.example: bad signature by b.example/${bob.keyId}`]);
  });

  test('room v1/v2 events carry their ID and also need the signature of its server', () => {
    const withId = { ...message('10').event, event_id: '$abc:b.example' };
    const { hashes: _h, signatures: _s, ...input } = withId;
    const { event, eventId: id } = signEvent(input, 'a.example', alice, '1');
    expect(id).toBe('$abc:b.example');
    expect(verifyEvent(event, '1', lookup).errors).toEqual(['signature check failed for b.example: no signature from b.example (signed by: a.example)']);
    expect(verifyEvent(cosignEvent(event, 'b.example', bob, '1'), '1', lookup).ok).toBe(true);
    expect(() => eventId(message('10').event, '2')).toThrow('room version 2 events carry their own event_id, and this one has none');
  });
});

test('room version 12 derives the room ID from the create event, which has no room_id', () => {
  const creator = checkedGeneratedKey();
  const create = signEvent({
    sender: '@alice:a.example', type: 'm.room.create', state_key: '', content: { room_version: '12' },
    origin_server_ts: 1, depth: 1, prev_events: [], auth_events: [],
  } as unknown as PDU, 'a.example', creator, '12');
  const roomId = roomIdFromCreateEvent(create.event, '12');
  expect(roomId).toMatch(/^![A-Za-z0-9_-]{43}$/);
  expect(roomId.slice(1)).toBe(create.eventId.slice(1)); // the same reference hash
  expect(() => roomIdFromCreateEvent(create.event, '11')).toThrow('room version 11 does not derive room IDs from the create event');
});

test('room version table', () => {
  expect(Object.keys(ROOM_VERSIONS)).toEqual(['1', '2', '3', '4', '5', '6', '7', '8', '9', '10', '11', '12']);
  expect(roomVersion('7')).toMatchObject({ knocking: true, restrictedJoins: false, eventIdFormat: 'v4', redaction: 'v6' });
  expect(roomVersion('8')).toMatchObject({ restrictedJoins: true, knockRestricted: false, redaction: 'v8' });
  expect(roomVersion('10')).toMatchObject({ knockRestricted: true, integerPowerLevels: true, createHasCreator: true, redaction: 'v9' });
  expect(roomVersion('11')).toMatchObject({ createHasCreator: false, redactsInContent: true, redaction: 'v11', createInAuthEvents: true });
  expect(roomVersion('12')).toMatchObject({ redaction: 'v11', createInAuthEvents: false, roomIdFromCreateEvent: true });
  expect(roomVersion('3').eventIdFormat).toBe('v3');
  expect(roomVersion('2').eventIdFormat).toBe('v1');
  expect(() => roomVersion('org.example.custom')).toThrow('unknown room version "org.example.custom" (known: 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12)');
  expect(() => roomVersion('toString')).toThrow(/unknown room version "toString"/);
});
