/**
 * Binds the protocol functions of harness/matrix to a room version and a set of known keys, in the
 * shape observations carry (`eventIdOf`, `verifyEvent`). Tests build send_join observations with
 * it; recorded fixtures are judged again with it.
 */
import { decodeBase64, eventId, verifyEvent, verifyJsonSignature, type KeyLookup, type PDU } from '../matrix/index.ts';
import type { KeyServerObservation } from './federation-api.ts';
import type { SendJoinObservation, WirePdu } from './send-join-observation.ts';

/** Public keys as published: server name -> key ID -> unpadded Base64 public key. */
export type PublishedKeys = Record<string, Record<string, string>>;

export function keyLookupFrom(keys: PublishedKeys): KeyLookup {
  return (serverName, keyId) => {
    const key = keys[serverName]?.[keyId];
    return key === undefined ? undefined : decodeBase64(key);
  };
}

export function matrixFunctions(roomVersion: string, keys?: PublishedKeys | KeyLookup): Pick<SendJoinObservation, 'eventIdOf' | 'verifyEvent'> {
  const eventIdOf = (pdu: WirePdu) => eventId(pdu as PDU, roomVersion);
  if (!keys) return { eventIdOf };
  const lookup = typeof keys === 'function' ? keys : keyLookupFrom(keys);
  return {
    eventIdOf,
    verifyEvent: (pdu: WirePdu) => {
      const result = verifyEvent(pdu as PDU, roomVersion, lookup);
      return result.ok ? { ok: true } : { ok: false, reason: result.errors.join('; ') };
    },
  };
}

/** Verifies a key document's signature by `serverName` with one of its own keys (KeyServerObservation.verifySignature). */
export function keyDocumentVerifier(serverName: string): KeyServerObservation['verifySignature'] {
  return (document, keyId, publicKeyBase64) => {
    let publicKey: Uint8Array;
    try {
      publicKey = decodeBase64(publicKeyBase64);
    } catch {
      return { ok: false, reason: `key ${keyId} is not Base64` };
    }
    const r = verifyJsonSignature(document, serverName, (server, id) => (server === serverName && id === keyId ? publicKey : undefined));
    return r.ok ? { ok: true } : { ok: false, reason: r.reason ?? 'the signature does not verify' };
  };
}
