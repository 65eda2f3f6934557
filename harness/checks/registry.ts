/**
 * The check registry: every check of the suite, looked up by ID or requirement, each tied to a
 * requirement of the catalogue (schemas/requirements.json). Tests import checks from here.
 */
import { hasRequirement, loadCatalogue, requirement } from './catalogue.ts';
import { sendJoinChecks } from './send-join.ts';
import { makeJoinChecks } from './make-join.ts';
import { stateChecks } from './state.ts';
import { joinerResyncIntegrityChecks } from './joiner-resync-integrity.ts';
import { auditChecks } from './audit-checks.ts';
import { joiningResyncChecks } from './joining-resync.ts';
import { joiningSyncChecks } from './joining-sync.ts';
import { federationApiChecks } from './federation-api.ts';
import { joinerMakeJoinChecks } from './joiner-make-join.ts';
import { joinerKeyValidityChecks } from './joiner-key-validity.ts';
import { joinerReceivedEventChecks } from './joiner-received-events.ts';
import { clientLazyLoadingChecks } from './client-lazy-loading.ts';
import { requestObjectChecks } from './request-object.ts';
import { joinRelayChecks } from './join-relay.ts';
import { clientDataChecks } from './client-data.ts';
import { partialStateChecks } from './partial-state.ts';
import { clientHistoryChecks } from './client-history.ts';
import type { Check } from './types.ts';

export { defineCheck } from './define.ts';
export { loadCatalogue, requirement } from './catalogue.ts';

// Checks are generic in their observation; the registry holds them as Check<never> so that any
// Check<O> fits without claiming to accept every observation.
type AnyCheck = Check<never>;

/** Which observation type a check judges: SendJoinObservation, MakeJoinObservation, StateObservation. */
export type ObservationKind = 'send-join' | 'make-join' | 'state' | keyof typeof joinerResyncIntegrityChecks | keyof typeof auditChecks | keyof typeof joiningResyncChecks | keyof typeof joiningSyncChecks | keyof typeof federationApiChecks | keyof typeof joinerMakeJoinChecks | keyof typeof joinerKeyValidityChecks | keyof typeof joinerReceivedEventChecks | keyof typeof clientLazyLoadingChecks | keyof typeof requestObjectChecks | keyof typeof joinRelayChecks | keyof typeof clientDataChecks | keyof typeof partialStateChecks | keyof typeof clientHistoryChecks;

const CHECKS_BY_KIND: ReadonlyArray<[ObservationKind, ReadonlyArray<AnyCheck>]> = [
  ['send-join', sendJoinChecks as ReadonlyArray<AnyCheck>],
  ['make-join', makeJoinChecks as ReadonlyArray<AnyCheck>],
  ['state', stateChecks as ReadonlyArray<AnyCheck>],
  ...(Object.entries(joinerResyncIntegrityChecks) as unknown as Array<[keyof typeof joinerResyncIntegrityChecks, ReadonlyArray<AnyCheck>]>),
  ...(Object.entries(auditChecks) as unknown as Array<[keyof typeof auditChecks, ReadonlyArray<AnyCheck>]>),
  ...(Object.entries(joiningResyncChecks) as unknown as Array<[keyof typeof joiningResyncChecks, ReadonlyArray<AnyCheck>]>),
  ...(Object.entries(joiningSyncChecks) as unknown as Array<[keyof typeof joiningSyncChecks, ReadonlyArray<AnyCheck>]>),
  ...(Object.entries(federationApiChecks) as unknown as Array<[keyof typeof federationApiChecks, ReadonlyArray<AnyCheck>]>),
  ...(Object.entries(joinerMakeJoinChecks) as unknown as Array<[keyof typeof joinerMakeJoinChecks, ReadonlyArray<AnyCheck>]>),
  ...(Object.entries(joinerKeyValidityChecks) as unknown as Array<[keyof typeof joinerKeyValidityChecks, ReadonlyArray<AnyCheck>]>),
  ...(Object.entries(joinerReceivedEventChecks) as unknown as Array<[keyof typeof joinerReceivedEventChecks, ReadonlyArray<AnyCheck>]>),
  ...(Object.entries(clientLazyLoadingChecks) as unknown as Array<[keyof typeof clientLazyLoadingChecks, ReadonlyArray<AnyCheck>]>),
  ...(Object.entries(requestObjectChecks) as unknown as Array<[keyof typeof requestObjectChecks, ReadonlyArray<AnyCheck>]>),
  ...(Object.entries(joinRelayChecks) as unknown as Array<[keyof typeof joinRelayChecks, ReadonlyArray<AnyCheck>]>),
  ...(Object.entries(clientDataChecks) as unknown as Array<[keyof typeof clientDataChecks, ReadonlyArray<AnyCheck>]>),
  ...(Object.entries(partialStateChecks) as unknown as Array<[keyof typeof partialStateChecks, ReadonlyArray<AnyCheck>]>),
  ...(Object.entries(clientHistoryChecks) as unknown as Array<[keyof typeof clientHistoryChecks, ReadonlyArray<AnyCheck>]>),
];

let registered: ReadonlyMap<string, AnyCheck> | undefined;

function registry(): ReadonlyMap<string, AnyCheck> {
  if (registered) return registered;
  const byId = new Map<string, AnyCheck>();
  for (const check of CHECKS_BY_KIND.flatMap(([, checks]) => checks)) {
    if (byId.has(check.id)) throw new Error(`two checks share the ID ${check.id}`);
    if (!hasRequirement(check.requirement)) {
      throw new Error(`check ${check.id} names requirement ${check.requirement}, which is not in schemas/requirements.json`);
    }
    byId.set(check.id, check);
  }
  registered = byId;
  return byId;
}

/** Every registered check, in report order. */
export function allChecks(): AnyCheck[] {
  return [...registry().values()];
}

/** The kind of observation the check judges. */
export function observationKindOf(checkId: string): ObservationKind {
  checkById(checkId);
  return CHECKS_BY_KIND.find(([, checks]) => checks.some((c) => c.id === checkId))![0];
}

/** The check with this ID; throws a one-line error naming it when there is none. */
export function checkById(id: string): AnyCheck {
  const check = registry().get(id);
  if (!check) throw new Error(`no check is registered as ${id}`);
  return check;
}

/** The checks judging one requirement (possibly none). */
export function checksFor(requirementId: string): AnyCheck[] {
  requirement(requirementId); // throws for an unknown ID
  return allChecks().filter((c) => c.requirement === requirementId);
}

/**
 * Differences between the registry and the catalogue's `checks` lists, one line each; empty when
 * they agree. The self-tests require it empty, so neither side can drift.
 */
export function catalogueDrift(): string[] {
  const problems: string[] = [];
  const checks = registry();
  for (const req of loadCatalogue().requirements) {
    for (const id of req.checks) {
      const check = checks.get(id);
      if (!check) problems.push(`${req.id} lists check ${id}, which is not registered`);
      else if (check.requirement !== req.id) problems.push(`${req.id} lists check ${id}, which judges ${check.requirement}`);
    }
  }
  for (const check of checks.values()) {
    if (!requirement(check.requirement).checks.includes(check.id)) {
      problems.push(`check ${check.id} is missing from the "checks" of ${check.requirement} in schemas/requirements.json`);
    }
  }
  return problems;
}
