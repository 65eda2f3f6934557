/**
 * MSC2775 (never merged) as seen from the resident candidate: a `lazy_load_members` send_join
 * whose answer carries a /sync-style summary (C-2) and says when its state is partial (C-4);
 * /state for one state event by type and state_key (C-8); /state_ids with `lazy_load_members`
 * for a member-reduced snapshot (C-12). None of it is in the spec: each is recorded as supported
 * (informational, present) or not supported, never as a failure.
 */
import { test } from '../../harness/fixtures.ts';
import { recordFeature } from '../../harness/checks/judge.ts';
import { OFFERED_VERSIONS } from '../../harness/resident/observe.ts';
import { ResidentRoom, signJoinTemplate } from '../../harness/resident/room.ts';

const enc = encodeURIComponent;

test.describe('MSC2775 (never merged): lazy loading over federation, resident side', () => {
  test('send_join with lazy_load_members, /state by type and state_key, /state_ids with lazy_load_members', { tag: ['@C-2', '@C-4', '@C-8', '@C-12', '@msc-only'] }, async ({ candidate, client, newClient, remote }, testInfo) => {
    const room = await ResidentRoom.create(client, { preset: 'public_chat', name: 'MSC2775 probes' });
    const members = [];
    for (let i = 0; i < 3; i++) {
      const member = await newClient();
      await room.joinLocal(member);
      members.push(member);
    }
    const last = (await client.sendMessage(room.roomId, 'the event to ask about')).ok().event_id as string;

    // C-2, C-4: send_join as MSC2775 asked for it.
    const userId = remote.userId('lazy');
    const made = await remote.client.makeJoin(candidate.serverName, room.roomId, userId, OFFERED_VERSIONS);
    if (made.status !== 200 || !made.body?.event) throw new Error(`make_join answered ${made.status}: ${made.raw.slice(0, 200)}`);
    const { event, eventId } = signJoinTemplate(made.body.event, remote, made.body.room_version ?? '10');
    const sent = await remote.client.request('PUT', candidate.serverName, `/_matrix/federation/v2/send_join/${enc(room.roomId)}/${enc(eventId)}`, { query: { lazy_load_members: 'true' }, body: event });
    const body = (sent.body ?? {}) as { state?: Array<{ type?: string }>; summary?: unknown; lazy_load_members?: unknown };
    const memberEvents = (body.state ?? []).filter((e) => e.type === 'm.room.member').length;
    const partial = sent.status === 200 && memberEvents < members.length + 1;
    recordFeature(testInfo, 'C-2', sent.status === 200 && typeof body.summary === 'object' && body.summary !== null, { status: sent.status, summary: body.summary ?? null }, 'a summary block in the send_join answer');
    recordFeature(testInfo, 'C-4', partial && body.lazy_load_members === true, { status: sent.status, memberEvents, lazy_load_members: body.lazy_load_members ?? null }, 'lazy_load_members: true on a partial send_join answer');

    // C-8: one state event by type and state_key.
    const target = members[0].userId;
    const one = await remote.client.request('GET', candidate.serverName, `/_matrix/federation/v1/state/${enc(room.roomId)}`, { query: { event_id: last, type: 'm.room.member', state_key: target } });
    const pdus = ((one.body ?? {}) as { pdus?: Array<{ type?: string; state_key?: string }> }).pdus ?? [];
    recordFeature(testInfo, 'C-8', one.status === 200 && pdus.length === 1 && pdus[0].type === 'm.room.member' && pdus[0].state_key === target, { status: one.status, pdus: pdus.length }, '/state narrowed to one event by type and state_key');

    // C-12: a member-reduced /state_ids.
    const path = `/_matrix/federation/v1/state_ids/${enc(room.roomId)}`;
    const full = await remote.client.request('GET', candidate.serverName, path, { query: { event_id: last } });
    const reduced = await remote.client.request('GET', candidate.serverName, path, { query: { event_id: last, lazy_load_members: 'true' } });
    const count = (r: typeof full) => ((r.body ?? {}) as { pdu_ids?: unknown[] }).pdu_ids?.length ?? -1;
    recordFeature(testInfo, 'C-12', full.status === 200 && reduced.status === 200 && count(reduced) >= 0 && count(reduced) < count(full), { full: count(full), withLazyLoadMembers: count(reduced), status: reduced.status }, '/state_ids with lazy_load_members answering fewer events');
  });
});
