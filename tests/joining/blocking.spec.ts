/**
 * Client APIs while the candidate's state of a joined room is partial (MSC3902 "Handling client
 * requests", JS-08): requests that need the remote members wait for the resync and then answer
 * with the whole membership; requests that need only non-member state or the local user's own
 * membership answer at once: the partial-state profile, judged for a candidate that asked for
 * partial state. Whatever a member list says once it answers is judged at MUST against the
 * remote's truth (CD-01), during the resync or after it.
 */
import { test } from '../../harness/fixtures.ts';
import { inCoreRoomVersions } from '../../harness/joining/room-versions.ts';
import { judge, recordInformational } from '../../harness/checks/judge.ts';
import { memberListEqualsTruth } from '../../harness/checks/client-data.ts';
import { clientOperationsWorkWhilePartial, localRequestsAnswerAtOnce, remoteMemberRequestsWait } from '../../harness/checks/partial-state.ts';
import type { ApiResult, CandidateClient } from '../../harness/client/client.ts';
import type { ClientEvent } from '../../harness/client/types.ts';
import { partialJoin, RESYNC_WITHIN_MS, settlesWithin, withBound } from '../../harness/joining/partial-join.ts';

/** How long a request may stay unanswered before we call it blocked (loopback answers take milliseconds). */
const BLOCKED_FOR_MS = 1_500;
/** Bound on a request expected not to wait for the resync. */
const ANSWERS_WITHIN_MS = 5_000;

/** Users with membership `join` in a list of member events. */
function joinedIn(events: ClientEvent[]): string[] {
  return events.filter((e) => e.type === 'm.room.member' && e.content.membership === 'join').map((e) => e.state_key!).sort();
}

const blockingRequests: Array<{ name: string; complement?: string; call: (c: CandidateClient, roomId: string, at: string) => Promise<ApiResult<unknown>>; joined: (body: unknown) => string[] }> = [
  { name: 'GET /members', call: (c, roomId) => c.members(roomId, { timeoutMs: RESYNC_WITHIN_MS + 10_000 }), joined: (b) => joinedIn((b as { chunk: ClientEvent[] }).chunk) },
  { name: 'GET /members?at=<sync token>', complement: '@complement-22', call: (c, roomId, at) => c.members(roomId, { at, timeoutMs: RESYNC_WITHIN_MS + 10_000 }), joined: (b) => joinedIn((b as { chunk: ClientEvent[] }).chunk) },
  { name: 'GET /joined_members', complement: '@complement-23', call: (c, roomId) => c.joinedMembers(roomId, { timeoutMs: RESYNC_WITHIN_MS + 10_000 }), joined: (b) => Object.keys((b as { joined: object }).joined).sort() },
  { name: 'GET /state', call: (c, roomId) => c.state(roomId, { timeoutMs: RESYNC_WITHIN_MS + 10_000 }), joined: (b) => joinedIn(b as ClientEvent[]) },
];

inCoreRoomVersions(() => test.describe('joining: client requests during the resync', () => {
  for (const request of blockingRequests) {
    test(`${request.name} waits for the resync, then lists every joined member`, { tag: ['@JS-08', '@C-7', '@CD-01', '@msc-only', ...(request.complement ? [request.complement] : [])] }, async ({ candidate, client, remote }, testInfo) => {
      const join = await partialJoin({ candidate, remote, joiner: client }, { members: 6, servers: 2 });
      const truth = [...join.remoteMembers, client.userId].sort();
      if (!join.partial) {
        join.notPartial(testInfo, request.name.startsWith('GET /members') ? ['JS-08', 'C-7'] : ['JS-08']);
        // A full join: the request answers with every member straight away.
        const at = (await client.sync({ filter: { room: { timeline: { limit: 1 } } } })).ok().next_batch;
        const full = await request.call(client, join.roomId, at);
        judge(testInfo, memberListEqualsTruth, { request: { api: request.name, roomId: join.roomId, duringResync: false }, response: { status: full.status, ...(full.status === 200 ? { joined: request.joined(full.body) } : {}) }, truth: { joined: truth } });
        return;
      }
      await join.awaitResyncStarted();
      const at = (await client.sync({ filter: { room: { timeline: { limit: 1 } } } })).ok().next_batch;
      const pending = request.call(client, join.roomId, at);
      const answeredEarly = await test.step(`${request.name} has not answered after ${BLOCKED_FOR_MS} ms with the resync held`, () => settlesWithin(pending, BLOCKED_FOR_MS));
      const early = answeredEarly ? await pending : undefined;
      judge(testInfo, remoteMemberRequestsWait, { request: { operation: request.name, needsRemoteMembers: true, heldForMs: BLOCKED_FOR_MS }, response: { answeredWhileHeld: answeredEarly, ...(early ? { status: early.status } : {}) } });
      // MSC2775 (C-7) names /members among the operations that wait for the full state.
      if (request.name.startsWith('GET /members')) recordInformational(testInfo, 'C-7', !answeredEarly, { answeredWhileHeld: answeredEarly }, `${request.name} waits for the resync`);
      join.releaseResync();
      const result = await withBound(pending, RESYNC_WITHIN_MS + 10_000, `the answer to ${request.name} after the resync was released`);
      // Whenever it answered, during the resync or after it, the list must be the room's (a MUST of the spec).
      judge(testInfo, memberListEqualsTruth, {
        request: { api: request.name, roomId: join.roomId, duringResync: answeredEarly },
        response: { status: result.status, ...(result.status === 200 ? { joined: request.joined(result.body) } : {}) },
        truth: { joined: truth },
      });
    });
  }

  test('sending, receipts, aliases, display names and single non-member state answer without waiting for the resync', { tag: ['@complement-6', '@complement-7', '@complement-35', '@complement-36', '@JS-08', '@msc-only'] }, async ({ candidate, client, remote }, testInfo) => {
    const join = await partialJoin({ candidate, remote, joiner: client }, { members: 4, servers: 1, name: 'room with a topic' });
    if (join.notPartial(testInfo, ['JS-08'])) return;
    await join.awaitResyncStarted();
    const localpart = `partial-${Date.now().toString(36)}`;
    const alias = `#${localpart}:${candidate.serverName}`;
    const secondAlias = `#${localpart}-2:${candidate.serverName}`;
    const messageId = (await client.sendMessage(join.roomId, 'while partial')).ok().event_id;
    const operations: Array<{ name: string; run: () => Promise<ApiResult<unknown>> }> = [
      { name: 'send a message', run: () => client.sendMessage(join.roomId, 'another while partial') },
      { name: 'send a read receipt', run: () => client.receipt(join.roomId, messageId) },
      { name: 'create an alias', run: () => client.createAlias(alias, join.roomId) },
      { name: 'resolve the alias', run: () => client.resolveAlias(alias) },
      { name: 'create a second alias', run: () => client.createAlias(secondAlias, join.roomId) },
      { name: 'delete the second alias', run: () => client.call('DELETE', `/_matrix/client/v3/directory/room/${encodeURIComponent(secondAlias)}`) },
      { name: 'change the display name', run: () => client.setDisplayName('Partial Joiner') },
      { name: 'read m.room.name', run: () => client.stateEvent(join.roomId, 'm.room.name') },
      { name: "read the joiner's own membership", run: () => client.stateEvent(join.roomId, 'm.room.member', client.userId) },
    ];
    const outcomes: Record<string, string> = {};
    for (const op of operations) {
      const pending = op.run();
      const answered = await settlesWithin(pending, ANSWERS_WITHIN_MS);
      const status = answered ? (await pending).status : undefined;
      outcomes[op.name] = answered ? `HTTP ${status}` : `no answer within ${ANSWERS_WITHIN_MS} ms`;
      judge(testInfo, localRequestsAnswerAtOnce, { request: { operation: op.name, needsRemoteMembers: false, heldForMs: ANSWERS_WITHIN_MS }, response: { answeredWhileHeld: answered, ...(status !== undefined ? { status } : {}) } });
    }
    testInfo.annotations.push({ type: 'lazyjoin-observed', description: JSON.stringify(outcomes) });
    const resolved = (await client.resolveAlias(alias)).body as { servers?: string[] };
    judge(testInfo, clientOperationsWorkWhilePartial, {
      request: { scenario: 'an alias created while partial is resolved' },
      facts: [{ fact: `the remote ${remote.serverName} is among the alias's servers`, expected: true, observed: resolved.servers?.includes(remote.serverName) === true }],
    });
    join.releaseResync();
  });

  test('/messages answers during the resync with the history the join brought', { tag: ['@JS-08', '@msc-only'] }, async ({ candidate, client, remote }, testInfo) => {
    const join = await partialJoin({ candidate, remote, joiner: client }, { members: 3, servers: 1 });
    if (join.notPartial(testInfo, ['JS-08'])) return;
    await join.awaitResyncStarted();
    const message = await join.sendFromRemote(join.remoteMembers[1], 'history while partial');
    await client.waitForSync((s) => (s.rooms?.join?.[join.roomId]?.timeline?.events ?? []).some((e) => e.event_id === message), {
      filter: { room: { state: { lazy_load_members: true }, timeline: { lazy_load_members: true } } },
      timeoutMs: 20_000,
      description: `${message} in a lazy sync`,
    });
    const pending = client.messages(join.roomId, { dir: 'b', limit: 10 });
    const answered = await settlesWithin(pending, ANSWERS_WITHIN_MS);
    const chunk = answered ? ((await pending).body as { chunk?: ClientEvent[] }).chunk ?? [] : [];
    judge(testInfo, clientOperationsWorkWhilePartial, {
      request: { scenario: '/messages while partial' },
      facts: [
        { fact: `/messages answered within ${ANSWERS_WITHIN_MS} ms`, expected: true, observed: answered },
        { fact: `the message ${message} received while partial is in its chunk`, expected: true, observed: chunk.some((e) => e.event_id === message) },
      ],
    });
    testInfo.annotations.push({ type: 'lazyjoin-observed', description: `backfill requests while partial: ${remote.requests('backfill').length}` });
    join.releaseResync();
  });
}));
