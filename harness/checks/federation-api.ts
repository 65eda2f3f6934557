/**
 * The candidate's federation API as any server sees it: its published keys, single events, auth
 * chains and missing events on request, refusals (unknown endpoints, outsiders, wrong destination,
 * another server's user), JSON content types, transactions and the X-Matrix headers it accepts.
 * What the candidate sends (its requests' X-Matrix headers, its own events) is judged in
 * federation-api-outbound.ts; both are listed in `federationApiChecks`.
 */
import { eventRefIds, impliedCreateEventId, ROOM_VERSIONS, roomIdOfEvent } from '../matrix/index.ts';
import { defineCheck, errcodeOfBody, withResponseBody } from './define.ts';
import type { Check, Evaluation } from './types.ts';
import {
  outboundAuthEventsSelected,
  outboundContentHash,
  outboundEventIdIsReferenceHash,
  outboundHeaderForm,
  outboundHeaderStyle,
  outboundRequestsVerify,
  outboundSignedByOrigin,
} from './federation-api-outbound.ts';

export * from './federation-api-outbound.ts';

/** One HTTP answer as the suite received it. */
export interface HttpAnswer {
  status: number;
  /** The Content-Type header, if any. */
  contentType?: string;
  /** Parsed JSON, or the raw text when it was not JSON. */
  body: unknown;
}

// -------------------------------------------------------------------------------------------------
// Keys

export interface KeyServerObservation {
  /** The candidate's server name. */
  serverName: string;
  /** When the suite fetched the document (ms since the epoch). */
  fetchedAt: number;
  response: HttpAnswer;
  /** Key IDs the candidate signed its federation requests or events with, as the suite saw them. */
  keysInUse: string[];
  /** Verifies the document's signature by `serverName` with the given key (harness/matrix, bound by the test). */
  verifySignature(document: Record<string, unknown>, keyId: string, publicKeyBase64: string): { ok: true } | { ok: false; reason: string };
}

type KeyCheck = Check<KeyServerObservation>;

const KEY_ID = /^ed25519:[a-zA-Z0-9_]+$/;
/** An Ed25519 public key in unpadded Base64: 32 bytes. */
const ED25519_KEY = /^[A-Za-z0-9+/]{43}$/;
const HOUR_MS = 3_600_000;

function keyDocument(o: KeyServerObservation): Record<string, unknown> | string {
  if (o.response.status !== 200) return `the key server answered HTTP ${o.response.status}`;
  const body = o.response.body;
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return 'the answer is not a JSON object';
  return body as Record<string, unknown>;
}

function verifyKeysOf(doc: Record<string, unknown>): Record<string, { key?: unknown }> {
  const keys = doc.verify_keys;
  return typeof keys === 'object' && keys !== null && !Array.isArray(keys) ? (keys as Record<string, { key?: unknown }>) : {};
}

const withKeyDoc = withResponseBody<KeyServerObservation>;

export const keyDocumentWellFormed: KeyCheck = defineCheck({
  id: 'keys/document-well-formed',
  requirement: 'KY-02',
  title: 'GET /_matrix/key/v2/server answers the server name, Ed25519 verify keys with valid key IDs, valid_until_ts, signatures, and well-formed old keys',
  evaluate(o): Evaluation {
    const expected = `HTTP 200 with server_name ${o.serverName}, verify_keys of "ed25519:<[a-zA-Z0-9_]+>": {key: 32-byte unpadded Base64}, an integer valid_until_ts, signatures by ${o.serverName}, and old_verify_keys entries with key and expired_ts`;
    const doc = keyDocument(o);
    if (typeof doc === 'string') return { ok: false, reason: doc, expected, observed: o.response };
    const wrong: string[] = [];
    if (doc.server_name !== o.serverName) wrong.push(`server_name is ${JSON.stringify(doc.server_name)}`);
    const keys = Object.entries(verifyKeysOf(doc));
    if (keys.length === 0) wrong.push('verify_keys is missing or empty');
    for (const [id, entry] of keys) {
      if (!KEY_ID.test(id)) wrong.push(`verify key ID ${JSON.stringify(id)} is not ed25519:[a-zA-Z0-9_]+`);
      if (typeof entry?.key !== 'string' || !ED25519_KEY.test(entry.key)) wrong.push(`verify key ${id} is not 32 bytes of unpadded Base64`);
    }
    if (!Number.isInteger(doc.valid_until_ts)) wrong.push(`valid_until_ts is ${JSON.stringify(doc.valid_until_ts)}, not an integer`);
    const signatures = doc.signatures as Record<string, unknown> | undefined;
    if (typeof signatures?.[o.serverName] !== 'object' || signatures[o.serverName] === null) wrong.push(`no signatures by ${o.serverName}`);
    const old = doc.old_verify_keys;
    if (old !== undefined) {
      if (typeof old !== 'object' || old === null || Array.isArray(old)) wrong.push('old_verify_keys is not an object');
      else {
        for (const [id, entry] of Object.entries(old as Record<string, Record<string, unknown>>)) {
          if (!KEY_ID.test(id)) wrong.push(`old key ID ${JSON.stringify(id)} is not ed25519:[a-zA-Z0-9_]+`);
          if (typeof entry?.key !== 'string') wrong.push(`old key ${id} has no key`);
          if (!Number.isInteger(entry?.expired_ts)) wrong.push(`old key ${id} has no integer expired_ts`);
        }
      }
    }
    return wrong.length ? { ok: false, reason: wrong.join('; '), expected, observed: doc } : { ok: true };
  },
  controls: [
    { name: 'another server name', mutate: (o) => withKeyDoc(o, (d) => { d.server_name = 'elsewhere.example'; }) },
    { name: 'verify_keys empty', mutate: (o) => withKeyDoc(o, (d) => { d.verify_keys = {}; }) },
    { name: 'a key ID with a dash', mutate: (o) => withKeyDoc(o, (d) => { const keys = d.verify_keys as Record<string, unknown>; const [id] = Object.keys(keys); keys['ed25519:a-b'] = keys[id]; delete keys[id]; }) },
    { name: 'an old key without expired_ts', mutate: (o) => withKeyDoc(o, (d) => { d.old_verify_keys = { 'ed25519:old': { key: 'a'.repeat(43) } }; }) },
    { name: 'valid_until_ts missing', mutate: (o) => withKeyDoc(o, (d) => { delete d.valid_until_ts; }) },
    { name: 'answered 404', mutate: (o) => ({ ...o, response: { status: 404, body: { errcode: 'M_NOT_FOUND' } } }) },
  ],
});

export const keyDocumentSelfSigned: KeyCheck = defineCheck({
  id: 'keys/document-signed-by-its-keys',
  requirement: 'KY-02',
  title: 'the key document is signed by the server with each of its verify keys',
  evaluate(o): Evaluation {
    const doc = keyDocument(o);
    if (typeof doc === 'string') return { notApplicable: `${doc} (see keys/document-well-formed)` };
    const keys = Object.entries(verifyKeysOf(doc)).filter(([id, e]) => KEY_ID.test(id) && typeof e?.key === 'string');
    if (keys.length === 0) return { notApplicable: 'no usable verify key (see keys/document-well-formed)' };
    const failures = keys.flatMap(([id, e]) => {
      const r = o.verifySignature(doc, id, e.key as string);
      return r.ok ? [] : [`${id}: ${r.reason}`];
    });
    if (failures.length === 0) return { ok: true };
    return { ok: false, reason: `signature check failed: ${failures.join('; ')}`, expected: `a valid signature by ${o.serverName} with every verify key`, observed: doc.signatures };
  },
  controls: [
    {
      name: 'a signature of other bytes',
      mutate: (o) => withKeyDoc(o, (d) => {
        const sigs = (d.signatures as Record<string, Record<string, string>>)[o.serverName];
        for (const id of Object.keys(sigs)) sigs[id] = `${sigs[id].slice(0, 10)}${sigs[id][10] === 'A' ? 'B' : 'A'}${sigs[id].slice(11)}`;
      }),
    },
    { name: 'valid_until_ts changed after signing', mutate: (o) => withKeyDoc(o, (d) => { d.valid_until_ts = (d.valid_until_ts as number) + 1; }) },
  ],
});

export const keysInUsePublished: KeyCheck = defineCheck({
  id: 'keys/signing-keys-published',
  requirement: 'KY-01',
  title: 'every key the server signs requests and events with is a current verify key of its key document',
  evaluate(o): Evaluation {
    const doc = keyDocument(o);
    if (typeof doc === 'string') return { notApplicable: `${doc} (see keys/document-well-formed)` };
    if (o.keysInUse.length === 0) return { notApplicable: 'the suite saw no request or event signed by the candidate' };
    const published = new Set(Object.keys(verifyKeysOf(doc)));
    const missing = o.keysInUse.filter((k) => !published.has(k));
    if (missing.length === 0) return { ok: true };
    return { ok: false, reason: `signed with ${missing.join(', ')}, which verify_keys does not list`, expected: `verify_keys listing ${o.keysInUse.join(', ')}`, observed: [...published] };
  },
  controls: [
    { name: 'a request signed with an unpublished key', mutate: (o) => ({ ...o, keysInUse: [...o.keysInUse, 'ed25519:unpublished'] }) },
    { name: 'the signing key only in old_verify_keys', mutate: (o) => withKeyDoc(o, (d) => { d.old_verify_keys = { [o.keysInUse[0]]: { key: 'a'.repeat(43), expired_ts: 1 } }; delete (d.verify_keys as Record<string, unknown>)[o.keysInUse[0]]; }) },
  ],
});

export const keysValidForAnHour: KeyCheck = defineCheck({
  id: 'keys/valid-for-an-hour',
  requirement: 'KY-05',
  title: 'the published key document stays valid for at least an hour after it is fetched',
  evaluate(o): Evaluation {
    const doc = keyDocument(o);
    if (typeof doc === 'string' || !Number.isInteger(doc.valid_until_ts)) return { notApplicable: 'no integer valid_until_ts (see keys/document-well-formed)' };
    const left = (doc.valid_until_ts as number) - o.fetchedAt;
    if (left >= HOUR_MS) return { ok: true };
    return { ok: false, reason: `the document expires ${Math.round(left / 60_000)} minutes after it was fetched`, expected: 'valid_until_ts at least one hour after the fetch', observed: { valid_until_ts: doc.valid_until_ts, fetchedAt: o.fetchedAt } };
  },
  controls: [{ name: 'expires in 30 minutes', mutate: (o) => withKeyDoc(o, (d) => { d.valid_until_ts = o.fetchedAt + HOUR_MS / 2; }) }],
});

// -------------------------------------------------------------------------------------------------
// Reading events: /event, /event_auth, /get_missing_events

export interface EventReadObservation {
  endpoint: 'event' | 'event_auth' | 'get_missing_events';
  roomId: string;
  /** The room's version: how auth_events are written and which room a create event belongs to (v12 has no room_id on it). */
  roomVersion: string;
  /** /event and /event_auth: the event asked for. */
  eventId?: string;
  /** /event_auth: the asked event's own auth_events (from /event or the client API). */
  authEventsOfTarget?: string[];
  /** /get_missing_events: what was asked, and the events the suite expects (a linear history it made). */
  missing?: { earliest: string[]; latest: string[]; limit: number; expected: string[] };
  response: HttpAnswer;
  eventIdOf(pdu: Record<string, unknown>): string;
}

type ReadCheck = Check<EventReadObservation>;

function pduList(body: unknown, field: string): Record<string, unknown>[] | string {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return 'the answer is not a JSON object';
  const list = (body as Record<string, unknown>)[field];
  if (!Array.isArray(list)) return `${field} is not an array`;
  if (list.some((e) => typeof e !== 'object' || e === null || Array.isArray(e))) return `${field} holds something other than event objects`;
  return list as Record<string, unknown>[];
}

function idsOf(o: EventReadObservation, pdus: Record<string, unknown>[]): string[] {
  return pdus.map((p) => {
    try {
      return o.eventIdOf(p);
    } catch (e) {
      return `<no event ID: ${(e as Error).message}>`;
    }
  });
}

const withReadBody = withResponseBody<EventReadObservation>;

export const eventAnsweredAsTransaction: ReadCheck = defineCheck({
  id: 'event/transaction-with-the-event',
  requirement: 'ST-05',
  title: '/event answers a transaction (origin, origin_server_ts) whose pdus hold exactly the requested event',
  evaluate(o): Evaluation {
    if (o.endpoint !== 'event') return { notApplicable: 'not a /event call' };
    const expected = `HTTP 200 with origin, an integer origin_server_ts and pdus = [the event ${o.eventId}]`;
    if (o.response.status !== 200) return { ok: false, reason: `/event was answered HTTP ${o.response.status}`, expected, observed: o.response };
    const pdus = pduList(o.response.body, 'pdus');
    if (typeof pdus === 'string') return { ok: false, reason: pdus, expected, observed: o.response.body };
    const body = o.response.body as Record<string, unknown>;
    const wrong: string[] = [];
    if (typeof body.origin !== 'string' || !body.origin) wrong.push('origin is missing');
    if (!Number.isInteger(body.origin_server_ts)) wrong.push('origin_server_ts is not an integer');
    const ids = idsOf(o, pdus);
    if (ids.length !== 1 || ids[0] !== o.eventId) wrong.push(`pdus hold ${ids.length} event(s): ${ids.slice(0, 3).join(', ')}`);
    return wrong.length ? { ok: false, reason: wrong.join('; '), expected, observed: { origin: body.origin, origin_server_ts: body.origin_server_ts, eventIds: ids } } : { ok: true };
  },
  controls: [
    { name: 'origin missing', mutate: (o) => withReadBody(o, (b) => { delete b.origin; }) },
    { name: 'pdus empty', mutate: (o) => withReadBody(o, (b) => { b.pdus = []; }) },
    { name: 'the event altered (another ID)', mutate: (o) => withReadBody(o, (b) => { const [p] = b.pdus as Record<string, unknown>[]; p.origin_server_ts = (p.origin_server_ts as number) + 1; }) },
    { name: 'answered 404', mutate: (o) => ({ ...o, response: { status: 404, body: { errcode: 'M_NOT_FOUND' } } }) },
  ],
});

export const eventAuthComplete: ReadCheck = defineCheck({
  id: 'event-auth/complete-chain',
  requirement: 'ST-08',
  title: '/event_auth answers {"auth_chain": [...]} holding the event\'s auth events and, recursively, theirs',
  evaluate(o): Evaluation {
    if (o.endpoint !== 'event_auth') return { notApplicable: 'not a /event_auth call' };
    if (!o.authEventsOfTarget) return { notApplicable: 'the test did not give the event\'s auth_events' };
    const expected = `HTTP 200 with auth_chain closed under auth_events, starting from ${o.authEventsOfTarget.length} auth events of ${o.eventId}`;
    if (o.response.status !== 200) return { ok: false, reason: `/event_auth was answered HTTP ${o.response.status}`, expected, observed: o.response };
    const chain = pduList(o.response.body, 'auth_chain');
    if (typeof chain === 'string') return { ok: false, reason: chain, expected, observed: o.response.body };
    const ids = new Set(idsOf(o, chain));
    const missing = new Set(o.authEventsOfTarget.filter((id) => !ids.has(id)));
    const v = ROOM_VERSIONS[o.roomVersion];
    // In v12 every event implies the create event, which its auth_events do not list.
    const implied = v ? impliedCreateEventId(o.roomId, v) : undefined;
    if (implied && !ids.has(implied)) missing.add(implied);
    for (const e of chain) for (const id of eventRefIds(e.auth_events)) if (!ids.has(id)) missing.add(id);
    const foreign = chain.filter((e) => (v ? roomIdOfEvent(e, v, o.eventIdOf) : e.room_id) !== o.roomId).length;
    if (missing.size === 0 && foreign === 0) return { ok: true };
    return {
      ok: false,
      reason: [missing.size ? `auth events not in the chain: ${[...missing].slice(0, 6).join(', ')}` : '', foreign ? `${foreign} event(s) of another room` : ''].filter(Boolean).join('; '),
      expected,
      observed: { returned: [...ids], missing: [...missing] },
    };
  },
  controls: [
    { name: 'the create event left out', mutate: (o) => withReadBody(o, (b) => { b.auth_chain = (b.auth_chain as Record<string, unknown>[]).filter((e) => e.type !== 'm.room.create'); }) },
    { name: 'auth_chain under another name', mutate: (o) => withReadBody(o, (b) => { b.pdus = b.auth_chain; delete b.auth_chain; }) },
    { name: 'an event of another room', mutate: (o) => withReadBody(o, (b) => { (b.auth_chain as Record<string, unknown>[])[1].room_id = '!other:elsewhere.example'; }) },
    {
      // v1-v11: the create event names another room; v12: a create event with other content is another room's.
      name: "another room's create event",
      mutate: (o) => withReadBody(o, (b) => {
        const create = (b.auth_chain as Record<string, unknown>[]).find((e) => e.type === 'm.room.create')!;
        if (ROOM_VERSIONS[o.roomVersion]?.roomIdFromCreateEvent) create.content = { ...(create.content as object), 'org.lazyjoin.other': true };
        else create.room_id = '!other:elsewhere.example';
      }),
    },
  ],
});

export const missingEventsWalkBack: ReadCheck = defineCheck({
  id: 'get-missing-events/walks-back',
  requirement: 'ST-06',
  title: '/get_missing_events answers {"events": [...]}: the ancestors of latest_events back to earliest_events, neither included, at most limit',
  evaluate(o): Evaluation {
    if (o.endpoint !== 'get_missing_events' || !o.missing) return { notApplicable: 'not a /get_missing_events call' };
    const m = o.missing;
    const expected = `HTTP 200 with events = {${m.expected.join(', ')}} (limit ${m.limit})`;
    if (o.response.status !== 200) return { ok: false, reason: `/get_missing_events was answered HTTP ${o.response.status}`, expected, observed: o.response };
    const events = pduList(o.response.body, 'events');
    if (typeof events === 'string') return { ok: false, reason: events, expected, observed: o.response.body };
    const ids = idsOf(o, events);
    const want = new Set(m.expected);
    const extra = ids.filter((id) => !want.has(id));
    const missing = m.expected.filter((id) => !ids.includes(id));
    const wrong: string[] = [];
    if (ids.length > m.limit) wrong.push(`${ids.length} events for limit ${m.limit}`);
    if (missing.length) wrong.push(`missing ${missing.join(', ')}`);
    if (extra.length) wrong.push(`not asked for: ${extra.join(', ')}`);
    return wrong.length ? { ok: false, reason: wrong.join('; '), expected, observed: ids } : { ok: true };
  },
  controls: [
    { name: 'an event not asked for returned', mutate: (o) => ({ ...o, missing: { ...o.missing!, expected: o.missing!.expected.slice(1) } }) },
    { name: 'one event left out', mutate: (o) => withReadBody(o, (b) => { (b.events as unknown[]).pop(); }) },
    { name: 'events under another name', mutate: (o) => withReadBody(o, (b) => { b.pdus = b.events; delete b.events; }) },
  ],
});

// -------------------------------------------------------------------------------------------------
// Refusals

export type RefusalCase =
  /** An endpoint no version of the spec has. */
  | 'unknown-endpoint'
  /** A known endpoint with a method it does not take. */
  | 'wrong-method'
  /** /state_ids asked by a server with no member in the room. */
  | 'state-ids-not-in-room'
  /** /state_ids at an event the room does not have. */
  | 'state-ids-unknown-event'
  /** A request whose X-Matrix destination names another server. */
  | 'wrong-destination'
  /** make_join for a user of a server other than the requesting one. */
  | 'make-join-foreign-user'
  /** Any room endpoint asked by a server the room's m.room.server_acl denies. */
  | 'server-acl-denied';

export interface RefusalObservation {
  case: RefusalCase;
  request: { method: string; path: string };
  response: HttpAnswer;
}

type RefusalCheck = Check<RefusalObservation>;

function refusal(o: RefusalObservation, cases: readonly RefusalCase[], status: number, errcode: string | undefined, what: string): Evaluation {
  if (!cases.includes(o.case)) return { notApplicable: `not ${cases.join(' or ')}` };
  const expected = `HTTP ${status}${errcode ? ` ${errcode}` : ''} for ${what}`;
  const got = errcodeOfBody(o.response.body);
  if (o.response.status === status && (errcode === undefined || got === errcode)) return { ok: true };
  return { ok: false, reason: `${o.request.method} ${o.request.path} was answered HTTP ${o.response.status}${typeof got === 'string' ? ` ${got}` : ' without an errcode'}`, expected, observed: o.response };
}

const answered = (status: number, errcode?: string) => (o: RefusalObservation): RefusalObservation => ({ ...o, response: { status, body: errcode ? { errcode, error: 'control' } : {} } });

export const unknownEndpointRefused: RefusalCheck = defineCheck({
  id: 'federation/unknown-endpoint-refused',
  requirement: 'SJ-27',
  title: 'an unknown federation endpoint is answered 404 M_UNRECOGNIZED, a known one with a wrong method 405 M_UNRECOGNIZED',
  evaluate: (o) =>
    o.case === 'wrong-method'
      ? refusal(o, ['wrong-method'], 405, 'M_UNRECOGNIZED', 'a known endpoint called with a method it does not take')
      : refusal(o, ['unknown-endpoint'], 404, 'M_UNRECOGNIZED', 'an endpoint the server does not have'),
  controls: [
    { name: 'answered 200', mutate: answered(200) },
    { name: 'M_NOT_FOUND instead of M_UNRECOGNIZED', mutate: (o) => answered(o.response.status, 'M_NOT_FOUND')(o) },
    { name: 'no errcode', mutate: (o) => answered(o.response.status)(o) },
  ],
});

export const stateIdsRefusals: RefusalCheck = defineCheck({
  id: 'state-ids/refusals',
  requirement: 'ST-04',
  title: '/state_ids answers 403 M_FORBIDDEN to a server not in the room and 404 M_NOT_FOUND at an unknown event',
  evaluate: (o) =>
    o.case === 'state-ids-not-in-room'
      ? refusal(o, ['state-ids-not-in-room'], 403, 'M_FORBIDDEN', 'a server with no member in the room')
      : refusal(o, ['state-ids-unknown-event'], 404, 'M_NOT_FOUND', 'an event the room does not have'),
  controls: [
    { name: 'answered 200', mutate: answered(200) },
    { name: 'the other refusal\'s status', mutate: (o) => answered(o.response.status === 403 ? 404 : 403, errcodeOfBody(o.response.body) as string)(o) },
    { name: 'M_UNKNOWN', mutate: (o) => answered(o.response.status, 'M_UNKNOWN')(o) },
  ],
});

export const wrongDestinationRefused: RefusalCheck = defineCheck({
  id: 'request-auth/wrong-destination-refused',
  requirement: 'AU-04',
  title: 'a request whose X-Matrix destination names another server is answered 401',
  evaluate: (o) => refusal(o, ['wrong-destination'], 401, undefined, 'a request signed for another destination'),
  controls: [
    { name: 'answered 200', mutate: answered(200) },
    { name: 'answered 403', mutate: answered(403, 'M_FORBIDDEN') },
  ],
});

export const foreignUserMakeJoinRefused: RefusalCheck = defineCheck({
  id: 'make-join/foreign-user-refused',
  requirement: 'MJ-03',
  title: 'make_join for a user of another server than the requesting one gets no template (HTTP 4xx)',
  evaluate(o): Evaluation {
    if (o.case !== 'make-join-foreign-user') return { notApplicable: 'not a make_join for another server\'s user' };
    if (o.response.status >= 400 && o.response.status < 500) return { ok: true };
    return { ok: false, reason: `make_join for another server's user was answered HTTP ${o.response.status}`, expected: 'a 4xx refusal (403 M_FORBIDDEN), no join template', observed: o.response };
  },
  controls: [
    { name: 'a template handed out', mutate: (o) => ({ ...o, response: { status: 200, body: { room_version: '10', event: { type: 'm.room.member' } } } }) },
    { name: 'answered 500', mutate: answered(500, 'M_UNKNOWN') },
  ],
});

export const serverAclEnforced: RefusalCheck = defineCheck({
  id: 'federation/server-acl-enforced',
  requirement: 'SJ-26',
  title: 'a server the room\'s server ACL denies gets 403 M_FORBIDDEN from make_join, state, state_ids, event_auth, get_missing_events and backfill',
  evaluate: (o) => refusal(o, ['server-acl-denied'], 403, 'M_FORBIDDEN', 'a server the room\'s m.room.server_acl denies'),
  controls: [
    { name: 'answered 200', mutate: answered(200) },
    { name: 'refused 401', mutate: answered(401, 'M_UNAUTHORIZED') },
  ],
});

// -------------------------------------------------------------------------------------------------
// Content type

export interface ContentTypeObservation {
  /** JSON answers the suite received from the candidate's federation API, with what was asked. */
  answers: Array<{ request: string; status: number; contentType?: string }>;
}

const JSON_TYPE = /^application\/json\s*(;\s*charset\s*=\s*"?utf-8"?\s*)?$/i;

export const jsonContentType: Check<ContentTypeObservation> = defineCheck({
  id: 'federation/json-content-type',
  requirement: 'SJ-28',
  title: 'federation answers with a JSON body say Content-Type: application/json (UTF-8)',
  evaluate(o): Evaluation {
    if (o.answers.length === 0) return { notApplicable: 'no answer was recorded' };
    const wrong = o.answers.filter((a) => !JSON_TYPE.test(a.contentType ?? ''));
    if (wrong.length === 0) return { ok: true };
    return {
      ok: false,
      reason: wrong.slice(0, 5).map((a) => `${a.request} (HTTP ${a.status}): ${a.contentType === undefined ? 'no Content-Type' : `Content-Type ${a.contentType}`}`).join('; '),
      expected: 'Content-Type: application/json (optionally with charset=utf-8) on every JSON answer',
      observed: wrong,
    };
  },
  controls: [
    { name: 'one answer as text/plain', mutate: (o) => ({ answers: [...o.answers.slice(1), { ...o.answers[0], contentType: 'text/plain; charset=utf-8' }] }) },
    { name: 'one answer without Content-Type', mutate: (o) => ({ answers: [...o.answers.slice(1), { ...o.answers[0], contentType: undefined }] }) },
    { name: 'latin-1 declared', mutate: (o) => ({ answers: [{ ...o.answers[0], contentType: 'application/json; charset=iso-8859-1' }] }) },
  ],
});

// -------------------------------------------------------------------------------------------------
// Transactions

export interface TransactionObservation {
  /** The PDUs sent, and which of them the candidate must reject (a broken signature). */
  pdus: Array<{ eventId: string; mustBeRejected: boolean }>;
  response: HttpAnswer;
}

export const rejectedPduDoesNotFailTransaction: Check<TransactionObservation> = defineCheck({
  id: 'transaction/rejected-pdu-does-not-fail-it',
  requirement: 'ST-10',
  title: 'a transaction holding a PDU the server rejects is still answered 200 with a pdus object',
  evaluate(o): Evaluation {
    if (!o.pdus.some((p) => p.mustBeRejected)) return { notApplicable: 'no PDU of the transaction is to be rejected' };
    const body = o.response.body as Record<string, unknown> | null;
    const pdus = body && typeof body === 'object' ? body.pdus : undefined;
    if (o.response.status === 200 && typeof pdus === 'object' && pdus !== null && !Array.isArray(pdus)) return { ok: true };
    return {
      ok: false,
      reason: `the transaction was answered HTTP ${o.response.status}${o.response.status === 200 ? ' without a pdus object' : ''}`,
      expected: 'HTTP 200 with {"pdus": {<event ID>: {} or {"error": ...}}}: a rejected PDU is reported in its entry, not by failing the transaction',
      observed: o.response,
    };
  },
  controls: [
    { name: 'answered 400', mutate: (o) => ({ ...o, response: { status: 400, body: { errcode: 'M_BAD_JSON', error: 'bad PDU' } } }) },
    { name: 'answered 500', mutate: (o) => ({ ...o, response: { status: 500, body: { errcode: 'M_UNKNOWN' } } }) },
    { name: 'pdus missing from the answer', mutate: (o) => ({ ...o, response: { ...o.response, body: {} } }) },
  ],
});

// -------------------------------------------------------------------------------------------------
// X-Matrix headers the server must accept

export type HeaderVariant =
  /** Parameters in another order. */
  | 'reordered'
  /** Parameter names in upper and mixed case. */
  | 'names-in-other-case'
  /** Spaces and tabs around the commas. */
  | 'whitespace-around-commas'
  /** A quoted value with backslash escapes (`"ed25519\:abc"`). */
  | 'escaped-quoted-value'
  /** An extra parameter the spec does not define. */
  | 'unknown-parameter'
  /** origin, destination and key unquoted, colons and all (the spec's compatibility note). */
  | 'unquoted-values-with-colons';

export interface InboundHeaderObservation {
  variant: HeaderVariant;
  /** The Authorization header sent, validly signed, in the variant's form. */
  header: string;
  request: string;
  response: HttpAnswer;
}

type InboundHeaderCheck = Check<InboundHeaderObservation>;

function headerAccepted(o: InboundHeaderObservation, variants: readonly HeaderVariant[], what: string): Evaluation {
  if (!variants.includes(o.variant)) return { notApplicable: `the header variant is ${o.variant}` };
  if (o.response.status === 200) return { ok: true };
  return {
    ok: false,
    reason: `a validly signed request whose header has ${what} was answered HTTP ${o.response.status}${typeof errcodeOfBody(o.response.body) === 'string' ? ` ${errcodeOfBody(o.response.body)}` : ''}`,
    expected: `HTTP 200: the header is valid X-Matrix (${what})`,
    observed: { header: o.header, response: o.response },
  };
}

const refusedWith401 = (o: InboundHeaderObservation): InboundHeaderObservation => ({ ...o, response: { status: 401, body: { errcode: 'M_UNAUTHORIZED', error: 'bad header' } } });

export const headerGrammarAccepted: InboundHeaderCheck = defineCheck({
  id: 'request-auth/header-grammar-accepted',
  requirement: 'AU-05',
  title: 'X-Matrix headers are parsed by the grammar: parameters in any order, names in any case, whitespace around commas, escapes in quoted values',
  evaluate: (o) => headerAccepted(o, ['reordered', 'names-in-other-case', 'whitespace-around-commas', 'escaped-quoted-value'], `its parameters ${o.variant.replace(/-/g, ' ')}`),
  controls: [
    { name: 'refused 401', mutate: refusedWith401 },
    { name: 'refused 400', mutate: (o) => ({ ...o, response: { status: 400, body: { errcode: 'M_BAD_JSON' } } }) },
  ],
});

export const unknownHeaderParameterIgnored: InboundHeaderCheck = defineCheck({
  id: 'request-auth/unknown-parameter-ignored',
  requirement: 'AU-07',
  title: 'an X-Matrix parameter the spec does not define is ignored',
  evaluate: (o) => headerAccepted(o, ['unknown-parameter'], 'an extra, unknown parameter'),
  controls: [{ name: 'refused 401', mutate: refusedWith401 }],
});

export const unquotedColonValuesAccepted: InboundHeaderCheck = defineCheck({
  id: 'request-auth/unquoted-colon-values-accepted',
  requirement: 'AU-06',
  title: 'X-Matrix values containing colons are accepted unquoted (origin=example.org:8448)',
  evaluate: (o) => headerAccepted(o, ['unquoted-values-with-colons'], 'unquoted values containing colons'),
  controls: [{ name: 'refused 401', mutate: refusedWith401 }],
});

export const federationApiChecks = {
  'resident-key-server': [keyDocumentWellFormed, keyDocumentSelfSigned, keysInUsePublished, keysValidForAnHour],
  'resident-event-read': [eventAnsweredAsTransaction, eventAuthComplete, missingEventsWalkBack],
  'resident-refusal': [unknownEndpointRefused, stateIdsRefusals, wrongDestinationRefused, foreignUserMakeJoinRefused, serverAclEnforced],
  'resident-content-type': [jsonContentType],
  'outbound-request-auth': [outboundRequestsVerify, outboundHeaderForm, outboundHeaderStyle],
  'resident-transaction': [rejectedPduDoesNotFailTransaction],
  'inbound-x-matrix': [headerGrammarAccepted, unknownHeaderParameterIgnored, unquotedColonValuesAccepted],
  'outbound-pdus': [outboundContentHash, outboundSignedByOrigin, outboundEventIdIsReferenceHash, outboundAuthEventsSelected],
} as const;
