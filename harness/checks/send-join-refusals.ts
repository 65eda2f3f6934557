/**
 * Resident-side checks over a send_join whose join event is invalid on purpose (SJ-01 to SJ-06):
 * any 4xx refusal meets the MUST; 400 M_INVALID_PARAM is what the spec recommends for each fault.
 */
import { defineCheck, errcodeOfBody } from './define.ts';
import type { InvalidJoinFault, SendJoinObservation } from './send-join-observation.ts';
import type { Check, Evaluation } from './types.ts';

type SendJoinCheck = Check<SendJoinObservation>;

const answered = (o: SendJoinObservation) =>
  o.response.status === 0 ? 'with no answer: the candidate closed the connection' : `HTTP ${o.response.status}${errcodeOfBody(o.response.body) ? ` ${String(errcodeOfBody(o.response.body))}` : ''}`;

export const invalidJoinRefused: SendJoinCheck = defineCheck({
  id: 'send-join/invalid-join-refused',
  requirement: 'SJ-01',
  title: 'a join event that is invalid (or for an unknown room) is refused with a 4xx answer',
  evaluate(o): Evaluation {
    const fault = o.request.invalidJoin;
    if (!fault) return { notApplicable: 'the join event was not made invalid' };
    if (o.response.status >= 400 && o.response.status < 500) return { ok: true };
    return {
      ok: false,
      reason: `a join with fault "${fault}" was answered ${answered(o)}${o.response.status === 200 ? ': the candidate accepted it' : ''}`,
      expected: 'an HTTP 4xx refusal (400 M_INVALID_PARAM recommended)',
      observed: { status: o.response.status, body: o.response.body },
    };
  },
  controls: [
    { name: 'accepted with 200', mutate: (o) => ({ ...o, response: { status: 200, body: { state: [], auth_chain: [] } } }) },
    { name: 'a server error', mutate: (o) => ({ ...o, response: { status: 500, body: { errcode: 'M_UNKNOWN' } } }) },
    { name: 'the connection closed without an answer', mutate: (o) => ({ ...o, response: { status: 0, body: '(no answer: other side closed)' } }) },
  ],
});

/** The exact refusal a fault calls for: HTTP status, errcode, and the fault in words. */
interface DueRefusal {
  status: number;
  errcode: string;
  what: string;
}

const respond = (status: number, body: Record<string, unknown>) => (o: SendJoinObservation): SendJoinObservation => ({ ...o, response: { status, body } });
const accepted = { name: 'accepted with 200', mutate: respond(200, { state: [], auth_chain: [] }) };

/** A check that the join faults in `due` are refused with exactly their status and errcode. */
function refusedWith(check: { id: string; requirement: string; title: string; due: Partial<Record<InvalidJoinFault, DueRefusal>>; controls: SendJoinCheck['controls'] }): SendJoinCheck {
  return defineCheck({
    id: check.id,
    requirement: check.requirement,
    title: check.title,
    evaluate(o): Evaluation {
      const fault = o.request.invalidJoin;
      const due = fault && check.due[fault];
      if (!due) return { notApplicable: `the join was not made invalid by ${Object.keys(check.due).map((f) => `"${f}"`).join(' or ')}` };
      if (o.response.status === due.status && errcodeOfBody(o.response.body) === due.errcode) return { ok: true };
      return {
        ok: false,
        reason: `a join whose ${due.what} was answered ${answered(o)}${o.response.status === 200 ? ': the candidate accepted it' : ''}`,
        expected: `HTTP ${due.status} with errcode ${due.errcode}`,
        observed: { status: o.response.status, body: o.response.body },
      };
    },
    controls: check.controls,
  });
}

/** The SHOULD of one fault: 400 M_INVALID_PARAM. */
function refusedAsInvalidParam(fault: InvalidJoinFault, requirement: string, what: string): SendJoinCheck {
  return refusedWith({
    id: `send-join/${fault}-refused-invalid-param`,
    requirement,
    title: `a join whose ${what} is refused with 400 M_INVALID_PARAM`,
    due: { [fault]: { status: 400, errcode: 'M_INVALID_PARAM', what } },
    controls: [
      { name: 'refused 403 M_FORBIDDEN', mutate: respond(403, { errcode: 'M_FORBIDDEN', error: 'no' }) },
      { name: 'refused 400 M_BAD_JSON', mutate: respond(400, { errcode: 'M_BAD_JSON', error: 'no' }) },
    ],
  });
}

export const notPermittedRefusedForbidden: SendJoinCheck = refusedWith({
  id: 'send-join/not-permitted-refused-forbidden',
  requirement: 'SJ-24',
  title: 'a join the room does not permit (invite-only, no invite) is refused with 403 M_FORBIDDEN',
  due: { 'not-permitted': { status: 403, errcode: 'M_FORBIDDEN', what: "room's join rules forbid it" } },
  controls: [
    accepted,
    { name: 'refused 400 M_INVALID_PARAM', mutate: respond(400, { errcode: 'M_INVALID_PARAM', error: 'no' }) },
    { name: 'refused 403 without errcode', mutate: respond(403, { error: 'no' }) },
  ],
});

export const restrictedJoinRefusals: SendJoinCheck = refusedWith({
  id: 'send-join/restricted-refusal-errcodes',
  requirement: 'SJ-23',
  title: 'a restricted join is refused with 400 M_UNABLE_TO_AUTHORISE_JOIN when no allow condition can be checked, 403 M_FORBIDDEN when all fail',
  due: {
    'restricted-unverifiable': { status: 400, errcode: 'M_UNABLE_TO_AUTHORISE_JOIN', what: 'allowed rooms the resident is in none of (restricted)' },
    'restricted-not-allowed': { status: 403, errcode: 'M_FORBIDDEN', what: 'user is in none of the allowed rooms (restricted)' },
  },
  controls: [
    accepted,
    { name: 'the other refusal', mutate: (o) => respond(o.response.status === 403 ? 400 : 403, { errcode: o.response.status === 403 ? 'M_UNABLE_TO_AUTHORISE_JOIN' : 'M_FORBIDDEN' })(o) },
  ],
});

export const sendJoinRefusalChecks: ReadonlyArray<SendJoinCheck> = [
  invalidJoinRefused,
  refusedAsInvalidParam('bad-signature', 'SJ-02', 'signature does not verify'),
  refusedAsInvalidParam('wrong-type', 'SJ-03', 'type is not m.room.member'),
  refusedAsInvalidParam('not-join', 'SJ-04', 'membership is not "join"'),
  refusedAsInvalidParam('foreign-sender', 'SJ-05', 'sender is not a user of the origin server'),
  refusedAsInvalidParam('state-key-mismatch', 'SJ-06', 'state_key differs from its sender'),
  notPermittedRefusedForbidden,
  restrictedJoinRefusals,
];
