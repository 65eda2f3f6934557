/**
 * A partial join to an encrypted room (`m.room.encryption` in state). MSC2775 names encrypted
 * sending first among the operations that must wait for the full state (C-7): a sender who does not
 * know every member cannot share its keys with all of them. During the resync we record what the
 * candidate does with the member list, key queries and encrypted sends; the member list presented
 * as complete while members are missing is a failure (LL-03, see harness/checks/audit-checks.ts).
 * After the resync, the devices of every remote member are known, an encrypted event reaches every
 * server with a joined member and to-device messages reach the remote devices; the end-of-test
 * audit then compares the whole room with the truth.
 */
import { test, expect } from '../../harness/fixtures.ts';
import { judge, recordInformational } from '../../harness/checks/judge.ts';
import { remoteMemberRequestsWait } from '../../harness/checks/partial-state.ts';
import { toDeviceReachesTargetServers } from '../../harness/checks/joiner-resync-integrity.ts';
import { memberListNotPresentedIncomplete } from '../../harness/checks/audit-checks.ts';
import { gatherMemberListDuringResync } from '../../harness/audit/gather.ts';
import type { ApiResult, CandidateClient } from '../../harness/client/client.ts';
import type { JsonObject } from '../../harness/client/types.ts';
import { FEDERATION_WITHIN_MS, partialJoin, receivedBy, RESYNC_WITHIN_MS, settlesWithin, withBound, type PartialJoin } from '../../harness/joining/partial-join.ts';
import { recordEduDeliveries } from '../../harness/joining/unchecked-join.ts';
import { encodeBase64, generateSigningKey, signJson } from '../../harness/matrix/index.ts';
import { serverOf, type Remote } from '../../harness/remote/remote.ts';
import { json, matrixError } from '../../harness/remote/routing.ts';
import { randomBytes } from 'node:crypto';

/** How long a request may stay unanswered before we call it held (loopback answers take milliseconds). */
const HELD_FOR_MS = 1_500;

/** One device per remote user, with device keys signed by the device's own ed25519 key. */
interface RemoteDevice {
  deviceId: string;
  keys: JsonObject;
}

/**
 * Makes the remote and its bystanders serve one device for each of their users on
 * `/user/keys/query` and `/user/devices` (the remote's own routes answer "no devices").
 */
function serveRemoteDevices(remote: Remote): (userId: string) => RemoteDevice {
  const devices = new Map<string, RemoteDevice>();
  const deviceOf = (userId: string): RemoteDevice => {
    let device = devices.get(userId);
    if (!device) {
      const deviceId = `LJ${randomBytes(4).toString('hex').toUpperCase()}`;
      const key = generateSigningKey(`ed25519:${deviceId}`);
      const keys = signJson(
        {
          user_id: userId,
          device_id: deviceId,
          algorithms: ['m.olm.v1.curve25519-aes-sha2', 'm.megolm.v1.aes-sha2'],
          keys: { [`curve25519:${deviceId}`]: encodeBase64(randomBytes(32)), [`ed25519:${deviceId}`]: key.publicKeyBase64 },
        },
        userId,
        key,
      );
      device = { deviceId, keys };
      devices.set(userId, device);
    }
    return device;
  };
  remote.route('user_keys_query', (ctx) => {
    const requested = (ctx.body as { device_keys?: unknown } | undefined)?.device_keys;
    if (typeof requested !== 'object' || requested === null) return matrixError(400, 'M_BAD_JSON', 'device_keys must be an object');
    const deviceKeys: Record<string, Record<string, JsonObject>> = {};
    for (const userId of Object.keys(requested)) {
      if (serverOf(userId) !== ctx.self.serverName) continue;
      const d = deviceOf(userId);
      deviceKeys[userId] = { [d.deviceId]: d.keys };
    }
    return json({ device_keys: deviceKeys, master_keys: {}, self_signing_keys: {} });
  });
  remote.route('user_devices', (ctx) => {
    const userId = ctx.params.userId;
    if (serverOf(userId) !== ctx.self.serverName) return matrixError(404, 'M_NOT_FOUND', `${userId} is not a user of ${ctx.self.serverName}`);
    const d = deviceOf(userId);
    return json({ user_id: userId, stream_id: 1, devices: [{ device_id: d.deviceId, keys: d.keys }] });
  });
  return deviceOf;
}

/** A megolm-shaped `m.room.encrypted` content (the ciphertext is never decrypted here). */
function encryptedContent(client: CandidateClient): JsonObject {
  return {
    algorithm: 'm.megolm.v1.aes-sha2',
    ciphertext: encodeBase64(randomBytes(96)),
    device_id: client.user.deviceId,
    sender_key: encodeBase64(randomBytes(32)),
    session_id: encodeBase64(randomBytes(32)),
  };
}

/** `POST /keys/query` for `users`, given at most `withinMs` (null when no answer came). */
async function keysQueryWithin(client: CandidateClient, users: readonly string[], withinMs: number) {
  try {
    return await client.call<{ device_keys?: Record<string, Record<string, JsonObject>>; failures?: JsonObject }>('POST', '/_matrix/client/v3/keys/query', {
      body: { device_keys: Object.fromEntries(users.map((u) => [u, []])), timeout: withinMs },
      kind: 'keys-query',
      timeoutMs: withinMs,
    });
  } catch (err) {
    if (/timeout|aborted/i.test((err as Error).message)) return null;
    throw err;
  }
}

/** Users of `users` for whom a /keys/query answer lists the device the remote serves. */
function usersWithDevices(body: { device_keys?: Record<string, Record<string, JsonObject>> }, users: readonly string[], deviceOf: (u: string) => RemoteDevice): string[] {
  return users.filter((u) => body.device_keys?.[u]?.[deviceOf(u).deviceId] !== undefined);
}

/**
 * Waits until every server of `servers` has received `eventId` in a transaction from the
 * candidate, or `withinMs` passed; returns the servers that received it. Wakes on each PDU the
 * remote's servers receive.
 */
async function awaitDelivery(join: PartialJoin, eventId: string, servers: readonly string[], withinMs: number): Promise<string[]> {
  const deadline = Date.now() + withinMs;
  for (;;) {
    const mark = join.remote.pdus.mark();
    const got = receivedBy(join, eventId, servers);
    const left = deadline - Date.now();
    if (got.length === servers.length || left <= 0) return got;
    await join.remote.pdus.expect(() => true, { within: left, since: mark }).catch(() => undefined);
  }
}

test.describe('joining: an encrypted room', () => {
  test('the member list, key queries and encrypted sends during the resync; devices, encrypted events and to-device messages reach every remote member after it', { tag: ['@C-7', '@JS-18', '@JS-08', '@TD-01'] }, async ({ candidate, client, remote }, testInfo) => {
    const deviceOf = serveRemoteDevices(remote);
    const edus = recordEduDeliveries(remote);
    const join = await partialJoin({ candidate, remote, joiner: client }, { encrypted: true, members: 6, servers: 2 });
    const remoteMembers = join.remoteMembers;
    let sentDuringResync: Promise<ApiResult<{ event_id: string }>> | undefined;

    if (join.notPartial(testInfo, ['C-7', 'JS-18', 'JS-08'])) {
      // A full join: nothing to hold; what follows still applies.
    } else {
      await join.awaitResyncStarted();
      await test.step('eager /sync, /members and /joined_members withhold the member list or give it whole', async () => {
        const observation = await gatherMemberListDuringResync({ remote, room: join.room, joiner: client, candidateServer: candidate.serverName }, HELD_FOR_MS);
        judge(testInfo, memberListNotPresentedIncomplete, observation);
        const members = observation.answers.find((a) => a.source === '/members')!;
        judge(testInfo, remoteMemberRequestsWait, { request: { operation: 'GET /members', needsRemoteMembers: true, heldForMs: HELD_FOR_MS }, response: { answeredWhileHeld: members.joined !== null, ...(members.joined !== null ? { status: 200 } : {}) } });
      });
      await test.step('/keys/query for the remote members during the resync', async () => {
        const answer = await keysQueryWithin(client, remoteMembers, HELD_FOR_MS);
        const known = answer?.status === 200 ? usersWithDevices(answer.body, remoteMembers, deviceOf) : [];
        recordInformational(
          testInfo,
          'JS-18',
          known.length === remoteMembers.length,
          { status: answer?.status ?? `no answer within ${HELD_FOR_MS} ms`, devicesKnownFor: known, remoteMembers },
          '/keys/query during the resync returns the devices of every remote member',
        );
      });
      await test.step('an encrypted event sent during the resync', async () => {
        sentDuringResync = client.sendEvent(join.roomId, 'm.room.encrypted', encryptedContent(client));
        const settled = await settlesWithin(sentDuringResync, HELD_FOR_MS);
        const status = settled ? (await sentDuringResync).status : undefined;
        recordInformational(
          testInfo,
          'C-7',
          !settled || status !== 200,
          { answered: settled ? `HTTP ${status}` : `not within ${HELD_FOR_MS} ms` },
          'an encrypted send waits (or is refused) until the state is complete',
        );
      });
      join.releaseResync();
    }
    await test.step('the resync completes', () => join.awaitResyncComplete());
    const servers = join.room.serversInRoom().filter((s) => s !== candidate.serverName);

    await test.step('/keys/query returns the device of every remote member', async () => {
      const answer = (await client.keysQuery([...remoteMembers])).ok();
      expect(usersWithDevices(answer, remoteMembers, deviceOf), `remote members whose device /keys/query returns; answer: ${JSON.stringify(answer).slice(0, 600)}`).toEqual(remoteMembers);
    });

    await test.step('encrypted events reach every server with a joined member', async () => {
      const sent: string[] = [];
      if (sentDuringResync) {
        const during = await withBound(sentDuringResync, RESYNC_WITHIN_MS, 'the answer to the encrypted send made during the resync');
        // A refused send is what C-7 allows; only an accepted one must be delivered.
        if (during.status === 200) sent.push(during.body.event_id);
      }
      sent.push((await client.sendEvent(join.roomId, 'm.room.encrypted', encryptedContent(client))).ok().event_id);
      for (const eventId of sent) {
        expect(await awaitDelivery(join, eventId, servers, FEDERATION_WITHIN_MS), `servers that received ${eventId}`).toEqual(servers);
      }
    });

    await test.step('to-device messages reach the remote devices', async () => {
      const type = 'org.lazyjoin.encrypted-room';
      const messages = Object.fromEntries(remoteMembers.map((u) => [u, { [deviceOf(u).deviceId]: { body: `to ${u}` } }]));
      const mark = edus.mark();
      (await client.sendToDevice(type, messages)).ok();
      // Servers whose EDUs (since the send) carried the message for this user's device.
      const carriers = (userId: string) => {
        const device = deviceOf(userId).deviceId;
        const carrying = edus.all().slice(mark).filter((e) => e.edu_type === 'm.direct_to_device' && (e.content as { type?: unknown }).type === type && (e.content.messages as Record<string, Record<string, unknown>> | undefined)?.[userId]?.[device] !== undefined);
        return [...new Set(carrying.map((e) => e.to))];
      };
      // Wait (bounded) until each message reached its user's server, waking on each EDU.
      const deadline = Date.now() + FEDERATION_WITHIN_MS;
      for (;;) {
        const seen = edus.mark();
        const left = deadline - Date.now();
        if (remoteMembers.every((u) => carriers(u).includes(serverOf(u))) || left <= 0) break;
        await edus.expect(() => true, { within: left, since: seen }).catch(() => undefined);
      }
      judge(testInfo, toDeviceReachesTargetServers, {
        type,
        waitedMs: FEDERATION_WITHIN_MS,
        targets: remoteMembers.map((userId) => ({ userId, deviceId: deviceOf(userId).deviceId, server: serverOf(userId), receivedBy: carriers(userId) })),
      });
    });
  });
});
