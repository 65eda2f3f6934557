/**
 * EDUs reaching a joining candidate while it resyncs (inventory #8-#13): typing, presence,
 * to-device, receipts, device-list and signing-key updates. Every transaction must be answered
 * (ST-09): a candidate that blocks /send until the resync ends would starve the room. What the
 * client then sees is recorded per the closest requirement: room EDUs in a lazy-loading /sync of
 * a partial room (JS-09), remote device-list changes kept and surfaced after the resync (JS-13).
 * A candidate that joins with full state runs the same scenarios, asserted as plain behaviour.
 */
import { test, expect } from '../../harness/fixtures.ts';
import { judge } from '../../harness/checks/judge.ts';
import { lazySyncDeliversRoomUpdates, remoteDeviceUpdatesKept } from '../../harness/checks/partial-state.ts';
import type { SyncResponse } from '../../harness/client/types.ts';
import { partialJoin, type PartialJoin } from '../../harness/joining/partial-join.ts';
import { lazySyncShows, pushAndJudge } from '../../harness/joining/resync-observe.ts';
import { serverOf } from '../../harness/remote/room.ts';
import { generateSigningKey } from '../../harness/matrix/keys.ts';
import type { TestInfo } from '@playwright/test';

function localMember(join: PartialJoin): string {
  return join.remoteMembers.find((u) => serverOf(u) === join.remote.serverName && !u.startsWith('@alice:'))!;
}

/** Judges what the client saw: at the partial-state profile while partial, a plain expectation after a full join. */
function recordSeen(testInfo: TestInfo, join: PartialJoin, requirementId: 'JS-09' | 'JS-13', seen: boolean, what: string) {
  if (join.partial) judge(testInfo, requirementId === 'JS-09' ? lazySyncDeliversRoomUpdates : remoteDeviceUpdatesKept, { request: { scenario: what }, facts: [{ fact: 'seen by the client', expected: true, observed: seen }] });
  // Room EDUs must show after any join; device-list changes depend on how the candidate refetches the remote's (empty) device lists, so they are only recorded.
  else if (requirementId === 'JS-09') expect(seen, `${what} (full join)`).toBe(true);
  else testInfo.annotations.push({ type: 'lazyjoin-observed', description: `${what} (full join): ${seen}` });
}

function ephemeralOf(sync: SyncResponse, roomId: string) {
  return sync.rooms?.join?.[roomId]?.ephemeral?.events ?? [];
}

function typingUsers(sync: SyncResponse, roomId: string): string[] | undefined {
  const typing = ephemeralOf(sync, roomId).find((e) => e.type === 'm.typing');
  return typing ? ((typing.content.user_ids as string[] | undefined) ?? []) : undefined;
}

/** Starts the join and, when it is partial, waits until the resync is held. */
async function joinAndHold(fx: { candidate: Parameters<typeof partialJoin>[0]['candidate']; client: PartialJoin['joiner']; remote: PartialJoin['remote'] }, testInfo: TestInfo, partialOnly: string[]) {
  const join = await partialJoin({ candidate: fx.candidate, remote: fx.remote, joiner: fx.client });
  join.notPartial(testInfo, partialOnly);
  if (join.partial) await join.awaitResyncStarted();
  return join;
}

test.describe('joining: EDUs received during the resync', () => {
  test('typing, then a PDU in the next transaction, then typing stops after the resync (#8)', { tag: ['@complement-8', '@ST-09', '@JS-09'] }, async ({ candidate, client, remote }, testInfo) => {
    const join = await joinAndHold({ candidate, client, remote }, testInfo, ['JS-09']);
    const typist = localMember(join);
    await pushAndJudge(testInfo, candidate.serverName, join, [], [{ edu_type: 'm.typing', content: { room_id: join.roomId, user_id: typist, typing: true } }]);
    const seen = await lazySyncShows(client, (s) => typingUsers(s, join.roomId)?.includes(typist) === true, `${typist} typing in ${join.roomId}`);
    recordSeen(testInfo, join, 'JS-09', seen, 'a typing notification received while partial shows in a lazy-loading /sync');
    // A PDU after the EDU: a candidate whose /send blocks on the resync is caught here.
    const message = join.room.sendMessage(typist, 'after typing');
    await pushAndJudge(testInfo, candidate.serverName, join, [message]);
    join.releaseResync();
    await join.awaitResyncComplete();
    const since = (await client.sync({ filter: JSON.stringify({}) })).ok().next_batch;
    await pushAndJudge(testInfo, candidate.serverName, join, [], [{ edu_type: 'm.typing', content: { room_id: join.roomId, user_id: typist, typing: false } }]);
    const stopped = await lazySyncShows(client, (s) => typingUsers(s, join.roomId)?.includes(typist) === false, `${typist} no longer typing in ${join.roomId}`, { since });
    expect(stopped, `typing=false for ${typist} reaches /sync after the resync`).toBe(true);
  });

  test('presence during the resync: the transaction is accepted (#9)', { tag: ['@ST-09'] }, async ({ candidate, client, remote }, testInfo) => {
    // The suite's candidate configurations disable presence, so only acceptance is judged here.
    const join = await joinAndHold({ candidate, client, remote }, testInfo, []);
    const user = localMember(join);
    await pushAndJudge(testInfo, candidate.serverName, join, [], [
      { edu_type: 'm.presence', content: { push: [{ user_id: user, presence: 'online', last_active_ago: 1_000, currently_active: true }] } },
    ]);
    join.releaseResync();
  });

  test('to-device messages during the resync reach the user (#10)', { tag: ['@complement-10', '@ST-09'] }, async ({ candidate, client, remote }, testInfo) => {
    const join = await joinAndHold({ candidate, client, remote }, testInfo, []);
    const sender = localMember(join);
    const messageId = `lj-${Date.now()}`;
    await pushAndJudge(testInfo, candidate.serverName, join, [], [
      {
        edu_type: 'm.direct_to_device',
        content: { sender, type: 'org.lazyjoin.test', message_id: messageId, messages: { [client.userId]: { [client.user.deviceId]: { during: 'resync' } } } },
      },
    ]);
    const seen = await lazySyncShows(client, (s) => (s.to_device?.events ?? []).some((e) => e.sender === sender && e.type === 'org.lazyjoin.test'), `a to-device message from ${sender}`);
    // To-device delivery needs no room state at all: a candidate that holds it during a resync is broken, partial or not.
    expect(seen, `the to-device message from ${sender} in /sync while the room resyncs`).toBe(true);
    join.releaseResync();
  });

  test('a read receipt during the resync shows in the room (#11)', { tag: ['@complement-11', '@ST-09', '@JS-09'] }, async ({ candidate, client, remote }, testInfo) => {
    const join = await joinAndHold({ candidate, client, remote }, testInfo, ['JS-09']);
    const reader = localMember(join);
    const ts = Date.now() - 5_000;
    await pushAndJudge(testInfo, candidate.serverName, join, [], [
      { edu_type: 'm.receipt', content: { [join.roomId]: { 'm.read': { [reader]: { event_ids: [join.joinEventId], data: { ts } } } } } },
    ]);
    const seen = await lazySyncShows(
      client,
      (s) =>
        ephemeralOf(s, join.roomId).some((e) => {
          const read = (e.content[join.joinEventId] as { 'm.read'?: Record<string, { ts?: number }> } | undefined)?.['m.read'];
          return e.type === 'm.receipt' && read?.[reader]?.ts === ts;
        }),
      `${reader}'s read receipt on ${join.joinEventId} with ts ${ts}`,
    );
    recordSeen(testInfo, join, 'JS-09', seen, 'a read receipt received while partial shows in a lazy-loading /sync');
    join.releaseResync();
  });

  test('a device-list update during the resync is surfaced in device_lists.changed once resynced (#12)', { tag: ['@complement-12', '@ST-09', '@JS-13'] }, async ({ candidate, client, remote }, testInfo) => {
    const join = await joinAndHold({ candidate, client, remote }, testInfo, ['JS-13']);
    const owner = localMember(join);
    const since = (await client.sync({ filter: JSON.stringify({ room: { state: { lazy_load_members: true } } }) })).ok().next_batch;
    await pushAndJudge(testInfo, candidate.serverName, join, [], [
      { edu_type: 'm.device_list_update', content: { user_id: owner, device_id: 'NEWDEVICE', stream_id: 1, prev_id: [], deleted: false } },
    ]);
    join.releaseResync();
    await join.awaitResyncComplete();
    const seen = await lazySyncShows(client, (s) => s.device_lists?.changed?.includes(owner) === true, `${owner} in device_lists.changed`, { since, filter: {} });
    recordSeen(testInfo, join, 'JS-13', seen, 'a remote device-list update received while partial is surfaced in device_lists.changed after the resync');
  });

  test('a signing-key update during the resync is accepted and surfaced once resynced (#13)', { tag: ['@complement-13', '@ST-09', '@JS-13'] }, async ({ candidate, client, remote }, testInfo) => {
    const join = await joinAndHold({ candidate, client, remote }, testInfo, ['JS-13']);
    const owner = localMember(join);
    const since = (await client.sync({ filter: JSON.stringify({}) })).ok().next_batch;
    // A CrossSigningKey as the spec has it: a real Ed25519 public key, named by itself (a key that
    // is not 32 bytes is refused by a server parsing it, which would be the suite's fault).
    const master = generateSigningKey().publicKeyBase64;
    const masterKey = { user_id: owner, usage: ['master'], keys: { [`ed25519:${master}`]: master } };
    await pushAndJudge(testInfo, candidate.serverName, join, [], [{ edu_type: 'm.signing_key_update', content: { user_id: owner, master_key: masterKey } }]);
    join.releaseResync();
    await join.awaitResyncComplete();
    const seen = await lazySyncShows(client, (s) => s.device_lists?.changed?.includes(owner) === true, `${owner} in device_lists.changed`, { since, filter: {} });
    if (join.partial) judge(testInfo, remoteDeviceUpdatesKept, { request: { scenario: 'a signing-key update received while partial' }, facts: [{ fact: `${owner} in device_lists.changed after the resync`, expected: true, observed: seen }] });
    else testInfo.annotations.push({ type: 'lazyjoin-observed', description: `signing-key update surfaced in device_lists.changed: ${seen}` });
  });
});
