/**
 * The wire-format schemas: every schema compiles, valid samples pass, and invalid ones fail with
 * the JSON path of the fault in the message.
 */
import { test, expect } from '@playwright/test';
import { validate, type SchemaId } from '../../harness/checks/schema.ts';
import { buildRoom, makeJoinObservation, sendJoinObservation, stateObservation } from '../../harness/checks/testing/synthetic-room.ts';

const v10 = buildRoom({ roomVersion: '10' });
const v11 = buildRoom({ roomVersion: '11', named: true });
const v12 = buildRoom({ roomVersion: '12' });
const full12 = sendJoinObservation(v12).response.body as Record<string, unknown[]>;
const partial = sendJoinObservation(v10, { partial: true }).response.body as Record<string, unknown[]>;
const full11 = sendJoinObservation(v11).response.body as Record<string, unknown[]>;
const event = (body: Record<string, unknown[]>, type: string) => structuredClone(body.state.find((e) => (e as { type: string }).type === type)) as Record<string, unknown>;

/** Spec example shape (examples/components/pdu_base.json), with a v4+ event ID and real-length hash and signature. */
const specLikePdu = {
  room_id: '!UcYsUzyxTGDxLBEvLy:example.org',
  sender: '@alice:example.com',
  origin_server_ts: 1404838188000,
  depth: 12,
  type: 'm.room.message',
  content: { key: 'value' },
  prev_events: ['$Rqnc-F-dvnEYJTyHq_iKxU2bZ1CI92-kuZq3a5lr5Zg'],
  auth_events: ['$Rqnc-F-dvnEYJTyHq_iKxU2bZ1CI92-kuZq3a5lr5Zg'],
  hashes: { sha256: '5jM4wQpv6lnBo7CLIghJuHdW+s2CMBJPUOGOC89ncos' },
  signatures: { 'example.com': { 'ed25519:key_version': 'KxwGjPSDEtvnFgU00fwFz+l6d2pJM6XBIaMEn81SXPTRl16AqLAYqfIReFGZlHi5KLjAWbOoMszkwsQma+lYAg' } },
  unsigned: { age: 4612 },
};

/** Room versions 1 and 2: the event carries its ID; references are [event_id, {sha256}] pairs. */
const v1Pdu = {
  ...specLikePdu,
  event_id: '$a1b2c3:example.com',
  prev_events: [['$prev:example.org', { sha256: '5jM4wQpv6lnBo7CLIghJuHdW+s2CMBJPUOGOC89ncos' }]],
  auth_events: [['$auth:example.org', { sha256: 'KxwGjPSDEtvnFgU00fwFz+l6d2pJM6XBIaMEn81SXPQ' }]],
};
/** Room version 3: standard Base64 event IDs. */
const v3Pdu = { ...specLikePdu, prev_events: ['$Rqnc+F+dvnEYJTyHq/iKxU2bZ1CI92+kuZq3a5lr5Zg'], auth_events: ['$Rqnc+F+dvnEYJTyHq/iKxU2bZ1CI92+kuZq3a5lr5Zg'] };
/** Room version 12: a room ID without server name. */
const v12Pdu = { ...specLikePdu, room_id: '!Rqnc-F-dvnEYJTyHq_iKxU2bZ1CI92-kuZq3a5lr5Zg' };

const valid: Array<[SchemaId, string, unknown]> = [
  ['pdu-v1', 'v1 event carrying its event_id, references as pairs', v1Pdu],
  ['pdu', 'v1 event against the fields shared by every version', v1Pdu],
  ['pdu-v3', 'v3 event with standard Base64 IDs', v3Pdu],
  ['pdu-v4', 'spec-like message event in versions 4-9', specLikePdu],
  ['pdu-v12', 'v12 message in a room ID without server name', v12Pdu],
  ['pdu-v12', 'v12 create event without room_id', event(full12, 'm.room.create')],
  ['pdu-v12', 'v12 power levels without the creator', event(full12, 'm.room.power_levels')],
  ['send-join-v2-response', 'v12 full answer', full12],
  ['make-join-response', 'v12 join template', makeJoinObservation(v12).response.body],
  ['pdu-v10', 'spec-like message event', specLikePdu],
  ['pdu-v11', 'spec-like message event', specLikePdu],
  ['pdu-v10', 'v10 create event with creator', event(partial, 'm.room.create')],
  ['pdu-v11', 'v11 create event without creator', event(full11, 'm.room.create')],
  ['pdu-v10', 'membership on an IPv6 server with port', { ...event(partial, 'm.room.member'), sender: '@a:[::1]:8448', state_key: '@a:[::1]:8448' }],
  ['send-join-v2-response', 'partial answer', partial],
  ['send-join-v2-response', 'full answer', full11],
  ['send-join-v2-response', 'unstable names', sendJoinObservation(v10, { partial: true, unstable: true }).response.body],
  ['make-join-response', 'join template', makeJoinObservation(v10).response.body],
  ['state-response', '/state answer', stateObservation(v10, 'state').response.body],
  ['state-ids-response', '/state_ids answer', stateObservation(v10, 'state_ids').response.body],
  ['transaction', 'transaction with a PDU and an EDU', { origin: 'example.com', origin_server_ts: 1, pdus: [specLikePdu], edus: [{ edu_type: 'm.typing', content: {} }] }],
  ['matrix-error', 'error body', { errcode: 'M_INVALID_PARAM', error: 'omit_members must be a boolean' }],
];

for (const [schema, name, value] of valid) {
  test(`${schema} accepts: ${name}`, () => {
    const result = validate(schema, value);
    expect(result.ok ? [] : result.errors).toEqual([]);
  });
}

/** [schema, case, value, a fragment the error list must contain (path and message)] */
const invalid: Array<[SchemaId, string, unknown, string]> = [
  ['pdu-v1', 'v1 event without event_id', (() => { const { event_id: _e, ...rest } = v1Pdu; return rest; })(), "/: must have required property 'event_id'"],
  ['pdu-v1', 'v1 references as bare IDs', { ...v1Pdu, prev_events: ['$prev:example.org'] }, '/prev_events/0: must be array'],
  ['pdu-v3', 'v3 event with URL-safe IDs', { ...v3Pdu, prev_events: ['$Rqnc-F-dvnEYJTyHq_iKxU2bZ1CI92-kuZq3a5lr5Zg'] }, '/prev_events/0: must match pattern'],
  ['pdu-v12', 'v12 create event with a room_id', { ...event(full12, 'm.room.create'), room_id: v12Pdu.room_id }, '/: must NOT be valid'],
  ['pdu-v12', 'v12 message in a room ID with a server name', specLikePdu, '/room_id: must match pattern'],
  ['pdu-v11', 'v11 message in a v12 room ID', v12Pdu, '/room_id: must match pattern'],
  ['send-join-v2-response', 'numeric content hash', (() => { const b = structuredClone(partial); (b.state[3] as { hashes: { sha256: unknown } }).hashes.sha256 = 5; return b; })(), '/state/3/hashes/sha256: must be string'],
  ['send-join-v2-response', 'members_omitted without servers_in_room', (() => { const b = structuredClone(partial) as Record<string, unknown>; delete b.servers_in_room; return b; })(), "/: must have required property 'servers_in_room'"],
  ['send-join-v2-response', 'members_omitted as a string', { ...partial, members_omitted: 'true' }, '/members_omitted: must be boolean'],
  ['send-join-v2-response', 'duplicate server in servers_in_room', { ...partial, servers_in_room: ['a.test', 'a.test'] }, '/servers_in_room: must NOT have duplicate items'],
  ['send-join-v2-response', 'state missing', { auth_chain: [] }, "/: must have required property 'state'"],
  ['pdu-v10', 'depth as a string', { ...specLikePdu, depth: '12' }, '/depth: must be integer'],
  ['pdu-v10', 'depth beyond 2^53 - 2', { ...specLikePdu, depth: 2 ** 53 }, '/depth: must be <= 9007199254740990'],
  ['pdu-v10', 'sender without server name', { ...specLikePdu, sender: 'alice' }, '/sender: must match pattern'],
  ['pdu-v10', 'room ID without sigil', { ...specLikePdu, room_id: 'UcYsUzyxTGDxLBEvLy:example.org' }, '/room_id: must match pattern'],
  ['pdu-v10', 'v3-style event ID in prev_events', { ...specLikePdu, prev_events: ['$abc:example.org'] }, '/prev_events/0: must match pattern'],
  ['pdu-v10', 'eleven auth events', { ...specLikePdu, auth_events: Array.from({ length: 11 }, (_, i) => `$${'A'.repeat(42)}${'ABCDEFGHIJK'[i]}`) }, '/auth_events: must NOT have more than 10 items'],
  ['pdu-v10', 'hashes without sha256', { ...specLikePdu, hashes: {} }, "/hashes: must have required property 'sha256'"],
  ['pdu-v10', 'signature of a bad key ID', { ...specLikePdu, signatures: { 'example.com': { 'ed25519:bad id': 'AAAA' } } }, '/signatures/example.com: must match pattern'],
  ['pdu-v10', 'v10 create event without creator', (() => { const c = event(full11, 'm.room.create'); return c; })(), "/content: must have required property 'creator'"],
  ['pdu-v10', 'power levels as strings', (() => { const p = event(partial, 'm.room.power_levels'); (p.content as Record<string, unknown>).ban = '50'; return p; })(), '/content/ban: must be integer'],
  ['pdu-v10', 'membership without membership', (() => { const m = event(partial, 'm.room.member'); m.content = {}; return m; })(), "/content: must have required property 'membership'"],
  ['pdu-v11', 'v11 redaction without content.redacts', { ...specLikePdu, type: 'm.room.redaction', content: {} }, "/content: must have required property 'redacts'"],
  ['pdu-v10', 'v10 redaction without top-level redacts', { ...specLikePdu, type: 'm.room.redaction', content: {} }, "/: must have required property 'redacts'"],
  ['make-join-response', 'template for a leave', (() => { const b = structuredClone(makeJoinObservation(v10).response.body) as { event: { content: Record<string, unknown> } }; b.event.content.membership = 'leave'; return b; })(), '/event/content/membership: must be equal to constant: "join"'],
  ['state-ids-response', 'full events instead of IDs', { pdu_ids: [specLikePdu], auth_chain_ids: [] }, '/pdu_ids/0: must be string'],
  ['transaction', '51 PDUs', { origin: 'example.com', origin_server_ts: 1, pdus: Array(51).fill(specLikePdu) }, '/pdus: must NOT have more than 50 items'],
  ['transaction', 'origin with a path', { origin: 'example.com/x', origin_server_ts: 1, pdus: [] }, '/origin: must match pattern'],
  ['matrix-error', 'no errcode', { error: 'x' }, "/: must have required property 'errcode'"],
];

for (const [schema, name, value, fragment] of invalid) {
  test(`${schema} refuses: ${name}`, () => {
    const result = validate(schema, value);
    expect(result.ok).toBe(false);
    expect(result.ok ? '' : result.errors.join('\n')).toContain(fragment);
  });
}

test('an unknown schema ID is a one-line error listing the known ones', () => {
  expect(() => validate('nope' as SchemaId, {})).toThrow(/unknown schema "nope"; known: .*send-join-v2-response/);
});
