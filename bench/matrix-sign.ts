/**
 * Signing throughput on one core: raw node:crypto Ed25519 signatures over ~600-byte payloads
 * against fully built room v10 membership events through signEvent (content hash, redaction,
 * signature, event ID). Run: npx tsx bench/matrix-sign.ts [seconds per measurement, default 2]
 */
import { randomBytes } from 'node:crypto';
import { generateSigningKey, signEvent, canonicalJson, redactEvent, type PDU } from '../harness/matrix/index.ts';

const secondsPerMeasurement = Number(process.argv[2] ?? 2);
if (!(secondsPerMeasurement > 0)) {
  console.error(`usage: npx tsx bench/matrix-sign.ts [seconds > 0], got ${JSON.stringify(process.argv[2])}`);
  process.exit(2);
}

const SERVER = 'remote1.lazyjoin.test:8448';
const key = generateSigningKey();

/** Operations per second of `op(i)`, after a warm-up, measured in batches for `seconds`. */
function rate(op: (i: number) => unknown, seconds: number): number {
  for (let i = 0; i < 2000; i++) op(i); // warm-up: let V8 optimise
  const batch = 500;
  let done = 0;
  const start = process.hrtime.bigint();
  const budget = BigInt(Math.round(seconds * 1e9));
  let elapsed = 0n;
  do {
    for (let i = 0; i < batch; i++) op(done + i);
    done += batch;
    elapsed = process.hrtime.bigint() - start;
  } while (elapsed < budget);
  return done / (Number(elapsed) / 1e9);
}

/** A realistic join in a v10 room: 5 auth/prev references, displayname and avatar (~900 bytes signed event). */
function membershipEvent(i: number): Omit<PDU, 'hashes' | 'signatures'> {
  const ref = (n: number) => `$${randomBytesFor(i, n)}`;
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
    prev_events: [ref(0)],
    auth_events: [ref(1), ref(2), ref(3), ref(4)],
    unsigned: { age: 12 },
  };
}

// Event-ID-shaped references, precomputed so the benchmark measures signing, not random generation.
const referencePool = Array.from({ length: 4096 }, () => randomBytes(32).toString('base64url'));
function randomBytesFor(i: number, n: number): string {
  return referencePool[(i * 5 + n) % referencePool.length];
}

const sample = signEvent(membershipEvent(0), SERVER, key, '10');
const payloads = Array.from({ length: 64 }, () => randomBytes(600));
const fullBytes = Buffer.byteLength(canonicalJson(sample.event));
const { signatures: _signatures, ...redacted } = redactEvent(sample.event, '10');
const signedBytes = Buffer.byteLength(canonicalJson(redacted));

const rawRate = rate((i) => key.sign(payloads[i & 63]), secondsPerMeasurement);
const eventRate = rate((i) => signEvent(membershipEvent(i), SERVER, key, '10'), secondsPerMeasurement);
const buildOnlyRate = rate((i) => membershipEvent(i), secondsPerMeasurement);

const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
console.log(`node ${process.version}, one core, ${secondsPerMeasurement}s per measurement`);
console.log(`raw ed25519 sign (600-byte payload):      ${fmt(rawRate)} signatures/s  (${(1e6 / rawRate).toFixed(1)} µs each)`);
console.log(`signEvent, v10 join (${fullBytes} bytes, ${signedBytes} signed): ${fmt(eventRate)} events/s  (${(1e6 / eventRate).toFixed(1)} µs each)`);
console.log(`  of which building the input object:     ${(1e6 / buildOnlyRate).toFixed(1)} µs each`);
console.log(`ratio events/raw: ${(100 * eventRate / rawRate).toFixed(1)}% (target >= 50%)`);
