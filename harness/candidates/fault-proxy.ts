/**
 * Known-bad candidates: a proxy in front of a real candidate's client and federation APIs that
 * rewrites some of its answers, so that the suite can prove its checks fail a server that breaks
 * a requirement (and do not fail one that is merely slow). Used by the known-bad self-tests
 * through `LAZYJOIN_FAULTS` (a comma list of fault names), never in a conformance run.
 *
 * The client proxy listens on plain HTTP; the federation proxy on HTTPS with a certificate of the
 * suite CA, and the suite's federation client is pointed at it (`setServerUrl`), so the remotes'
 * requests to the candidate pass through it. The candidate's own outbound requests are untouched.
 */
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { request as undiciRequest } from 'undici';
import { baseUrlFor, clearServerUrl, federationAgent, setServerUrl } from '../remote/discovery.ts';
import { allocateLoopbackAddress } from '../remote/identity.ts';
import { issueServerCert } from '../remote/pki.ts';
import type { Candidate } from './types.ts';

export const FAULTS = {
  'members-local-only': 'answers GET /members at once with only the members of the candidate\'s own server (as a server that asked for partial state and will not wait for its resync)',
  'eager-sync-shows-partial': 'shows rooms a lazy-loading /sync has but an eager one leaves out (partial-state rooms) in eager syncs',
  'joined-members-local-only': 'answers GET /joined_members with only the members of the candidate\'s own server',
  'send-join-drops-hero': 'drops the first membership other than the joiner\'s from the state of a partial send_join answer (a hero)',
  'send-join-flag-lies': 'sets members_omitted to false on a partial send_join answer',
  'send-join-strips-signatures': 'strips the signatures of every event of a send_join answer',
  'state-ids-leaks': 'answers /state_ids with an empty 200 where the candidate refused it (leaking the room to a stranger)',
  'state-ids-drops-event': 'drops the first event ID from every 200 answer to /state_ids',
  slow: 'answers everything correctly, 400 ms late',
} as const;

export type FaultName = keyof typeof FAULTS;

/** The faults named in `LAZYJOIN_FAULTS`; a clear error for an unknown one. */
export function faultsFromEnv(env: NodeJS.ProcessEnv = process.env): FaultName[] {
  const names = (env.LAZYJOIN_FAULTS ?? '').split(',').map((s) => s.trim()).filter(Boolean);
  for (const n of names) if (!(n in FAULTS)) throw new Error(`LAZYJOIN_FAULTS: unknown fault ${JSON.stringify(n)} (known: ${Object.keys(FAULTS).join(', ')})`);
  return names as FaultName[];
}

const SLOW_MS = 400;
const HOP_HEADERS = new Set(['connection', 'keep-alive', 'transfer-encoding', 'host', 'content-length', 'upgrade', 'proxy-connection']);

interface Exchange {
  method: string;
  path: string;
  headers: Record<string, string>;
  body: Buffer;
}

interface Answer {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
}

export interface FaultProxy {
  clientUrl: string;
  federationUrl: string;
  close(): Promise<void>;
}

/** Starts the proxies and points the suite's federation traffic for the candidate at them. */
export async function startFaultProxy(candidate: Candidate, faults: FaultName[]): Promise<FaultProxy> {
  const has = (f: FaultName) => faults.includes(f);
  const localSuffix = `:${candidate.serverName}`;
  const federationTarget = baseUrlFor(candidate.serverName);

  const forward = async (base: string, x: Exchange, federation: boolean): Promise<Answer> => {
    const res = await undiciRequest(`${base}${x.path}`, {
      method: x.method as 'GET',
      headers: x.headers,
      ...(x.body.length ? { body: x.body } : {}),
      ...(federation ? { dispatcher: federationAgent() } : {}),
      headersTimeout: 120_000,
      bodyTimeout: 120_000,
    });
    const body = Buffer.from(await res.body.arrayBuffer());
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(res.headers)) if (!HOP_HEADERS.has(k) && v !== undefined) headers[k] = Array.isArray(v) ? v.join(', ') : String(v);
    return { status: res.statusCode, headers, body };
  };

  const asJson = (a: Answer): unknown => {
    try {
      return JSON.parse(a.body.toString('utf8'));
    } catch {
      return undefined;
    }
  };
  const withJson = (a: Answer, body: unknown): Answer => ({ ...a, headers: { ...a.headers, 'content-type': 'application/json' }, body: Buffer.from(JSON.stringify(body)) });

  const client = async (x: Exchange): Promise<Answer> => {
    const url = new URL(x.path, 'http://proxy.invalid');
    const members = /^\/_matrix\/client\/v3\/rooms\/([^/]+)\/members$/.exec(url.pathname);
    if (has('members-local-only') && x.method === 'GET' && members) {
      // Answer at once from what a lazy-loading sync shows: the local members only.
      const roomId = decodeURIComponent(members[1]);
      const filter = JSON.stringify({ room: { rooms: [roomId], state: { lazy_load_members: true }, timeline: { limit: 1 } } });
      const sync = await forward(candidate.clientUrl, { ...x, path: `/_matrix/client/v3/sync?timeout=0&filter=${encodeURIComponent(filter)}`, body: Buffer.alloc(0) }, false);
      const room = (asJson(sync) as { rooms?: { join?: Record<string, { state?: { events?: Array<Record<string, unknown>> }; timeline?: { events?: Array<Record<string, unknown>> } }> } } | undefined)?.rooms?.join?.[roomId];
      const local = [...(room?.state?.events ?? []), ...(room?.timeline?.events ?? [])].filter((e) => e.type === 'm.room.member' && String(e.state_key).endsWith(localSuffix));
      return { status: 200, headers: { 'content-type': 'application/json' }, body: Buffer.from(JSON.stringify({ chunk: local })) };
    }
    const answer = await forward(candidate.clientUrl, x, false);
    if (answer.status !== 200) return answer;
    if (has('joined-members-local-only') && /\/rooms\/[^/]+\/joined_members$/.test(url.pathname)) {
      const body = asJson(answer) as { joined?: Record<string, unknown> };
      if (body?.joined) return withJson(answer, { ...body, joined: Object.fromEntries(Object.entries(body.joined).filter(([u]) => u.endsWith(localSuffix))) });
    }
    if (has('eager-sync-shows-partial') && url.pathname === '/_matrix/client/v3/sync' && !lazyFilter(url.searchParams.get('filter'))) {
      const eager = asJson(answer) as { rooms?: { join?: Record<string, unknown> } };
      const lazyUrl = new URL(url);
      lazyUrl.searchParams.set('filter', JSON.stringify({ room: { state: { lazy_load_members: true }, timeline: { lazy_load_members: true } } }));
      lazyUrl.searchParams.set('timeout', '0');
      const lazy = asJson(await forward(candidate.clientUrl, { ...x, path: `${lazyUrl.pathname}${lazyUrl.search}` }, false)) as { rooms?: { join?: Record<string, unknown> } } | undefined;
      const missing = Object.entries(lazy?.rooms?.join ?? {}).filter(([id]) => !(id in (eager?.rooms?.join ?? {})));
      if (missing.length && eager) return withJson(answer, { ...eager, rooms: { ...eager.rooms, join: { ...(eager.rooms?.join ?? {}), ...Object.fromEntries(missing) } } });
    }
    return answer;
  };

  const federation = async (x: Exchange): Promise<Answer> => {
    const answer = await forward(federationTarget, x, true);
    const path = new URL(x.path, 'https://proxy.invalid').pathname;
    if (path.startsWith('/_matrix/federation/v2/send_join/') && answer.status === 200) {
      const body = asJson(answer) as { state?: Array<Record<string, unknown>>; auth_chain?: Array<Record<string, unknown>>; event?: Record<string, unknown>; members_omitted?: unknown } | undefined;
      if (!body) return answer;
      if (has('send-join-drops-hero') && body.members_omitted === true && Array.isArray(body.state)) {
        const joiner = body.event?.state_key;
        const hero = body.state.findIndex((e) => e.type === 'm.room.member' && e.state_key !== joiner);
        if (hero >= 0) body.state.splice(hero, 1);
      }
      if (has('send-join-flag-lies') && body.members_omitted === true) body.members_omitted = false;
      if (has('send-join-strips-signatures')) for (const e of [...(body.state ?? []), ...(body.auth_chain ?? [])]) delete e.signatures;
      return withJson(answer, body);
    }
    if (path.startsWith('/_matrix/federation/v1/state_ids/')) {
      if (has('state-ids-leaks') && answer.status === 403) return withJson({ ...answer, status: 200 }, { pdu_ids: [], auth_chain_ids: [] });
      if (has('state-ids-drops-event') && answer.status === 200) {
        const body = asJson(answer) as { pdu_ids?: unknown[] };
        if (Array.isArray(body?.pdu_ids)) return withJson(answer, { ...body, pdu_ids: body.pdu_ids.slice(1) });
      }
    }
    return answer;
  };

  const handler = (rewrite: (x: Exchange) => Promise<Answer>) => (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(req.headers)) if (!HOP_HEADERS.has(k) && v !== undefined) headers[k] = Array.isArray(v) ? v.join(', ') : v;
      const exchange = { method: req.method ?? 'GET', path: req.url ?? '/', headers, body: Buffer.concat(chunks) };
      (async () => {
        if (has('slow')) await new Promise((r) => setTimeout(r, SLOW_MS));
        return rewrite(exchange);
      })().then(
        (a) => {
          res.writeHead(a.status, { ...a.headers, 'content-length': String(a.body.length) });
          res.end(a.body);
        },
        (err: Error) => {
          if (!res.headersSent) res.writeHead(502, { 'content-type': 'application/json' });
          res.end(JSON.stringify({ errcode: 'M_UNKNOWN', error: `fault proxy: ${err.message}` }));
        },
      );
    });
  };

  const clientServer = createHttpServer(handler(client));
  await listen(clientServer, '127.0.0.1');
  const address = allocateLoopbackAddress();
  const cert = await issueServerCert([address]);
  const federationServer = createHttpsServer({ cert: cert.certPem, key: cert.keyPem }, handler(federation));
  await listen(federationServer, address);
  const federationUrl = `https://${address}:${(federationServer.address() as AddressInfo).port}`;
  setServerUrl(candidate.serverName, federationUrl);
  return {
    clientUrl: `http://127.0.0.1:${(clientServer.address() as AddressInfo).port}`,
    federationUrl,
    async close() {
      clearServerUrl(candidate.serverName);
      for (const s of [clientServer, federationServer]) {
        s.closeAllConnections();
        await new Promise<void>((r) => s.close(() => r()));
      }
    },
  };
}

/** Whether a /sync filter parameter (inline JSON) asks for lazy-loaded members; a filter ID counts as not lazy. */
function lazyFilter(filter: string | null): boolean {
  if (!filter || !filter.trim().startsWith('{')) return false;
  try {
    const f = JSON.parse(filter) as { room?: { state?: { lazy_load_members?: boolean } } };
    return f.room?.state?.lazy_load_members === true;
  } catch {
    return false;
  }
}

function listen(server: Server, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', (e) => reject(new Error(`fault proxy cannot listen on ${host}: ${e.message}`)));
    server.listen(0, host, () => resolve());
  });
}

/** The candidate as seen through the proxy: same server, client and federation URLs of the proxy. */
export function behindProxy(candidate: Candidate, proxy: FaultProxy): Candidate {
  return new Proxy(candidate, {
    get(target, prop) {
      if (prop === 'clientUrl') return proxy.clientUrl;
      if (prop === 'federationUrl') return proxy.federationUrl;
      const value = Reflect.get(target, prop, target) as unknown;
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
}
