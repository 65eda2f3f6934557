/** Worker thread entry: signs one membership chain and posts it back in chunks. */
import { parentPort, workerData } from 'node:worker_threads';
import { signMembershipChain, type ChainInput, type SignedChainEvent } from './bulk-chain.ts';

const CHUNK = 2000;
let chunk: SignedChainEvent[] = [];
for (const signed of signMembershipChain(workerData as ChainInput)) {
  chunk.push(signed);
  if (chunk.length === CHUNK) {
    parentPort!.postMessage({ kind: 'events', events: chunk });
    chunk = [];
  }
}
parentPort!.postMessage({ kind: 'events', events: chunk });
parentPort!.postMessage({ kind: 'done' });
