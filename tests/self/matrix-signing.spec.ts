/**
 * Ed25519 keys and JSON signing, cross-checked with tweetnacl in both directions, and the
 * reasons verification gives for each way it can fail.
 */
import { test, expect } from '@playwright/test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import nacl from 'tweetnacl';
import {
  decodeBase64, encodeBase64, generateSigningKey, signJson, signedBytes, signingKeyFromSeed, verifyEd25519,
  verifyJsonSignature, type KeyLookup,
} from '../../harness/matrix/index.ts';
import { checkedGeneratedKey, checkedKeyFromSeed, oracleChecked, oracleConfirmations } from '../../harness/matrix/testing/oracle.ts';

type Signed = Record<string, unknown> & { signatures: Record<string, Record<string, string>> };

const jsonObject = fc.dictionary(
  fc.string({ unit: 'binary', maxLength: 8 }),
  fc.oneof(fc.maxSafeInteger(), fc.string({ unit: 'binary' }), fc.boolean(), fc.constant(null), fc.array(fc.string(), { maxLength: 3 })),
  { maxKeys: 6 },
).filter((o) => !('signatures' in o) && !('unsigned' in o));

const seed32 = fc.uint8Array({ minLength: 32, maxLength: 32 });

test('keys from the same seed agree with tweetnacl; node:crypto signatures verify in tweetnacl and back', () => {
  fc.assert(
    fc.property(seed32, fc.uint8Array({ maxLength: 700 }), (seed, message) => {
      const key = signingKeyFromSeed(seed, 'ed25519:p');
      const pair = nacl.sign.keyPair.fromSeed(seed);
      assert.equal(encodeBase64(key.publicKey), encodeBase64(pair.publicKey));
      const ours = key.sign(message);
      assert.ok(nacl.sign.detached.verify(message, ours, pair.publicKey));
      const theirs = nacl.sign.detached(message, pair.secretKey);
      assert.ok(verifyEd25519(key.publicKey, message, theirs));
      // Ed25519 is deterministic: both implementations make the same signature.
      assert.equal(encodeBase64(ours), encodeBase64(theirs));
    }),
    { numRuns: 40 },
  );
});

test('sign then verify holds for any object; unsigned is kept and not covered', () => {
  fc.assert(
    fc.property(seed32, jsonObject, fc.string(), (seed, obj, note) => {
      const key = checkedKeyFromSeed(seed, 'ed25519:p');
      const signed = signJson<Record<string, unknown>>({ ...obj, unsigned: { note } }, 'hs.example', key) as Signed;
      assert.deepEqual(signed.unsigned, { note });
      const lookup: KeyLookup = (server, keyId) => (server === 'hs.example' && keyId === 'ed25519:p' ? key.publicKey : undefined);
      assert.deepEqual(verifyJsonSignature(signed, 'hs.example', lookup), { ok: true, keyId: 'ed25519:p' });
      const signature = decodeBase64(signed.signatures['hs.example']['ed25519:p']);
      assert.ok(nacl.sign.detached.verify(signedBytes(signed), signature, key.publicKey));
      assert.ok(verifyJsonSignature({ ...signed, unsigned: { other: 1 } }, 'hs.example', lookup).ok);
    }),
    { numRuns: 60 },
  );
});

test('any flipped byte, in the signature or in the signed bytes, fails verification (both implementations)', () => {
  const key = checkedGeneratedKey();
  fc.assert(
    fc.property(jsonObject, fc.nat(), fc.integer({ min: 1, max: 255 }), (obj, where, mask) => {
      const signed = signJson(obj, 'hs', key) as Signed;
      const signature = decodeBase64(signed.signatures.hs[key.keyId]);
      const bytes = signedBytes(signed);
      const badSignature = Uint8Array.from(signature);
      badSignature[where % 64] ^= mask;
      assert.ok(!verifyEd25519(key.publicKey, bytes, badSignature));
      assert.ok(!nacl.sign.detached.verify(bytes, badSignature, key.publicKey));
      const badBytes = Uint8Array.from(bytes);
      badBytes[where % badBytes.length] ^= mask;
      assert.ok(!verifyEd25519(key.publicKey, badBytes, signature));
      assert.ok(!nacl.sign.detached.verify(badBytes, signature, key.publicKey));
      // Control: unflipped, both accept.
      assert.ok(verifyEd25519(key.publicKey, bytes, signature));
      // Through the JSON API: a flipped signature character is a bad signature.
      const flippedChar = signed.signatures.hs[key.keyId].replace(/^./, (c) => (c === 'A' ? 'B' : 'A'));
      const tampered = { ...signed, signatures: { hs: { [key.keyId]: flippedChar } } };
      assert.ok(!verifyJsonSignature(tampered, 'hs', () => key.publicKey).ok);
    }),
    { numRuns: 60 },
  );
});

test('verifyEd25519 returns false, never throws, on malformed input', () => {
  const key = checkedGeneratedKey();
  const message = Buffer.from('m');
  const signature = key.sign(message);
  expect(verifyEd25519(key.publicKey, message, signature)).toBe(true);
  expect(verifyEd25519(key.publicKey.subarray(1), message, signature)).toBe(false);
  expect(verifyEd25519(key.publicKey, message, signature.subarray(1))).toBe(false);
  expect(verifyEd25519(new Uint8Array(32).fill(0xff), message, signature)).toBe(false);
  expect(verifyEd25519(undefined as unknown as Uint8Array, message, signature)).toBe(false);
});

test('the tweetnacl oracle used by these self-tests confirms good signatures and rejects bad ones', () => {
  const before = oracleConfirmations;
  checkedGeneratedKey().sign(Buffer.from('x'));
  expect(oracleConfirmations).toBe(before + 1);
  const real = generateSigningKey('ed25519:bad');
  const lying = { ...real, sign: (data: Uint8Array) => { const s = Uint8Array.from(real.sign(data)); s[0] ^= 1; return s; } };
  expect(() => oracleChecked(lying).sign(Buffer.from('x'))).toThrow('tweetnacl rejects the signature by ed25519:bad over 1 bytes');
  expect(() => oracleChecked({ ...real, publicKey: new Uint8Array(32) })).toThrow('tweetnacl derives a different public key for ed25519:bad');
});

test('signing keys: IDs, seeds and clear errors', () => {
  const generated = generateSigningKey();
  expect(generated.keyId).toMatch(/^ed25519:[a-zA-Z0-9_]{8}$/);
  expect(generated.seed.length).toBe(32);
  expect(generateSigningKey().keyId).not.toBe(generated.keyId);
  expect(generateSigningKey('ed25519:fixed').keyId).toBe('ed25519:fixed');
  expect(() => signingKeyFromSeed(new Uint8Array(31), 'ed25519:a')).toThrow('an Ed25519 seed is 32 bytes, got 31 bytes');
  expect(() => signingKeyFromSeed(new Uint8Array(32), 'a')).toThrow('a signing key ID is "ed25519:<version>", got "a"');
});

test.describe('verifyJsonSignature says precisely what failed', () => {
  const key = checkedGeneratedKey('ed25519:k1');
  const other = checkedGeneratedKey('ed25519:k2');
  const lookup: KeyLookup = (server, keyId) =>
    server === 'a.example' && keyId === 'ed25519:k1' ? key.publicKey : server === 'a.example' && keyId === 'ed25519:k2' ? other.publicKey : undefined;
  const signed = signJson<Record<string, unknown>>({ x: 1 }, 'a.example', key) as Signed;

  test('no signatures block', () => {
    expect(verifyJsonSignature({ x: 1 }, 'a.example', lookup)).toEqual({ ok: false, reason: 'no signatures block' });
  });
  test('no signature from the server', () => {
    expect(verifyJsonSignature(signed, 'b.example', lookup)).toEqual({ ok: false, reason: 'no signature from b.example (signed by: a.example)' });
  });
  test('unknown key', () => {
    const byUnknown = signJson({ x: 1 }, 'a.example', checkedGeneratedKey('ed25519:k9'));
    expect(verifyJsonSignature(byUnknown, 'a.example', lookup)).toEqual({ ok: false, reason: 'unknown key a.example/ed25519:k9' });
  });
  test('bad signature (signed by another key under a known key ID)', () => {
    const forged = signJson({ x: 1 }, 'a.example', checkedKeyFromSeed(other.seed, 'ed25519:k1'));
    expect(verifyJsonSignature(forged, 'a.example', lookup)).toEqual({ ok: false, keyId: 'ed25519:k1', reason: 'bad signature by a.example/ed25519:k1' });
  });
  test('content changed after signing', () => {
    expect(verifyJsonSignature({ ...signed, x: 2 }, 'a.example', lookup)).toMatchObject({ ok: false, reason: 'bad signature by a.example/ed25519:k1' });
  });
  test('signature that is not base64', () => {
    const broken = { ...signed, signatures: { 'a.example': { 'ed25519:k1': 'not base64!' } } };
    expect(verifyJsonSignature(broken, 'a.example', lookup)).toMatchObject({ ok: false, reason: 'signature a.example/ed25519:k1 is not valid base64' });
  });
  test('only unknown algorithms', () => {
    const other = { ...signed, signatures: { 'a.example': { 'curve25519:x': 'AAAA' } } };
    expect(verifyJsonSignature(other, 'a.example', lookup)).toEqual({ ok: false, reason: 'no ed25519 signature from a.example' });
  });
  test('a good and a bad signature by two known keys: bad wins', () => {
    const both = signJson(signed, 'a.example', other) as Signed;
    expect(verifyJsonSignature(both, 'a.example', lookup).ok).toBe(true);
    both.signatures['a.example']['ed25519:k2'] = signed.signatures['a.example']['ed25519:k1'];
    expect(verifyJsonSignature(both, 'a.example', lookup)).toMatchObject({ ok: false, reason: 'bad signature by a.example/ed25519:k2' });
  });
  test('signJson merges into existing signatures and returns a new object', () => {
    const twice = signJson(signed, 'b.example', other) as Signed;
    expect(Object.keys(twice.signatures).sort()).toEqual(['a.example', 'b.example']);
    expect(Object.keys(signed.signatures)).toEqual(['a.example']);
    expect(verifyJsonSignature(twice, 'a.example', lookup).ok).toBe(true);
  });
});
