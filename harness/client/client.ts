/**
 * A small typed client for the client-server API, acting as one user of a candidate.
 *
 * Every call resolves to an {@link ApiResult} whatever the HTTP status (tests about errors look
 * at `status` and `errcode`); `.ok()` returns the body of a 2xx answer and otherwise throws a
 * one-line error with method, path, status and errcode.
 */
import { randomBytes } from 'node:crypto';
import { request } from 'undici';
import { noteOutbound } from '../checks/wire.ts';
import type { CandidateUser } from '../candidates/types.ts';
import type {
  ClientEvent,
  CreateRoomRequest,
  JsonObject,
  MessagesResponse,
  RoomMember,
  SyncFilter,
  SyncResponse,
} from './types.ts';
import { timelineOf } from './types.ts';
import { checkClientRequest, type ClientRequestKind } from './requests.ts';

/** Plenty for any single call on loopback; long polls add their own timeout on top. */
const DEFAULT_CALL_TIMEOUT_MS = 30_000;
/** Each /sync long poll inside waitForSync waits at most this long for news. */
const SYNC_POLL_MS = 5_000;
const TRIM = 2_000;

export class ClientApiError extends Error {
  constructor(
    readonly method: string,
    readonly path: string,
    readonly status: number,
    readonly body: unknown,
  ) {
    const { errcode, error } = (body ?? {}) as { errcode?: string; error?: string };
    super(`${method} ${path} -> ${status}${errcode ? ` ${errcode}` : ''}${error ? `: ${error}` : ''}`);
    this.name = 'ClientApiError';
  }
}

export class ApiResult<T> {
  constructor(
    readonly method: string,
    readonly path: string,
    readonly status: number,
    /** The success shape for a 2xx answer; the error body (errcode, error) otherwise. */
    readonly body: T,
  ) {}

  get errcode(): string | undefined {
    const errcode = (this.body as { errcode?: unknown } | null)?.errcode;
    return typeof errcode === 'string' ? errcode : undefined;
  }

  /** The body of a 2xx answer; throws {@link ClientApiError} for any other status. */
  ok(): T {
    if (this.status < 200 || this.status >= 300) throw new ClientApiError(this.method, this.path, this.status, this.body);
    return this.body;
  }
}

export interface WaitForSyncOptions {
  /** Upper bound on the whole wait. */
  timeoutMs: number;
  /** What is awaited, in words; the timeout error starts with it. */
  description: string;
  filter?: SyncFilter | string;
  /** Start from this batch token instead of an initial sync. */
  since?: string;
}

type Query = Record<string, string | number | boolean | string[] | undefined>;

const enc = encodeURIComponent;

/** `reason` is optional in every membership request: absent rather than null when not given. */
function withReason<T extends JsonObject>(body: T, reason: string | undefined): T & { reason?: string } {
  return reason === undefined ? body : { ...body, reason };
}

function trimmed(value: unknown): string {
  const text = JSON.stringify(value);
  return text.length > TRIM ? `${text.slice(0, TRIM)}… (${text.length} chars)` : text;
}

export class CandidateClient {
  constructor(
    readonly baseUrl: string,
    readonly user: CandidateUser,
  ) {}

  get userId(): string {
    return this.user.userId;
  }

  /**
   * One authenticated call. `path` starts with `/_matrix/...`. A body goes with its request kind,
   * and is validated against that kind's schema before it is sent (see requests.ts).
   */
  async call<T = JsonObject>(
    method: 'GET' | 'POST' | 'PUT' | 'DELETE',
    path: string,
    opts: { query?: Query; body?: unknown; kind?: ClientRequestKind; timeoutMs?: number } = {},
  ): Promise<ApiResult<T>> {
    if (opts.body !== undefined) {
      if (!opts.kind) throw new Error(`${method} ${path}: a request body needs its request kind, whose schema validates it before it is sent`);
      checkClientRequest(opts.kind, opts.body);
    }
    const search = new URLSearchParams();
    for (const [key, value] of Object.entries(opts.query ?? {})) {
      if (value === undefined) continue;
      for (const v of Array.isArray(value) ? value : [value]) search.append(key, String(v));
    }
    const qs = search.toString();
    const timeout = opts.timeoutMs ?? DEFAULT_CALL_TIMEOUT_MS;
    let res;
    const answered = noteOutbound(this.userId, 'client API', method, `${path}${qs ? `?${qs}` : ''}`, opts.body);
    try {
      res = await request(`${this.baseUrl}${path}${qs ? `?${qs}` : ''}`, {
        method,
        headers: {
          authorization: `Bearer ${this.user.accessToken}`,
          ...(opts.body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
        headersTimeout: timeout,
        bodyTimeout: timeout,
      });
    } catch (err) {
      answered(undefined, `(no answer: ${(err as Error).message})`);
      throw new Error(`${method} ${path} failed before any answer (as ${this.userId}): ${(err as Error).message}`);
    }
    const text = await res.body.text();
    let body: unknown;
    try {
      body = text ? JSON.parse(text) : {};
    } catch {
      body = { raw: text.slice(0, TRIM) };
    }
    answered(res.statusCode, body);
    return new ApiResult(method, path, res.statusCode, body as T);
  }

  private txnId(): string {
    return `lj-${Date.now()}-${randomBytes(4).toString('hex')}`;
  }

  whoami() {
    return this.call<{ user_id: string; device_id?: string }>('GET', '/_matrix/client/v3/account/whoami');
  }

  // ---- rooms and membership ----

  createRoom(req: CreateRoomRequest = {}) {
    return this.call<{ room_id: string }>('POST', '/_matrix/client/v3/createRoom', { body: req, kind: 'create-room' });
  }

  /** Joins by room ID or alias; `via` are the servers to join through (sent as `server_name` and `via`). */
  join(roomIdOrAlias: string, opts: { via?: string[]; reason?: string } = {}) {
    return this.call<{ room_id: string }>('POST', `/_matrix/client/v3/join/${enc(roomIdOrAlias)}`, {
      query: { server_name: opts.via, via: opts.via },
      body: opts.reason ? { reason: opts.reason } : {},
      kind: 'join',
    });
  }

  leave(roomId: string, reason?: string) {
    return this.call<JsonObject>('POST', `/_matrix/client/v3/rooms/${enc(roomId)}/leave`, { body: reason ? { reason } : {}, kind: 'leave' });
  }

  /** POST /knock/{roomId}, through the servers of `via` (query `server_name`). */
  knock(roomId: string, opts: { via?: string[]; reason?: string } = {}) {
    return this.call<{ room_id: string }>('POST', `/_matrix/client/v3/knock/${enc(roomId)}`, { body: opts.reason ? { reason: opts.reason } : {}, kind: 'knock', ...(opts.via ? { query: { server_name: opts.via, via: opts.via } } : {}) });
  }

  /** Synapse's admin API: deletes (and by default purges) a room; for a server admin. */
  adminDeleteRoom(roomId: string, opts: { purge?: boolean; timeoutMs?: number } = {}) {
    return this.call<JsonObject>('DELETE', `/_synapse/admin/v1/rooms/${enc(roomId)}`, { body: { purge: opts.purge ?? true }, kind: 'admin-delete-room', ...(opts.timeoutMs ? { timeoutMs: opts.timeoutMs } : {}) });
  }

  invite(roomId: string, userId: string, reason?: string) {
    return this.call<JsonObject>('POST', `/_matrix/client/v3/rooms/${enc(roomId)}/invite`, { body: withReason({ user_id: userId }, reason), kind: 'invite' });
  }

  kick(roomId: string, userId: string, reason?: string) {
    return this.call<JsonObject>('POST', `/_matrix/client/v3/rooms/${enc(roomId)}/kick`, { body: withReason({ user_id: userId }, reason), kind: 'kick' });
  }

  ban(roomId: string, userId: string, reason?: string) {
    return this.call<JsonObject>('POST', `/_matrix/client/v3/rooms/${enc(roomId)}/ban`, { body: withReason({ user_id: userId }, reason), kind: 'ban' });
  }

  // ---- events ----

  sendEvent(roomId: string, type: string, content: JsonObject) {
    return this.call<{ event_id: string }>('PUT', `/_matrix/client/v3/rooms/${enc(roomId)}/send/${enc(type)}/${this.txnId()}`, {
      body: content,
      kind: 'send-event',
    });
  }

  /** An `m.text` message, or any `m.room.message` content. */
  sendMessage(roomId: string, message: string | JsonObject) {
    const content = typeof message === 'string' ? { msgtype: 'm.text', body: message } : message;
    return this.sendEvent(roomId, 'm.room.message', content);
  }

  sendState(roomId: string, type: string, stateKey: string, content: JsonObject) {
    return this.call<{ event_id: string }>('PUT', `/_matrix/client/v3/rooms/${enc(roomId)}/state/${enc(type)}/${enc(stateKey)}`, {
      body: content,
      kind: 'send-state',
    });
  }

  event(roomId: string, eventId: string) {
    return this.call<ClientEvent>('GET', `/_matrix/client/v3/rooms/${enc(roomId)}/event/${enc(eventId)}`);
  }

  /** Renames this client's device (`PUT /devices/{deviceId}`). */
  updateDevice(displayName: string) {
    return this.call<JsonObject>('PUT', `/_matrix/client/v3/devices/${enc(this.user.deviceId)}`, { body: { display_name: displayName }, kind: 'update-device' });
  }

  setDisplayName(displayName: string) {
    return this.call<JsonObject>('PUT', `/_matrix/client/v3/profile/${enc(this.userId)}/displayname`, { body: { displayname: displayName }, kind: 'set-displayname' });
  }

  // ---- room state and history ----

  /** `at`: a batch token; `membership` / `notMembership`: filters of the spec's endpoint. */
  members(roomId: string, opts: { at?: string; membership?: string; notMembership?: string; timeoutMs?: number } = {}) {
    return this.call<{ chunk: RoomMember[] }>('GET', `/_matrix/client/v3/rooms/${enc(roomId)}/members`, {
      query: { at: opts.at, membership: opts.membership, not_membership: opts.notMembership },
      timeoutMs: opts.timeoutMs,
    });
  }

  joinedMembers(roomId: string, opts: { timeoutMs?: number } = {}) {
    return this.call<{ joined: Record<string, { display_name?: string; avatar_url?: string }> }>(
      'GET',
      `/_matrix/client/v3/rooms/${enc(roomId)}/joined_members`,
      opts,
    );
  }

  state(roomId: string, opts: { timeoutMs?: number } = {}) {
    return this.call<ClientEvent[]>('GET', `/_matrix/client/v3/rooms/${enc(roomId)}/state`, opts);
  }

  stateEvent(roomId: string, type: string, stateKey = '') {
    return this.call<JsonObject>('GET', `/_matrix/client/v3/rooms/${enc(roomId)}/state/${enc(type)}/${enc(stateKey)}`);
  }

  messages(roomId: string, opts: { from?: string; to?: string; dir?: 'b' | 'f'; limit?: number; filter?: JsonObject } = {}) {
    return this.call<MessagesResponse>('GET', `/_matrix/client/v3/rooms/${enc(roomId)}/messages`, {
      query: {
        from: opts.from,
        to: opts.to,
        dir: opts.dir ?? 'b',
        limit: opts.limit,
        filter: opts.filter ? JSON.stringify(opts.filter) : undefined,
      },
    });
  }

  // ---- aliases ----

  createAlias(alias: string, roomId: string) {
    return this.call<JsonObject>('PUT', `/_matrix/client/v3/directory/room/${enc(alias)}`, { body: { room_id: roomId }, kind: 'create-alias' });
  }

  /** Publishes the room in (or removes it from) the server's room directory. */
  setRoomVisibility(roomId: string, visibility: 'public' | 'private') {
    return this.call<JsonObject>('PUT', `/_matrix/client/v3/directory/list/room/${enc(roomId)}`, { body: { visibility }, kind: 'set-room-visibility' });
  }

  searchUserDirectory(searchTerm: string, limit?: number) {
    return this.call<{ results?: Array<{ user_id: string; display_name?: string }>; limited?: boolean }>('POST', '/_matrix/client/v3/user_directory/search', {
      body: limit === undefined ? { search_term: searchTerm } : { search_term: searchTerm, limit },
      kind: 'search-user-directory',
    });
  }

  resolveAlias(alias: string) {
    return this.call<{ room_id: string; servers: string[] }>('GET', `/_matrix/client/v3/directory/room/${enc(alias)}`);
  }

  // ---- ephemeral ----

  receipt(roomId: string, eventId: string, receiptType = 'm.read') {
    return this.call<JsonObject>('POST', `/_matrix/client/v3/rooms/${enc(roomId)}/receipt/${enc(receiptType)}/${enc(eventId)}`, { body: {}, kind: 'receipt' });
  }

  typing(roomId: string, typing: boolean, timeoutMs = 30_000) {
    return this.call<JsonObject>('PUT', `/_matrix/client/v3/rooms/${enc(roomId)}/typing/${enc(this.userId)}`, {
      body: typing ? { typing, timeout: timeoutMs } : { typing },
      kind: 'typing',
    });
  }

  // ---- end-to-end keys and to-device ----

  keysQuery(userIds: string[], opts: { timeoutMs?: number } = {}) {
    return this.call<{ device_keys?: Record<string, Record<string, JsonObject>>; failures?: JsonObject }>(
      'POST',
      '/_matrix/client/v3/keys/query',
      { body: { device_keys: Object.fromEntries(userIds.map((u) => [u, []])), ...(opts.timeoutMs ? { timeout: opts.timeoutMs } : {}) }, kind: 'keys-query' },
    );
  }

  keysUpload(body: { device_keys?: JsonObject; one_time_keys?: JsonObject; fallback_keys?: JsonObject }) {
    return this.call<{ one_time_key_counts: Record<string, number> }>('POST', '/_matrix/client/v3/keys/upload', { body, kind: 'keys-upload' });
  }

  /** `messages`: user ID -> device ID (or `*`) -> content. */
  sendToDevice(eventType: string, messages: Record<string, Record<string, JsonObject>>) {
    return this.call<JsonObject>('PUT', `/_matrix/client/v3/sendToDevice/${enc(eventType)}/${this.txnId()}`, { body: { messages }, kind: 'send-to-device' });
  }

  // ---- sync ----

  /** One /sync. `timeoutMs` is the long-poll time the server may wait for news (default 0). */
  sync(opts: { filter?: SyncFilter | string; since?: string; timeoutMs?: number; fullState?: boolean } = {}) {
    const longPoll = opts.timeoutMs ?? 0;
    return this.call<SyncResponse>('GET', '/_matrix/client/v3/sync', {
      query: {
        filter: opts.filter === undefined ? undefined : typeof opts.filter === 'string' ? opts.filter : JSON.stringify(opts.filter),
        since: opts.since,
        timeout: longPoll,
        full_state: opts.fullState,
      },
      timeoutMs: longPoll + DEFAULT_CALL_TIMEOUT_MS,
    });
  }

  /**
   * Syncs (initial, or from `since`), then long-polls incrementally until `predicate` holds for
   * a sync body; returns that body. On timeout the error names what was awaited and shows the
   * last body, trimmed. Non-2xx answers end the wait at once.
   */
  async waitForSync(predicate: (sync: SyncResponse) => boolean, opts: WaitForSyncOptions): Promise<SyncResponse> {
    const deadline = Date.now() + opts.timeoutMs;
    let since = opts.since;
    let last: SyncResponse | undefined;
    for (;;) {
      const remaining = deadline - Date.now();
      // The first call returns at once when there is no `since`; later ones wait for news.
      const result = await this.sync({ filter: opts.filter, since, timeoutMs: since === undefined ? 0 : Math.max(0, Math.min(SYNC_POLL_MS, remaining)) });
      const body = result.ok();
      last = body;
      if (predicate(body)) return body;
      since = body.next_batch;
      if (Date.now() >= deadline) break;
    }
    throw new Error(`waitForSync (${this.userId}): timed out after ${opts.timeoutMs} ms waiting for ${opts.description}; last sync body: ${trimmed(last)}`);
  }

  /**
   * Waits, long-polling /sync up to `timeoutMs`, until `eventId` shows in the timeline of
   * `roomId`: true when it did, false when the bound passed first (other failures throw).
   */
  async awaitTimelineEvent(roomId: string, eventId: string, timeoutMs: number): Promise<boolean> {
    try {
      await this.waitForSync((s) => timelineOf(s, roomId).some((e) => e.event_id === eventId), { timeoutMs, description: `${eventId} in the timeline of ${roomId}` });
      return true;
    } catch (err) {
      if ((err as Error).message.startsWith(`waitForSync (${this.userId}): timed out`)) return false;
      throw err;
    }
  }
}
