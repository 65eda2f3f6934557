/**
 * A room hosted by the candidate, as a resident-side scenario builds it: every membership change
 * goes through here, in order, so that the test knows the truth (who is joined, invited, gone, and
 * in which order they became so) independently of any send_join answer.
 *
 * Candidate users act through the client API; users of scripted remotes (and of their bystander
 * server names) join through make_join and send_join, as a real remote server would.
 */
import { signEvent, templateForSigning, type PDU, type SigningKey } from '../matrix/index.ts';
import type { CandidateClient } from '../client/client.ts';
import type { ClientEvent, CreateRoomRequest } from '../client/types.ts';
import { FederationClient, type SendJoinMode } from '../remote/client.ts';
import { trimmedJson } from '../remote/log.ts';
import type { RoomTruth, StateEntry } from '../checks/send-join-observation.ts';
import { test } from '@playwright/test';
import { judge, scenarioStopsAt } from '../checks/judge.ts';
import { acceptedMembershipHeld, joinRelayedToRoom } from '../checks/join-relay.ts';

/** A server the suite controls and can sign as: a remote, or one of its bystander server names. */
export interface SuiteServer {
  serverName: string;
  key: SigningKey;
}

/** Number of heroes the client-server API asks for (`m.heroes`: "the first 5 members"). */
export const HERO_COUNT = 5;

export class ResidentRoom {
  /** Users in the order their current membership event was sent (the stream order of the room). */
  private readonly order: string[] = [];
  private readonly memberships = new Map<string, string>();
  /** Joins the candidate accepted through send_join (200), by user: the event and the joining server. */
  private readonly acceptedJoins = new Map<string, { eventId: string; server: string }>();
  /** Other membership changes the candidate accepted (answered 200), by user: the latest one and how it was accepted. */
  private readonly acceptedChanges = new Map<string, { membership: string; acceptedBy: string }>();

  private constructor(
    readonly roomId: string,
    readonly roomVersion: string,
    /** The creator: reads the truth through the client API. */
    readonly owner: CandidateClient,
  ) {}

  /**
   * Creates the room as `owner`. `invite` in the request is not allowed here: invite through
   * `invite()` so that the order of memberships is known.
   */
  static async create(owner: CandidateClient, req: CreateRoomRequest = {}): Promise<ResidentRoom> {
    if (req.invite?.length) throw new Error('ResidentRoom.create: invite users with room.invite() so that their order is recorded');
    const { room_id: roomId } = (await owner.createRoom({ preset: 'public_chat', ...req })).ok();
    const create = (await owner.stateEvent(roomId, 'm.room.create')).ok() as { room_version?: string };
    const room = new ResidentRoom(roomId, create.room_version ?? '1', owner);
    room.note(owner.userId, 'join');
    return room;
  }

  /** Records `userId`'s new membership; `acceptedBy` names the candidate's 200 answer that made it (none for a join). */
  private note(userId: string, membership: string, acceptedBy?: string): void {
    const at = this.order.indexOf(userId);
    if (at >= 0) this.order.splice(at, 1);
    this.order.push(userId);
    this.memberships.set(userId, membership);
    if (acceptedBy) this.acceptedChanges.set(userId, { membership, acceptedBy });
    else this.acceptedChanges.delete(userId);
  }

  membershipOf(userId: string): string | undefined {
    return this.memberships.get(userId);
  }

  async joinLocal(client: CandidateClient): Promise<void> {
    (await client.join(this.roomId)).ok();
    this.note(client.userId, 'join');
  }

  async invite(by: CandidateClient, userId: string): Promise<void> {
    (await by.invite(this.roomId, userId)).ok();
    this.note(userId, 'invite', 'POST /invite (200)');
  }

  async leave(client: CandidateClient): Promise<void> {
    (await client.leave(this.roomId)).ok();
    this.note(client.userId, 'leave', 'POST /leave (200)');
  }

  async kick(by: CandidateClient, userId: string): Promise<void> {
    (await by.kick(this.roomId, userId)).ok();
    this.note(userId, 'leave', 'POST /kick (200)');
  }

  async ban(by: CandidateClient, userId: string): Promise<void> {
    (await by.ban(this.roomId, userId)).ok();
    this.note(userId, 'ban', 'POST /ban (200)');
  }

  /**
   * Joins `userId` of `server` through make_join and send_join on the candidate (full state:
   * the answer is not the subject here). Returns the join event ID.
   */
  async joinRemoteUser(candidateServer: string, server: SuiteServer, userId: string, mode: SendJoinMode = 'full'): Promise<string> {
    const eventId = await joinOverFederation(candidateServer, server, this.roomId, userId, mode);
    this.note(userId, 'join');
    this.acceptedJoins.set(userId, { eventId, server: server.serverName });
    return eventId;
  }

  /** Leaves as `userId` of `server` through make_leave and send_leave on the candidate. */
  async leaveRemoteUser(candidateServer: string, server: SuiteServer, userId: string): Promise<void> {
    const client = new FederationClient(server.serverName, server.key);
    const made = await client.makeLeave(candidateServer, this.roomId, userId);
    if (made.status !== 200 || !made.body?.event) throw new Error(`make_leave of ${userId} from ${this.roomId} answered ${made.status}: ${trimmedJson(made.body ?? made.raw, 300)}`);
    const { event, eventId } = signJoinTemplate(made.body.event, server, made.body.room_version ?? '1');
    const sent = await client.sendLeave(candidateServer, this.roomId, eventId, event);
    if (sent.status !== 200) throw new Error(`send_leave of ${userId} from ${this.roomId} answered ${sent.status}: ${trimmedJson(sent.body ?? sent.raw, 300)}`);
    this.note(userId, 'leave', 'PUT /send_leave (200)');
  }

  /** Records a membership change done elsewhere (e.g. a remote leave sent over federation). */
  recordMembership(userId: string, membership: string): void {
    this.note(userId, membership);
  }

  /** The room's current state through the owner's client API. */
  async currentState(): Promise<ClientEvent[]> {
    return (await this.owner.state(this.roomId)).ok() as ClientEvent[];
  }

  /**
   * The truth just before `joiningUser` joins: the current state as the candidate's client API
   * shows it, and the heroes computed from the order of memberships this room recorded.
   * Fails when the client API disagrees with the recorded memberships (the scenario is then
   * not what the test believes).
   */
  async truth(joiningUser: string): Promise<RoomTruth> {
    const events = await this.currentState();
    const currentState: StateEntry[] = events
      .filter((e) => typeof e.state_key === 'string')
      .map((e) => ({
        type: e.type,
        state_key: e.state_key!,
        event_id: e.event_id,
        ...(e.type === 'm.room.member' ? { membership: String(e.content.membership) } : {}),
      }));
    this.judgeAcceptedJoins(currentState);
    this.judgeAcceptedChanges(currentState);
    const disagreements = [...this.memberships]
      .filter(([user, m]) => currentState.find((s) => s.type === 'm.room.member' && s.state_key === user)?.membership !== m)
      .map(([user, m]) => `${user}: recorded ${m}`);
    if (disagreements.length) throw new Error(`the candidate's state of ${this.roomId} disagrees with the scenario: ${disagreements.join(', ')}`);
    return { currentState, heroes: this.heroes(joiningUser) };
  }

  /**
   * A join the candidate accepted through send_join (it answered 200) and that its state does not
   * hold at all (no membership event for the user; or still not joined when nothing since changed
   * it) is the candidate's departure, not a broken scenario: SJ-22 ("accepts it into the room's
   * event graph") is judged failed for each. A known failure (the candidate's baseline) then ends
   * the test as skipped, since the scenario it was to judge could not be built; its other
   * requirements are not run. Nothing is judged when every accepted join is there.
   */
  private judgeAcceptedJoins(currentState: StateEntry[]): void {
    const lost = [...this.acceptedJoins].filter(([user]) => {
      const held = currentState.find((s) => s.type === 'm.room.member' && s.state_key === user)?.membership;
      return held === undefined || (this.memberships.get(user) === 'join' && held !== 'join');
    });
    if (lost.length === 0) return;
    const testInfo = test.info();
    const outcomes = lost.map(([, { eventId, server }]) =>
      judge(testInfo, joinRelayedToRoom, { joinEventId: eventId, joiningServer: server, otherServers: [], shownToLocalUsers: false }),
    );
    const users = lost.map(([user]) => user).join(', ');
    scenarioStopsAt(testInfo, outcomes.find((o) => o.verdict !== 'known-failure') ?? outcomes[0], `${this.roomId} does not hold the join(s) of ${users} it accepted through send_join (200)`);
  }

  /**
   * The other membership changes the candidate accepted (an invite, leave, kick or ban through its
   * client API, a remote's send_leave) are judged against its state (CD-03) whenever there are
   * any: held, they pass; one it does not hold fails, and the scenario stops there as for a lost
   * join (a known failure ends the test as skipped with the reason).
   */
  private judgeAcceptedChanges(currentState: StateEntry[]): void {
    const changes = [...this.acceptedChanges].map(([userId, { membership, acceptedBy }]) => ({
      userId,
      membership,
      acceptedBy,
      held: currentState.find((s) => s.type === 'm.room.member' && s.state_key === userId)?.membership ?? null,
    }));
    if (changes.length === 0) return;
    const testInfo = test.info();
    const outcome = judge(testInfo, acceptedMembershipHeld, { roomId: this.roomId, changes });
    const lost = changes.filter((c) => c.held !== c.membership);
    if (outcome.verdict === 'pass' || lost.length === 0) return;
    scenarioStopsAt(testInfo, outcome, `${this.roomId} does not hold the membership change(s) it accepted of ${lost.map((c) => `${c.userId} (${c.membership})`).join(', ')}`);
  }

  /**
   * The m.heroes rule of the client-server API (/sync room summary): the first five joined or
   * invited members in stream order, never the user themself; when there are none, the banned
   * and left members, in the same order.
   */
  heroes(forUser: string): string[] {
    const others = this.order.filter((u) => u !== forUser);
    const present = others.filter((u) => ['join', 'invite'].includes(this.memberships.get(u)!));
    const gone = others.filter((u) => ['leave', 'ban'].includes(this.memberships.get(u)!));
    return (present.length ? present : gone).slice(0, HERO_COUNT);
  }
}

/** make_join, sign, send_join as `userId` of `server`; throws a one-line reason on any refusal. */
export async function joinOverFederation(candidateServer: string, server: SuiteServer, roomId: string, userId: string, mode: SendJoinMode): Promise<string> {
  const client = new FederationClient(server.serverName, server.key);
  const made = await client.makeJoin(candidateServer, roomId, userId);
  if (made.status !== 200 || !made.body?.event) throw new Error(`make_join of ${userId} to ${roomId} answered ${made.status}: ${trimmedJson(made.body ?? made.raw, 300)}`);
  const version = made.body.room_version ?? '1';
  const { event, eventId } = signJoinTemplate(made.body.event, server, version);
  const sent = await client.sendJoin(candidateServer, roomId, eventId, event, mode);
  if (sent.status !== 200) throw new Error(`send_join of ${userId} to ${roomId} answered ${sent.status}: ${trimmedJson(sent.body ?? sent.raw, 300)}`);
  return eventId;
}

/** Signs a make_join (or make_leave) template as `server`, with a fresh origin_server_ts. */
export function signJoinTemplate(template: PDU, server: SuiteServer, roomVersion: string, change?: (draft: PDU) => PDU): { event: PDU; eventId: string } {
  const ready = templateForSigning(template, server.serverName, roomVersion);
  return signEvent((change ? change(ready) : ready) as PDU, server.serverName, server.key, roomVersion);
}
