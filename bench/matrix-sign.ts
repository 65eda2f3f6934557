/**
 * Signing throughput on one core: raw node:crypto Ed25519 signatures over ~600-byte payloads
 * against fully built room v10 membership events through signEvent (content hash, redaction,
 * signature, event ID), then where an event's time goes, stage by stage.
 *
 * Run: npx tsx bench/matrix-sign.ts [CPU seconds per measurement, default 1]
 * Rates are per second of CPU time, each the best of 3 interleaved rounds.
 */
import { hash, randomBytes } from 'node:crypto';
import { canonicalJson, generateSigningKey, redactEvent, signEvent, type PDU } from '../harness/matrix/index.ts';

const secondsPerMeasurement = Number(process.argv[2] ?? 1);
if (!(secondsPerMeasurement > 0)) {
  console.error(`usage: npx tsx bench/matrix-sign.ts [seconds > 0], got ${JSON.stringify(process.argv[2])}`);
  process.exit(2);
}

const SERVER = 'remote1.lazyjoin.test:8448';
const ROUNDS = 3;
const key = generateSigningKey();

/**
 * Operations per second of process CPU time (user + system) of `op(i)`, after a warm-up, measured
 * in batches for `seconds` of CPU time. CPU time rather than wall-clock time keeps the figures
 * meaningful while other processes load the machine (V8's GC helper threads count too, which
 * makes the figures slightly pessimistic).
 */
function rate(op: (i: number) => unknown, seconds: number): number {
  for (let i = 0; i < 2000; i++) op(i); // warm-up: let V8 optimise
  const batch = 500;
  let done = 0;
  const start = process.cpuUsage();
  const budgetMicros = seconds * 1e6;
  let usedMicros = 0;
  do {
    for (let i = 0; i < batch; i++) op(done + i);
    done += batch;
    const used = process.cpuUsage(start);
    usedMicros = used.user + used.system;
  } while (usedMicros < budgetMicros);
  return done / (usedMicros / 1e6);
}

/** The best rate of each operation over interleaved rounds. */
function bestRates(ops: Record<string, (i: number) => unknown>, seconds: number): Record<string, number> {
  const best: Record<string, number> = {};
  for (let round = 0; round < ROUNDS; round++) {
    for (const [name, op] of Object.entries(ops)) best[name] = Math.max(best[name] ?? 0, rate(op, seconds));
  }
  return best;
}

// Event IDs to reference, precomputed so the benchmark measures signing, not random generation.
// (No closures in the per-event path: tsx wraps each closure creation in a costly __name call.)
const referencePool = Array.from({ length: 4096 }, () => '$' + randomBytes(32).toString('base64url'));
function reference(i: number, n: number): string {
  return referencePool[(i * 5 + n) % referencePool.length];
}

/** A realistic join in a v10 room: 5 auth/prev references, displayname and avatar (~900 bytes signed event). */
function membershipEvent(i: number): Omit<PDU, 'hashes' | 'signatures'> {
  return {
    room_id: '!bench0123456789abcdef:remote1.lazyjoin.test:8448',
    sender: `@user${i}:${SERVER}`,
    type: 'm.room.member',
    state_key: `@user${i}:${SERVER}`,
    content: {
      membership: 'join',
      displayname: `Benchmark user number ${i}`,
      avatar_url: `mxc://${SERVER}/avatar${i}abcdefghijklmnop`,
    },
    origin: SERVER,
    origin_server_ts: 1_700_000_000_000 + i,
    depth: 10 + i,
    prev_events: [reference(i, 0)],
    auth_events: [reference(i, 1), reference(i, 2), reference(i, 3), reference(i, 4)],
    unsigned: { age: 12 },
  };
}

const sample = signEvent(membershipEvent(0), SERVER, key, '10').event;
const { signatures: _signatures, unsigned: _unsigned, ...redactedSample } = redactEvent(sample, '10');
const { signatures: _s, unsigned: _u, hashes: _h, ...hashedSample } = sample;
const fullBytes = Buffer.byteLength(canonicalJson(sample));
const signedBytes = Buffer.from(canonicalJson(redactedSample));
const payloads = Array.from({ length: 64 }, () => randomBytes(600));

const rates = bestRates({
  raw: (i) => key.sign(payloads[i & 63]),
  event: (i) => signEvent(membershipEvent(i), SERVER, key, '10'),
}, secondsPerMeasurement);

// Stages of one signEvent, each timed alone on the sample event.
const stageSeconds = Math.min(secondsPerMeasurement, 0.5);
const stages: Array<[string, (i: number) => unknown]> = [
  ['build the input object (bench only)', (i) => membershipEvent(i)],
  ['canonical JSON of the full event', () => canonicalJson(hashedSample)],
  ['redaction', () => redactEvent(sample, '10')],
  ['canonical JSON of the redacted event', () => canonicalJson(redactedSample)],
  ['SHA-256 (done twice)', () => hash('sha256', signedBytes, 'buffer')],
  [`ed25519 sign of the ${signedBytes.length} redacted bytes`, () => key.sign(signedBytes)],
];

const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
const micros = (perSecond: number) => (1e6 / perSecond).toFixed(1).padStart(6);
console.log(`node ${process.version}, one core, per CPU second, best of ${ROUNDS} rounds of ${secondsPerMeasurement}s`);
console.log(`raw ed25519 sign, 600-byte payload:  ${fmt(rates.raw).padStart(7)} signatures/s  ${micros(rates.raw)} µs each`);
console.log(`signEvent, v10 join (${fullBytes} bytes):   ${fmt(rates.event).padStart(7)} events/s      ${micros(rates.event)} µs each`);
console.log(`ratio events/raw: ${(100 * rates.event / rates.raw).toFixed(1)}% (target >= 50%)`);
console.log('where an event\'s time goes (each stage alone):');
for (const [name, op] of stages) console.log(`  ${micros(rate(op, stageSeconds))} µs  ${name}`);
