/**
 * What a resident answers to `/v2/send_join`: the state before the join and the auth chain, full
 * or partial (MSC3706 `omit_members`, with MSC3943's heroes), as event IDs; the route serialises.
 */
import { stateKey as stateMapKey } from '../matrix/index.ts';
import type { Room } from './room.ts';
import { collectSteps, pacer, runSliced, runToEnd, type Steps } from './slices.ts';

export interface SendJoinContent {
  /** Event IDs for `state`. */
  state: string[];
  /** Event IDs for `auth_chain`, de-duplicated, in stream order. */
  authChain: string[];
  /** Whether `m.room.member` events were left out of `state`. */
  membersOmitted: boolean;
  /** Servers with joined members before the join. */
  serversInRoom: string[];
  /** Heroes whose memberships were kept in a partial `state` (empty if the room has a name or alias, or for full state). */
  heroes: string[];
}

/**
 * Computes the response content for the join event `joinEventId` (already stored in `room`) by
 * `joiner`. Partial (`omitMembers`): every `m.room.member` event is left out of `state` except
 * the heroes' (only when the room is nameless, MSC3943) and the joiner's own prior membership;
 * `auth_chain` covers the join and every returned state event, without events already in
 * `state` (which the spec permits when `omit_members` is true). Full: the whole state, and the
 * full auth chain of the join and of every state event (nothing dropped).
 */
export function sendJoinContent(room: Room, joinEventId: string, joiner: string, omitMembers: boolean): SendJoinContent {
  return runToEnd(sendJoinSteps(room, joinEventId, joiner, omitMembers));
}

/**
 * `sendJoinContent` in slices between which the event loop runs: what the route uses, so that a
 * remote working out a 150,000-member answer still answers the key requests meanwhile.
 */
export function sendJoinContentAsync(room: Room, joinEventId: string, joiner: string, omitMembers: boolean): Promise<SendJoinContent> {
  return runSliced(sendJoinSteps(room, joinEventId, joiner, omitMembers));
}

function* sendJoinSteps(room: Room, joinEventId: string, joiner: string, omitMembers: boolean): Steps<SendJoinContent> {
  const before = yield* room.stateBeforeSteps(joinEventId);
  yield;
  const serversInRoom = yield* room.serversInRoomSteps(before);
  if (!omitMembers) {
    const state = yield* collectSteps(before.values());
    return { state, authChain: yield* room.authChainSteps(joinAndState(joinEventId, state)), membersOmitted: false, serversInRoom, heroes: [] };
  }
  const heroes = room.isNameless(before) ? yield* room.heroesSteps(joiner, before) : [];
  const keptMembers = new Set([...heroes, joiner].map((u) => stateMapKey('m.room.member', u)));
  const pace = pacer();
  const state: string[] = [];
  for (const [key, id] of before) {
    if (pace()) yield;
    if (room.mustEvent(id).type !== 'm.room.member' || keptMembers.has(key)) state.push(id);
  }
  const inState = new Set(state);
  const authChain = (yield* room.authChainSteps(joinAndState(joinEventId, state))).filter((id) => !inState.has(id));
  return { state, authChain, membersOmitted: true, serversInRoom, heroes };
}

/** The join then the state's events, without copying a 150,000-entry list. */
function* joinAndState(joinEventId: string, state: readonly string[]): Generator<string> {
  yield joinEventId;
  yield* state;
}
