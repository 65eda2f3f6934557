/**
 * Canonical JSON (spec appendix "Canonical JSON"): the shortest UTF-8 JSON encoding with object
 * keys sorted by Unicode code point, integers only in [-(2^53-1), 2^53-1], no floats, no `-0`
 * (written as `0`).
 *
 * This is the hot path of event building, so the serializer is hand-written and the happy path
 * carries no JSON-path bookkeeping: when a value is rejected, a second (slow) walk finds the first
 * offending value and names its path in the error.
 */

export class CanonicalJsonError extends Error {
  override name = 'CanonicalJsonError';
  /** JSON path of the offending value, e.g. `$.content.x` or `$.prev_events[2]`. */
  readonly path: string;
  constructor(path: string, problem: string) {
    super(`${path}: ${problem}`);
    this.path = path;
  }
}

/** Thrown by the fast serializer; converted to a CanonicalJsonError with a path by the caller. */
class Rejected extends Error {}

const MAX_SAFE = Number.MAX_SAFE_INTEGER; // 2^53 - 1, the spec's bound on both sides

/** String.prototype.isWellFormed (Node 20; not yet in the tsconfig's ES2022 lib): no lone surrogates. */
const isWellFormed = (s: string): boolean => (s as unknown as { isWellFormed(): boolean }).isWellFormed();

/** Why `value` cannot appear in canonical JSON, or undefined if it can (containers are not inspected). */
function leafProblem(value: unknown): string | undefined {
  switch (typeof value) {
    case 'string':
      return isWellFormed(value) ? undefined : 'strings must not contain lone surrogates';
    case 'number':
      if (!Number.isFinite(value)) return `non-finite numbers are not allowed (got ${value})`;
      if (!Number.isInteger(value)) return `floats are not allowed (got ${value})`;
      if (value > MAX_SAFE || value < -MAX_SAFE) return `integers must be within ±(2^53-1) (got ${value})`;
      return undefined;
    case 'boolean':
      return undefined;
    case 'undefined':
      return 'undefined is not allowed';
    case 'bigint':
      return 'bigint is not allowed (use a number within ±(2^53-1))';
    case 'function':
      return 'functions are not allowed';
    case 'symbol':
      return 'symbols are not allowed';
    case 'object': {
      if (value === null || Array.isArray(value)) return undefined;
      const proto = Object.getPrototypeOf(value);
      if (proto === Object.prototype || proto === null) return undefined;
      return `only plain objects are allowed (got ${(value as object).constructor?.name ?? 'an exotic object'})`;
    }
  }
}

/**
 * Code point order differs from JavaScript's default UTF-16 code unit order only when a surrogate
 * (U+D800..U+DFFF, i.e. part of a character above U+FFFF) meets a unit in U+E000..U+FFFF.
 */
const NEEDS_CODE_POINT_SORT = /[\uD800-\uFFFF]/;

function compareByCodePoint(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.codePointAt(i)!;
    const y = b.codePointAt(i)!;
    if (x !== y) return x - y;
    if (x > 0xffff) i++; // both are the same astral character: skip its low surrogate
  }
  return a.length - b.length;
}

/** Object keys in canonical order. */
export function sortedKeys(obj: object): string[] {
  const keys = Object.keys(obj).sort();
  for (const k of keys) {
    if (NEEDS_CODE_POINT_SORT.test(k)) return keys.sort(compareByCodePoint);
  }
  return keys;
}

/**
 * JSON.stringify on a single string emits exactly the canonical escapes (\b \t \n \f \r \" \\ and
 * lower-case \u00XX for other controls; raw non-ASCII), except that it escapes lone surrogates
 * where canonical JSON has no representation for them; those are rejected before.
 */
function writeString(s: string): string {
  // Fast path, most strings: nothing to escape and no surrogates at all.
  if (!NEEDS_CARE.test(s)) return '"' + s + '"';
  if (!isWellFormed(s)) throw new Rejected();
  return JSON.stringify(s);
}

/** Characters that need escaping, and surrogates (which need a well-formedness check). */
const NEEDS_CARE = /["\\\u0000-\u001f\uD800-\uDFFF]/;

function write(value: unknown): string {
  switch (typeof value) {
    case 'string':
      return writeString(value);
    case 'number':
      if (!Number.isInteger(value) || value > MAX_SAFE || value < -MAX_SAFE) throw new Rejected();
      return String(value); // String(-0) is "0": `-0` never appears
    case 'boolean':
      return value ? 'true' : 'false';
    case 'object': {
      if (value === null) return 'null';
      if (Array.isArray(value)) {
        const n = value.length;
        if (n === 0) return '[]';
        let out = '[' + write(value[0]);
        for (let i = 1; i < n; i++) out += ',' + write(value[i]);
        return out + ']';
      }
      const proto = Object.getPrototypeOf(value);
      if (proto !== Object.prototype && proto !== null) throw new Rejected();
      const obj = value as Record<string, unknown>;
      const keys = Object.keys(obj).sort();
      let out = '{';
      for (let i = 0; i < keys.length; i++) {
        const k = keys[i];
        // A key with escapes or surrogates (which may change the sort order) takes the careful path.
        if (NEEDS_CARE.test(k)) return writeObjectCarefully(obj);
        out += (i === 0 ? '"' : ',"') + k + '":' + write(obj[k]);
      }
      return out + '}';
    }
    default:
      throw new Rejected();
  }
}

function writeObjectCarefully(obj: Record<string, unknown>): string {
  const keys = sortedKeys(obj);
  let out = '{';
  for (let i = 0; i < keys.length; i++) out += (i === 0 ? '' : ',') + writeString(keys[i]) + ':' + write(obj[keys[i]]);
  return out + '}';
}

const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

function childPath(path: string, key: string): string {
  return IDENTIFIER.test(key) ? `${path}.${key}` : `${path}[${JSON.stringify(key)}]`;
}

/** The first value (depth first, canonical key order) that canonical JSON cannot encode. */
function findProblem(value: unknown, path: string): CanonicalJsonError | undefined {
  const problem = leafProblem(value);
  if (problem) return new CanonicalJsonError(path, problem);
  if (typeof value !== 'object' || value === null) return undefined;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const found = findProblem(value[i], `${path}[${i}]`);
      if (found) return found;
    }
    return undefined;
  }
  for (const k of Object.keys(value).sort(compareByCodePoint)) {
    if (!isWellFormed(k)) return new CanonicalJsonError(childPath(path, k), 'keys must not contain lone surrogates');
    const found = findProblem((value as Record<string, unknown>)[k], childPath(path, k));
    if (found) return found;
  }
  return undefined;
}

/** Canonical JSON text of `value`; throws CanonicalJsonError naming the path of the first bad value. */
export function canonicalJson(value: unknown): string {
  try {
    return write(value);
  } catch (e) {
    if (e instanceof RangeError) throw new CanonicalJsonError('$', 'value is cyclic or nested too deeply');
    if (!(e instanceof Rejected)) throw e;
    throw findProblem(value, '$') ?? new CanonicalJsonError('$', 'value cannot be encoded');
  }
}

/** Canonical JSON as the UTF-8 bytes that get hashed and signed. */
export function canonicalJsonBytes(value: unknown): Buffer {
  return Buffer.from(canonicalJson(value), 'utf8');
}
