/**
 * The Synapse process driver against the real server: the instance files come from the one
 * generator (names, modes, the log level asked for), and a crash is told apart from a stop on
 * purpose, after which start brings the server back with the same data.
 *
 * Uses the cached install and is skipped, saying how to install, when there is none
 * (`npx tsx scripts/install-candidates.ts synapse`).
 */
import { expect, test } from '@playwright/test';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { parse } from 'yaml';
import { defaultCacheDir } from '../../harness/candidates/index.ts';
import { runningChildPids } from '../../harness/candidates/process.ts';
import { createSynapse } from '../../harness/candidates/synapse/index.ts';
import { DEFAULT_SYNAPSE_VERSION, isSynapseInstalled } from '../../harness/candidates/synapse/install.ts';
import type { Candidate } from '../../harness/candidates/types.ts';
import { issueServerCert, suiteCA } from '../../harness/remote/pki.ts';

const version = process.env.LAZYJOIN_SYNAPSE_VERSION ?? DEFAULT_SYNAPSE_VERSION;
const cacheDir = defaultCacheDir();

test.describe.configure({ mode: 'serial' });
test.skip(
  !isSynapseInstalled(cacheDir, version),
  `Synapse ${version} is not installed in ${cacheDir} (npx tsx scripts/install-candidates.ts synapse)`,
);

let synapse: Candidate;
let scratch: string;
let workDir: string;

test.beforeAll(async () => {
  // A first start creates the whole schema: seconds idle, a minute on a busy machine.
  test.setTimeout(120_000);
  scratch = mkdtempSync(join(tmpdir(), 'lazyjoin-synapse-live-'));
  workDir = join(scratch, 'instance');
  synapse = createSynapse({
    instanceName: 'synapse-live',
    workDir,
    cacheDir,
    caCertPath: suiteCA().certPath,
    issueCert: (names) => issueServerCert(names),
    logLevel: 'warning',
  });
  await synapse.start();
});

test.afterAll(async () => {
  await synapse?.teardown();
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

test('the instance files come from the generator: their names, private keys unreadable to others, the log level asked for', () => {
  const mode = (name: string) => statSync(join(workDir, name)).mode & 0o777;
  expect([mode('signing.key'), mode('federation.key'), mode('federation.crt'), mode('homeserver.yaml')]).toEqual([0o600, 0o600, 0o644, 0o644]);
  const config = parse(readFileSync(join(workDir, 'homeserver.yaml'), 'utf8'));
  expect(config.server_name).toBe(synapse.serverName);
  expect(config.log_config).toBe(join(workDir, 'log.config.yaml'));
  expect(parse(readFileSync(config.log_config, 'utf8')).root.level).toBe('WARNING');
});

test('a crash is an unexpected exit, a stop on purpose is not, and start brings the server back', async () => {
  test.setTimeout(120_000);
  const user = await synapse.registerUser();
  expect(await synapse.unexpectedExit()).toBeUndefined();
  const config = join(workDir, 'homeserver.yaml');
  const [pid] = runningChildPids().filter((p) => readFileSync(`/proc/${p}/cmdline`, 'utf8').includes(config));
  expect(pid, 'the Synapse process among the running children').toBeDefined();
  process.kill(pid!, 'SIGKILL');
  await expect
    .poll(() => synapse.unexpectedExit(), { timeout: 10_000, message: 'the driver saw the process end' })
    .toEqual({ code: null, signal: 'SIGKILL' });
  await synapse.stop();
  expect(await synapse.unexpectedExit()).toBeUndefined();
  await synapse.start();
  expect(await synapse.unexpectedExit()).toBeUndefined();
  // The same data: the user registered before the crash is still there.
  const res = await request(`${synapse.clientUrl}/_matrix/client/v3/account/whoami`, { headers: { authorization: `Bearer ${user.accessToken}` } });
  expect([res.statusCode, ((await res.body.json()) as { user_id?: string }).user_id]).toEqual([200, user.userId]);
});
