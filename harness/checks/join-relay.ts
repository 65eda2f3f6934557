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

export const joinRelayChecks = {
  'resident-join-relay': [joinRelayedToRoom],
} as const;

export function joinRelayPassingObservations(): Array<{ name: string; kind: string; observation: unknown }> {
  const observation: JoinRelayObservation = {
    joinEventId: '$join',
    joiningServer: 'joiner.test',
    otherServers: [{ server: 'other.test', received: true, withinMs: 20_000 }],
    shownToLocalUsers: true,
  };
  return [{ name: 'a join relayed to the one other server and shown', kind: 'resident-join-relay', observation }];
}
