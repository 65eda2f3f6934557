/**
 * Device lists around a partial join: a local device change made on purpose (renaming the
 * joiner's device, as a client would), where the resulting `m.device_list_update` EDUs went, and
 * whether a client's `/keys/query` about a remote user went to federation or was served from the
 * candidate's cache.
 */
import type { TestInfo } from '@playwright/test';
import type { CandidateClient } from '../client/client.ts';
import { judge } from '../checks/judge.ts';
import { deviceUpdatesReachServersInRoom } from '../checks/partial-state.ts';
import { deviceListUpdateReachesRoomServers } from '../checks/joiner-resync-integrity.ts';
import type { Arrivals } from '../remote/gates.ts';
import type { Bystander, Remote } from '../remote/remote.ts';
import { FederationClient } from '../remote/client.ts';
import { signEvent, type PDU } from '../matrix/index.ts';
import type { DeliveredEdu } from './unchecked-join.ts';

/** Bound for an update that should arrive (loopback plus the candidate's federation queue). */
export const UPDATE_WITHIN_MS = 10_000;
/** How long an update that should not arrive is watched for. */
export const NO_UPDATE_FOR_MS = 1_500;

/** Renames the client's device: a device-list change every server sharing a room must hear of (JS-16). */
export async function renameDevice(client: CandidateClient): Promise<void> {
  (await client.updateDevice(`renamed ${Date.now()}`)).ok();
}

/**
 * Renames the device and reports, for each server, whether an `m.device_list_update` for the user
 * reached it: servers in `expectReceive` are waited for up to UPDATE_WITHIN_MS, the others are
 * watched for NO_UPDATE_FOR_MS (all at once).
 */
export async function updateDeliveries(
  client: CandidateClient,
  delivered: Arrivals<DeliveredEdu>,
  servers: { expectReceive: string[]; expectMiss?: string[] },
): Promise<Map<string, boolean>> {
  const since = delivered.mark();
  await renameDevice(client);
  const update = (to: string) => ({ to, edu_type: 'm.device_list_update', content: { user_id: client.userId } });
  const results = await Promise.all([
    ...servers.expectReceive.map(async (s) => [s, await delivered.expect(update(s), { within: UPDATE_WITHIN_MS, since }).then(() => true, () => false)] as const),
    ...(servers.expectMiss ?? []).map(async (s) => [s, await delivered.expectNone(update(s), { for: NO_UPDATE_FOR_MS, since }).then(() => false, () => true)] as const),
  ]);
  return new Map(results);
}

/** Whether any update for the user reached `server` since `since`, waiting at most `withinMs`. */
export function updateReached(delivered: Arrivals<DeliveredEdu>, userId: string, server: string, since: number, withinMs = UPDATE_WITHIN_MS): Promise<boolean> {
  return delivered.expect({ to: server, edu_type: 'm.device_list_update', content: { user_id: userId } }, { within: withinMs, since }).then(() => true, () => false);
}

/**
 * During the resync: an update should reach every server of servers_in_room (MSC3706/MSC3902,
 * JS-02), judged at the partial-state profile with every server's outcome.
 */
export function recordDuringResync(testInfo: TestInfo, deliveries: Map<string, boolean>, shouldReceive: string[], note: string): void {
  judge(testInfo, deviceUpdatesReachServersInRoom, { request: { scenario: note }, facts: shouldReceive.map((s) => ({ fact: `${s} received the update`, expected: true, observed: deliveries.get(s) ?? false })) });
}

/** After the resync: every server sharing the room must get the update (JS-16, judged). */
export function judgeAfterResync(testInfo: TestInfo, userId: string, deliveries: Map<string, boolean>, roomServers: string[]): void {
  judge(testInfo, deviceListUpdateReachesRoomServers, { phase: 'complete', userId, roomServers: roomServers.map((server) => ({ server, received: deliveries.get(server) ?? false })) });
}

/** Federation requests the candidate made for remote users' keys or devices so far. */
export function keyRequests(remote: Remote, candidateServer: string): number {
  return remote.requests().filter((r) => (r.route === 'user_keys_query' || r.route === 'user_devices') && r.origin === candidateServer).length;
}

/** Asks the candidate for a remote user's keys; true when that made it ask federation (not served from cache). */
export async function keysQueryWentToFederation(client: CandidateClient, remote: Remote, candidateServer: string, userId: string): Promise<boolean> {
  const before = keyRequests(remote, candidateServer);
  (await client.keysQuery([userId])).ok();
  return keyRequests(remote, candidateServer) > before;
}

/**
 * Joins `userId` of a bystander server to a room on the candidate (make_join, then send_join with
 * full state), signing as that bystander: the remote's own join helper signs as the remote.
 */
export async function joinFromBystander(bystander: Bystander, candidateServer: string, roomId: string, userId: string): Promise<void> {
  const client = new FederationClient(bystander.serverName, bystander.key);
  const makeJoin = await client.makeJoin(candidateServer, roomId, userId);
  if (makeJoin.status !== 200 || !makeJoin.body?.event) throw new Error(`make_join of ${userId} to ${roomId} on ${candidateServer} answered ${makeJoin.status}: ${makeJoin.raw.slice(0, 300)}`);
  const { hashes: _h, signatures: _s, ...draft } = makeJoin.body.event;
  const { event, eventId } = signEvent({ ...draft, origin_server_ts: Date.now() } as PDU, bystander.serverName, bystander.key, makeJoin.body.room_version ?? '1');
  const sendJoin = await client.sendJoin(candidateServer, roomId, eventId, event, 'full');
  if (sendJoin.status !== 200) throw new Error(`send_join of ${userId} to ${roomId} on ${candidateServer} answered ${sendJoin.status}: ${sendJoin.raw.slice(0, 300)}`);
}
