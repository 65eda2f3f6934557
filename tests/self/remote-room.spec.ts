import { expect, test } from '@playwright/test';
import { encodeBase64, eventId, eventRefIds, generateSigningKey, referenceHash, roomVersion, STABLE_ROOM_VERSIONS, stateKey, verifyEvent, type KeyLookup, type SigningKey } from '../../harness/matrix/index.ts';
import { addMembers, type MemberSpec } from '../../harness/remote/bulk.ts';
import { sendJoinContent } from '../../harness/remote/join-response.ts';
import { Room } from '../../harness/remote/room.ts';

/** Keys for a few server names, a signer lookup and a verification lookup over them. */
function keyring(...servers: string[]) {
  const keys = new Map<string, SigningKey>(servers.map((s) => [s, generateSigningKey()]));
  const lookup: KeyLookup = (server, keyId) => (keys.get(server)?.keyId === keyId ? keys.get(server)!.publicKey : undefined);
  return { keys, signer: (s: string) => keys.get(s), lookup };
}

const A = 'a.example';
const B = 'b.example';
const alice = `@alice:${A}`;

test.describe('room model', () => {
  test('v12: two rooms one user creates alike on a stopped clock still get two room IDs', () => {
    const { signer } = keyring(A);
    const now = () => 1_800_000_000_000;
    const first = Room.create({ creator: alice, version: '12', now }, signer);
    const second = Room.create({ creator: alice, version: '12', now }, signer);
    expect(second.roomId).not.toBe(first.roomId);
    expect(second.mustEvent(second.stateEventId('m.room.create', '')!).origin_server_ts).not.toBe(first.mustEvent(first.stateEventId('m.room.create', '')!).origin_server_ts);
    // Before v12 the room ID is chosen, and the clock is left as it is.
    Room.create({ creator: alice, version: '11', now }, signer);
    const v11 = Room.create({ creator: alice, version: '11', now }, signer);
    expect(v11.mustEvent(v11.stateEventId('m.room.create', '')!).origin_server_ts).toBe(now());
  });

  test('heroes: first five joined or invited by stream order, never the user; else left and banned', () => {
    const { signer } = keyring(A, B);
    const room = Room.create({ creator: alice }, signer);
    const users = ['u1', 'u2', 'u3', 'u4', 'u5', 'u6'].map((u) => `@${u}:${B}`);
    room.join(users[0]);
    room.leave(users[0]); // left: not a hero while anyone is joined or invited
    for (const u of users.slice(1, 5)) room.join(u);
    room.invite(alice, users[5]);
    expect(room.heroes(users[1])).toEqual([alice, users[2], users[3], users[4], users[5]]);
    expect(room.heroes('@someone:else')).toEqual([alice, users[1], users[2], users[3], users[4]]);

    const lonely = Room.create({ creator: alice }, signer);
    const gone = [`@g1:${B}`, `@g2:${B}`];
    for (const g of gone) lonely.join(g);
    lonely.ban(alice, gone[0]);
    lonely.leave(gone[1]);
    lonely.leave(alice);
    // By stream order of the current membership events: the ban, then the two leaves.
    expect(lonely.heroes('@joiner:c.example')).toEqual([gone[0], gone[1], alice]);
  });

  test('partial send_join content keeps the joiner\'s prior membership and the heroes, drops state from the auth chain', () => {
    const { signer } = keyring(A, B);
    const room = Room.create({ creator: alice, joinRule: 'invite' }, signer);
    const joiner = `@j:${B}`;
    const inviteId = room.invite(alice, joiner);
    for (const u of ['p', 'q']) {
      room.invite(alice, `@${u}:${A}`);
      room.join(`@${u}:${A}`);
    }
    const joinId = room.join(joiner);
    const partial = sendJoinContent(room, joinId, joiner, true);
    expect(partial.state).toContain(inviteId);
    expect(partial.heroes).toEqual([alice, `@p:${A}`, `@q:${A}`]);
    expect(partial.authChain.filter((id) => partial.state.includes(id))).toEqual([]);
    // The heroes' joins cite their invites, which are not in state: they are in the auth chain.
    const heroInvites = [`@p:${A}`, `@q:${A}`].map((u) => room.eventIds().find((id) => room.mustEvent(id).state_key === u && room.mustEvent(id).content.membership === 'invite')!);
    expect(partial.authChain).toEqual(expect.arrayContaining(heroInvites));
    expect(partial.serversInRoom).toEqual([A]);
    const full = sendJoinContent(room, joinId, joiner, false);
    expect(full.state.length).toBe(room.stateBefore(joinId).size);
    expect(full.authChain).toEqual(expect.arrayContaining(full.state.filter((id) => room.mustEvent(id).type === 'm.room.create')));
  });

  test('forks: each branch sees its own state; after a merge the later branch wins a contested key', () => {
    const { signer } = keyring(A);
    const room = Room.create({ creator: alice, name: 'start' }, signer);
    const fork = room.forwardExtremities();
    const left = room.forge({ type: 'm.room.name', stateKey: '', sender: alice, content: { name: 'left' }, prevEvents: fork }).eventId;
    const right = room.forge({ type: 'm.room.name', stateKey: '', sender: alice, content: { name: 'right' }, prevEvents: fork }).eventId;
    expect(room.forwardExtremities().sort()).toEqual([left, right].sort());
    expect(room.stateContent('m.room.name', '', room.stateAfter(left))).toEqual({ name: 'left' });
    expect(room.stateContent('m.room.name', '', room.stateAfter(right))).toEqual({ name: 'right' });
    const merge = room.sendMessage(alice, 'merge');
    expect(room.mustEvent(merge).prev_events.sort()).toEqual([left, right].sort());
    expect(room.stateContent('m.room.name', '')).toEqual({ name: 'right' });
  });

  test('forged events: stale auth events, outliers outside the DAG, DAG gaps', () => {
    const { signer, lookup } = keyring(A, B);
    const room = Room.create({ creator: alice }, signer);
    const oldPowerLevels = room.stateEventId('m.room.power_levels', '')!;
    const mallory = `@mallory:${B}`;
    room.join(mallory);
    room.setState(alice, 'm.room.power_levels', '', { users: { [alice]: 100, [mallory]: 50 }, ban: 50 });
    const staleBan = room.forge({
      type: 'm.room.member',
      stateKey: alice,
      sender: mallory,
      content: { membership: 'ban' },
      authEvents: [room.stateEventId('m.room.create', '')!, oldPowerLevels, room.stateEventId('m.room.member', mallory)!],
    });
    expect(staleBan.event.auth_events).toContain(oldPowerLevels);
    expect(verifyEvent(staleBan.event, '10', lookup).ok).toBe(true);

    const before = room.forwardExtremities();
    const outlier = room.forge({ type: 'm.room.topic', stateKey: '', sender: alice, content: { topic: 'outlier' }, outlier: true });
    expect(room.forwardExtremities()).toEqual(before);
    expect(room.currentState().get(stateKey('m.room.topic', ''))).toBeUndefined();
    expect(room.event(outlier.eventId)).toBeDefined();

    const gap = room.forge({ type: 'm.room.message', sender: alice, content: { body: 'after a gap' }, prevEvents: ['$unknown'], depth: 99 });
    expect(gap.event.depth).toBe(99);
    expect(room.forwardExtremities()).toContain(gap.eventId);
  });

  /** Event ID forms by the table's eventIdFormat, written out here rather than derived. */
  const ID_FORMS: Record<string, RegExp> = { v1: /^\$[A-Za-z0-9_-]+:[ab]\.example$/, v3: /^\$[A-Za-z0-9+/]{43}$/, v4: /^\$[A-Za-z0-9_-]{43}$/ };

  for (const version of STABLE_ROOM_VERSIONS) {
    test(`room version ${version}: events verify, IDs and references take the version's form, auth events follow its rules`, { tag: [`@v${version}`] }, () => {
      const v = roomVersion(version);
      const { signer, lookup } = keyring(A, B);
      const bob = `@bob:${B}`;
      const room = Room.create({ creator: alice, version, ...(v.privilegedCreators ? { additionalCreators: [bob] } : {}) }, signer);
      const createId = room.stateEventId('m.room.create', '')!;
      const create = room.mustEvent(createId);
      expect(create.content.creator).toBe(Number(version) <= 10 ? alice : undefined);
      room.join(bob);
      const message = room.mustEvent(room.sendMessage(bob, 'hello'));
      for (const id of room.eventIds()) {
        const pdu = room.mustEvent(id);
        const check = verifyEvent(pdu, version, lookup);
        expect(check.errors).toEqual([]);
        expect(check.eventId).toBe(id);
        expect(id).toMatch(ID_FORMS[v.eventIdFormat]);
        // References: bare IDs from v3 on; [id, {sha256: reference hash}] pairs in v1 and v2.
        for (const ref of [...(pdu.prev_events as unknown[]), ...(pdu.auth_events as unknown[])]) {
          if (Number(version) >= 3) {
            expect(typeof ref).toBe('string');
          } else {
            const [refId, hashes] = ref as [string, { sha256: string }];
            expect(hashes.sha256).toBe(encodeBase64(referenceHash(room.mustEvent(refId), version)));
          }
        }
      }
      expect(eventRefIds(message.auth_events).sort()).toEqual(
        [room.stateEventId('m.room.power_levels', ''), room.stateEventId('m.room.member', bob), ...(version === '12' ? [] : [createId])].sort(),
      );
      const powerLevels = room.stateContent('m.room.power_levels', '')!;
      if (version === '12') {
        expect(room.roomId).toBe(`!${createId.slice(1)}`);
        expect(create.room_id).toBeUndefined();
        expect(create.content.additional_creators).toEqual([bob]);
        expect(powerLevels.users).toEqual({});
      } else {
        expect(room.roomId).toMatch(/^![A-Za-z0-9]+:a\.example$/);
        expect(powerLevels.users).toEqual({ [alice]: 100 });
      }
    });
  }

  test('join rules and creators a version does not have are refused with the reason', () => {
    const { signer } = keyring(A);
    expect(() => Room.create({ creator: alice, version: '6', joinRule: 'knock' }, signer)).toThrow('room version 6 has no "knock" join rule');
    expect(() => Room.create({ creator: alice, version: '7', joinRule: 'restricted' }, signer)).toThrow('room version 7 has no "restricted" join rule');
    expect(() => Room.create({ creator: alice, version: '11', additionalCreators: ['@b:b.example'] }, signer)).toThrow('room version 11 has no additional_creators');
    expect(Room.create({ creator: alice, version: '7', joinRule: 'knock' }, signer).stateContent('m.room.join_rules', '')).toEqual({ join_rule: 'knock' });
  });

  test('bulk members signed in worker threads give the same memberships and valid events', async () => {
    const { keys, signer, lookup } = keyring(A, B);
    const room = Room.create({ creator: alice }, signer);
    const kinds: MemberSpec['membership'][] = ['join', 'leave', 'ban', 'invite'];
    const specs: MemberSpec[] = Array.from({ length: 1200 }, (_, i) => ({ userId: `@m${i}:${i % 2 ? A : B}`, membership: kinds[i % 4] }));
    const created = await addMembers(room, specs, { admin: alice, keys, workers: 2 });
    expect(created).toBe(1200 + 300 + 300);
    for (const s of specs) expect(room.membership(s.userId)).toBe(s.membership);
    expect(room.forwardExtremities()).toHaveLength(2);
    for (const id of room.eventIds().filter((_, i) => i % 97 === 0)) {
      expect(verifyEvent(room.mustEvent(id), '10', lookup).ok).toBe(true);
      expect(eventId(room.mustEvent(id), '10')).toBe(id);
    }
    // The next event merges the branches.
    expect(room.mustEvent(room.sendMessage(alice, 'after')).prev_events).toHaveLength(2);
  });
});

test('resolvedStateBeforePrevs resolves a fork by the spec (a ban concurrent with the banner\'s demotion is undone), where stateBeforePrevs keeps the union', () => {
  const { signer } = keyring(A, B);
  const bob = `@bob:${B}`;
  const carol = `@carol:${B}`;
  for (const version of ['10', '12']) {
    const users = version === '12' ? { [bob]: 50 } : { [alice]: 100, [bob]: 50 };
    const room = Room.create({ creator: alice, version, powerLevels: { users } }, signer);
    room.join(bob);
    room.join(carol);
    const base = room.forwardExtremities();
    const demotion = room.forge({ type: 'm.room.power_levels', stateKey: '', sender: alice, content: { ...room.stateContent('m.room.power_levels', '')!, users: { ...users, [bob]: 0 } }, prevEvents: base }).eventId;
    const ban = room.forge({ type: 'm.room.member', stateKey: carol, sender: bob, content: { membership: 'ban' }, prevEvents: base }).eventId;
    const carolKey = stateKey('m.room.member', carol);
    // The union lets the event that entered the model last win: the ban.
    expect(room.stateBeforePrevs([demotion, ban]).get(carolKey)).toBe(ban);
    // State resolution applies the admin's demotion first; the ban then fails the auth rules.
    const resolved = room.resolvedStateBeforePrevs([demotion, ban]);
    expect(resolved.get(carolKey)).toBe(room.stateAfter(base[0]).get(carolKey));
    expect(resolved.get(stateKey('m.room.power_levels', ''))).toBe(demotion);
    // A linear history resolves to the model's own state.
    expect([...room.resolvedStateBeforePrevs([demotion])].sort()).toEqual([...room.stateAfter(demotion)].sort());
  }
});
