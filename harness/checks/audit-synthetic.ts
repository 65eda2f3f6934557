/**
 * Passing observations for the audit checks (audit-checks.ts), for the checks' self-test: every
 * negative control must turn each of these into a failure. Event IDs are stand-ins: the audit
 * compares IDs and contents, it never verifies events.
 */
import type { AuditObservation, MemberListDuringResyncObservation } from './audit-checks.ts';
import type { StateEntry } from '../audit/compare.ts';

const JOINER = '@zed:joiner.test';
const RESIDENTS = ['@alice:resident.test', '@bob:resident.test', '@carol:other.test', '@dan:other.test', '@erin:resident.test', '@frank:other.test'];

function member(userId: string, membership: string): StateEntry {
  return { type: 'm.room.member', stateKey: userId, eventId: `$member-${userId.slice(1, userId.indexOf(':'))}`, content: { membership } };
}

function roomState(nameless: boolean): StateEntry[] {
  return [
    { type: 'm.room.create', stateKey: '', eventId: '$create', content: { room_version: '10', creator: RESIDENTS[0] } },
    { type: 'm.room.power_levels', stateKey: '', eventId: '$power-levels', content: { users: { [RESIDENTS[0]]: 100 } } },
    { type: 'm.room.join_rules', stateKey: '', eventId: '$join-rules', content: { join_rule: 'public' } },
    { type: 'm.room.history_visibility', stateKey: '', eventId: '$history', content: { history_visibility: 'shared' } },
    ...(nameless ? [] : [{ type: 'm.room.name', stateKey: '', eventId: '$name', content: { name: 'A room' } }]),
    ...RESIDENTS.map((u) => member(u, 'join')),
    member('@gina:other.test', 'invite'),
    member('@hal:other.test', 'leave'),
    member(JOINER, 'join'),
  ];
}

function audit(nameless: boolean): AuditObservation {
  const state = roomState(nameless);
  const members = state.filter((e) => e.type === 'm.room.member');
  const heroes = RESIDENTS.slice(0, 5);
  return {
    roomId: '!room:resident.test',
    user: JOINER,
    truth: { state, nameless },
    clientState: { status: 200, body: [...state].reverse() },
    members: { status: 200, body: members },
    joinedMembers: { status: 200, body: [...RESIDENTS, JOINER] },
    lazySync: {
      summary: { ...(nameless ? { 'm.heroes': heroes } : {}), 'm.joined_member_count': RESIDENTS.length + 1, 'm.invited_member_count': 1 },
      memberEventsShown: nameless ? [JOINER, ...heroes] : [JOINER],
    },
    messages: {
      status: 200,
      body: {
        senders: [
          { sender: RESIDENTS[1], eventIds: ['$message-1', '$message-3'], acceptable: ['$member-bob'] },
          { sender: RESIDENTS[2], eventIds: ['$message-2'], acceptable: ['$member-carol'] },
        ],
        stateMembers: { [RESIDENTS[1]]: '$member-bob', [RESIDENTS[2]]: '$member-carol' },
      },
    },
  };
}

export function auditPassingObservations(): Array<{ name: string; kind: string; observation: unknown }> {
  const withheld: MemberListDuringResyncObservation = {
    truthJoined: [...RESIDENTS, JOINER],
    answers: [
      { source: 'eager /sync', joined: null, withheld: 'the room is left out' },
      { source: '/members', joined: null, withheld: 'no answer within 1500 ms' },
      { source: '/joined_members', joined: [...RESIDENTS, JOINER] },
    ],
  };
  return [
    { name: 'audit of a nameless room', kind: 'audit', observation: audit(true) },
    { name: 'audit of a named room with heroes', kind: 'audit', observation: { ...audit(false), lazySync: { ...audit(true).lazySync, summary: { ...audit(true).lazySync!.summary } } } },
    { name: 'member lists withheld or complete during the resync', kind: 'member-list-during-resync', observation: withheld },
  ];
}
