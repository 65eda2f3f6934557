/**
 * Observations shared by the joining-side tests of traffic during the resync, auth across it and
 * device lists: the candidate's /state_ids at an event (withheld while partial, exact after),
 * a transaction pushed while it resyncs, an event in a lazy-loading /sync, an event as a client
 * fetches it. Each records its verdict on the test (judge).
 */
import type { TestInfo } from '@playwright/test';
import type { CandidateClient } from '../client/client.ts';
import { timelineOf, type SyncFilter, type SyncResponse } from '../client/types.ts';
import { judge, scenarioStopsAt } from '../checks/judge.ts';
import { closedBeforeResponse } from '../remote/client.ts';
import { stateNotServedFromPartialState } from '../checks/partial-state.ts';
import { rejectedEventNotServed, stateIdsAfterResyncIsFullState, stateIdsWhilePartialIsFullState, transactionAnsweredDuringResync } from '../checks/joiner-resync-integrity.ts';
import { parseStateKey, type PDU, type StateMap } from '../matrix/index.ts';
import { matrixFunctions, stateChecks, type StateObservation } from '../checks/index.ts';
import { judgeApplicable } from '../resident/observe.ts';
import type { Remote } from '../remote/remote.ts';
import type { Room } from '../remote/room.ts';
import { LAZY_FILTER } from './partial-join.ts';
import { candidateStateIds, pushTransaction } from './unchecked-join.ts';

/** How long a partial candidate is given to answer /state_ids before we count it as waiting (it should wait or refuse). */
export const PARTIAL_STATE_IDS_WAIT_MS = 1_500;
/** Bound on answers that must come: a transaction, /state_ids once resynced, an event in /sync. */
export const ANSWER_WITHIN_MS = 15_000;

/** What a test needs of a join to observe it. */
export interface JoinUnderTest {
  remote: Remote;
  room: Room;
  roomId: string;
  joiner: CandidateClient;
}

/**
 * Asks the candidate for /state_ids at `eventId`. While partial (MSC3902 via MSC3895, JS-07) it
 * should not answer from partial state: it waits or refuses (the partial-state profile). Any
 * answer it gives, then or once resynced, must be exactly the state before the event on the
 * resident (ST-01, a MUST).
 */
export async function observeStateAtEvent(testInfo: TestInfo, candidateServer: string, join: JoinUnderTest, eventId: string, phase: 'partial' | 'complete'): Promise<void> {
  const waitedMs = phase === 'partial' ? PARTIAL_STATE_IDS_WAIT_MS : ANSWER_WITHIN_MS;
  const response = await candidateStateIds(join.remote, candidateServer, join.roomId, eventId, waitedMs);
  const observation = { phase, eventId, response, waitedMs, truth: [...join.room.stateBefore(eventId).values()] };
  if (phase === 'partial') {
    judge(testInfo, stateNotServedFromPartialState, {
      request: { scenario: `/state_ids at ${eventId} while partial (waited ${waitedMs} ms)` },
      facts: [{ fact: 'answered 200 with a state', expected: false, observed: response?.status === 200 }],
    });
    // Whatever the profile says about answering, an answer given is judged for correctness (a MUST).
    judge(testInfo, stateIdsWhilePartialIsFullState, observation);
    return;
  }
  judge(testInfo, stateIdsAfterResyncIsFullState, observation);
}

/**
 * Pushes `eventIds` (and EDUs) in one transaction and judges that it was answered (ST-09). A
 * transaction whose connection the candidate closed without answering is judged so, and the
 * scenario stops there (the events' fate is unknown): see `scenarioStopsAt`.
 */
export async function pushAndJudge(
  testInfo: TestInfo,
  candidateServer: string,
  join: Pick<JoinUnderTest, 'remote' | 'room'>,
  eventIds: string[],
  edus: Array<{ edu_type: string; content: unknown }> = [],
): Promise<void> {
  const pdus = eventIds.map((id) => join.room.mustEvent(id) as PDU);
  let response: Awaited<ReturnType<typeof pushTransaction>>;
  let closed: string | undefined;
  try {
    response = await pushTransaction(join.remote, candidateServer, { pdus, edus }, ANSWER_WITHIN_MS);
  } catch (err) {
    if (!closedBeforeResponse(err)) throw err;
    response = null;
    closed = (err as Error).message;
  }
  const outcome = judge(testInfo, transactionAnsweredDuringResync, { pduIds: eventIds, eduTypes: edus.map((e) => e.edu_type), response, waitedMs: ANSWER_WITHIN_MS, ...(closed ? { closed } : {}) });
  if (closed) scenarioStopsAt(testInfo, outcome, `the candidate closed the connection of a transaction carrying ${eventIds.join(', ') || 'EDUs only'} without answering`);
  const results = (response?.body as { pdus?: Record<string, { error?: string }> } | undefined)?.pdus ?? {};
  const refused = Object.entries(results).filter(([, r]) => r?.error);
  if (refused.length) testInfo.annotations.push({ type: 'lazyjoin-observed', description: `PDUs the candidate refused: ${JSON.stringify(Object.fromEntries(refused))}` });
}

/** Whether `eventId` shows in the timeline of a lazy-loading /sync within `timeoutMs`. */
export function seenInLazySync(client: CandidateClient, roomId: string, eventId: string, timeoutMs = ANSWER_WITHIN_MS): Promise<boolean> {
  return lazySyncShows(client, (s) => timelineOf(s, roomId).some((e) => e.event_id === eventId), `${eventId} in the timeline of ${roomId} (lazy-loading /sync)`, { timeoutMs });
}

/**
 * Judges that an event rejected whatever the state (it fails the auth rules against its own auth
 * events) is not served to the joiner's client (SG-10).
 */
export async function judgeNotServed(testInfo: TestInfo, join: JoinUnderTest, eventId: string, phase: 'partial' | 'complete', why: string): Promise<void> {
  const answer = await join.joiner.event(join.roomId, eventId);
  judge(testInfo, rejectedEventNotServed, { phase, eventId, mustBeRejected: why, answer: { status: answer.status, errcode: answer.errcode } });
}

/** Whether the joiner's client is served `eventId` (`GET /rooms/{roomId}/event/{eventId}` answers 200). */
export async function servedToClient(join: JoinUnderTest, eventId: string): Promise<{ served: boolean; status: number; errcode?: string }> {
  const answer = await join.joiner.event(join.roomId, eventId);
  return { served: answer.status === 200, status: answer.status, errcode: answer.errcode };
}

/**
 * Long-polls a lazy-loading /sync (from `since`, or an initial sync) until `predicate` holds;
 * false when it does not within `timeoutMs`.
 */
export async function lazySyncShows(
  client: CandidateClient,
  predicate: (sync: SyncResponse) => boolean,
  description: string,
  opts: { since?: string; timeoutMs?: number; filter?: SyncFilter } = {},
): Promise<boolean> {
  try {
    await client.waitForSync(predicate, { filter: opts.filter ?? LAZY_FILTER, since: opts.since, timeoutMs: opts.timeoutMs ?? ANSWER_WITHIN_MS, description });
    return true;
  } catch (err) {
    if (/timed out/.test((err as Error).message)) return false;
    throw err;
  }
}

/**
 * Judges a candidate's federation `/state` answer at `eventId` against `resolved`, the state the
 * suite's own state resolution gives there (the fork scenarios' truth), with the state checks.
 */
export function judgeStateAgainstResolution(
  testInfo: TestInfo,
  room: Room,
  eventId: string,
  res: { status: number; body?: unknown; raw: string },
  resolved: StateMap,
): void {
  const truth = [...resolved].map(([key, event_id]) => {
    const { type, stateKey } = parseStateKey(key);
    return { type, state_key: stateKey, event_id };
  });
  const observation: StateObservation = {
    request: { endpoint: 'state', roomId: room.roomId, eventId, roomVersion: room.version.id },
    response: { status: res.status, body: res.body ?? res.raw },
    truth,
    eventIdOf: matrixFunctions(room.version.id).eventIdOf,
  };
  judgeApplicable(testInfo, stateChecks, observation);
}
