/**
 * Events and requests carrying numbers canonical JSON cannot encode (floats, integers beyond
 * ±(2^53-1)), for negative tests of strict JSON enforcement (room versions 6+). They are hashed
 * and signed over the bytes a lax server would compute: canonical JSON in every respect except
 * that such a number is written as JavaScript writes it (`1.5`, `9007199254740992`). A server
 * that does not enforce strict canonical JSON therefore finds the hash and signatures valid, and
 * only the number itself can make it reject the event.
 */
import { createHash } from 'node:crypto';
import { sortedKeys } from './canonical-json.ts';
import { encodeBase64 } from './base64.ts';
import { redactEvent, eventId as computeEventId } from './events.ts';
import { buildXMatrixHeader, requestJson } from './x-matrix.ts';
import { resolveRoomVersion, type RoomVersion } from './room-versions.ts';
import type { SigningKey } from './keys.ts';
import type { PDU } from './events.ts';

/** Canonical JSON except that any finite number is written as JavaScript writes it. */
export function laxCanonicalJson(value: unknown): string {
  switch (typeof value) {
    case 'string':
      return JSON.stringify(value);
    case 'number':
      if (!Number.isFinite(value)) throw new Error(`laxCanonicalJson: ${value} has no JSON form`);
      return JSON.stringify(value);
    case 'boolean':
      return value ? 'true' : 'false';
    case 'object':
      if (value === null) return 'null';
      if (Array.isArray(value)) return `[${value.map(laxCanonicalJson).join(',')}]`;
      return `{${sortedKeys(value)
        .map((k) => `${JSON.stringify(k)}:${laxCanonicalJson((value as Record<string, unknown>)[k])}`)
        .join(',')}}`;
    default:
      throw new Error(`laxCanonicalJson: ${typeof value} has no JSON form`);
  }
}

const sha256 = (text: string) => createHash('sha256').update(text, 'utf8').digest();

function without(obj: Record<string, unknown>, keys: string[]): Record<string, unknown> {
  return Object.fromEntries(Object.entries(obj).filter(([k]) => !keys.includes(k)));
}

/**
 * Hashes and signs an event whose content holds non-canonical numbers. The redacted event (which
 * the signature and the event ID cover) must be canonical: put the numbers where redaction drops
 * them (an `m.room.message`'s content); otherwise this throws.
 */
export function signEventWithNonCanonicalNumbers(
  draft: Omit<PDU, 'hashes' | 'signatures'>,
  serverName: string,
  key: SigningKey,
  version: RoomVersion | string,
): { event: PDU; eventId: string } {
  const v = resolveRoomVersion(version);
  const hashed = without(draft as Record<string, unknown>, ['unsigned', 'signatures', 'hashes']);
  hashed.hashes = { sha256: encodeBase64(sha256(laxCanonicalJson(hashed))) };
  // canonicalJson inside eventId throws if a non-canonical number survived redaction.
  const event = hashed as unknown as PDU;
  const redacted = without(redactEvent(event, v) as unknown as Record<string, unknown>, ['signatures', 'unsigned']);
  const signature = encodeBase64(key.sign(Buffer.from(laxCanonicalJson(redacted), 'utf8')));
  event.signatures = { [serverName]: { [key.keyId]: signature } };
  return { event, eventId: computeEventId(event, v) };
}

/** The X-Matrix Authorization header for a request whose body holds non-canonical numbers. */
export function signRequestWithNonCanonicalNumbers(
  p: { method: string; uri: string; origin: string; destination: string; content?: unknown },
  key: SigningKey,
): string {
  const signature = encodeBase64(key.sign(Buffer.from(laxCanonicalJson(requestJson(p)), 'utf8')));
  return buildXMatrixHeader({ origin: p.origin, destination: p.destination, keyId: key.keyId, signature });
}
