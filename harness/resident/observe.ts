/**
 * Observing the candidate as a resident: one make_join / send_join exchange played by a scripted
 * remote, turned into the observations the checks judge, with the truth read before the join.
 */
import type { TestInfo } from '@playwright/test';
import { fileURLToPath } from 'node:url';
import { encodeBase64, STABLE_ROOM_VERSIONS, type PDU } from '../matrix/index.ts';
import { closedBeforeResponse, FederationClient } from '../remote/client.ts';
import type { Remote } from '../remote/remote.ts';
import { trimmedJson } from '../remote/log.ts';
import { fixtureOf, judgeAll, makeJoinChecks, writeObservationFixture, matrixFunctions, sendJoinChecks, recordNotSupported, type Check, type CheckOutcome, type MakeJoinObservation, type PublishedKeys, type SendJoinObservation, type WirePdu } from '../checks/index.ts';
import { UNSTABLE_PARTIAL_STATE } from '../checks/send-join-observation.ts';
import type { FixtureExpectation } from '../checks/fixtures.ts';
import { signJoinTemplate, type ResidentRoom, type SuiteServer } from './room.ts';
import { annotateRoomVersion } from './versions.ts';

/** Room versions the suite's joiner offers in `ver`: every stable version the room model builds. */
export const OFFERED_VERSIONS: string[] = [...STABLE_ROOM_VERSIONS];

/** What the opt-in looks like on the wire. */
export type OptIn =
  | { omitMembers: string }
  /** `org.matrix.msc3706.partial_state=<value>` */
  | { unstable: string }
  /** no parameter at all */
  | 'none';

export interface JoinExchange {
  makeJoin: MakeJoinObservation;
  sendJoin: SendJoinObservation;
  joinEvent: PDU;
  joinEventId: string;
  /** The keys that verified the events, for saving the observation as a fixture. */
  keys: PublishedKeys;
}

export interface ObserveJoinOptions {
  /** Default `{ omitMembers: 'true' }`. */
  optIn?: OptIn;
  /** Sign as this server instead of the remote itself (a bystander name of the remote). */
  as?: SuiteServer;
  /** Runs after make_join answered and before the join is signed (to change the room meanwhile). */
  afterMakeJoin?: () => Promise<void>;
  /** Changes the join event before it is signed (to send an invalid join on purpose). */
  changeJoin?: (draft: PDU) => PDU;
  /** Changes the signed join event (to break its signature on purpose). */
  afterSigning?: (signed: PDU) => PDU;
  /** What the observation's request says about a join that is invalid on purpose. */
  invalidJoin?: SendJoinObservation['request']['invalidJoin'];
}

/**
 * make_join for `userId`, then send_join of the signed template with the chosen opt-in. The truth
 * is read after make_join and before send_join, so it is the state the join is built on.
 */
export async function observeJoin(remote: Remote, candidateServer: string, room: ResidentRoom, userId: string, opts: ObserveJoinOptions = {}): Promise<JoinExchange> {
  const signer: SuiteServer = opts.as ?? { serverName: remote.serverName, key: remote.key };
  const client = opts.as ? new FederationClient(signer.serverName, signer.key) : remote.client;
  const made = await client.makeJoin(candidateServer, room.roomId, userId, OFFERED_VERSIONS);
  const makeJoin: MakeJoinObservation = {
    request: { roomId: room.roomId, userId, supportedVersions: OFFERED_VERSIONS },
    response: { status: made.status, body: made.body ?? made.raw },
  };
  if (made.status !== 200 || !made.body?.event) throw new Error(`make_join of ${userId} to ${room.roomId} answered ${made.status}: ${trimmedJson(made.body ?? made.raw, 300)}`);
  const roomVersion = made.body.room_version ?? '1';
  await opts.afterMakeJoin?.();
  const truth = await room.truth(userId);
  let { event, eventId } = signJoinTemplate(made.body.event, signer, roomVersion, opts.changeJoin);
  if (opts.afterSigning) event = opts.afterSigning(event);

  const optIn = opts.optIn ?? { omitMembers: 'true' };
  const query: Record<string, string> = optIn === 'none' ? {} : 'omitMembers' in optIn ? { omit_members: optIn.omitMembers } : { [UNSTABLE_PARTIAL_STATE]: optIn.unstable };
  // The path names the event's room, so that a join moved to another room goes there.
  const roomId = typeof event.room_id === 'string' ? event.room_id : room.roomId;
  // A connection the candidate closed without answering is its answer here (status 0, the body
  // saying so): every check of the exchange judges it, none is left unjudged by a harness error.
  const sent = await client
    .request('PUT', candidateServer, `/_matrix/federation/v2/send_join/${encodeURIComponent(roomId)}/${encodeURIComponent(eventId)}`, {
      query,
      body: event,
      timeoutMs: 120_000,
    })
    .catch((err: unknown) => {
      if (!closedBeforeResponse(err)) throw err;
      const raw = `(no answer: ${(err as Error).message})`;
      return { status: 0, body: undefined, raw, headers: {} };
    });
  const keys = await publishedKeys(remote, [event, ...eventsOf(sent.body)]);
  const sendJoin: SendJoinObservation = {
    request: {
      roomId,
      roomVersion,
      residentServer: candidateServer,
      joiningServer: signer.serverName,
      joinEvent: event as WirePdu,
      ...(optIn === 'none' ? {} : 'omitMembers' in optIn ? { omitMembers: optIn.omitMembers } : { omitMembers: optIn.unstable, unstablePrefix: true }),
      ...(opts.invalidJoin ? { invalidJoin: opts.invalidJoin } : {}),
    },
    response: { status: sent.status, body: sent.body ?? sent.raw },
    truth,
    ...matrixFunctions(roomVersion, keys),
  };
  return { makeJoin, sendJoin, joinEvent: event, joinEventId: eventId, keys };
}

/** Sizes of a send_join answer, and how much of auth_chain repeats state (SJ-17 deduplication). */
export interface AnswerSizes {
  bytes: number;
  state: number;
  memberships: number;
  authChain: number;
  /** Events of auth_chain also in state. */
  repeatedInAuthChain: number;
}

export function answerSizes(o: SendJoinObservation): AnswerSizes {
  const body = (o.response.body ?? {}) as { state?: WirePdu[]; auth_chain?: WirePdu[] };
  const state = Array.isArray(body.state) ? body.state : [];
  const chain = Array.isArray(body.auth_chain) ? body.auth_chain : [];
  const stateIds = new Set(state.map((e) => o.eventIdOf(e)));
  return {
    bytes: Buffer.byteLength(JSON.stringify(o.response.body)),
    state: state.length,
    memberships: state.filter((e) => e.type === 'm.room.member').length,
    authChain: chain.length,
    repeatedInAuthChain: chain.filter((e) => stateIds.has(o.eventIdOf(e))).length,
  };
}

function eventsOf(body: unknown): PDU[] {
  if (typeof body !== 'object' || body === null) return [];
  const b = body as Record<string, unknown>;
  const list = (v: unknown) => (Array.isArray(v) ? v.filter((e): e is PDU => typeof e === 'object' && e !== null) : []);
  return [...list(b.state), ...list(b.auth_chain), ...(typeof b.event === 'object' && b.event ? [b.event as PDU] : [])];
}

/**
 * The public keys of every server that signed one of `events`, fetched through the remote's key
 * cache (the candidate's key server, the remote's own listeners). A key that cannot be had is
 * left out: verification then reports the event as unverifiable, which is a finding.
 */
export async function publishedKeys(remote: Remote, events: PDU[]): Promise<PublishedKeys> {
  const wanted = new Map<string, Set<string>>();
  for (const e of events) {
    for (const [server, sigs] of Object.entries(e.signatures ?? {})) {
      for (const keyId of Object.keys(sigs ?? {})) {
        if (!wanted.has(server)) wanted.set(server, new Set());
        wanted.get(server)!.add(keyId);
      }
    }
  }
  const keys: PublishedKeys = {};
  for (const [server, keyIds] of wanted) {
    for (const keyId of keyIds) {
      await remote.keys.ensure(server, keyId).catch(() => undefined);
      const key = remote.keys.lookup(server, keyId);
      if (key) (keys[server] ??= {})[keyId] = encodeBase64(key);
    }
  }
  return keys;
}

/**
 * Judges every check of `checks` over the observation (harness/checks/judge.ts `judgeAll`): a
 * check that does not apply is recorded as not run, with its reason.
 */
export function judgeApplicable<O>(testInfo: TestInfo, checks: ReadonlyArray<Check<O>>, observation: O): CheckOutcome[] {
  return judgeAll(testInfo, checks, observation);
}

/** Judges both halves of a join exchange with every registered make_join and send_join check. */
export function judgeJoin(testInfo: TestInfo, exchange: JoinExchange): CheckOutcome[] {
  annotateRoomVersion(testInfo, exchange.sendJoin.request.roomVersion);
  return [...judgeApplicable(testInfo, makeJoinChecks, exchange.makeJoin), ...judgeApplicable(testInfo, sendJoinChecks, exchange.sendJoin)];
}

/** Requirements that only a partial answer exercises. */
export const PARTIAL_ONLY = ['SJ-15', 'SJ-18'];

/**
 * Whether the answer to an opt-in is partial (the members-omitted flag is true). When it is not,
 * the partial-only requirements are recorded as not supported, with the reason.
 */
export function partialAnswered(testInfo: TestInfo, o: SendJoinObservation, requirements: string[] = PARTIAL_ONLY): boolean {
  const body = o.response.body as Record<string, unknown> | null;
  const field = o.request.unstablePrefix ? UNSTABLE_PARTIAL_STATE : 'members_omitted';
  const flag = o.response.status === 200 && body && typeof body === 'object' ? body[field] : undefined;
  if (flag === true) return true;
  recordNotSupported(testInfo, requirements, `asked with ${o.request.unstablePrefix ? UNSTABLE_PARTIAL_STATE : 'omit_members'}=${o.request.omitMembers}, the candidate answered HTTP ${o.response.status} with ${field}: ${JSON.stringify(flag ?? null)} (no partial state offered)`);
  return false;
}

/**
 * With LAZYJOIN_RECORD_FIXTURES=1, saves the send_join observation as a fixture of
 * tests/self/fixtures/observations/ (`<candidate>-<version>-<name>.json`), pinning what every
 * send_join check concludes on it now, so that the self-tests judge real traffic again.
 */
export function recordFixtureIfAsked(testInfo: TestInfo, candidate: { info: { name: string; version: string } }, name: string, exchange: JoinExchange): void {
  if (process.env.LAZYJOIN_RECORD_FIXTURES !== '1') return;
  const expectations: Record<string, FixtureExpectation> = {};
  for (const check of sendJoinChecks) {
    const r = check.evaluate(exchange.sendJoin);
    expectations[check.id] = 'notApplicable' in r ? 'not-applicable' : r.ok ? 'pass' : 'fail';
  }
  const { info } = candidate;
  const fixture = fixtureOf('send-join', exchange.sendJoin, expectations, {
    description: `${info.name} ${info.version}: ${testInfo.title}`,
    source: { origin: 'recorded', candidate: info.name, candidateVersion: info.version, recordedAt: new Date().toISOString(), test: testInfo.titlePath.join(' > ') },
    serverKeys: exchange.keys,
  });
  writeObservationFixture(fileURLToPath(new URL(`../../tests/self/fixtures/observations/${info.name}-${info.version}-${name}.json`, import.meta.url)), fixture);
}
