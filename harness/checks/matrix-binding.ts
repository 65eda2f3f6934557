/**
 * Binds the protocol functions of harness/matrix to a room version and a set of known keys, in the
 * shape observations carry (`eventIdOf`, `verifyEvent`). Tests build send_join observations with
 * it; recorded fixtures are judged again with it.
 */
import { decodeBase64, eventId, verifyEvent, type KeyLookup, type PDU } from '../matrix/index.ts';
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
