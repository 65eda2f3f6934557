/**
 * State resolution v2 (room versions 2-11) and v2.1 (room version 12), as the room version
 * specifications define it: the unconflicted state map and the full conflicted set (conflicted
 * state, auth difference and, in v2.1, the conflicted state subgraph); power events sorted by the
 * reverse topological power ordering and applied by the iterative auth checks (from the
 * unconflicted state in v2, from an empty state in v2.1); the other events sorted by the mainline
 * ordering of the resolved power levels and applied the same way; the unconflicted state on top.
 *
 * Pure: the caller supplies the events (by ID), which events were rejected, and in v12 the room's
 * create event (which v12 events do not cite in their auth events).
 */
import { authorize, userPowerLevel } from './auth-rules.ts';
import { eventRefIds, type PDU } from './events.ts';
import { resolveRoomVersion, type RoomVersion } from './room-versions.ts';
import { stateKey, type StateMap } from './state.ts';

export interface StateResolutionInput {
  version: RoomVersion | string;
  /** The states to resolve: (type, state_key) -> event ID. */
  stateSets: readonly StateMap[];
  /** Every event named by the state sets and their auth chains. */
  event: (id: string) => PDU | undefined;
  /** Events rejected on their auth chain: never used as auth events. */
  isRejected?: (id: string) => boolean;
  /** The room's create event ID (needed in v12, whose events do not cite it). */
  createEventId?: string;
}

/** Thrown when an event the algorithm needs is not known. */
export class StateResolutionError extends Error {
  override name = 'StateResolutionError';
}

function mustEvent(input: StateResolutionInput, id: string): PDU {
  const e = input.event(id);
  if (!e) throw new StateResolutionError(`state resolution needs event ${id}, which is not known`);
  return e;
}

const keyOf = (e: PDU): string => stateKey(e.type, e.state_key as string);

/** The unconflicted state map and the conflicted state set. */
export function splitConflicts(stateSets: readonly StateMap[]): { unconflicted: StateMap; conflicted: Set<string> } {
  const unconflicted: StateMap = new Map();
  const conflicted = new Set<string>();
  const keys = new Set(stateSets.flatMap((s) => [...s.keys()]));
  for (const k of keys) {
    const values = stateSets.map((s) => s.get(k));
    if (values.every((x) => x !== undefined && x === values[0])) unconflicted.set(k, values[0]!);
    else for (const x of values) if (x !== undefined) conflicted.add(x);
  }
  return { unconflicted, conflicted };
}

/** The auth chain of the given events (not including them). */
export function authChainOf(ids: Iterable<string>, event: (id: string) => PDU | undefined): Set<string> {
  const chain = new Set<string>();
  const stack: string[] = [];
  for (const id of ids) for (const a of eventRefIds(event(id)?.auth_events)) stack.push(a);
  while (stack.length) {
    const id = stack.pop()!;
    if (chain.has(id)) continue;
    chain.add(id);
    for (const a of eventRefIds(event(id)?.auth_events)) stack.push(a);
  }
  return chain;
}

/** Events lying on an auth-event path from one conflicted event to another (v2.1), conflicted events included. */
export function conflictedSubgraph(conflicted: ReadonlySet<string>, event: (id: string) => PDU | undefined): Set<string> {
  // reaches(x): x's auth chain holds a conflicted event. Memoised over the ancestors of the conflicted events.
  const memo = new Map<string, boolean>();
  const reaches = (start: string): boolean => {
    // Iterative post-order walk, so deep auth chains do not overflow the stack.
    const stack: Array<{ id: string; children: string[]; i: number }> = [{ id: start, children: eventRefIds(event(start)?.auth_events), i: 0 }];
    const onStack = new Set([start]);
    while (stack.length) {
      const top = stack[stack.length - 1];
      if (memo.has(top.id)) {
        stack.pop();
        continue;
      }
      if (top.i < top.children.length) {
        const child = top.children[top.i++];
        if (!memo.has(child) && !onStack.has(child)) {
          onStack.add(child);
          stack.push({ id: child, children: eventRefIds(event(child)?.auth_events), i: 0 });
        }
        continue;
      }
      memo.set(top.id, top.children.some((c) => conflicted.has(c) || memo.get(c) === true));
      onStack.delete(top.id);
      stack.pop();
    }
    return memo.get(start)!;
  };
  const subgraph = new Set<string>(conflicted);
  for (const id of authChainOf(conflicted, event)) if (reaches(id)) subgraph.add(id);
  return subgraph;
}

/** Power events: power levels, join rules, and kicks and bans (a leave or ban sent by someone else). */
export function isPowerEvent(e: PDU): boolean {
  if (e.state_key === undefined) return false;
  if (e.type === 'm.room.power_levels' || e.type === 'm.room.join_rules') return true;
  if (e.type !== 'm.room.member') return false;
  const m = e.content?.membership;
  return (m === 'leave' || m === 'ban') && e.sender !== e.state_key;
}

/** The event of `type` ('' state key) among an event's auth events, if any. */
function authEventOfType(input: StateResolutionInput, e: PDU, type: string): { id: string; event: PDU } | undefined {
  for (const id of eventRefIds(e.auth_events)) {
    const a = input.event(id);
    if (a && a.type === type && a.state_key === '') return { id, event: a };
  }
  return undefined;
}

function createOf(input: StateResolutionInput, e: PDU): PDU | undefined {
  return authEventOfType(input, e, 'm.room.create')?.event ?? (input.createEventId ? input.event(input.createEventId) : undefined);
}

/** The sender's power level as the event's own auth events give it (the power ordering's key). */
function senderPowerFromAuthEvents(input: StateResolutionInput, e: PDU): number {
  return userPowerLevel(e.sender, authEventOfType(input, e, 'm.room.power_levels')?.event, createOf(input, e), input.version);
}

const byTsThenId = (a: { ts: number; id: string }, b: { ts: number; id: string }) => a.ts - b.ts || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

/** The reverse topological power ordering (Kahn's algorithm over the auth DAG, smallest first). */
export function reverseTopologicalPowerOrder(ids: Iterable<string>, input: StateResolutionInput): string[] {
  const set = new Set(ids);
  const info = new Map<string, { id: string; power: number; ts: number; parents: string[] }>();
  for (const id of set) {
    const e = mustEvent(input, id);
    info.set(id, { id, power: senderPowerFromAuthEvents(input, e), ts: e.origin_server_ts, parents: eventRefIds(e.auth_events).filter((a) => set.has(a)) });
  }
  const children = new Map<string, string[]>();
  const waiting = new Map<string, number>();
  for (const x of info.values()) {
    waiting.set(x.id, new Set(x.parents).size);
    for (const p of new Set(x.parents)) children.set(p, [...(children.get(p) ?? []), x.id]);
  }
  const ready = [...info.values()].filter((x) => waiting.get(x.id) === 0);
  // Greater power first (creators' infinite power included), then earlier, then the smaller ID.
  const smaller = (a: { power: number; ts: number; id: string }, b: { power: number; ts: number; id: string }) => (a.power !== b.power ? (a.power > b.power ? -1 : 1) : byTsThenId(a, b));
  const order: string[] = [];
  while (ready.length) {
    ready.sort(smaller);
    const next = ready.shift()!;
    order.push(next.id);
    for (const c of children.get(next.id) ?? []) {
      const left = waiting.get(c)! - 1;
      waiting.set(c, left);
      if (left === 0) ready.push(info.get(c)!);
    }
  }
  if (order.length !== set.size) throw new StateResolutionError('the auth events of the conflicted events form a cycle');
  return order;
}

/** The mainline of a power levels event: it, then the power levels event among its auth events, and so on. */
function mainlineOf(input: StateResolutionInput, powerLevelsId: string | undefined): string[] {
  const line: string[] = [];
  const seen = new Set<string>();
  let id = powerLevelsId;
  while (id !== undefined && !seen.has(id)) {
    seen.add(id);
    line.push(id);
    id = authEventOfType(input, mustEvent(input, id), 'm.room.power_levels')?.id;
  }
  return line;
}

/** The mainline ordering of `ids` based on the power levels event `powerLevelsId`. */
export function mainlineOrder(ids: Iterable<string>, powerLevelsId: string | undefined, input: StateResolutionInput): string[] {
  const mainline = mainlineOf(input, powerLevelsId);
  const index = new Map(mainline.map((id, i) => [id, i]));
  const position = (e: PDU): number => {
    const seen = new Set<string>();
    let p = authEventOfType(input, e, 'm.room.power_levels');
    while (p && !seen.has(p.id)) {
      const i = index.get(p.id);
      if (i !== undefined) return i;
      seen.add(p.id);
      p = authEventOfType(input, p.event, 'm.room.power_levels');
    }
    return Number.POSITIVE_INFINITY;
  };
  const keyed = [...ids].map((id) => {
    const e = mustEvent(input, id);
    return { id, ts: e.origin_server_ts, position: position(e) };
  });
  keyed.sort((a, b) => (a.position !== b.position ? (b.position > a.position ? 1 : -1) : byTsThenId(a, b)));
  return keyed.map((k) => k.id);
}

/** The iterative auth checks: each event in turn, applied if the auth rules allow it against the state built so far. */
export function iterativeAuthChecks(initial: StateMap, ordered: readonly string[], input: StateResolutionInput): StateMap {
  const v = resolveRoomVersion(input.version);
  const state: StateMap = new Map(initial);
  for (const id of ordered) {
    const e = mustEvent(input, id);
    if (e.state_key === undefined) continue;
    const fromAuthEvents = new Map<string, string>();
    for (const a of eventRefIds(e.auth_events)) {
      if (input.isRejected?.(a)) continue;
      const ae = input.event(a);
      if (ae && ae.state_key !== undefined) fromAuthEvents.set(keyOf(ae), a);
    }
    const lookup = (type: string, sk: string) => {
      const k = stateKey(type, sk);
      const found = state.get(k) ?? fromAuthEvents.get(k) ?? (type === 'm.room.create' && sk === '' ? input.createEventId : undefined);
      const event = found === undefined ? undefined : input.event(found);
      return found !== undefined && event ? { id: found, event } : undefined;
    };
    if (authorize(e, lookup, v).ok) state.set(keyOf(e), id);
  }
  return state;
}

/** The resolution of `input.stateSets` under the room version's algorithm (v2 or v2.1). */
export function resolveState(input: StateResolutionInput): StateMap {
  const v = resolveRoomVersion(input.version);
  if (v.stateResolution === 'v1') throw new StateResolutionError(`room version ${v.id} uses state resolution v1, which this module does not implement`);
  if (input.stateSets.length === 0) return new Map();
  const { unconflicted, conflicted } = splitConflicts(input.stateSets);
  if (conflicted.size === 0) return unconflicted;

  const chains = input.stateSets.map((s) => authChainOf(s.values(), input.event));
  const union = new Set(chains.flatMap((c) => [...c]));
  const full = new Set(conflicted);
  for (const id of union) if (!chains.every((c) => c.has(id))) full.add(id);
  if (v.stateResolution === 'v2.1') for (const id of conflictedSubgraph(conflicted, input.event)) full.add(id);
  for (const id of full) mustEvent(input, id);

  // 1-2. Power events and the parts of their auth chains in the full conflicted set.
  const power = new Set([...full].filter((id) => isPowerEvent(input.event(id)!)));
  for (const p of [...power]) for (const a of authChainOf([p], input.event)) if (full.has(a)) power.add(a);
  const partial = iterativeAuthChecks(v.stateResolution === 'v2.1' ? new Map() : unconflicted, reverseTopologicalPowerOrder(power, input), input);

  // 3-4. The other events, by mainline ordering of the resolved power levels.
  const others = [...full].filter((id) => !power.has(id) && input.event(id)!.state_key !== undefined);
  const resolved = iterativeAuthChecks(partial, mainlineOrder(others, partial.get(stateKey('m.room.power_levels', '')), input), input);

  // 5. The unconflicted state on top.
  for (const [k, id] of unconflicted) resolved.set(k, id);
  return resolved;
}
