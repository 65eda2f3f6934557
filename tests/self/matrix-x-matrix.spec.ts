/** The X-Matrix Authorization header: building, parsing per the spec grammar, and request verification. */
import { test, expect } from '@playwright/test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import nacl from 'tweetnacl';
import {
  XMatrixParseError, buildXMatrixHeader, canonicalJson, decodeBase64, parseXMatrixHeader, requestJson,
  signRequest, verifyRequest, type KeyLookup,
} from '../../harness/matrix/index.ts';
import { checkedGeneratedKey } from '../../harness/matrix/testing/oracle.ts';

test.describe('parsing', () => {
  test('the spec example', () => {
    expect(parseXMatrixHeader('X-Matrix origin="origin.hs.example.com",destination="destination.hs.example.com",key="ed25519:key1",sig="ABCDEF..."'))
      .toEqual({ origin: 'origin.hs.example.com', destination: 'destination.hs.example.com', key: 'ed25519:key1', sig: 'ABCDEF...' });
  });

  test('scheme and parameter names are case-insensitive, order does not matter', () => {
    expect(parseXMatrixHeader('x-MATRIX SIG="s",Key="ed25519:k",DESTINATION="d",Origin="o"'))
      .toEqual({ origin: 'o', destination: 'd', key: 'ed25519:k', sig: 's' });
  });

  test('unquoted token values, including colons (origin with a port)', () => {
    expect(parseXMatrixHeader('X-Matrix origin=hs.example.com:8448,destination=127.0.0.1:1234,key=ed25519:abc_1,sig=AbC+.-'))
      .toEqual({ origin: 'hs.example.com:8448', destination: '127.0.0.1:1234', key: 'ed25519:abc_1', sig: 'AbC+.-' });
  });

  test('spaces after the scheme, spaces and tabs around commas and "="', () => {
    expect(parseXMatrixHeader('X-Matrix   origin="o" ,\tdestination = "d" \t, key="k"  ,sig="s"  '))
      .toEqual({ origin: 'o', destination: 'd', key: 'k', sig: 's' });
  });

  test('backslash escapes in quoted values are unescaped', () => {
    expect(parseXMatrixHeader('X-Matrix origin="a\\"b\\\\c\\d",key="k",sig="s"').origin).toBe('a"b\\cd');
  });

  test('destination is optional (older servers); signature is accepted for sig; unknown parameters are ignored', () => {
    expect(parseXMatrixHeader('X-Matrix origin="o",key="k",signature="s",ext="whatever"')).toEqual({ origin: 'o', key: 'k', sig: 's' });
    expect(parseXMatrixHeader('X-Matrix origin="o",key="k",sig="s",signature="s"').sig).toBe('s');
  });

  test('empty list elements are skipped', () => {
    expect(parseXMatrixHeader('X-Matrix ,origin="o",,key="k", ,sig="s",').sig).toBe('s');
  });

  const malformed: Array<[string, string, RegExp]> = [
    ['another scheme', 'Bearer abc', /expected the scheme "X-Matrix" followed by a space, got "Bearer"/],
    ['no space after the scheme', 'X-Matrixorigin="o"', /expected the scheme "X-Matrix"/],
    ['a missing sig', 'X-Matrix origin="o",key="k"', /missing parameter\(s\) sig$/],
    ['missing origin and key', 'X-Matrix sig="s"', /missing parameter\(s\) origin, key$/],
    ['an unterminated quote', 'X-Matrix origin="o",key="k",sig="s', /unterminated quoted value of sig/],
    ['a repeated parameter', 'X-Matrix origin="o",origin="p",key="k",sig="s"', /parameter origin appears twice/],
    ['sig and signature disagreeing', 'X-Matrix origin="o",key="k",sig="s",signature="t"', /"sig" and "signature" are both present with different values/],
    ['an unquoted value with characters outside token', 'X-Matrix origin="o",key="k",sig=ab/cd==', /expected "," after the value of sig, got "\/"/],
    ['a parameter without a value', 'X-Matrix origin=,key="k",sig="s"', /expected a value for origin/],
    ['a missing "="', 'X-Matrix origin "o"', /expected "=" after parameter origin/],
    ['a control character in a quoted value', 'X-Matrix origin="o\u0001",key="k",sig="s"', /control character in the value of origin/],
  ];
  for (const [name, header, message] of malformed) {
    test(`rejects ${name}`, () => {
      expect(() => parseXMatrixHeader(header)).toThrow(XMatrixParseError);
      expect(() => parseXMatrixHeader(header)).toThrow(message);
    });
  }
});

test('build then parse round-trips any printable values, and the built header follows the sender advice', () => {
  const printable = fc.string({ unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)), minLength: 1 });
  fc.assert(
    fc.property(printable, printable, printable, printable, (origin, destination, keyId, signature) => {
      const header = buildXMatrixHeader({ origin, destination, keyId, signature });
      assert.match(header, /^X-Matrix origin="/); // one space, lower-case names, quoted values
      assert.deepEqual(parseXMatrixHeader(header), { origin, destination, key: keyId, sig: signature });
    }),
    { numRuns: 300 },
  );
  expect(buildXMatrixHeader({ origin: 'a:8448', destination: 'b', keyId: 'ed25519:k', signature: 'c2ln' }))
    .toBe('X-Matrix origin="a:8448",destination="b",key="ed25519:k",sig="c2ln"');
});

test.describe('signing and verifying requests', () => {
  const originKey = checkedGeneratedKey();
  const otherKey = checkedGeneratedKey();
  const keys: Record<string, typeof originKey> = { 'origin.test:8448': originKey, 'other.test': otherKey };
  const lookup: KeyLookup = (server, keyId) => (keys[server]?.keyId === keyId ? keys[server].publicKey : undefined);
  const request = {
    method: 'PUT', uri: '/_matrix/federation/v2/send_join/!r:dest.test/$e?omit_members=true',
    origin: 'origin.test:8448', destination: 'dest.test', content: { type: 'm.room.member', n: 1 },
  };
  const authorization = signRequest(request, originKey);
  const verify = (overrides: Partial<Parameters<typeof verifyRequest>[0]>) => verifyRequest({
    method: request.method, uri: request.uri, content: request.content, authorization, expectedDestination: 'dest.test', lookup, ...overrides,
  });

  test('a signed request verifies, and tweetnacl agrees with the signature', () => {
    expect(verify({})).toEqual({ ok: true, origin: 'origin.test:8448', keyId: originKey.keyId });
    const { sig } = parseXMatrixHeader(authorization);
    const signedBytes = Buffer.from(canonicalJson(requestJson(request)));
    expect(nacl.sign.detached.verify(signedBytes, decodeBase64(sig), originKey.publicKey)).toBe(true);
  });

  test('a request without a body signs no content key', () => {
    const get = { method: 'GET', uri: '/_matrix/federation/v1/make_join/!r:dest.test/@u:origin.test:8448?ver=10', origin: 'origin.test:8448', destination: 'dest.test' };
    const header = signRequest(get, originKey);
    expect(verifyRequest({ ...get, authorization: header, expectedDestination: 'dest.test', lookup }).ok).toBe(true);
    expect(verifyRequest({ ...get, content: {}, authorization: header, expectedDestination: 'dest.test', lookup }).ok).toBe(false);
  });

  test('a wrong destination is refused before the signature is checked', () => {
    expect(verify({ expectedDestination: 'elsewhere.test' }))
      .toEqual({ ok: false, origin: 'origin.test:8448', reason: 'destination "dest.test" is not this server ("elsewhere.test")' });
  });

  test('a header without destination is checked against the expected destination', () => {
    const { sig } = parseXMatrixHeader(authorization);
    const legacy = `X-Matrix origin="origin.test:8448",key="${originKey.keyId}",sig="${sig}"`;
    expect(verify({ authorization: legacy }).ok).toBe(true);
    expect(verify({ authorization: legacy, expectedDestination: 'elsewhere.test' }).ok).toBe(false);
  });

  test('a wrong origin, key, signature, method, uri or body is refused with the reason', () => {
    const { sig } = parseXMatrixHeader(authorization);
    const claimingOther = buildXMatrixHeader({ origin: 'other.test', destination: 'dest.test', keyId: otherKey.keyId, signature: sig });
    expect(verify({ authorization: claimingOther })).toMatchObject({ ok: false, origin: 'other.test', reason: expect.stringMatching(/^bad signature by other\.test\//) });
    const unknownKey = buildXMatrixHeader({ origin: 'origin.test:8448', destination: 'dest.test', keyId: 'ed25519:nope', signature: sig });
    expect(verify({ authorization: unknownKey })).toMatchObject({ ok: false, reason: 'unknown key origin.test:8448/ed25519:nope' });
    const flipped = authorization.replace(/sig="(.)/, (_m, c: string) => `sig="${c === 'A' ? 'B' : 'A'}`);
    expect(verify({ authorization: flipped })).toMatchObject({ ok: false, reason: expect.stringMatching(/^bad signature/) });
    expect(verify({ method: 'POST' }).ok).toBe(false);
    expect(verify({ uri: request.uri.replace('omit_members=true', 'omit_members=false') }).ok).toBe(false);
    expect(verify({ content: { ...request.content, n: 2 } })).toMatchObject({ ok: false, reason: expect.stringMatching(/with its body\)$/) });
    expect(verify({ authorization: undefined })).toEqual({ ok: false, reason: 'no Authorization header' });
    expect(verify({ authorization: 'Bearer x' })).toMatchObject({ ok: false, reason: expect.stringMatching(/expected the scheme "X-Matrix"/) });
  });
});
