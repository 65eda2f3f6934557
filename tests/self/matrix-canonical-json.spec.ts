/**
 * Canonical JSON and unpadded Base64: rejections with paths, code point order, and properties.
 * (Property bodies use node:assert: Playwright's expect records a stack per call, too slow for
 * hundreds of runs.)
 */
import { test, expect } from '@playwright/test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  CanonicalJsonError, canonicalJson, canonicalJsonBytes, decodeBase64, decodeBase64Url, encodeBase64, encodeBase64Url,
} from '../../harness/matrix/index.ts';

/** Any value canonical JSON can encode: null, booleans, safe integers, well-formed strings, arrays, objects. */
const canonicalValue = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.constant(null), fc.boolean(), fc.maxSafeInteger(), fc.string({ unit: 'binary' }), tie('array'), tie('object'),
  ),
  array: fc.array(tie('value'), { maxLength: 5 }),
  object: fc.dictionary(fc.string({ unit: 'binary' }), tie('value'), { maxKeys: 6, noNullPrototype: true }),
})).value;

/**
 * An independent oracle: keys ordered by comparing arrays of code points (not the module's
 * UTF-16-then-fix-up strategy), strings and numbers by JSON.stringify.
 */
function oracleCanonical(v: unknown): string {
  if (Array.isArray(v)) return '[' + v.map(oracleCanonical).join(',') + ']';
  if (v !== null && typeof v === 'object') {
    const byCodePoints = (a: string, b: string) => {
      const x = [...a].map((c) => c.codePointAt(0)!);
      const y = [...b].map((c) => c.codePointAt(0)!);
      for (let i = 0; i < Math.min(x.length, y.length); i++) if (x[i] !== y[i]) return x[i] - y[i];
      return x.length - y.length;
    };
    const entries = Object.entries(v).sort(([a], [b]) => byCodePoints(a, b));
    return '{' + entries.map(([k, x]) => JSON.stringify(k) + ':' + oracleCanonical(x)).join(',') + '}';
  }
  return JSON.stringify(v);
}

/** `v` with every object's keys re-inserted in an order drawn from `order`. */
function reorderKeys(v: unknown, order: () => number): unknown {
  if (Array.isArray(v)) return v.map((x) => reorderKeys(x, order));
  if (v === null || typeof v !== 'object') return v;
  const entries = Object.entries(v);
  for (let i = entries.length - 1; i > 0; i--) {
    const j = order() % (i + 1);
    [entries[i], entries[j]] = [entries[j], entries[i]];
  }
  const out: Record<string, unknown> = {};
  for (const [k, x] of entries) Object.defineProperty(out, k, { value: reorderKeys(x, order), enumerable: true, writable: true, configurable: true });
  return out;
}

test('canonical JSON equals an independent oracle, survives a JSON.parse round trip, and ignores key order', () => {
  fc.assert(
    fc.property(canonicalValue, fc.array(fc.nat(), { minLength: 1, maxLength: 16 }), (value, draws) => {
      const text = canonicalJson(value);
      assert.equal(text, oracleCanonical(value));
      assert.deepEqual(JSON.parse(text), value);
      assert.equal(canonicalJson(JSON.parse(text)), text);
      let n = 0;
      assert.equal(canonicalJson(reorderKeys(value, () => draws[n++ % draws.length])), text);
      assert.ok(canonicalJsonBytes(value).equals(Buffer.from(text, 'utf8')));
    }),
    { numRuns: 500 },
  );
});

test('keys sort by Unicode code point, not by UTF-16 code unit', () => {
  // U+1F600 is the surrogate pair D83D DE00: before U+FFFF in UTF-16 order, after it by code point.
  expect(canonicalJson({ '\u{1F600}': 1, '\uFFFF': 2 })).toBe('{"\uFFFF":2,"\u{1F600}":1}');
  expect(canonicalJson({ '\uE000': 1, '\u{10000}': 2, a: 3 })).toBe('{"a":3,"\uE000":1,"\u{10000}":2}');
  // A common prefix, then the same comparison one character in.
  expect(canonicalJson({ 'x\u{1F600}': 1, 'x\uFFFF': 2, x: 0 })).toBe('{"x":0,"x\uFFFF":2,"x\u{1F600}":1}');
  // Integer-like keys are ordered as strings, not as JavaScript orders them in objects.
  expect(canonicalJson({ 10: 'a', 9: 'b', '-1': 'c' })).toBe('{"-1":"c","10":"a","9":"b"}');
});

test('strings: the shortest escapes, raw UTF-8 for non-ASCII, no escaping of "/"', () => {
  expect(canonicalJson('\b\t\n\f\r"\\')).toBe('"\\b\\t\\n\\f\\r\\"\\\\"');
  expect(canonicalJson('\u0000\u0007\u000b\u000e\u001f')).toBe('"\\u0000\\u0007\\u000b\\u000e\\u001f"');
  expect(canonicalJson('/ \u007f \u2028 é \u{1F600}')).toBe('"/ \u007f \u2028 é \u{1F600}"');
  expect(canonicalJsonBytes({ 'é': '日' }).toString('hex')).toBe(Buffer.from('{"é":"日"}', 'utf8').toString('hex'));
  expect(canonicalJson({ 'a"b': 1, 'a\nb': 2 })).toBe('{"a\\nb":2,"a\\"b":1}');
});

test('objects without a prototype (as some JSON parsers make) are plain objects too', () => {
  expect(canonicalJson(Object.assign(Object.create(null), { b: 1, a: 2 }))).toBe('{"a":2,"b":1}');
  expect(canonicalJson(JSON.parse('{"__proto__":{"x":1},"a":0}'))).toBe('{"__proto__":{"x":1},"a":0}');
});

test('integers at the edge of the allowed range are written in full, -0 as 0', () => {
  expect(canonicalJson([2 ** 53 - 1, -(2 ** 53 - 1), -0, 0, 1e15])).toBe('[9007199254740991,-9007199254740991,0,0,1000000000000000]');
});

test.describe('values canonical JSON cannot encode are rejected with their JSON path', () => {
  const cases: Array<[string, unknown, RegExp]> = [
    ['a float', { content: { x: 1.5 } }, /^\$\.content\.x: floats are not allowed/],
    ['2^53', { depth: 2 ** 53 }, /^\$\.depth: integers must be within/],
    ['-(2^53)', { a: [0, -(2 ** 53)] }, /^\$\.a\[1\]: integers must be within/],
    ['NaN', { a: NaN }, /^\$\.a: non-finite numbers are not allowed/],
    ['Infinity', [Infinity], /^\$\[0\]: non-finite numbers are not allowed/],
    ['a lone high surrogate in a value', { s: 'a\uD83Db' }, /^\$\.s: strings must not contain lone surrogates/],
    ['a lone low surrogate in a value', ['\uDE00'], /^\$\[0\]: strings must not contain lone surrogates/],
    ['a lone surrogate in a key', { ok: 1, ['k\uD800']: 1 }, /^\$\["k\\ud800"\]: keys must not contain lone surrogates/],
    ['undefined', { content: { a: undefined } }, /^\$\.content\.a: undefined is not allowed/],
    ['a function', { f: () => 1 }, /^\$\.f: functions are not allowed/],
    ['a bigint', { n: 1n }, /^\$\.n: bigint is not allowed/],
    ['a Date', { when: new Date(0) }, /^\$\.when: only plain objects are allowed \(got Date\)/],
    ['a Uint8Array', { bytes: new Uint8Array(1) }, /^\$\.bytes: only plain objects are allowed \(got Uint8Array\)/],
    ['a key that is no identifier', { 'm.room.member': { x: 0.1 } }, /^\$\["m\.room\.member"\]\.x: floats/],
  ];
  for (const [name, value, message] of cases) {
    test(name, () => {
      let thrown: unknown;
      try {
        canonicalJson(value);
      } catch (e) {
        thrown = e;
      }
      expect(thrown).toBeInstanceOf(CanonicalJsonError);
      expect((thrown as Error).message).toMatch(message);
      expect((thrown as Error).message).not.toContain('\n');
    });
  }

  test('a cyclic value', () => {
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    expect(() => canonicalJson(cyclic)).toThrow(/cyclic or nested too deeply/);
  });
});

test.describe('unpadded Base64', () => {
  test('round trips, standard and URL-safe, padded input accepted', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 70 }), (bytes) => {
        const standard = encodeBase64(bytes);
        const urlSafe = encodeBase64Url(bytes);
        const padded = Buffer.from(bytes).toString('base64');
        assert.equal(standard, padded.replace(/=+$/, ''));
        assert.ok(!standard.includes('='));
        assert.equal(urlSafe, standard.replaceAll('+', '-').replaceAll('/', '_'));
        assert.deepEqual(Buffer.from(decodeBase64(standard)), Buffer.from(bytes));
        assert.deepEqual(Buffer.from(decodeBase64(padded)), Buffer.from(bytes));
        assert.deepEqual(Buffer.from(decodeBase64Url(urlSafe)), Buffer.from(bytes));
      }),
      { numRuns: 300 },
    );
  });

  test('invalid input is rejected with a one-line reason', () => {
    expect(() => decodeBase64('Zm9v!')).toThrow(/^base64: invalid character/);
    expect(() => decodeBase64('Zm9-')).toThrow(/^base64: invalid character/); // URL-safe character in standard Base64
    expect(() => decodeBase64Url('Zm9+')).toThrow(/^url-safe base64: invalid character/);
    expect(() => decodeBase64('Zm9vY')).toThrow(/impossible length 5/);
    expect(() => decodeBase64('Zg=')).toThrow(/wrong padding/);
    expect(() => decodeBase64('Zm9v=')).toThrow(/wrong padding/);
    expect(() => decodeBase64('Zg = ')).toThrow(/invalid character/);
  });
});
