/**
 * The wire journal of the running test: every request the suite sends a candidate (through the
 * remotes' federation client) and every request a candidate sends a remote, in order, with their
 * answers. `judge()` attaches what the journal holds to a failing (or known-failure) outcome, so
 * a finding in the report opens the exchange behind it. One test runs at a time in a worker; the
 * conformance fixtures open the journal before a test and close it after.
 */
import type { WireExchange } from './types.ts';

/** Enough of an inbound request record (harness/remote/log.ts RequestRecord) to show it; read when judged, so a late answer shows. */
interface InboundRecord {
  to: string;
  origin?: string;
  method: string;
  path: string;
  query: Record<string, string | string[]>;
  body: unknown;
  status?: number;
  responseBody?: unknown;
  heldBy?: string;
}

type Entry =
  | { kind: 'outbound'; atMs: number; from: string; to: string; method: string; path: string; status?: number; request?: unknown; response?: unknown }
  | { kind: 'inbound'; atMs: number; record: InboundRecord };

/** At most this many exchanges are attached to one finding (the latest ones). */
export const EXCHANGES_PER_FINDING = 25;
/** Bodies longer than this are cut, the cut marked. */
export const EXCHANGE_BODY_CHARS = 1_500;

let journal: { openedAt: number; entries: Entry[] } | undefined;

export function openWireJournal(): void {
  journal = { openedAt: Date.now(), entries: [] };
}

export function closeWireJournal(): void {
  journal = undefined;
}

/** The suite asked a candidate (or another remote); returns a function to record the answer. */
export function noteOutbound(from: string, to: string, method: string, path: string, request: unknown): (status: number | undefined, response: unknown) => void {
  if (!journal) return () => undefined;
  const entry: Entry = { kind: 'outbound', atMs: Date.now() - journal.openedAt, from, to, method, path, ...(request !== undefined ? { request } : {}) };
  journal.entries.push(entry);
  return (status, response) => {
    if (status !== undefined) entry.status = status;
    if (response !== undefined) entry.response = response;
  };
}

/** A remote received a request (the record is read again when judged, so its answer shows). */
export function noteInbound(record: InboundRecord): void {
  journal?.entries.push({ kind: 'inbound', atMs: Date.now() - journal.openedAt, record });
}

/** The journal so far as numbered exchanges, the latest `limit`, bodies trimmed. Empty outside a test. */
export function wireExchanges(limit = EXCHANGES_PER_FINDING, bodyChars = EXCHANGE_BODY_CHARS): WireExchange[] {
  if (!journal) return [];
  const all = journal.entries.map((e, i): WireExchange => {
    if (e.kind === 'outbound') {
      return {
        n: i + 1,
        direction: 'to-candidate',
        from: e.from,
        to: e.to,
        method: e.method,
        path: e.path,
        ...(e.status !== undefined ? { status: e.status } : {}),
        atMs: e.atMs,
        ...(e.request !== undefined ? { request: bodyText(e.request, bodyChars) } : {}),
        ...(e.response !== undefined ? { response: bodyText(e.response, bodyChars) } : {}),
      };
    }
    const r = e.record;
    const query = Object.keys(r.query).length ? `?${new URLSearchParams(r.query as Record<string, string>).toString()}` : '';
    return {
      n: i + 1,
      direction: 'from-candidate',
      from: r.origin ?? '(unauthenticated)',
      to: r.to,
      method: r.method,
      path: `${r.path}${query}`,
      ...(r.status !== undefined ? { status: r.status } : {}),
      atMs: e.atMs,
      ...(r.body !== undefined ? { request: bodyText(r.body, bodyChars) } : {}),
      ...(r.responseBody !== undefined ? { response: bodyText(r.responseBody, bodyChars) } : r.heldBy ? { response: `(held by ${r.heldBy})` } : {}),
    };
  });
  return all.slice(-limit);
}

function bodyText(value: unknown, max: number): string {
  const text = typeof value === 'string' ? value : JSON.stringify(value, null, 1);
  return text.length <= max ? text : `${text.slice(0, max)}… (${text.length - max} more characters)`;
}
