/**
 * The candidate as joiner, before any state arrives: it must check the make_join template it is
 * handed before signing it (MJ-01), discard a template that fails those checks (MJ-02; trying
 * another resident is then allowed, not required), and send the signed join to the resident whose
 * template it signed (MJ-07).
 */
import { defineCheck } from './define.ts';
import type { Check, Evaluation } from './types.ts';

/** One make_join or send_join request the candidate made to a suite server, in arrival order. */
export interface JoinerMembershipRequest {
  route: 'make_join' | 'send_join';
  /** The suite server it was sent to. */
  to: string;
  /** The HTTP status the suite answered. */
  status?: number;
  /** send_join: the event sent. */
  event?: Record<string, unknown>;
}

export interface JoinerMakeJoinObservation {
  roomId: string;
  /** The candidate's user who joined. */
  userId: string;
  /** The server whose template was broken on purpose, and how. */
  tampered: { server: string; fault: 'room_id' | 'sender' | 'membership' };
  /** The other servers offered in `via`, answering honestly. */
  honest: string[];
  requests: JoinerMembershipRequest[];
  /** The client API's answer to /join. */
  joinStatus: number;
}

type JoinerCheck = Check<JoinerMakeJoinObservation>;

/** Why `event` is not a join of `userId` to `roomId` (empty when it is one). */
function templateFaults(o: JoinerMakeJoinObservation, event: Record<string, unknown> | undefined): string[] {
  if (!event) return ['no event'];
  const content = event.content as Record<string, unknown> | undefined;
  const faults: string[] = [];
  if (event.room_id !== o.roomId) faults.push(`room_id ${JSON.stringify(event.room_id)}`);
  if (event.sender !== o.userId || event.state_key !== o.userId) faults.push(`sender/state_key ${JSON.stringify(event.sender)}/${JSON.stringify(event.state_key)}`);
  if (event.type !== 'm.room.member' || content?.membership !== 'join') faults.push(`${JSON.stringify(event.type)} with membership ${JSON.stringify(content?.membership)}`);
  return faults;
}

const withRequests = (o: JoinerMakeJoinObservation, requests: JoinerMembershipRequest[]): JoinerMakeJoinObservation => ({ ...o, requests });

export const templateCheckedBeforeSigning: JoinerCheck = defineCheck({
  id: 'joiner/make-join-template-checked',
  requirement: 'MJ-01',
  title: 'the joiner never signs and sends a make_join template that is not a join of its user to the asked room',
  evaluate(o): Evaluation {
    const sent = o.requests.filter((r) => r.route === 'send_join');
    const bad = sent.map((r) => ({ to: r.to, faults: templateFaults(o, r.event) })).filter((r) => r.faults.length);
    if (bad.length === 0) return { ok: true };
    return {
      ok: false,
      reason: bad.map((r) => `send_join to ${r.to} carried a join with ${r.faults.join(', ')}`).join('; '),
      expected: `every send_join carries a join of ${o.userId} to ${o.roomId} (the ${o.tampered.fault} of ${o.tampered.server}'s template was wrong and must be refused)`,
      observed: sent,
    };
  },
  controls: [
    {
      name: 'the tampered template signed and sent',
      mutate: (o) =>
        withRequests(o, [
          ...o.requests,
          { route: 'send_join', to: o.tampered.server, status: 200, event: { type: 'm.room.member', room_id: '!elsewhere:tampered.example', sender: o.userId, state_key: o.userId, content: { membership: 'join' } } },
        ]),
    },
    { name: 'a leave sent as the join', mutate: (o) => withRequests(o, [...o.requests, { route: 'send_join', to: o.honest[0], status: 200, event: { type: 'm.room.member', room_id: o.roomId, sender: o.userId, state_key: o.userId, content: { membership: 'leave' } } }]) },
  ],
});

export const badTemplateDiscarded: JoinerCheck = defineCheck({
  id: 'joiner/bad-make-join-template-discarded',
  requirement: 'MJ-02',
  title: 'a make_join template that fails those checks is discarded: no join built from it is sent (not even a corrected one)',
  evaluate(o): Evaluation {
    const first = o.requests.findIndex((r) => r.route === 'make_join' && r.to === o.tampered.server && r.status === 200);
    if (first < 0) return { notApplicable: `the candidate did not get ${o.tampered.server}'s bad template` };
    // A join is sent to the server whose template it was built from (MJ-07): one sent to the
    // tampered server after its template, before any other template, was built from the bad one.
    const used = o.requests.slice(first + 1).find((r, i, later) => r.route === 'send_join' && r.to === o.tampered.server && !later.slice(0, i).some((m) => m.route === 'make_join' && m.to !== o.tampered.server));
    if (!used) return { ok: true };
    const faults = templateFaults(o, used.event);
    return {
      ok: false,
      reason: faults.length
        ? `the bad template (${o.tampered.fault}) was signed and sent back to ${o.tampered.server} with ${faults.join(', ')}`
        : `the bad template (${o.tampered.fault}) was corrected and used: a join built from it went back to ${o.tampered.server}, where the template must be discarded as malformed`,
      expected: `no send_join built from ${o.tampered.server}'s template; trying another resident is allowed (a MAY)`,
      observed: o.requests.map((r) => `${r.route} -> ${r.to}: ${r.status ?? 'no answer'}`),
    };
  },
  controls: [
    {
      name: 'a corrected join sent back to the tampered server',
      mutate: (o) =>
        withRequests(o, [
          o.requests[0],
          { route: 'send_join', to: o.tampered.server, status: 200, event: { type: 'm.room.member', room_id: o.roomId, sender: o.userId, state_key: o.userId, content: { membership: 'join' } } },
        ]),
    },
  ],
});

export const sendJoinToTemplateServer: JoinerCheck = defineCheck({
  id: 'joiner/send-join-to-template-server',
  requirement: 'MJ-07',
  title: 'the signed join goes to the resident that handed out its template',
  evaluate(o): Evaluation {
    const sent = o.requests.filter((r) => r.route === 'send_join');
    if (sent.length === 0) return { notApplicable: 'the candidate sent no send_join to the suite' };
    const wrong = o.requests.flatMap((r, i) => {
      if (r.route !== 'send_join') return [];
      const lastTemplate = o.requests.slice(0, i).filter((m) => m.route === 'make_join' && m.status === 200).at(-1);
      return lastTemplate?.to === r.to ? [] : [`send_join to ${r.to} after the template of ${lastTemplate?.to ?? 'no server'}`];
    });
    if (wrong.length === 0) return { ok: true };
    return { ok: false, reason: wrong.join('; '), expected: 'each send_join sent to the server whose make_join answered last', observed: o.requests.map((r) => `${r.route} -> ${r.to}`) };
  },
  controls: [
    {
      name: 'send_join to a server that gave no template',
      mutate: (o) => withRequests(o, o.requests.map((r) => (r.route === 'send_join' ? { ...r, to: 'elsewhere.example' } : r))),
    },
  ],
});

export interface SendJoinErrorObservation {
  /** What the only resident answered to send_join. */
  sendJoin: { status: number; errcode: string };
  /** What the candidate answered its client's /join. */
  client: { status: number; errcode?: string };
}

/** Errors the joining server must not pass on as they are: the fault would be its own. */
const OWN_FAULT = ['M_MISSING_PARAM', 'M_INVALID_PARAM'];

export const sendJoinErrorPassedOn: Check<SendJoinErrorObservation> = defineCheck({
  id: 'joiner/send-join-400-passed-on',
  requirement: 'SJ-25',
  title: 'a send_join 400 reaches the client as it came, except M_MISSING_PARAM and M_INVALID_PARAM, which fail the client request with a 5xx',
  evaluate(o): Evaluation {
    if (o.sendJoin.status !== 400) return { notApplicable: `send_join was answered ${o.sendJoin.status}, not 400` };
    const ownFault = OWN_FAULT.includes(o.sendJoin.errcode);
    const ok = ownFault ? o.client.status >= 500 && o.client.status < 600 : o.client.status === 400 && o.client.errcode === o.sendJoin.errcode;
    if (ok) return { ok: true };
    return {
      ok: false,
      reason: `send_join answered 400 ${o.sendJoin.errcode}; the client's /join got HTTP ${o.client.status}${o.client.errcode ? ` ${o.client.errcode}` : ''}`,
      expected: ownFault ? 'a 5xx to the client: an invalid join is the joining server\'s own fault' : `HTTP 400 ${o.sendJoin.errcode} to the client`,
      observed: o,
    };
  },
  controls: [
    {
      name: 'handled the other way round',
      mutate: (o) => ({ ...o, client: OWN_FAULT.includes(o.sendJoin.errcode) ? { status: 400, errcode: o.sendJoin.errcode } : { status: 502, errcode: 'M_UNKNOWN' } }),
    },
    { name: 'the join reported as done', mutate: (o) => ({ ...o, client: { status: 200 } }) },
  ],
});

export interface TemplateOriginObservation {
  candidateServer: string;
  /** The stale values the template carried. */
  template: { origin: string; origin_server_ts: number };
  /** When the candidate's user asked to join, and when send_join arrived (ms since the epoch). */
  window: { from: number; to: number };
  /** The join the candidate sent, or undefined if none arrived. */
  sent?: Record<string, unknown>;
}

/** Slack around the join's window for the clocks of the candidate and the suite. */
const CLOCK_SLACK_MS = 60_000;

export const templateOriginReplaced: Check<TemplateOriginObservation> = defineCheck({
  id: 'joiner/template-origin-replaced',
  requirement: 'MJ-06',
  title: 'the joiner replaces the template\'s origin and origin_server_ts with its own before signing',
  evaluate(o): Evaluation {
    if (!o.sent) return { notApplicable: 'the candidate sent no join' };
    const ts = o.sent.origin_server_ts;
    const wrong: string[] = [];
    if (typeof ts !== 'number' || ts < o.window.from - CLOCK_SLACK_MS || ts > o.window.to + CLOCK_SLACK_MS) wrong.push(`origin_server_ts ${JSON.stringify(ts)} is not the time of the join${ts === o.template.origin_server_ts ? ' (the template\'s, kept)' : ''}`);
    if ('origin' in o.sent && o.sent.origin !== o.candidateServer) wrong.push(`origin ${JSON.stringify(o.sent.origin)} is not ${o.candidateServer}${o.sent.origin === o.template.origin ? ' (the template\'s, kept)' : ''}`);
    if (wrong.length === 0) return { ok: true };
    return { ok: false, reason: wrong.join('; '), expected: `origin_server_ts within a minute of the join (${new Date(o.window.from).toISOString()}) and origin, if present, ${o.candidateServer}`, observed: { origin: o.sent.origin, origin_server_ts: ts } };
  },
  controls: [
    { name: 'the template\'s timestamp kept', mutate: (o) => ({ ...o, sent: { ...o.sent, origin_server_ts: o.template.origin_server_ts } }) },
    { name: 'the template\'s origin kept', mutate: (o) => ({ ...o, sent: { ...o.sent, origin: o.template.origin } }) },
  ],
});

export const joinerMakeJoinChecks = {
  'joiner-make-join': [templateCheckedBeforeSigning, badTemplateDiscarded, sendJoinToTemplateServer],
  'joiner-send-join-error': [sendJoinErrorPassedOn],
  'joiner-template-origin': [templateOriginReplaced],
} as const;

/** A passing observation for the self-test: A's template had the wrong room, B's was used. */
export function joinerMakeJoinPassingObservations(): Array<{ name: string; kind: string; observation: unknown }> {
  const roomId = '!room:a.test';
  const userId = '@joiner:candidate.test';
  const observation: JoinerMakeJoinObservation = {
    roomId,
    userId,
    tampered: { server: 'a.test', fault: 'room_id' },
    honest: ['b.test'],
    requests: [
      { route: 'make_join', to: 'a.test', status: 200 },
      { route: 'make_join', to: 'b.test', status: 200 },
      { route: 'send_join', to: 'b.test', status: 200, event: { type: 'm.room.member', room_id: roomId, sender: userId, state_key: userId, content: { membership: 'join' } } },
    ],
    joinStatus: 200,
  };
  return [
    { name: 'joined through B after A\'s template named another room', kind: 'joiner-make-join', observation },
    { name: 'a send_join refusal passed on', kind: 'joiner-send-join-error', observation: { sendJoin: { status: 400, errcode: 'M_UNABLE_TO_AUTHORISE_JOIN' }, client: { status: 400, errcode: 'M_UNABLE_TO_AUTHORISE_JOIN' } } },
    {
      name: 'a join with its own origin and time',
      kind: 'joiner-template-origin',
      observation: {
        candidateServer: 'candidate.test',
        template: { origin: 'stale.example', origin_server_ts: 1 },
        window: { from: 1_790_000_000_000, to: 1_790_000_001_000 },
        sent: { type: 'm.room.member', origin: 'candidate.test', origin_server_ts: 1_790_000_000_500 },
      } satisfies TemplateOriginObservation,
    },
    { name: 'an invalid-parameter send_join turned into a 502', kind: 'joiner-send-join-error', observation: { sendJoin: { status: 400, errcode: 'M_INVALID_PARAM' }, client: { status: 502, errcode: 'M_UNKNOWN' } } },
  ];
}
