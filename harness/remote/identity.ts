/**
 * Where a remote lives: a loopback address and a key ID, both unique within the run.
 *
 * Playwright runs test files in parallel worker processes, so uniqueness comes from the worker
 * index (second octet) plus a per-process counter (last two octets). A fresh address and key per
 * remote keep a candidate's caches, backoff and key pinning from leaking between tests.
 */
import { randomBytes } from 'node:crypto';

let counter = 0;

/** Second octet for this process: 1 + the Playwright worker index, 255 outside Playwright (benches, scripts). */
function processOctet(): number {
  const worker = process.env.TEST_WORKER_INDEX;
  if (worker === undefined || worker === '') return 255;
  const index = Number(worker);
  if (!Number.isInteger(index) || index < 0) throw new Error(`TEST_WORKER_INDEX is not a worker index: ${JSON.stringify(worker)}`);
  return 1 + (index % 254);
}

/** A fresh 127.<1+worker>.<hi>.<lo> address; never hands out the same one twice in a process. */
export function allocateLoopbackAddress(): string {
  counter += 1;
  // 254 usable last octets (1..254) per third octet.
  const hi = Math.floor((counter - 1) / 254);
  const lo = ((counter - 1) % 254) + 1;
  if (hi > 255) throw new Error('loopback addresses exhausted in this process (65,024 remotes started)');
  return `127.${processOctet()}.${hi}.${lo}`;
}

/** A key ID (`ed25519:<version>`) unique within the run: worker, counter and a random tail. */
export function uniqueKeyId(): string {
  const worker = process.env.TEST_WORKER_INDEX ?? 'x';
  return `ed25519:lj${worker}_${counter}_${randomBytes(3).toString('hex')}`;
}
