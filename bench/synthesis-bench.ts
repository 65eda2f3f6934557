/**
 * Suite figures: how fast the suite synthesises a benchmark room (every event signed, through
 * `addMembers` and its worker threads) against the raw Ed25519 sign rate on the same machine in
 * the same run, and the time and peak memory to synthesise an N-member room.
 *
 * The room is built in a child process (this file run as a script) so that its peak resident
 * memory is the synthesis's alone, not the benchmark runner's.
 *
 *   npx tsx bench/synthesis-bench.ts <members>     prints one JSON SynthesisMeasurement
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { loadavg } from 'node:os';
import { resourceUsage } from 'node:process';
import { fileURLToPath } from 'node:url';
import { generateSigningKey, type SigningKey } from '../harness/matrix/index.ts';
import { addMembers } from '../harness/remote/bulk.ts';
import { Room } from '../harness/remote/room.ts';
import { memberMix, membershipCounts, serverCountFor } from './room-shape.ts';

export interface SynthesisMeasurement {
  members: number;
  servers: number;
  /** Events created, all signed (create and initial state included). */
  events: number;
  wallSeconds: number;
  /** CPU seconds of the whole process (main thread and signing workers). */
  cpuSeconds: number;
  eventsPerWallSecond: number;
  eventsPerCpuSecond: number;
  /** Raw node:crypto Ed25519 signatures over 600-byte payloads per CPU second, one thread. */
  rawSignsPerCpuSecond: number;
  /** eventsPerCpuSecond / rawSignsPerCpuSecond: the share of signing cost in a synthesised event. */
  synthesisToSignRatio: number;
  /** Peak resident memory of the process that built the room, bytes. */
  peakRssBytes: number;
  memberships: Record<string, number>;
  loadAverage: number;
}

/** Raw Ed25519 signatures per second of CPU time, measured for about `seconds` CPU seconds. */
export function rawSignRate(key: SigningKey, seconds = 1): number {
  const payloads = Array.from({ length: 64 }, () => randomBytes(600));
  for (let i = 0; i < 2000; i++) key.sign(payloads[i & 63]); // warm-up
  const start = process.cpuUsage();
  let done = 0;
  let used = 0;
  do {
    for (let i = 0; i < 500; i++) key.sign(payloads[(done + i) & 63]);
    done += 500;
    const u = process.cpuUsage(start);
    used = (u.user + u.system) / 1e6;
  } while (used < seconds);
  return done / used;
}

/** Synthesises an N-member benchmark room in this process and measures it. */
export async function synthesise(members: number): Promise<SynthesisMeasurement> {
  const servers = Array.from({ length: serverCountFor(members) }, (_, i) => `hs${i}.bench.example`);
  const keys = new Map<string, SigningKey>(servers.map((s) => [s, generateSigningKey()]));
  const rawSignsPerCpuSecond = rawSignRate(keys.get(servers[0])!);
  const admin = `@admin:${servers[0]}`;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const room = Room.create({ creator: admin, version: '10', joinRule: 'public', name: `Benchmark room of ${members} members` }, (s) => keys.get(s));
  await addMembers(room, memberMix(members, servers), { admin, keys, history: 'realistic' });
  const wallSeconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const cpuSeconds = (cpu.user + cpu.system) / 1e6;
  const events = room.eventCount;
  return {
    members,
    servers: servers.length,
    events,
    wallSeconds,
    cpuSeconds,
    eventsPerWallSecond: events / wallSeconds,
    eventsPerCpuSecond: events / cpuSeconds,
    rawSignsPerCpuSecond,
    synthesisToSignRatio: events / cpuSeconds / rawSignsPerCpuSecond,
    peakRssBytes: resourceUsage().maxRSS * 1024,
    memberships: membershipCounts(room),
    loadAverage: loadavg()[0],
  };
}

const SELF = fileURLToPath(import.meta.url);

/** Runs `synthesise(members)` in a child Node process (through tsx) and returns its measurement. */
export function synthesiseInChild(members: number, timeoutMs: number): Promise<SynthesisMeasurement> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', SELF, String(members)],
      { timeout: timeoutMs, maxBuffer: 1024 * 1024 },
      (err, stdout, stderr) => {
        if (err) return reject(new Error(`synthesis of ${members} members failed: ${err.message.split('\n')[0]} ${stderr.trim().split('\n').slice(-3).join(' | ')}`));
        try {
          resolve(JSON.parse(stdout.trim().split('\n').at(-1)!) as SynthesisMeasurement);
        } catch {
          reject(new Error(`synthesis of ${members} members printed no JSON: ${stdout.slice(0, 300)}`));
        }
      },
    );
  });
}

if (process.argv[1] === SELF) {
  const members = Number(process.argv[2]);
  if (!Number.isInteger(members) || members < 1) {
    console.error(`usage: npx tsx bench/synthesis-bench.ts <members, a positive integer>, got ${JSON.stringify(process.argv[2])}`);
    process.exit(2);
  }
  console.log(JSON.stringify(await synthesise(members)));
}
