/**
 * While its state of a room is partial, the candidate cannot act as a resident for it: it does
 * not know the membership needed to authorise joins and knocks. MSC3902 says such federation
 * requests are refused, with MSC3895's `M_UNABLE_DUE_TO_PARTIAL_STATE` (unstable:
 * `ORG.MATRIX.MSC3895_UNABLE_DUE_TO_PARTIAL_STATE`). A server that is not in the room asks the
 * candidate to let one of its users in, through each membership endpoint.
 */
import { test } from '../../harness/fixtures.ts';
import { inCoreRoomVersions } from '../../harness/joining/room-versions.ts';
import { judge } from '../../harness/checks/judge.ts';
import { ownEventRequestsAnswered, unauthorisableRequestRefusedWithCode } from '../../harness/checks/partial-state.ts';
import { eventId as computeEventId } from '../../harness/matrix/index.ts';
import { FederationClient, errcodeOf, type FederationResponse } from '../../harness/remote/client.ts';
import { partialJoin, type PartialJoin } from '../../harness/joining/partial-join.ts';


const seg = encodeURIComponent;

type Ask = (fed: FederationClient, candidate: string, join: PartialJoin, userId: string) => Promise<FederationResponse>;

/** A membership event of `userId` signed by its own server (a bystander of the remote), with its ID. */
function membershipEvent(join: PartialJoin, userId: string, membership: 'join' | 'knock') {
  const event = join.room.build({ type: 'm.room.member', stateKey: userId, sender: userId, content: { membership } });
  return { event, eventId: computeEventId(event, join.room.version) };
}

const requests: Array<{ name: string; complement: string; ask: Ask }> = [
  { name: 'make_join', complement: '@complement-31', ask: (fed, candidate, join, userId) => fed.makeJoin(candidate, join.roomId, userId, [join.room.version.id]) },
  {
    name: 'send_join',
    complement: '@complement-32',
    ask: (fed, candidate, join, userId) => {
      const { event, eventId } = membershipEvent(join, userId, 'join');
      return fed.sendJoin(candidate, join.roomId, eventId, event, 'full');
    },
  },
  {
    name: 'make_knock',
    complement: '@complement-33',
    ask: (fed, candidate, join, userId) =>
      fed.request('GET', candidate, `/_matrix/federation/v1/make_knock/${seg(join.roomId)}/${seg(userId)}`, { query: { ver: [join.room.version.id] } }),
  },
  {
    name: 'send_knock',
    complement: '@complement-34',
    ask: (fed, candidate, join, userId) => {
      const { event, eventId } = membershipEvent(join, userId, 'knock');
      return fed.request('PUT', candidate, `/_matrix/federation/v1/send_knock/${seg(join.roomId)}/${seg(eventId)}`, { body: event });
    },
  },
];

inCoreRoomVersions(() => test.describe('joining: resident duties refused while partial', () => {
  for (const { name, complement, ask } of requests) {
    test(`${name} from another server is refused while the state is partial`, { tag: [complement, '@JS-07', '@msc-only'] }, async ({ candidate, client, remote }, testInfo) => {
      const join = await partialJoin({ candidate, remote, joiner: client }, { members: 3, servers: 1 });
      if (join.notPartial(testInfo, ['JS-07'])) return;
      await join.awaitResyncStarted();
      // A server that was never in the room (added after the join, so not in servers_in_room).
      const stranger = await remote.addServer({ mode: 'serve' });
      const fed = new FederationClient(stranger.serverName, stranger.key);
      const res = await ask(fed, candidate.serverName, join, stranger.userId('newbie'));
      const observed = { status: res.status, errcode: errcodeOf(res) ?? null, body: res.raw.slice(0, 300) };
      testInfo.annotations.push({ type: 'lazyjoin-observed', description: `${name} while partial: ${JSON.stringify(observed)}` });
      const errcode = errcodeOf(res);
      judge(testInfo, unauthorisableRequestRefusedWithCode, { request: { route: name, aboutEventSentToRequester: false }, response: { status: res.status, ...(errcode ? { errcode } : {}), body: res.raw.slice(0, 300) } });
      join.releaseResync();
    });
  }

  test('reading the room is still answered while the state is partial: /event_auth and /get_missing_events of its own join', { tag: ['@JS-15', '@msc-only'] }, async ({ candidate, client, remote }, testInfo) => {
    const join = await partialJoin({ candidate, remote, joiner: client }, { members: 3, servers: 1 });
    if (join.notPartial(testInfo, ['JS-15'])) return;
    await join.awaitResyncStarted();
    // A member server (the remote itself) asks about the candidate's own join while the resync is held.
    const message = (await client.sendMessage(join.roomId, 'sent while partial')).ok().event_id as string;
    const auth = await remote.client.eventAuth(candidate.serverName, join.roomId, join.joinEventId);
    const missing = await remote.client.request('POST', candidate.serverName, `/_matrix/federation/v1/get_missing_events/${seg(join.roomId)}`, {
      body: { earliest_events: [join.joinEventId], latest_events: [message], limit: 10 },
    });
    const authChain = (auth.body as { auth_chain?: unknown[] } | undefined)?.auth_chain;
    const events = (missing.body as { events?: unknown[] } | undefined)?.events;
    const observed = { eventAuth: { status: auth.status, events: Array.isArray(authChain) ? authChain.length : null }, getMissingEvents: { status: missing.status, events: Array.isArray(events) ? events.length : null } };
    testInfo.annotations.push({ type: 'lazyjoin-observed', description: `while partial: ${JSON.stringify(observed)}` });
    const authErrcode = errcodeOf(auth);
    const missingErrcode = errcodeOf(missing);
    judge(testInfo, ownEventRequestsAnswered, { request: { route: 'GET /event_auth (its own join)', aboutEventSentToRequester: true }, response: { status: auth.status, ...(authErrcode ? { errcode: authErrcode } : {}), body: auth.body } });
    judge(testInfo, ownEventRequestsAnswered, { request: { route: 'POST /get_missing_events (its own message)', aboutEventSentToRequester: true }, response: { status: missing.status, ...(missingErrcode ? { errcode: missingErrcode } : {}), body: missing.body } });
    join.releaseResync();
  });
}));

