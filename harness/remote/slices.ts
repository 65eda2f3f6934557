/**
 * Long walks over a big room (its state, its auth chains) written once, as generators that pause
 * (`yield`) every STEPS_PER_PAUSE steps, and run in one of two ways: to the end at once
 * (`runToEnd`, for callers that need the answer now), or in slices of at most SLICE_MS between
 * which the event loop runs (`runSliced`, for request handlers: a remote serving a 150,000-member
 * room must still answer the key requests that arrive meanwhile).
 */
import { setImmediate as nextTurn } from 'node:timers/promises';

/** Steps between pauses: small enough that a pause comes every few hundred microseconds. */
export const STEPS_PER_PAUSE = 1024;

/** Longest a sliced walk holds the event loop between two turns of it. */
export const SLICE_MS = 10;

/** A walk: yields to offer a pause, returns its result. */
export type Steps<T> = Generator<void, T, void>;

export function runToEnd<T>(steps: Steps<T>): T {
  for (;;) {
    const r = steps.next();
    if (r.done) return r.value;
  }
}

export async function runSliced<T>(steps: Steps<T>, sliceMs = SLICE_MS): Promise<T> {
  let sliceStart = performance.now();
  for (;;) {
    const r = steps.next();
    if (r.done) return r.value;
    if (performance.now() - sliceStart >= sliceMs) {
      await nextTurn();
      sliceStart = performance.now();
    }
  }
}

/** A loop counter that says when a walk should offer a pause: `if (pace()) yield;`. */
export function pacer(): () => boolean {
  let n = 0;
  return () => (++n & (STEPS_PER_PAUSE - 1)) === 0;
}

/** The items of `items` in an array, as a walk that pauses (a big room's state has 150,000). */
export function* collectSteps<T>(items: Iterable<T>): Steps<T[]> {
  const pace = pacer();
  const out: T[] = [];
  for (const item of items) {
    if (pace()) yield;
    out.push(item);
  }
  return out;
}
