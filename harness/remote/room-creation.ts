/**
 * The standard creation events of a room the remote creates (`Room.create`), per room version:
 * what the create event holds and which state follows it. Everything a version changes is read
 * from the room-version table.
 */
import type { RoomVersion } from '../matrix/index.ts';
import type { EventSpec, RoomOptions } from './room-types.ts';

/** `m.room.create` content: the version, `creator` where the version has it, v12's `additional_creators`. */
export function createContent(opts: RoomOptions, v: RoomVersion): Record<string, unknown> {
  const content: Record<string, unknown> = { room_version: v.id };
  if (v.createHasCreator) content.creator = opts.creator;
  if (opts.additionalCreators !== undefined) {
    if (!v.privilegedCreators) throw new Error(`room version ${v.id} has no additional_creators (they exist where creators are privileged, from version 12)`);
    content.additional_creators = opts.additionalCreators;
  }
  return content;
}

/** Join rules a version's auth rules accept, from the table: knock needs `knocking`, restricted needs `restrictedJoins`. */
function checkJoinRule(joinRule: string, v: RoomVersion): void {
  const needs: Record<string, keyof RoomVersion | undefined> = { knock: 'knocking', restricted: 'restrictedJoins', knock_restricted: 'knockRestricted' };
  const feature = needs[joinRule];
  if (feature && !v[feature]) throw new Error(`room version ${v.id} has no ${JSON.stringify(joinRule)} join rule (${feature} is a later version's)`);
}

/**
 * Power-level overrides with the creators left out of `users` where creators are privileged (v12+):
 * a scenario that gives its creator 100 means "the most powerful", which a v12 creator already is,
 * and a v12 power-levels event listing a creator is invalid.
 */
function withoutCreators(powerLevels: Record<string, unknown> | undefined, creators: string[]): Record<string, unknown> {
  const users = powerLevels?.users as Record<string, unknown> | undefined;
  if (!powerLevels || !users || creators.length === 0) return { ...powerLevels };
  return { ...powerLevels, users: Object.fromEntries(Object.entries(users).filter(([u]) => !creators.includes(u))) };
}

/** The events after the create event: the creator's join, power levels, join rules, history visibility, then name, alias and extra state. */
export function stateAfterCreate(opts: RoomOptions, v: RoomVersion): EventSpec[] {
  const creator = opts.creator;
  const joinRule = opts.joinRule ?? 'public';
  checkJoinRule(joinRule, v);
  // Creators have infinite power from v12 and must not be listed.
  const users: Record<string, number> = v.privilegedCreators ? {} : { [creator]: 100 };
  const joinRulesContent: Record<string, unknown> = { join_rule: joinRule };
  if (joinRule === 'restricted' || joinRule === 'knock_restricted') {
    joinRulesContent.allow = (opts.allowRooms ?? []).map((room_id) => ({ type: 'm.room_membership', room_id }));
  }
  const state = (type: string, content: Record<string, unknown>, stateKey = '', sender = creator): EventSpec => ({ type, stateKey, sender, content });
  const specs: EventSpec[] = [
    state('m.room.member', { membership: 'join' }, creator),
    state('m.room.power_levels', {
      users,
      users_default: 0,
      events: {},
      events_default: 0,
      state_default: 50,
      ban: 50,
      kick: 50,
      redact: 50,
      invite: 0,
      ...withoutCreators(opts.powerLevels, v.privilegedCreators ? [creator, ...(opts.additionalCreators ?? [])] : []),
    }),
    state('m.room.join_rules', joinRulesContent),
    state('m.room.history_visibility', { history_visibility: opts.historyVisibility ?? 'shared' }),
  ];
  if (opts.name !== undefined) specs.push(state('m.room.name', { name: opts.name }));
  if (opts.alias !== undefined) specs.push(state('m.room.canonical_alias', { alias: opts.alias }));
  for (const s of opts.state ?? []) specs.push(state(s.type, s.content, s.stateKey ?? '', s.sender ?? creator));
  return specs;
}
