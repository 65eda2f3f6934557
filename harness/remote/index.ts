/**
 * The scripted remote homeserver: start one, script it, join rooms through it.
 *
 * ```ts
 * import { remoteTest as test } from '../../harness/remote/fixture.ts';
 * test('...', async ({ remote }) => {
 *   const room = remote.createRoom({ version: '10' });   // nameless, public, @alice:<remote>
 *   room.join(remote.userId('bob'));
 *   const other = await remote.addServer();               // a bystander with its own key
 *   room.join(other.userId('carol'));
 *   const held = remote.gate('state_ids');                // hold the candidate's resync
 *   // ... make the candidate join room.roomId via remote.serverName ...
 *   const req = await held.arrived(10_000);
 *   held.release();                                       // or release({ status: 500, body: ... })
 *   await remote.expectPdu({ type: 'm.room.message' }, { within: 5_000 });
 * });
 * ```
 * Routes are named (`ROUTE_NAMES`); replace one with `remote.route(name, handler)`, break one
 * with `remote.fault(name, { kind: 'drop' })`. Gates catch requests after authentication.
 */
export { startRemote, Remote, type RemoteOptions, type Bystander, type BystanderMode, type Fault, type InviteRecord, type PduOutcome } from './remote.ts';
export { Room, serverOf, type RoomOptions, type EventSpec, type Membership, type JoinRule, type SignerLookup } from './room.ts';
export { sendJoinContent, type SendJoinContent } from './join-response.ts';
export { FederationClient, NoResponseError, closedBeforeResponse, errcodeOf, type FederationResponse, type RequestOptions, type SendJoinMode, type SendJoinResponseBody } from './client.ts';
export { Gate, Arrivals, matches, type Matcher, type HeldRequest } from './gates.ts';
export { matrixError, json, ROUTE_NAMES, type RouteName, type RouteHandler, type RouteContext, type RouteResponse, type HostedServer } from './routing.ts';
export { sendJoinHandler, legacySendJoinV1, removedEndpoint, type SendJoinBehaviour } from './routes/membership.ts';
export type { ReceivedEdu } from './routes/send.ts';
export type { JoinOptions, JoinResult, ResyncResult, InvalidEvent } from './joiner.ts';
export { formatRequestLog, type RequestRecord, type AuthVerdict } from './log.ts';
export { baseUrlFor, setServerUrl, clearServerUrl, federationAgent } from './discovery.ts';
export { KeyCache, serverKeysDocument } from './keys.ts';
export { addMembers, type MemberSpec, type AddMembersOptions } from './bulk.ts';
export { allocateLoopbackAddress, uniqueKeyId } from './identity.ts';
