/**
 * The outbound federation client a remote uses to talk to candidates (and to other remotes): every
 * request signed with X-Matrix as the remote, over HTTPS trusting the suite CA. Calls never throw
 * on an HTTP status; they throw only when no response came (with the URL in the message).
 */
import { request } from 'undici';
import { signRequest, STABLE_ROOM_VERSIONS, type PDU, type SigningKey } from '../matrix/index.ts';
import { baseUrlFor, federationAgent } from './discovery.ts';
import { certificateVerificationCode, explainUntrustedCertificate } from './tls-trust.ts';
import { noteOutbound } from '../checks/wire.ts';

/**
 * A federation request that got no response. `closed` when the other side closed the connection
 * before any response came (a server dropping the request, e.g. a handler that crashed), as
 * opposed to a timeout, a refused connection or an untrusted certificate.
 */
export class NoResponseError extends Error {
  constructor(
    message: string,
    readonly closed: boolean,
  ) {
    super(message);
    this.name = 'NoResponseError';
  }
}

/** Whether `err` says the connection was closed (or reset) before any response came. */
export function closedBeforeResponse(err: unknown): boolean {
  if (err instanceof NoResponseError) return err.closed;
  const e = err as { code?: string; message?: string; cause?: { code?: string; message?: string } };
  const codes = [e?.code, e?.cause?.code];
  if (codes.includes('UND_ERR_SOCKET') || codes.includes('ECONNRESET')) return true;
  return /other side closed|socket hang up|ECONNRESET/i.test(`${e?.message ?? ''} ${e?.cause?.message ?? ''}`);
}

export interface FederationResponse<T = any> {
  status: number;
  /** Parsed JSON body, or undefined when the body was empty or not JSON. */
  body: T | undefined;
  raw: string;
  headers: Record<string, string | string[] | undefined>;
}

export interface RequestOptions {
  query?: Record<string, string | string[] | undefined>;
  /** JSON body (PUT/POST); signed as `content`. */
  body?: unknown;
  /** Bound on the whole exchange; default 30 s. */
  timeoutMs?: number;
  /** Send without an Authorization header (to test the peer's authentication). */
  unsigned?: boolean;
  /** Sign for this destination instead of the real one (to test destination checks). */
  signedDestination?: string;
  /** Replace the Authorization header entirely. */
  authorization?: string;
}

const DEFAULT_TIMEOUT_MS = 30_000;

const seg = encodeURIComponent;

export type SendJoinMode =
  /** `omit_members=true` */
  | 'partial'
  /** `omit_members=false` */
  | 'full'
  /** no `omit_members` parameter */
  | 'absent'
  /** the unstable `org.matrix.msc3706.partial_state=true` */
  | 'unstable-partial';

export class FederationClient {
  constructor(
    readonly origin: string,
    private readonly key: SigningKey,
  ) {}

  /** A signed request to `destination`; `path` starts with `/_matrix/`. */
  async request<T = any>(method: string, destination: string, path: string, opts: RequestOptions = {}): Promise<FederationResponse<T>> {
    const params = new URLSearchParams();
    for (const [k, v] of Object.entries(opts.query ?? {})) {
      if (v === undefined) continue;
      for (const item of Array.isArray(v) ? v : [v]) params.append(k, item);
    }
    const uri = params.size ? `${path}?${params.toString()}` : path;
    const url = `${baseUrlFor(destination)}${uri}`;
    const headers: Record<string, string> = { host: destination };
    const bodyText = opts.body === undefined ? undefined : JSON.stringify(opts.body);
    if (bodyText !== undefined) headers['content-type'] = 'application/json';
    if (opts.authorization !== undefined) headers.authorization = opts.authorization;
    else if (!opts.unsigned) {
      headers.authorization = signRequest(
        { method, uri, origin: this.origin, destination: opts.signedDestination ?? destination, content: opts.body },
        this.key,
      );
    }
    const timeout = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    let status: number;
    let raw: string;
    let responseHeaders: Record<string, string | string[] | undefined>;
    const answered = noteOutbound(this.origin, destination, method, uri, opts.body);
    try {
      // Never sent twice: a connection the other side closes before answering is its answer
      // (a candidate that drops a request is judged so by the caller, see closedBeforeResponse).
      const res = await request(url, {
        method: method as 'GET',
        headers,
        body: bodyText,
        dispatcher: federationAgent(),
        headersTimeout: timeout,
        bodyTimeout: timeout,
        signal: AbortSignal.timeout(timeout),
      });
      status = res.statusCode;
      responseHeaders = res.headers;
      raw = await res.body.text();
    } catch (err) {
      const cause = (err as { cause?: { message?: string } }).cause?.message;
      answered(undefined, `(no answer: ${(err as Error).message}${cause ? `; ${cause}` : ''})`);
      const tlsCode = certificateVerificationCode(err);
      if (tlsCode) throw new NoResponseError(`${method} ${url} from ${this.origin} failed: ${await explainUntrustedCertificate(this.origin, destination, url, tlsCode)}`, false);
      throw new NoResponseError(`${method} ${url} from ${this.origin} failed: ${(err as Error).message}${cause ? ` (${cause})` : ''}`, closedBeforeResponse(err));
    }
    let body: T | undefined;
    if (raw.length) {
      try {
        body = JSON.parse(raw) as T;
      } catch {
        body = undefined;
      }
    }
    answered(status, body ?? (raw.length ? raw : undefined));
    return { status, body, raw, headers: responseHeaders };
  }

  version(destination: string) {
    return this.request('GET', destination, '/_matrix/federation/v1/version', { unsigned: true });
  }

  /** `ver` defaults to the versions the suite's room model builds. */
  makeJoin(destination: string, roomId: string, userId: string, versions: readonly string[] = STABLE_ROOM_VERSIONS) {
    return this.request<{ room_version?: string; event: PDU }>('GET', destination, `/_matrix/federation/v1/make_join/${seg(roomId)}/${seg(userId)}`, {
      query: { ver: [...versions] },
    });
  }

  sendJoin(destination: string, roomId: string, eventId: string, event: PDU, mode: SendJoinMode = 'partial') {
    const query: Record<string, string> = {};
    if (mode === 'partial') query.omit_members = 'true';
    if (mode === 'full') query.omit_members = 'false';
    if (mode === 'unstable-partial') query['org.matrix.msc3706.partial_state'] = 'true';
    return this.request<SendJoinResponseBody>('PUT', destination, `/_matrix/federation/v2/send_join/${seg(roomId)}/${seg(eventId)}`, {
      query,
      body: event,
      timeoutMs: 120_000,
    });
  }

  makeLeave(destination: string, roomId: string, userId: string) {
    return this.request<{ room_version?: string; event: PDU }>('GET', destination, `/_matrix/federation/v1/make_leave/${seg(roomId)}/${seg(userId)}`);
  }

  sendLeave(destination: string, roomId: string, eventId: string, event: PDU) {
    return this.request('PUT', destination, `/_matrix/federation/v2/send_leave/${seg(roomId)}/${seg(eventId)}`, { body: event });
  }

  invite(destination: string, roomId: string, eventId: string, body: { room_version: string; event: PDU; invite_room_state?: unknown[] }) {
    return this.request<{ event: PDU }>('PUT', destination, `/_matrix/federation/v2/invite/${seg(roomId)}/${seg(eventId)}`, { body });
  }

  state(destination: string, roomId: string, eventId: string) {
    return this.request<{ pdus: PDU[]; auth_chain: PDU[] }>('GET', destination, `/_matrix/federation/v1/state/${seg(roomId)}`, {
      query: { event_id: eventId },
      timeoutMs: 120_000,
    });
  }

  stateIds(destination: string, roomId: string, eventId: string) {
    return this.request<{ pdu_ids: string[]; auth_chain_ids: string[] }>('GET', destination, `/_matrix/federation/v1/state_ids/${seg(roomId)}`, {
      query: { event_id: eventId },
    });
  }

  event(destination: string, eventId: string) {
    return this.request<{ origin: string; origin_server_ts: number; pdus: PDU[] }>('GET', destination, `/_matrix/federation/v1/event/${seg(eventId)}`);
  }

  eventAuth(destination: string, roomId: string, eventId: string) {
    return this.request<{ auth_chain: PDU[] }>('GET', destination, `/_matrix/federation/v1/event_auth/${seg(roomId)}/${seg(eventId)}`);
  }

  getMissingEvents(
    destination: string,
    roomId: string,
    body: { earliest_events: string[]; latest_events: string[]; limit?: number; min_depth?: number },
  ) {
    return this.request<{ events: PDU[] }>('POST', destination, `/_matrix/federation/v1/get_missing_events/${seg(roomId)}`, { body });
  }

  backfill(destination: string, roomId: string, from: string[], limit: number) {
    return this.request<{ origin: string; origin_server_ts: number; pdus: PDU[] }>('GET', destination, `/_matrix/federation/v1/backfill/${seg(roomId)}`, {
      query: { v: from, limit: String(limit) },
    });
  }

  /** One transaction; `txnId` defaults to a fresh unique ID. */
  send(destination: string, content: { pdus?: PDU[]; edus?: Array<{ edu_type: string; content: unknown }> }, txnId = nextTxnId()) {
    return this.request<{ pdus: Record<string, { error?: string }> }>('PUT', destination, `/_matrix/federation/v1/send/${seg(txnId)}`, {
      body: { origin: this.origin, origin_server_ts: Date.now(), pdus: content.pdus ?? [], ...(content.edus ? { edus: content.edus } : {}) },
    });
  }

  userDevices(destination: string, userId: string) {
    return this.request('GET', destination, `/_matrix/federation/v1/user/devices/${seg(userId)}`);
  }

  userKeysQuery(destination: string, deviceKeys: Record<string, string[]>) {
    return this.request('POST', destination, '/_matrix/federation/v1/user/keys/query', { body: { device_keys: deviceKeys } });
  }

  queryDirectory(destination: string, alias: string) {
    return this.request<{ room_id: string; servers: string[] }>('GET', destination, '/_matrix/federation/v1/query/directory', {
      query: { room_alias: alias },
    });
  }
}

export interface SendJoinResponseBody {
  state: PDU[];
  auth_chain: PDU[];
  event?: PDU;
  members_omitted?: boolean;
  servers_in_room?: string[];
  [unstable: string]: unknown;
}

let txnCounter = 0;
function nextTxnId(): string {
  txnCounter += 1;
  return `lj${Date.now().toString(36)}_${process.pid}_${txnCounter}`;
}

/** The Matrix `errcode` of a response, if its body has one. */
export function errcodeOf(res: FederationResponse<unknown>): string | undefined {
  const body = res.body as { errcode?: unknown } | undefined;
  return typeof body?.errcode === 'string' ? body.errcode : undefined;
}
