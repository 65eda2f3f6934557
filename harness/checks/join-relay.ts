/**
 * After accepting a join through send_join, the resident takes the event into the room and sends
 * it to the other servers in the room (SJ-22): the other servers receive the join, and the
 * resident's own users see the joiner as joined.
 */
import { defineCheck } from './define.ts';
import type { Check, Evaluation } from './types.ts';

export interface JoinRelayObservation {
  joinEventId: string;
  /** The joining server. */
  joiningServer: string;
  /** Servers in the room before the join, other than the candidate and the joiner: did the join reach each within the bound? */
  otherServers: Array<{ server: string; received: boolean; withinMs: number }>;
  /** Whether the candidate's local user saw the joiner's membership as join (client API) within the bound. */
  shownToLocalUsers: boolean;
}

export const joinRelayedToRoom: Check<JoinRelayObservation> = defineCheck({
  id: 'send-join/join-sent-to-other-servers',
  requirement: 'SJ-22',
  title: 'a join accepted through send_join enters the room (local users see it) and is sent to every other server in the room',
  evaluate(o): Evaluation {
    const missed = o.otherServers.filter((s) => !s.received);
    const wrong = [
      ...missed.map((s) => `${s.server} did not receive the join within ${s.withinMs} ms`),
      ...(o.shownToLocalUsers ? [] : [`the candidate's users do not see ${o.joiningServer}'s user as joined`]),
    ];
    if (o.otherServers.length === 0 && o.shownToLocalUsers) return { notApplicable: 'no other server was in the room to receive the join' };
    if (wrong.length === 0) return { ok: true };
    return { ok: false, reason: wrong.join('; '), expected: `${o.joinEventId} in the room for local users and sent to ${o.otherServers.map((s) => s.server).join(', ')}`, observed: o };
  },
  controls: [
    { name: 'the join not sent to another server', mutate: (o) => ({ ...o, otherServers: o.otherServers.map((s, i) => (i === 0 ? { ...s, received: false } : s)) }) },
    { name: 'the join not shown to local users', mutate: (o) => ({ ...o, shownToLocalUsers: false }) },
  ],
});

/**
 * A membership change the candidate accepted (it answered 200): an invite, leave, kick or ban
 * through its client API, or a remote's leave through send_leave ("accepted into the graph by the
 * receiving homeserver"). The room's current state, read through the client API, holds it (CD-03).
 */
export interface AcceptedMembershipObservation {
  roomId: string;
  changes: Array<{
    userId: string;
    /** The membership the accepted change gave the user. */
    membership: string;
    /** How it was accepted, e.g. `POST /invite (200)`, `PUT /send_leave (200)`. */
    acceptedBy: string;
    /** The user's membership in the room's current state afterwards; null when it holds none. */
    held: string | null;
  }>;
}

export const acceptedMembershipHeld: Check<AcceptedMembershipObservation> = defineCheck({
  id: 'membership/accepted-change-held',
  requirement: 'CD-03',
  title: "a membership change the candidate accepted (answered 200) is in the room's current state afterwards",
  evaluate(o): Evaluation {
    if (o.changes.length === 0) return { notApplicable: 'no membership change was accepted' };
    const lost = o.changes.filter((c) => c.held !== c.membership);
    if (lost.length === 0) return { ok: true };
    return {
      ok: false,
      reason: lost.map((c) => `${c.userId}: ${c.acceptedBy} made it ${c.membership}, the state holds ${c.held ?? 'no membership'}`).join('; '),
      expected: lost.map((c) => `${c.userId} ${c.membership}`).join(', '),
      observed: o,
    };
  },
  controls: [
    { name: 'an accepted leave not held', mutate: (o) => ({ ...o, changes: o.changes.map((c, i) => (i === 0 ? { ...c, held: 'join' } : c)) }) },
    { name: 'an accepted invite not in the state at all', mutate: (o) => ({ ...o, changes: o.changes.map((c, i) => (i === 0 ? { ...c, held: null } : c)) }) },
  ],
});

export const joinRelayChecks = {
  'resident-join-relay': [joinRelayedToRoom],
  'resident-membership-held': [acceptedMembershipHeld],
} as const;

export function joinRelayPassingObservations(): Array<{ name: string; kind: string; observation: unknown }> {
  const observation: JoinRelayObservation = {
    joinEventId: '$join',
    joiningServer: 'joiner.test',
    otherServers: [{ server: 'other.test', received: true, withinMs: 20_000 }],
    shownToLocalUsers: true,
  };
  const held: AcceptedMembershipObservation = {
    roomId: '!room:candidate.test',
    changes: [
      { userId: '@gone:other.test', membership: 'leave', acceptedBy: 'PUT /send_leave (200)', held: 'leave' },
      { userId: '@guest:other.test', membership: 'invite', acceptedBy: 'POST /invite (200)', held: 'invite' },
    ],
  };
  return [
    { name: 'a join relayed to the one other server and shown', kind: 'resident-join-relay', observation },
    { name: 'an accepted leave and invite held', kind: 'resident-membership-held', observation: held },
  ];
}
