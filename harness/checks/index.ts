/**
 * Checks: pure verdicts over observations, each tied to a requirement of schemas/requirements.json.
 *
 * In a test: build the observation (e.g. a SendJoinObservation, with `matrixFunctions(version,
 * keys)` for event IDs and verification), then `judge(testInfo, check, observation)` for each
 * check that applies; `recordNotSupported` / `recordInformational` for optional features.
 */
export type * from './types.ts';
export { allChecks, checkById, checksFor, catalogueDrift, observationKindOf, defineCheck, type ObservationKind } from './registry.ts';
export { loadCatalogue, requirement } from './catalogue.ts';
export { judge, judgeAll, recordCheckNotRun, recordNotRun, presenceCheck, outcomeOf, recordFeature, recordInformational, recordNotSupported, recordedOutcomes, failureMessage, strictMode, recordPartialStateRequested, partialStateRequested, gatedByProfile, CHECK_ANNOTATION, PROFILE_ANNOTATION } from './judge.ts';
export { activateBaseline, deactivateBaseline, knownFailureFor, unexpectedlyPassing } from './test-baseline.ts';
export { validate, pduSchemaFor, type SchemaId, type ValidationResult } from './schema.ts';
export { trimForReport, trimmedJson } from './trim.ts';
export { matrixFunctions, keyLookupFrom, type PublishedKeys } from './matrix-binding.ts';
export { fixtureOf, loadObservationFixture, writeObservationFixture, fixtureMismatches, type ObservationFixture } from './fixtures.ts';
export * from './send-join-observation.ts';
export { sendJoinChecks } from './send-join.ts';
export { sendJoinRefusalChecks } from './send-join-refusals.ts';
export { makeJoinChecks, type MakeJoinObservation } from './make-join.ts';
export { stateChecks, type StateObservation } from './state.ts';
