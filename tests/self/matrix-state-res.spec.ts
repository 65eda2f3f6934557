/**
 * State resolution v2 / v2.1 and the auth rules it runs on: the spec's described behaviours as
 * cases (power events ordered by the senders' power, the mainline ordering over timestamps, a ban
 * undone by a concurrent demotion, a join refused by concurrent join rules, v2.1's empty start),
 * and properties over random forks (order of the inputs does not matter, one state resolves to
 * itself, the unconflicted state survives, every resolved entry is an event of its key).
 * (Property bodies use node:assert: Playwright's expect records a stack per call, too slow for
 * hundreds of runs.)
 */
import { test, expect } from '@playwright/test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { authorize, userPowerLevel } from '../../harness/matrix/auth-rules.ts';
import { resolveState, splitConflicts, conflictedSubgraph, type StateResolutionInput } from '../../harness/matrix/state-res.ts';
import { stateKey, type StateMap } from '../../harness/matrix/state.ts';
import { AuthDag, CREATOR } from '../../harness/matrix/testing/auth-dag.ts';

const BOB = '@bob:b.test';
const CHARLIE = '@charlie:c.test';
const DAVE = '@dave:d.test';
const PL = stateKey('m.room.power_levels', '');
const JR = stateKey('m.room.join_rules', '');
const TOPIC = stateKey('m.room.topic', '');
const member = (u: string) => stateKey('m.room.member', u);

const sorted = (s: StateMap) => [...s.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));

for (const version of ['10', '12']) {
  test.describe(`room version ${version}`, () => {
    test('auth rules: the creator has the top level; a user below the ban level cannot ban; a banned user cannot join', () => {
      const dag = new AuthDag(version);
      const s = dag.room({ [BOB]: 50 }, [BOB, CHARLIE]);
      const create = dag.events.get(dag.createId);
      expect(userPowerLevel(CREATOR, dag.events.get(s.get(PL)!), create, version)).toBe(version === '12' ? Number.POSITIVE_INFINITY : 100);
      expect('refused' in dag.tryAdd(s, { type: 'm.room.member', sender: CHARLIE, stateKey: BOB, content: { membership: 'ban' } })).toBe(true);
      const banned = dag.add(s, { type: 'm.room.member', sender: BOB, stateKey: CHARLIE, content: { membership: 'ban' } }).state;
      const rejoin = dag.tryAdd(banned, { type: 'm.room.member', sender: CHARLIE, stateKey: CHARLIE, content: { membership: 'join' } });
      expect('refused' in rejoin && rejoin.refused).toMatch(/banned/);
      expect('refused' in dag.tryAdd(s, { type: 'm.room.power_levels', sender: BOB, stateKey: '', content: dag.powerLevels({ [CREATOR]: 100, [BOB]: 100 }) })).toBe(true);
      // Without a create event in the auth state nothing but a create event is allowed.
      const pdu = dag.events.get(s.get(member(BOB))!)!;
      expect(authorize(pdu, () => undefined, version).ok).toBe(false);
    });

    test('one state, or the same state twice, resolves to itself', () => {
      const dag = new AuthDag(version);
      const s = dag.room({ [BOB]: 50 }, [BOB]);
      expect(sorted(resolveState(dag.input([s])))).toEqual(sorted(s));
      expect(sorted(resolveState(dag.input([s, s])))).toEqual(sorted(s));
    });

    test('a ban by a moderator concurrent with their demotion by the admin is undone (power events: the higher sender first)', () => {
      const dag = new AuthDag(version);
      const base = dag.room({ [BOB]: 50 }, [BOB, CHARLIE]);
      const demoted = dag.add(base, { type: 'm.room.power_levels', sender: CREATOR, stateKey: '', content: dag.powerLevels({ [CREATOR]: 100, [BOB]: 0 }) });
      const ban = dag.add(base, { type: 'm.room.member', sender: BOB, stateKey: CHARLIE, content: { membership: 'ban' } });
      const resolved = resolveState(dag.input([demoted.state, ban.state]));
      expect(resolved.get(PL)).toBe(demoted.id);
      expect(resolved.get(member(CHARLIE))).toBe(base.get(member(CHARLIE)));
    });

    test('a join concurrent with join rules turned to invite is refused (power events first, then the others)', () => {
      const dag = new AuthDag(version);
      const base = dag.room({}, [BOB]);
      const invite = dag.add(base, { type: 'm.room.join_rules', sender: CREATOR, stateKey: '', content: { join_rule: 'invite' } });
      const join = dag.add(base, { type: 'm.room.member', sender: DAVE, stateKey: DAVE, content: { membership: 'join' } });
      const resolved = resolveState(dag.input([invite.state, join.state]));
      expect(resolved.get(JR)).toBe(invite.id);
      expect(resolved.has(member(DAVE))).toBe(false);
    });

    test('two topics by senders of equal power: the later one wins (mainline position equal, then origin_server_ts)', () => {
      const dag = new AuthDag(version);
      const base = dag.room({}, [BOB, CHARLIE], { events: { 'm.room.topic': 0 } });
      const late = dag.add(base, { type: 'm.room.topic', sender: BOB, stateKey: '', content: { topic: 'late' }, ts: 9_000 });
      const early = dag.add(base, { type: 'm.room.topic', sender: CHARLIE, stateKey: '', content: { topic: 'early' }, ts: 8_000 });
      expect(resolveState(dag.input([late.state, early.state])).get(TOPIC)).toBe(late.id);
      expect(resolveState(dag.input([early.state, late.state])).get(TOPIC)).toBe(late.id);
    });

    test('a topic based on the newer power levels wins over a later one based on older power levels (mainline ordering)', () => {
      const dag = new AuthDag(version);
      const base = dag.room({}, [BOB, CHARLIE], { events: { 'm.room.topic': 0 } });
      const newerPl = dag.add(base, { type: 'm.room.power_levels', sender: CREATOR, stateKey: '', content: dag.powerLevels({ [CREATOR]: 100, [DAVE]: 10 }, { events: { 'm.room.topic': 0 } }) });
      const onNewer = dag.add(newerPl.state, { type: 'm.room.topic', sender: BOB, stateKey: '', content: { topic: 'on the newer levels' }, ts: 1 });
      const onOlder = dag.add(base, { type: 'm.room.topic', sender: CHARLIE, stateKey: '', content: { topic: 'on the older levels, later' }, ts: 99_999 });
      const resolved = resolveState(dag.input([onNewer.state, onOlder.state]));
      expect(resolved.get(PL)).toBe(newerPl.id);
      expect(resolved.get(TOPIC)).toBe(onNewer.id);
    });
  });
}

test('v2 starts the power events from the unconflicted state, v2.1 from an empty one (the join rules of a since-demoted moderator)', () => {
  const results: Record<string, { kept: string; byBob: string; old: string }> = {};
  for (const version of ['11', '12']) {
    const dag = new AuthDag(version);
    const base = dag.room({ [BOB]: 50 }, [BOB]);
    const promoted = dag.add(base, { type: 'm.room.power_levels', sender: CREATOR, stateKey: '', content: dag.powerLevels({ [CREATOR]: 100, [BOB]: 50, [DAVE]: 1 }) });
    const byBob = dag.add(promoted.state, { type: 'm.room.join_rules', sender: BOB, stateKey: '', content: { join_rule: 'invite' } });
    const demoted = dag.add(byBob.state, { type: 'm.room.power_levels', sender: CREATOR, stateKey: '', content: dag.powerLevels({ [CREATOR]: 100, [BOB]: 0, [DAVE]: 1 }) });
    // Two states that agree on the demotion but not on the join rules.
    const a = demoted.state;
    const b = new Map(demoted.state);
    b.set(JR, base.get(JR)!);
    const input: StateResolutionInput = dag.input([a, b]);
    results[version] = { kept: resolveState(input).get(JR)!, byBob: byBob.id, old: base.get(JR)! };
  }
  // v2: Bob's join rules are checked against the unconflicted (demoting) power levels and refused.
  expect(results['11'].kept).toBe(results['11'].old);
  // v2.1: checked against their own auth events, where Bob was a moderator, and applied last.
  expect(results['12'].kept).toBe(results['12'].byBob);
});

test('the conflicted state subgraph holds the events between two conflicted events, not their common ancestors', () => {
  const dag = new AuthDag('12');
  const base = dag.room({ [BOB]: 50 }, [BOB]);
  const p1 = dag.add(base, { type: 'm.room.power_levels', sender: CREATOR, stateKey: '', content: dag.powerLevels({ [CREATOR]: 100, [BOB]: 60 }) });
  const p2 = dag.add(p1.state, { type: 'm.room.power_levels', sender: CREATOR, stateKey: '', content: dag.powerLevels({ [CREATOR]: 100, [BOB]: 70 }) });
  const p3 = dag.add(p2.state, { type: 'm.room.power_levels', sender: CREATOR, stateKey: '', content: dag.powerLevels({ [CREATOR]: 100, [BOB]: 80 }) });
  const sub = conflictedSubgraph(new Set([base.get(PL)!, p3.id]), (id) => dag.events.get(id));
  expect([...sub].sort()).toEqual([base.get(PL)!, p1.id, p2.id, p3.id].sort());
  expect(sub.has(dag.createId)).toBe(false);
});

// ---- Properties over random forks ---------------------------------------------------------------

type Op = { kind: 'join' | 'leave' | 'ban' | 'kick' | 'pl' | 'jr' | 'topic'; sender: number; target: number; value: number };
const USERS = [CREATOR, BOB, CHARLIE, DAVE];
const op = fc.record({
  kind: fc.constantFrom<Op['kind']>('join', 'leave', 'ban', 'kick', 'pl', 'jr', 'topic'),
  sender: fc.integer({ min: 0, max: 3 }),
  target: fc.integer({ min: 0, max: 3 }),
  value: fc.integer({ min: 0, max: 3 }),
});

/** Forks from one base, each a list of operations applied when the auth rules allow them. */
function forkedRoom(version: string, forks: Op[][]): { dag: AuthDag; states: StateMap[] } {
  const dag = new AuthDag(version);
  const base = dag.room({ [BOB]: 50 }, [BOB, CHARLIE], { events: { 'm.room.topic': 0 } });
  const states = forks.map((ops) => {
    let s = base;
    for (const o of ops) {
      const sender = USERS[o.sender];
      const target = USERS[o.target];
      const spec =
        o.kind === 'join' ? { type: 'm.room.member', sender: target, stateKey: target, content: { membership: 'join' } }
        : o.kind === 'leave' ? { type: 'm.room.member', sender: target, stateKey: target, content: { membership: 'leave' } }
        : o.kind === 'ban' ? { type: 'm.room.member', sender, stateKey: target, content: { membership: 'ban' } }
        : o.kind === 'kick' ? { type: 'm.room.member', sender, stateKey: target, content: { membership: 'leave' } }
        : o.kind === 'pl' ? { type: 'm.room.power_levels', sender, stateKey: '', content: dag.powerLevels({ [CREATOR]: 100, [BOB]: 50, [target]: [0, 25, 50, 75][o.value] }, { events: { 'm.room.topic': 0 } }) }
        : o.kind === 'jr' ? { type: 'm.room.join_rules', sender, stateKey: '', content: { join_rule: ['public', 'invite', 'public', 'invite'][o.value] } }
        : { type: 'm.room.topic', sender, stateKey: '', content: { topic: `t${o.value}` } };
      const r = dag.tryAdd(s, spec);
      if (!('refused' in r)) s = r.state;
    }
    return s;
  });
  return { dag, states };
}

const forks = fc.array(fc.array(op, { minLength: 1, maxLength: 8 }), { minLength: 2, maxLength: 3 });

for (const version of ['10', '12']) {
  test(`properties over random forks (room version ${version}): input order, idempotence, unconflicted kept, entries well-keyed`, () => {
    let conflictedRuns = 0;
    fc.assert(
      fc.property(forks, (f) => {
        const { dag, states } = forkedRoom(version, f);
        const resolved = resolveState(dag.input(states));
        // The order of the state sets does not matter.
        assert.deepEqual(sorted(resolveState(dag.input([...states].reverse()))), sorted(resolved));
        // Resolving a resolved state with itself changes nothing.
        assert.deepEqual(sorted(resolveState(dag.input([resolved, resolved]))), sorted(resolved));
        // The unconflicted state map is part of the result.
        const { unconflicted, conflicted } = splitConflicts(states);
        if (conflicted.size) conflictedRuns++;
        for (const [k, id] of unconflicted) assert.equal(resolved.get(k), id, `unconflicted ${k} kept`);
        // Every entry is an event stored under its own key.
        for (const [k, id] of resolved) {
          const e = dag.events.get(id);
          assert.ok(e, `${id} is known`);
          assert.equal(stateKey(e.type, e.state_key!), k);
        }
      }),
      { numRuns: 150, seed: 42 },
    );
    expect(conflictedRuns).toBeGreaterThan(50);
  });
}
