/** Checks over the answers to `GET /_matrix/federation/v1/state` and `/state_ids`. */
import { defineCheck, withResponseBody } from './define.ts';
import { pduSchemaFor, validate, type SchemaId } from './schema.ts';
import type { Check, Evaluation } from './types.ts';
import { roomVersion } from '../matrix/room-versions.ts';

/** A create event without room_id, as it is where the room ID is derived from it (v12+). */
function isRoomlessCreate(ev: Record<string, unknown>, version: string): boolean {
  if (ev.type !== 'm.room.create' || ev.room_id !== undefined) return false;
  try {
    return roomVersion(version).roomIdFromCreateEvent;
  } catch {
    return false;
  }
}

export interface StateObservation {
  request: {
    /** Which endpoint was called. */
    endpoint: 'state' | 'state_ids';
    roomId: string;
    /** The `event_id` query value. */
    eventId: string;
    roomVersion: string;
  };
  response: { status: number; body: unknown };
  /**
   * The room state just before `eventId` as the suite knows it (from the candidate's client API
   * or the scenario): one entry per (type, state_key) with its event ID.
   */
  truth?: Array<{ type: string; state_key: string; event_id: string }>;
  /** Event IDs of returned events (harness/matrix `eventId` bound to the room version); for /state. */
  eventIdOf?(pdu: Record<string, unknown>): string;
}

type StateCheck = Check<StateObservation>;

function wellFormed(o: StateObservation, schema: SchemaId, eventFields: string[]): Evaluation {
  const expected = `HTTP 200 with a body matching schemas/${schema}.schema.json${eventFields.length ? ' and every event matching the room version PDU schema' : ''}`;
  if (o.response.status !== 200) return { ok: false, reason: `/${o.request.endpoint} was answered HTTP ${o.response.status}`, expected, observed: o.response };
  const errors = new Set<string>();
  const r = validate(schema, o.response.body);
  if (!r.ok) r.errors.forEach((e) => errors.add(e));
  const pduSchema = pduSchemaFor(o.request.roomVersion);
  const body = o.response.body as Record<string, unknown> | null;
  if (pduSchema && body && typeof body === 'object') {
    for (const field of eventFields) {
      const events = body[field];
      if (!Array.isArray(events)) continue;
      events.forEach((ev, i) => {
        const rv = validate(pduSchema, ev);
        if (!rv.ok) rv.errors.forEach((e) => errors.add(`/${field}/${i}${e.startsWith('/:') ? e.slice(1) : e}`));
        if (typeof ev === 'object' && ev !== null && (ev as Record<string, unknown>).room_id !== o.request.roomId && !isRoomlessCreate(ev as Record<string, unknown>, o.request.roomVersion)) {
          errors.add(`/${field}/${i}/room_id: is not ${o.request.roomId}`);
        }
        if (field === 'pdus' && typeof (ev as Record<string, unknown>)?.state_key !== 'string') errors.add(`/${field}/${i}: is not a state event (no state_key)`);
      });
    }
  }
  if (errors.size === 0) return { ok: true };
  const list = [...errors];
  return { ok: false, reason: `the answer does not match the schema: ${list.slice(0, 8).join('; ')}`, expected, observed: list };
}

const withBody = withResponseBody<StateObservation>;

export const stateResponseWellFormed: StateCheck = defineCheck({
  id: 'state/response-well-formed',
  requirement: 'ST-02',
  title: '/state answers pdus (state events of the room) and auth_chain, both arrays of PDUs',
  evaluate: (o) => (o.request.endpoint === 'state' ? wellFormed(o, 'state-response', ['pdus', 'auth_chain']) : { notApplicable: 'not a /state call' }),
  controls: [
    { name: 'auth_chain missing', mutate: (o) => withBody(o, (b) => { delete b.auth_chain; }) },
    { name: 'a state event without state_key', mutate: (o) => withBody(o, (b) => { delete (b.pdus as Record<string, unknown>[])[0].state_key; }) },
    { name: 'a PDU without prev_events', mutate: (o) => withBody(o, (b) => { delete (b.pdus as Record<string, unknown>[])[0].prev_events; }) },
    { name: 'answered 403', mutate: (o) => ({ ...o, response: { status: 403, body: { errcode: 'M_FORBIDDEN' } } }) },
  ],
});

export const stateIdsResponseWellFormed: StateCheck = defineCheck({
  id: 'state-ids/response-well-formed',
  requirement: 'ST-03',
  title: '/state_ids answers pdu_ids and auth_chain_ids, both arrays of event IDs',
  evaluate: (o) => (o.request.endpoint === 'state_ids' ? wellFormed(o, 'state-ids-response', []) : { notApplicable: 'not a /state_ids call' }),
  controls: [
    { name: 'pdu_ids missing', mutate: (o) => withBody(o, (b) => { delete b.pdu_ids; }) },
    { name: 'an event ID without sigil', mutate: (o) => withBody(o, (b) => { const ids = b.auth_chain_ids as string[]; ids[0] = ids[0].slice(1); }) },
    { name: 'full events instead of IDs', mutate: (o) => withBody(o, (b) => { b.pdu_ids = (b.pdu_ids as string[]).map((id) => ({ event_id: id })); }) },
  ],
});

/** The returned snapshot as (type, state_key) -> event ID, or why it cannot be read. */
function snapshotOf(o: StateObservation, truth: NonNullable<StateObservation['truth']>): Map<string, string> | string {
  const body = o.response.body as Record<string, unknown> | null;
  if (o.response.status !== 200 || !body || typeof body !== 'object') return 'the answer is not a 200 object (see the well-formedness checks)';
  if (o.request.endpoint === 'state_ids') {
    if (!Array.isArray(body.pdu_ids)) return 'pdu_ids is not an array';
    // state_ids names events only: place each by the truth entry carrying that ID.
    const byId = new Map(truth.map((e) => [e.event_id, JSON.stringify([e.type, e.state_key])]));
    return new Map((body.pdu_ids as unknown[]).map((id, i) => [byId.get(String(id)) ?? `unknown #${i}`, String(id)]));
  }
  if (!Array.isArray(body.pdus) || !o.eventIdOf) return !o.eventIdOf ? 'no event ID function was given' : 'pdus is not an array';
  const pdus = body.pdus as Record<string, unknown>[];
  return new Map(pdus.map((p) => [JSON.stringify([p?.type, p?.state_key]), (() => { try { return o.eventIdOf!(p); } catch (e) { return `<no event ID: ${(e as Error).message}>`; } })()]));
}

export const stateMatchesRoomState: StateCheck = defineCheck({
  id: 'state/matches-room-state',
  requirement: 'ST-01',
  title: 'the snapshot at an event is the room state before it: every state event the suite knows, and nothing else',
  evaluate(o): Evaluation {
    if (!o.truth) return { notApplicable: 'the test did not give the room state' };
    const snapshot = snapshotOf(o, o.truth);
    if (typeof snapshot === 'string') return { notApplicable: snapshot };
    const missing = o.truth.filter((e) => snapshot.get(JSON.stringify([e.type, e.state_key])) !== e.event_id).map((e) => `${e.type}|${e.state_key}`);
    const known = new Set(o.truth.map((e) => JSON.stringify([e.type, e.state_key])));
    const extra = [...snapshot.keys()].filter((k) => !known.has(k));
    if (missing.length === 0 && extra.length === 0) return { ok: true };
    return {
      ok: false,
      reason: [missing.length ? `missing or different: ${missing.slice(0, 8).join(', ')}${missing.length > 8 ? ` (+${missing.length - 8})` : ''}` : '', extra.length ? `not in the room state: ${extra.slice(0, 8).join(', ')}` : ''].filter(Boolean).join('; '),
      expected: `the ${o.truth.length} state events of the room before ${o.request.eventId}`,
      observed: { missing, extra },
    };
  },
  controls: [
    {
      name: 'a membership left out',
      mutate: (o) => withBody(o, (b) => {
        const member = o.truth!.find((e) => e.type === 'm.room.member')!;
        if (Array.isArray(b.pdu_ids)) b.pdu_ids = (b.pdu_ids as string[]).filter((id) => id !== member.event_id);
        else b.pdus = (b.pdus as Record<string, unknown>[]).filter((p) => !(p.type === 'm.room.member' && p.state_key === member.state_key));
      }),
    },
    { name: 'the room has one more state event', mutate: (o) => ({ ...o, truth: [...o.truth!, { type: 'org.example.never.sent', state_key: '', event_id: '$never-sent' }] }) },
  ],
});

export const stateChecks: ReadonlyArray<StateCheck> = [stateResponseWellFormed, stateIdsResponseWellFormed, stateMatchesRoomState];
