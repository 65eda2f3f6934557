/** "Auth events selection" over a small room state. */
import { test, expect } from '@playwright/test';
import { selectAuthEvents, stateKey, parseStateKey, type PDU, type StateMap } from '../../harness/matrix/index.ts';

/** A room where @alice (creator) and @bob are joined, @carol is invited, with a pending 3pid invite. */
function room(): { state: StateMap; lookup: (id: string) => PDU | undefined } {
  const state: StateMap = new Map([
    [stateKey('m.room.create', ''), '$create'],
    [stateKey('m.room.power_levels', ''), '$power'],
    [stateKey('m.room.join_rules', ''), '$rules'],
    [stateKey('m.room.member', '@alice:a.example'), '$alice'],
    [stateKey('m.room.member', '@bob:b.example'), '$bob'],
    [stateKey('m.room.member', '@carol:c.example'), '$carol'],
    [stateKey('m.room.third_party_invite', 'tok123'), '$3pid'],
    [stateKey('m.room.name', ''), '$name'],
  ]);
  const known = new Set(state.values());
  return { state, lookup: (id) => (known.has(id) ? ({ event_id: id } as unknown as PDU) : undefined) };
}

const member = (sender: string, target: string, content: Record<string, unknown>) =>
  ({ type: 'm.room.member', sender, state_key: target, content });

test('a non-member event: create, power levels, the sender\'s membership', () => {
  const { state, lookup } = room();
  expect(selectAuthEvents({ type: 'm.room.message', sender: '@bob:b.example', content: { body: 'x' } }, state, lookup, '10'))
    .toEqual(['$create', '$power', '$bob']);
  expect(selectAuthEvents({ type: 'm.room.name', state_key: '', sender: '@alice:a.example', content: { name: 'n' } }, state, lookup, '11'))
    .toEqual(['$create', '$power', '$alice']);
});

test('the create event has no auth events, and is never selected for itself', () => {
  const { state, lookup } = room();
  expect(selectAuthEvents({ type: 'm.room.create', state_key: '', sender: '@alice:a.example', content: {} }, state, lookup, '10')).toEqual([]);
});

test('a join by a new user: the target is the sender, join rules are included', () => {
  const { state, lookup } = room();
  expect(selectAuthEvents(member('@dan:d.example', '@dan:d.example', { membership: 'join' }), state, lookup, '10'))
    .toEqual(['$create', '$power', '$rules']);
});

test('a join by an invited user includes their invite once', () => {
  const { state, lookup } = room();
  expect(selectAuthEvents(member('@carol:c.example', '@carol:c.example', { membership: 'join' }), state, lookup, '10'))
    .toEqual(['$create', '$power', '$carol', '$rules']);
});

test('an invite of another user: the sender\'s and the target\'s memberships and join rules', () => {
  const { state, lookup } = room();
  expect(selectAuthEvents(member('@alice:a.example', '@carol:c.example', { membership: 'invite' }), state, lookup, '10'))
    .toEqual(['$create', '$power', '$alice', '$carol', '$rules']);
});

test('a third-party invite adds the m.room.third_party_invite named by signed.token', () => {
  const { state, lookup } = room();
  const content = { membership: 'invite', third_party_invite: { display_name: 'e', signed: { mxid: '@erin:e.example', token: 'tok123', signatures: {} } } };
  expect(selectAuthEvents(member('@alice:a.example', '@erin:e.example', content), state, lookup, '10'))
    .toEqual(['$create', '$power', '$alice', '$rules', '$3pid']);
  // Only for invites, and only when the token names existing state.
  const otherToken = { ...content, third_party_invite: { signed: { token: 'nope' } } };
  expect(selectAuthEvents(member('@alice:a.example', '@erin:e.example', otherToken), state, lookup, '10'))
    .toEqual(['$create', '$power', '$alice', '$rules']);
});

test('a restricted join adds the join_authorised_via_users_server member in v8+, not in v7', () => {
  const { state, lookup } = room();
  const join = member('@dan:d.example', '@dan:d.example', { membership: 'join', join_authorised_via_users_server: '@bob:b.example' });
  expect(selectAuthEvents(join, state, lookup, '8')).toEqual(['$create', '$power', '$rules', '$bob']);
  expect(selectAuthEvents(join, state, lookup, '10')).toEqual(['$create', '$power', '$rules', '$bob']);
  expect(selectAuthEvents(join, state, lookup, '7')).toEqual(['$create', '$power', '$rules']);
});

test('leave and ban need no join rules; knock does', () => {
  const { state, lookup } = room();
  expect(selectAuthEvents(member('@bob:b.example', '@bob:b.example', { membership: 'leave' }), state, lookup, '10'))
    .toEqual(['$create', '$power', '$bob']);
  expect(selectAuthEvents(member('@alice:a.example', '@bob:b.example', { membership: 'ban' }), state, lookup, '10'))
    .toEqual(['$create', '$power', '$alice', '$bob']);
  expect(selectAuthEvents(member('@dan:d.example', '@dan:d.example', { membership: 'knock' }), state, lookup, '10'))
    .toEqual(['$create', '$power', '$rules']);
});

test('room version 12 leaves the create event out (the room ID names it)', () => {
  const { state, lookup } = room();
  expect(selectAuthEvents({ type: 'm.room.message', sender: '@bob:b.example', content: {} }, state, lookup, '12')).toEqual(['$power', '$bob']);
});

test('missing state is skipped; state pointing at unknown events and member events without state_key are errors', () => {
  const { state, lookup } = room();
  state.delete(stateKey('m.room.power_levels', ''));
  expect(selectAuthEvents({ type: 'm.room.message', sender: '@zed:z.example', content: {} }, state, lookup, '10')).toEqual(['$create']);
  state.set(stateKey('m.room.power_levels', ''), '$ghost');
  expect(() => selectAuthEvents({ type: 'm.room.message', sender: '@bob:b.example', content: {} }, state, lookup, '10'))
    .toThrow('selectAuthEvents: state (m.room.power_levels, "") points at unknown event $ghost');
  expect(() => selectAuthEvents({ type: 'm.room.member', sender: '@bob:b.example', content: { membership: 'join' } }, state, lookup, '10'))
    .toThrow('selectAuthEvents: an m.room.member event needs a state_key');
});

test('state keys are unambiguous and reversible', () => {
  // Pairs that collide under naive concatenation, with or without a separator character.
  expect(stateKey('ab', 'c')).not.toBe(stateKey('a', 'bc'));
  expect(stateKey('a\u0000b', 'c')).not.toBe(stateKey('a', 'b\u0000c'));
  expect(stateKey('a|b', 'c')).not.toBe(stateKey('a', 'b|c'));
  expect(parseStateKey(stateKey('m.room.member', '@a:b'))).toEqual({ type: 'm.room.member', stateKey: '@a:b' });
});
