/**
 * A fork in the room while the joining candidate's resync is held: two residents (the remote and a
 * second server it hosts) make conflicting power-level and membership changes on two branches
 * from the same point, then the admin merges them. The candidate receives all of it with partial
 * state; once it has the full state it must work forward over those events (JS-04) and end with
 * the state the spec's resolution gives at the merge (ST-01), as the suite resolves it
 * (harness/matrix/state-res.ts). The remote's model takes that resolution as its state at the
 * merge, so the end-of-test audit compares the candidate's client view with it too.
 *
 * A candidate that never asks for partial state joins fully and meets the same fork: the ST-01
 * judgement stands, the partial-only requirement is "not supported".
 */
import { test } from '../../harness/fixtures.ts';
import { judge } from '../../harness/checks/judge.ts';
import { judgeStateAgainstResolution, observeStateAtEvent, pushAndJudge, seenInLazySync } from '../../harness/joining/resync-observe.ts';
import { UncheckedJoin } from '../../harness/joining/unchecked-join.ts';
import { selectAuthEvents, stateKey as stateMapKey } from '../../harness/matrix/index.ts';
import { recordNotSupported } from '../../harness/checks/judge.ts';
import { resyncReauthorisesEvents } from '../../harness/checks/partial-state.ts';
import type { EventSpec } from '../../harness/remote/room.ts';

/** Bound on the resync once released (a small room on loopback). */
const RESYNC_WITHIN_MS = 30_000;
/** Bound on the first resync request after the join. */
const RESYNC_STARTS_WITHIN_MS = 20_000;
/** Bound on the merge reaching the candidate's user. */
const VISIBLE_WITHIN_MS = 20_000;
/** What only a partial join exercises here. */
const PARTIAL_ONLY = ['JS-04'];

interface Users {
  /** Admin (100), the room's creator on the remote. */
  charlie: string;
  /** Moderator (50) on the second server. */
  bob: string;
  /** Plain members on the remote. */
  carol: string;
  dave: string;
  /** The creator's entry in power levels: none from room version 12, where creators are privileged and unlisted. */
  creatorLevel: Record<string, number>;
}

interface ForkScenario {
  name: string;
  branches: (u: Users) => [Array<Omit<EventSpec, 'prevEvents'>>, Array<Omit<EventSpec, 'prevEvents'>>];
}

const levels = (u: Users, users: Record<string, number>) => ({ users: { ...u.creatorLevel, ...users }, users_default: 0, events: {}, events_default: 0, state_default: 50, ban: 50, kick: 50, redact: 50, invite: 0 });
const plEvent = (sender: string, content: Record<string, unknown>) => ({ type: 'm.room.power_levels', stateKey: '', sender, content });
const member = (sender: string, target: string, content: Record<string, unknown>) => ({ type: 'm.room.member', stateKey: target, sender, content });

const SCENARIOS: ForkScenario[] = [
  {
    name: 'the moderator on the second server bans a member while the admin demotes them',
    branches: (u) => [[plEvent(u.charlie, levels(u, { [u.bob]: 0 }))], [member(u.bob, u.carol, { membership: 'ban' })]],
  },
  {
    name: 'the admin and the moderator change the power levels concurrently',
    // The moderator's branch enters the model first, so the last writer is not the resolution's pick.
    branches: (u) => [[plEvent(u.bob, levels(u, { [u.bob]: 50, [u.carol]: 25 }))], [plEvent(u.charlie, levels(u, { [u.bob]: 75 }))]],
  },
  {
    name: "the moderator kicks a member while that member changes their display name, after the admin's demotion of the moderator on the same branch",
    branches: (u) => [[member(u.carol, u.carol, { membership: 'join', displayname: 'Carol renamed' }), plEvent(u.charlie, levels(u, { [u.bob]: 0 }))], [member(u.bob, u.carol, { membership: 'leave' })]],
  },
];


/**
 * How the fork reaches the candidate: every event pushed (branches, then the merge), or only the
 * merge, whose two branches the candidate must then fetch (/get_missing_events) while partial.
 */
type Delivery = 'pushed' | 'merge only';

const RUNS: Array<{ scenario: ForkScenario; delivery: Delivery }> = [
  ...SCENARIOS.map((scenario) => ({ scenario, delivery: 'pushed' as const })),
  { scenario: SCENARIOS[0], delivery: 'merge only' },
];

test.describe('joining: a fork in the room during the resync', () => {
  for (const { scenario, delivery } of RUNS) {
    const how = delivery === 'pushed' ? '' : ' (only the merge is pushed: the candidate fetches both branches)';
    test(`after the resync the state at the merge is the spec's resolution: ${scenario.name}${how}`, { tag: ['@ST-01', '@JS-04', '@must'] }, async ({ candidate, client, remote }, testInfo) => {
      let u!: Users;
      const join = await UncheckedJoin.start({
        candidate,
        client,
        remote,
        room: { joinRule: 'public', name: `fork: ${scenario.name}` },
        prepare: async ({ room, charlie }) => {
          // The second resident: a server of its own, signing its own events.
          const second = await remote.addServer({ mode: 'serve' });
          u = { charlie, bob: second.userId('bob'), carol: remote.userId('carol'), dave: remote.userId('dave'), creatorLevel: room.version.privilegedCreators ? {} : { [charlie]: 100 } };
          for (const user of [u.bob, u.carol, u.dave]) room.join(user);
          room.append(plEvent(charlie, levels(u, { [u.bob]: 50 })));
        },
      });
      join.joinAnswer.ok();
      if (join.partial) await join.resyncArrived(RESYNC_STARTS_WITHIN_MS);
      else recordNotSupported(testInfo, PARTIAL_ONLY, `${candidate.info.name} ${candidate.info.version} did not ask send_join for partial state (${join.omitMembersSent}): the fork reaches a fully joined room`);
      const { room } = join;

      const branchEvents = room.forgeBranches(scenario.branches(u));
      const tips = branchEvents.map((ids) => ids[ids.length - 1]);
      const resolved = room.resolvedStateBeforePrevs(tips);
      const union = room.stateBeforePrevs(tips);
      const differsFromUnion = [...new Set([...resolved.keys(), ...union.keys()])].filter((k) => resolved.get(k) !== union.get(k));
      const mergeSpec = { type: 'm.room.message', sender: u.charlie, content: { msgtype: 'm.text', body: `merge: ${scenario.name}` } };
      const merge = room.forge({ ...mergeSpec, prevEvents: tips, authEvents: selectAuthEvents(mergeSpec, resolved, (id) => room.event(id), room.version) });
      testInfo.annotations.push({ type: 'lazyjoin-observed', description: `state keys where the resolution differs from the last writer: ${differsFromUnion.join(', ') || 'none'}` });
      // The model's own union of branches is not a resolution: it takes the spec's at the merge.
      room.setStateBefore(merge.eventId, resolved);

      await test.step(`${delivery === 'pushed' ? 'both branches, then the merge,' : 'the merge'} reach${delivery === 'pushed' ? '' : 'es'} the candidate${join.partial ? ' while its resync is held' : ''}`, async () => {
        if (delivery === 'pushed') for (const ids of branchEvents) await pushAndJudge(testInfo, candidate.serverName, join, ids);
        await pushAndJudge(testInfo, candidate.serverName, join, [merge.eventId]);
        // A lazy-loading /sync: eager ones leave a partial-state room out (MSC3902).
        if (!(await seenInLazySync(client, room.roomId, merge.eventId, VISIBLE_WITHIN_MS))) {
          throw new Error(`the candidate did not show the merge ${merge.eventId} within ${VISIBLE_WITHIN_MS} ms: its state there cannot be asked for`);
        }
      });
      await testInfo.attach('branches and the suite\'s resolution at the merge', {
        body: JSON.stringify({
          branches: branchEvents.map((ids) => ids.map((id) => ({ id, type: room.mustEvent(id).type, state_key: room.mustEvent(id).state_key, sender: room.mustEvent(id).sender, content: room.mustEvent(id).content }))),
          merge: merge.eventId,
          resolved: Object.fromEntries(resolved),
          keysWhereTheResolutionDiffersFromTheLastWriter: differsFromUnion,
        }, null, 2),
        contentType: 'application/json',
      });

      join.releaseResync();
      await test.step('the resync completes', () => join.awaitResyncComplete(RESYNC_WITHIN_MS));
      await test.step('/state_ids at the merge once resynced', () => observeStateAtEvent(testInfo, candidate.serverName, join, merge.eventId, 'complete'));
      await test.step('/state at the merge once resynced', async () => {
        const res = await remote.client.state(candidate.serverName, room.roomId, merge.eventId);
        judgeStateAgainstResolution(testInfo, room, merge.eventId, res, resolved);
      });
      if (join.partial) {
        await test.step('the client state holds the resolution for every key the branches touched', async () => {
          const current = (await client.state(room.roomId)).ok();
          const byKey = new Map(current.map((e) => [stateMapKey(e.type, e.state_key ?? ''), e.event_id]));
          const keys = [...new Set(branchEvents.flat().map((id) => stateMapKey(room.mustEvent(id).type, room.mustEvent(id).state_key as string)))];
          judge(testInfo, resyncReauthorisesEvents, {
            request: { scenario: `branches received while partial (${scenario.name}), then the resync` },
            facts: keys.map((key) => ({ fact: `client /state at ${key} once resynced`, expected: resolved.get(key) ?? null, observed: byKey.get(key) ?? null })),
          });
        });
        testInfo.annotations.push({ type: 'lazyjoin-observed', description: `resync requests: ${remote.requests().filter((r) => ['state', 'state_ids', 'event_auth', 'get_missing_events'].includes(r.route) && r.origin === candidate.serverName).map((r) => `${r.route}${r.query.event_id ? `@${String(r.query.event_id).slice(0, 12)}` : ''}`).join(', ')}` });
      }
    });
  }
});
