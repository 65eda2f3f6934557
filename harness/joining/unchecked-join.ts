/**
 * A join scenario for joining-side tests that shape the room before the join, script the resync
 * answer, or expect the join to fail: unlike partial-join.ts it takes a `prepare` hook and custom
 * send_join and resync handlers, and does not require the client /join to succeed. A room
 * resident on a scripted remote (@charlie creates it, @derek joins), the candidate's user joins it
 * through the remote, and the candidate's resync (its /state or /state_ids requests at the join
 * event or the join's prev events) is held until the test releases it.
 *
 *   const join = await UncheckedJoin.start({ candidate, client, remote });
 *   if (!join.partial) ...                      // the candidate asked for full state
 *   await join.resyncArrived(10_000);
 *   ... push events, look at the candidate while it is partial ...
 *   join.releaseResync();
 *   await join.awaitResyncComplete(30_000);
 *
 * Also: pushing transactions with a bound on the answer, asking the candidate for /state_ids with
 * a bound, and recording which of the remote's servers received which EDUs.
 */
import { registerForAudit, type AuditRegistration } from '../audit/fixture.ts';
import type { Candidate } from '../candidates/types.ts';
import type { ApiResult, CandidateClient } from '../client/client.ts';
import type { PDU } from '../matrix/index.ts';
import { Arrivals } from '../remote/gates.ts';
import type { Remote } from '../remote/remote.ts';
import type { Room, RoomOptions } from '../remote/room.ts';
import { state as stateRoute, stateIds as stateIdsRoute } from '../remote/routes/events.ts';
import { sendJoinHandler, type SendJoinBehaviour } from '../remote/routes/membership.ts';
import { send as sendRoute } from '../remote/routes/send.ts';
import type { RouteContext, RouteHandler, RouteResponse } from '../remote/routing.ts';
import { recordPartialStateRequested } from '../checks/judge.ts';
import { currentTestInfo } from './test-info.ts';

/** An EDU as received by one of the remote's servers (the remote itself or a bystander). */
export interface DeliveredEdu {
  /** The server the transaction was addressed to. */
  to: string;
  origin: string;
  edu_type: string;
  content: Record<string, unknown>;
}

/**
 * Records every EDU that reaches any of the remote's servers, with its destination (the remote's
 * own EDU log keeps only the origin). Installs a pass-through handler on the `send` route.
 */
export function recordEduDeliveries(remote: Remote): Arrivals<DeliveredEdu> {
  const delivered = new Arrivals<DeliveredEdu>('EDU', `the servers of ${remote.serverName}`, (e) => `${e.edu_type} from ${e.origin} to ${e.to}`);
  remote.route('send', (ctx) => {
    const edus = (ctx.body as { edus?: unknown } | undefined)?.edus;
    if (Array.isArray(edus)) for (const e of edus) delivered.push({ ...(e as DeliveredEdu), to: ctx.self.serverName, origin: ctx.origin });
    return sendRoute(ctx);
  });
  return delivered;
}

/** Pushes a transaction from the remote to the candidate; waits at most `timeoutMs` for the answer (null if none came). */
export async function pushTransaction(
  remote: Remote,
  destination: string,
  content: { pdus?: PDU[]; edus?: Array<{ edu_type: string; content: unknown }> },
  timeoutMs: number,
): Promise<{ status: number; body: unknown } | null> {
  const txnId = `p2-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
  return boundedCall(() =>
    remote.client.request('PUT', destination, `/_matrix/federation/v1/send/${txnId}`, {
      body: { origin: remote.serverName, origin_server_ts: Date.now(), pdus: content.pdus ?? [], edus: content.edus ?? [] },
      timeoutMs,
    }),
  );
}

/** Asks the candidate, as the remote, for /state_ids at `eventId`; waits at most `timeoutMs` (null if no answer). */
export function candidateStateIds(remote: Remote, destination: string, roomId: string, eventId: string, timeoutMs: number): Promise<{ status: number; body: unknown } | null> {
  return boundedCall(() =>
    remote.client.request('GET', destination, `/_matrix/federation/v1/state_ids/${encodeURIComponent(roomId)}`, { query: { event_id: eventId }, timeoutMs }),
  );
}

async function boundedCall(call: () => Promise<{ status: number; body: unknown }>): Promise<{ status: number; body: unknown } | null> {
  try {
    const res = await call();
    return { status: res.status, body: res.body };
  } catch (err) {
    // The federation client aborts at its bound; any other failure is the harness's and is thrown.
    if (/timeout|aborted/i.test((err as Error).message)) return null;
    throw err;
  }
}

export interface UncheckedJoinOptions {
  candidate: Candidate;
  client: CandidateClient;
  remote: Remote;
  room?: Partial<RoomOptions>;
  /** Shapes the room before the candidate joins (extra members, servers, forged history). */
  prepare?: (join: { room: Room; remote: Remote; charlie: string; derek: string }) => void | Promise<void>;
  /** How the remote's send_join misbehaves (default: an honest partial answer when asked). */
  sendJoin?: SendJoinBehaviour;
  /** Replaces the whole send_join handler (for answers SendJoinBehaviour cannot express). */
  sendJoinRoute?: RouteHandler;
  /** The answer to held resync requests once released (default: the room's true state). */
  resyncAnswer?: { state?: RouteHandler; stateIds?: RouteHandler };
  /** Hold the resync until `releaseResync()` (default true). */
  holdResync?: boolean;
}

export class UncheckedJoin {
  readonly charlie: string;
  readonly derek: string;
  /** Every EDU that reached any of the remote's servers, with its destination. */
  readonly deliveredEdus: Arrivals<DeliveredEdu>;
  /** The answer to the client's /join. */
  joinAnswer!: ApiResult<{ room_id: string }>;
  /** The end-of-test audit of this room (harness/audit), once the join succeeded. */
  private audit?: AuditRegistration;
  private held = true;
  private releaseWaiters: Array<() => void> = [];
  private readonly resyncRequests: Arrivals<{ route: string; eventId: string }>;

  private constructor(
    readonly candidate: Candidate,
    readonly client: CandidateClient,
    readonly remote: Remote,
    readonly room: Room,
  ) {
    this.charlie = remote.userId('charlie');
    this.derek = remote.userId('derek');
    this.deliveredEdus = recordEduDeliveries(remote);
    this.resyncRequests = new Arrivals('resync request', remote.serverName, (r) => `${r.route} at ${r.eventId}`);
  }

  /** Builds the room, installs the routes, and makes the candidate's user join. */
  static async start(opts: UncheckedJoinOptions): Promise<UncheckedJoin> {
    const { remote } = opts;
    const room = remote.createRoom({ creator: remote.userId('charlie'), ...opts.room });
    const join = new UncheckedJoin(opts.candidate, opts.client, remote, room);
    room.join(join.derek);
    await opts.prepare?.({ room, remote, charlie: join.charlie, derek: join.derek });
    join.held = opts.holdResync ?? true;
    remote.route('send_join', opts.sendJoinRoute ?? sendJoinHandler(opts.sendJoin));
    remote.route('state_ids', join.holdingResync('state_ids', opts.resyncAnswer?.stateIds ?? stateIdsRoute));
    remote.route('state', join.holdingResync('state', opts.resyncAnswer?.state ?? stateRoute));
    join.joinAnswer = await opts.client.join(room.roomId, { via: [remote.serverName] });
    const sendJoin = remote.requests('send_join').find((r) => r.status === 200);
    const testInfo = currentTestInfo();
    // Asking for partial state is what opts the candidate into the partial-state profile.
    if (sendJoin && testInfo) recordPartialStateRequested(testInfo, join.partial, { query: sendJoin.query });
    if (join.joinAnswer.status === 200) {
      // Once the resync completes, the end-of-test audit compares the candidate's view with the room;
      // a test that ends before that has the resync completed by the audit, which then looks.
      join.audit = registerForAudit({ remote, room, joiner: opts.client, candidateServer: opts.candidate.serverName });
      join.audit.completesWith(async (withinMs) => {
        join.releaseResync();
        await join.awaitResyncComplete(withinMs);
      });
    }
    return join;
  }

  get roomId(): string {
    return this.room.roomId;
  }

  /** The candidate's user who joins (the name partial-join.ts uses). */
  get joiner(): CandidateClient {
    return this.client;
  }

  /** The candidate user's join event, as stored by the remote (undefined if send_join never succeeded). */
  get joinEventId(): string | undefined {
    const id = this.room.stateEventId('m.room.member', this.client.userId);
    return id && this.room.membership(this.client.userId) === 'join' ? id : undefined;
  }

  /** Whether the candidate asked for partial state (omit_members=true) on its successful send_join. */
  get partial(): boolean {
    const sendJoin = this.remote.requests('send_join').find((r) => r.status === 200);
    return sendJoin?.query.omit_members === 'true';
  }

  /** What the candidate sent as omit_members, for not-supported reasons. */
  get omitMembersSent(): string {
    const sendJoin = this.remote.requests('send_join').at(-1);
    return sendJoin ? `omit_members=${JSON.stringify(sendJoin.query.omit_members ?? '(absent)')}` : 'no send_join request';
  }

  /** Resolves when the candidate's first resync request (state or state_ids at the join) arrives. */
  async resyncArrived(timeoutMs: number): Promise<{ route: string; eventId: string }> {
    return this.resyncRequests.expect(() => true, { within: timeoutMs });
  }

  /** Lets held and later resync requests through. */
  releaseResync(): void {
    this.held = false;
    for (const w of this.releaseWaiters.splice(0)) w();
  }

  /**
   * Waits until the candidate has finished resyncing, as its client sees it: a non-lazy-loading
   * /sync shows the room (MSC3902 leaves partial rooms out of those) and /members answers
   * (it waits for full state while partial).
   */
  async awaitResyncComplete(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    await this.client.waitForSync((s) => s.rooms?.join?.[this.roomId] !== undefined, {
      timeoutMs,
      description: `room ${this.roomId} in a non-lazy-loading /sync (resync complete)`,
    });
    const members = await this.client.members(this.roomId, { timeoutMs: Math.max(1_000, deadline - Date.now()) });
    members.ok();
    this.audit?.resyncCompleted();
  }

  /**
   * Leaves this room out of the end-of-test audit, for the reason given (shown in the report): for
   * tests whose remote holds events a correct candidate must reject, so its room is no ground truth.
   */
  skipAudit(reason: string): void {
    this.audit?.skip(reason);
  }

  /** Pushes a transaction from the remote (see `pushTransaction`). */
  pushTransaction(content: { pdus?: PDU[]; edus?: Array<{ edu_type: string; content: unknown }> }, timeoutMs: number) {
    return pushTransaction(this.remote, this.candidate.serverName, content, timeoutMs);
  }

  /** Asks the candidate for /state_ids at `eventId` (see `candidateStateIds`). */
  candidateStateIds(eventId: string, timeoutMs: number) {
    return candidateStateIds(this.remote, this.candidate.serverName, this.roomId, eventId, timeoutMs);
  }

  /** The state IDs the remote holds before `eventId` (the ground truth). */
  truthBefore(eventId: string): string[] {
    return [...this.room.stateBefore(eventId).values()];
  }

  private holdingResync(route: 'state' | 'state_ids', answer: RouteHandler): RouteHandler {
    return async (ctx: RouteContext): Promise<RouteResponse> => {
      const eventId = ctx.query.get('event_id') ?? '';
      if (!this.isResyncAnchor(eventId)) return route === 'state' ? stateRoute(ctx) : stateIdsRoute(ctx);
      this.resyncRequests.push({ route, eventId });
      if (this.held) await new Promise<void>((resolve) => this.releaseWaiters.push(resolve));
      return answer(ctx);
    };
  }

  /** The join event and its prev_events: where a joiner asks for the state it lacks. */
  private isResyncAnchor(eventId: string): boolean {
    const join = this.joinEventId;
    if (!join) return false;
    return eventId === join || (this.room.has(join) && this.room.prevEventIds(join).includes(eventId));
  }
}
