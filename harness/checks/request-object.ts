/**
 * What the candidate's X-Matrix signatures cover (AU-02): the JSON object
 * {method, uri, origin, destination, content?}, with `uri` the path and query exactly as sent,
 * `destination` the receiving server's Matrix name (not a delegated host), and `content` only
 * when the request has a body. The check builds that object itself from the request as received
 * and verifies the candidate's signature over it.
 */
import { parseXMatrixHeader, requestJson, signRequest, signingKeyFromSeed, verifyJsonSignature, type KeyLookup } from '../matrix/index.ts';
import { defineCheck } from './define.ts';
import type { Check, Evaluation } from './types.ts';

export interface SignedRequestObservation {
  /** The candidate's server name. */
  origin: string;
  /** Authenticated requests the candidate sent to suite servers, as they arrived. */
  requests: Array<{
    method: string;
    /** Path and query exactly as received. */
    uri: string;
    /** The Matrix server name the request was addressed to. */
    to: string;
    /** The parsed JSON body; absent when the request had none. */
    content?: unknown;
    /** The Authorization header as received. */
    authorization?: string;
  }>;
  /** Public keys of the candidate's server (harness/matrix lookup, bound by the test). */
  lookup: KeyLookup;
}

type RequestObjectCheck = Check<SignedRequestObservation>;

function verifiesOver(o: SignedRequestObservation, object: Record<string, unknown>, origin: string, keyId: string, sig: string): boolean {
  return verifyJsonSignature({ ...object, signatures: { [origin]: { [keyId]: sig } } }, origin, o.lookup).ok;
}

/** What a wrong construction the signature does verify over, to name the mistake. */
function diagnose(o: SignedRequestObservation, r: SignedRequestObservation['requests'][number], origin: string, keyId: string, sig: string): string {
  const base = { method: r.method, uri: r.uri, origin, destination: r.to };
  const queryless = r.uri.split('?')[0];
  const tries: Array<[string, Record<string, unknown>]> = [
    ['content: {} on a request without a body', { ...base, content: {} }],
    ['content: null on a request without a body', { ...base, content: null }],
    ['no content although the request has a body', base],
    ['no destination', { method: r.method, uri: r.uri, origin, ...(r.content === undefined ? {} : { content: r.content }) }],
    ['the URI without its query string', requestJson({ ...base, uri: queryless, content: r.content })],
    ['a lower-case method', requestJson({ ...base, method: r.method.toLowerCase(), content: r.content })],
  ];
  const hit = tries.find(([, object]) => verifiesOver(o, object, origin, keyId, sig));
  return hit ? `the signature covers ${hit[0]}` : 'the signature verifies over no object the suite tried';
}

export const requestSignatureObject: RequestObjectCheck = defineCheck({
  id: 'request-auth/signed-object',
  requirement: 'AU-02',
  title: 'the X-Matrix signature covers {method, uri (path and query as sent), origin, destination (the Matrix name), content only when there is a body}',
  evaluate(o): Evaluation {
    const signed = o.requests.filter((r) => r.authorization !== undefined);
    if (signed.length === 0) return { notApplicable: 'the candidate sent no signed request to the suite' };
    const wrong: string[] = [];
    for (const r of signed) {
      let params;
      try {
        params = parseXMatrixHeader(r.authorization!);
      } catch {
        continue; // the header form is judged by request-auth/outbound-header-form
      }
      if (params.origin !== o.origin) continue;
      const object = requestJson({ method: r.method, uri: r.uri, origin: o.origin, destination: r.to, content: r.content });
      if (verifiesOver(o, object, o.origin, params.key, params.sig)) continue;
      wrong.push(`${r.method} ${r.uri}${r.content === undefined ? ' (no body)' : ' (with a body)'}: ${diagnose(o, r, o.origin, params.key, params.sig)}`);
    }
    if (wrong.length === 0) return { ok: true };
    return {
      ok: false,
      reason: wrong.slice(0, 4).join('; '),
      expected: `signatures by ${o.origin} over {"method", "uri", "origin", "destination", "content" (only with a body)}`,
      observed: signed.map((r) => ({ request: `${r.method} ${r.uri}`, to: r.to, hasBody: r.content !== undefined })),
    };
  },
  controls: [
    {
      name: 'the query string not covered',
      mutate: (o) => ({ ...o, requests: o.requests.map((r, i) => (i === 0 ? { ...r, uri: r.uri.split('?')[0] } : r)) }),
    },
    {
      name: 'content {} signed for a request without a body',
      mutate: (o) => ({ ...o, requests: o.requests.map((r) => (r.content === undefined ? { ...r, content: {} } : r)) }),
    },
    {
      name: 'a body the signature does not cover',
      mutate: (o) => ({ ...o, requests: o.requests.map((r) => (r.content !== undefined ? { ...r, content: { ...(r.content as object), extra: 1 } } : r)) }),
    },
    {
      name: 'the delegated host as destination',
      mutate: (o) => ({ ...o, requests: o.requests.map((r) => ({ ...r, to: `${r.to}:8448` })) }),
    },
  ],
});

export const requestObjectChecks = {
  'outbound-request-object': [requestSignatureObject],
} as const;

/** A GET with a query and a PUT with a body, signed as the spec says (fixed key). */
export function requestObjectPassingObservations(): Array<{ name: string; kind: string; observation: unknown }> {
  const origin = 'candidate.test';
  const key = signingKeyFromSeed(new Uint8Array(32).fill(9), 'ed25519:a_1');
  const lookup: KeyLookup = (server, keyId) => (server === origin && keyId === key.keyId ? key.publicKey : undefined);
  const to = 'remote.test';
  const get = { method: 'GET', uri: '/_matrix/federation/v1/make_join/!r%3Aremote.test/%40u%3Acandidate.test?ver=10&ver=11', to };
  const put = { method: 'PUT', uri: '/_matrix/federation/v1/send/1', to, content: { origin, origin_server_ts: 1, pdus: [] } };
  const observation: SignedRequestObservation = {
    origin,
    lookup,
    requests: [get, put].map((r) => ({ ...r, authorization: signRequest({ ...r, origin, destination: to }, key) })),
  };
  return [{ name: 'a GET with a query and a PUT with a body', kind: 'outbound-request-object', observation }];
}

/** The observation over a remote's request log: the requests `origin` signed (unauthenticated routes left out). */
export function signedRequestObservation(
  origin: string,
  records: ReadonlyArray<{ method: string; uri: string; to: string; body: unknown; auth: { kind: string }; origin?: string; authorization?: string }>,
  lookup: KeyLookup,
): SignedRequestObservation {
  const requests = records
    .filter((r) => r.auth.kind !== 'none' && r.origin === origin)
    .map((r) => ({ method: r.method, uri: r.uri, to: r.to, authorization: r.authorization, ...(r.body === undefined ? {} : { content: r.body }) }));
  return { origin, requests, lookup };
}
