/**
 * Scaffolding for adversarial-resident tests: a send_join answer rewritten after the honest one is
 * built, and one verdict over how the joining candidate came out of it.
 *
 * A safe candidate either refuses the join with a clear client error (an error status with an
 * errcode, and no joined room), or completes it and, once resynced, holds exactly the resident's
 * room state; in both cases no invalid event becomes state (JS-01, judged), and its other rooms
 * keep working. Each test states its `safeBehaviour` (shown in the report as an annotation and as
 * the recorded outcome's reason).
 */
import { expect, type TestInfo } from '@playwright/test';
import type { CandidateClient } from '../client/client.ts';
import { timelineOf } from '../client/types.ts';
import { requirement as requirementOf } from '../checks/catalogue.ts';
import { adversarialJoinEndsSafe, clientOperationsWorkWhilePartial } from '../checks/partial-state.ts';
import { CHECK_ANNOTATION, judge, recordCheckNotRun, recordInformational } from '../checks/judge.ts';
import type { Check, CheckOutcome } from '../checks/types.ts';
import { noInvalidEventInState } from '../checks/joiner-resync-integrity.ts';
import { stateKey as stateMapKey } from '../matrix/index.ts';
import type { Room } from '../remote/room.ts';
import { sendJoinHandler, type SendJoinBehaviour } from '../remote/routes/membership.ts';
import { responseText, type RouteContext, type RouteHandler } from '../remote/routing.ts';
import type { UncheckedJoin } from './unchecked-join.ts';
import { pushAndJudge, seenInLazySync } from './resync-observe.ts';

export const SAFE_BEHAVIOUR_ANNOTATION = 'safeBehaviour';
/** Bound on the resync of a join that went through despite bad input. */
export const ADVERSARIAL_RESYNC_WITHIN_MS = 20_000;
/** Bound on a local room's creation and first message, to show the candidate is not stuck. */
const OTHER_ROOM_WITHIN_MS = 10_000;

/** The parsed send_join answer a rewrite may change in place. */
export type SendJoinBody = Record<string, unknown> & { state: Array<Record<string, unknown>>; auth_chain: Array<Record<string, unknown>> };

/**
 * A send_join handler that builds the honest answer (or one per `behaviour`), then lets `rewrite`
 * change it: remove or replace events, break fields. Only 200 answers are rewritten.
 */
export function rewrittenSendJoin(rewrite: (body: SendJoinBody, ctx: RouteContext & { room: Room }) => void, behaviour: SendJoinBehaviour = {}): RouteHandler {
  const honest = sendJoinHandler(behaviour);
  return async (ctx) => {
    const response = await honest(ctx);
    if (response.status !== 200) return response;
    const body = JSON.parse(responseText(response)) as SendJoinBody;
    rewrite(body, { ...ctx, room: ctx.remote.rooms.get(ctx.params.roomId)! });
    return { status: 200, body };
  };
}

/** The type and state key of each event of a state list, as `type|state_key`. */
export function stateKeyOf(event: Record<string, unknown>): string {
  return stateMapKey(String(event.type), String(event.state_key));
}

export interface AdversarialOutcomeOptions {
  /**
   * The requirement the safe behaviour rests on: JS-03 (the partial-state profile: judged) or
   * C-15 (MSC2775's trust in the resident: recorded as informational).
   */
  requirement: 'JS-03' | 'C-15';
  /** What a safe candidate does, and why (requirement or MSC text). */
  safeBehaviour: string;
  /** Events that must never become state (JS-01), with why. */
  forbidden?: Array<{ eventId: string; why: string }>;
  /** Looks, once the join is over, for events whose tampered (hash-failing) content a client is served. */
  probeTampered?: () => Promise<Array<{ eventId: string; why: string }>>;
  /** Whether refusing the join counts as safe (default true). */
  refusalIsSafe?: boolean;
  /** The room state the candidate must end with (default: the remote's current state). */
  truth?: Map<string, string>;
  /**
   * Further facts a completed join must show once resynced, read then (e.g. the content a client is
   * served where one event ID stood for two bodies); each must observe what it expects.
   */
  completedFacts?: () => Promise<Array<{ fact: string; expected: unknown; observed: unknown }>>;
  /** Bound on the resync (default ADVERSARIAL_RESYNC_WITHIN_MS), for answers whose size alone takes a sound joiner seconds. */
  resyncWithinMs?: number;
}

export interface AdversarialOutcome {
  safe: boolean;
  refused: boolean;
  resynced: boolean;
  stateMatches: boolean | null;
  /** The candidate's room state once the join was over (type|state_key -> event ID), or null if refused or unreadable. */
  stateAfter: Record<string, string> | null;
}

/**
 * Judges how the candidate came out of the scenario: releases the resync, waits for it (bounded),
 * reads the room state, checks no forbidden event is in it (JS-01), that a local room still works,
 * and records whether the outcome was safe under `requirement`.
 */
export async function judgeAdversarialOutcome(testInfo: TestInfo, join: UncheckedJoin, opts: AdversarialOutcomeOptions): Promise<AdversarialOutcome> {
  testInfo.annotations.push({ type: SAFE_BEHAVIOUR_ANNOTATION, description: opts.safeBehaviour });
  const answer = join.joinAnswer;
  const refused = answer.status >= 400;
  let resynced = false;
  let resyncError: string | undefined;
  let stateAfter: Record<string, string> | null = null;
  let stateMatches: boolean | null = null;
  let stateDiff: unknown = null;
  if (!refused) {
    join.releaseResync();
    try {
      await join.awaitResyncComplete(opts.resyncWithinMs ?? ADVERSARIAL_RESYNC_WITHIN_MS);
      resynced = true;
    } catch (err) {
      resyncError = (err as Error).message.slice(0, 300);
    }
    const state = await join.client.state(join.roomId, { timeoutMs: 5_000 }).catch((err: Error) => ({ status: 0, body: err.message }));
    if (state.status === 200 && Array.isArray(state.body)) {
      stateAfter = Object.fromEntries(state.body.map((e) => [stateMapKey(e.type, e.state_key ?? ''), e.event_id]));
      const truth = opts.truth ?? join.room.currentState();
      const missing = [...truth].filter(([k, id]) => stateAfter![k] !== id).map(([k, id]) => `${k}: ${id} (candidate: ${stateAfter![k] ?? 'none'})`);
      const extra = Object.keys(stateAfter).filter((k) => !truth.has(k));
      stateMatches = missing.length === 0 && extra.length === 0;
      stateDiff = { missing, extra };
    } else {
      stateDiff = { roomState: { status: state.status, body: state.body } };
    }
  }
  if (!refused && stateAfter === null && !resynced) {
    // The room stayed partial and its state cannot be read while partial: JS-01 is not judged, and
    // the stalled resync, the candidate's doing, is judged below (never an error of the harness, never a pass).
    recordCheckNotRun(testInfo, noInvalidEventInState, `the room stayed partial (${resyncError ?? 'the resync did not complete'}) and its state could not be read: ${JSON.stringify(stateDiff).slice(0, 300)}`);
  } else if (!refused && stateAfter === null) {
    // The candidate joined but its room state cannot be read: JS-01 cannot be judged, and that is an error, never a pass.
    recordError(testInfo, noInvalidEventInState, `the candidate joined (HTTP ${answer.status}) but its room state could not be read: ${JSON.stringify(stateDiff).slice(0, 300)}`);
  } else {
    const tamperedContentServed = refused || !opts.probeTampered ? undefined : await opts.probeTampered();
    judge(testInfo, noInvalidEventInState, { join: { status: answer.status, errcode: answer.errcode }, stateAfter, forbidden: opts.forbidden ?? [], ...(tamperedContentServed ? { tamperedContentServed } : refused && opts.probeTampered ? { tamperedContentServed: [] } : {}) });
  }
  const completedFacts = !refused && opts.completedFacts ? await opts.completedFacts() : [];
  const factsHold = completedFacts.every((f) => JSON.stringify(f.observed) === JSON.stringify(f.expected));
  const otherRooms = await localRoomWorks(join.client);
  const clearRefusal = refused && answer.errcode !== undefined;
  const safe = otherRooms.ok && (clearRefusal ? opts.refusalIsSafe !== false : resynced && stateMatches === true && factsHold);
  const observed = { join: { status: answer.status, body: answer.body }, resynced, ...(resyncError ? { resyncError } : {}), stateMatches, stateDiff, ...(completedFacts.length ? { completedFacts } : {}), otherRooms };
  if (opts.requirement === 'C-15') {
    recordInformational(testInfo, opts.requirement, safe, observed, `safe behaviour: ${opts.safeBehaviour}`);
  } else {
    testInfo.annotations.push({ type: 'lazyjoin-observed', description: `adversarial outcome: ${JSON.stringify(observed).slice(0, 1500)}` });
    judge(testInfo, adversarialJoinEndsSafe, {
      request: { scenario: opts.safeBehaviour },
      facts: clearRefusal
        ? [
            { fact: 'refusing the join is safe here', expected: true, observed: opts.refusalIsSafe !== false },
            { fact: 'other rooms keep working', expected: true, observed: otherRooms.ok },
          ]
        : [
            { fact: 'the join was refused with an errcode, or completed', expected: true, observed: !refused },
            { fact: 'the resync completed', expected: true, observed: resynced },
            { fact: "the room state equals the resident's", expected: true, observed: stateMatches === true },
            ...completedFacts,
            { fact: 'other rooms keep working', expected: true, observed: otherRooms.ok },
          ],
    });
  }
  return { safe, refused, resynced, stateMatches, stateAfter };
}

/** Records that `check` could not judge here because of the candidate (an error outcome, which fails the test). */
function recordError<O>(testInfo: TestInfo, check: Check<O>, reason: string): void {
  const outcome: CheckOutcome = { checkId: check.id, requirementId: check.requirement, level: requirementOf(check.requirement).level, verdict: 'error', expected: check.title, observed: null, reason };
  testInfo.annotations.push({ type: CHECK_ANNOTATION, description: JSON.stringify(outcome) });
  expect.soft(false, `${check.requirement} could not be judged (error): ${reason}`).toBe(true);
}

/** Whether the candidate still creates a local room and shows a message in it, within a bound. */
export async function localRoomWorks(client: CandidateClient): Promise<{ ok: boolean; error?: string }> {
  try {
    const { room_id: roomId } = (await client.createRoom({ preset: 'private_chat' })).ok();
    const { event_id: eventId } = (await client.sendMessage(roomId, 'other rooms still work')).ok();
    await client.waitForSync((s) => timelineOf(s, roomId).some((e) => e.event_id === eventId), {
      timeoutMs: OTHER_ROOM_WITHIN_MS,
      description: `a message in a new local room ${roomId}`,
    });
    return { ok: true };
  } catch (err) {
    return { ok: false, error: (err as Error).message.slice(0, 300) };
  }
}

/**
 * While the resync does not come (withheld, or dribbled out for ever), the partial room and every
 * other room keep working (JS-08): a new event of the partial room shows in a lazy-loading /sync,
 * the user can send there and the event reaches the resident, and a local room still syncs.
 */
export async function judgeRoomsWorkWithoutResync(testInfo: TestInfo, join: UncheckedJoin, scenario: string): Promise<void> {
  const { client, remote } = join;
  const message = join.room.sendMessage(join.derek, `while ${scenario}`);
  await pushAndJudge(testInfo, join.candidate.serverName, join, [message]);
  const seen = await seenInLazySync(client, join.roomId, message);
  const sent = await client.sendMessage(join.roomId, `from the candidate while ${scenario}`);
  const reached = sent.status === 200 ? await remote.expectPdu({ type: 'm.room.message', sender: client.userId }, { within: 15_000 }).then(() => true, () => false) : false;
  const { room_id: local } = (await client.createRoom({ preset: 'private_chat' })).ok();
  const { event_id: localMessage } = (await client.sendMessage(local, 'a local room')).ok();
  const localSeen = await client
    .waitForSync((s) => timelineOf(s, local).some((e) => e.event_id === localMessage), { timeoutMs: 10_000, description: `${localMessage} in the local room ${local}` })
    .then(() => true, () => false);
  judge(testInfo, clientOperationsWorkWhilePartial, {
    request: { scenario },
    facts: [
      { fact: 'a lazy-loading /sync shows a new event of the partial room', expected: true, observed: seen },
      { fact: 'the user sends in the partial room (HTTP status)', expected: 200, observed: sent.status },
      { fact: 'the sent event reaches the resident', expected: true, observed: reached },
      { fact: 'a local room keeps working', expected: true, observed: localSeen },
    ],
  });
}
