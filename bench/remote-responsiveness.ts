/**
 * Does the remote stay responsive while it serves a big room? A candidate joining a big room
 * fetches the keys of every member server while the remote builds and sends its biggest answers
 * (full-state send_join, /state). A remote whose event loop is held for seconds makes those key
 * requests time out, and the candidate then drops the events it cannot verify: the benchmark
 * would be measuring the suite, not the candidate.
 *
 *   npx tsx bench/remote-responsiveness.ts [members=150000]
 *
 * Builds the benchmark's room of N members (bench/room-shape.ts) on a remote in this process. A
 * child process (another remote, so that its requests are signed and its keys fetchable) asks
 * `/state` at the room's last event and then sends a full-state send_join, reading both answers
 * without parsing them, while it asks a bystander's `/_matrix/key/v2/server` every 20 ms.
 * Reported per big request: its duration and size, the median and longest key request during it,
 * and the longest event-loop stall of the serving process (perf_hooks.monitorEventLoopDelay).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { request } from 'undici';
import { roomVersion, signEvent, signRequest } from '../harness/matrix/index.ts';
import { baseUrlFor, federationAgent } from '../harness/remote/discovery.ts';
import { ensureSuiteCA } from '../harness/remote/pki.ts';
import { startRemote, type Remote } from '../harness/remote/remote.ts';
import { buildBenchRoom } from './room-shape.ts';

const PROBE_INTERVAL_MS = 20;

interface KeyTimes {
  requests: number;
  medianMs: number;
  maxMs: number;
}

/** Asks `url` every PROBE_INTERVAL_MS, one request at a time, until `stop()`. */
function probe(url: string): { stop(): Promise<KeyTimes> } {
  const times: number[] = [];
  let running = true;
  const loop = (async () => {
    while (running) {
      const t0 = performance.now();
      const res = await request(url, { dispatcher: federationAgent() });
      await res.body.text();
      if (res.statusCode !== 200) throw new Error(`key request answered ${res.statusCode}`);
      times.push(performance.now() - t0);
      await new Promise((resolve) => setTimeout(resolve, PROBE_INTERVAL_MS)); // the probe's pace
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      const sorted = [...times].sort((a, b) => a - b);
      return { requests: times.length, medianMs: sorted[Math.floor(sorted.length / 2)] ?? 0, maxMs: sorted.at(-1) ?? 0 };
    },
  };
}

/** A signed federation request whose answer is counted, not parsed (so the client stays idle). */
async function countedRequest(me: Remote, method: 'GET' | 'PUT', destination: string, uri: string, content?: unknown): Promise<{ status: number; bytes: number }> {
  const authorization = signRequest({ method, uri, origin: me.serverName, destination, content }, me.key);
  const res = await request(`${baseUrlFor(destination)}${uri}`, {
    method,
    headers: { host: destination, authorization, ...(content === undefined ? {} : { 'content-type': 'application/json' }) },
    body: content === undefined ? undefined : JSON.stringify(content),
    dispatcher: federationAgent(),
    headersTimeout: 600_000,
    bodyTimeout: 600_000,
  });
  let bytes = 0;
  for await (const chunk of res.body) bytes += (chunk as Buffer).length;
  return { status: res.statusCode, bytes };
}

/** The child: asks the big requests of the serving remote while probing a bystander's keys. */
async function client(server: string, roomId: string, eventId: string, keyServer: string): Promise<void> {
  const me = await startRemote();
  const results: Array<{ what: string; seconds: number; bytes: number; keys: KeyTimes }> = [];
  const timed = async (what: string, work: () => Promise<{ status: number; bytes: number }>) => {
    const p = probe(`${baseUrlFor(keyServer)}/_matrix/key/v2/server`);
    const t0 = performance.now();
    const { status, bytes } = await work();
    const seconds = (performance.now() - t0) / 1000;
    const keys = await p.stop();
    if (status !== 200) throw new Error(`${what} answered ${status}`);
    results.push({ what, seconds, bytes, keys });
  };
  try {
    const room = encodeURIComponent(roomId);
    await timed('GET /state', () => countedRequest(me, 'GET', server, `/_matrix/federation/v1/state/${room}?event_id=${encodeURIComponent(eventId)}`));
    const userId = me.userId('joiner');
    const made = await me.client.makeJoin(server, roomId, userId);
    if (made.status !== 200) throw new Error(`make_join answered ${made.status}`);
    const { event, eventId: joinId } = signEvent(made.body!.event, me.serverName, me.key, roomVersion(made.body!.room_version ?? '1'));
    await timed('PUT /v2/send_join, full state', () =>
      countedRequest(me, 'PUT', server, `/_matrix/federation/v2/send_join/${room}/${encodeURIComponent(joinId)}?omit_members=false`, event),
    );
  } finally {
    await me.close();
  }
  process.stdout.write(JSON.stringify(results) + '\n');
}

async function server(members: number): Promise<void> {
  if (!Number.isInteger(members) || members < 1) throw new Error(`members must be a positive integer, got ${process.argv[2]}`);
  const runDir = mkdtempSync(join(tmpdir(), 'lazyjoin-bench-'));
  process.env.LAZYJOIN_RUN_DIR = runDir;
  await ensureSuiteCA();
  const a = await startRemote();
  try {
    const bench = await buildBenchRoom(a, members);
    const { room } = bench;
    console.log(`room of ${members} members: ${bench.events} events, ${bench.stateSize} state, built in ${bench.buildSeconds.toFixed(1)} s (load ${loadavg()[0].toFixed(1)})`);
    const delay = monitorEventLoopDelay({ resolution: 10 });
    delay.enable();
    const child = spawn(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url), '--client', a.serverName, room.roomId, room.forwardExtremities()[0], bench.bystanders[0].serverName], {
      env: process.env,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    delay.disable();
    if (code !== 0) throw new Error(`the client process exited with ${code}`);
    for (const r of JSON.parse(out) as Array<{ what: string; seconds: number; bytes: number; keys: KeyTimes }>) {
      console.log(
        `${r.what}: ${r.seconds.toFixed(2)} s, ${(r.bytes / 2 ** 20).toFixed(1)} MiB; key requests meanwhile: ${r.keys.requests}, median ${r.keys.medianMs.toFixed(0)} ms, longest ${r.keys.maxMs.toFixed(0)} ms`,
      );
    }
    console.log(`longest event-loop stall of the serving process over both: ${(delay.max / 1e6).toFixed(0)} ms`);
  } finally {
    await a.close();
    rmSync(runDir, { recursive: true, force: true });
  }
}

const args = process.argv.slice(2);
const main = args[0] === '--client' ? client(args[1], args[2], args[3], args[4]) : server(Number(args[0] ?? 150_000));
main.catch((err) => {
  console.error(err);
  process.exit(1);
});
