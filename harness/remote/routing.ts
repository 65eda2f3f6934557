/**
 * The federation routes a remote knows, and the shapes handlers take and return. One table: the
 * router matches on it, tests name routes by its names (`remote.route('send_join', ...)`,
 * `remote.gate('state_ids')`), and the request log records them.
 */
import type { SigningKey } from '../matrix/index.ts';
import type { Remote } from './remote.ts';
import type { Room } from './room.ts';

export type RouteName =
  | 'key_server'
  | 'version'
  | 'make_join'
  | 'send_join'
  | 'send_join_v1'
  | 'make_leave'
  | 'send_leave'
  | 'send_leave_v1'
  | 'invite'
  | 'state'
  | 'state_ids'
  | 'event'
  | 'event_auth'
  | 'get_missing_events'
  | 'backfill'
  | 'send'
  | 'user_devices'
  | 'user_keys_query'
  | 'query_directory';

interface RouteDef {
  name: RouteName;
  method: 'GET' | 'PUT' | 'POST';
  /** Path with `{param}` segments. */
  path: string;
  /** False for the key server and version, which take no X-Matrix authentication. */
  authenticated: boolean;
}

const F = '/_matrix/federation';
const ROUTES: RouteDef[] = [
  { name: 'key_server', method: 'GET', path: '/_matrix/key/v2/server', authenticated: false },
  { name: 'key_server', method: 'GET', path: '/_matrix/key/v2/server/{keyId}', authenticated: false },
  { name: 'version', method: 'GET', path: `${F}/v1/version`, authenticated: false },
  { name: 'make_join', method: 'GET', path: `${F}/v1/make_join/{roomId}/{userId}`, authenticated: true },
  { name: 'send_join', method: 'PUT', path: `${F}/v2/send_join/{roomId}/{eventId}`, authenticated: true },
  { name: 'send_join_v1', method: 'PUT', path: `${F}/v1/send_join/{roomId}/{eventId}`, authenticated: true },
  { name: 'make_leave', method: 'GET', path: `${F}/v1/make_leave/{roomId}/{userId}`, authenticated: true },
  { name: 'send_leave', method: 'PUT', path: `${F}/v2/send_leave/{roomId}/{eventId}`, authenticated: true },
  { name: 'send_leave_v1', method: 'PUT', path: `${F}/v1/send_leave/{roomId}/{eventId}`, authenticated: true },
  { name: 'invite', method: 'PUT', path: `${F}/v2/invite/{roomId}/{eventId}`, authenticated: true },
  { name: 'state', method: 'GET', path: `${F}/v1/state/{roomId}`, authenticated: true },
  { name: 'state_ids', method: 'GET', path: `${F}/v1/state_ids/{roomId}`, authenticated: true },
  { name: 'event', method: 'GET', path: `${F}/v1/event/{eventId}`, authenticated: true },
  { name: 'event_auth', method: 'GET', path: `${F}/v1/event_auth/{roomId}/{eventId}`, authenticated: true },
  { name: 'get_missing_events', method: 'POST', path: `${F}/v1/get_missing_events/{roomId}`, authenticated: true },
  { name: 'backfill', method: 'GET', path: `${F}/v1/backfill/{roomId}`, authenticated: true },
  { name: 'send', method: 'PUT', path: `${F}/v1/send/{txnId}`, authenticated: true },
  { name: 'user_devices', method: 'GET', path: `${F}/v1/user/devices/{userId}`, authenticated: true },
  { name: 'user_keys_query', method: 'POST', path: `${F}/v1/user/keys/query`, authenticated: true },
  { name: 'query_directory', method: 'GET', path: `${F}/v1/query/directory`, authenticated: true },
];

interface CompiledRoute extends RouteDef {
  regex: RegExp;
  params: string[];
}

const COMPILED: CompiledRoute[] = ROUTES.map((r) => {
  const params: string[] = [];
  const source = r.path.replace(/\{(\w+)\}/g, (_m, name: string) => {
    params.push(name);
    return '([^/]+)';
  });
  return { ...r, regex: new RegExp(`^${source}$`), params };
});

export const ROUTE_NAMES: readonly RouteName[] = [...new Set(ROUTES.map((r) => r.name))];

export type RouteMatch =
  | { kind: 'route'; name: RouteName; authenticated: boolean; params: Record<string, string> }
  /** A known path with another method: 405 M_UNRECOGNIZED. */
  | { kind: 'wrong-method'; name: RouteName }
  | { kind: 'unknown' };

/** Matches a request path (already without query) to a route; path parameters are decoded. */
export function matchRoute(method: string, path: string): RouteMatch {
  let wrongMethod: RouteName | undefined;
  for (const r of COMPILED) {
    const m = r.regex.exec(path);
    if (!m) continue;
    if (r.method !== method) {
      wrongMethod ??= r.name;
      continue;
    }
    const params: Record<string, string> = {};
    try {
      r.params.forEach((name, i) => (params[name] = decodeURIComponent(m[i + 1])));
    } catch {
      return { kind: 'unknown' };
    }
    return { kind: 'route', name: r.name, authenticated: r.authenticated, params };
  }
  return wrongMethod ? { kind: 'wrong-method', name: wrongMethod } : { kind: 'unknown' };
}

/** A server name this remote answers as: the remote itself or one of its bystanders. */
export interface HostedServer {
  serverName: string;
  key: SigningKey;
}

export interface RouteContext {
  remote: Remote;
  /** The server the request was addressed to. */
  self: HostedServer;
  route: RouteName;
  method: string;
  path: string;
  query: URLSearchParams;
  params: Record<string, string>;
  /** Parsed JSON body (undefined when there was none). */
  body: unknown;
  /** The authenticated X-Matrix origin ('' for unauthenticated routes). */
  origin: string;
}

export interface RouteResponse {
  status: number;
  /** JSON body; ignored when `raw` or `chunks` is set. */
  body?: unknown;
  /** Body text sent as is (prebuilt JSON, or garbage for negative tests). */
  raw?: string;
  /**
   * Body text made piece by piece, for big answers (a room's whole state): the remote writes one
   * piece at a time, honouring back-pressure and letting other requests in between pieces, so that
   * writing 150 MB does not hold other requests (key fetches above all) up for its whole length.
   * Each call starts afresh. Ignored when `raw` is set. An async iterable paces the body itself
   * (pieces dribbled out over time); such a body cannot be read back by `responseText`.
   */
  chunks?: () => Iterable<string> | AsyncIterable<string>;
  headers?: Record<string, string>;
}

/** The whole body text of a response, however it was given (`raw`, `chunks` or `body`). */
export function responseText(response: RouteResponse): string {
  if (response.raw !== undefined) return response.raw;
  if (response.chunks) {
    const chunks = response.chunks();
    if (!(Symbol.iterator in chunks)) throw new Error('a dribbled (async) body cannot be read back as text');
    return [...chunks].join('');
  }
  return response.body === undefined ? '' : JSON.stringify(response.body);
}

/** Events per piece of a chunked event list: small enough that one piece costs a millisecond or so. */
const EVENTS_PER_CHUNK = 500;

/**
 * A 200 answer whose body is a JSON object of event lists of `room` (given as event IDs) and
 * other members (given as JSON text), in that order, made in pieces (see `RouteResponse.chunks`).
 */
export function chunkedAnswer(room: Room, lists: Record<string, readonly string[]>, others: ReadonlyArray<readonly [string, string]> = []): RouteResponse {
  return {
    status: 200,
    *chunks() {
      let sep = '{';
      for (const [name, ids] of Object.entries(lists)) {
        yield `${sep}${JSON.stringify(name)}:`;
        yield* eventListChunks(room, ids);
        sep = ',';
      }
      for (const [name, text] of others) yield `${sep}${JSON.stringify(name)}:${text}`;
      yield '}';
    },
  };
}

/** A JSON array of `room`'s events `ids`, as pieces of EVENTS_PER_CHUNK events. */
function* eventListChunks(room: Room, ids: readonly string[]): Generator<string> {
  if (!ids.length) {
    yield '[]';
    return;
  }
  for (let i = 0; i < ids.length; i += EVENTS_PER_CHUNK) {
    const slice = ids.slice(i, i + EVENTS_PER_CHUNK).map((id) => room.eventJson(id));
    yield (i === 0 ? '[' : ',') + slice.join(',') + (i + EVENTS_PER_CHUNK >= ids.length ? ']' : '');
  }
}

export type RouteHandler = (ctx: RouteContext) => RouteResponse | Promise<RouteResponse>;

export function json(body: unknown, status = 200): RouteResponse {
  return { status, body };
}

/** A Matrix error response (`{errcode, error}` plus any extra fields). */
export function matrixError(status: number, errcode: string, error: string, extra: Record<string, unknown> = {}): RouteResponse {
  return { status, body: { errcode, error, ...extra } };
}

/** True for a handler's early answer (as opposed to the value it was looking up). */
export function isResponse(x: unknown): x is RouteResponse {
  return typeof x === 'object' && x !== null && typeof (x as { status?: unknown }).status === 'number';
}

/** The room named by the `roomId` path parameter, or a 404 M_NOT_FOUND answer. */
export function roomOf(ctx: RouteContext): Room | RouteResponse {
  const room = ctx.remote.rooms.get(ctx.params.roomId);
  return room ?? matrixError(404, 'M_NOT_FOUND', `room ${ctx.params.roomId} is not known to ${ctx.self.serverName}`);
}
