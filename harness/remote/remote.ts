/**
 * The scripted remote homeserver: an in-process Matrix server on its own loopback address, with
 * its own key, that serves federation routes over HTTPS from its room model, checks and records
 * every request, and lets a test hold, replace or break any route.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  eventId as computeEventId,
  parseXMatrixHeader,
  verifyEvent,
  verifyRequest,
  type EventVerification,
  type PDU,
  type SigningKey,
} from '../matrix/index.ts';
import { FederationClient } from './client.ts';
import { Arrivals, Gate, type HeldRequest, type Matcher } from './gates.ts';
import { KeyCache, serverKeysDocument } from './keys.ts';
import { formatRequestLog, queryObject, trimmedJson, type AuthVerdict, type RequestRecord } from './log.ts';
import { noteInbound } from '../checks/wire.ts';
import { Room, serverOf, type RoomOptions } from './room.ts';
import { json, matchRoute, matrixError, responseText, ROUTE_NAMES, type HostedServer, type RouteContext, type RouteHandler, type RouteName, type RouteResponse } from './routing.ts';
import { backfill, event, eventAuth, getMissingEvents, state, stateIds } from './routes/events.ts';
import { invite, makeJoin, makeLeave, removedEndpoint, sendJoinHandler, sendLeave } from './routes/membership.ts';
import { send, type ReceivedEdu } from './routes/send.ts';
import { queryDirectory, userDevices, userKeysQuery } from './routes/user.ts';
import { closeListener, corruptSignatures, openListener, readBody, safeParse, writeChunks, type HostedListener, type TlsRefusal } from './listener.ts';
import type { Bystander, BystanderMode, Fault, InviteRecord, PduOutcome } from './remote-types.ts';
import { joinRoom, resyncState, type JoinOptions, type JoinResult, type ResyncResult } from './joiner.ts';

/** The server software a remote claims at `/_matrix/federation/v1/version`. */
const SERVER_VERSION = { server: { name: 'lazyjoin-remote', version: '0.1.0' } };

/** Response bodies above this size are logged trimmed without being parsed. */
const LOG_PARSE_LIMIT = 64 * 1024;

export interface RemoteOptions {
  /** Clock for events the remote creates; default `Date.now`. */
  now?: () => number;
  /** Version of the rooms `createRoom` makes when not told one (default: the room model's). */
  roomVersion?: string;
}

const DEFAULT_HANDLERS: Record<RouteName, RouteHandler> = {
  key_server: (ctx) => json(serverKeysDocument(ctx.self.serverName, ctx.self.key)),
  version: () => json(SERVER_VERSION),
  make_join: makeJoin,
  send_join: sendJoinHandler(),
  send_join_v1: removedEndpoint,
  make_leave: makeLeave,
  send_leave: sendLeave,
  send_leave_v1: removedEndpoint,
  invite,
  state,
  state_ids: stateIds,
  event,
  event_auth: eventAuth,
  get_missing_events: getMissingEvents,
  backfill,
  send,
  user_devices: userDevices,
  user_keys_query: userKeysQuery,
  query_directory: queryDirectory,
};

function checkRouteName(name: string): RouteName {
  if (!(ROUTE_NAMES as readonly string[]).includes(name)) throw new Error(`unknown route ${JSON.stringify(name)} (known: ${ROUTE_NAMES.join(', ')})`);
  return name as RouteName;
}

export class Remote {
  readonly serverName: string;
  readonly key: SigningKey;
  readonly address: string;
  readonly port: number;
  /** Other servers' keys, fetched from their key servers. */
  readonly keys = new KeyCache();
  /** Signs as this remote. */
  readonly client: FederationClient;
  /** Rooms this remote is resident in or holds a replica of, by room ID. */
  readonly rooms = new Map<string, Room>();
  /** Room aliases answered by `query/directory`. */
  readonly aliases = new Map<string, string>();
  /** PDUs received in transactions (accepted or not), in arrival order. */
  readonly pdus: Arrivals<PDU>;
  /** EDUs received in transactions, with the transaction's origin. */
  readonly edus: Arrivals<ReceivedEdu>;
  /** Invites received and counter-signed. */
  readonly invites: Arrivals<InviteRecord>;
  private readonly pduOutcomes = new Map<string, PduOutcome>();
  private readonly listeners: HostedListener[] = [];
  private readonly handlers = new Map<RouteName, RouteHandler>();
  private readonly gates = new Map<RouteName, Gate<RouteResponse>[]>();
  private readonly faults = new Map<RouteName, Array<{ fault: Fault; remaining: number }>>();
  private readonly records: RequestRecord[] = [];
  private readonly startedAt = Date.now();
  private readonly now: () => number;
  private readonly roomVersion?: string;
  private closed = false;

  private constructor(primary: HostedListener, opts: RemoteOptions) {
    this.serverName = primary.hosted.serverName;
    this.key = primary.hosted.key;
    this.address = primary.address;
    this.port = primary.port;
    this.now = opts.now ?? Date.now;
    this.roomVersion = opts.roomVersion;
    this.listeners.push(primary);
    this.keys.add(this.serverName, this.key.keyId, this.key.publicKey);
    this.client = new FederationClient(this.serverName, this.key);
    this.pdus = new Arrivals('PDU', this.serverName, (p) => `${p.type}${p.state_key !== undefined ? `[${p.state_key}]` : ''} from ${p.sender}`);
    this.edus = new Arrivals('EDU', this.serverName, (e) => `${e.edu_type} from ${e.origin}`);
    this.invites = new Arrivals('invite', this.serverName, (i) => `${i.event.state_key} to ${i.event.room_id}`);
  }

  /** Starts a remote: fresh key and address, HTTPS listener ready. */
  static async start(opts: RemoteOptions = {}): Promise<Remote> {
    let remote: Remote | undefined;
    const primary = await openListener('serve', (l, req, res) => remote!.handle(l, req, res));
    remote = new Remote(primary, opts);
    return remote;
  }

  /** `@<localpart>:<serverName>` */
  userId(localpart: string): string {
    return `@${localpart}:${this.serverName}`;
  }

  /** The signing key of a server this remote answers for (itself or a bystander). */
  signerFor = (serverName: string): SigningKey | undefined =>
    this.listeners.find((l) => l.hosted.serverName === serverName)?.hosted.key;

  // ---------------------------------------------------------------------------------------------
  // Rooms

  /**
   * A new room resident here, registered for the routes; the creator defaults to `@alice` of
   * this remote. An alias on this server is registered for `query/directory`.
   */
  createRoom(opts: Partial<RoomOptions> = {}): Room {
    const version = opts.version ?? this.roomVersion;
    const room = Room.create({ ...opts, ...(version ? { version } : {}), creator: opts.creator ?? this.userId('alice'), now: opts.now ?? this.now }, this.signerFor);
    this.rooms.set(room.roomId, room);
    if (opts.alias && this.signerFor(opts.alias.slice(opts.alias.indexOf(':') + 1))) this.aliases.set(opts.alias, room.roomId);
    return room;
  }

  /** Joins `userId` (of this remote) to a room on `resident` through make_join and send_join. */
  joinRoom(resident: string, roomId: string, userId: string, opts: JoinOptions = {}): Promise<JoinResult> {
    return joinRoom(this, resident, roomId, userId, opts);
  }

  /** Fetches the full state at the join event from `resident` (state_ids, then state for what is missing). */
  resyncState(resident: string, roomId: string, joinEventId: string): Promise<ResyncResult> {
    return resyncState(this, resident, roomId, joinEventId);
  }

  /**
   * Sends events of `room` to `destination` in transactions of at most 50 PDUs, in the order
   * given; resolves with each transaction's response (never throws on an HTTP status).
   */
  async sendEvents(destination: string, room: Room, eventIds: string[]): Promise<Array<Awaited<ReturnType<FederationClient['send']>>>> {
    const responses = [];
    for (let i = 0; i < eventIds.length; i += 50) {
      responses.push(await this.client.send(destination, { pdus: eventIds.slice(i, i + 50).map((id) => room.mustEvent(id)) }));
    }
    return responses;
  }

  /**
   * Checks a PDU's signatures and content hash, fetching the keys of the servers that signed it.
   * `room` gives the room version (or pass the version ID).
   */
  async verifyPdu(pdu: PDU, room: Room | string): Promise<EventVerification> {
    const version = typeof room === 'string' ? room : room.version;
    const signatures = (pdu.signatures ?? {}) as Record<string, Record<string, string>>;
    const fetches: Promise<void>[] = [];
    for (const [server, sigs] of Object.entries(signatures)) {
      if (typeof sigs !== 'object' || sigs === null) continue;
      for (const keyId of Object.keys(sigs)) {
        // A key that cannot be fetched shows up as an "unknown key" error of the check itself.
        if (keyId.startsWith('ed25519:')) fetches.push(this.keys.ensure(server, keyId).catch(() => undefined));
      }
    }
    await Promise.all(fetches);
    return verifyEvent(pdu, version, this.keys.lookup);
  }

  /** Handles one PDU of a transaction: checked, stored in its room when valid, recorded either way. */
  async receivePdu(pdu: PDU, origin: string): Promise<PduOutcome> {
    const room = typeof pdu?.room_id === 'string' ? this.rooms.get(pdu.room_id) : undefined;
    let outcome: PduOutcome;
    if (!room) {
      let id: string | undefined;
      try {
        id = computeEventId(pdu, '10');
      } catch {
        id = undefined;
      }
      outcome = { eventId: id, origin, error: `room ${String(pdu?.room_id)} is not known to ${this.serverName}` };
    } else {
      const check = await this.verifyPdu(pdu, room);
      outcome = { eventId: check.eventId, origin };
      if (!check.ok) outcome.error = check.errors.join('; ');
      else room.importEvent(pdu, { trustedEventId: check.eventId });
    }
    if (outcome.eventId) this.pduOutcomes.set(outcome.eventId, outcome);
    this.pdus.push(pdu);
    return outcome;
  }

  /** Whether a received PDU was accepted (undefined if never received). */
  pduOutcome(eventId: string): PduOutcome | undefined {
    return this.pduOutcomes.get(eventId);
  }

  // ---------------------------------------------------------------------------------------------
  // Bystanders

  /**
   * Another server name hosted by this remote, for members of other servers: its own key,
   * address and listener, which always serves its keys and version and handles other federation
   * requests per `mode` (default `not-found`).
   */
  async addServer(opts: { mode?: BystanderMode } = {}): Promise<Bystander> {
    if (this.closed) throw new Error(`remote ${this.serverName} is closed`);
    const mode = opts.mode ?? 'not-found';
    const listener = await openListener(mode, (l, req, res) => this.handle(l, req, res));
    this.listeners.push(listener);
    this.keys.add(listener.hosted.serverName, listener.hosted.key.keyId, listener.hosted.key.publicKey);
    const { serverName, key } = listener.hosted;
    return {
      serverName,
      key,
      get mode() {
        return listener.mode;
      },
      address: listener.address,
      port: listener.port,
      userId: (localpart) => `@${localpart}:${serverName}`,
      setMode: (next) => {
        listener.mode = next;
      },
      goOffline: () => closeListener(listener),
    };
  }

  // ---------------------------------------------------------------------------------------------
  // Scripting

  /** Replaces a route's handler for the rest of the test (until `resetRoute`). */
  route(name: RouteName, handler: RouteHandler): void {
    this.handlers.set(checkRouteName(name), handler);
  }

  resetRoute(name: RouteName): void {
    this.handlers.delete(checkRouteName(name));
  }

  /** The handler that would answer `name` now (a test's replacement or the default). */
  handlerFor(name: RouteName): RouteHandler {
    return this.handlers.get(name) ?? DEFAULT_HANDLERS[name];
  }

  /** Holds the next request on `name` until the test releases it (see `Gate`). */
  gate(name: RouteName): Gate<RouteResponse> {
    const gate = new Gate<RouteResponse>(checkRouteName(name), this.serverName);
    if (this.closed) gate.release();
    const list = this.gates.get(name) ?? [];
    list.push(gate);
    this.gates.set(name, list);
    return gate;
  }

  /** Breaks the next `times` (default 1; Infinity for all) answers on `name`. */
  fault(name: RouteName, fault: Fault, opts: { times?: number } = {}): void {
    const list = this.faults.get(checkRouteName(name)) ?? [];
    list.push({ fault, remaining: opts.times ?? 1 });
    this.faults.set(name, list);
  }

  clearFaults(name?: RouteName): void {
    if (name) this.faults.delete(name);
    else this.faults.clear();
  }

  /** Resolves with the first received PDU matching (already here or arriving within `within` ms). */
  expectPdu(matcher: Matcher<PDU>, opts: { within: number; since?: number }): Promise<PDU> {
    return this.pdus.expect(matcher, opts);
  }

  /** Resolves after `for` ms if no matching PDU is received; rejects at the first. */
  expectNoPdu(matcher: Matcher<PDU>, opts: { for: number; since?: number }): Promise<void> {
    return this.pdus.expectNone(matcher, opts);
  }

  expectEdu(matcher: Matcher<ReceivedEdu>, opts: { within: number; since?: number }): Promise<ReceivedEdu> {
    return this.edus.expect(matcher, opts);
  }

  expectNoEdu(matcher: Matcher<ReceivedEdu>, opts: { for: number; since?: number }): Promise<void> {
    return this.edus.expectNone(matcher, opts);
  }

  /** The request log so far, optionally only one route's requests. */
  requests(route?: RouteName | 'unknown'): readonly RequestRecord[] {
    return route ? this.records.filter((r) => r.route === route) : this.records;
  }

  /** The request log as numbered readable lines with trimmed bodies. */
  formatLog(bodyChars = 600): string {
    return formatRequestLog(this.serverName, this.records, bodyChars);
  }

  /** Releases every gate (normal answers), then closes every listener and open connection. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const list of this.gates.values()) for (const g of list) g.release();
    // Let released handlers write their answers before connections are cut.
    await new Promise((resolve) => setImmediate(resolve));
    await Promise.all(this.listeners.map(closeListener));
  }

  /** Handshakes in which a connecting server refused this remote's certificates (all its listeners). */
  tlsRefusals(): readonly TlsRefusal[] {
    return this.listeners.flatMap((l) => l.tlsRefusals).sort((a, b) => a.at - b.at);
  }

  /** Resolves at the next refusal of this remote's certificate (or the first one already seen); undefined after `timeoutMs`. */
  nextTlsRefusal(timeoutMs: number): Promise<TlsRefusal | undefined> {
    const seen = this.tlsRefusals();
    if (seen.length) return Promise.resolve(seen[0]);
    return new Promise((resolve) => {
      const done = (refusal: TlsRefusal | undefined) => {
        clearTimeout(timer);
        for (const l of this.listeners) l.onTlsRefusal.delete(done);
        resolve(refusal);
      };
      const timer = setTimeout(() => done(undefined), timeoutMs);
      for (const l of this.listeners) l.onTlsRefusal.add(done);
    });
  }

  get isClosed(): boolean {
    return this.closed;
  }

  // ---------------------------------------------------------------------------------------------
  // Inbound

  private async handle(listener: HostedListener, req: IncomingMessage, res: ServerResponse): Promise<void> {
    const started = Date.now();
    const url = new URL(req.url ?? '/', 'https://remote.invalid');
    const method = req.method ?? 'GET';
    const match = matchRoute(method, url.pathname);
    const record: RequestRecord = {
      seq: this.records.length + 1,
      to: listener.hosted.serverName,
      route: match.kind === 'unknown' ? 'unknown' : match.name,
      method,
      path: url.pathname,
      query: queryObject(url.searchParams),
      uri: req.url ?? url.pathname,
      body: undefined,
      auth: { kind: 'none' },
      authorization: req.headers.authorization,
      receivedAt: started - this.startedAt,
    };
    this.records.push(record);
    noteInbound(record);
    const respond = async (response: RouteResponse): Promise<void> => {
      if (res.writableEnded || res.destroyed) return;
      record.status = response.status;
      delete record.heldBy;
      res.writeHead(response.status, { 'content-type': 'application/json', ...response.headers });
      if (response.raw === undefined && response.chunks) {
        const { head, chars, bytes } = await writeChunks(res, response.chunks(), LOG_PARSE_LIMIT);
        record.responseBody = chars <= LOG_PARSE_LIMIT ? safeParse(head) : `${head.slice(0, 2000)}… (${chars} chars)`;
        record.responseBytes = bytes;
        record.durationMs = Date.now() - started;
        return;
      }
      const text = response.raw ?? (response.body === undefined ? '' : JSON.stringify(response.body));
      record.responseBody = response.raw === undefined ? response.body : text.length <= LOG_PARSE_LIMIT ? safeParse(text) : trimmedJson(text, 2000);
      record.responseBytes = Buffer.byteLength(text);
      record.durationMs = Date.now() - started;
      res.end(text);
    };
    const drop = () => {
      record.responseBody = '(connection dropped)';
      record.durationMs = Date.now() - started;
      req.socket.destroy();
    };

    let raw: string;
    try {
      raw = await readBody(req);
    } catch (err) {
      return respond(matrixError(413, 'M_TOO_LARGE', (err as Error).message));
    }
    let body: unknown;
    if (raw.length) {
      try {
        body = JSON.parse(raw);
      } catch {
        record.body = raw;
        return respond(matrixError(400, 'M_NOT_JSON', 'the request body is not JSON'));
      }
    }
    record.body = body;

    if (match.kind === 'unknown') return respond(matrixError(404, 'M_UNRECOGNIZED', `unrecognised request ${method} ${url.pathname}`));
    if (match.kind === 'wrong-method') return respond(matrixError(405, 'M_UNRECOGNIZED', `${method} is not supported on ${url.pathname}`));

    let origin = '';
    if (match.authenticated) {
      const auth = await this.authenticate(listener.hosted.serverName, method, req.url ?? '/', body, req.headers.authorization);
      record.auth = auth;
      if (auth.kind !== 'ok') {
        record.origin = auth.kind === 'failed' ? auth.origin : undefined;
        return respond(matrixError(401, 'M_UNAUTHORIZED', auth.kind === 'failed' ? auth.reason : 'not authenticated'));
      }
      origin = record.origin = auth.origin;
    }

    // A bystander that only publishes keys treats everything else per its mode.
    if (match.name !== 'key_server' && match.name !== 'version') {
      switch (listener.mode) {
        case 'serve':
          break;
        case 'not-found':
          return respond(matrixError(404, 'M_UNRECOGNIZED', `${listener.hosted.serverName} answers no federation requests`));
        case 'hang':
          record.heldBy = 'bystander that never answers';
          return; // closed by close()
        case 'drop':
          return drop();
      }
    }

    const ctx: RouteContext = {
      remote: this,
      self: listener.hosted,
      route: match.name,
      method,
      path: url.pathname,
      query: url.searchParams,
      params: match.params,
      body,
      origin,
    };

    const gate = this.gates.get(match.name)?.find((g) => !g.caught);
    if (gate) {
      record.heldBy = `gate on ${match.name}`;
      const held: HeldRequest = { route: match.name, method, path: url.pathname, query: url.searchParams, params: match.params, body, origin, seq: record.seq };
      const custom = await gate.hold(held);
      if (custom !== undefined) return respond(custom);
    }

    const fault = this.takeFault(match.name);
    if (fault?.kind === 'drop') return drop();
    if (fault?.kind === 'status') return respond({ status: fault.status, body: fault.body ?? { errcode: 'M_UNKNOWN', error: `fault injected on ${match.name}` } });
    if (fault?.kind === 'malformed') return respond({ status: 200, raw: '{"this is": not JSON' });
    if (fault?.kind === 'delay') await new Promise((resolve) => setTimeout(resolve, fault.ms)); // the injected fault itself

    let response: RouteResponse;
    try {
      response = await this.handlerFor(match.name)(ctx);
    } catch (err) {
      response = matrixError(500, 'M_UNKNOWN', `remote handler for ${match.name} threw: ${(err as Error).message}`);
    }
    if (fault?.kind === 'bad-signature') {
      const parsed = response.raw !== undefined || response.chunks ? safeParse(responseText(response)) : response.body;
      response = { status: response.status, headers: response.headers, body: corruptSignatures(parsed) };
    }
    await respond(response);
  }

  private takeFault(name: RouteName): Fault | undefined {
    const list = this.faults.get(name);
    const next = list?.[0];
    if (!next) return undefined;
    next.remaining -= 1;
    if (next.remaining <= 0) list!.shift();
    return next.fault;
  }

  private async authenticate(destination: string, method: string, uri: string, content: unknown, authorization: string | undefined): Promise<AuthVerdict> {
    if (!authorization) return { kind: 'failed', reason: 'no Authorization header' };
    let origin: string;
    let keyId: string;
    try {
      ({ origin, key: keyId } = parseXMatrixHeader(authorization));
    } catch (err) {
      return { kind: 'failed', reason: (err as Error).message };
    }
    try {
      await this.keys.ensure(origin, keyId);
    } catch (err) {
      return { kind: 'failed', origin, reason: `cannot get key ${keyId} of ${origin}: ${(err as Error).message}` };
    }
    const verdict = verifyRequest({ method, uri, content, authorization, expectedDestination: destination, lookup: this.keys.lookup });
    return verdict.ok ? { kind: 'ok', origin: verdict.origin, keyId: verdict.keyId } : { kind: 'failed', origin: verdict.origin, reason: verdict.reason };
  }
}

/** Starts a remote homeserver (see `Remote`). */
export function startRemote(opts: RemoteOptions = {}): Promise<Remote> {
  return Remote.start(opts);
}

export { serverOf };
export type { Bystander, BystanderMode, Fault, InviteRecord, PduOutcome } from './remote-types.ts';
