/**
 * Large-room benchmark of the remote's room model: a room of N members over K servers, every
 * event signed, then its full-state and partial-state send_join responses served over HTTPS.
 *
 *   npx tsx bench/remote-room.ts [members=150000] [servers=100] [--history=realistic|minimal] [--workers=N]
 *
 * Targets: 150,000 members built in <= 10 s within <= 2 GB RSS; full-state send_join <= 5 s.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { resourceUsage } from 'node:process';
import { generateSigningKey, signEvent, type SigningKey } from '../harness/matrix/index.ts';
import { addMembers } from '../harness/remote/bulk.ts';
import { ensureSuiteCA } from '../harness/remote/pki.ts';
import { Room } from '../harness/remote/room.ts';
import { startRemote, type Remote } from '../harness/remote/remote.ts';
import type { SendJoinMode } from '../harness/remote/client.ts';
import { memberMix } from './room-shape.ts';

const positional = process.argv.slice(2).filter((a) => !a.startsWith('--'));
const flag = (name: string) => process.argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1];
const members = Number(positional[0] ?? 150_000);
const serverCount = Number(positional[1] ?? 100);
const history = (flag('history') ?? 'realistic') as 'realistic' | 'minimal';
const workers = flag('workers') === undefined ? undefined : Number(flag('workers'));
if (!Number.isInteger(members) || members < 1) throw new Error(`members must be a positive integer, got ${positional[0]}`);
if (!Number.isInteger(serverCount) || serverCount < 1) throw new Error(`servers must be a positive integer, got ${positional[1]}`);
if (history !== 'realistic' && history !== 'minimal') throw new Error(`--history must be realistic or minimal, got ${history}`);

function mb(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(0)} MB`;
}

async function timedSendJoin(a: Remote, b: Remote, room: Room, localpart: string, mode: SendJoinMode) {
  const userId = b.userId(localpart);
  const template = (await b.client.makeJoin(a.serverName, room.roomId, userId)).body!.event;
  const { event, eventId } = signEvent(template, b.serverName, b.key, room.version);
  const t0 = performance.now();
  const res = await b.client.sendJoin(a.serverName, room.roomId, eventId, event, mode);
  const total = performance.now() - t0;
  if (res.status !== 200) throw new Error(`send_join answered ${res.status}: ${res.raw.slice(0, 300)}`);
  const served = a.requests('send_join').at(-1)!.durationMs!;
  return { total, served, bytes: Buffer.byteLength(res.raw), state: res.body!.state.length, authChain: res.body!.auth_chain.length };
}

async function main(): Promise<void> {
  const runDir = mkdtempSync(join(tmpdir(), 'lazyjoin-bench-'));
  process.env.LAZYJOIN_RUN_DIR = runDir;
  await ensureSuiteCA();
  const a = await startRemote();
  const b = await startRemote();
  try {
    const keys = new Map<string, SigningKey>([[a.serverName, a.key]]);
    const servers = Array.from({ length: serverCount }, (_, i) => `hs${i}.bench.example`);
    for (const s of servers) keys.set(s, generateSigningKey());
    const specs = memberMix(members, servers);

    console.log(`load average at start: ${loadavg().map((l) => l.toFixed(1)).join(' ')} on ${availableParallelism()} cores`);
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    const admin = a.userId('admin');
    const room = Room.create({ creator: admin, version: '10' }, (s) => keys.get(s));
    a.rooms.set(room.roomId, room);
    const events = await addMembers(room, specs, { admin, keys, history, workers });
    const state = room.currentState();
    const buildMs = performance.now() - t0;
    const buildCpu = process.cpuUsage(cpu0);
    const rss = process.memoryUsage().rss;
    const counts = room.members(state).reduce<Record<string, number>>((c, m) => ((c[m.membership] = (c[m.membership] ?? 0) + 1), c), {});

    console.log(`room: ${members} members on ${serverCount} servers (${history} history), ${events} membership events, ${room.eventCount} events in all`);
    console.log(`      memberships ${JSON.stringify(counts)}, ${state.size} state entries`);
    const cpuSeconds = (buildCpu.user + buildCpu.system) / 1e6;
    console.log(`build: ${(buildMs / 1000).toFixed(2)} s (${Math.round(events / (buildMs / 1000))} events/s), RSS ${mb(rss)}; CPU time ${cpuSeconds.toFixed(2)} s over all threads`);

    const cpu1 = process.cpuUsage();
    const full = await timedSendJoin(a, b, room, 'fulljoiner', 'full');
    const fullCpu = process.cpuUsage(cpu1);
    console.log(`full-state send_join: served in ${(full.served / 1000).toFixed(2)} s, received in ${(full.total / 1000).toFixed(2)} s; ${mb(full.bytes)}, ${full.state} state + ${full.authChain} auth chain events; CPU time ${((fullCpu.user + fullCpu.system) / 1e6).toFixed(2)} s (both ends)`);
    const partial = await timedSendJoin(a, b, room, 'partialjoiner', 'partial');
    console.log(`partial send_join:    served in ${(partial.served / 1000).toFixed(2)} s, received in ${(partial.total / 1000).toFixed(2)} s; ${(partial.bytes / 1024).toFixed(0)} KB, ${partial.state} state + ${partial.authChain} auth chain events`);

    const peakRss = resourceUsage().maxRSS * 1024;
    console.log(`peak RSS: ${mb(peakRss)}; load average ${loadavg().map((l) => l.toFixed(1)).join(' ')} (machine shared: figures scale with it)`);
    if (members >= 150_000) {
      const verdict = (ok: boolean) => (ok ? 'met' : 'MISSED');
      console.log(`targets: build <= 10 s ${verdict(buildMs <= 10_000)}; RSS <= 2 GB ${verdict(peakRss <= 2 * 1024 ** 3)}; full send_join <= 5 s ${verdict(full.total <= 5_000)}`);
    }
  } finally {
    await Promise.all([a.close(), b.close()]);
    rmSync(runDir, { recursive: true, force: true });
  }
}

await main();
