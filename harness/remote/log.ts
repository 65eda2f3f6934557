/** The request log every remote keeps: one record per inbound request, readable when a test fails. */

/** What the X-Matrix check concluded for one request. */
export type AuthVerdict =
  | { kind: 'ok'; origin: string; keyId: string }
  | { kind: 'failed'; origin?: string; reason: string }
  /** Routes that take no authentication (key server, version). */
  | { kind: 'none' };

export interface RequestRecord {
  /** 1-based order of arrival on this remote (all of its listeners). */
  seq: number;
  /** Server name the request was addressed to (the remote itself or one of its bystanders). */
  to: string;
  /** Route name (`send_join`, `state_ids`, ...), or `unknown`. */
  route: string;
  method: string;
  path: string;
  query: Record<string, string | string[]>;
  /** Path and query exactly as received (what an X-Matrix signature covers as `uri`). */
  uri: string;
  /** Parsed JSON body, or the raw text if it was not JSON, or undefined if empty. */
  body: unknown;
  auth: AuthVerdict;
  /** The Authorization header as received, if any. */
  authorization?: string;
  /** The X-Matrix origin when known, even for failed checks. */
  origin?: string;
  status?: number;
  /** Parsed response body, or its raw text if not JSON; `'(connection dropped)'` for drop faults. */
  responseBody?: unknown;
  /** Bytes of the response body as sent. */
  responseBytes?: number;
  /** Milliseconds since the remote started. */
  receivedAt: number;
  durationMs?: number;
  /** Set while a gate holds the response. */
  heldBy?: string;
}

export function queryObject(params: URLSearchParams): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const key of new Set(params.keys())) {
    const all = params.getAll(key);
    out[key] = all.length === 1 ? all[0] : all;
  }
  return out;
}

/** JSON text cut to `max` characters, with the cut marked. */
export function trimmedJson(value: unknown, max = 600): string {
  if (value === undefined) return '';
  const text = typeof value === 'string' ? value : JSON.stringify(value);
  return text.length <= max ? text : `${text.slice(0, max)}… (${text.length} chars)`;
}

function authText(auth: AuthVerdict): string {
  switch (auth.kind) {
    case 'ok':
      return `auth ok (${auth.origin} ${auth.keyId})`;
    case 'failed':
      return `AUTH FAILED${auth.origin ? ` (${auth.origin})` : ''}: ${auth.reason}`;
    case 'none':
      return 'no auth';
  }
}

/** One numbered line per request plus trimmed bodies: what a reader needs to follow the wire. */
export function formatRequestLog(serverName: string, records: readonly RequestRecord[], bodyChars = 600): string {
  const lines = [`Request log of remote ${serverName} (${records.length} requests)`];
  for (const r of records) {
    const query = Object.keys(r.query).length ? `?${new URLSearchParams(r.query as Record<string, string>).toString()}` : '';
    const status = r.status === undefined ? (r.heldBy ? `held by ${r.heldBy}` : 'no response') : String(r.status);
    const timing = r.durationMs === undefined ? '' : ` ${r.durationMs} ms`;
    lines.push(`#${r.seq} +${r.receivedAt} ms -> ${r.to} [${r.route}] ${r.method} ${r.path}${query} | ${authText(r.auth)} | ${status}${timing}`);
    if (r.body !== undefined) lines.push(`    request:  ${trimmedJson(r.body, bodyChars)}`);
    if (r.responseBody !== undefined) lines.push(`    response: ${trimmedJson(r.responseBody, bodyChars)}`);
  }
  return lines.join('\n');
}
