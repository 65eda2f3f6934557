/**
 * The synthetic observation fixtures committed under tests/self/fixtures/observations/, built
 * with real signatures (harness/matrix, fixed keys, fixed timestamps), so they are reproducible
 * byte for byte. They show the fixture format and pin verdicts of cases worth keeping.
 */
import { fixtureOf, type ObservationFixture } from '../fixtures.ts';
import { sendJoinChecks } from '../send-join.ts';
import type { WirePdu } from '../send-join-observation.ts';
import { buildRoom, matrixCrypto, sendJoinObservation, type SendJoinOptions, type RoomOptions } from './synthetic-room.ts';

const GENERATOR = 'harness/checks/testing/synthetic-fixtures.ts';

function sendJoinFixture(
  description: string,
  roomOptions: RoomOptions,
  options: SendJoinOptions,
  expect: Record<string, 'pass' | 'fail' | 'not-applicable'>,
  alter?: (body: Record<string, unknown>, room: ReturnType<typeof buildRoom>) => void,
): ObservationFixture {
  const crypto = matrixCrypto(roomOptions.roomVersion ?? '10');
  const room = buildRoom({ ...roomOptions, crypto });
  const observation = sendJoinObservation(room, options);
  if (alter) alter(observation.response.body as Record<string, unknown>, room);
  // Every send_join check is pinned: those not named are expected not applicable.
  const expectations = Object.fromEntries(sendJoinChecks.map((c) => [c.id, expect[c.id] ?? 'not-applicable']));
  return fixtureOf('send-join', observation, expectations, { description, source: { origin: 'synthetic', test: GENERATOR }, serverKeys: crypto.keys });
}

export function syntheticFixtures(): Record<string, ObservationFixture> {
  const always = {
    'send-join/response-well-formed': 'pass',
    'send-join/state-is-room-state-before-join': 'pass',
    'send-join/members-omitted-is-boolean': 'pass',
    'send-join/non-member-state-complete': 'pass',
    'send-join/auth-chain-complete': 'pass',
    'send-join/returned-events-verify': 'pass',
  } as const;
  return {
    'synthetic-v10-partial-nameless.json': sendJoinFixture(
      'A conformant partial answer (omit_members=true) for a nameless v10 room: heroes\' memberships included, the left member omitted, auth_chain deduplicated.',
      { roomVersion: '10' },
      { partial: true },
      {
        ...always,
        'send-join/members-omitted-flagged': 'pass',
        'send-join/members-omitted-only-when-omitted': 'pass',
        'send-join/partial-state-offered': 'pass',
        'send-join/hero-memberships-included': 'pass',
        'send-join/auth-chain-deduplicated': 'pass',
        'send-join/servers-in-room': 'pass',
      },
    ),
    'synthetic-v11-full.json': sendJoinFixture(
      'A conformant full answer (no omit_members) for a named v11 room: every membership returned, auth_chain complete on its own.',
      { roomVersion: '11', named: true },
      {},
      { ...always, 'send-join/members-kept-without-opt-in': 'pass', 'send-join/auth-chain-self-contained-without-opt-in': 'pass' },
    ),
    'synthetic-v10-flag-without-omission.json': sendJoinFixture(
      'omit_members=true answered with every membership (all heroes, plus the left member) yet members_omitted true: breaks MSC3706 "must otherwise be set to false or omitted" (SJ-13).',
      { roomVersion: '10' },
      { partial: true },
      {
        ...always,
        'send-join/members-omitted-only-when-omitted': 'fail',
        'send-join/partial-state-offered': 'pass',
        'send-join/hero-memberships-included': 'pass',
        'send-join/auth-chain-deduplicated': 'pass',
        'send-join/servers-in-room': 'pass',
      },
      (body, room) => {
        // Put the one omitted membership (the left member's) back into state. Its auth events
        // (her join, needed by the topic she set) are already in auth_chain.
        const leftId = room.state.get(JSON.stringify(['m.room.member', '@erin:gone.test']))!;
        (body.state as WirePdu[]).push(structuredClone(room.events.get(leftId)!));
      },
    ),
  };
}
