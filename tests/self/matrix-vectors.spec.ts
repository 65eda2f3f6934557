/**
 * The spec appendix's worked examples and "Cryptographic Test Vectors", checked exactly. Every
 * signature is also checked by tweetnacl, an Ed25519 implementation independent of node:crypto.
 */
import { test, expect } from '@playwright/test';
import nacl from 'tweetnacl';
import { createHash } from 'node:crypto';
import {
  canonicalJson, contentHash, decodeBase64, encodeBase64, eventId, redactEvent, signEvent, signJson,
  signedBytes, verifyEvent, verifyJsonSignature, type PDU,
} from '../../harness/matrix/index.ts';
import { checkedKeyFromSeed } from '../../harness/matrix/testing/oracle.ts';

const SEED = decodeBase64('YJDBA9Xnr2sVqXD9Vj7XVUnmFZcZrlw8Md7kMW+3XA1');
const key = checkedKeyFromSeed(SEED, 'ed25519:1');
const oracle = nacl.sign.keyPair.fromSeed(SEED);
const lookup = (server: string, keyId: string) => (server === 'domain' && keyId === 'ed25519:1' ? key.publicKey : undefined);

/** tweetnacl's verdict on `signatureBase64` over the bytes `obj`'s signatures cover. */
function oracleVerifies(obj: Record<string, unknown>, signatureBase64: string): boolean {
  return nacl.sign.detached.verify(signedBytes(obj), decodeBase64(signatureBase64), oracle.publicKey);
}

test.describe('canonical JSON worked examples (appendix "Canonical JSON")', () => {
  const examples: Array<[input: string, canonical: string]> = [
    ['{}', '{}'],
    ['{"one": 1, "two": "Two"}', '{"one":1,"two":"Two"}'],
    ['{"b": "2", "a": "1"}', '{"a":"1","b":"2"}'],
    ['{"b":"2","a":"1"}', '{"a":"1","b":"2"}'],
    [
      '{"auth": {"success": true, "mxid": "@john.doe:example.com", "profile": {"display_name": "John Doe", "three_pids": [{"medium": "email", "address": "john.doe@example.org"}, {"medium": "msisdn", "address": "123456789"}]}}}',
      '{"auth":{"mxid":"@john.doe:example.com","profile":{"display_name":"John Doe","three_pids":[{"address":"john.doe@example.org","medium":"email"},{"address":"123456789","medium":"msisdn"}]},"success":true}}',
    ],
    ['{"a": "日本語"}', '{"a":"日本語"}'],
    ['{"本": 2, "日": 1}', '{"日":1,"本":2}'],
    ['{"a": "\\u65E5"}', '{"a":"日"}'],
    ['{"a": null}', '{"a":null}'],
    ['{"a": -0, "b": 1e10}', '{"a":0,"b":10000000000}'],
  ];
  for (const [input, canonical] of examples) {
    test(`${input} -> ${canonical}`, () => {
      expect(canonicalJson(JSON.parse(input))).toBe(canonical);
    });
  }
});

test('unpadded base64 examples (appendix "Unpadded Base64")', () => {
  const examples: Array<[string, string]> = [
    ['', ''], ['f', 'Zg'], ['fo', 'Zm8'], ['foo', 'Zm9v'], ['foob', 'Zm9vYg'], ['fooba', 'Zm9vYmE'], ['foobar', 'Zm9vYmFy'],
  ];
  for (const [plain, encoded] of examples) {
    expect(encodeBase64(Buffer.from(plain)), plain).toBe(encoded);
    expect(Buffer.from(decodeBase64(encoded)).toString(), encoded).toBe(plain);
  }
});

test('the vector signing key derives the same public key in node:crypto and tweetnacl', () => {
  expect(key.keyId).toBe('ed25519:1');
  expect(Buffer.from(key.publicKey).equals(Buffer.from(oracle.publicKey))).toBe(true);
  expect(key.publicKeyBase64).toBe(encodeBase64(oracle.publicKey));
});

test.describe('JSON signing vectors (appendix "Cryptographic Test Vectors")', () => {
  test('the empty object', () => {
    const signed = signJson<Record<string, unknown>>({}, 'domain', key);
    expect(signed).toEqual({
      signatures: { domain: { 'ed25519:1': 'K8280/U9SSy9IVtjBuVeLr+HpOB4BQFWbg+UZaADMtTdGYI7Geitb76LTrr5QV/7Xg4ahLwYGYZzuHGZKM5ZAQ' } },
    });
    expect(oracleVerifies(signed, (signed.signatures as Record<string, Record<string, string>>).domain['ed25519:1'])).toBe(true);
    expect(verifyJsonSignature(signed, 'domain', lookup)).toEqual({ ok: true, keyId: 'ed25519:1' });
  });

  test('{"one": 1, "two": "Two"}', () => {
    const signed = signJson<Record<string, unknown>>({ one: 1, two: 'Two' }, 'domain', key);
    expect(signed).toEqual({
      one: 1,
      signatures: { domain: { 'ed25519:1': 'KqmLSbO39/Bzb0QIYE82zqLwsA+PDzYIpIRA2sRQ4sL53+sN6/fpNSoqE7BP7vBZhG6kYdD13EIMJpvhJI+6Bw' } },
      two: 'Two',
    });
    expect(oracleVerifies(signed, (signed.signatures as Record<string, Record<string, string>>).domain['ed25519:1'])).toBe(true);
    expect(verifyJsonSignature(signed, 'domain', lookup).ok).toBe(true);
  });

  test('the signing example of "Signing Details" keeps unsigned out of the signature', () => {
    // Not a vector (the spec's example key is not published), but its shape: unsigned survives signing.
    const signed = signJson({ name: 'example.org', unsigned: { age_ts: 922834800000 } }, 'example.org', key);
    expect(signed.unsigned).toEqual({ age_ts: 922834800000 });
    const withOtherUnsigned = { ...signed, unsigned: { age_ts: 1 } };
    expect(verifyJsonSignature(withOtherUnsigned, 'example.org', () => key.publicKey).ok).toBe(true);
  });
});

// The event vectors carry a top-level `origin`, which only the v1-v10 redaction algorithm keeps:
// they are vectors for room versions 1-10.
test.describe('event signing vectors (appendix "Cryptographic Test Vectors")', () => {
  // (Room versions 1 and 2 would need an event_id, which this vector does not have.)
  for (const version of ['3', '5', '6', '8', '9', '10']) {
    test(`the minimally-sized event, room version ${version} redaction`, () => {
      const input = {
        room_id: '!x:domain', sender: '@a:domain', origin: 'domain', origin_server_ts: 1000000, signatures: {}, hashes: {},
        type: 'X', content: {}, prev_events: [], auth_events: [], depth: 3, unsigned: { age_ts: 1000000 },
      } as unknown as PDU;
      const { event } = signEvent(input, 'domain', key, version);
      expect(event).toEqual({
        auth_events: [], content: {}, depth: 3,
        hashes: { sha256: '5jM4wQpv6lnBo7CLIghJuHdW+s2CMBJPUOGOC89ncos' },
        origin: 'domain', origin_server_ts: 1000000, prev_events: [], room_id: '!x:domain', sender: '@a:domain',
        signatures: { domain: { 'ed25519:1': 'KxwGjPSDEtvnFgU00fwFz+l6d2pJM6XBIaMEn81SXPTRl16AqLAYqfIReFGZlHi5KLjAWbOoMszkwsQma+lYAg' } },
        type: 'X', unsigned: { age_ts: 1000000 },
      });
      expect(oracleVerifies(redactEvent(event, version), event.signatures!.domain['ed25519:1'])).toBe(true);
    });
  }

  test('the event containing redactable content', () => {
    const input = {
      content: { body: 'Here is the message content' }, event_id: '$0:domain', origin: 'domain', origin_server_ts: 1000000,
      type: 'm.room.message', room_id: '!r:domain', sender: '@u:domain', signatures: {}, unsigned: { age_ts: 1000000 },
    } as unknown as PDU;
    const { event, eventId: id } = signEvent(input, 'domain', key, '1');
    expect(event).toEqual({
      content: { body: 'Here is the message content' }, event_id: '$0:domain',
      hashes: { sha256: 'onLKD1bGljeBWQhWZ1kaP9SorVmRQNdN5aM2JYU2n/g' },
      origin: 'domain', origin_server_ts: 1000000, type: 'm.room.message', room_id: '!r:domain', sender: '@u:domain',
      signatures: { domain: { 'ed25519:1': 'Wm+VzmOUOz08Ds+0NTWb1d4CZrVsJSikkeRxh6aCcUwu6pNC78FunoD7KNWzqFn241eYHYMGCA5McEiVPdhzBA' } },
      unsigned: { age_ts: 1000000 },
    });
    expect(id).toBe('$0:domain'); // room v1 events carry their ID
    expect(contentHash(event)).toBe('onLKD1bGljeBWQhWZ1kaP9SorVmRQNdN5aM2JYU2n/g');
    // The signature covers the redacted copy, which has lost the body.
    const redacted = redactEvent(event, '1');
    expect(redacted.content).toEqual({});
    expect(oracleVerifies(redacted, event.signatures!.domain['ed25519:1'])).toBe(true);
    const verified = verifyEvent(event, '1', lookup);
    expect(verified).toMatchObject({ ok: true, signaturesOk: true, hashOk: true, eventId: '$0:domain', errors: [] });
  });

  test('in room version 11 the same input signs differently, because v11 redaction drops origin', () => {
    const input = {
      room_id: '!x:domain', sender: '@a:domain', origin: 'domain', origin_server_ts: 1000000,
      type: 'X', content: {}, prev_events: [], auth_events: [], depth: 3,
    } as unknown as PDU;
    const v10 = signEvent(input, 'domain', key, '10').event;
    const v11 = signEvent(input, 'domain', key, '11').event;
    expect(v11.hashes).toEqual(v10.hashes); // the content hash does not depend on redaction
    expect(v11.signatures!.domain['ed25519:1']).not.toBe(v10.signatures!.domain['ed25519:1']);
    expect(oracleVerifies(redactEvent(v11, '11'), v11.signatures!.domain['ed25519:1'])).toBe(true);
  });

  test('event IDs: v4+ URL-safe base64 of the reference hash, v3 standard base64 of the same hash', () => {
    const input = {
      room_id: '!x:domain', sender: '@a:domain', origin_server_ts: 1000000, type: 'm.room.message',
      content: { body: '?>>?' }, prev_events: [], auth_events: [], depth: 3,
    } as unknown as PDU;
    const v3 = signEvent(input, 'domain', key, '3');
    const v4 = signEvent(input, 'domain', key, '4');
    expect(v3.eventId).toMatch(/^\$[A-Za-z0-9+/]{43}$/);
    expect(v4.eventId).toMatch(/^\$[A-Za-z0-9_-]{43}$/);
    expect(v4.eventId.slice(1)).toBe(v3.eventId.slice(1).replaceAll('+', '-').replaceAll('/', '_'));
    expect(eventId(v4.event, '4')).toBe(v4.eventId);
    // Recomputed step by step: SHA-256 over the canonical redacted event without signatures/unsigned.
    const { signatures: _s, ...redacted } = redactEvent(v4.event, '4');
    expect(v4.eventId).toBe('$' + createHash('sha256').update(canonicalJson(redacted)).digest('base64url'));
  });
});
