/**
 * State resolution in the candidate, judged against the suite's own (harness/matrix state-res,
 * the spec's algorithm): in a room on the remote that the candidate has joined, the remote forks
 * the history into two branches with conflicting power levels, memberships or join rules, sends
 * both, then a message merging them; the candidate's /state at the merge (the state before it, the
 * resolution of the two branches) must be the suite's resolution (ST-01).
 */
import { test } from '../../harness/fixtures.ts';
import type { CandidateClient } from '../../harness/client/client.ts';
import { matrixFunctions } from '../../harness/checks/index.ts';
import { judgeStateAgainstResolution, pushAndJudge } from '../../harness/joining/resync-observe.ts';
import { selectAuthEvents } from '../../harness/matrix/index.ts';
import type { Remote } from '../../harness/remote/index.ts';
import type { EventSpec, Room } from '../../harness/remote/room.ts';
import { sendJoinHandler } from '../../harness/remote/routes/membership.ts';

/** Bound on the merge event becoming visible to the candidate's user. */
const VISIBLE_WITHIN_MS = 20_000;
/** Every candidate of the suite (Synapse 1.98 and Dendrite 0.13 included) builds room version 10. */
const ROOM_VERSION = '10';

interface Users {
  alice: string;
  bob: string;
  carol: string;
  dave: string;
}

/** Two branches from the same point, each a list of events (built in order on its branch). */
interface ForkScenario {
  name: string;
  branches: (u: Users) => [Array<Omit<EventSpec, 'prevEvents'>>, Array<Omit<EventSpec, 'prevEvents'>>];
}

const levels = (u: Users, users: Record<string, number>) => ({ users: { [u.alice]: 100, ...users }, users_default: 0, events: { 'm.room.topic': 0 }, events_default: 0, state_default: 50, ban: 50, kick: 50, redact: 50, invite: 0 });
const plEvent = (sender: string, content: Record<string, unknown>) => ({ type: 'm.room.power_levels', stateKey: '', sender, content });
const member = (sender: string, target: string, content: Record<string, unknown>) => ({ type: 'm.room.member', stateKey: target, sender, content });
const joinRules = (sender: string, rule: string) => ({ type: 'm.room.join_rules', stateKey: '', sender, content: { join_rule: rule } });
const topic = (sender: string, text: string, originServerTs: number) => ({ type: 'm.room.topic', stateKey: '', sender, content: { topic: text }, originServerTs });

const SCENARIOS: ForkScenario[] = [
  {
    name: 'a ban by a moderator concurrent with their demotion',
    branches: (u) => [[plEvent(u.alice, levels(u, { [u.bob]: 0 }))], [member(u.bob, u.carol, { membership: 'ban' })]],
  },
  {
    name: 'a join concurrent with the join rules turned to invite',
    branches: (u) => [[joinRules(u.alice, 'invite')], [member(u.dave, u.dave, { membership: 'join' })]],
  },
  {
    name: 'two concurrent power level changes by the admin and a moderator',
    branches: (u) => [[plEvent(u.alice, levels(u, { [u.bob]: 75 }))], [plEvent(u.bob, levels(u, { [u.bob]: 50, [u.carol]: 25 }))]],
  },
  {
    name: 'two concurrent join rule changes by the admin and a moderator',
    branches: (u) => [[joinRules(u.alice, 'invite')], [joinRules(u.bob, 'knock')]],
  },
  {
    name: "a kick concurrent with the kicked user's new display name",
    branches: (u) => [[member(u.bob, u.carol, { membership: 'leave' })], [member(u.carol, u.carol, { membership: 'join', displayname: 'Carol again' })]],
  },
  {
    name: 'a topic on newer power levels against a later topic on older ones (mainline ordering)',
    branches: (u) => {
      const now = Date.now();
      return [[plEvent(u.alice, levels(u, { [u.bob]: 50, [u.dave]: 10 })), topic(u.bob, 'on the newer power levels', now - 60_000)], [topic(u.carol, 'on the older power levels, later', now)]];
    },
  },
];

/** A room on the remote with alice (admin), bob (moderator) and carol joined, joined by the candidate's user (full state). */
async function joinedRoom(remote: Remote, client: CandidateClient, u: Users, name: string): Promise<Room> {
  remote.route('send_join', sendJoinHandler({ ignoreOmitMembers: true }));
  const room = remote.createRoom({ version: ROOM_VERSION, joinRule: 'public', name, powerLevels: levels(u, { [u.bob]: 50 }) });
  room.join(u.bob);
  room.join(u.carol);
  (await client.join(room.roomId, { via: [remote.serverName] })).ok();
  return room;
}


test.describe('joining: state resolution of concurrent branches', () => {
  for (const scenario of SCENARIOS) {
    test(`the state at a merge of two branches is the spec's resolution: ${scenario.name}`, { tag: ['@ST-01', '@must'] }, async ({ candidate, client, remote }, testInfo) => {
      const u: Users = { alice: remote.userId('alice'), bob: remote.userId('bob'), carol: remote.userId('carol'), dave: remote.userId('dave') };
      const room = await joinedRoom(remote, client, u, scenario.name);
      const branchEvents = room.forgeBranches(scenario.branches(u));
      const tips = branchEvents.map((ids) => ids[ids.length - 1]);

      const resolved = room.resolvedStateBeforePrevs(tips);
      // The merge cites the auth events the resolved state gives it.
      const mergeSpec = { type: 'm.room.message', sender: u.alice, content: { msgtype: 'm.text', body: `merge: ${scenario.name}` } };
      const authEvents = selectAuthEvents(mergeSpec, resolved, (id) => room.event(id), room.version);
      const merge = room.forge({ ...mergeSpec, prevEvents: tips, authEvents });

      await test.step('the remote sends both branches, then the merge', async () => {
        for (const ids of branchEvents) await pushAndJudge(testInfo, candidate.serverName, { remote, room }, ids);
        await pushAndJudge(testInfo, candidate.serverName, { remote, room }, [merge.eventId]);
        if (!(await client.awaitTimelineEvent(room.roomId, merge.eventId, VISIBLE_WITHIN_MS))) {
          throw new Error(`the candidate did not show the merge ${merge.eventId} within ${VISIBLE_WITHIN_MS} ms: it cannot be asked for the state there`);
        }
      });

      const res = await remote.client.state(candidate.serverName, room.roomId, merge.eventId);
      await testInfo.attach('branches, the suite\'s resolution and the candidate\'s answer', {
        body: JSON.stringify({
          branches: tips.map((tip, i) => ({ tip, events: branchEvents[i].map((id) => ({ id, type: room.mustEvent(id).type, state_key: room.mustEvent(id).state_key, sender: room.mustEvent(id).sender, content: room.mustEvent(id).content })) })),
          resolved: Object.fromEntries(resolved),
          candidate: res.status === 200 ? Object.fromEntries((res.body?.pdus ?? []).map((p) => [JSON.stringify([p.type, p.state_key]), matrixFunctions(room.version.id).eventIdOf(p)])) : { status: res.status, body: res.body ?? res.raw },
        }, null, 2),
        contentType: 'application/json',
      });
      judgeStateAgainstResolution(testInfo, room, merge.eventId, res, resolved);
    });
  }
});
