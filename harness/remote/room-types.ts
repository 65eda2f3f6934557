/**
 * The vocabulary of the remote's room model (harness/remote/room.ts): how a room is created
 * (`RoomOptions`) and how an event is asked for (`EventSpec`).
 */
import type { SigningKey } from '../matrix/index.ts';

/** Finds the key a server signs with; the remote answers for itself and its bystanders. */
export type SignerLookup = (serverName: string) => SigningKey | undefined;

export type Membership = 'join' | 'leave' | 'invite' | 'ban' | 'knock';
export type JoinRule = 'public' | 'invite' | 'restricted' | 'knock' | 'knock_restricted' | 'private';

export interface RoomOptions {
  /** Room version ID: any stable version '1' to '12' (default '10'). */
  version?: string;
  /** User ID of the creator; must be on a server whose key the signer lookup knows. */
  creator: string;
  /** Room ID for versions before 12 (default: random on the creator's server). */
  roomId?: string;
  /**
   * Room version 12+: further creators (`additional_creators` of the create event), who like the
   * creator have infinite power and are left out of the power levels' `users`.
   */
  additionalCreators?: string[];
  joinRule?: JoinRule;
  /** Rooms whose members may join a restricted room (`allow` of `m.room.join_rules`). */
  allowRooms?: string[];
  /** `m.room.name`; no name event when absent (heroes then matter). */
  name?: string;
  /** `m.room.canonical_alias` alias; no alias event when absent. */
  alias?: string;
  /**
   * Merged over the default power levels content (creator 100, everyone 0, state 50; from v12 the
   * creators are not listed, their power being infinite).
   */
  powerLevels?: Record<string, unknown>;
  historyVisibility?: 'shared' | 'joined' | 'invited' | 'world_readable';
  /** Extra state events appended after the standard ones, sent by the creator unless given. */
  state?: Array<{ type: string; stateKey?: string; content: Record<string, unknown>; sender?: string }>;
  /** Clock for `origin_server_ts`; default `Date.now`. */
  now?: () => number;
}

/** An event to append (prev/auth events chosen by the model) or to forge (given explicitly). */
export interface EventSpec {
  type: string;
  sender: string;
  content: Record<string, unknown>;
  /** Present for state events (use '' for the empty state key). */
  stateKey?: string;
  /** Explicit prev_events (default: the forward extremities). */
  prevEvents?: string[];
  /** Explicit auth_events (default: chosen by the auth rules from the state before the event). */
  authEvents?: string[];
  /** Explicit depth (default: 1 + the greatest depth among prev_events). */
  depth?: number;
  originServerTs?: number;
  /** Top-level `redacts` for rooms before v11 (v11+ keeps it in content). */
  redacts?: string;
  /** Extra top-level fields merged into the event before signing (e.g. malformed fields for negative tests). */
  extra?: Record<string, unknown>;
  /**
   * An outlier is stored and served (event, event_auth) but is not part of the DAG: it changes
   * neither the forward extremities nor anybody's state.
   */
  outlier?: boolean;
  /** Sign as this server instead of the sender's (for signature tests); must be a known signer. */
  signAs?: string;
}

export function serverOf(userId: string): string {
  const colon = userId.indexOf(':');
  if (!userId.startsWith('@') || colon < 0) throw new Error(`not a user ID: ${JSON.stringify(userId)}`);
  return userId.slice(colon + 1);
}

