import { homedir } from 'node:os';
import { join } from 'node:path';

/** Where installs (and the suite CA) are cached across runs: env `LAZYJOIN_CACHE`, else `~/.cache/lazyjoin`. */
export function defaultCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.LAZYJOIN_CACHE ?? join(homedir(), '.cache', 'lazyjoin');
}
