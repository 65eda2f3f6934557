/**
 * Checks over the candidate's client /sync for a room it joined over federation: with
 * lazy-loading on, the membership events of the senders of the returned timeline must come with
 * it (spec "Lazy-loading room members", LL-04).
 */
import { defineCheck } from './define.ts';
import type { Check, Evaluation } from './types.ts';

export interface LazySyncObservation {
  request: {
    roomId: string;
    /** The sync filter as sent. */
    filter: unknown;
    since?: string;
    /** The user who synced, when the sync is the first one after they joined the room. */
    justJoined?: string;
  };
  response: {
    status: number;
    body: {
      /** Senders of the room's timeline events in the answer. */
      timelineSenders: string[];
      /** state_key -> membership of every m.room.member event in the room's state and timeline sections. */
      memberships: Record<string, string>;
    };
  };
}

type LazySyncCheck = Check<LazySyncObservation>;

export const lazySyncIncludesSenders: LazySyncCheck = defineCheck({
  id: 'joining/lazy-sync-includes-timeline-senders',
  requirement: 'LL-04',
  title: 'a lazy-loading /sync returns the membership event of every sender of the timeline events it returns',
  evaluate: (o): Evaluation => {
    if (o.response.status !== 200) return { ok: false, reason: `/sync answered HTTP ${o.response.status}`, expected: 'HTTP 200', observed: o.response };
    const { timelineSenders, memberships } = o.response.body;
    if (timelineSenders.length === 0) return { notApplicable: 'the timeline of the room was empty' };
    const missing = [...new Set(timelineSenders)].filter((u) => memberships[u] === undefined);
    if (missing.length === 0) return { ok: true };
    return {
      ok: false,
      reason: `no membership event for ${missing.join(', ')}`,
      expected: `m.room.member events for every timeline sender (${[...new Set(timelineSenders)].join(', ')})`,
      observed: o.response.body,
    };
  },
  controls: [
    {
      name: 'one sender membership left out',
      mutate: (o) => {
        const memberships = { ...o.response.body.memberships };
        delete memberships[o.response.body.timelineSenders[0]];
        return { ...o, response: { ...o.response, body: { ...o.response.body, memberships } } };
      },
    },
    { name: 'answered 500', mutate: (o) => ({ ...o, response: { ...o.response, status: 500 } }) },
  ],
});

export const lazySyncIncludesOwnJoin: LazySyncCheck = defineCheck({
  id: 'joining/lazy-sync-includes-own-join',
  requirement: 'LL-01',
  title: "the first lazy-loading /sync after a join returns the syncing user's own membership event",
  evaluate: (o): Evaluation => {
    const user = o.request.justJoined;
    if (!user) return { notApplicable: 'not the first sync after the syncing user joined' };
    if (o.response.status !== 200) return { ok: false, reason: `/sync answered HTTP ${o.response.status}`, expected: 'HTTP 200', observed: o.response };
    if (o.response.body.memberships[user] === 'join') return { ok: true };
    return {
      ok: false,
      reason: `no join membership event of ${user} in the room's state or timeline`,
      expected: `the m.room.member event of ${user} with membership join`,
      observed: o.response.body,
    };
  },
  controls: [
    {
      name: 'own membership left out',
      mutate: (o) => {
        const memberships = { ...o.response.body.memberships };
        delete memberships[o.request.justJoined!];
        return { ...o, response: { ...o.response, body: { ...o.response.body, memberships } } };
      },
    },
  ],
});

/** The checks by observation kind, as the registry lists them. */
export const joiningSyncChecks = {
  'joiner-lazy-sync': [lazySyncIncludesSenders, lazySyncIncludesOwnJoin] as ReadonlyArray<LazySyncCheck>,
};

/** Passing observations for the negative-control self-test. */
export function joiningSyncPassingObservations(): Array<{ name: string; kind: 'joiner-lazy-sync'; observation: LazySyncObservation }> {
  const observation: LazySyncObservation = {
    request: { roomId: '!room:resident.invalid', filter: { room: { state: { lazy_load_members: true } } }, since: 's1' },
    response: {
      status: 200,
      body: { timelineSenders: ['@alice:resident.invalid', '@bob:other.invalid', '@alice:resident.invalid'], memberships: { '@alice:resident.invalid': 'join', '@bob:other.invalid': 'join' } },
    },
  };
  const firstAfterJoin: LazySyncObservation = {
    request: { roomId: '!room:resident.invalid', filter: { room: { state: { lazy_load_members: true } } }, justJoined: '@joiner:candidate.invalid' },
    response: { status: 200, body: { timelineSenders: ['@joiner:candidate.invalid'], memberships: { '@joiner:candidate.invalid': 'join' } } },
  };
  return [
    { name: 'limited lazy sync with two senders', kind: 'joiner-lazy-sync', observation },
    { name: 'first lazy sync after the join', kind: 'joiner-lazy-sync', observation: firstAfterJoin },
  ];
}
