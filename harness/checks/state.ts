/** Checks over the answers to `GET /_matrix/federation/v1/state` and `/state_ids`. */
import { defineCheck } from './define.ts';
import { pduSchemaFor, validate, type SchemaId } from './schema.ts';
import type { Check, Evaluation } from './types.ts';

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
        if (typeof ev === 'object' && ev !== null && (ev as Record<string, unknown>).room_id !== o.request.roomId) {
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

const withBody = (o: StateObservation, change: (b: Record<string, unknown>) => void): StateObservation => {
  const body = structuredClone(o.response.body) as Record<string, unknown>;
  change(body);
  return { ...o, response: { ...o.response, body } };
};

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

export const stateChecks: ReadonlyArray<StateCheck> = [stateResponseWellFormed, stateIdsResponseWellFormed];
