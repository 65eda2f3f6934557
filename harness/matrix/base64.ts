/**
 * Unpadded Base64 (spec appendix "Unpadded Base64"): RFC 4648 without `=` padding, plus the
 * URL-safe variant (`-` and `_` as the 62nd and 63rd characters) used for event IDs in room v4+.
 * Decoders accept input with or without padding, as the spec asks, but reject anything else that
 * is not Base64 (Node's own decoder silently skips bad characters, so the input is checked first).
 */

const STANDARD = /^[A-Za-z0-9+/]*$/;
const URL_SAFE = /^[A-Za-z0-9\-_]*$/;

export class Base64Error extends Error {
  override name = 'Base64Error';
}

export function encodeBase64(bytes: Uint8Array): string {
  const padded = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
  const end = padded.endsWith('==') ? padded.length - 2 : padded.endsWith('=') ? padded.length - 1 : padded.length;
  return padded.slice(0, end);
}

export function encodeBase64Url(bytes: Uint8Array): string {
  // Node's base64url is already unpadded.
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64url');
}

function decode(s: string, alphabet: RegExp, name: string): Uint8Array {
  if (typeof s !== 'string') throw new Base64Error(`${name}: expected a string, got ${typeof s}`);
  let body = s;
  if (body.endsWith('==')) body = body.slice(0, -2);
  else if (body.endsWith('=')) body = body.slice(0, -1);
  const preview = s.length > 40 ? `${s.slice(0, 40)}…` : s;
  if (!alphabet.test(body)) throw new Base64Error(`${name}: invalid character in ${JSON.stringify(preview)}`);
  if (body.length % 4 === 1) throw new Base64Error(`${name}: impossible length ${body.length} in ${JSON.stringify(preview)}`);
  if (body.length !== s.length && s.length % 4 !== 0) {
    throw new Base64Error(`${name}: wrong padding in ${JSON.stringify(preview)}`);
  }
  const buf = Buffer.from(body, alphabet === STANDARD ? 'base64' : 'base64url');
  return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
}

/** Standard-alphabet Base64, padded or unpadded. Throws Base64Error on anything else. */
export function decodeBase64(s: string): Uint8Array {
  return decode(s, STANDARD, 'base64');
}

/** URL-safe Base64, padded or unpadded. Throws Base64Error on anything else. */
export function decodeBase64Url(s: string): Uint8Array {
  return decode(s, URL_SAFE, 'url-safe base64');
}
