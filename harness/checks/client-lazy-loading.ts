/**
 * Lazy-loading members on the candidate's own rooms, seen by a local client: a limited sync
 * returns the membership events of the gap (LL-02), and include_redundant_members makes the server
 * send a membership again even if the client has it (LL-06).
 */
import { defineCheck } from './define.ts';
import type { Check, Evaluation } from './types.ts';

export interface LazySyncObservation {
  scenario: 'gap' | 'redundant';
  /** The incremental sync's `timeline.limited` for the room. */
  limited: boolean;
  /** Membership events in the sync's state and timeline for the room: user ID -> event ID. */
  memberships: Record<string, string>;
  /** The membership events the sync must carry, and why. */
  required: Array<{ userId: string; eventId: string; why: string }>;
}

type LazyCheck = Check<LazySyncObservation>;

function requiredPresent(o: LazySyncObservation): string[] {
  return o.required.filter((r) => o.memberships[r.userId] !== r.eventId).map((r) => `${r.userId}'s membership ${r.eventId} (${r.why})${o.memberships[r.userId] ? ` — got ${o.memberships[r.userId]}` : ''}`);
}

const withoutRequired = (o: LazySyncObservation): LazySyncObservation => {
  const memberships = { ...o.memberships };
  for (const r of o.required) delete memberships[r.userId];
  return { ...o, memberships };
};

export const gapMembershipsReturned: LazyCheck = defineCheck({
  id: 'lazy-sync/gap-memberships-returned',
  requirement: 'LL-02',
  title: 'a limited incremental sync with lazy-loading returns the membership events of the gap, redundant or not',
  evaluate(o): Evaluation {
    if (o.scenario !== 'gap') return { notApplicable: 'not the gap scenario' };
    if (!o.limited) return { notApplicable: 'the sync was not limited: there is no gap' };
    const missing = requiredPresent(o);
    return missing.length ? { ok: false, reason: `missing: ${missing.join('; ')}`, expected: 'the membership events of the gap in state (or timeline)', observed: o.memberships } : { ok: true };
  },
  controls: [{ name: 'the gap membership left out', mutate: withoutRequired }],
});

export const redundantMembersIncluded: LazyCheck = defineCheck({
  id: 'lazy-sync/include-redundant-members-honoured',
  requirement: 'LL-06',
  title: 'with lazy_load_members and include_redundant_members, a sender\'s membership comes again though the client has it',
  evaluate(o): Evaluation {
    if (o.scenario !== 'redundant') return { notApplicable: 'not the redundant-members scenario' };
    const missing = requiredPresent(o);
    return missing.length ? { ok: false, reason: `missing: ${missing.join('; ')}`, expected: 'every timeline sender\'s membership, as include_redundant_members asks', observed: o.memberships } : { ok: true };
  },
  controls: [{ name: 'the redundant membership left out', mutate: withoutRequired }],
});

export const clientLazyLoadingChecks = {
  'client-lazy-sync': [gapMembershipsReturned, redundantMembersIncluded],
} as const;

export function clientLazyLoadingPassingObservations(): Array<{ name: string; kind: string; observation: unknown }> {
  const gap: LazySyncObservation = { scenario: 'gap', limited: true, memberships: { '@bob:c.test': '$bob-renamed', '@carol:c.test': '$carol-join' }, required: [{ userId: '@bob:c.test', eventId: '$bob-renamed', why: 'changed in the gap' }] };
  const redundant: LazySyncObservation = { scenario: 'redundant', limited: false, memberships: { '@bob:c.test': '$bob-join' }, required: [{ userId: '@bob:c.test', eventId: '$bob-join', why: 'sender, already sent' }] };
  return [
    { name: 'a limited sync with the gap membership', kind: 'client-lazy-sync', observation: gap },
    { name: 'a redundant membership sent again on request', kind: 'client-lazy-sync', observation: redundant },
  ];
}
