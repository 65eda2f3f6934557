/**
 * The joining-side scenario: a room on a fresh scripted remote, the candidate's user joins it
 * through the client API, and the remote answers send_join with partial state (MSC3706) while it
 * holds the candidate's resync at gates until the test lets it go.
 *
 * ```ts
 * import { test, expect } from '../../harness/fixtures.ts';
 * import { partialJoin } from '../../harness/joining/partial-join.ts';
 *
 * test('...', async ({ candidate, client, remote }, testInfo) => {
 *   const join = await partialJoin({ candidate, remote, joiner: client }, { members: 6, servers: 2 });
 *   if (join.notPartial(testInfo, ['JS-09'])) return;     // Dendrite: recorded "not supported"
 *   await join.awaitResyncStarted(20_000);                 // the candidate's first /state_ids is held
 *   // ... observe the candidate while its state is partial ...
 *   join.releaseResync();
 *   await join.awaitResyncComplete();                      // bounded; proven by an eager /sync
 *   judge(testInfo, resyncFetchesStateAtJoin, join.observe());
 * });
 * ```
 *
 * What it builds: a public room (version, name or nameless, optional encryption) created by
 * `@alice` of the remote, with `members` more users joined, spread round-robin over the remote and
 * `servers` bystander servers (each serves federation like the remote, so any of them can answer
 * the resync). Gates are placed on the resync routes (`hold`, default /state_ids and /state)
 * before the join, so the candidate's first request on each is held.
 *
 * The candidate asks for partial state or not as it likes; `partial` says whether the answer
 * was partial (the remote honours `omit_members=true` and the unstable
 * `org.matrix.msc3706.partial_state=true`), `askedFor` what the candidate asked. When the answer
 * was full, nothing is held and `awaitResyncComplete` returns at once: partial-only tests call
 * `notPartial(testInfo, requirementIds)`, which records those requirements as "not supported".
 */
import type { TestInfo } from '@playwright/test';
import { join as joinPath } from 'node:path';
import type { Candidate } from '../candidates/types.ts';
import type { CandidateClient } from '../client/client.ts';
import type { ClientEvent, SyncFilter, SyncResponse } from '../client/types.ts';
import { recordNotSupported, recordPartialStateRequested } from '../checks/judge.ts';
import { currentTestInfo } from './test-info.ts';
import { fixtureOf, writeObservationFixture, type FixtureExpectation } from '../checks/fixtures.ts';
import type { PartialJoinObservation, ResyncRequest } from '../checks/joining-resync.ts';
import type { CheckOutcome } from '../checks/types.ts';
import { eventId as computeEventId, type PDU } from '../matrix/index.ts';
import type { Bystander, BystanderMode, Remote } from '../remote/remote.ts';
import type { Gate, HeldRequest } from '../remote/gates.ts';
import type { RequestRecord } from '../remote/log.ts';
import type { Room } from '../remote/room.ts';
import type { RouteName, RouteResponse } from '../remote/routing.ts';
import { sendJoinHandler, type SendJoinBehaviour } from '../remote/routes/membership.ts';
import { registerForAudit } from '../audit/fixture.ts';

/** Loopback federation takes milliseconds; this bounds a candidate's queues and retries. */
export const FEDERATION_WITHIN_MS = 20_000;
/** Bound on the whole resync once released (a few hundred events on loopback). */
export const RESYNC_WITHIN_MS = 30_000;
/** How long a client /join may take before we conclude it waits for the held resync. */
const JOIN_RETURNS_WITHIN_MS = 15_000;

/** Routes a resync may use; requests on them after the join are the observation's `resyncRequests`. */
const RESYNC_ROUTES = ['state', 'state_ids', 'event', 'event_auth', 'get_missing_events', 'backfill'] as const;

/** A filter with members lazy-loaded; an empty filter is "eager" (every member in state). */
export const LAZY_FILTER: SyncFilter = {
  room: { state: { lazy_load_members: true }, timeline: { lazy_load_members: true } },
};

export interface PartialJoinFixtures {
  candidate: Candidate;
  remote: Remote;
  /** The candidate's user who joins. */
  joiner: CandidateClient;
}

export interface PartialJoinOptions {
  /** Room version (default: the remote's, which the fixtures set to the test's room version). */
  version?: string;
  /** `m.room.name`; absent makes a nameless room (heroes are then sent with partial state). */
  name?: string;
  /** Users joined besides the creator `@alice` of the remote (default 4). */
  members?: number;
  /** Bystander servers the members are spread over, with the remote itself (default 1). */
  servers?: number;
  /** How bystanders answer federation requests (default 'serve': like the remote). */
  bystanderMode?: BystanderMode;
  /** Adds `m.room.encryption` (megolm) to the room. */
  encrypted?: boolean;
  /** Resync routes whose first request is held until `releaseResync()` (default /state_ids and /state). */
  hold?: RouteName[];
  /** How send_join misbehaves (default: answers truthfully). */
  sendJoin?: SendJoinBehaviour;
  /** The servers the client /join names, in order (default: the remote alone). */
  via?: (servers: { remote: string; bystanders: string[] }) => string[];
  /**
   * Scripts the remote and its bystanders once the room, the send_join route and the gates are in
   * place, just before the candidate joins (e.g. a server that answers make_join with an error).
   */
  beforeJoin?: (scene: { remote: Remote; room: Room; bystanders: readonly Bystander[] }) => void | Promise<void>;
}

export interface PartialJoin {
  readonly remote: Remote;
  readonly room: Room;
  readonly roomId: string;
  readonly bystanders: readonly Bystander[];
  /** The candidate's user who joined. */
  readonly joiner: CandidateClient;
  /** Joined remote users (creator first), spread over the remote and the bystanders. */
  readonly remoteMembers: readonly string[];
  /** The candidate's join event, as the remote stored it. */
  readonly joinEventId: string;
  /** The send_join request as the remote logged it (query, status, answer). */
  readonly sendJoinRecord: RequestRecord;
  /** What the candidate asked for: stable `omit_members` and unstable `org.matrix.msc3706.partial_state`, undefined when absent. */
  readonly askedFor: { omitMembers?: string; unstablePartialState?: string };
  /** Whether the send_join answer was partial (`members_omitted: true`). */
  readonly partial: boolean;
  /** `servers_in_room` of the answer (empty for a full answer). */
  readonly serversInRoom: readonly string[];
  /** Whether the client /join returned while the resync was still held (always true for full joins). */
  readonly joinReturnedDuringResync: boolean;
  /** The gates placed on the resync routes, by route. */
  readonly gates: ReadonlyMap<RouteName, Gate<RouteResponse>>;
  /**
   * For partial-only tests: when the join was not partial, records `requirementIds` as "not
   * supported" and returns true (the test then ends); otherwise returns false.
   */
  notPartial(testInfo: TestInfo, requirementIds: string[]): boolean;
  /** Resolves with the first resync request held by a gate; the error names the routes awaited. */
  awaitResyncStarted(withinMs?: number): Promise<HeldRequest>;
  /** Lets every held resync request through (and every later one). */
  releaseResync(): void;
  /**
   * Waits until the candidate shows the room with its full membership to an eager (not
   * lazy-loading) /sync: every member the remote counts as joined, the joiner included. Bounded;
   * the error names the members still missing. Returns the membership events seen.
   */
  awaitResyncComplete(withinMs?: number): Promise<Map<string, ClientEvent>>;
  /** Requests for state or events made after the join (remote and bystanders), in arrival order. */
  resyncRequests(): ResyncRequest[];
  /**
   * An event by a remote member, appended to the room and pushed to the candidate in a
   * transaction from the remote (as a resident relays). Returns its event ID.
   */
  sendFromRemote(sender: string, body: string): Promise<string>;
  /** Pushes events already in the room model to the candidate in one transaction. */
  pushEvents(eventIds: string[]): Promise<void>;
  /** The observation for the joining checks; `deliveries` are the candidate's events sent during the resync. */
  observe(opts?: { failingServers?: string[]; deliveries?: Array<{ eventId: string; receivedBy: string[] }> }): PartialJoinObservation;
  /** Leaves this room out of the end-of-test audit (harness/audit), for the reason given (shown in the report). */
  skipAudit(reason: string): void;
}

/** Builds the room, joins the candidate's user to it and returns the handles (see the file comment). */
export async function partialJoin(fx: PartialJoinFixtures, opts: PartialJoinOptions = {}): Promise<PartialJoin> {
  const { candidate, remote, joiner } = fx;
  const bystanders: Bystander[] = [];
  for (let i = 0; i < (opts.servers ?? 1); i++) bystanders.push(await remote.addServer({ mode: opts.bystanderMode ?? 'serve' }));
  const room = remote.createRoom({
    ...(opts.version ? { version: opts.version } : {}),
    joinRule: 'public',
    ...(opts.name !== undefined ? { name: opts.name } : {}),
    ...(opts.encrypted ? { state: [{ type: 'm.room.encryption', content: { algorithm: 'm.megolm.v1.aes-sha2' } }] } : {}),
  });
  const homes = [remote.userId.bind(remote), ...bystanders.map((b) => b.userId)];
  const remoteMembers = [remote.userId('alice')];
  for (let i = 0; i < (opts.members ?? 4); i++) {
    const userId = homes[i % homes.length](`member${i}`);
    room.join(userId);
    remoteMembers.push(userId);
  }

  // The answer to send_join is observed as it leaves the remote, not guessed from timing.
  let sendJoinAnswered!: () => void;
  const sendJoinDone = new Promise<void>((resolve) => (sendJoinAnswered = resolve));
  const answer = sendJoinHandler(opts.sendJoin ?? {});
  remote.route('send_join', async (ctx) => {
    const response = await answer(ctx);
    if (response.status === 200) sendJoinAnswered();
    return response;
  });
  const gates = new Map<RouteName, Gate<RouteResponse>>();
  for (const route of opts.hold ?? ['state_ids', 'state']) gates.set(route, remote.gate(route));
  const releaseResync = () => {
    for (const g of gates.values()) g.release();
  };

  await opts.beforeJoin?.({ remote, room, bystanders });
  const via = opts.via?.({ remote: remote.serverName, bystanders: bystanders.map((b) => b.serverName) }) ?? [remote.serverName];
  const joining = joiner.join(room.roomId, { via });
  let joinReturnedDuringResync = true;
  const bound = new Promise<'held'>((resolve) => setTimeout(() => resolve('held'), JOIN_RETURNS_WITHIN_MS).unref());
  if ((await Promise.race([joining.then(() => 'joined' as const), bound])) === 'held') {
    // The candidate waits for its resync before answering /join (MSC2775's blocking /join, or a
    // hang): let the resync go so that the join can finish and the test can judge it.
    joinReturnedDuringResync = false;
    releaseResync();
  }
  const joinResult = await joining;
  joinResult.ok();
  await withBound(sendJoinDone, FEDERATION_WITHIN_MS, `a successful send_join on ${remote.serverName} for ${room.roomId}`);

  const sendJoinRecord = [...remote.requests('send_join')].reverse().find((r) => r.status === 200)!;
  const joinEventId = room.stateEventId('m.room.member', joiner.userId);
  if (!joinEventId) throw new Error(`${joiner.userId}'s join is not in the remote's model of ${room.roomId} after send_join`);
  const answerBody = (sendJoinRecord.responseBody ?? {}) as { members_omitted?: unknown; servers_in_room?: unknown };
  const partial = answerBody.members_omitted === true;
  if (!partial) releaseResync();
  const serversInRoom = Array.isArray(answerBody.servers_in_room) ? (answerBody.servers_in_room as string[]) : [];
  const query = sendJoinRecord.query;
  const single = (v: string | string[] | undefined) => (Array.isArray(v) ? v.join(',') : v);
  // Asking for partial state is what opts the candidate into the partial-state profile.
  const testInfo = currentTestInfo();
  if (testInfo) recordPartialStateRequested(testInfo, single(query.omit_members) === 'true' || single(query['org.matrix.msc3706.partial_state']) === 'true', { query, members_omitted: answerBody.members_omitted ?? null });

  const resyncRequests = (): ResyncRequest[] =>
    remote
      .requests()
      .filter((r) => r.seq > sendJoinRecord.seq && (RESYNC_ROUTES as readonly string[]).includes(r.route) && r.origin === candidate.serverName)
      .map((r) => {
        const fromQuery = r.query.event_id;
        const fromPath = decodeURIComponent(r.path.split('/').pop() ?? '');
        const eventId = r.route === 'state' || r.route === 'state_ids' ? single(fromQuery) : r.route === 'event' || r.route === 'event_auth' ? fromPath : undefined;
        return { seq: r.seq, to: r.to, route: r.route as ResyncRequest['route'], ...(eventId ? { eventId } : {}), ...(r.status !== undefined ? { status: r.status } : {}) };
      });

  const pushEvents = async (eventIds: string[]) => {
    const pdus = eventIds.map((id) => room.mustEvent(id) as PDU);
    const res = await remote.client.send(candidate.serverName, { pdus });
    if (res.status !== 200) throw new Error(`the candidate answered the transaction with HTTP ${res.status}: ${res.raw.slice(0, 300)}`);
  };

  // Once the resync completes, the end-of-test audit compares the candidate's view with the room.
  const audit = registerForAudit({ remote, room, joiner, candidateServer: candidate.serverName });

  const handle: PartialJoin = {
    remote,
    room,
    roomId: room.roomId,
    bystanders,
    joiner,
    remoteMembers,
    joinEventId,
    sendJoinRecord,
    askedFor: { omitMembers: single(query.omit_members), unstablePartialState: single(query['org.matrix.msc3706.partial_state']) },
    partial,
    serversInRoom,
    joinReturnedDuringResync,
    gates,
    notPartial(testInfo, requirementIds) {
      if (partial) return false;
      const asked = query.omit_members ?? query['org.matrix.msc3706.partial_state'];
      recordNotSupported(
        testInfo,
        requirementIds,
        asked === undefined ? `${candidate.info.name} ${candidate.info.version} did not ask send_join for partial state (no omit_members)` : `the send_join answer was not partial (asked ${JSON.stringify(query)})`,
      );
      return true;
    },
    async awaitResyncStarted(withinMs = FEDERATION_WITHIN_MS) {
      const routes = [...gates.keys()].join(' or ');
      try {
        return await Promise.any([...gates.values()].map((g) => g.arrived(withinMs)));
      } catch {
        throw new Error(`no ${routes} request from ${candidate.serverName} reached ${remote.serverName} within ${withinMs} ms of the partial join to ${room.roomId}`);
      }
    },
    releaseResync,
    async awaitResyncComplete(withinMs = RESYNC_WITHIN_MS) {
      const expected = room.members().filter((m) => m.membership === 'join').map((m) => m.userId);
      const seen = new Map<string, ClientEvent>();
      const collect = (sync: SyncResponse) => {
        const joined = sync.rooms?.join?.[room.roomId];
        for (const e of [...(joined?.state?.events ?? []), ...(joined?.timeline?.events ?? [])]) {
          if (e.type === 'm.room.member' && e.state_key !== undefined) seen.set(e.state_key, e);
        }
        return expected.every((u) => seen.get(u)?.content.membership === 'join');
      };
      await joiner.waitForSync(collect, {
        timeoutMs: withinMs,
        description: `${room.roomId} in an eager /sync with every joined member (${expected.join(', ')})`,
      });
      audit.resyncCompleted();
      return seen;
    },
    resyncRequests,
    async sendFromRemote(sender, body) {
      const id = room.sendMessage(sender, body);
      await pushEvents([id]);
      return id;
    },
    pushEvents,
    skipAudit: (reason) => audit.skip(reason),
    observe(extra = {}) {
      return {
        request: {
          roomVersion: room.version.id,
          sendJoinQuery: query,
          sendJoinServer: sendJoinRecord.to,
          joinEventId,
          joinPrevEvents: room.prevEventIds(joinEventId),
        },
        response: { status: sendJoinRecord.status ?? 0, body: { members_omitted: answerBody.members_omitted, servers_in_room: answerBody.servers_in_room } },
        truth: { resyncRequests: resyncRequests(), failingServers: extra.failingServers ?? [], deliveries: extra.deliveries ?? [] },
      };
    },
  };
  // A test that ends before the resync completes has it completed by the audit, which then looks.
  audit.completesWith(async (withinMs) => {
    handle.releaseResync();
    await handle.awaitResyncComplete(withinMs);
  });
  return handle;
}

/**
 * Makes one server (the remote or a bystander) answer every later /state and /state_ids request
 * with `answer` (an error, or garbage), while the others keep serving: faults are per remote, so
 * this wraps the route handlers and looks at which listener was addressed.
 */
export function breakStateAt(join: Pick<PartialJoin, 'remote'>, serverName: string, answer: RouteResponse): void {
  breakRoutesAt(join.remote, serverName, ['state', 'state_ids'], answer);
}

/** Makes one server (the remote or a bystander) answer every later request on `routes` with `answer`; the others keep serving. */
export function breakRoutesAt(remote: Remote, serverName: string, routes: readonly RouteName[], answer: RouteResponse): void {
  for (const route of routes) {
    const normal = remote.handlerFor(route);
    remote.route(route, (ctx) => (ctx.self.serverName === serverName ? answer : normal(ctx)));
  }
}

/**
 * Which of `servers` received the event `eventId` in a transaction from the candidate (the remote
 * logs the transactions of all its listeners, bystanders included).
 */
export function receivedBy(join: Pick<PartialJoin, 'remote' | 'room'>, eventId: string, servers: readonly string[]): string[] {
  const to = new Set<string>();
  for (const r of join.remote.requests('send')) {
    const pdus = (r.body as { pdus?: unknown } | undefined)?.pdus;
    if (!Array.isArray(pdus)) continue;
    if (pdus.some((p) => (p as PDU)?.room_id === join.room.roomId && safeEventId(p as PDU, join.room.version.id) === eventId)) to.add(r.to);
  }
  return servers.filter((s) => to.has(s));
}

function safeEventId(pdu: PDU, version: string): string | undefined {
  try {
    return computeEventId(pdu, version);
  } catch {
    return undefined;
  }
}

/**
 * With LAZYJOIN_RECORD_FIXTURES=<folder> set, saves the observation as a recorded fixture
 * `<folder>/<name>.json` (tests/self/fixtures/observations/ is where the self-tests judge them
 * again), pinning the evaluations the checks reached; otherwise does nothing.
 */
export function recordObservationFixture(
  testInfo: TestInfo,
  candidate: Candidate,
  name: string,
  description: string,
  observation: PartialJoinObservation,
  expectations: Record<string, FixtureExpectation>,
): void {
  const folder = process.env.LAZYJOIN_RECORD_FIXTURES;
  if (!folder) return;
  const source = { origin: 'recorded' as const, candidate: candidate.info.name, candidateVersion: candidate.info.version, recordedAt: new Date().toISOString(), test: testInfo.titlePath.join(' > ') };
  writeObservationFixture(joinPath(folder, `${name}.json`), fixtureOf('joiner-resync', observation, expectations, { description, source }));
}

/** The fixture expectation matching a recorded outcome (informational absent and fail are both a failed evaluation). */
export function fixtureExpectation(outcome: CheckOutcome): FixtureExpectation {
  if (outcome.verdict === 'not-run') return 'not-applicable';
  return outcome.verdict === 'pass' || outcome.present === true ? 'pass' : 'fail';
}

/** Resolves with `promise`, or rejects after `ms` naming what was awaited. */
/** Whether `pending` settles within `ms`; it keeps running either way. */
export async function settlesWithin(pending: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const bound = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
  const settled = await Promise.race([pending.then(() => true as const, () => true as const), bound]);
  clearTimeout(timer);
  return settled;
}

export function withBound<T>(promise: Promise<T>, ms: number, awaited: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${awaited}`)), ms);
    promise.then(
      (v) => {
        clearTimeout(timer);
        resolve(v);
      },
      (e) => {
        clearTimeout(timer);
        reject(e);
      },
    );
  });
}
