/**
 * The candidate as joiner, handed a bad make_join template: the room's own server answers make_join
 * with a template for another room, another user or a leave; a second resident (offered in `via`)
 * answers honestly. The candidate must not sign the bad template (MJ-01) and must discard it (MJ-02:
 * no join built from it, not even a corrected one), and sends each signed join to the resident that
 * handed out its template (MJ-07). Whether it then joins through the other resident (a MAY) is
 * recorded, not judged.
 */
import { test } from '../../harness/fixtures.ts';
import { judge } from '../../harness/checks/judge.ts';
import { joinerMakeJoinChecks, sendJoinErrorPassedOn, templateOriginReplaced, type JoinerMakeJoinObservation, type JoinerMembershipRequest } from '../../harness/checks/joiner-make-join.ts';
import { matrixError } from '../../harness/remote/routing.ts';
import { makeJoin, sendJoinHandler } from '../../harness/remote/routes/membership.ts';
import { judgeApplicable } from '../../harness/resident/observe.ts';

const FAULTS: Array<{ fault: JoinerMakeJoinObservation['tampered']['fault']; what: string; tamper: (event: Record<string, unknown>, ctx: { serverName: string; userId: string }) => void }> = [
  { fault: 'room_id', what: 'names another room', tamper: (e, ctx) => { e.room_id = `!another-room:${ctx.serverName}`; } },
  {
    fault: 'sender',
    what: 'is for another user of the candidate',
    tamper: (e, ctx) => {
      const other = ctx.userId.replace(/^@[^:]+/, '@someone-else');
      e.sender = other;
      e.state_key = other;
    },
  },
  { fault: 'membership', what: 'is a leave, not a join', tamper: (e) => { (e.content as Record<string, unknown>).membership = 'leave'; } },
];

test.describe('joining: a bad make_join template', () => {
  for (const { fault, what, tamper } of FAULTS) {
    test(`a template that ${what} is neither signed nor used`, { tag: ['@MJ-01', '@MJ-02', '@MJ-07', '@must'] }, async ({ client, remote }, testInfo) => {
      const other = await remote.addServer({ mode: 'serve' });
      const room = remote.createRoom({ joinRule: 'public', name: `bad template: ${fault}` });
      room.join(other.userId('bob'));
      remote.route('make_join', async (ctx) => {
        const response = await makeJoin(ctx);
        if (ctx.self.serverName !== remote.serverName || response.status !== 200) return response;
        const body = structuredClone(response.body) as { event: Record<string, unknown> };
        tamper(body.event, { serverName: remote.serverName, userId: ctx.params.userId });
        return { status: 200, body };
      });

      // Bounded by the client's call timeout; an answer of any status is what is judged.
      const joined = await client.join(room.roomId, { via: [remote.serverName, other.serverName] });
      const requests: JoinerMembershipRequest[] = [...remote.requests('make_join'), ...remote.requests('send_join')]
        .sort((a, b) => a.seq - b.seq)
        .map((r) => ({ route: r.route as 'make_join' | 'send_join', to: r.to, status: r.status, ...(r.route === 'send_join' ? { event: r.body as Record<string, unknown> } : {}) }));
      await testInfo.attach('make_join and send_join requests', { body: JSON.stringify({ joinStatus: joined.status, requests }, null, 2), contentType: 'application/json' });
      const fellBack = requests.some((r) => r.route === 'send_join' && r.to === other.serverName && r.status === 200);
      testInfo.annotations.push({ type: 'lazyjoin-observed', description: `after the bad template: ${fellBack ? `joined through ${other.serverName}` : 'did not join through the other resident'}; /join answered ${joined.status}` });
      judgeApplicable(testInfo, joinerMakeJoinChecks['joiner-make-join'], {
        roomId: room.roomId,
        userId: client.userId,
        tampered: { server: remote.serverName, fault },
        honest: [other.serverName],
        requests,
        joinStatus: joined.status,
      });
    });
  }
});

test.describe('joining: a send_join refused with 400', () => {
  for (const errcode of ['M_UNABLE_TO_AUTHORISE_JOIN', 'M_INVALID_PARAM']) {
    test(`send_join answered 400 ${errcode}: the client's /join ${errcode === 'M_INVALID_PARAM' ? 'fails with a 5xx' : 'gets the same 400'}`, { tag: ['@SJ-25', '@should'] }, async ({ client, remote }, testInfo) => {
      const room = remote.createRoom({ joinRule: 'public', name: `send_join refused: ${errcode}` });
      remote.route('send_join', () => matrixError(400, errcode, 'refused by the suite'));
      const joined = await client.join(room.roomId, { via: [remote.serverName] });
      const body = joined.body as { errcode?: unknown } | undefined;
      judge(testInfo, sendJoinErrorPassedOn, {
        sendJoin: { status: 400, errcode },
        client: { status: joined.status, ...(typeof body?.errcode === 'string' ? { errcode: body.errcode } : {}) },
      });
    });
  }
});

test('a template with a stale origin and origin_server_ts: the join carries the candidate\'s own', { tag: ['@MJ-06', '@must'] }, async ({ candidate, client, remote }, testInfo) => {
  const room = remote.createRoom({ joinRule: 'public', name: 'stale template fields' });
  const template = { origin: 'stale.example', origin_server_ts: 1 };
  remote.route('make_join', async (ctx) => {
    const response = await makeJoin(ctx);
    if (response.status !== 200) return response;
    const body = structuredClone(response.body) as { event: Record<string, unknown> };
    Object.assign(body.event, template);
    return { status: 200, body };
  });
  remote.route('send_join', sendJoinHandler({ ignoreOmitMembers: true }));
  const from = Date.now();
  const joined = await client.join(room.roomId, { via: [remote.serverName] });
  const sent = remote.requests('send_join').at(-1)?.body as Record<string, unknown> | undefined;
  testInfo.annotations.push({ type: 'lazyjoin-observed', description: `/join answered ${joined.status}` });
  judge(testInfo, templateOriginReplaced, { candidateServer: candidate.serverName, template, window: { from, to: Date.now() }, sent });
});
