/**
 * Passing observations for the joining-side checks of joiner-resync-integrity.ts, for the checks' self-test
 * (every negative control must turn each of these into a failure). Event IDs are stand-ins: these
 * checks compare IDs and never verify events.
 */
import type {
  DeviceListDeliveryObservation,
  JoinerEventFateObservation,
  JoinerRoomIntegrityObservation,
  JoinerStateAtEventObservation,
  JoinerTransactionObservation,
} from './joiner-resync-integrity.ts';

const STATE = ['$create', '$alice-join', '$power-levels', '$join-rules', '$history', '$bob-join', '$joiner-join'];

export function joinerResyncIntegrityPassingObservations(): Array<{ name: string; kind: string; observation: unknown }> {
  const stateAfterResync: JoinerStateAtEventObservation = {
    phase: 'complete',
    eventId: '$message',
    response: { status: 200, body: { pdu_ids: [...STATE].reverse(), auth_chain_ids: ['$create'] } },
    waitedMs: 5_000,
    truth: STATE,
  };
  const transaction: JoinerTransactionObservation = {
    pduIds: ['$message'],
    eduTypes: ['m.typing'],
    response: { status: 200, body: { pdus: { $message: {} } } },
    waitedMs: 10_000,
  };
  const rejected = (phase: 'partial' | 'complete'): JoinerEventFateObservation => ({
    phase,
    eventId: '$unauthorised-state',
    mustBeRejected: 'is a state event by a user below state_default',
    answer: { status: 404, errcode: 'M_NOT_FOUND' },
  });
  const delivery: DeviceListDeliveryObservation = {
    phase: 'complete',
    userId: '@zed:joiner.test',
    roomServers: [
      { server: 'resident.test', received: true },
      { server: 'other.test', received: true },
    ],
  };
  const joinedCleanly: JoinerRoomIntegrityObservation = {
    join: { status: 200 },
    stateAfter: { 'm.room.create|': '$create', 'm.room.power_levels|': '$power-levels' },
    forbidden: [{ eventId: '$forged-power-levels', why: 'bad signature' }],
  };
  const refused: JoinerRoomIntegrityObservation = { join: { status: 502, errcode: 'M_UNKNOWN' }, stateAfter: null, forbidden: [] };
  return [
    { name: '/state_ids after the resync', kind: 'joiner-state-at-event', observation: stateAfterResync },
    { name: '/state_ids answered while still resyncing, with the full state', kind: 'joiner-state-at-event', observation: { ...stateAfterResync, phase: 'partial' } },
    { name: 'transaction with a typing EDU and a message', kind: 'joiner-transaction', observation: transaction },
    { name: 'unauthorised state event during the resync', kind: 'joiner-event-fate', observation: rejected('partial') },
    { name: 'unauthorised state event after the resync', kind: 'joiner-event-fate', observation: rejected('complete') },
    { name: 'device-list update after the resync', kind: 'joiner-device-list-delivery', observation: delivery },
    {
      name: 'to-device messages to the devices of two servers',
      kind: 'to-device-delivery',
      observation: {
        type: 'org.example.test',
        waitedMs: 20_000,
        targets: [
          { userId: '@alice:remote.invalid', deviceId: 'A', server: 'remote.invalid', receivedBy: ['remote.invalid'] },
          { userId: '@bob:bystander.invalid', deviceId: 'B', server: 'bystander.invalid', receivedBy: ['bystander.invalid'] },
        ],
      },
    },
    { name: 'join completed without the forged event', kind: 'joiner-room-integrity', observation: joinedCleanly },
    { name: 'join refused', kind: 'joiner-room-integrity', observation: refused },
  ];
}
