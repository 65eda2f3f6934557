/**
 * The `X-Matrix` Authorization scheme (server-server API "Request Authentication"), for both the
 * remote's client side (signRequest) and its server side (verifyRequest).
 *
 * Parsing follows the spec's grammar (RFC 9110 auth-params): scheme `X-Matrix` (case-insensitive)
 * and one or more spaces; comma-separated name=value pairs with optional spaces/tabs around the
 * commas and the `=`; names case-insensitive, order free; values a token or a quoted-string with
 * backslash escapes; for compatibility, colons are allowed in unquoted values (`origin=hs:8448`).
 * The signature parameter is `sig` in the spec's example and in deployed servers and `signature` in
 * the spec's parameter list: both are accepted, and one header carrying different values under
 * the two names is rejected. Unknown parameters are ignored; a repeated parameter is an error.
 */
import { signJson, verifyJsonSignature, type KeyLookup } from './signing.ts';
import type { SigningKey } from './keys.ts';

export class XMatrixParseError extends Error {
  override name = 'XMatrixParseError';
}

export interface XMatrixParams {
  origin: string;
  destination?: string;
  key: string;
  sig: string;
}

/** RFC 9110 tchar, plus ':' which the spec asks recipients to allow unquoted. */
const UNQUOTED_VALUE_CHAR = /[!#$%&'*+\-.^_`|~0-9A-Za-z:]/;
const NAME_CHAR = /[!#$%&'*+\-.^_`|~0-9A-Za-z]/;

function quote(value: string): string {
  return '"' + value.replace(/[\\"]/g, (c) => '\\' + c) + '"';
}

/** The header value as the spec recommends senders write it: one space, lower-case names, quoted values. */
export function buildXMatrixHeader(p: { origin: string; destination: string; keyId: string; signature: string }): string {
  return `X-Matrix origin=${quote(p.origin)},destination=${quote(p.destination)},key=${quote(p.keyId)},sig=${quote(p.signature)}`;
}

export function parseXMatrixHeader(value: string): XMatrixParams {
  if (typeof value !== 'string') throw new XMatrixParseError('X-Matrix: the Authorization header is missing');
  const scheme = /^X-Matrix +/i.exec(value);
  if (!scheme) {
    const got = value.split(/\s/, 1)[0];
    throw new XMatrixParseError(`X-Matrix: expected the scheme "X-Matrix" followed by a space, got ${JSON.stringify(got.slice(0, 40))}`);
  }
  const params = new Map<string, string>();
  let i = scheme[0].length;
  const n = value.length;
  const skipWhitespace = () => {
    while (i < n && (value[i] === ' ' || value[i] === '\t')) i++;
  };
  const fail = (what: string): never => {
    throw new XMatrixParseError(`X-Matrix: ${what} at offset ${i} of ${JSON.stringify(value.length > 200 ? value.slice(0, 200) + '…' : value)}`);
  };
  while (i < n) {
    skipWhitespace();
    if (value[i] === ',') { // empty list element, allowed by RFC 9110 list syntax
      i++;
      continue;
    }
    if (i >= n) break;
    const nameStart = i;
    while (i < n && NAME_CHAR.test(value[i])) i++;
    if (i === nameStart) fail(`expected a parameter name, got ${JSON.stringify(value[i])}`);
    const name = value.slice(nameStart, i).toLowerCase();
    skipWhitespace();
    if (value[i] !== '=') fail(`expected "=" after parameter ${name}`);
    i++;
    skipWhitespace();
    let paramValue = '';
    if (value[i] === '"') {
      i++;
      for (;;) {
        if (i >= n) fail(`unterminated quoted value of ${name}`);
        const c = value[i];
        if (c === '"') {
          i++;
          break;
        }
        if (c === '\\') {
          if (i + 1 >= n) fail(`dangling backslash in the value of ${name}`);
          paramValue += value[i + 1];
          i += 2;
          continue;
        }
        const code = c.charCodeAt(0);
        if ((code < 0x20 && c !== '\t') || code === 0x7f) fail(`control character in the value of ${name}`);
        paramValue += c;
        i++;
      }
    } else {
      const valueStart = i;
      while (i < n && UNQUOTED_VALUE_CHAR.test(value[i])) i++;
      if (i === valueStart) fail(`expected a value for ${name} (a token or a quoted string)`);
      paramValue = value.slice(valueStart, i);
    }
    if (params.has(name)) fail(`parameter ${name} appears twice`);
    params.set(name, paramValue);
    skipWhitespace();
    if (i < n) {
      if (value[i] !== ',') fail(`expected "," after the value of ${name}, got ${JSON.stringify(value[i])}`);
      i++;
    }
  }
  const sig = params.get('sig');
  const signature = params.get('signature');
  if (sig !== undefined && signature !== undefined && sig !== signature) {
    throw new XMatrixParseError('X-Matrix: "sig" and "signature" are both present with different values');
  }
  const origin = params.get('origin');
  const key = params.get('key');
  const missing = [origin === undefined && 'origin', key === undefined && 'key', sig === undefined && signature === undefined && 'sig']
    .filter(Boolean);
  if (missing.length) throw new XMatrixParseError(`X-Matrix: missing parameter(s) ${missing.join(', ')}`);
  const destination = params.get('destination');
  return { origin: origin!, ...(destination !== undefined ? { destination } : {}), key: key!, sig: (sig ?? signature)! };
}

/** The JSON object a request signature covers (without `signatures`). */
export function requestJson(p: { method: string; uri: string; origin: string; destination: string; content?: unknown }): Record<string, unknown> {
  const json: Record<string, unknown> = { method: p.method, uri: p.uri, origin: p.origin, destination: p.destination };
  if (p.content !== undefined) json.content = p.content;
  return json;
}

/**
 * The full Authorization header value for a request. `uri` is the path and query exactly as sent;
 * `content` the JSON body, omitted when the request has none.
 */
export function signRequest(
  p: { method: string; uri: string; origin: string; destination: string; content?: unknown },
  key: SigningKey,
): string {
  const signed = signJson(requestJson(p), p.origin, key);
  const signature = (signed.signatures as Record<string, Record<string, string>>)[p.origin][key.keyId];
  return buildXMatrixHeader({ origin: p.origin, destination: p.destination, keyId: key.keyId, signature });
}

export type RequestVerification = { ok: true; origin: string; keyId: string } | { ok: false; origin?: string; reason: string };

/**
 * Authenticate an inbound request. A `destination` parameter must equal `expectedDestination`
 * (the spec's 401 case); a header without one is accepted, as the spec asks of recipients, and
 * then the signature is checked against `expectedDestination`.
 */
export function verifyRequest(p: {
  method: string;
  uri: string;
  content?: unknown;
  authorization: string | undefined;
  expectedDestination: string;
  lookup: KeyLookup;
}): RequestVerification {
  if (p.authorization === undefined || p.authorization === '') return { ok: false, reason: 'no Authorization header' };
  let params: XMatrixParams;
  try {
    params = parseXMatrixHeader(p.authorization);
  } catch (e) {
    return { ok: false, reason: (e as Error).message };
  }
  const { origin } = params;
  if (params.destination !== undefined && params.destination !== p.expectedDestination) {
    return { ok: false, origin, reason: `destination ${JSON.stringify(params.destination)} is not this server (${JSON.stringify(p.expectedDestination)})` };
  }
  if (!params.key.startsWith('ed25519:')) return { ok: false, origin, reason: `unsupported key algorithm in ${JSON.stringify(params.key)}` };
  if (!p.lookup(origin, params.key)) return { ok: false, origin, reason: `unknown key ${origin}/${params.key}` };
  const signed = {
    ...requestJson({ method: p.method, uri: p.uri, origin, destination: params.destination ?? p.expectedDestination, content: p.content }),
    signatures: { [origin]: { [params.key]: params.sig } },
  };
  const check = verifyJsonSignature(signed, origin, p.lookup);
  if (!check.ok) {
    return { ok: false, origin, reason: `${check.reason} (over ${p.method} ${p.uri}${p.content === undefined ? ' without a body' : ' with its body'})` };
  }
  return { ok: true, origin, keyId: params.key };
}
