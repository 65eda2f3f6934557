/**
 * Passing observations for the checks of federation-api.ts, for the checks' self-test (every
 * negative control must turn each into a failure). Keys, signatures and event IDs are real
 * (harness/matrix, room version 10), from a fixed seed.
 */
import { decodeBase64, eventId, roomVersion, signEvent, signJson, signingKeyFromSeed, verifyEvent, type PDU } from '../matrix/index.ts';
import { keyDocumentVerifier } from './matrix-binding.ts';
import type { ContentTypeObservation, EventReadObservation, HeaderVariant, InboundHeaderObservation, KeyServerObservation, OutboundAuthObservation, OutboundPduObservation, RefusalObservation, TransactionObservation } from './federation-api.ts';

const SERVER = 'candidate.test';
const ROOM = '!room:candidate.test';
const ALICE = '@alice:candidate.test';
const NOW = 1_790_000_000_000;

function room(version: '10' | '12') {
  const v = roomVersion(version);
  const key = signingKeyFromSeed(new Uint8Array(32).fill(7), 'ed25519:a_1');
  const events: Array<{ event: PDU; eventId: string }> = [];
  let roomId = ROOM;
  // Event 0 is the create event: cited in auth_events only where the version lists it.
  const cited = (auth: number[]) => (v.createInAuthEvents ? auth : auth.filter((i) => i !== 0));
  const add = (type: string, stateKey: string | undefined, content: Record<string, unknown>, auth: number[]) => {
    const prev = events.length ? [events[events.length - 1].eventId] : [];
    const draft = {
      ...(v.roomIdFromCreateEvent && type === 'm.room.create' ? {} : { room_id: roomId }),
      sender: ALICE,
      type,
      ...(stateKey === undefined ? {} : { state_key: stateKey }),
      content,
      auth_events: cited(auth).map((i) => events[i].eventId),
      prev_events: prev,
      depth: events.length + 1,
      origin_server_ts: NOW + events.length,
    } as Omit<PDU, 'hashes' | 'signatures'>;
    events.push(signEvent(draft, SERVER, key, version));
  };
  add('m.room.create', '', { room_version: version, ...(v.createHasCreator ? { creator: ALICE } : {}) }, []);
  if (v.roomIdFromCreateEvent) roomId = `!${events[0].eventId.slice(1)}`;
  add('m.room.member', ALICE, { membership: 'join' }, [0]);
  add('m.room.power_levels', '', { users: v.privilegedCreators ? {} : { [ALICE]: 100 } }, [0, 1]);
  add('m.room.join_rules', '', { join_rule: 'public' }, [0, 1, 2]);
  for (let i = 1; i <= 4; i++) add('m.room.message', undefined, { msgtype: 'm.text', body: `m${i}` }, [0, 1, 2]);
  return { key, events, roomId, cited };
}

/** /event, /event_auth, /get_missing_events and the candidate's own events, in a room of `version`. */
function roomObservations(version: '10' | '12'): Array<{ name: string; kind: string; observation: unknown }> {
  const { key, events, roomId, cited } = room(version);
  const idOf = (pdu: Record<string, unknown>) => eventId(pdu as PDU, version);
  const byIndex = (i: number) => events[i];
  const message = byIndex(7);
  const event: EventReadObservation = {
    endpoint: 'event',
    roomId,
    roomVersion: version,
    eventId: message.eventId,
    response: { status: 200, contentType: 'application/json', body: { origin: SERVER, origin_server_ts: NOW, pdus: [structuredClone(message.event)] } },
    eventIdOf: idOf,
  };
  const eventAuth: EventReadObservation = {
    endpoint: 'event_auth',
    roomId,
    roomVersion: version,
    eventId: message.eventId,
    authEventsOfTarget: message.event.auth_events as string[],
    response: { status: 200, contentType: 'application/json', body: { auth_chain: [0, 1, 2].map((i) => structuredClone(byIndex(i).event)) } },
    eventIdOf: idOf,
  };
  // Messages m1..m4 are events 4..7: from m4 back to m1, limit 10, the answer is m2 and m3.
  const missing: EventReadObservation = {
    endpoint: 'get_missing_events',
    roomId,
    roomVersion: version,
    missing: { earliest: [byIndex(4).eventId], latest: [byIndex(7).eventId], limit: 10, expected: [byIndex(6).eventId, byIndex(5).eventId] },
    response: { status: 200, contentType: 'application/json', body: { events: [5, 6].map((i) => structuredClone(byIndex(i).event)) } },
    eventIdOf: idOf,
  };
  const lookup = (server: string, keyId: string) => (server === SERVER && keyId === key.keyId ? decodeBase64(key.publicKeyBase64) : undefined);
  const outboundPdus: OutboundPduObservation = {
    roomVersion: version,
    pdus: [5, 6, 7].map((i) => {
      const checked = verifyEvent(byIndex(i).event, version, lookup);
      const authEvents = byIndex(i).event.auth_events as string[];
      return { clientEventId: byIndex(i).eventId, computed: { eventId: checked.eventId, hashOk: checked.hashOk, signaturesOk: checked.signaturesOk, errors: checked.errors }, authEvents, expectedAuthEvents: cited([0, 1, 2]).map((j) => byIndex(j).eventId) };
    }),
  };
  return [
    { name: `v${version}: three messages the candidate sent`, kind: 'outbound-pdus', observation: outboundPdus },
    { name: `v${version}: /event of a message`, kind: 'resident-event-read', observation: event },
    { name: `v${version}: /event_auth of a message`, kind: 'resident-event-read', observation: eventAuth },
    { name: `v${version}: /get_missing_events over a linear history`, kind: 'resident-event-read', observation: missing },
  ];
}

export function federationApiPassingObservations(): Array<{ name: string; kind: string; observation: unknown }> {
  const { key, events } = room('10');
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

  return [
    ...roomObservations('10'),
    ...roomObservations('12'),
    ...inbound.map((o) => ({ name: `an X-Matrix header (${o.variant}) accepted`, kind: 'inbound-x-matrix', observation: o })),
    { name: 'a transaction with a PDU to reject', kind: 'resident-transaction', observation: transaction },
    { name: 'candidate key document', kind: 'resident-key-server', observation: keyServer },
    ...refusals.map((o) => ({ name: `refusal: ${o.case}`, kind: 'resident-refusal', observation: o })),
    { name: 'JSON answers with their content types', kind: 'resident-content-type', observation: contentTypes },
    { name: 'two signed requests from the candidate', kind: 'outbound-request-auth', observation: outbound },
  ];
}
