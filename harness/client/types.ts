/** Shapes of the client-server API that the suite reads (only the fields it uses are typed). */

export type JsonObject = Record<string, unknown>;

export interface ClientEvent {
  type: string;
  event_id: string;
  sender: string;
  origin_server_ts: number;
  content: JsonObject;
  state_key?: string;
  room_id?: string;
  unsigned?: JsonObject;
}

export interface RoomMember extends ClientEvent {
  type: 'm.room.member';
  state_key: string;
  content: { membership: string; displayname?: string; avatar_url?: string } & JsonObject;
}

export interface CreateRoomRequest {
  preset?: 'private_chat' | 'public_chat' | 'trusted_private_chat';
  visibility?: 'public' | 'private';
  name?: string;
  topic?: string;
  room_alias_name?: string;
  room_version?: string;
  invite?: string[];
  is_direct?: boolean;
  initial_state?: { type: string; state_key?: string; content: JsonObject }[];
  creation_content?: JsonObject;
  power_level_content_override?: JsonObject;
}

export interface RoomEventFilter {
  lazy_load_members?: boolean;
  include_redundant_members?: boolean;
  limit?: number;
  types?: string[];
  not_types?: string[];
}

export interface SyncFilter {
  room?: {
    rooms?: string[];
    state?: RoomEventFilter;
    timeline?: RoomEventFilter;
    ephemeral?: RoomEventFilter;
    account_data?: RoomEventFilter;
  };
  presence?: { types?: string[]; not_types?: string[] };
  account_data?: { types?: string[]; not_types?: string[] };
}

/** A filter asking for lazy-loaded members (MSC1227, spec "Lazy-loading room members"). */
export function lazyLoadMembersFilter(includeRedundantMembers = false): SyncFilter {
  const members = { lazy_load_members: true, include_redundant_members: includeRedundantMembers };
  return { room: { state: members, timeline: members } };
}

export interface JoinedRoom {
  state?: { events: ClientEvent[] };
  timeline?: { events: ClientEvent[]; limited?: boolean; prev_batch?: string };
  ephemeral?: { events: { type: string; content: JsonObject }[] };
  account_data?: { events: { type: string; content: JsonObject }[] };
  summary?: { 'm.heroes'?: string[]; 'm.joined_member_count'?: number; 'm.invited_member_count'?: number };
  unread_notifications?: JsonObject;
}

export interface SyncResponse {
  next_batch: string;
  rooms?: {
    join?: Record<string, JoinedRoom>;
    invite?: Record<string, { invite_state?: { events: JsonObject[] } }>;
    leave?: Record<string, JoinedRoom>;
    knock?: Record<string, JsonObject>;
  };
  to_device?: { events: { type: string; sender: string; content: JsonObject }[] };
  device_lists?: { changed?: string[]; left?: string[] };
  presence?: { events: JsonObject[] };
  account_data?: { events: JsonObject[] };
  [key: string]: unknown;
}

export interface MessagesResponse {
  chunk: ClientEvent[];
  start: string;
  end?: string;
  state?: ClientEvent[];
}

/** Timeline events of `roomId` in a sync body (empty when the room is absent). */
export function timelineOf(sync: SyncResponse, roomId: string): ClientEvent[] {
  return sync.rooms?.join?.[roomId]?.timeline?.events ?? [];
}

/**
 * `userId`'s membership in `roomId` as far as this sync body shows it (state, then timeline: the
 * latest wins), or undefined when the body does not mention it.
 */
export function membershipIn(sync: SyncResponse, roomId: string, userId: string): string | undefined {
  const room = sync.rooms?.join?.[roomId];
  let membership: string | undefined;
  for (const e of [...(room?.state?.events ?? []), ...(room?.timeline?.events ?? [])]) {
    if (e.type === 'm.room.member' && e.state_key === userId) membership = e.content.membership as string;
  }
  return membership;
}
