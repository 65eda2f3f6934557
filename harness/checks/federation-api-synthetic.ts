/**
 * Passing observations for the checks of federation-api.ts, for the checks' self-test (every
 * negative control must turn each into a failure). Keys, signatures and event IDs are real
 * (harness/matrix, room version 10), from a fixed seed.
 */
import { decodeBase64, eventId, signEvent, signJson, signingKeyFromSeed, verifyEvent, type PDU } from '../matrix/index.ts';
import { keyDocumentVerifier } from './matrix-binding.ts';
import type { ContentTypeObservation, EventReadObservation, HeaderVariant, InboundHeaderObservation, KeyServerObservation, OutboundAuthObservation, OutboundPduObservation, RefusalObservation, TransactionObservation } from './federation-api.ts';

const SERVER = 'candidate.test';
const ROOM = '!room:candidate.test';
const ALICE = '@alice:candidate.test';
const NOW = 1_790_000_000_000;

function room() {
  const key = signingKeyFromSeed(new Uint8Array(32).fill(7), 'ed25519:a_1');
  const events: Array<{ event: PDU; eventId: string }> = [];
  const add = (type: string, stateKey: string | undefined, content: Record<string, unknown>, auth: number[]) => {
    const prev = events.length ? [events[events.length - 1].eventId] : [];
    const draft = {
      room_id: ROOM,
      sender: ALICE,
      type,
      ...(stateKey === undefined ? {} : { state_key: stateKey }),
      content,
      auth_events: auth.map((i) => events[i].eventId),
      prev_events: prev,
      depth: events.length + 1,
      origin_server_ts: NOW + events.length,
    } as Omit<PDU, 'hashes' | 'signatures'>;
    events.push(signEvent(draft, SERVER, key, '10'));
  };
  add('m.room.create', '', { creator: ALICE, room_version: '10' }, []);
  add('m.room.member', ALICE, { membership: 'join' }, [0]);
  add('m.room.power_levels', '', { users: { [ALICE]: 100 } }, [0, 1]);
  add('m.room.join_rules', '', { join_rule: 'public' }, [0, 1, 2]);
  for (let i = 1; i <= 4; i++) add('m.room.message', undefined, { msgtype: 'm.text', body: `m${i}` }, [0, 1, 2]);
  return { key, events };
}

export function federationApiPassingObservations(): Array<{ name: string; kind: string; observation: unknown }> {
  const { key, events } = room();
  const idOf = (pdu: Record<string, unknown>) => eventId(pdu as PDU, '10');
  const byIndex = (i: number) => events[i];

  const keyDoc = signJson({ server_name: SERVER, verify_keys: { [key.keyId]: { key: key.publicKeyBase64 } }, old_verify_keys: {}, valid_until_ts: NOW + 24 * 3_600_000 }, SERVER, key);
  const keyServer: KeyServerObservation = {
    serverName: SERVER,
    fetchedAt: NOW,
    response: { status: 200, contentType: 'application/json', body: keyDoc },
    keysInUse: [key.keyId],
    verifySignature: keyDocumentVerifier(SERVER),
  };

  const message = byIndex(7);
  const event: EventReadObservation = {
    endpoint: 'event',
    roomId: ROOM,
    eventId: message.eventId,
    response: { status: 200, contentType: 'application/json', body: { origin: SERVER, origin_server_ts: NOW, pdus: [structuredClone(message.event)] } },
    eventIdOf: idOf,
  };
  const eventAuth: EventReadObservation = {
    endpoint: 'event_auth',
    roomId: ROOM,
    eventId: message.eventId,
    authEventsOfTarget: message.event.auth_events as string[],
    response: { status: 200, contentType: 'application/json', body: { auth_chain: [0, 1, 2].map((i) => structuredClone(byIndex(i).event)) } },
    eventIdOf: idOf,
  };
  // Messages m1..m4 are events 4..7: from m4 back to m1, limit 10, the answer is m2 and m3.
  const missing: EventReadObservation = {
    endpoint: 'get_missing_events',
    roomId: ROOM,
    missing: { earliest: [byIndex(4).eventId], latest: [byIndex(7).eventId], limit: 10, expected: [byIndex(6).eventId, byIndex(5).eventId] },
    response: { status: 200, contentType: 'application/json', body: { events: [5, 6].map((i) => structuredClone(byIndex(i).event)) } },
    eventIdOf: idOf,
  };

  const refusal = (c: RefusalObservation['case'], method: string, path: string, status: number, errcode?: string): RefusalObservation => ({
    case: c,
    request: { method, path },
    response: { status, contentType: 'application/json', body: errcode ? { errcode, error: 'refused' } : { error: 'refused' } },
  });
  const refusals = [
    refusal('unknown-endpoint', 'GET', '/_matrix/federation/v1/no-such-endpoint', 404, 'M_UNRECOGNIZED'),
    refusal('wrong-method', 'DELETE', `/_matrix/federation/v1/event/${message.eventId}`, 405, 'M_UNRECOGNIZED'),
    refusal('state-ids-not-in-room', 'GET', `/_matrix/federation/v1/state_ids/${ROOM}`, 403, 'M_FORBIDDEN'),
    refusal('state-ids-unknown-event', 'GET', `/_matrix/federation/v1/state_ids/${ROOM}`, 404, 'M_NOT_FOUND'),
    refusal('wrong-destination', 'GET', `/_matrix/federation/v1/event/${message.eventId}`, 401, 'M_UNAUTHORIZED'),
    refusal('make-join-foreign-user', 'GET', `/_matrix/federation/v1/make_join/${ROOM}/@mallory:elsewhere.test`, 403, 'M_FORBIDDEN'),
    refusal('server-acl-denied', 'GET', `/_matrix/federation/v1/state_ids/${ROOM}`, 403, 'M_FORBIDDEN'),
  ];

  const contentTypes: ContentTypeObservation = {
    answers: [
      { request: 'GET /_matrix/key/v2/server', status: 200, contentType: 'application/json' },
      { request: 'GET /_matrix/federation/v1/event/…', status: 200, contentType: 'application/json; charset=utf-8' },
    ],
  };

  const header = (to: string) => `X-Matrix origin="${SERVER}",destination="${to}",key="${key.keyId}",sig="${'s'.repeat(86)}"`;
  const outbound: OutboundAuthObservation = {
    origin: SERVER,
    requests: [
      { request: 'PUT /_matrix/federation/v1/send/1', to: 'suite.test:8448', authorization: header('suite.test:8448'), verified: true },
      { request: 'GET /_matrix/federation/v1/query/directory', to: 'bystander.test', authorization: header('bystander.test'), verified: true },
    ],
  };

  const transaction: TransactionObservation = {
    pdus: [
      { eventId: byIndex(6).eventId, mustBeRejected: false },
      { eventId: byIndex(7).eventId, mustBeRejected: true },
    ],
    response: { status: 200, contentType: 'application/json', body: { pdus: { [byIndex(6).eventId]: {}, [byIndex(7).eventId]: { error: 'bad signature' } } } },
  };

  const variants: HeaderVariant[] = ['reordered', 'names-in-other-case', 'whitespace-around-commas', 'escaped-quoted-value', 'unknown-parameter', 'unquoted-values-with-colons'];
  const inbound = variants.map(
    (variant): InboundHeaderObservation => ({ variant, header: `X-Matrix (${variant})`, request: `GET /_matrix/federation/v1/event/${message.eventId}`, response: { status: 200, contentType: 'application/json', body: {} } }),
  );

  const lookup = (server: string, keyId: string) => (server === SERVER && keyId === key.keyId ? decodeBase64(key.publicKeyBase64) : undefined);
  const outboundPdus: OutboundPduObservation = {
    roomVersion: '10',
    pdus: [5, 6, 7].map((i) => {
      const v = verifyEvent(byIndex(i).event, '10', lookup);
      const authEvents = byIndex(i).event.auth_events as string[];
      return { clientEventId: byIndex(i).eventId, computed: { eventId: v.eventId, hashOk: v.hashOk, signaturesOk: v.signaturesOk, errors: v.errors }, authEvents, expectedAuthEvents: [0, 1, 2].map((j) => byIndex(j).eventId) };
    }),
  };

  return [
    { name: 'three messages the candidate sent', kind: 'outbound-pdus', observation: outboundPdus },
    ...inbound.map((o) => ({ name: `an X-Matrix header (${o.variant}) accepted`, kind: 'inbound-x-matrix', observation: o })),
    { name: 'a transaction with a PDU to reject', kind: 'resident-transaction', observation: transaction },
    { name: 'candidate key document', kind: 'resident-key-server', observation: keyServer },
    { name: '/event of a message', kind: 'resident-event-read', observation: event },
    { name: '/event_auth of a message', kind: 'resident-event-read', observation: eventAuth },
    { name: '/get_missing_events over a linear history', kind: 'resident-event-read', observation: missing },
    ...refusals.map((o) => ({ name: `refusal: ${o.case}`, kind: 'resident-refusal', observation: o })),
    { name: 'JSON answers with their content types', kind: 'resident-content-type', observation: contentTypes },
    { name: 'two signed requests from the candidate', kind: 'outbound-request-auth', observation: outbound },
  ];
}
