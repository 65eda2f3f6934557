/**
 * Signing a chain of membership events with no Room at hand: the part of bulk member creation
 * that runs in worker threads. Each chain is linear; its auth events come from the state it was
 * given plus its own events (so a member's leave cites the same chain's join).
 */
import { selectAuthEvents, signEvent, signingKeyFromSeed, stateKey, type PDU, type SigningKey } from '../matrix/index.ts';

export type BulkMembership = 'join' | 'leave' | 'ban' | 'invite';

/** One membership event: `sender` sets `target`'s membership. */
export interface MembershipOp {
  sender: string;
  target: string;
  membership: BulkMembership;
}

export interface ChainInput {
  roomId: string;
  version: string;
  /** State the chain starts from, as [stateMapKey, eventId] pairs. */
  state: Array<[string, string]>;
  /** The chain's first prev_events and depth. */
  prevEvents: string[];
  depth: number;
  keys: Array<{ serverName: string; keyId: string; seed: Uint8Array }>;
  ops: MembershipOp[];
  /** origin_server_ts of the first event; each next one is 1 ms later. */
  firstTs: number;
}

export interface SignedChainEvent {
  eventId: string;
  /** The event as JSON (the receiver parses it and keeps the text for responses). */
  json: string;
}

/** Signs `input.ops` in order; yields each signed event. */
export function* signMembershipChain(input: ChainInput): Generator<SignedChainEvent> {
  const keys = new Map<string, SigningKey>(input.keys.map((k) => [k.serverName, signingKeyFromSeed(k.seed, k.keyId)]));
  const state = new Map(input.state);
  // selectAuthEvents only asks whether an event is known; every ID in `state` is.
  const known = new Set(state.values());
  const lookup = (id: string) => (known.has(id) ? ({} as PDU) : undefined);
  let prevEvents = input.prevEvents;
  let depth = input.depth;
  let ts = input.firstTs;
  for (const op of input.ops) {
    const server = op.sender.slice(op.sender.indexOf(':') + 1);
    const key = keys.get(server);
    if (!key) throw new Error(`bulk membership: no key for ${server}`);
    const draft = {
      room_id: input.roomId,
      sender: op.sender,
      type: 'm.room.member',
      state_key: op.target,
      content: { membership: op.membership },
      origin_server_ts: ts++,
      depth: depth++,
      prev_events: prevEvents,
      auth_events: [] as string[],
    } as PDU;
    draft.auth_events = selectAuthEvents(draft, state, lookup, input.version);
    const { event, eventId } = signEvent(draft, server, key, input.version);
    state.set(stateKey('m.room.member', op.target), eventId);
    known.add(eventId);
    prevEvents = [eventId];
    yield { eventId, json: JSON.stringify(event) };
  }
}
