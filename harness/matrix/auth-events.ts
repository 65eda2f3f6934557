/**
 * "Auth events selection" (server-server API): the subset of the room state that an event's
 * `auth_events` should reference.
 */
import type { PDU } from './events.ts';
import { resolveRoomVersion, type RoomVersion } from './room-versions.ts';
import { stateKey, type StateMap } from './state.ts';

/**
 * Event IDs for `event`'s `auth_events`, in this order: create (where the room version puts it in
 * auth events), power levels, the sender's membership, then for memberships: the target's
 * membership, join rules (join, invite, knock), the third-party invite named by
 * `content.third_party_invite.signed.token` (invite), and the membership of
 * `content.join_authorised_via_users_server` (join, in versions with restricted joins). Entries
 * absent from `state` are skipped; each event appears once. The create event has none.
 * `lookupEvent` must know every event the selection picks: a state map pointing at unknown events
 * is a harness bug and throws.
 */
export function selectAuthEvents(
  event: { type: string; state_key?: string; sender: string; content: Record<string, unknown> },
  state: StateMap,
  lookupEvent: (id: string) => PDU | undefined,
  version: RoomVersion | string,
): string[] {
  const v = resolveRoomVersion(version);
  if (event.type === 'm.room.create') return [];
  const wanted: Array<[string, string]> = [];
  if (v.createInAuthEvents) wanted.push(['m.room.create', '']);
  wanted.push(['m.room.power_levels', ''], ['m.room.member', event.sender]);
  if (event.type === 'm.room.member') {
    if (typeof event.state_key !== 'string') throw new Error('selectAuthEvents: an m.room.member event needs a state_key');
    const membership = event.content.membership;
    wanted.push(['m.room.member', event.state_key]);
    if (membership === 'join' || membership === 'invite' || membership === 'knock') wanted.push(['m.room.join_rules', '']);
    const invite = event.content.third_party_invite as { signed?: { token?: unknown } } | undefined;
    const token = invite?.signed?.token;
    if (membership === 'invite' && typeof token === 'string') wanted.push(['m.room.third_party_invite', token]);
    const authoriser = event.content.join_authorised_via_users_server;
    if (membership === 'join' && v.restrictedJoins && typeof authoriser === 'string') wanted.push(['m.room.member', authoriser]);
  }
  const selected: string[] = [];
  for (const [type, sk] of wanted) {
    const id = state.get(stateKey(type, sk));
    if (id === undefined || selected.includes(id)) continue;
    if (!lookupEvent(id)) throw new Error(`selectAuthEvents: state (${type}, ${JSON.stringify(sk)}) points at unknown event ${id}`);
    selected.push(id);
  }
  return selected;
}
