/**
 * MSC3902, incoming events while partial: the joiner cannot know the full state before an event,
 * so it resolves the partial state it has with the event's own auth events and authorises the
 * event against that (JS-05), and it does not soft-fail events (JS-06). A message from a member
 * whose membership the partial answer left out is the case that tells: against the partial state
 * alone its sender is not in the room; its auth events hold the sender's join.
 */
import { test } from '../../harness/fixtures.ts';
import { judge } from '../../harness/checks/judge.ts';
import { authorisedAgainstPartialAndAuthEvents, notSoftFailedWhilePartial } from '../../harness/checks/partial-state.ts';
import { partialJoin } from '../../harness/joining/partial-join.ts';
import { pushAndJudge, seenInLazySync, servedToClient } from '../../harness/joining/resync-observe.ts';

test('while partial, a message from a member the partial state lacks is authorised with its auth events and not soft-failed', { tag: ['@JS-05', '@JS-06', '@ST-09', '@msc-only'] }, async ({ candidate, client, remote }, testInfo) => {
  // A named room: a partial answer then carries no heroes, so every remote member but the creator is left out.
  const join = await partialJoin({ candidate, remote, joiner: client }, { members: 6, servers: 2, name: 'partial auth' });
  if (join.notPartial(testInfo, ['JS-05', 'JS-06'])) return;
  await join.awaitResyncStarted();
  const returned = new Set(((join.sendJoinRecord.responseBody ?? {}) as { state?: Array<{ type?: string; state_key?: string }> }).state?.filter((e) => e.type === 'm.room.member').map((e) => e.state_key));
  const sender = join.remoteMembers.find((m) => !returned.has(m));
  if (!sender) throw new Error(`every remote member's membership was in the partial answer (${[...returned].join(', ')}): the scenario needs one left out`);
  const eventId = join.room.append({ type: 'm.room.message', sender, content: { msgtype: 'm.text', body: 'from a member the partial state lacks' } });
  await pushAndJudge(testInfo, candidate.serverName, join, [eventId]);
  const shown = await seenInLazySync(client, join.roomId, eventId);
  const served = await servedToClient(join, eventId);
  const scenario = `a message from ${sender}, whose membership the partial answer left out and whose join its auth events cite, pushed while the resync is held`;
  judge(testInfo, authorisedAgainstPartialAndAuthEvents, { request: { scenario }, facts: [{ fact: 'the joiner\'s client is served the event (GET /rooms/{roomId}/event answers 200)', expected: true, observed: served.served }] });
  judge(testInfo, notSoftFailedWhilePartial, { request: { scenario }, facts: [{ fact: 'the event reaches a lazy-loading /sync timeline during the resync', expected: true, observed: shown }] });
  if (!served.served) testInfo.annotations.push({ type: 'lazyjoin-observed', description: `GET /event answered ${served.status} ${served.errcode ?? ''}` });
  join.releaseResync();
});
