/**
 * Observation fixtures: an observation saved as JSON (schemas/observation-fixture.schema.json)
 * with the evaluation each named check must reach on it. Tests that talk to real candidates can
 * save what they saw with `fixtureOf`; the self-tests judge every saved fixture again, so a change
 * to a check that would alter a verdict on real traffic shows up without a candidate.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { matrixFunctions, type PublishedKeys } from './matrix-binding.ts';
import { checkById, observationKindOf, type ObservationKind } from './registry.ts';
import { validate } from './schema.ts';
import type { SendJoinObservation } from './send-join-observation.ts';
import type { Check } from './types.ts';

export type FixtureExpectation = 'pass' | 'fail' | 'not-applicable';

export interface ObservationFixture {
  format: 'lazyjoin-observation/1';
  kind: ObservationKind;
  description: string;
  source: { origin: 'recorded' | 'synthetic'; candidate?: string; candidateVersion?: string; recordedAt?: string; test?: string };
  serverKeys?: PublishedKeys;
  /** The observation without its functions. */
  observation: { request: Record<string, unknown>; response: { status: number; body: unknown }; truth?: unknown };
  expect: Record<string, FixtureExpectation>;
}

/** Reads and validates a fixture file; the error names the file and the first faults. */
export function loadObservationFixture(path: string): ObservationFixture {
  let data: unknown;
  try {
    data = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new Error(`${path}: not readable JSON: ${(e as Error).message}`);
  }
  const result = validate('observation-fixture', data);
  if (!result.ok) throw new Error(`${path}: not an observation fixture: ${result.errors.slice(0, 4).join('; ')}`);
  return data as ObservationFixture;
}

/** The observation ready for checks: send_join observations get event ID and verification functions back. */
export function observationFromFixture(fixture: ObservationFixture): unknown {
  const observation = structuredClone(fixture.observation);
  const roomVersion = String(observation.request.roomVersion);
  if (fixture.kind === 'state') return { ...observation, eventIdOf: matrixFunctions(roomVersion).eventIdOf };
  if (fixture.kind !== 'send-join') return observation;
  return { ...observation, ...matrixFunctions(roomVersion, fixture.serverKeys) } as SendJoinObservation;
}

/** A fixture for `observation` (its functions dropped), with the expectations given. */
export function fixtureOf(
  kind: ObservationKind,
  observation: { request: unknown; response: { status: number; body: unknown }; truth?: unknown },
  expectations: Record<string, FixtureExpectation>,
  meta: Pick<ObservationFixture, 'description' | 'source' | 'serverKeys'>,
): ObservationFixture {
  const { request, response, truth } = observation;
  const json = JSON.parse(JSON.stringify({ request, response, ...(truth === undefined ? {} : { truth }) }));
  return { format: 'lazyjoin-observation/1', kind, ...meta, observation: json, expect: expectations };
}

export function writeObservationFixture(path: string, fixture: ObservationFixture): void {
  const result = validate('observation-fixture', fixture);
  if (!result.ok) throw new Error(`refusing to write an invalid fixture to ${path}: ${result.errors.slice(0, 4).join('; ')}`);
  writeFileSync(path, JSON.stringify(fixture, null, 2) + '\n');
}

/** Where the checks' evaluations on the fixture differ from its expectations, one line each. */
export function fixtureMismatches(fixture: ObservationFixture): string[] {
  const observation = observationFromFixture(fixture);
  const problems: string[] = [];
  for (const [checkId, expected] of Object.entries(fixture.expect)) {
    let check: Check<unknown>;
    try {
      check = checkById(checkId) as Check<unknown>;
    } catch (e) {
      problems.push((e as Error).message);
      continue;
    }
    if (observationKindOf(checkId) !== fixture.kind) {
      problems.push(`${checkId} judges ${observationKindOf(checkId)} observations, not ${fixture.kind}`);
      continue;
    }
    let actual: FixtureExpectation;
    let detail = '';
    try {
      const r = check.evaluate(observation);
      actual = 'notApplicable' in r ? 'not-applicable' : r.ok ? 'pass' : 'fail';
      detail = 'notApplicable' in r ? r.notApplicable : !r.ok ? r.reason : '';
    } catch (e) {
      problems.push(`${checkId}: threw ${(e as Error).message}`);
      continue;
    }
    if (actual !== expected) problems.push(`${checkId}: expected ${expected}, got ${actual}${detail ? ` (${detail})` : ''}`);
  }
  return problems;
}
