/**
 * The lax signer used to forge events carrying numbers canonical JSON forbids: it agrees with
 * canonical JSON on every canonical value, writes the forbidden numbers as JavaScript does, and
 * gives events whose signature and event ID are ordinary while their content hash covers the number.
 */
import { test, expect } from '@playwright/test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { canonicalJson, decodeBase64, encodeBase64, eventId as computeEventId, parseXMatrixHeader, redactEvent, requestJson, signedBytes, signingKeyFromSeed, verifyEd25519, verifyRequest } from '../../harness/matrix/index.ts';
import { laxCanonicalJson, signEventWithNonCanonicalNumbers, signRequestWithNonCanonicalNumbers } from '../../harness/matrix/non-canonical.ts';

const key = signingKeyFromSeed(new Uint8Array(32).fill(3), 'ed25519:lax');
const draft = (content: Record<string, unknown>) => ({
  room_id: '!r:remote.test', sender: '@a:remote.test', type: 'm.room.message', content,
  origin_server_ts: 1, depth: 3, prev_events: ['$p'], auth_events: ['$c'],
});

test('laxCanonicalJson equals canonicalJson on canonical values', () => {
  const value = fc.jsonValue().filter((v) => { try { canonicalJson(v); return true; } catch { return false; } });
  fc.assert(fc.property(value, (v) => assert.equal(laxCanonicalJson(v), canonicalJson(v))), { numRuns: 300 });
  expect(laxCanonicalJson({ b: 1.5, a: 2 ** 53 })).toBe('{"a":9007199254740992,"b":1.5}');
});

test('an event carrying a float: hash over the lax bytes, signature and event ID as for its canonical twin', () => {
  const { event, eventId } = signEventWithNonCanonicalNumbers(draft({ msgtype: 'm.text', body: 'x', value: 1.5 }), 'remote.test', key, '10');
  const { hashes, signatures: _s, ...rest } = event;
  expect(hashes!.sha256).toBe(encodeBase64(createHash('sha256').update(laxCanonicalJson(rest), 'utf8').digest()));
  // Redaction drops the message content: the signature and the ID cover canonical bytes only.
  const redacted = signedBytes(redactEvent(event, '10') as unknown as Record<string, unknown>);
  expect(verifyEd25519(key.publicKey, redacted, decodeBase64(event.signatures!['remote.test'][key.keyId]))).toBe(true);
  expect(eventId).toBe(computeEventId(event, '10'));
  expect(() => canonicalJson(event)).toThrow(/floats are not allowed/);
});

test('a number that survives redaction is refused', () => {
  expect(() => signEventWithNonCanonicalNumbers({ ...draft({}), type: 'm.room.power_levels', state_key: '', content: { ban: 1.5 } }, 'remote.test', key, '10')).toThrow(/floats/);
});

test('a request signed over a body with a float verifies for a lax recipient only', () => {
  const p = { method: 'PUT', uri: '/_matrix/federation/v1/send/1', origin: 'remote.test', destination: 'cand.test', content: { pdus: [{ value: 1.5 }] } };
  const header = signRequestWithNonCanonicalNumbers(p, key);
  expect(header).toMatch(/^X-Matrix origin="remote.test",destination="cand.test",key="ed25519:lax",sig="/);
  const sig = decodeBase64(parseXMatrixHeader(header).sig);
  expect(verifyEd25519(key.publicKey, Buffer.from(laxCanonicalJson(requestJson(p))), sig)).toBe(true);
  // The suite's own (strict) verifier cannot canonicalise the body, so it does not accept it.
  const lookup = (s: string, k: string) => (s === 'remote.test' && k === key.keyId ? key.publicKey : undefined);
  expect(verifyRequest({ ...p, authorization: header, expectedDestination: 'cand.test', lookup }).ok).toBe(false);
});
