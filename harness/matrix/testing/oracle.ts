/**
 * For self-tests: signing keys whose every signature is checked, as it is made, by tweetnacl, an
 * Ed25519 implementation independent of node:crypto. A disagreement throws at the signing call.
 * (tweetnacl is ~150 times slower, hence only for tests; not exported from harness/matrix.)
 */
import nacl from 'tweetnacl';
import { generateSigningKey, signingKeyFromSeed, type SigningKey } from '../keys.ts';

/** How many signatures the oracle has confirmed in this process (lets a test prove it ran). */
export let oracleConfirmations = 0;

export function oracleChecked(key: SigningKey): SigningKey {
  const pair = nacl.sign.keyPair.fromSeed(key.seed);
  if (Buffer.compare(Buffer.from(pair.publicKey), Buffer.from(key.publicKey)) !== 0) {
    throw new Error(`tweetnacl derives a different public key for ${key.keyId}`);
  }
  return {
    ...key,
    sign(data: Uint8Array): Uint8Array {
      const signature = key.sign(data);
      if (!nacl.sign.detached.verify(data, signature, pair.publicKey)) {
        throw new Error(`tweetnacl rejects the signature by ${key.keyId} over ${data.length} bytes`);
      }
      oracleConfirmations++;
      return signature;
    },
  };
}

export const checkedKeyFromSeed = (seed: Uint8Array, keyId: string): SigningKey => oracleChecked(signingKeyFromSeed(seed, keyId));
export const checkedGeneratedKey = (keyId?: string): SigningKey => oracleChecked(generateSigningKey(keyId));
