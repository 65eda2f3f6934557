/**
 * The candidate's federation API as the servers it talks to see it: the X-Matrix headers on its own
 * requests, and the events it creates (content hash, origin signature, reference-hash event ID,
 * selected auth events).
 */
import { eventRefIds, parseXMatrixHeader, ROOM_VERSIONS, type XMatrixParams } from '../matrix/index.ts';
import { defineCheck } from './define.ts';
import type { Check, Evaluation } from './types.ts';

// -------------------------------------------------------------------------------------------------
// The candidate's own requests

export interface OutboundAuthObservation {
  /** The candidate's server name. */
  origin: string;
  /** Requests the candidate sent to suite servers, as they arrived. */
  requests: Array<{
    /** What was asked (method, path). */
    request: string;
    /** The server the request was sent to. */
    to: string;
    /** The Authorization header as sent, if any. */
    authorization?: string;
    /** Whether the suite verified the X-Matrix signature (method, URI, origin, destination, body). */
    verified: boolean;
    /** Why verification failed. */
    failure?: string;
  }>;
}

type OutboundCheck = Check<OutboundAuthObservation>;

const withRequest = (o: OutboundAuthObservation, change: (r: OutboundAuthObservation['requests'][number]) => void): OutboundAuthObservation => {
  const requests = structuredClone(o.requests);
  change(requests[0]);
  return { ...o, requests };
};

export const outboundRequestsVerify: OutboundCheck = defineCheck({
  id: 'request-auth/outbound-signed',
  requirement: 'AU-01',
  title: 'every federation request the server sends carries an X-Matrix signature that verifies over method, URI, origin, destination and body',
  evaluate(o): Evaluation {
    if (o.requests.length === 0) return { notApplicable: 'the candidate sent no request to the suite' };
    const bad = o.requests.filter((r) => !r.verified);
    if (bad.length === 0) return { ok: true };
    return {
      ok: false,
      reason: bad.slice(0, 5).map((r) => `${r.request}: ${r.failure ?? 'not verified'}`).join('; '),
      expected: `a valid X-Matrix signature by ${o.origin} on each of ${o.requests.length} requests`,
      observed: bad,
    };
  },
  controls: [
    { name: 'one request unsigned', mutate: (o) => withRequest(o, (r) => { r.authorization = undefined; r.verified = false; r.failure = 'no Authorization header'; }) },
  ],
});

export const outboundHeaderForm: OutboundCheck = defineCheck({
  id: 'request-auth/outbound-header-form',
  requirement: 'AU-03',
  title: 'the X-Matrix header names origin, destination (the receiving server), key (ed25519:...) and sig',
  evaluate(o): Evaluation {
    if (o.requests.length === 0) return { notApplicable: 'the candidate sent no request to the suite' };
    const wrong: string[] = [];
    for (const r of o.requests) {
      if (r.authorization === undefined) {
        wrong.push(`${r.request}: no Authorization header`);
        continue;
      }
      let params: XMatrixParams;
      try {
        params = parseXMatrixHeader(r.authorization);
      } catch (err) {
        wrong.push(`${r.request}: ${(err as Error).message}`);
        continue;
      }
      const problems: string[] = [];
      if (params.origin !== o.origin) problems.push(`origin ${JSON.stringify(params.origin)}`);
      if (params.destination !== r.to) problems.push(params.destination === undefined ? 'no destination' : `destination ${JSON.stringify(params.destination)} is not ${r.to}`);
      if (!/^ed25519:[a-zA-Z0-9_]+$/.test(params.key)) problems.push(`key ${JSON.stringify(params.key)}`);
      if (problems.length) wrong.push(`${r.request}: ${problems.join(', ')}`);
    }
    if (wrong.length === 0) return { ok: true };
    return { ok: false, reason: wrong.slice(0, 5).join('; '), expected: 'X-Matrix origin="<origin>",destination="<receiver>",key="ed25519:<id>",sig="<signature>"', observed: o.requests.map((r) => r.authorization) };
  },
  controls: [
    { name: 'destination left out', mutate: (o) => withRequest(o, (r) => { r.authorization = r.authorization!.replace(/,?destination="[^"]*"/, ''); }) },
    { name: 'destination names another server', mutate: (o) => withRequest(o, (r) => { r.authorization = r.authorization!.replace(/destination="[^"]*"/, 'destination="elsewhere.example"'); }) },
    { name: 'sig renamed', mutate: (o) => withRequest(o, (r) => { r.authorization = r.authorization!.replace('sig=', 'sg='); }) },
    { name: 'a bearer token instead', mutate: (o) => withRequest(o, (r) => { r.authorization = 'Bearer abc'; }) },
  ],
});

export const outboundHeaderStyle: OutboundCheck = defineCheck({
  id: 'request-auth/outbound-header-style',
  requirement: 'AU-06',
  title: 'the X-Matrix header is written plainly: one space after X-Matrix, lower-case names, quoted values, no spaces around commas, no backslashes',
  evaluate(o): Evaluation {
    const headers = o.requests.flatMap((r) => (r.authorization === undefined ? [] : [{ request: r.request, header: r.authorization }]));
    if (headers.length === 0) return { notApplicable: 'the candidate sent no X-Matrix header to the suite' };
    const plain = /^X-Matrix [a-z]+="[^"\\]*"(,[a-z]+="[^"\\]*")*$/;
    const bad = headers.filter((h) => !plain.test(h.header));
    if (bad.length === 0) return { ok: true };
    return { ok: false, reason: bad.slice(0, 3).map((h) => `${h.request}: ${h.header.slice(0, 160)}`).join('; '), expected: 'X-Matrix name="value",name="value",... with lower-case names and no spaces or backslashes', observed: bad };
  },
  controls: [
    { name: 'a space after a comma', mutate: (o) => withRequest(o, (r) => { r.authorization = r.authorization!.replace(',', ', '); }) },
    { name: 'upper-case names', mutate: (o) => withRequest(o, (r) => { r.authorization = r.authorization!.replace('origin=', 'Origin='); }) },
    { name: 'two spaces after X-Matrix', mutate: (o) => withRequest(o, (r) => { r.authorization = r.authorization!.replace('X-Matrix ', 'X-Matrix  '); }) },
  ],
});

// -------------------------------------------------------------------------------------------------
// The candidate's own events

export interface OutboundPduObservation {
  roomVersion: string;
  /** Events the candidate created and sent to the suite, as received. */
  pdus: Array<{
    /** The event ID the candidate gave its client for the event. */
    clientEventId: string;
    /** What the suite computed over the event as received (harness/matrix). */
    computed: { eventId: string; hashOk: boolean; signaturesOk: boolean; errors: string[] };
    /** The event's auth_events as sent. */
    authEvents?: string[];
    /** The auth events the selection rules give for it, from the room state before it (when the test knows them). */
    expectedAuthEvents?: string[];
  }>;
}

type OutboundPduCheck = Check<OutboundPduObservation>;

function everyPdu(o: OutboundPduObservation, bad: (p: OutboundPduObservation['pdus'][number]) => string | undefined, expected: string): Evaluation {
  if (o.pdus.length === 0) return { notApplicable: 'the candidate sent no event of its own to the suite' };
  const wrong = o.pdus.flatMap((p) => {
    const why = bad(p);
    return why ? [`${p.clientEventId}: ${why}`] : [];
  });
  return wrong.length ? { ok: false, reason: wrong.slice(0, 5).join('; '), expected, observed: o.pdus } : { ok: true };
}

const withPdu = (o: OutboundPduObservation, change: Partial<OutboundPduObservation['pdus'][number]['computed']>): OutboundPduObservation => ({
  ...o,
  pdus: o.pdus.map((p, i) => (i === 0 ? { ...p, computed: { ...p.computed, ...change } } : p)),
});

export const outboundContentHash: OutboundPduCheck = defineCheck({
  id: 'events/content-hash-valid',
  requirement: 'SG-02',
  title: 'the events the server creates carry a content hash (hashes.sha256) that matches them',
  evaluate: (o) => everyPdu(o, (p) => (p.computed.hashOk ? undefined : p.computed.errors.find((e) => e.includes('hash')) ?? 'content hash mismatch'), 'hashes.sha256 = SHA-256 of the canonical JSON without unsigned, signatures and hashes'),
  controls: [{ name: 'a hash that does not match', mutate: (o) => withPdu(o, { hashOk: false, errors: ['content hash mismatch'] }) }],
});

export const outboundSignedByOrigin: OutboundPduCheck = defineCheck({
  id: 'events/signed-by-sender-server',
  requirement: 'SG-04',
  title: 'the events the server creates carry its signature over the redacted event, by a published key',
  evaluate: (o) => everyPdu(o, (p) => (p.computed.signaturesOk ? undefined : p.computed.errors.find((e) => e.includes('signature')) ?? 'no valid signature'), "a valid signature of the sender's server over the redacted event"),
  controls: [{ name: 'a signature that does not verify', mutate: (o) => withPdu(o, { signaturesOk: false, errors: ['signature check failed: bad signature'] }) }],
});

/** Event ID forms of reference-hash IDs, by the room version's event ID format: standard Base64 in v3, URL-safe from v4. */
const REFERENCE_HASH_ID: Record<string, { pattern: RegExp; what: string }> = {
  v3: { pattern: /^\$[A-Za-z0-9+/]{43}$/, what: '"$" + 43 standard Base64 characters' },
  v4: { pattern: /^\$[A-Za-z0-9_-]{43}$/, what: '"$" + 43 URL-safe Base64 characters' },
};

/** The first ID with its second character swapped into the other Base64 alphabet. */
function otherAlphabet(o: OutboundPduObservation, id: string): string {
  return id.replace(/^\$./, ROOM_VERSIONS[o.roomVersion]?.eventIdFormat === 'v3' ? '$-' : '$+');
}

export const outboundEventIdIsReferenceHash: OutboundPduCheck = defineCheck({
  id: 'events/event-id-is-reference-hash',
  requirement: 'SG-06',
  title: 'the event ID the server gives its client is "$" + unpadded Base64 (URL-safe from v4) of the event\'s reference hash',
  evaluate(o): Evaluation {
    const form = REFERENCE_HASH_ID[ROOM_VERSIONS[o.roomVersion]?.eventIdFormat ?? 'v1'];
    if (!form) return { notApplicable: `room version ${o.roomVersion} has no reference-hash event IDs` };
    return everyPdu(
      o,
      (p) => (!form.pattern.test(p.clientEventId) ? `not ${form.what}` : p.clientEventId !== p.computed.eventId ? `the reference hash of the event gives ${p.computed.eventId}` : undefined),
      'the event ID the client was given equals the reference hash computed over the event as sent',
    );
  },
  controls: [
    { name: 'another ID than the reference hash', mutate: (o) => withPdu(o, { eventId: '$' + 'A'.repeat(43) }) },
    { name: 'the other Base64 alphabet in the ID', mutate: (o) => ({ ...o, pdus: o.pdus.map((p, i) => (i === 0 ? { clientEventId: otherAlphabet(o, p.clientEventId), computed: { ...p.computed, eventId: otherAlphabet(o, p.clientEventId) } } : p)) }) },
  ],
});

export const outboundAuthEventsSelected: OutboundPduCheck = defineCheck({
  id: 'events/auth-events-selected',
  requirement: 'SG-09',
  title: 'the auth_events of the events the server creates are exactly those the selection rules of the room version name (for a message: the create event where the version lists it, power levels, the sender\'s membership)',
  evaluate(o): Evaluation {
    const judged = o.pdus.filter((p) => p.expectedAuthEvents && p.authEvents);
    if (judged.length === 0) return { notApplicable: 'the test gave no expected auth events' };
    const wrong = judged.flatMap((p) => {
      const got = new Set(p.authEvents);
      const want = new Set(p.expectedAuthEvents);
      const missing = [...want].filter((id) => !got.has(id));
      const extra = [...got].filter((id) => !want.has(id));
      return missing.length || extra.length ? [`${p.clientEventId}: ${[missing.length ? `missing ${missing.join(', ')}` : '', extra.length ? `not selected: ${extra.join(', ')}` : ''].filter(Boolean).join('; ')}`] : [];
    });
    return wrong.length ? { ok: false, reason: wrong.slice(0, 4).join(' | '), expected: 'auth_events = the selected subset of the state before the event', observed: judged.map((p) => ({ event: p.clientEventId, authEvents: p.authEvents, expected: p.expectedAuthEvents })) } : { ok: true };
  },
  controls: [
    { name: 'an auth event too many', mutate: (o) => ({ ...o, pdus: o.pdus.map((p, i) => (i === 0 ? { ...p, authEvents: [...(p.authEvents ?? []), '$join-rules'] } : p)) }) },
    { name: 'an auth event missing', mutate: (o) => ({ ...o, pdus: o.pdus.map((p, i) => (i === 0 ? { ...p, authEvents: (p.authEvents ?? []).slice(1) } : p)) }) },
  ],
});
