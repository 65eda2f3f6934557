/**
 * The Dendrite driver against the real server: start and health, TLS identity of the federation
 * listener, shared-secret users (admin or not), restart with the same data, a crash told apart
 * from a stop on purpose, teardown, and the
 * outbound trust that every joining test depends on (the suite CA, and only it, on any loopback
 * address).
 *
 * Installing takes minutes, so these tests use the cached install and are skipped, saying how to
 * install, when there is none (`npx tsx scripts/install-candidates.ts dendrite`).
 */
import { test, expect } from '@playwright/test';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import { connect } from 'node:tls';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent, request } from 'undici';
import { createDendrite } from '../../harness/candidates/dendrite/index.ts';
import { DEFAULT_DENDRITE_VERSION, isDendriteInstalled } from '../../harness/candidates/dendrite/install.ts';
import { defaultCacheDir } from '../../harness/candidates/index.ts';
import { runningChildPids } from '../../harness/candidates/process.ts';
import type { Candidate, CandidateUser } from '../../harness/candidates/types.ts';
import { generateSigningKey } from '../../harness/matrix/index.ts';
import { allocateLoopbackAddress } from '../../harness/remote/identity.ts';
import { serverKeysDocument } from '../../harness/remote/keys.ts';
import { createSuiteCA, issueServerCert, suiteCA, type SuiteCA } from '../../harness/remote/pki.ts';

const version = process.env.LAZYJOIN_DENDRITE_VERSION ?? DEFAULT_DENDRITE_VERSION;
const cacheDir = defaultCacheDir();

test.describe.configure({ mode: 'serial' });
test.skip(
  !isDendriteInstalled(cacheDir, version),
  `Dendrite ${version} is not installed in ${cacheDir} (npx tsx scripts/install-candidates.ts dendrite)`,
);

let dendrite: Candidate;
let scratch: string;
let trustingSuiteCA: Agent;

test.beforeAll(async () => {
  scratch = mkdtempSync(join(tmpdir(), 'lazyjoin-dendrite-live-'));
  trustingSuiteCA = new Agent({ connect: { ca: suiteCA().certPem } });
  dendrite = createDendrite({
    instanceName: 'dendrite-live',
    workDir: join(scratch, 'instance'),
    cacheDir,
    caCertPath: suiteCA().certPath,
    issueCert: (names) => issueServerCert(names),
  });
  await dendrite.start();
});

test.afterAll(async () => {
  await dendrite?.teardown();
  await trustingSuiteCA?.close();
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

/** A key server on a fresh loopback address whose TLS certificate is issued by `issuer`. */
async function startKeyServer(issuer: SuiteCA): Promise<{ serverName: string; requests: string[]; server: Server }> {
  const host = allocateLoopbackAddress();
  const key = generateSigningKey();
  const tls = await issueServerCert([host], issuer);
  const requests: string[] = [];
  let serverName = '';
  const server = createServer({ cert: tls.certPem, key: tls.keyPem }, (req, res) => {
    requests.push(`${req.method} ${req.url}`);
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify(serverKeysDocument(serverName, key)));
  });
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  serverName = `${host}:${(server.address() as { port: number }).port}`;
  return { serverName, requests, server };
}

/** Asks the candidate's notary endpoint for `serverName`'s keys (it fetches them directly). */
async function keysViaCandidate(serverName: string): Promise<Array<{ server_name: string }>> {
  const res = await request(`${dendrite.federationUrl}/_matrix/key/v2/query`, {
    method: 'POST',
    dispatcher: trustingSuiteCA,
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ server_keys: { [serverName]: {} } }),
  });
  const body = await res.body.text();
  expect(res.statusCode, body).toBe(200);
  return (JSON.parse(body) as { server_keys: Array<{ server_name: string }> }).server_keys;
}

async function whoami(user: CandidateUser): Promise<{ status: number; userId?: string }> {
  const res = await request(`${dendrite.clientUrl}/_matrix/client/v3/account/whoami`, {
    headers: { authorization: `Bearer ${user.accessToken}` },
  });
  const body = (await res.body.json()) as { user_id?: string };
  return { status: res.statusCode, userId: body.user_id };
}

/** Status of an admin-only Dendrite endpoint for `user`: 200 for admins, 403 otherwise. */
async function adminEndpointStatus(user: CandidateUser): Promise<number> {
  const res = await request(`${dendrite.clientUrl}/_dendrite/admin/registrationTokens`, {
    headers: { authorization: `Bearer ${user.accessToken}` },
  });
  await res.body.dump();
  return res.statusCode;
}

test('federation answers over TLS with a certificate for 127.0.0.1 and its own server name', async () => {
  expect(dendrite.info).toEqual({ name: 'dendrite', implementation: 'dendrite', version, driver: 'process' });
  const res = await request(`${dendrite.federationUrl}/_matrix/key/v2/server`, { dispatcher: trustingSuiteCA });
  const keys = (await res.body.json()) as { server_name: string; verify_keys: Record<string, unknown> };
  expect(res.statusCode).toBe(200);
  expect(keys.server_name).toBe(dendrite.serverName);
  expect(Object.keys(keys.verify_keys)).toHaveLength(1);
  const port = Number(new URL(dendrite.federationUrl).port);
  const served = await new Promise<{ authorized: boolean; cert?: X509Certificate }>((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port, ca: suiteCA().certPem }, () => {
      resolve({ authorized: socket.authorized, cert: socket.getPeerX509Certificate() });
      socket.end();
    });
    socket.on('error', reject);
  });
  expect(served.authorized).toBe(true);
  expect(served.cert?.checkIP('127.0.0.1')).toBe('127.0.0.1');
  expect(served.cert?.checkIssued(new X509Certificate(suiteCA().certPem))).toBe(true);
});

test('shared-secret users are registered, admin only when asked, and survive a restart', async () => {
  const admin = await dendrite.registerUser(undefined, { admin: true, displayName: 'Admin' });
  const plain = await dendrite.registerUser(`plain-${Date.now()}`);
  expect(admin.userId).toMatch(new RegExp(`^@user-[0-9a-f]+:${dendrite.serverName.replace(/\./g, '\\.')}$`));
  expect(plain.userId.startsWith('@plain-')).toBe(true);
  expect(await adminEndpointStatus(admin)).toBe(200);
  expect(await adminEndpointStatus(plain)).toBe(403);

  const serverName = dendrite.serverName;
  await dendrite.restart();
  expect(dendrite.serverName).toBe(serverName);
  expect(await whoami(admin)).toEqual({ status: 200, userId: admin.userId });
  expect(await whoami(plain)).toEqual({ status: 200, userId: plain.userId });
});

test('outbound federation reaches other loopback addresses and trusts the suite CA, and only it', async () => {
  const trusted = await startKeyServer(suiteCA());
  const foreign = await startKeyServer(await createSuiteCA(join(scratch, 'foreign-ca')));
  try {
    const fetched = await keysViaCandidate(trusted.serverName);
    expect(fetched.map((k) => k.server_name)).toEqual([trusted.serverName]);
    expect(trusted.requests).toContain('GET /_matrix/key/v2/server');
    // Control: the same server with a certificate from a CA the candidate was not given.
    expect(await keysViaCandidate(foreign.serverName)).toEqual([]);
    expect(foreign.requests).toEqual([]);
    expect(dendrite.logTail(200)).toContain('x509: certificate signed by unknown authority');
  } finally {
    trusted.server.close();
    foreign.server.close();
  }
});

test('a crash is an unexpected exit, a stop on purpose is not, and start brings the server back', async () => {
  expect(await dendrite.unexpectedExit()).toBeUndefined();
  const config = join(scratch, 'instance', 'dendrite.yaml');
  const [pid] = runningChildPids().filter((p) => readFileSync(`/proc/${p}/cmdline`, 'utf8').includes(config));
  expect(pid, 'the Dendrite process among the running children').toBeDefined();
  process.kill(pid!, 'SIGKILL');
  await expect
    .poll(() => dendrite.unexpectedExit(), { timeout: 10_000, message: 'the driver saw the process end' })
    .toEqual({ code: null, signal: 'SIGKILL' });
  await dendrite.stop();
  expect(await dendrite.unexpectedExit()).toBeUndefined();
  await dendrite.start();
  expect(await dendrite.unexpectedExit()).toBeUndefined();
  expect((await dendrite.registerUser()).userId.endsWith(`:${dendrite.serverName}`)).toBe(true);
});

test('teardown stops the process and can be repeated', async () => {
  const before = runningChildPids();
  await dendrite.teardown();
  expect(runningChildPids()).toHaveLength(before.length - 1);
  await dendrite.teardown();
  await expect(dendrite.registerUser()).rejects.toThrow(/registerUser called while not running/);
});
