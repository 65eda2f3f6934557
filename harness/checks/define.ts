import type { Check } from './types.ts';

const CHECK_ID = /^[a-z0-9-]+(\/[a-z0-9-]+)*$/;

/**
 * Declares a check. Shape errors are thrown at import time, so a malformed check never reaches a
 * run; that the requirement exists in the catalogue is verified by the registry.
 */
export function defineCheck<O>(check: Check<O>): Check<O> {
  if (!CHECK_ID.test(check.id)) throw new Error(`check ID ${JSON.stringify(check.id)} must be lower-case words joined by - and /`);
  if (!check.title.trim()) throw new Error(`check ${check.id} has no title`);
  if (check.controls.length === 0) throw new Error(`check ${check.id} has no negative control: it could never be shown to fail`);
  const names = check.controls.map((c) => c.name);
  const duplicate = names.find((n, i) => names.indexOf(n) !== i);
  if (duplicate !== undefined) throw new Error(`check ${check.id} has two controls named ${JSON.stringify(duplicate)}`);
  return Object.freeze(check);
}

/** The `errcode` of a Matrix error body, or undefined when the body is not an object with one. */
export function errcodeOfBody(body: unknown): unknown {
  return body && typeof body === 'object' ? (body as Record<string, unknown>).errcode : undefined;
}

/** A copy of `o` whose response body is a deep copy changed by `change` (for negative controls). */
export function withResponseBody<O extends { response: { body: unknown } }>(o: O, change: (body: Record<string, unknown>) => void): O {
  const body = structuredClone(o.response.body) as Record<string, unknown>;
  change(body);
  return { ...o, response: { ...o.response, body } };
}
