/**
 * Adding many members to a room fast: membership events signed on parallel branches of the DAG,
 * one per worker thread, each branch starting at the room's forward extremities. The branches
 * touch disjoint members, so the state after them is exact under the room model's replay; the
 * next appended event merges them (its prev_events are all branch heads).
 *
 * Worker threads load TypeScript through tsx's `tsImport`, which works under both tsx and
 * Playwright.
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import type { PDU, SigningKey } from '../matrix/index.ts';
import { signMembershipChain, type BulkMembership, type ChainInput, type MembershipOp, type SignedChainEvent } from './bulk-chain.ts';
import { serverOf, type Room } from './room.ts';

export interface MemberSpec {
  userId: string;
  /** The member's membership at the end. */
  membership: BulkMembership;
}

export interface AddMembersOptions {
  /** A joined member with power to invite, kick and ban; sends invites, kicks and bans. */
  admin: string;
  /** Signing keys of every server whose users are added, and of the admin's server. */
  keys: Map<string, SigningKey>;
  /**
   * `realistic` (default): a leave is a join then a leave, a ban is a join then a ban.
   * `minimal`: one event per member (a leave is the admin's kick of a user never in the room,
   * which the auth rules allow), for benches that measure size rather than history.
   */
  history?: 'realistic' | 'minimal';
  /** Worker threads, one DAG branch each; 0 signs in this thread on one branch. Default: cores, at most 4. */
  workers?: number;
}

function opsFor(member: MemberSpec, admin: string, history: 'realistic' | 'minimal'): MembershipOp[] {
  const self = (membership: BulkMembership): MembershipOp => ({ sender: member.userId, target: member.userId, membership });
  const byAdmin = (membership: BulkMembership): MembershipOp => ({ sender: admin, target: member.userId, membership });
  switch (member.membership) {
    case 'join':
      return [self('join')];
    case 'invite':
      return [byAdmin('invite')];
    case 'leave':
      return history === 'realistic' ? [self('join'), self('leave')] : [byAdmin('leave')];
    case 'ban':
      return history === 'realistic' ? [self('join'), byAdmin('ban')] : [byAdmin('ban')];
  }
}

function runWorker(input: ChainInput, onEvents: (events: SignedChainEvent[]) => void): Promise<void> {
  const api = import.meta.resolve('tsx/esm/api');
  const entry = new URL('./bulk-worker.ts', import.meta.url).href;
  const code = `import(${JSON.stringify(api)}).then(({ tsImport }) => tsImport(${JSON.stringify(entry)}, ${JSON.stringify(import.meta.url)}))`;
  const worker = new Worker(code, { eval: true, workerData: input });
  return new Promise((resolve, reject) => {
    worker.on('message', (m: { kind: 'events'; events: SignedChainEvent[] } | { kind: 'done' }) => {
      if (m.kind === 'events') onEvents(m.events);
      else void worker.terminate().then(() => resolve());
    });
    worker.on('error', (err) => reject(new Error(`membership signing worker failed: ${err.message}`)));
    worker.on('exit', (code) => {
      if (code !== 0 && code !== 1) reject(new Error(`membership signing worker exited with code ${code}`));
    });
  });
}

/** Adds members in bulk; returns how many events were created. */
export async function addMembers(room: Room, members: MemberSpec[], opts: AddMembersOptions): Promise<number> {
  const history = opts.history ?? 'realistic';
  const branches = Math.max(1, opts.workers ?? Math.min(4, availableParallelism()));
  const useWorkers = (opts.workers ?? 1) > 0 && members.length > 1000;
  const branchOps: MembershipOp[][] = Array.from({ length: useWorkers ? branches : 1 }, () => []);
  members.forEach((m, i) => branchOps[i % branchOps.length].push(...opsFor(m, opts.admin, history)));
  const servers = new Set([serverOf(opts.admin), ...members.map((m) => serverOf(m.userId))]);
  const keys = [...servers].map((serverName) => {
    const key = opts.keys.get(serverName);
    if (!key) throw new Error(`addMembers: no signing key for ${serverName}`);
    return { serverName, keyId: key.keyId, seed: key.seed };
  });
  if (room.version.eventReferencesWithHashes) throw new Error(`addMembers: bulk member creation signs bare event references, which room version ${room.version.id} does not use (versions 3 and later)`);
  const prevEvents = room.forwardExtremities();
  const base = {
    roomId: room.roomId,
    version: room.version.id,
    state: [...room.currentState()],
    prevEvents,
    depth: 1 + Math.max(0, ...prevEvents.map((id) => room.depthOf(id))),
    keys,
    firstTs: Date.now(),
  };
  let created = 0;
  const store = (events: SignedChainEvent[]) => {
    for (const e of events) room.importEvent(JSON.parse(e.json) as PDU, { trustedEventId: e.eventId, json: e.json });
    created += events.length;
  };
  if (!useWorkers) {
    for (const signed of signMembershipChain({ ...base, ops: branchOps[0] })) store([signed]);
    return created;
  }
  // Branches arrive interleaved; each branch's own order is kept, which is all the DAG needs.
  await Promise.all(branchOps.map((ops) => runWorker({ ...base, ops }, store)));
  return created;
}
