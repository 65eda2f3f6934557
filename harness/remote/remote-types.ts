/**
 * The remote's public types: bystander servers, route faults, and records of received invites
 * and PDUs.
 */
import type { PDU } from '../matrix/index.ts';
import type { HostedServer } from './routing.ts';

/**
 * What a bystander server does with federation requests other than its keys and version:
 * `serve` answers like the remote (same rooms, its own identity); `not-found` answers 404
 * M_UNRECOGNIZED; `hang` never answers (until `close()`); `drop` closes the connection.
 */
export type BystanderMode = 'serve' | 'not-found' | 'hang' | 'drop';

export interface Bystander extends HostedServer {
  readonly mode: BystanderMode;
  address: string;
  port: number;
  /** `@<localpart>:<serverName>` */
  userId(localpart: string): string;
  /** Changes how federation requests are handled from now on. */
  setMode(mode: BystanderMode): void;
  /**
   * Stops listening, so every later connection is refused (keys included: do it after the
   * candidate has fetched them). Cannot be undone.
   */
  goOffline(): Promise<void>;
}

/** A way to break one route's answer. */
export type Fault =
  /** Answer normally, after `ms` milliseconds. */
  | { kind: 'delay'; ms: number }
  /** Close the connection without answering. */
  | { kind: 'drop' }
  /** Answer with this status (and body, default a Matrix M_UNKNOWN error). */
  | { kind: 'status'; status: number; body?: unknown }
  /** Answer 200 with a body that is not JSON. */
  | { kind: 'malformed' }
  /** Answer normally but with every signature in the body corrupted. */
  | { kind: 'bad-signature' };

export interface InviteRecord {
  event: PDU;
  eventId: string;
  roomVersion: string;
  inviteRoomState: unknown;
  origin: string;
}

export interface PduOutcome {
  eventId?: string;
  /** Origin of the transaction that carried the PDU. */
  origin: string;
  /** Why the PDU was not accepted (absent when accepted). */
  error?: string;
}
