/**
 * The running test's TestInfo for scenario helpers that record on it without being handed it
 * (undefined outside a test, e.g. in a benchmark).
 */
import { test, type TestInfo } from '@playwright/test';

export function currentTestInfo(): TestInfo | undefined {
  try {
    return test.info();
  } catch {
    return undefined;
  }
}
