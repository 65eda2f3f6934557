/**
 * Server ACLs across a partial join. The room has an `m.room.server_acl` before the candidate joins
 * (non-member state, so it comes with the partial state); during the resync the room's admin
 * changes it to deny one of the room's servers. Once the resync is over, the candidate must apply
 * the current ACL (spec, Server ACLs, SJ-26): the denied server gets 403 M_FORBIDDEN from the
 * room's federation endpoints, and a PDU it sends in a transaction is ignored, with an error for
 * it in the answer, and never reaches the candidate's clients. A server the ACL allows still reads
 * the room, so the refusal is about the ACL and nothing else.
 */
import { test, expect } from '../../harness/fixtures.ts';
import { judge } from '../../harness/checks/judge.ts';
import { serverAclEnforced } from '../../harness/checks/federation-api.ts';
import { serverAclAppliedToPdus } from '../../harness/checks/partial-state.ts';
import type { PDU } from '../../harness/matrix/index.ts';
import { FederationClient } from '../../harness/remote/client.ts';
import { partialJoin } from '../../harness/joining/partial-join.ts';
import { ANSWER_WITHIN_MS, seenInLazySync, servedToClient } from '../../harness/joining/resync-observe.ts';

/** ACLs name hosts without the port; each of the suite's servers has a loopback address of its own. */
const hostOf = (serverName: string) => serverName.slice(0, serverName.lastIndexOf(':'));
const enc = encodeURIComponent;

test.describe('joining: server ACLs across the resync', () => {
  test('an ACL changed during the resync to deny a server of the room is applied once resynced: its requests and its PDUs are refused', { tag: ['@SJ-26', '@must'] }, async ({ candidate, client, remote }, testInfo) => {
    const join = await partialJoin(
      { candidate, remote, joiner: client },
      {
        members: 5,
        servers: 2,
        name: 'a room with a server ACL',
        // In place before the join, so it is part of the (partial) state the candidate receives.
        beforeJoin: ({ remote: r, room }) => void room.setState(r.userId('alice'), 'm.room.server_acl', '', { allow: ['*'], deny: ['denied-before.invalid'], allow_ip_literals: true }),
      },
    );
    const [allowed, denied] = join.bystanders;
    if (join.partial) await join.awaitResyncStarted();
    const creator = join.remoteMembers[0];
    const aclChange = join.room.setState(creator, 'm.room.server_acl', '', { allow: ['*'], deny: [hostOf(denied.serverName)], allow_ip_literals: true });
    await test.step(`the admin denies ${hostOf(denied.serverName)} ${join.partial ? 'during the resync' : 'after the join'}`, () => join.pushEvents([aclChange]));
    join.releaseResync();
    await test.step('the resync completes: an eager /sync shows every member', () => join.awaitResyncComplete());
    expect(await seenInLazySync(client, join.roomId, aclChange), `the ACL change ${aclChange} in a lazy-loading /sync`).toBe(true);

    const last = aclChange;
    const asks: Array<[string, string, { body?: unknown }?]> = [
      ['GET', `/_matrix/federation/v1/state_ids/${enc(join.roomId)}?event_id=${enc(last)}`],
      ['GET', `/_matrix/federation/v1/state/${enc(join.roomId)}?event_id=${enc(last)}`],
      ['GET', `/_matrix/federation/v1/event_auth/${enc(join.roomId)}/${enc(last)}`],
      ['GET', `/_matrix/federation/v1/backfill/${enc(join.roomId)}?v=${enc(last)}&limit=5`],
    ];
    const deniedClient = new FederationClient(denied.serverName, denied.key);
    for (const [method, path, opts] of asks) {
      const res = await deniedClient.request(method, candidate.serverName, path, opts ?? {});
      judge(testInfo, serverAclEnforced, { case: 'server-acl-denied', request: { method, path }, response: { status: res.status, body: res.body ?? res.raw } });
    }
    // The ACL denies one server, not everyone: a server it allows still reads the room.
    const control = await new FederationClient(allowed.serverName, allowed.key).request('GET', candidate.serverName, asks[0][1]);
    if (control.status !== 200) throw new Error(`a server the ACL allows got HTTP ${control.status} from /state_ids: the scenario shows nothing about the ACL (${control.raw.slice(0, 200)})`);

    // A message from the denied server's member, kept out of the remote's DAG (an outlier), so that
    // no later event cites it and no allowed server can hand it over.
    const sender = join.remoteMembers.find((u) => u.endsWith(`:${denied.serverName}`));
    if (!sender) throw new Error(`no member of ${denied.serverName} in the room (members: ${join.remoteMembers.join(', ')})`);
    const fromDenied = join.room.forge({ type: 'm.room.message', sender, content: { msgtype: 'm.text', body: 'from a denied server' }, outlier: true }).eventId;
    const answer = await deniedClient.send(candidate.serverName, { pdus: [join.room.mustEvent(fromDenied) as PDU] });
    const result = (answer.body as { pdus?: Record<string, { error?: unknown }> } | undefined)?.pdus?.[fromDenied];
    testInfo.annotations.push({ type: 'lazyjoin-observed', description: `transaction from the denied server: HTTP ${answer.status} ${answer.raw.slice(0, 300)}` });
    // A later message from an allowed server bounds the wait: once it shows, the denied one had its chance.
    const sentinel = await join.sendFromRemote(creator, 'sentinel after the denied server\'s message');
    expect(await seenInLazySync(client, join.roomId, sentinel, ANSWER_WITHIN_MS), `the sentinel ${sentinel} in a lazy-loading /sync`).toBe(true);
    const served = await servedToClient(join, fromDenied);
    judge(testInfo, serverAclAppliedToPdus, {
      request: { scenario: `a message sent by ${denied.serverName}, which the room's ACL denies since ${join.partial ? 'the resync' : 'after the join'}` },
      facts: [
        { fact: 'the transaction is answered 200 with an error for the PDU', expected: true, observed: answer.status === 200 && typeof result?.error === 'string' },
        { fact: `${fromDenied} served to the client`, expected: false, observed: served.served },
      ],
    });
  });
});
