/**
 * Signing JSON and checking for a signature (spec appendix "Signing Details" and "Checking for a
 * Signature"): the signed bytes are the canonical JSON of the object without `signatures` and
 * `unsigned`; signatures live in `signatures[entity][keyId]` as unpadded Base64.
 */
import { canonicalJson } from './canonical-json.ts';
import { decodeBase64, encodeBase64 } from './base64.ts';
import { verifyEd25519, type SigningKey } from './keys.ts';

/** The verification key of `serverName` with identifier `keyId` (e.g. `ed25519:abc`), if known. */
export type KeyLookup = (serverName: string, keyId: string) => Uint8Array | undefined;

export interface SignatureCheck {
  ok: boolean;
  /** Why the check failed (absent when ok). */
  reason?: string;
  /** The key that verified (when ok), or the key that failed (when a signature was bad). */
  keyId?: string;
  /** Set when the only failure is that none of the server's keys is known (nothing was bad). */
  onlyUnknownKeys?: true;
}

/** `obj` without `signatures` and `unsigned`: the part that signatures cover. */
export function signedPart(obj: Record<string, unknown>): Record<string, unknown> {
  const { signatures: _signatures, unsigned: _unsigned, ...rest } = obj;
  return rest;
}

/** Canonical UTF-8 bytes a signature of `obj` covers. */
export function signedBytes(obj: Record<string, unknown>): Buffer {
  return Buffer.from(canonicalJson(signedPart(obj)), 'utf8');
}

function mergeSignature(
  existing: unknown,
  serverName: string,
  keyId: string,
  signature: string,
): Record<string, Record<string, string>> {
  const signatures = { ...((existing ?? {}) as Record<string, Record<string, string>>) };
  signatures[serverName] = { ...(signatures[serverName] ?? {}), [keyId]: signature };
  return signatures;
}

/** Attach a signature made over already-computed signed bytes; returns a new object. */
export function attachSignature<T extends Record<string, unknown>>(
  obj: T,
  serverName: string,
  keyId: string,
  signatureBase64: string,
): T {
  return { ...obj, signatures: mergeSignature(obj.signatures, serverName, keyId, signatureBase64) };
}

/**
 * A new object: `obj` with `serverName`'s signature by `key` merged into any existing signatures.
 * `unsigned` is kept and, like `signatures`, not covered by the signature.
 */
export function signJson<T extends Record<string, unknown>>(obj: T, serverName: string, key: SigningKey): T {
  const signature = key.sign(signedBytes(obj));
  return attachSignature(obj, serverName, key.keyId, encodeBase64(signature));
}

/**
 * Check `serverName`'s signatures in `signatures` over `bytes`, per "Checking for a Signature":
 * key IDs of algorithms other than ed25519 are ignored, then there must be at least one key we know,
 * and every signature by a known key must verify (a bad signature by a known key is never excused
 * by a good one from another key, as in the event validation rule "all signatures from known
 * unexpired keys ... are found to be valid").
 */
export function checkSignaturesOver(
  bytes: Uint8Array,
  signatures: unknown,
  serverName: string,
  lookup: KeyLookup,
): SignatureCheck {
  if (signatures === undefined) return { ok: false, reason: 'no signatures block' };
  if (typeof signatures !== 'object' || signatures === null || Array.isArray(signatures)) {
    return { ok: false, reason: 'the signatures block is not an object' };
  }
  const byServer = (signatures as Record<string, unknown>)[serverName];
  if (byServer === undefined) {
    const present = Object.keys(signatures);
    return { ok: false, reason: `no signature from ${serverName} (signed by: ${present.length ? present.join(', ') : 'nobody'})` };
  }
  if (typeof byServer !== 'object' || byServer === null || Array.isArray(byServer)) {
    return { ok: false, reason: `signatures of ${serverName} is not an object` };
  }
  const entries = Object.entries(byServer as Record<string, unknown>).filter(([keyId]) => keyId.startsWith('ed25519:'));
  if (entries.length === 0) return { ok: false, reason: `no ed25519 signature from ${serverName}` };
  let verifiedKeyId: string | undefined;
  const unknown: string[] = [];
  for (const [keyId, sig] of entries) {
    const publicKey = lookup(serverName, keyId);
    if (!publicKey) {
      unknown.push(keyId);
      continue;
    }
    if (typeof sig !== 'string') return { ok: false, keyId, reason: `signature ${serverName}/${keyId} is not a string` };
    let sigBytes: Uint8Array;
    try {
      sigBytes = decodeBase64(sig);
    } catch {
      return { ok: false, keyId, reason: `signature ${serverName}/${keyId} is not valid base64` };
    }
    if (!verifyEd25519(publicKey, bytes, sigBytes)) {
      return { ok: false, keyId, reason: `bad signature by ${serverName}/${keyId}` };
    }
    verifiedKeyId ??= keyId;
  }
  if (verifiedKeyId === undefined) {
    return { ok: false, onlyUnknownKeys: true, reason: `unknown key ${unknown.map((k) => `${serverName}/${k}`).join(', ')}` };
  }
  return { ok: true, keyId: verifiedKeyId };
}

/** Check that `obj` carries a valid signature of `serverName` by a key `lookup` knows. */
export function verifyJsonSignature(obj: Record<string, unknown>, serverName: string, lookup: KeyLookup): SignatureCheck {
  if (obj.signatures === undefined) return { ok: false, reason: 'no signatures block' };
  let bytes: Buffer;
  try {
    bytes = signedBytes(obj);
  } catch (e) {
    return { ok: false, reason: `not canonical JSON: ${(e as Error).message}` };
  }
  const { onlyUnknownKeys: _internal, ...check } = checkSignaturesOver(bytes, obj.signatures, serverName, lookup);
  return check;
}
