/** The scripted remote homeserver: start one, script it, join rooms through it. */
export { startRemote, Remote, type RemoteOptions, type Bystander, type BystanderMode, type Fault, type InviteRecord, type PduOutcome } from './remote.ts';
export { Room, serverOf, type RoomOptions, type EventSpec, type Membership, type JoinRule, type SignerLookup } from './room.ts';
export { sendJoinContent, type SendJoinContent } from './join-response.ts';
export { FederationClient, errcodeOf, type FederationResponse, type RequestOptions, type SendJoinMode, type SendJoinResponseBody } from './client.ts';
export { Gate, Arrivals, matches, type Matcher, type HeldRequest } from './gates.ts';
export { matrixError, json, ROUTE_NAMES, type RouteName, type RouteHandler, type RouteContext, type RouteResponse, type HostedServer } from './routing.ts';
export { sendJoinHandler, legacySendJoinV1, removedEndpoint, type SendJoinBehaviour } from './routes/membership.ts';
export type { ReceivedEdu } from './routes/send.ts';
export type { JoinOptions, JoinResult, ResyncResult, InvalidEvent } from './joiner.ts';
export { formatRequestLog, type RequestRecord, type AuthVerdict } from './log.ts';
export { baseUrlFor, setServerUrl, clearServerUrl, federationAgent } from './discovery.ts';
export { KeyCache, serverKeysDocument } from './keys.ts';
export { allocateLoopbackAddress, uniqueKeyId } from './identity.ts';
