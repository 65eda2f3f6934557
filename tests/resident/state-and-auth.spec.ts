/**
 * What every answer carries whatever the opt-in: all non-membership state (create, power levels,
 * join rules, history visibility, guest access, encryption, topic, custom types with empty and
 * non-empty state keys), an auth chain covering the join and every returned event, and events
 * correctly hashed and signed by their origin. De-duplication between state and auth_chain
 * (SJ-17, a MAY) is measured and attached, never a failure.
 */
import { test } from '../../harness/fixtures.ts';
import { recordInformational } from '../../harness/checks/index.ts';
import { answerSizes, judgeJoin, observeJoin, type OptIn } from '../../harness/resident/observe.ts';
import { ResidentRoom } from '../../harness/resident/room.ts';
import { forEachRoomVersion, roomVersionOffered } from '../../harness/resident/versions.ts';

const CUSTOM_STATE = [
  { type: 'm.room.encryption', state_key: '', content: { algorithm: 'm.megolm.v1.aes-sha2' } },
  { type: 'm.room.guest_access', state_key: '', content: { guest_access: 'can_join' } },
  { type: 'org.lazyjoin.custom', state_key: '', content: { note: 'empty state key' } },
  { type: 'org.lazyjoin.custom', state_key: 'with-key', content: { note: 'non-empty state key' } },
];

forEachRoomVersion((version, vTag) => {
  for (const [label, optIn] of [['omit_members=true', { omitMembers: 'true' }], ['no omit_members', 'none']] as Array<[string, OptIn]>) {
    test(`every non-member state event, a complete auth chain and valid signatures (${label})`, { tag: ['@SJ-14', '@SJ-16', '@SJ-17', '@SJ-17a', '@SJ-11', '@SG-01', '@must', vTag] }, async ({ candidate, client, newClient, makeRemote, remote }, testInfo) => {
      if (!(await roomVersionOffered(testInfo, client, version))) return;
      const room = await ResidentRoom.create(client, { name: 'all kinds of state', topic: 'a topic', initial_state: CUSTOM_STATE, room_version: version.id });
      const bob = await newClient();
      await room.joinLocal(bob);
      // Bob's state event makes his join an auth event of current state beyond the creator's.
      // Where creators' power is infinite (v12), the creator may not be listed.
      (await client.sendState(room.roomId, 'm.room.power_levels', '', {
        users: { ...(version.privilegedCreators ? {} : { [client.userId]: 100 }), [bob.userId]: 60 }, state_default: 50, events_default: 0, users_default: 0, ban: 50, kick: 50, redact: 50, invite: 0,
      })).ok();
      (await bob.sendState(room.roomId, 'org.lazyjoin.custom', 'by-bob', { note: 'sent by a member whose membership may be omitted' })).ok();
      const other = await makeRemote();
      await room.joinRemoteUser(candidate.serverName, other, other.userId('carol'));
      const exchange = await observeJoin(remote, candidate.serverName, room, remote.userId('zed'), { optIn });
      judgeJoin(testInfo, exchange);
      const sizes = answerSizes(exchange.sendJoin);
      await testInfo.attach('send_join answer sizes', { body: JSON.stringify(sizes, null, 2), contentType: 'application/json' });
      if (optIn !== 'none') {
        recordInformational(testInfo, 'SJ-17', sizes.repeatedInAuthChain === 0, sizes, `${sizes.repeatedInAuthChain} of ${sizes.authChain} auth_chain events repeat state`);
      }
    });
  }
});
