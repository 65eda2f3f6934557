/**
 * A bare auth DAG for the state resolution self-tests: events with short IDs (`$e1`, ...), no
 * hashes or signatures (state resolution reads neither), auth events chosen by the selection rules
 * from a given state, and each event judged by the auth rules against that state as it is added.
 */
import { authorize } from '../auth-rules.ts';
import { selectAuthEvents } from '../auth-events.ts';
import type { PDU } from '../events.ts';
import { resolveRoomVersion, type RoomVersion } from '../room-versions.ts';
import { stateKey, type StateMap } from '../state.ts';
import type { StateResolutionInput } from '../state-res.ts';

export interface EventSpec {
  type: string;
  sender: string;
  stateKey?: string;
  content: Record<string, unknown>;
  ts?: number;
}

export class AuthDag {
  readonly version: RoomVersion;
  readonly events = new Map<string, PDU>();
  createId = '';
  private n = 0;
  private clock = 1_000;

  constructor(version: string) {
    this.version = resolveRoomVersion(version);
  }

  /** Adds an event on top of `state`; returns its ID and the state after it, or the auth rules' refusal. */
  tryAdd(state: StateMap, spec: EventSpec, prevEvents: string[] = []): { id: string; state: StateMap } | { refused: string } {
    const pdu = {
      room_id: '!room:a.test',
      sender: spec.sender,
      type: spec.type,
      ...(spec.stateKey === undefined ? {} : { state_key: spec.stateKey }),
      content: spec.content,
      origin_server_ts: spec.ts ?? ++this.clock,
      depth: this.n + 1,
      prev_events: prevEvents,
      auth_events: [] as string[],
    } as PDU;
    pdu.auth_events = selectAuthEvents(pdu, state, (id) => this.events.get(id), this.version);
    const lookup = (type: string, sk: string) => {
      const id = state.get(stateKey(type, sk)) ?? (type === 'm.room.create' && sk === '' && this.createId ? this.createId : undefined);
      const event = id === undefined ? undefined : this.events.get(id);
      return id !== undefined && event ? { id, event } : undefined;
    };
    const decision = authorize(pdu, lookup, this.version);
    if (!decision.ok) return { refused: decision.reason };
    const id = `$e${++this.n}`;
    this.events.set(id, pdu);
    const after = new Map(state);
    if (spec.stateKey !== undefined) after.set(stateKey(spec.type, spec.stateKey), id);
    return { id, state: after };
  }

  /** Like tryAdd, but an event the rules refuse is a mistake in the test. */
  add(state: StateMap, spec: EventSpec, prevEvents: string[] = []): { id: string; state: StateMap } {
    const r = this.tryAdd(state, spec, prevEvents);
    if ('refused' in r) throw new Error(`${spec.type} by ${spec.sender} refused: ${r.refused}`);
    return r;
  }

  /** Power levels content: `users` without the creators in versions where they hold infinite power. */
  powerLevels(users: Record<string, number>, extra: Record<string, unknown> = {}): Record<string, unknown> {
    const listed = { ...users };
    if (this.version.privilegedCreators) delete listed[CREATOR];
    return { users: listed, users_default: 0, events_default: 0, state_default: 50, ban: 50, kick: 50, redact: 50, invite: 0, ...extra };
  }

  /** A room created by @alice with power levels (alice 100 and `users`), public join rules, and the given users joined. */
  room(users: Record<string, number>, joined: string[], extra: Record<string, unknown> = {}): StateMap {
    const createContent: Record<string, unknown> = { room_version: this.version.id };
    if (this.version.createHasCreator) createContent.creator = CREATOR;
    const create = this.add(new Map(), { type: 'm.room.create', sender: CREATOR, stateKey: '', content: createContent });
    this.createId = create.id;
    let s = this.add(create.state, { type: 'm.room.member', sender: CREATOR, stateKey: CREATOR, content: { membership: 'join' } }, [create.id]).state;
    s = this.add(s, { type: 'm.room.power_levels', sender: CREATOR, stateKey: '', content: this.powerLevels({ [CREATOR]: 100, ...users }, extra) }).state;
    s = this.add(s, { type: 'm.room.join_rules', sender: CREATOR, stateKey: '', content: { join_rule: 'public' } }).state;
    for (const u of joined) s = this.add(s, { type: 'm.room.member', sender: u, stateKey: u, content: { membership: 'join' } }).state;
    return s;
  }

  /** The state resolution input over this DAG. */
  input(stateSets: StateMap[]): StateResolutionInput {
    return { version: this.version, stateSets, event: (id) => this.events.get(id), createEventId: this.createId };
  }
}

export const CREATOR = '@alice:a.test';
