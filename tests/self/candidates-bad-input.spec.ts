/**
 * The candidate drivers facing bad input: each case must end in a one-line error naming the
 * cause (plus the log tail when there is a log), and leave no process running. No real install.
 */
import { expect, test } from '@playwright/test';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createCandidate, knownCandidates } from '../../harness/candidates/index.ts';
import { externalFromEnv } from '../../harness/candidates/external.ts';
import { runningChildPids, waitUntilGone } from '../../harness/candidates/process.ts';
import { createSynapse, type SynapseDriverOptions } from '../../harness/candidates/synapse/index.ts';
import { DEFAULT_SYNAPSE_VERSION, synapseInstallMarker, synapseInstallPaths } from '../../harness/candidates/synapse/install.ts';
import { CandidateError } from '../../harness/candidates/types.ts';
import { issueServerCert, suiteCA } from '../../harness/remote/pki.ts';

/** The first line of an error: the part that must name the cause on its own. */
function headline(err: unknown): string {
  return (err as Error).message.split('\n')[0]!;
}

async function startError(start: () => Promise<unknown>): Promise<CandidateError> {
  const err = await start().then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err, 'start() should have failed').toBeInstanceOf(CandidateError);
  return err as CandidateError;
}

function synapseOptions(dir: string, extra: Partial<SynapseDriverOptions> = {}): SynapseDriverOptions {
  return {
    instanceName: 'synapse-bad-input',
    workDir: `${dir}/work`,
    cacheDir: `${dir}/cache`,
    caCertPath: suiteCA().certPath,
    issueCert: issueServerCert,
    ...extra,
  };
}

/**
 * A cache that looks installed but whose "python" is a shell script, so the driver's start,
 * health wait and stop run for real around a fake server.
 */
function fakeInstalledSynapse(cacheDir: string, script: string): void {
  const paths = synapseInstallPaths(cacheDir, DEFAULT_SYNAPSE_VERSION);
  mkdirSync(dirname(paths.python), { recursive: true });
  writeFileSync(paths.python, `#!/bin/sh\n${script}\n`);
  chmodSync(paths.python, 0o755);
  writeFileSync(paths.marker, synapseInstallMarker(DEFAULT_SYNAPSE_VERSION));
}

/**
 * A private scratch folder per test (not test-results/, which any concurrent Playwright run in
 * the same tree wipes at its start).
 */
let dir: string;
test.beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'lazyjoin-candidates-'));
});
test.afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
  expect(runningChildPids(), 'no candidate process may outlive a failed start').toEqual([]);
});

test('an unknown candidate name lists the known ones', async () => {
  expect(() => createCandidate('conduit', synapseOptions(dir))).toThrow(`unknown candidate "conduit"; known: ${knownCandidates.join(', ')}`);
});

test('a missing Python interpreter is named, before anything is installed', async () => {
  const candidate = createSynapse(synapseOptions(dir, { python: '/nonexistent/python3.11' }));
  const err = await startError(() => candidate.start());
  expect(headline(err)).toBe(
    `synapse ${DEFAULT_SYNAPSE_VERSION} install: Python interpreter "/nonexistent/python3.11" not found (set LAZYJOIN_PYTHON to a Python 3.11)`,
  );
});

test('a port already taken is reported with its purpose', async () => {
  const blocker: Server = createServer();
  await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
  const port = (blocker.address() as { port: number }).port;
  try {
    const candidate = createSynapse(synapseOptions(dir, { clientPort: port }));
    const err = await startError(() => candidate.start());
    expect(err.message).toBe(`port 127.0.0.1:${port} for the synapse-bad-input client listener is already in use`);
  } finally {
    await new Promise((resolve) => blocker.close(resolve));
  }
});

test('a server that exits at start fails at once with its exit code and log tail', async () => {
  fakeInstalledSynapse(`${dir}/cache`, 'echo "fake synapse: bad config key" >&2\nexit 3');
  const candidate = createSynapse(synapseOptions(dir, { healthTimeoutMs: 60_000 }));
  const started = Date.now();
  const err = await startError(() => candidate.start());
  expect(Date.now() - started, 'an exit must not wait for the health bound').toBeLessThan(10_000);
  expect(headline(err)).toMatch(/^synapse-bad-input exited with code 3 while waiting for http:\/\/127\.0\.0\.1:\d+\/health to be healthy$/);
  expect(err.logTail).toContain('fake synapse: bad config key');
});

test('a server that never becomes healthy is stopped at the bound, with the last poll result', async () => {
  // Prints its pid so the test can check it is gone, then hangs without listening.
  fakeInstalledSynapse(`${dir}/cache`, 'echo "fake synapse pid $$"\nexec sleep 60');
  const candidate = createSynapse(synapseOptions(dir, { healthTimeoutMs: 1_500 }));
  const err = await startError(() => candidate.start());
  expect(headline(err)).toMatch(
    /^synapse-bad-input not healthy after 1500 ms: GET http:\/\/127\.0\.0\.1:\d+\/health last got ECONNREFUSED: .+$/,
  );
  const pid = Number(/fake synapse pid (\d+)/.exec(err.logTail)?.[1]);
  expect(pid, 'the log tail should show the fake server pid').toBeGreaterThan(0);
  expect(await waitUntilGone(pid, 5_000), `pid ${pid} should be gone`).toBe(true);
});

test('an external candidate without its variables names every missing one', () => {
  expect(() => externalFromEnv({})).toThrow(
    'external candidate: missing environment variable(s): LAZYJOIN_EXTERNAL_CLIENT_URL, LAZYJOIN_EXTERNAL_SERVER_NAME, LAZYJOIN_EXTERNAL_SHARED_SECRET or LAZYJOIN_EXTERNAL_REGISTRATION_TOKEN',
  );
  expect(() =>
    externalFromEnv({ LAZYJOIN_EXTERNAL_CLIENT_URL: 'localhost:8008', LAZYJOIN_EXTERNAL_SERVER_NAME: 'hs', LAZYJOIN_EXTERNAL_SHARED_SECRET: 's' }),
  ).toThrow('external candidate: LAZYJOIN_EXTERNAL_CLIENT_URL="localhost:8008" is not an http(s) URL');
  expect(
    externalFromEnv({ LAZYJOIN_EXTERNAL_CLIENT_URL: 'http://127.0.0.1:8008/', LAZYJOIN_EXTERNAL_SERVER_NAME: 'hs:8448', LAZYJOIN_EXTERNAL_REGISTRATION_TOKEN: 't' }),
  ).toEqual({
    clientUrl: 'http://127.0.0.1:8008',
    serverName: 'hs:8448',
    federationUrl: 'https://hs:8448',
    registration: { registrationToken: 't' },
    implementation: 'external',
    version: 'unknown',
  });
  expect(
    externalFromEnv({
      LAZYJOIN_EXTERNAL_CLIENT_URL: 'http://127.0.0.1:8008',
      LAZYJOIN_EXTERNAL_SERVER_NAME: 'hs:8448',
      LAZYJOIN_EXTERNAL_SHARED_SECRET: 's',
      LAZYJOIN_EXTERNAL_IMPLEMENTATION: 'synapse',
      LAZYJOIN_EXTERNAL_VERSION: '1.98.0',
    }),
  ).toMatchObject({ implementation: 'synapse', version: '1.98.0' });
});

test('a malformed Synapse version or log level is refused before any work', () => {
  expect(() => createSynapse(synapseOptions(dir, { logLevel: 'verbose' }))).toThrow(
    'Synapse log level "verbose" is not one of DEBUG, INFO, WARNING, ERROR (from option or LAZYJOIN_SYNAPSE_LOG_LEVEL)',
  );
  expect(() => createSynapse(synapseOptions(dir, { version: 'latest' }))).toThrow(
    'Synapse version "latest" is not of the form 1.98.0 (from option or LAZYJOIN_SYNAPSE_VERSION)',
  );
});
