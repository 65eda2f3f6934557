/** PUT /send/{txnId}: PDUs checked (signatures, hashes) and stored; EDUs recorded. */
import type { PDU } from '../../matrix/index.ts';
import { json, matrixError, type RouteHandler } from '../routing.ts';

/** Limits of one transaction (server-server API `/send`). */
const MAX_PDUS = 50;
const MAX_EDUS = 100;

export const send: RouteHandler = async (ctx) => {
  const body = ctx.body as { origin?: unknown; pdus?: unknown; edus?: unknown } | undefined;
  if (typeof body !== 'object' || body === null || !Array.isArray(body.pdus)) return matrixError(400, 'M_BAD_JSON', 'a transaction needs a pdus array');
  if (body.edus !== undefined && !Array.isArray(body.edus)) return matrixError(400, 'M_BAD_JSON', 'edus must be an array');
  const edus = (body.edus ?? []) as Array<Record<string, unknown>>;
  if (body.pdus.length > MAX_PDUS || edus.length > MAX_EDUS) {
    return matrixError(400, 'M_BAD_JSON', `a transaction carries at most ${MAX_PDUS} PDUs and ${MAX_EDUS} EDUs (got ${body.pdus.length} and ${edus.length})`);
  }
  const results: Record<string, Record<string, string>> = {};
  for (const pdu of body.pdus as PDU[]) {
    const outcome = await ctx.remote.receivePdu(pdu, ctx.origin);
    if (outcome.eventId) results[outcome.eventId] = outcome.error ? { error: outcome.error } : {};
  }
  for (const edu of edus) ctx.remote.edus.push({ ...edu, origin: ctx.origin } as ReceivedEdu);
  return json({ pdus: results });
};

export interface ReceivedEdu {
  edu_type: string;
  content: Record<string, unknown>;
  /** The transaction's X-Matrix origin. */
  origin: string;
}
