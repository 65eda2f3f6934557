/**
 * The request bodies lazyjoin's client sends, one kind per endpoint, each with a JSON Schema in
 * `schemas/client-request-<kind>.schema.json` written from the Client-Server API. Every body is
 * validated before it leaves, so that a strict server never refuses the suite's own traffic: a
 * body the spec does not allow is a harness error, reported as such, never a candidate's failure.
 */
import { validate, type SchemaId } from '../checks/schema.ts';

export const CLIENT_REQUEST_KINDS = [
  'create-room',
  'join',
  'leave',
  'knock',
  'admin-delete-room',
  'invite',
  'kick',
  'ban',
  'send-event',
  'send-state',
  'set-displayname',
  'update-device',
  'create-alias',
  'set-room-visibility',
  'search-user-directory',
  'receipt',
  'typing',
  'keys-query',
  'keys-upload',
  'send-to-device',
] as const;

export type ClientRequestKind = (typeof CLIENT_REQUEST_KINDS)[number];

export function clientRequestSchemaId(kind: ClientRequestKind): SchemaId {
  return `client-request-${kind}`;
}

/** The body was refused by its schema before it was sent. */
export class ClientRequestError extends Error {
  constructor(
    readonly kind: ClientRequestKind,
    readonly errors: string[],
  ) {
    super(`the suite's ${kind} request body does not match schemas/client-request-${kind}.schema.json: ${errors.join('; ')}`);
    this.name = 'ClientRequestError';
  }
}

/** Throws {@link ClientRequestError} when `body` is not a valid `kind` request body. */
export function checkClientRequest(kind: ClientRequestKind, body: unknown): void {
  const result = validate(clientRequestSchemaId(kind), body);
  if (!result.ok) throw new ClientRequestError(kind, result.errors);
}
