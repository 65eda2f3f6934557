/**
 * Resident-side checks over a send_join whose join event is invalid on purpose (SJ-01 to SJ-06):
 * any 4xx refusal meets the MUST; 400 M_INVALID_PARAM is what the spec recommends for each fault.
 */
import { defineCheck, errcodeOfBody } from './define.ts';
import type { InvalidJoinFault, SendJoinObservation } from './send-join-observation.ts';
import type { Check, Evaluation } from './types.ts';

type SendJoinCheck = Check<SendJoinObservation>;

const answered = (o: SendJoinObservation) => `HTTP ${o.response.status}${errcodeOfBody(o.response.body) ? ` ${String(errcodeOfBody(o.response.body))}` : ''}`;

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
  ],
});

/** The SHOULD of one fault: 400 M_INVALID_PARAM. */
function refusedAsInvalidParam(fault: InvalidJoinFault, requirement: string, what: string): SendJoinCheck {
  return defineCheck({
    id: `send-join/${fault}-refused-invalid-param`,
    requirement,
    title: `a join whose ${what} is refused with 400 M_INVALID_PARAM`,
    evaluate(o): Evaluation {
      if (o.request.invalidJoin !== fault) return { notApplicable: `the join event was not made invalid by "${fault}"` };
      if (o.response.status === 400 && errcodeOfBody(o.response.body) === 'M_INVALID_PARAM') return { ok: true };
      return {
        ok: false,
        reason: `a join whose ${what} was answered ${answered(o)}`,
        expected: 'HTTP 400 with errcode M_INVALID_PARAM',
        observed: { status: o.response.status, body: o.response.body },
      };
    },
    controls: [
      { name: 'refused 403 M_FORBIDDEN', mutate: (o) => ({ ...o, response: { status: 403, body: { errcode: 'M_FORBIDDEN', error: 'no' } } }) },
      { name: 'refused 400 M_BAD_JSON', mutate: (o) => ({ ...o, response: { status: 400, body: { errcode: 'M_BAD_JSON', error: 'no' } } }) },
    ],
  });
}

export const notPermittedRefusedForbidden: SendJoinCheck = defineCheck({
  id: 'send-join/not-permitted-refused-forbidden',
  requirement: 'SJ-24',
  title: 'a join the room does not permit (invite-only, no invite) is refused with 403 M_FORBIDDEN',
  evaluate(o): Evaluation {
    if (o.request.invalidJoin !== 'not-permitted') return { notApplicable: 'the join was not one the room forbids' };
    if (o.response.status === 403 && errcodeOfBody(o.response.body) === 'M_FORBIDDEN') return { ok: true };
    return {
      ok: false,
      reason: `a join the room's join rules forbid was answered ${answered(o)}${o.response.status === 200 ? ': the candidate let the user in' : ''}`,
      expected: 'HTTP 403 with errcode M_FORBIDDEN',
      observed: { status: o.response.status, body: o.response.body },
    };
  },
  controls: [
    { name: 'accepted with 200', mutate: (o) => ({ ...o, response: { status: 200, body: { state: [], auth_chain: [] } } }) },
    { name: 'refused 400 M_INVALID_PARAM', mutate: (o) => ({ ...o, response: { status: 400, body: { errcode: 'M_INVALID_PARAM', error: 'no' } } }) },
    { name: 'refused 403 without errcode', mutate: (o) => ({ ...o, response: { status: 403, body: { error: 'no' } } }) },
  ],
});

export const restrictedJoinRefusals: SendJoinCheck = defineCheck({
  id: 'send-join/restricted-refusal-errcodes',
  requirement: 'SJ-23',
  title: 'a restricted join is refused with 400 M_UNABLE_TO_AUTHORISE_JOIN when no allow condition can be checked, 403 M_FORBIDDEN when all fail',
  evaluate(o): Evaluation {
    const fault = o.request.invalidJoin;
    if (fault !== 'restricted-unverifiable' && fault !== 'restricted-not-allowed') return { notApplicable: 'not a restricted join the resident must refuse' };
    const [status, errcode, why] = fault === 'restricted-unverifiable' ? [400, 'M_UNABLE_TO_AUTHORISE_JOIN', 'the resident is in none of the allowed rooms'] : [403, 'M_FORBIDDEN', 'the user is in none of the allowed rooms'];
    if (o.response.status === status && errcodeOfBody(o.response.body) === errcode) return { ok: true };
    return {
      ok: false,
      reason: `a restricted join (${why}) was answered ${answered(o)}${o.response.status === 200 ? ': the candidate let the user in' : ''}`,
      expected: `HTTP ${status} with errcode ${errcode}`,
      observed: { status: o.response.status, body: o.response.body },
    };
  },
  controls: [
    { name: 'accepted with 200', mutate: (o) => ({ ...o, response: { status: 200, body: { state: [], auth_chain: [] } } }) },
    { name: 'the other refusal', mutate: (o) => ({ ...o, response: o.response.status === 403 ? { status: 400, body: { errcode: 'M_UNABLE_TO_AUTHORISE_JOIN' } } : { status: 403, body: { errcode: 'M_FORBIDDEN' } } }) },
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
