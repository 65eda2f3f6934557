/**
 * The fixtures every conformance test uses, in one import: a running candidate (worker-scoped, per
 * Playwright project), fresh users and clients on it, and fresh scripted remotes per test.
 *
 *   import { test, expect } from '../../harness/fixtures.ts';
 */
import { mergeTests } from '@playwright/test';
import { candidateTest } from './candidates/fixture.ts';
import { remoteTest } from './remote/fixture.ts';

export const test = mergeTests(candidateTest, remoteTest);
export { expect } from '@playwright/test';
