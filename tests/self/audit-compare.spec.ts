/**
 * Self-tests of the post-resync audit's pure parts (harness/audit/compare.ts) over a real room
 * model, and of its registration outside a test's audit session.
 */
import { test, expect } from '@playwright/test';
import {
  heroMustProblems,
  heroShouldProblems,
  jsonEqual,
  noDifferences,
  pageSenderProblems,
  setDifferences,
  stateDifferences,
  usersWithMembership,
  type StateEntry,
} from '../../harness/audit/compare.ts';
import { truthState } from '../../harness/audit/gather.ts';
import { registerForAudit } from '../../harness/audit/fixture.ts';
import { startRemote, type Remote } from '../../harness/remote/remote.ts';

let remote: Remote;
test.beforeAll(async () => {
  remote = await startRemote();
});
test.afterAll(async () => {
  await remote.close();
});

function roomWithMembers() {
  const room = remote.createRoom({ name: 'audited' });
  const bob = remote.userId('bob');
  const carol = remote.userId('carol');
  room.join(bob);
  room.join(carol);
  room.invite(bob, remote.userId('dave'));
  room.leave(carol);
  return { room, bob, carol, dave: remote.userId('dave') };
}

test('the truth of a room model compares equal to itself in any order, and every kind of difference is named', () => {
  const { room, bob } = roomWithMembers();
  const truth = truthState(room);
  expect(noDifferences(stateDifferences(truth, [...truth].reverse()))).toBe(true);

  const withoutBob = truth.filter((e) => !(e.type === 'm.room.member' && e.stateKey === bob));
  expect(stateDifferences(truth, withoutBob).missing).toEqual([{ type: 'm.room.member', stateKey: bob, eventId: room.stateEventId('m.room.member', bob) }]);

  const invented: StateEntry = { type: 'm.room.topic', stateKey: '', eventId: '$invented', content: { topic: 'x' } };
  expect(stateDifferences(truth, [...truth, invented]).extra).toEqual([{ type: 'm.room.topic', stateKey: '', eventId: '$invented' }]);

  // Same event ID, other content (a candidate serving a stale or redacted copy) is a change too.
  const renamed = truth.map((e) => (e.type === 'm.room.name' ? { ...e, content: { name: 'other' } } : e));
  expect(stateDifferences(truth, renamed).changed.map((c) => c.type)).toEqual(['m.room.name']);
});

test('memberships of the truth: joined, invited and left users', () => {
  const { room, bob, carol, dave } = roomWithMembers();
  const truth = truthState(room);
  expect(usersWithMembership(truth, 'join')).toEqual([remote.userId('alice'), bob].sort());
  expect(usersWithMembership(truth, 'invite')).toEqual([dave]);
  expect(usersWithMembership(truth, 'leave')).toEqual([carol]);
  expect(setDifferences(['@a:x', '@b:x'], ['@b:x', '@c:x'])).toEqual({ missing: ['@a:x'], extra: ['@c:x'] });
});

test('jsonEqual ignores key order and nothing else', () => {
  expect(jsonEqual({ a: 1, b: [1, { c: 2 }] }, { b: [1, { c: 2 }], a: 1 })).toBe(true);
  expect(jsonEqual({ a: 1 }, { a: 1, b: undefined })).toBe(false);
  expect(jsonEqual([1, 2], [2, 1])).toBe(false);
  expect(jsonEqual({ a: '1' }, { a: 1 })).toBe(false);
});

test('hero MUST clauses: present when nameless, never the syncing user, memberships shown', () => {
  const base = { nameless: true, forUser: '@me:x', otherMembers: ['@a:x', '@b:x'], memberEventsShown: ['@a:x', '@b:x'] };
  expect(heroMustProblems({ ...base, summary: { 'm.heroes': ['@a:x', '@b:x'] } })).toEqual([]);
  expect(heroMustProblems({ ...base, summary: {} })).toEqual(['m.heroes is absent although the room has neither m.room.name nor m.room.canonical_alias']);
  // A named room may leave heroes out; a room with nobody else has nobody to name it after.
  expect(heroMustProblems({ ...base, nameless: false, summary: {} })).toEqual([]);
  expect(heroMustProblems({ ...base, otherMembers: [], summary: { 'm.heroes': [] } })).toEqual([]);
  expect(heroMustProblems({ ...base, summary: { 'm.heroes': ['@me:x', '@a:x'] } })).toEqual(['m.heroes includes the syncing user @me:x']);
  expect(heroMustProblems({ ...base, memberEventsShown: ['@a:x'], summary: { 'm.heroes': ['@a:x', '@b:x'] } })).toEqual([
    'the membership events of heroes @b:x are not in the lazy-loading sync',
  ]);
});

test('hero SHOULD clauses: from the joined or invited (else left or banned), five when five are available, any five', () => {
  const joined = ['@a:x', '@b:x', '@c:x', '@d:x', '@e:x', '@f:x'];
  const opts = { forUser: '@me:x', joinedOrInvited: joined, leftOrBanned: ['@gone:x'] };
  expect(heroShouldProblems({ ...opts, heroes: ['@f:x', '@e:x', '@d:x', '@c:x', '@b:x'] })).toEqual([]);
  expect(heroShouldProblems({ ...opts, heroes: joined })).toEqual([]);
  expect(heroShouldProblems({ ...opts, heroes: ['@a:x', '@b:x'] })).toEqual(['2 heroes given where 5 are available']);
  expect(heroShouldProblems({ ...opts, heroes: ['@gone:x', ...joined.slice(0, 5)] })).toEqual(['heroes @gone:x are not among the joined or invited members']);
  expect(heroShouldProblems({ ...opts, joinedOrInvited: [], heroes: ['@gone:x'] })).toEqual([]);
  expect(heroShouldProblems({ ...opts, heroes: undefined })).toEqual([]);
});

test('a lazy-loaded page needs each sender\'s membership, as one the truth had at the page', () => {
  const senders = [{ sender: '@a:x', eventIds: ['$1'], acceptable: ['$a-join'] }];
  expect(pageSenderProblems(senders, { '@a:x': '$a-join' })).toEqual([]);
  expect(pageSenderProblems(senders, {})).toEqual(['no membership event for @a:x (sender of $1)']);
  expect(pageSenderProblems(senders, { '@a:x': '$a-older' })).toEqual(["@a:x's membership is shown as $a-older, expected one of $a-join"]);
});

test('registering a scenario outside a test\'s audit session does nothing and asks for nothing', () => {
  const { room } = roomWithMembers();
  const registration = registerForAudit({ remote, room, joiner: undefined as never, candidateServer: 'candidate.test' });
  expect(() => {
    registration.resyncCompleted();
    registration.skip('');
    registration.completesWith(async () => undefined);
  }).not.toThrow();
});
