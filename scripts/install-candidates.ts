/**
 * Installs candidates into the cache before a test run, timing each:
 *
 *   npx tsx scripts/install-candidates.ts synapse [dendrite]
 *
 * Cached installs return at once. Exits non-zero, with the one-line reason, when any fails.
 */
import { defaultCacheDir, installableCandidates, installCandidate } from '../harness/candidates/index.ts';

async function main(names: string[]): Promise<number> {
  if (names.length === 0) {
    console.error(`usage: npx tsx scripts/install-candidates.ts <candidate>...  (installable: ${installableCandidates.join(', ')})`);
    return 2;
  }
  const cacheDir = defaultCacheDir();
  let failed = 0;
  for (const name of names) {
    const started = performance.now();
    try {
      const version = await installCandidate(name, cacheDir);
      console.log(`${name} ${version}: installed in ${((performance.now() - started) / 1000).toFixed(1)} s (cache ${cacheDir})`);
    } catch (err) {
      failed++;
      console.error(`${name}: install failed after ${((performance.now() - started) / 1000).toFixed(1)} s: ${(err as Error).message}`);
    }
  }
  return failed ? 1 : 0;
}

process.exitCode = await main(process.argv.slice(2));
