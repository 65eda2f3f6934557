/**
 * A device's identity keys as a client uploads them (`POST /keys/upload`, DeviceKeys): an Ed25519
 * key that signs the object (Signing JSON, by the user ID and `ed25519:<device_id>`) and a
 * Curve25519 key. The Curve25519 key is random bytes: no test decrypts anything.
 */
import { randomBytes } from 'node:crypto';
import { encodeBase64 } from '../matrix/base64.ts';
import { generateSigningKey } from '../matrix/keys.ts';
import { signJson } from '../matrix/signing.ts';
import type { CandidateUser } from '../candidates/types.ts';
import type { JsonObject } from './types.ts';

export const OLM_ALGORITHM = 'm.olm.v1.curve25519-aes-sha2';
export const MEGOLM_ALGORITHM = 'm.megolm.v1.aes-sha2';

export function signedDeviceKeys(user: Pick<CandidateUser, 'userId' | 'deviceId'>): JsonObject {
  const ed25519 = generateSigningKey(`ed25519:${user.deviceId}`);
  const unsigned = {
    user_id: user.userId,
    device_id: user.deviceId,
    algorithms: [OLM_ALGORITHM, MEGOLM_ALGORITHM],
    keys: {
      [`curve25519:${user.deviceId}`]: encodeBase64(randomBytes(32)),
      [`ed25519:${user.deviceId}`]: ed25519.publicKeyBase64,
    },
  };
  return signJson(unsigned, user.userId, ed25519);
}
