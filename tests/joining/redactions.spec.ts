/**
 * Redactions around a partial join. A message, the room's topic and a membership (its display
 * name) are redacted while the candidate's resync is held; a message redacted before the join
 * reaches the candidate only through backfill, together with its redaction, in its original form
 * (as a resident that keeps it would serve it). Once the candidate holds the redaction, it must serve the redacted event
 * stripped by the room version's redaction algorithm (harness/matrix `redactEvent`), to its
 * clients and to other servers (RD-01); the room model knows the same redactions, so the history
 * judged with HV-01 and the end-of-test audit (a redacted topic is no topic) expect the redacted
 * form too. A candidate that never asks for partial state runs the same scenarios as full joins.
 */
import { test } from '../../harness/fixtures.ts';
import type { TestInfo } from '@playwright/test';
import { judge, recordCheckNotRun } from '../../harness/checks/judge.ts';
import { redactedEventServedRedacted, type RedactedServedObservation } from '../../harness/checks/client-history.ts';
import { DURING_RESYNC_WAIT_MS, judgeHistory, pageBack } from '../../harness/joining/history-observe.ts';
import { pushAndJudge, seenInLazySync } from '../../harness/joining/resync-observe.ts';
import { UncheckedJoin } from '../../harness/joining/unchecked-join.ts';
import { redactEvent } from '../../harness/matrix/index.ts';
import type { ClientEvent } from '../../harness/client/types.ts';

/** Bound on the first resync request after the join. */
const RESYNC_STARTS_WITHIN_MS = 20_000;
/** Bound on the resync once released (a small room on loopback). */
const RESYNC_WITHIN_MS = 30_000;
/** Bound on answers due once resynced. */
const ANSWER_WITHIN_MS = 15_000;

/**
 * The redacted event as the joiner's client is served it: a message by `GET /rooms/{roomId}/event/{eventId}`,
 * a state event by `GET /rooms/{roomId}/state/{type}/{stateKey}` (its content as current state:
 * servers need not show a client the copy of pre-join state they hold as an outlier).
 */
async function clientView(join: UncheckedJoin, eventId: string, timeoutMs: number): Promise<{ api: string; response: RedactedServedObservation['response'] }> {
  const pdu = join.room.mustEvent(eventId);
  const room = encodeURIComponent(join.roomId);
  const state = pdu.state_key !== undefined;
  const api = state ? `GET /rooms/{roomId}/state/${pdu.type}/${pdu.state_key}` : 'GET /rooms/{roomId}/event/{eventId}';
  const path = state ? `/_matrix/client/v3/rooms/${room}/state/${encodeURIComponent(pdu.type)}/${encodeURIComponent(pdu.state_key as string)}` : `/_matrix/client/v3/rooms/${room}/event/${encodeURIComponent(eventId)}`;
  try {
    const res = await join.client.call<Record<string, unknown>>('GET', path, { timeoutMs });
    const content = state ? res.body : ((res.body as unknown as ClientEvent).content as Record<string, unknown> | undefined);
    return { api, response: { status: res.status, ...(res.status === 200 ? { content: content ?? {} } : {}) } };
  } catch (err) {
    if (/timeout/i.test((err as Error).message)) return { api, response: null };
    throw err;
  }
}

/** The redacted event as the candidate serves it to the remote (`GET /_matrix/federation/v1/event/{eventId}`). */
async function federationView(join: UncheckedJoin, candidateServer: string, eventId: string): Promise<RedactedServedObservation['response']> {
  const res = await join.remote.client.event(candidateServer, eventId);
  const pdu = (res.body as { pdus?: Array<{ content?: Record<string, unknown> }> } | undefined)?.pdus?.[0];
  return { status: res.status, ...(res.status === 200 ? { content: pdu?.content ?? {} } : {}) };
}

function observation(join: UncheckedJoin, api: string, eventId: string, duringResync: boolean, response: RedactedServedObservation['response']): RedactedServedObservation {
  const pdu = join.room.mustEvent(eventId);
  return {
    request: { api, eventId, redactionId: join.room.redactionOf(eventId) ?? '(none)', roomVersion: join.room.version.id, duringResync },
    response,
    truth: { original: pdu.content as Record<string, unknown>, redacted: redactEvent(pdu, join.room.version).content as Record<string, unknown> },
  };
}

/** Judges the redacted `eventId` as the client and, once resynced, the federation API serve it. */
async function judgeRedacted(testInfo: TestInfo, candidateServer: string, join: UncheckedJoin, eventId: string, label: string, duringResync: boolean): Promise<void> {
  const client = await clientView(join, eventId, duringResync ? DURING_RESYNC_WAIT_MS : ANSWER_WITHIN_MS);
  // During the resync the client API may wait for it (MSC3902); a wait serves nothing to judge.
  if (client.response || !duringResync) judge(testInfo, redactedEventServedRedacted, observation(join, `${client.api} (${label})`, eventId, duringResync, client.response));
  else testInfo.annotations.push({ type: 'lazyjoin-observed', description: `while partial, the client's ${client.api} for the redacted ${label} did not answer within ${DURING_RESYNC_WAIT_MS} ms` });
  if (!duringResync) judge(testInfo, redactedEventServedRedacted, observation(join, `federation GET /event/{eventId} (${label})`, eventId, false, await federationView(join, candidateServer, eventId)));
}

test.describe('joining: redactions around a partial join', () => {
  test('a message, the topic and a membership redacted during the resync are served redacted, during and after it', { tag: ['@RD-01', '@HV-01', '@ST-01', '@ST-09'] }, async ({ candidate, client, remote }, testInfo) => {
    const join = await UncheckedJoin.start({
      candidate,
      client,
      remote,
      room: { joinRule: 'public', name: 'redactions during the resync', state: [{ type: 'm.room.topic', content: { topic: 'a topic the admin will redact' } }] },
    });
    join.joinAnswer.ok();
    if (join.partial) await join.resyncArrived(RESYNC_STARTS_WITHIN_MS);
    const { room } = join;
    const topic = room.stateEventId('m.room.topic', '')!;
    const message = room.sendMessage(join.derek, 'a message its sender will redact');
    // A membership with a display name: its redaction keeps only the membership.
    const profile = room.join(join.derek, { displayname: 'Derek, whose name the admin will redact' });
    await pushAndJudge(testInfo, candidate.serverName, join, [message, profile]);
    if (!(await seenInLazySync(client, room.roomId, profile))) throw new Error(`the events ${message} and ${profile} did not reach a lazy-loading /sync: their redactions cannot be judged`);

    const redactMessage = room.append({ type: 'm.room.redaction', sender: join.derek, content: { reason: 'by its sender' }, redacts: message });
    const redactTopic = room.append({ type: 'm.room.redaction', sender: join.charlie, content: { reason: 'by the admin' }, redacts: topic });
    const redactProfile = room.append({ type: 'm.room.redaction', sender: join.charlie, content: { reason: 'by the admin' }, redacts: profile });
    await test.step(`the three redactions reach the candidate${join.partial ? ' while its resync is held' : ''}`, async () => {
      await pushAndJudge(testInfo, candidate.serverName, join, [redactMessage, redactTopic, redactProfile]);
      if (!(await seenInLazySync(client, room.roomId, redactProfile))) throw new Error(`the redaction ${redactProfile} did not reach a lazy-loading /sync`);
    });
    if (join.partial) {
      await test.step('the redacted events while the resync is held', async () => {
        await judgeRedacted(testInfo, candidate.serverName, join, message, 'message', true);
        await judgeRedacted(testInfo, candidate.serverName, join, topic, 'topic', true);
        await judgeRedacted(testInfo, candidate.serverName, join, profile, 'membership with a display name', true);
      });
    }
    join.releaseResync();
    await test.step('the resync completes', () => join.awaitResyncComplete(RESYNC_WITHIN_MS));
    await test.step('the redacted events once resynced', async () => {
      await judgeRedacted(testInfo, candidate.serverName, join, message, 'message', false);
      await judgeRedacted(testInfo, candidate.serverName, join, topic, 'topic', false);
      await judgeRedacted(testInfo, candidate.serverName, join, profile, 'membership with a display name', false);
    });
    await test.step('the history around the redacted message once resynced', () => judgeHistory(testInfo, room, client, message, false));
  });

  test('a message redacted before the join reaches the candidate through backfill and is served redacted', { tag: ['@RD-01', '@HV-01', '@ST-09'] }, async ({ candidate, client, remote }, testInfo) => {
    let redacted = '';
    const join = await UncheckedJoin.start({
      candidate,
      client,
      remote,
      room: { joinRule: 'public', name: 'a redaction before the join', historyVisibility: 'shared' },
      prepare: ({ room, derek }) => {
        redacted = room.sendMessage(derek, 'a message redacted before the candidate joins');
        room.append({ type: 'm.room.redaction', sender: derek, content: { reason: 'before the join' }, redacts: redacted });
        for (let i = 1; i <= 3; i++) room.sendMessage(derek, `after the redaction ${i}`);
      },
    });
    join.joinAnswer.ok();
    if (join.partial) await join.resyncArrived(RESYNC_STARTS_WITHIN_MS);
    const afterJoin = join.room.sendMessage(join.derek, 'after the join');
    await pushAndJudge(testInfo, candidate.serverName, join, [afterJoin]);
    if (!(await seenInLazySync(client, join.roomId, afterJoin))) throw new Error(`the message ${afterJoin} pushed after the join did not reach a lazy-loading /sync`);
    join.releaseResync();
    await test.step('the resync completes', () => join.awaitResyncComplete(RESYNC_WITHIN_MS));

    // The user pages back: the candidate backfills the redaction and the message from the remote,
    // which serves the message as it was sent.
    const look = await test.step('the user pages back across the join (HV-01 on what is served)', () => judgeHistory(testInfo, join.room, client, afterJoin, false));
    const servedByBackfill = remote.requests('backfill').some((r) => r.origin === candidate.serverName && JSON.stringify(r.responseBody ?? '').includes(redacted.slice(1, 20)));
    const inHistory = look.messages.find((e) => e.event_id === redacted);
    testInfo.annotations.push({ type: 'lazyjoin-observed', description: `the message redacted before the join: ${servedByBackfill ? 'served to the candidate by /backfill' : 'not asked for by /backfill'}; ${inHistory ? 'in' : 'not in'} the /messages pages` });
    if (!inHistory) {
      // A candidate that did not fetch the history holds no copy of the event to judge.
      const again = await pageBack(client, join.roomId, ANSWER_WITHIN_MS);
      if (!again.events.some((e) => e.event_id === redacted)) {
        recordCheckNotRun(testInfo, redactedEventServedRedacted, `the candidate never fetched ${redacted} (paging /messages back twice did not reach it): it holds no copy to judge`);
        return;
      }
    }
    await test.step('the message redacted before the join, once backfilled', () => judgeRedacted(testInfo, candidate.serverName, join, redacted, 'message redacted before the join', false));
  });
});
