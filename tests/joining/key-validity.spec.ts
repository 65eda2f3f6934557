/**
 * The candidate, joined to a room on a remote, verifies the remote's later events against the
 * validity of the remote's key. The remote publishes a key document with a chosen
 * `valid_until_ts`, then sends two messages on the same parent: one dated within the key's
 * validity, one after it (KY-04), or six and eight days ahead under a key that claims thirty
 * (KY-03: a key counts for at most seven days after it was fetched). The first must be accepted,
 * the second rejected.
 */
import { test } from '../../harness/fixtures.ts';
import { joinerKeyValidityChecks, type KeyValidityObservation } from '../../harness/checks/joiner-key-validity.ts';
import { judge } from '../../harness/checks/judge.ts';
import { serverKeysDocument } from '../../harness/remote/keys.ts';
import { sendJoinHandler } from '../../harness/remote/routes/membership.ts';
import { json } from '../../harness/remote/routing.ts';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
/** Bound on the in-time message becoming visible to the candidate's user. */
const ACCEPTED_WITHIN_MS = 20_000;

/**
 * The in-time message is itself dated ahead (half an hour; six days), so that a candidate that
 * refuses every event from the future cannot pass for one that honours key validity.
 */
const SCENARIOS: Array<{ rule: KeyValidityObservation['rule']; validFor: number; inTimeBy: number; lateBy: number; title: string; tag: string }> = [
  { rule: 'valid-until', validFor: HOUR, inTimeBy: HOUR / 2, lateBy: 2 * HOUR, title: "an event dated after the remote key's valid_until_ts is rejected", tag: '@KY-04' },
  { rule: 'seven-day-cap', validFor: 30 * DAY, inTimeBy: 6 * DAY, lateBy: 8 * DAY, title: 'a key claiming thirty days covers no event dated eight days ahead', tag: '@KY-03' },
];

test.describe('joining: the validity of a remote key', () => {
  for (const { rule, validFor, inTimeBy, lateBy, title, tag } of SCENARIOS) {
    test(title, { tag: [tag, '@must'] }, async ({ candidate, client, remote }, testInfo) => {
      const publishedValidUntil = Date.now() + validFor;
      remote.route('key_server', (ctx) => json(serverKeysDocument(ctx.self.serverName, ctx.self.key, publishedValidUntil)));
      // Full state: the join is only the way in.
      remote.route('send_join', sendJoinHandler({ ignoreOmitMembers: true }));
      let offset = 0;
      const room = remote.createRoom({ joinRule: 'public', name: `key validity: ${rule}`, now: () => Date.now() + offset });
      const fetchedAt = Date.now();
      (await client.join(room.roomId, { via: [remote.serverName] })).ok();

      // Two messages on the same parent, so that the fate of one cannot decide the other's.
      const parent = room.forwardExtremities();
      const alice = remote.userId('alice');
      offset = lateBy;
      const late = room.append({ type: 'm.room.message', sender: alice, content: { msgtype: 'm.text', body: 'dated after the key stops being valid' }, prevEvents: parent });
      offset = inTimeBy;
      const inTime = room.append({ type: 'm.room.message', sender: alice, content: { msgtype: 'm.text', body: 'dated within the key validity' }, prevEvents: parent });
      // The late message goes first: once the in-time one is visible, the candidate has decided on both.
      const answers = [await remote.client.send(candidate.serverName, { pdus: [room.mustEvent(late)] }), await remote.client.send(candidate.serverName, { pdus: [room.mustEvent(inTime)] })];
      await testInfo.attach('transaction answers', { body: JSON.stringify(answers.map((a) => ({ status: a.status, body: a.body })), null, 2), contentType: 'application/json' });

      const inTimeAccepted = await client.awaitTimelineEvent(room.roomId, inTime, ACCEPTED_WITHIN_MS);
      const visible = async (eventId: string) => (await client.event(room.roomId, eventId)).status === 200;
      const observation: KeyValidityObservation = {
        rule,
        publishedValidUntil,
        fetchedAt,
        events: [
          { eventId: inTime, originServerTs: room.mustEvent(inTime).origin_server_ts, accepted: inTimeAccepted },
          { eventId: late, originServerTs: room.mustEvent(late).origin_server_ts, accepted: await visible(late) },
        ],
      };
      // One check applies per scenario; if the in-time message was refused too, it says so as not run.
      const [check] = joinerKeyValidityChecks['joiner-key-validity'].filter((c) => c.requirement === tag.slice(1));
      judge(testInfo, check, observation);
    });
  }
});
