/**
 * What an operator meets before testing a server of their own: the lasting suite CA (`lazyjoin
 * ca`, `ca issue`), the recipes (`external-config`), the preflight, and bad input refused before
 * anything starts. Every CA here lives in a scratch folder (LAZYJOIN_CA_DIR), never the cache.
 */
import { X509Certificate } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, test } from '@playwright/test';
import { parse } from 'yaml';
import { preflightExternal, formatPreflight } from '../../harness/candidates/external-preflight.ts';
import { RECIPE_IMPLEMENTATIONS } from '../../harness/candidates/external-recipes.ts';
import { synapseLazyjoinSettings } from '../../harness/candidates/synapse/config.ts';
import { createSuiteCA, ensureSuiteCA, issueServerCert } from '../../harness/remote/pki.ts';
import { explainUntrustedCertificate } from '../../harness/remote/tls-trust.ts';
import { runChild } from './fixtures/report/run-playwright.ts';

const scratch = () => mkdtempSync(join(tmpdir(), 'lazyjoin-external-setup-'));
// Bounds for a loaded machine, where one command (loading the suite, listing its tests) can take a minute.
const lazyjoin = (env: Record<string, string>, ...args: string[]) => runChild(process.execPath, ['bin/lazyjoin.mjs', ...args], env, 180_000);

test('lazyjoin ca: made on first use with a private key, then the same CA for every later call', async () => {
  const dir = join(scratch(), 'ca');
  const first = await lazyjoin({ LAZYJOIN_CA_DIR: dir }, 'ca');
  expect([first.code, first.stdout.trim()], first.stderr).toEqual([0, join(dir, 'ca.crt')]);
  expect(first.stderr).toContain('created the suite CA');
  expect(statSync(join(dir, 'ca.key')).mode & 0o777).toBe(0o600);
  const pem = readFileSync(join(dir, 'ca.crt'), 'utf8');
  const again = await lazyjoin({ LAZYJOIN_CA_DIR: dir }, 'ca');
  expect([again.code, again.stdout.trim(), again.stderr]).toEqual([0, join(dir, 'ca.crt'), '']);
  expect(readFileSync(join(dir, 'ca.crt'), 'utf8')).toBe(pem);
});

test('parallel first uses (workers, runs) create one CA between them', async () => {
  test.setTimeout(120_000);
  const dir = join(scratch(), 'ca');
  const runs = await Promise.all([1, 2, 3].map(() => lazyjoin({ LAZYJOIN_CA_DIR: dir }, 'ca')));
  expect(runs.map((r) => r.code)).toEqual([0, 0, 0]);
  expect(runs.filter((r) => r.stderr.includes('created the suite CA'))).toHaveLength(1);
  expect(readdirSync(dir).sort()).toEqual(['ca.crt', 'ca.key']);
});

test('a CA near its end is replaced with a message; the old one is kept aside', async () => {
  const dir = join(scratch(), 'ca');
  const old = await createSuiteCA(dir, { validityDays: 10 });
  const ensured = await ensureSuiteCA(dir);
  expect(ensured.status).toBe('replaced');
  expect(ensured.notice).toMatch(/expires on .* in less than 30 days; it was replaced by a new one/);
  expect(ensured.notice).toContain('lazyjoin ca issue');
  expect(ensured.certPem).not.toBe(old.certPem);
  expect(readdirSync(dir).filter((f) => f.includes('.retired-'))).toHaveLength(2);
  // Control: a CA with years left is kept.
  expect((await ensureSuiteCA(dir)).status).toBe('reused');
});

test('ca issue: a certificate and key for DNS names and IP literals, chaining to the suite CA', async () => {
  const root = scratch();
  const env = { LAZYJOIN_CA_DIR: join(root, 'ca') };
  const r = await lazyjoin(env, 'ca', 'issue', '127.0.0.1', 'localhost', '--out', join(root, 'tls'));
  expect(r.code, r.stderr).toBe(0);
  const cert = new X509Certificate(readFileSync(join(root, 'tls', '127.0.0.1.crt')));
  const ca = new X509Certificate(readFileSync(join(root, 'ca', 'ca.crt')));
  expect(cert.subjectAltName).toBe('IP Address:127.0.0.1, DNS:localhost');
  expect(cert.checkIssued(ca) && cert.verify(ca.publicKey)).toBe(true);
  expect(statSync(join(root, 'tls', '127.0.0.1.key')).mode & 0o777).toBe(0o600);
  // Control: a certificate from another CA does not verify against the suite CA.
  const foreign = new X509Certificate((await issueServerCert(['127.0.0.1'], await createSuiteCA(join(root, 'other')))).certPem);
  expect(foreign.verify(ca.publicKey)).toBe(false);
});

test('bad input stops at once: one line naming the problem and the choices, exit 2, nothing started', async () => {
  test.setTimeout(600_000); // eight commands, one listing the tests: slow only on a loaded machine
  const root = scratch();
  writeFileSync(join(root, 'file'), '');
  const noExternal = Object.fromEntries(Object.keys(process.env).filter((k) => k.startsWith('LAZYJOIN_EXTERNAL_')).map((k) => [k, '']));
  const cases: [string[], RegExp][] = [
    [['run', '--candidate', 'nosuch', '--out', join(root, 'a')], /^lazyjoin: --candidate nosuch: no such candidate \(known: synapse, .*external.*\)$/],
    [['run', '--candidate', 'external', '--out', join(root, 'b')], /^lazyjoin: external candidate: missing environment variable\(s\): LAZYJOIN_EXTERNAL_CLIENT_URL, LAZYJOIN_EXTERNAL_SERVER_NAME, LAZYJOIN_EXTERNAL_SHARED_SECRET or LAZYJOIN_EXTERNAL_REGISTRATION_TOKEN/],
    [['run', '--candidate', 'synapse', '--out', '/proc/lazyjoin-cannot-write'], /^lazyjoin: --out \/proc\/lazyjoin-cannot-write: cannot write there \(ENOENT\)$/],
    [['run', '--candidate', 'synapse', '--out', join(root, 'file', 'out')], /^lazyjoin: --out .*\/file\/out: cannot write there \(ENOTDIR\)$/],
    [['run', '--candidate', 'synapse', '--out', join(root, 'c'), '--grep', 'SJ-999'], /^lazyjoin: --grep SJ-999: selects no test of synapse/],
    [['ca', 'issue', '127.0.0.1:8448', '--out', join(root, 'd')], /^lazyjoin: ca issue: "127.0.0.1:8448" is not a DNS name or an IP address/],
    [['ca', 'issue', '127.0.0.1'], /^lazyjoin: ca issue: --out DIR is required/],
    [['external-config', '--implementation', 'nosuch'], /^lazyjoin: --implementation nosuch: expected one of synapse, dendrite, conduit, conduwuit, continuwuity, tuwunel$/],
  ];
  for (const [args, message] of cases) {
    const r = await lazyjoin({ ...noExternal, LAZYJOIN_CA_DIR: join(root, 'ca') }, ...args);
    expect([r.code, r.stderr.split('\n')[0]], `lazyjoin ${args.join(' ')}`).toEqual([2, expect.stringMatching(message)]);
    expect(r.stdout, `lazyjoin ${args.join(' ')} started nothing`).not.toContain('testing');
  }
  expect(existsSync(join(root, 'a')) || existsSync(join(root, 'b')), 'no report folder made for a refused run').toBe(false);
});

test('external-config: every implementation has a recipe naming the suite CA; Synapse\'s is the driver\'s own settings', async () => {
  test.setTimeout(300_000); // seven commands
  const env = { LAZYJOIN_CA_DIR: join(scratch(), 'ca') };
  for (const implementation of RECIPE_IMPLEMENTATIONS) {
    const r = await lazyjoin(env, 'external-config', '--implementation', implementation, '--server-name', '127.0.0.1:8448', '--cert-dir', '/tls', '--secret', 's1');
    expect(r.code, `${implementation}: ${r.stderr}`).toBe(0);
    expect(r.stdout).toContain(join(env.LAZYJOIN_CA_DIR, 'ca.crt'));
    expect(r.stdout).toContain('LAZYJOIN_EXTERNAL_SERVER_NAME=127.0.0.1:8448');
    expect(r.stdout.includes('UNVERIFIED'), implementation).toBe(!['synapse', 'dendrite'].includes(implementation));
  }
  const synapse = await lazyjoin(env, 'external-config', '--implementation', 'synapse', '--cert-dir', '/tls', '--secret', 's1');
  const recipe = parse(synapse.stdout) as Record<string, unknown>;
  const expected = synapseLazyjoinSettings({ caCertPath: join(env.LAZYJOIN_CA_DIR, 'ca.crt'), tlsCertPath: '/tls/127.0.0.1.crt', tlsKeyPath: '/tls/127.0.0.1.key', registrationSharedSecret: 's1' });
  expect(recipe).toMatchObject(JSON.parse(JSON.stringify(expected)));
  expect((recipe.listeners as { tls: boolean; port: number }[]).map((l) => [l.port, l.tls])).toEqual([[8008, false], [8448, true]]);
});

test('preflight: every failing item at once, with its fix, in seconds', async () => {
  // A client API that is not there, and a federation listener whose certificate no remote trusts.
  const foreignCA = await createSuiteCA(join(scratch(), 'foreign'));
  const cert = await issueServerCert(['127.0.0.1'], foreignCA);
  const server = createServer({ cert: cert.certPem, key: cert.keyPem }, (_req, res) => res.end('{}'));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  try {
    const description = {
      clientUrl: 'http://127.0.0.1:9', // discard port: nothing listens
      serverName: `127.0.0.1:${port}`,
      federationUrl: `https://127.0.0.1:${port}`,
      registration: { sharedSecret: 'x' },
      implementation: 'synapse',
      version: '1.98.0',
    };
    const result = await preflightExternal(description);
    const byName = Object.fromEntries(result.items.map((i) => [i.name, i]));
    expect(result.ok).toBe(false);
    expect(result.items.map((i) => [i.name, i.ok])).toEqual([
      ['client API', false],
      ['registration', false],
      ['federation over TLS', false],
      ['server keys', false],
      ['candidate reaches a remote', false],
    ]);
    expect(byName['client API']!.fix).toContain('LAZYJOIN_EXTERNAL_CLIENT_URL');
    expect(byName['federation over TLS']!.detail).toMatch(/presents "CN=127.0.0.1" issued by "CN=lazyjoin suite CA/);
    expect(byName['federation over TLS']!.fix).toContain('LAZYJOIN_EXTERNAL_CA');
    expect(result.durationMs).toBeLessThan(15_000);
    const text = formatPreflight(description, result);
    expect(text.split('\n').filter((l) => l.includes('fix:')).length).toBeGreaterThanOrEqual(3);
    expect(text).toContain('preflight failed (5 of 5 items); no test was run');
  } finally {
    server.close();
  }
});

test('a TLS failure met by many tests is explained once per run, naming both ends, the certificate and the variable', async () => {
  const foreignCA = await createSuiteCA(join(scratch(), 'foreign'));
  const cert = await issueServerCert(['127.0.0.1'], foreignCA);
  const server = createServer({ cert: cert.certPem, key: cert.keyPem }, (_req, res) => res.end('{}'));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  const runDirBefore = process.env.LAZYJOIN_RUN_DIR;
  process.env.LAZYJOIN_RUN_DIR = scratch();
  try {
    const url = `https://127.0.0.1:${port}/_matrix/key/v2/server`;
    const first = await explainUntrustedCertificate('127.1.0.9:1234', `127.0.0.1:${port}`, url, 'UNABLE_TO_VERIFY_LEAF_SIGNATURE');
    const second = await explainUntrustedCertificate('127.1.0.10:1234', `127.0.0.1:${port}`, url, 'UNABLE_TO_VERIFY_LEAF_SIGNATURE');
    const file = join(process.env.LAZYJOIN_RUN_DIR, 'tls-trust.txt');
    expect(first).toContain(`explained in ${file}`);
    expect(second).toContain(`explained in ${file}`);
    const explained = readFileSync(file, 'utf8').trim().split('\n');
    expect(explained).toHaveLength(1);
    expect(explained[0]).toMatch(/remote 127\.1\.0\.9:1234 could not verify 127\.0\.0\.1:\d+ .* presented certificate "CN=127\.0\.0\.1" issued by "CN=lazyjoin suite CA .*LAZYJOIN_EXTERNAL_CA/);
  } finally {
    process.env.LAZYJOIN_RUN_DIR = runDirBefore;
    server.close();
  }
});
