/**
 * The room model a remote serves: a DAG of signed events with state, auth chains, servers and
 * heroes. A remote builds rooms it is resident in (`Room.create` then `append`/`forge`) and keeps
 * replicas of rooms it joined elsewhere (`Room.replica` then `importEvent`/`setStateBefore`).
 *
 * State is computed by replaying ancestors in stream order (the order events entered this model,
 * which is topological because an event's known prev_events are always stored first). For a
 * linear history this is exact. For forks it is a documented simplification, not state
 * resolution v2: the state after a merge is the union of the branches' state where, for a key set
 * on several branches, the event that entered the model last wins (no auth or power ordering).
 * Tests that need a particular resolved state forge the merge event's auth events explicitly, or
 * ask `resolvedStateBeforePrevs`, which resolves every merge by the room version's algorithm.
 */
import {
  eventId as computeEventId,
  eventRefIds,
  eventReference,
  opaqueEventId,
  redactEvent,
  roomVersion,
  selectAuthEvents,
  signEvent,
  stateKey as stateMapKey,
  type PDU,
  type RoomVersion,
  type StateMap,
} from '../matrix/index.ts';
import { resolveState } from '../matrix/state-res.ts';

import { serverOf, type EventSpec, type Membership, type RoomOptions, type SignerLookup } from './room-types.ts';
import { createContent, stateAfterCreate } from './room-creation.ts';
import { pacer, runSliced, runToEnd, type Steps } from './slices.ts';

export { serverOf, type SignerLookup, type Membership, type JoinRule, type RoomOptions, type EventSpec } from './room-types.ts';

interface StoredEvent {
  id: string;
  pdu: PDU;
  /** Stream order: position in which the event entered this model. */
  order: number;
  outlier: boolean;
  /** Cached `JSON.stringify(pdu)`, so big responses are concatenated rather than re-serialised. */
  json?: string;
}

/** States kept for `stateBefore` (each may hold a big room's whole state). */
const STATE_CACHE_ENTRIES = 4;

function randomLocalpart(): string {
  return Math.random().toString(36).slice(2, 12) + Math.random().toString(36).slice(2, 8);
}

/** Creation times already given to a creator's create events (`creator ts`), see `distinctCreateTs`. */
const createTimes = new Set<string>();

/**
 * From room version 12 a room's ID is its create event's hash, and a create event holds nothing but
 * its sender, content and time: two rooms one user creates with the same options in the same
 * millisecond would be one room. Their create events are kept at least a millisecond apart.
 */
function distinctCreateTs(creator: string, now: number): number {
  let ts = now;
  while (createTimes.has(`${creator} ${ts}`)) ts++;
  createTimes.add(`${creator} ${ts}`);
  return ts;
}

function pduField<T>(pdu: PDU, field: string): T {
  return (pdu as unknown as Record<string, T>)[field];
}

export class Room {
  readonly version: RoomVersion;
  roomId: string;
  private readonly events = new Map<string, StoredEvent>();
  private readonly stream: StoredEvent[] = [];
  private readonly extremities = new Set<string>();
  /** State after the forward extremities; rebuilt lazily after a non-linear change. */
  private current: StateMap = new Map();
  private currentValid = true;
  /** Known state before an event whose ancestors are not all here (replicas: the join event). */
  private readonly stateBeforeSnapshots = new Map<string, StateMap>();
  private readonly stateBeforeCache = new Map<string, StateMap>();
  private readonly now: () => number;
  /** Redacted event -> the first redaction of it linked into the DAG (validity is the scenario's matter). */
  private readonly redactions = new Map<string, string>();
  /** The last event linked in line, with the value its state key had before it. */
  private lastLinear?: { id: string; key?: string; previous?: string };

  private constructor(
    version: string,
    roomId: string,
    private readonly signerFor: SignerLookup,
    now?: () => number,
  ) {
    this.version = roomVersion(version);
    this.roomId = roomId;
    this.now = now ?? Date.now;
  }

  /** A new room resident on this remote, with the standard creation events of its version. */
  static create(opts: RoomOptions, signerFor: SignerLookup): Room {
    const v = roomVersion(opts.version ?? '10');
    const creatorServer = serverOf(opts.creator);
    if (!signerFor(creatorServer)) throw new Error(`cannot create a room as ${opts.creator}: no signing key for ${creatorServer}`);
    const roomId = v.roomIdFromCreateEvent ? '' : (opts.roomId ?? `!${randomLocalpart()}:${creatorServer}`);
    const room = new Room(v.id, roomId, signerFor, opts.now);
    const createTs = v.roomIdFromCreateEvent ? distinctCreateTs(opts.creator, room.now()) : undefined;
    const create = room.append({ type: 'm.room.create', stateKey: '', sender: opts.creator, content: createContent(opts, v), ...(createTs === undefined ? {} : { originServerTs: createTs }) });
    // v12: the room ID is the create event's reference hash under the room sigil.
    if (v.roomIdFromCreateEvent) room.roomId = `!${create.slice(1)}`;
    for (const spec of stateAfterCreate(opts, v)) room.append(spec);
    return room;
  }

  /** An empty replica of a room resident elsewhere, filled by `importEvent`. */
  static replica(roomId: string, version: string, signerFor: SignerLookup): Room {
    return new Room(version, roomId, signerFor);
  }

  // ---------------------------------------------------------------------------------------------
  // Events

  /** Creates, signs and stores an event; prev/auth events default to the model's choice. Returns its ID. */
  append(spec: EventSpec): string {
    const { event, eventId } = this.sign(spec);
    return this.insert(event, spec.outlier ?? false, eventId);
  }

  /**
   * Like `append`, but meant for events that break the rules: explicit `prevEvents` and
   * `authEvents` (stale-auth kicks and bans, DAG gaps), outliers, signing as another server.
   * Returns the signed event and its ID.
   */
  forge(spec: EventSpec): { event: PDU; eventId: string } {
    const signed = this.sign(spec);
    this.insert(signed.event, spec.outlier ?? false, signed.eventId);
    return signed;
  }

  /**
   * Forges concurrent branches from the current forward extremities: each branch is a chain of
   * events, the first citing those extremities, each next one the previous. Returns each branch's
   * event IDs in order (the last is the branch's tip).
   */
  forgeBranches(branches: ReadonlyArray<ReadonlyArray<Omit<EventSpec, 'prevEvents'>>>): string[][] {
    const base = this.forwardExtremities();
    return branches.map((specs) => {
      let prev = base;
      return specs.map((spec) => (prev = [this.forge({ ...spec, prevEvents: prev }).eventId])[0]);
    });
  }

  /** Signs an event without storing it (a template for a test to send itself). */
  build(spec: EventSpec): PDU {
    return this.sign(spec).event;
  }

  private sign(spec: EventSpec): { event: PDU; eventId: string } {
    const signer = spec.signAs ?? serverOf(spec.sender);
    const key = this.signerFor(signer);
    if (!key) throw new Error(`cannot sign an event as ${signer}: this remote holds no key for it`);
    return signEvent(this.draft(spec), signer, key, this.version);
  }

  /**
   * The unsigned event for `spec`: prev_events, depth and auth_events filled in (a make_join or
   * make_leave template is a draft that the joining server signs).
   */
  draft(spec: EventSpec): PDU {
    const v = this.version;
    const prevEvents = spec.prevEvents ?? [...this.extremities];
    const depth =
      spec.depth ??
      Math.min(Number.MAX_SAFE_INTEGER, 1 + prevEvents.reduce((max, id) => Math.max(max, this.depthOf(id)), 0));
    const event: Record<string, unknown> = {
      room_id: this.roomId,
      sender: spec.sender,
      type: spec.type,
      content: spec.content,
      origin_server_ts: spec.originServerTs ?? this.now(),
      depth,
      prev_events: this.references(prevEvents),
      auth_events: [] as string[],
    };
    // v1/v2: the creating server names the event; the ID's server is the one that signs it.
    if (v.eventIdFormat === 'v1') event.event_id = opaqueEventId(spec.signAs ?? serverOf(spec.sender));
    if (v.roomIdFromCreateEvent && spec.type === 'm.room.create') delete event.room_id;
    if (spec.stateKey !== undefined) event.state_key = spec.stateKey;
    if (spec.redacts !== undefined) {
      if (v.redactsInContent) event.content = { ...spec.content, redacts: spec.redacts };
      else event.redacts = spec.redacts;
    }
    Object.assign(event, spec.extra);
    const pdu = event as unknown as PDU;
    pdu.auth_events = this.references(
      spec.authEvents ?? selectAuthEvents(pdu, this.stateBeforePrevs(prevEvents), (id: string) => this.events.get(id)?.pdu, v),
    );
    return pdu;
  }

  /**
   * `prev_events` / `auth_events` naming `ids` as this version does: the IDs, or in v1/v2
   * `[id, hashes]` pairs (an ID unknown here, a deliberate gap, gets an empty hash).
   */
  /** The IDs an event's `prev_events` or `auth_events` name, whatever the version's form. */
  private refs(pdu: PDU, field: 'prev_events' | 'auth_events'): string[] {
    const list = pduField<unknown>(pdu, field);
    return this.version.eventReferencesWithHashes ? eventRefIds(list) : ((list as string[] | undefined) ?? []);
  }

  private references(ids: string[]): string[] {
    if (!this.version.eventReferencesWithHashes) return ids;
    return ids.map((id) => {
      const known = this.events.get(id)?.pdu;
      return known ? eventReference(id, known, this.version) : [id, { sha256: '' }];
    }) as unknown as string[];
  }

  /**
   * Stores an event made elsewhere (received over federation), as is. Its known prev_events must
   * be stored already for state to be right; unknown ones are DAG gaps and are skipped.
   */
  importEvent(pdu: PDU, opts: { outlier?: boolean; trustedEventId?: string; json?: string } = {}): string {
    return this.insert(pdu, opts.outlier ?? false, opts.trustedEventId, opts.json);
  }

  /**
   * `knownId` skips recomputing the reference hash, for events this process has just signed;
   * `json` is their serialisation when the signer already made it.
   */
  private insert(pdu: PDU, outlier: boolean, knownId?: string, json?: string): string {
    const id = knownId ?? computeEventId(pdu, this.version);
    const existing = this.events.get(id);
    if (existing) {
      // A de-outliered event joins the DAG the second time it is stored as a non-outlier.
      if (existing.outlier && !outlier) {
        existing.outlier = false;
        this.linkIntoDag(existing);
      }
      return id;
    }
    const stored: StoredEvent = { id, pdu, order: this.stream.length, outlier, json };
    this.events.set(id, stored);
    this.stream.push(stored);
    if (!outlier) this.linkIntoDag(stored);
    return id;
  }

  private linkIntoDag(stored: StoredEvent): void {
    this.noteRedaction(stored);
    const prevs = this.refs(stored.pdu, 'prev_events');
    const linear =
      this.currentValid &&
      prevs.length === this.extremities.size &&
      prevs.every((p) => this.extremities.has(p));
    for (const p of prevs) this.extremities.delete(p);
    this.extremities.add(stored.id);
    const sk = pduField<string | undefined>(stored.pdu, 'state_key');
    if (linear) {
      const key = sk === undefined ? undefined : stateMapKey(pduField<string>(stored.pdu, 'type'), sk);
      this.lastLinear = { id: stored.id, key, previous: key === undefined ? undefined : this.current.get(key) };
      if (key !== undefined) this.current.set(key, stored.id);
    } else {
      this.currentValid = false;
      this.lastLinear = undefined;
    }
    // Cached state of events before this one stays right (state only looks back), so no purge.
  }

  /**
   * The state before the event last appended in line (its prevs were all the extremities):
   * current state with that event's own key put back, a copy instead of a replay of the room.
   * This is what send_join needs for the join it has just stored.
   */
  private *stateBeforeLastLinear(id: string): Steps<StateMap | undefined> {
    const last = this.lastLinear;
    if (!last || last.id !== id || !this.currentValid) return undefined;
    const pace = pacer();
    const state: StateMap = new Map();
    for (const [k, v] of this.current) {
      if (pace()) {
        yield;
        // Another event linked meanwhile: current state has moved on, so replay instead.
        if (this.lastLinear !== last || !this.currentValid) return undefined;
      }
      state.set(k, v);
    }
    if (last.key !== undefined) {
      if (last.previous === undefined) state.delete(last.key);
      else state.set(last.key, last.previous);
    }
    return state;
  }

  private noteRedaction(stored: StoredEvent): void {
    if (pduField<string>(stored.pdu, 'type') !== 'm.room.redaction') return;
    const target = this.version.redactsInContent ? pduField<Record<string, unknown>>(stored.pdu, 'content')?.redacts : pduField<unknown>(stored.pdu, 'redacts');
    if (typeof target === 'string' && !this.redactions.has(target)) this.redactions.set(target, stored.id);
  }

  /** The redaction of `id` this room holds in its DAG, or undefined. */
  redactionOf(id: string): string | undefined {
    return this.redactions.get(id);
  }

  /**
   * The content a server holding this room serves for `id`: as sent, or, once a redaction of it is
   * in the DAG, what the room version's redaction algorithm keeps.
   */
  servedContent(id: string): Record<string, unknown> {
    const pdu = this.mustEvent(id);
    const content = this.redactions.has(id) ? redactEvent(pdu, this.version).content : pduField<Record<string, unknown>>(pdu, 'content');
    return (content ?? {}) as Record<string, unknown>;
  }

  /** The stored event, or undefined. */
  event(id: string): PDU | undefined {
    return this.events.get(id)?.pdu;
  }

  /** The stored event; throws naming the room if unknown. */
  mustEvent(id: string): PDU {
    const e = this.events.get(id)?.pdu;
    if (!e) throw new Error(`event ${id} is not in room ${this.roomId}`);
    return e;
  }

  /** The IDs of the stored event's `prev_events` (in v1/v2 the IDs of its `[id, hashes]` pairs). */
  prevEventIds(id: string): string[] {
    return this.refs(this.mustEvent(id), 'prev_events');
  }

  /** The IDs of the stored event's `auth_events` (in v1/v2 the IDs of its `[id, hashes]` pairs). */
  authEventIds(id: string): string[] {
    return this.refs(this.mustEvent(id), 'auth_events');
  }

  has(id: string): boolean {
    return this.events.has(id);
  }

  isOutlier(id: string): boolean {
    return this.events.get(id)?.outlier ?? false;
  }

  /** `JSON.stringify` of the event, cached. */
  eventJson(id: string): string {
    const stored = this.events.get(id);
    if (!stored) throw new Error(`event ${id} is not in room ${this.roomId}`);
    return (stored.json ??= JSON.stringify(stored.pdu));
  }

  /** All event IDs in stream order. */
  eventIds(): string[] {
    return this.stream.map((s) => s.id);
  }

  get eventCount(): number {
    return this.stream.length;
  }

  /** Stream position of an event (smaller = earlier), for orderings the spec states "by stream ordering". */
  streamOrder(id: string): number {
    const s = this.events.get(id);
    if (!s) throw new Error(`event ${id} is not in room ${this.roomId}`);
    return s.order;
  }

  forwardExtremities(): string[] {
    return [...this.extremities];
  }

  depthOf(id: string): number {
    const e = this.events.get(id);
    return e ? Number(pduField<number>(e.pdu, 'depth')) || 0 : 0;
  }

  // ---------------------------------------------------------------------------------------------
  // State

  /**
   * Current state: after the forward extremities. Maps returned by this and the other state
   * methods may be the model's own: read them, do not change them (copy first).
   */
  currentState(): StateMap {
    if (!this.currentValid) {
      this.current = this.stateBeforePrevs([...this.extremities]);
      this.currentValid = true;
    }
    return this.current;
  }

  /** State after the given prev_events, i.e. the state an event with these prevs sees. */
  stateBeforePrevs(prevEvents: string[]): StateMap {
    if (
      this.currentValid &&
      prevEvents.length === this.extremities.size &&
      prevEvents.every((p) => this.extremities.has(p))
    ) {
      return this.current;
    }
    return this.replay(prevEvents);
  }

  /** State before `id` (what `/state_ids?event_id=` returns). */
  stateBefore(id: string): StateMap {
    return runToEnd(this.stateBeforeSteps(id));
  }

  /** `stateBefore` in slices between which the event loop runs (for request handlers; see slices.ts). */
  stateBeforeAsync(id: string): Promise<StateMap> {
    return runSliced(this.stateBeforeSteps(id));
  }

  /** `stateBefore` as a walk that pauses (see slices.ts). */
  *stateBeforeSteps(id: string): Steps<StateMap> {
    const snapshot = this.stateBeforeSnapshots.get(id);
    if (snapshot) return snapshot;
    const cached = this.stateBeforeCache.get(id);
    if (cached) return cached;
    const stored = this.events.get(id);
    if (!stored) throw new Error(`event ${id} is not in room ${this.roomId}`);
    if (stored.outlier) throw new Error(`event ${id} is an outlier: it has no state in room ${this.roomId}`);
    const state = (yield* this.stateBeforeLastLinear(id)) ?? (yield* this.replaySteps(this.refs(stored.pdu, 'prev_events')));
    if (this.stateBeforeCache.size >= STATE_CACHE_ENTRIES) this.stateBeforeCache.delete(this.stateBeforeCache.keys().next().value!);
    this.stateBeforeCache.set(id, state);
    return state;
  }

  /** State after `id`: the state before it plus the event itself if it is a state event. */
  stateAfter(id: string): StateMap {
    const pdu = this.mustEvent(id);
    const before = this.stateBefore(id);
    const sk = pduField<string | undefined>(pdu, 'state_key');
    if (sk === undefined) return before;
    const after = new Map(before);
    after.set(stateMapKey(pduField<string>(pdu, 'type'), sk), id);
    return after;
  }

  /**
   * The state an event with these prev_events sees under the room version's state resolution
   * (v2, v2.1; harness/matrix/state-res.ts): every merge among their ancestors resolved as the
   * spec says, rather than by the model's union (`stateBeforePrevs`). It walks the ancestors once,
   * keeping a state per event, so it is meant for forked test rooms, not big linear ones. Room
   * version 1 (state resolution v1) keeps the union.
   */
  resolvedStateBeforePrevs(prevEvents: string[]): StateMap {
    if (this.version.stateResolution === 'v1') return this.stateBeforePrevs(prevEvents);
    const ancestors = new Set<string>();
    const stack = [...prevEvents];
    while (stack.length) {
      const id = stack.pop()!;
      const stored = this.events.get(id);
      if (ancestors.has(id) || !stored || stored.outlier) continue;
      ancestors.add(id);
      if (!this.stateBeforeSnapshots.has(id)) stack.push(...eventRefIds(pduField<unknown>(stored.pdu, 'prev_events')));
    }
    const createEventId = this.stateEventId('m.room.create', '');
    const resolve = (sets: StateMap[]): StateMap =>
      sets.length === 1 ? sets[0] : resolveState({ version: this.version, stateSets: sets, event: (id) => this.event(id), createEventId });
    const after = new Map<string, StateMap>();
    for (const stored of this.stream) {
      if (!ancestors.has(stored.id)) continue;
      const prevs = eventRefIds(pduField<unknown>(stored.pdu, 'prev_events')).filter((p) => after.has(p));
      const before = this.stateBeforeSnapshots.get(stored.id) ?? (prevs.length === 0 ? new Map<string, string>() : resolve(prevs.map((p) => after.get(p)!)));
      const sk = pduField<string | undefined>(stored.pdu, 'state_key');
      after.set(stored.id, sk === undefined ? before : new Map(before).set(stateMapKey(pduField<string>(stored.pdu, 'type'), sk), stored.id));
    }
    const heads = prevEvents.filter((p) => after.has(p));
    return heads.length === 0 ? new Map() : new Map(resolve(heads.map((p) => after.get(p)!)));
  }

  /** Records the state before an event whose history this model lacks (a replica's join event). */
  setStateBefore(id: string, state: StateMap): void {
    this.stateBeforeSnapshots.set(id, new Map(state));
    this.stateBeforeCache.clear();
    this.currentValid = false;
  }

  /**
   * Replays the ancestors of `heads` (inclusive) in stream order; an ancestor with a recorded
   * snapshot contributes that snapshot and is not walked past.
   */
  private replay(heads: string[]): StateMap {
    return runToEnd(this.replaySteps(heads));
  }

  private *replaySteps(heads: string[]): Steps<StateMap> {
    const pace = pacer();
    const ancestors = new Set<string>();
    const bases: StoredEvent[] = [];
    const stack = [...heads];
    while (stack.length) {
      if (pace()) yield;
      const id = stack.pop()!;
      if (ancestors.has(id)) continue;
      const stored = this.events.get(id);
      if (!stored || stored.outlier) continue; // DAG gap
      ancestors.add(id);
      if (this.stateBeforeSnapshots.has(id)) {
        bases.push(stored);
        continue;
      }
      for (const p of this.refs(stored.pdu, 'prev_events')) stack.push(p);
    }
    const state: StateMap = new Map();
    for (const base of bases.sort((a, b) => a.order - b.order)) {
      for (const [k, v] of this.stateBeforeSnapshots.get(base.id)!) state.set(k, v);
    }
    for (const stored of yield* this.inStreamOrder(ancestors)) {
      if (pace()) yield;
      this.applyToState(state, stored);
    }
    return state;
  }

  /**
   * The stored events `ids` in stream order: marks their positions and scans the stream (linear,
   * and it pauses; a comparison sort of a big room's chain would hold the loop for its whole length).
   */
  private *inStreamOrder(ids: Iterable<string>): Steps<StoredEvent[]> {
    const pace = pacer();
    // Events stored while the walk pauses come later in the stream than every one of `ids`.
    const marked = new Uint8Array(this.stream.length);
    let count = 0;
    for (const id of ids) {
      if (pace()) yield;
      marked[this.events.get(id)!.order] = 1;
      count++;
    }
    const out: StoredEvent[] = [];
    for (let i = 0; i < marked.length && out.length < count; i++) {
      if (pace()) yield;
      if (marked[i]) out.push(this.stream[i]);
    }
    return out;
  }

  private applyToState(state: StateMap, stored: StoredEvent): void {
    const sk = pduField<string | undefined>(stored.pdu, 'state_key');
    if (sk !== undefined) state.set(stateMapKey(pduField<string>(stored.pdu, 'type'), sk), stored.id);
  }

  /** The event ID for (type, state_key) in `state` (default: current state). */
  stateEventId(type: string, stateKey: string, state: StateMap = this.currentState()): string | undefined {
    return state.get(stateMapKey(type, stateKey));
  }

  /** The content of (type, state_key) in `state` (default: current state). */
  stateContent(type: string, stateKey: string, state: StateMap = this.currentState()): Record<string, unknown> | undefined {
    const id = this.stateEventId(type, stateKey, state);
    return id ? pduField<Record<string, unknown>>(this.mustEvent(id), 'content') : undefined;
  }

  /** A user's membership in `state` (default: current state), or undefined if none. */
  membership(userId: string, state: StateMap = this.currentState()): Membership | undefined {
    return this.stateContent('m.room.member', userId, state)?.membership as Membership | undefined;
  }

  /** Member event IDs of `state` with their user and membership, in the map's order. */
  members(state: StateMap = this.currentState()): Array<{ userId: string; membership: Membership; eventId: string }> {
    return runToEnd(this.membersSteps(state));
  }

  /** `members` as a walk that pauses (see slices.ts). */
  *membersSteps(state: StateMap = this.currentState()): Steps<Array<{ userId: string; membership: Membership; eventId: string }>> {
    const pace = pacer();
    const out: Array<{ userId: string; membership: Membership; eventId: string }> = [];
    for (const eventId of state.values()) {
      if (pace()) yield;
      const pdu = this.events.get(eventId)?.pdu;
      if (!pdu || pduField<string>(pdu, 'type') !== 'm.room.member') continue;
      out.push({
        userId: pduField<string>(pdu, 'state_key'),
        membership: pduField<Record<string, unknown>>(pdu, 'content').membership as Membership,
        eventId,
      });
    }
    return out;
  }

  /** Servers with at least one joined member in `state` (default: current state), sorted. */
  serversInRoom(state: StateMap = this.currentState()): string[] {
    return runToEnd(this.serversInRoomSteps(state));
  }

  /** `serversInRoom` as a walk that pauses (see slices.ts). */
  *serversInRoomSteps(state: StateMap = this.currentState()): Steps<string[]> {
    const pace = pacer();
    const servers = new Set<string>();
    for (const m of yield* this.membersSteps(state)) {
      if (pace()) yield;
      if (m.membership === 'join') servers.add(serverOf(m.userId));
    }
    return [...servers].sort();
  }

  /**
   * The room summary's `m.heroes` for `forUser` (client-server `/sync` `summary`): the first 5
   * members other than `forUser`, by stream ordering of their membership event, that are joined
   * or invited; when there are none, the left and banned ones.
   */
  heroes(forUser: string, state: StateMap = this.currentState(), limit = 5): string[] {
    return runToEnd(this.heroesSteps(forUser, state, limit));
  }

  /** `heroes` as a walk that pauses (see slices.ts). */
  *heroesSteps(forUser: string, state: StateMap = this.currentState(), limit = 5): Steps<string[]> {
    const others = (yield* this.membersSteps(state)).filter((m) => m.userId !== forUser);
    yield;
    const present = others.filter((m) => m.membership === 'join' || m.membership === 'invite');
    yield;
    const pool = present.length ? present : others.filter((m) => m.membership === 'leave' || m.membership === 'ban');
    return (yield* this.earliest(pool, limit)).map((m) => m.userId);
  }

  /** The `limit` items whose events came first in stream order, in that order (no full sort: rooms are big). */
  private *earliest<T extends { eventId: string }>(items: T[], limit: number): Steps<T[]> {
    const pace = pacer();
    const best: Array<{ item: T; order: number }> = [];
    for (const item of items) {
      if (pace()) yield;
      const order = this.streamOrder(item.eventId);
      if (best.length === limit && order >= best[limit - 1].order) continue;
      let at = best.length;
      while (at > 0 && best[at - 1].order > order) at--;
      best.splice(at, 0, { item, order });
      if (best.length > limit) best.pop();
    }
    return best.map((b) => b.item);
  }

  /** True when current state has neither `m.room.name` nor `m.room.canonical_alias` (MSC3943's condition). */
  isNameless(state: StateMap = this.currentState()): boolean {
    return !state.has(stateMapKey('m.room.name', '')) && !state.has(stateMapKey('m.room.canonical_alias', ''));
  }

  // ---------------------------------------------------------------------------------------------
  // Auth chains

  /**
   * The union of the auth chains of `ids` (not including `ids` themselves unless one is in
   * another's chain), in stream order. One walk with a shared visited set makes the union linear
   * in its size, which is what a 150k-member send_join needs; no per-event memo is kept because
   * the union's visited set already does that work once per event.
   */
  authChain(ids: Iterable<string>): string[] {
    return runToEnd(this.authChainSteps(ids));
  }

  /** `authChain` in slices between which the event loop runs (for request handlers; see slices.ts). */
  authChainAsync(ids: Iterable<string>): Promise<string[]> {
    return runSliced(this.authChainSteps(ids));
  }

  /** `authChain` as a walk that pauses (see slices.ts). */
  *authChainSteps(ids: Iterable<string>): Steps<string[]> {
    const pace = pacer();
    const seen = new Set<string>();
    const stack: string[] = [];
    for (const id of ids) {
      if (pace()) yield;
      const pdu = this.events.get(id)?.pdu;
      if (pdu) for (const a of this.refs(pdu, 'auth_events')) stack.push(a);
    }
    while (stack.length) {
      if (pace()) yield;
      const id = stack.pop()!;
      if (seen.has(id)) continue;
      const stored = this.events.get(id);
      if (!stored) continue; // not held here: the chain is as complete as this model
      seen.add(id);
      for (const a of this.refs(stored.pdu, 'auth_events')) if (!seen.has(a)) stack.push(a);
    }
    const ordered = yield* this.inStreamOrder(seen);
    seen.clear();
    const out: string[] = [];
    for (const stored of ordered) {
      if (pace()) yield;
      out.push(stored.id);
    }
    return out;
  }

  // ---------------------------------------------------------------------------------------------
  // Conveniences for scripting membership and messages (all go through `append`)

  setState(sender: string, type: string, stateKey: string, content: Record<string, unknown>): string {
    return this.append({ type, stateKey, sender, content });
  }

  setMembership(sender: string, target: string, membership: Membership, extra: Record<string, unknown> = {}): string {
    return this.append({ type: 'm.room.member', stateKey: target, sender, content: { membership, ...extra } });
  }

  join(userId: string, extra: Record<string, unknown> = {}): string {
    return this.setMembership(userId, userId, 'join', extra);
  }

  leave(userId: string): string {
    return this.setMembership(userId, userId, 'leave');
  }

  invite(by: string, userId: string): string {
    return this.setMembership(by, userId, 'invite');
  }

  kick(by: string, userId: string, reason?: string): string {
    return this.setMembership(by, userId, 'leave', reason ? { reason } : {});
  }

  ban(by: string, userId: string, reason?: string): string {
    return this.setMembership(by, userId, 'ban', reason ? { reason } : {});
  }

  sendMessage(sender: string, body: string): string {
    return this.append({ type: 'm.room.message', sender, content: { msgtype: 'm.text', body } });
  }
}
