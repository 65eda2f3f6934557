/**
 * Every registered check over the synthetic passing observations and over each of its negative
 * controls: a check must pass somewhere, and every control must turn each pass into a failure.
 * Run twice: with stand-in event IDs and signatures (independent of harness/matrix) and with the
 * real ones (harness/matrix, fixed keys).
 */
import { test, expect } from '@playwright/test';
import { allChecks, catalogueDrift, observationKindOf } from '../../harness/checks/registry.ts';
import { outcomeOf } from '../../harness/checks/judge.ts';
import { matrixCrypto, passingObservations } from '../../harness/checks/testing/synthetic-room.ts';
import type { Check, Evaluation } from '../../harness/checks/types.ts';
import { joinerResyncIntegrityPassingObservations } from '../../harness/checks/joiner-resync-integrity-synthetic.ts';
import { auditPassingObservations } from '../../harness/checks/audit-synthetic.ts';
import { joiningResyncPassingObservations } from '../../harness/checks/joining-resync.ts';
import { joiningSyncPassingObservations } from '../../harness/checks/joining-sync.ts';
import { federationApiPassingObservations } from '../../harness/checks/federation-api-synthetic.ts';
import { joinerMakeJoinPassingObservations } from '../../harness/checks/joiner-make-join.ts';
import { joinerKeyValidityPassingObservations } from '../../harness/checks/joiner-key-validity.ts';
import { joinerReceivedEventPassingObservations } from '../../harness/checks/joiner-received-events.ts';
import { clientLazyLoadingPassingObservations } from '../../harness/checks/client-lazy-loading.ts';
import { clientDataPassingObservations } from '../../harness/checks/client-data.ts';
import { partialStatePassingObservations } from '../../harness/checks/partial-state.ts';
import { requestObjectPassingObservations } from '../../harness/checks/request-object.ts';
import { joinRelayPassingObservations } from '../../harness/checks/join-relay.ts';
import { clientHistoryPassingObservations } from '../../harness/checks/client-history.ts';

const variants = [
  { name: 'stand-in crypto', observations: [...passingObservations(), ...joinerResyncIntegrityPassingObservations(), ...auditPassingObservations(), ...joiningResyncPassingObservations(), ...joiningSyncPassingObservations(), ...federationApiPassingObservations(), ...joinerMakeJoinPassingObservations(), ...joinerKeyValidityPassingObservations(), ...joinerReceivedEventPassingObservations(), ...clientLazyLoadingPassingObservations(), ...requestObjectPassingObservations(), ...joinRelayPassingObservations(), ...clientDataPassingObservations(), ...partialStatePassingObservations(), ...clientHistoryPassingObservations()] },
  { name: 'harness/matrix crypto', observations: [...passingObservations(matrixCrypto), ...joinerResyncIntegrityPassingObservations(), ...auditPassingObservations(), ...joiningResyncPassingObservations(), ...joiningSyncPassingObservations(), ...federationApiPassingObservations(), ...joinerMakeJoinPassingObservations(), ...joinerKeyValidityPassingObservations(), ...joinerReceivedEventPassingObservations(), ...clientLazyLoadingPassingObservations(), ...requestObjectPassingObservations(), ...joinRelayPassingObservations(), ...clientDataPassingObservations(), ...partialStatePassingObservations(), ...clientHistoryPassingObservations()] },
];

function evaluate(check: Check<never>, observation: unknown): Evaluation | { threw: string } {
  try {
    return (check as Check<unknown>).evaluate(observation);
  } catch (e) {
    return { threw: (e as Error).message };
  }
}

for (const { name: variant, observations } of variants) test(`every check passes on some synthetic observation and every control makes it fail (${variant})`, async ({}, testInfo) => {
  const problems: string[] = [];
  let controlRuns = 0;
  let controls = 0;
  const checks = allChecks();
  for (const check of checks) {
    const kind = observationKindOf(check.id);
    const passing = observations.filter((o) => o.kind === kind && (evaluate(check, o.observation) as { ok?: boolean }).ok === true);
    if (passing.length === 0) {
      problems.push(`${check.id}: passes on none of the ${kind} observations`);
      continue;
    }
    controls += check.controls.length;
    for (const control of check.controls) {
      for (const { name, observation } of passing) {
        controlRuns++;
        let mutated: unknown;
        try {
          mutated = (control as Check<unknown>['controls'][number]).mutate(observation);
        } catch (e) {
          problems.push(`${check.id} / control "${control.name}" on "${name}": the mutation threw: ${(e as Error).message}`);
          continue;
        }
        const result = evaluate(check, mutated);
        if ('threw' in result) problems.push(`${check.id} / control "${control.name}" on "${name}": the check threw: ${result.threw}`);
        else if (!('ok' in result) || result.ok) problems.push(`${check.id} / control "${control.name}" on "${name}": still ${JSON.stringify(result)}`);
        else if (!result.reason || !result.expected) problems.push(`${check.id} / control "${control.name}" on "${name}": failure without reason or expected`);
        else {
          // The recorded verdict flips too: away from pass, or from present to absent.
          const before = outcomeOf(check as Check<unknown>, observation);
          const after = outcomeOf(check as Check<unknown>, mutated);
          if (before.verdict === after.verdict && before.present === after.present) {
            problems.push(`${check.id} / control "${control.name}" on "${name}": verdict stayed ${after.verdict}`);
          }
        }
      }
    }
  }
  const summary = `${variant}: ${checks.length} checks, ${controls} controls, ${controlRuns} control runs over ${observations.length} observations`;
  testInfo.annotations.push({ type: 'lazyjoin-self', description: summary });
  console.log(summary);
  expect(problems, problems.join('\n')).toEqual([]);
});

test('the registry and the catalogue agree on which checks judge which requirement', () => {
  const drift = catalogueDrift();
  expect(drift, drift.join('\n')).toEqual([]);
});
