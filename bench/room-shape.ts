/**
 * The shape of a benchmark room: N members whose final memberships follow Matrix HQ's mix
 * (join : leave : ban : invite = 26 : 26 : 1.5 : 0.1, MSC2775 review figures for #matrix:matrix.org),
 * spread round-robin over many servers, with realistic history (a leave is a join then a leave, a
 * ban a join then a ban), so that the auth chain grows with the room as it does in real rooms.
 */
import type { SigningKey } from '../harness/matrix/index.ts';
import { addMembers, type MemberSpec } from '../harness/remote/bulk.ts';
import type { Bystander, Remote } from '../harness/remote/remote.ts';
import type { Room } from '../harness/remote/room.ts';

export const MEMBERSHIP_WEIGHTS: ReadonlyArray<readonly [MemberSpec['membership'], number]> = [
  ['join', 26],
  ['leave', 26],
  ['ban', 1.5],
  ['invite', 0.1],
];

/**
 * `count` members `@m<i>:<server>` over `servers`, memberships drawn from MEMBERSHIP_WEIGHTS by a
 * fixed linear congruential sequence (the same room shape on every run).
 */
export function memberMix(count: number, servers: readonly string[]): MemberSpec[] {
  if (!Number.isInteger(count) || count < 1) throw new Error(`member count must be a positive integer, got ${count}`);
  if (servers.length === 0) throw new Error('memberMix needs at least one server');
  const total = MEMBERSHIP_WEIGHTS.reduce((sum, [, w]) => sum + w, 0);
  const out: MemberSpec[] = [];
  let seed = 12345;
  for (let i = 0; i < count; i++) {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    let r = (seed / 2 ** 31) * total;
    const membership = MEMBERSHIP_WEIGHTS.find(([, w]) => (r -= w) < 0)?.[0] ?? 'join';
    out.push({ userId: `@m${i}:${servers[i % servers.length]}`, membership });
  }
  return out;
}

/** Servers the members of an N-member room are spread over: one per 100 members, 2 to 100. */
export function serverCountFor(members: number): number {
  return Math.min(100, Math.max(2, Math.ceil(members / 100)));
}

export interface BenchRoom {
  room: Room;
  bystanders: Bystander[];
  /** Counts of final memberships, e.g. { join: 480, leave: 490, ban: 28, invite: 2 }. */
  memberships: Record<string, number>;
  /** Events in the room (create, power levels, ..., every membership event). */
  events: number;
  /** Current state entries (what a full send_join returns as `state`). */
  stateSize: number;
  buildSeconds: number;
}

/** Final membership counts of `room`'s current state, e.g. { join: 480, leave: 490, ban: 28, invite: 2 }. */
export function membershipCounts(room: Room): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const m of room.members()) counts[m.membership] = (counts[m.membership] ?? 0) + 1;
  return counts;
}

/**
 * Builds a named, public room v10 of `members` members on `remote`, spread over new bystander
 * servers (which serve federation like the remote, so the candidate may resync from any of them).
 * Named, so that a partial send_join carries no heroes (as for Matrix HQ).
 */
export async function buildBenchRoom(remote: Remote, members: number): Promise<BenchRoom> {
  const started = performance.now();
  const bystanders: Bystander[] = [];
  for (let i = 0; i < serverCountFor(members) - 1; i++) bystanders.push(await remote.addServer({ mode: 'serve' }));
  const servers = [remote.serverName, ...bystanders.map((b) => b.serverName)];
  const keys = new Map<string, SigningKey>([[remote.serverName, remote.key], ...bystanders.map((b) => [b.serverName, b.key] as [string, SigningKey])]);
  const admin = remote.userId('alice');
  const room = remote.createRoom({ version: '10', joinRule: 'public', name: `Benchmark room of ${members} members`, creator: admin });
  await addMembers(room, memberMix(members, servers), { admin, keys, history: 'realistic' });
  return {
    room,
    bystanders,
    memberships: membershipCounts(room),
    events: room.eventCount,
    stateSize: room.currentState().size,
    buildSeconds: (performance.now() - started) / 1000,
  };
}
