/**
 * Ed25519 signing keys through node:crypto (about 150 times faster than tweetnacl here; tweetnacl
 * stays the independent oracle of the self-tests). A Matrix signing key is a 32-byte seed; node
 * takes it wrapped in a fixed PKCS#8 DER prefix (RFC 8410), and public keys in a fixed SPKI prefix.
 */
import { createPrivateKey, createPublicKey, randomBytes, sign as cryptoSign, verify as cryptoVerify, type KeyObject } from 'node:crypto';
import { encodeBase64 } from './base64.ts';

export interface SigningKey {
  /** Signing key identifier, algorithm and version: `ed25519:abc`. */
  keyId: string;
  seed: Uint8Array;
  publicKey: Uint8Array;
  /** Unpadded standard Base64 of the public key, as published in `verify_keys`. */
  publicKeyBase64: string;
  /** A detached 64-byte Ed25519 signature of `data`. */
  sign(data: Uint8Array): Uint8Array;
}

const PKCS8_ED25519_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');
const SPKI_ED25519_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');

/** Key identifier versions the spec allows (`definitions/keys.yaml`): `[a-zA-Z0-9_]`. */
const KEY_VERSION_CHARS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_';

export function signingKeyFromSeed(seed: Uint8Array, keyId: string): SigningKey {
  if (!(seed instanceof Uint8Array) || seed.length !== 32) {
    throw new Error(`an Ed25519 seed is 32 bytes, got ${seed instanceof Uint8Array ? seed.length + ' bytes' : typeof seed}`);
  }
  if (typeof keyId !== 'string' || !/^ed25519:.+$/.test(keyId)) {
    throw new Error(`a signing key ID is "ed25519:<version>", got ${JSON.stringify(keyId)}`);
  }
  const privateKey = createPrivateKey({ key: Buffer.concat([PKCS8_ED25519_PREFIX, seed]), format: 'der', type: 'pkcs8' });
  const spki = createPublicKey(privateKey).export({ format: 'der', type: 'spki' });
  const publicKey = new Uint8Array(spki.subarray(SPKI_ED25519_PREFIX.length));
  return {
    keyId,
    seed: new Uint8Array(seed),
    publicKey,
    publicKeyBase64: encodeBase64(publicKey),
    sign: (data) => cryptoSign(null, data, privateKey),
  };
}

/** A fresh random key; the default ID is `ed25519:` plus 8 random characters from `[a-zA-Z0-9_]`. */
export function generateSigningKey(keyId?: string): SigningKey {
  const version = Array.from(randomBytes(8), (b) => KEY_VERSION_CHARS[b % KEY_VERSION_CHARS.length]).join('');
  return signingKeyFromSeed(randomBytes(32), keyId ?? `ed25519:${version}`);
}

/** Public KeyObjects by raw key (binary string), so repeated verifications skip the DER import. */
const publicKeyCache = new Map<string, KeyObject>();
const PUBLIC_KEY_CACHE_LIMIT = 4096;

function publicKeyObject(publicKey: Uint8Array): KeyObject {
  const cacheKey = Buffer.from(publicKey.buffer, publicKey.byteOffset, publicKey.byteLength).toString('latin1');
  let key = publicKeyCache.get(cacheKey);
  if (!key) {
    key = createPublicKey({ key: Buffer.concat([SPKI_ED25519_PREFIX, publicKey]), format: 'der', type: 'spki' });
    if (publicKeyCache.size >= PUBLIC_KEY_CACHE_LIMIT) publicKeyCache.clear();
    publicKeyCache.set(cacheKey, key);
  }
  return key;
}

/** True iff `signature` is a valid Ed25519 signature of `data` by `publicKey`; never throws. */
export function verifyEd25519(publicKey: Uint8Array, data: Uint8Array, signature: Uint8Array): boolean {
  try {
    if (!(publicKey instanceof Uint8Array) || publicKey.length !== 32) return false;
    if (!(signature instanceof Uint8Array) || signature.length !== 64) return false;
    return cryptoVerify(null, data, publicKeyObject(publicKey), signature);
  } catch {
    return false; // e.g. a public key that is not a curve point
  }
}
