/**
 * The Palpo driver's own tests: configuration (read back through a real TOML parser), signing
 * key, environment, version and install errors, and the TLS bridge that carries client calls to
 * Palpo's single TLS listener. None of them builds or starts Palpo; the shared smoke tests
 * (project `palpo`) run the real server.
 */
import { test, expect } from '@playwright/test';
import { execFileSync } from 'node:child_process';
import { createPrivateKey, createPublicKey, sign, verify } from 'node:crypto';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer as createHttpsServer } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { createPalpo, type PalpoDriverOptions } from '../../harness/candidates/palpo/index.ts';
import { palpoConfig, palpoEnv, palpoInstanceFiles, palpoKeypair, toToml } from '../../harness/candidates/palpo/config.ts';
import { makeAdminSql } from '../../harness/candidates/palpo/database.ts';
import { checkPalpoVersion, installPalpo, isPalpoInstalled, palpoInstallPaths, readPalpoMarker } from '../../harness/candidates/palpo/install.ts';
import { freePort } from '../../harness/candidates/process.ts';
import { TlsBridge } from '../../harness/candidates/tls-bridge.ts';
import { CandidateError } from '../../harness/candidates/types.ts';
import { createSuiteCA, issueServerCert } from '../../harness/remote/pki.ts';

const dir = '/run/lazyjoin/palpo-w0';
const input = {
  serverName: '127.0.0.1:38448',
  listenPort: 38448,
  dir,
  databaseUrl: 'postgres://postgres@127.0.0.1:5432/lazyjoin_palpo_w0',
  registrationToken: 't0ken',
  keypair: { document: 'AAAA', version: 'a_1' },
};

/** Parsed TOML: deliberately loose, the tests read it like Palpo does. */
type Section = Record<string, any>;

/** The TOML as a TOML parser reads it (Python's tomllib: an implementation other than the writer). */
function parseToml(text: string): Section {
  const out = execFileSync('python3', ['-c', 'import sys, json, tomllib; print(json.dumps(tomllib.loads(sys.stdin.read())))'], { input: text });
  return JSON.parse(out.toString()) as Section;
}

function configAsWritten(overrides: Partial<Parameters<typeof palpoConfig>[0]> = {}): Section {
  return parseToml(toToml(palpoConfig({ ...input, ...overrides })));
}

function withTempDir<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const d = mkdtempSync(join(tmpdir(), 'lazyjoin-palpo-'));
  return fn(d).finally(() => rmSync(d, { recursive: true, force: true }));
}

test.describe('Palpo config', () => {
  test('one TLS listener on loopback named as the server, its database, its media in the instance folder', () => {
    const config = configAsWritten();
    expect(config.server_name).toBe('127.0.0.1:38448');
    expect(config.listen_addr).toBe('127.0.0.1:38448');
    expect(config.enable_tls).toBe(true);
    expect(config.db).toEqual({ url: 'postgres://postgres@127.0.0.1:5432/lazyjoin_palpo_w0', pool_size: 10 });
    expect(config.space_path).toBe(`${dir}/space`);
    // Palpo 0.0.2 reads its TLS pair from ./certs under its working directory, the instance folder.
    expect(config.tls).toEqual({ certs: `${dir}/certs/cert.pem`, key: `${dir}/certs/key.pem` });
    expect(config.allow_federation).toBe(true);
  });

  test('asks no key server, sends no presence, checks for no updates, makes no admin room', () => {
    const config = configAsWritten();
    expect(config.trusted_servers).toEqual([]);
    expect(config.query_trusted_key_servers_first_on_join).toBe(false);
    expect(config.only_query_trusted_key_servers).toBe(false);
    for (const key of ['allow_local_presence', 'allow_incoming_presence', 'allow_outgoing_presence']) expect(config[key], key).toBe(false);
    expect(config.allow_check_for_updates).toBe(false);
    expect(config.enable_admin_room).toBe(false);
  });

  test('registers users only with the token, and leaves display names as given', () => {
    const config = configAsWritten();
    expect(config.allow_registration).toBe(false);
    expect(config.registration_token).toBe('t0ken');
    expect(config.enable_lightning_bolt).toBe(false);
  });

  test('keeps the signing key it is given, so a restart keeps the server identity', () => {
    expect(configAsWritten().keypair).toEqual({ document: 'AAAA', version: 'a_1' });
  });

  test('logs compact lines at the chosen filter; a malformed filter is refused', () => {
    expect(configAsWritten()).toMatchObject({ rust_log: 'info', log_format: 'compact' });
    expect(configAsWritten({ logFilter: 'palpo=debug,warn' }).rust_log).toBe('palpo=debug,warn');
    expect(() => palpoConfig({ ...input, logFilter: 'info; rm -rf /' })).toThrow(
      new CandidateError('Palpo log filter "info; rm -rf /" is not a tracing filter such as info or palpo=debug,warn (from option or LAZYJOIN_PALPO_LOG)'),
    );
  });

  test('strings that need escaping survive the TOML writer', () => {
    const text = toToml({ a: 'quote " backslash \\ newline \n', list: ['x', 'y"'], t: { n: 1, b: false } });
    expect(parseToml(text)).toEqual({ a: 'quote " backslash \\ newline \n', list: ['x', 'y"'], t: { n: 1, b: false } });
  });

  test('instance files: TLS pair where Palpo looks, config readable by its owner only, a fresh key each time', () => {
    const files = palpoInstanceFiles({ ...input, tls: { certPem: 'CERT', keyPem: 'KEY' } });
    const byPath = Object.fromEntries(files.map((f) => [f.path, f]));
    expect(byPath[`${dir}/certs/cert.pem`]).toMatchObject({ content: 'CERT', mode: 0o644 });
    expect(byPath[`${dir}/certs/key.pem`]).toMatchObject({ content: 'KEY', mode: 0o600 });
    const config = byPath[`${dir}/palpo.toml`];
    expect(config.mode).toBe(0o600);
    const again = palpoInstanceFiles({ ...input, tls: { certPem: 'CERT', keyPem: 'KEY' } }).find((f) => f.path === config.path)!;
    expect(parseToml(config.content).keypair.document).not.toBe(parseToml(again.content).keypair.document);
  });

  test('the signing key is Ed25519 PKCS#8 DER that signs and verifies, with a key version Matrix allows', () => {
    const { document, version } = palpoKeypair();
    expect(version).toMatch(/^[a-zA-Z0-9_]+$/);
    const key = createPrivateKey({ key: Buffer.from(document, 'base64'), format: 'der', type: 'pkcs8' });
    expect(key.asymmetricKeyType).toBe('ed25519');
    const sig = sign(null, Buffer.from('x'), key);
    expect(verify(null, Buffer.from('x'), createPublicKey(key), sig)).toBe(true);
  });

  test('the process trusts the suite CA only, and no PALPO_* variable of the caller overrides the config', () => {
    const env = palpoEnv({ PATH: '/usr/bin', PALPO_SERVER_NAME: 'evil', SSL_CERT_FILE: '/etc/ssl/certs/ca-certificates.crt' }, '/run/palpo.toml', '/run/ca.crt', '/run/empty');
    expect(env).toEqual({ PATH: '/usr/bin', PALPO_CONFIG: '/run/palpo.toml', SSL_CERT_FILE: '/run/ca.crt', SSL_CERT_DIR: '/run/empty', RUST_BACKTRACE: '1' });
  });

  test('an admin is made by its users row, with the user ID quoted as an SQL string', () => {
    expect(makeAdminSql('@a:127.0.0.1:1')).toBe("UPDATE users SET is_admin = true WHERE id = '@a:127.0.0.1:1' RETURNING id");
    expect(makeAdminSql("@o'neil:x")).toContain("WHERE id = '@o''neil:x'");
  });
});

/**
 * A stand-in for cargo: `install palpo --version V --locked --root R` writes R/bin/palpo and cargo's
 * record R/.crates.toml (listing `recordedVersion`, default V), after counting its runs in `<dir>/cargo-runs`
 * and logging CARGO_TARGET_DIR.
 */
function fakeCargo(d: string, opts: { recordedVersion?: string; exitCode?: number } = {}): string {
  const path = join(d, 'fake-cargo');
  writeFileSync(
    path,
    `#!/bin/sh
echo run >> "${d}/cargo-runs"
echo "CARGO_TARGET_DIR=$CARGO_TARGET_DIR args=$*"
${opts.exitCode ? `echo "error: could not compile palpo (simulated)" >&2; exit ${opts.exitCode}` : ''}
version=$4; root=$7
mkdir -p "$root/bin"
printf '#!/bin/sh\\nexit 0\\n' > "$root/bin/palpo"; chmod +x "$root/bin/palpo"
printf '[v1]\\n"palpo %s (registry+https://github.com/rust-lang/crates.io-index)" = ["palpo"]\\n' "${opts.recordedVersion ?? '$version'}" > "$root/.crates.toml"
`,
  );
  chmodSync(path, 0o755);
  return path;
}

function cargoRuns(d: string): number {
  return existsSync(join(d, 'cargo-runs')) ? readFileSync(join(d, 'cargo-runs'), 'utf8').trim().split('\n').length : 0;
}

test.describe('Palpo version and install', () => {
  test('a crate version is accepted; anything else is refused with a one-line reason', () => {
    expect(checkPalpoVersion('0.0.2')).toBe('0.0.2');
    expect(checkPalpoVersion('0.1.0-alpha.1')).toBe('0.1.0-alpha.1');
    expect(() => checkPalpoVersion('v0.0.2')).toThrow(/"v0\.0\.2" is not a crate version of the form 0\.0\.2 \(did you mean 0\.0\.2\?\)/);
    for (const bad of ['latest', '0.0', '', '0.0.2;rm -rf /', 'main']) expect(() => checkPalpoVersion(bad)).toThrow(CandidateError);
  });

  test('a bad version or log filter fails when the driver is created, before anything is written', async () => {
    await withTempDir(async (d) => {
      const opts: PalpoDriverOptions = {
        instanceName: 'palpo-bad',
        workDir: join(d, 'work'),
        cacheDir: join(d, 'cache'),
        caCertPath: join(d, 'ca.crt'),
        issueCert: async () => ({ certPem: '', keyPem: '' }),
      };
      expect(() => createPalpo({ ...opts, version: 'latest' })).toThrow(
        new CandidateError('Palpo version "latest" is not a crate version of the form 0.0.2 (from option or LAZYJOIN_PALPO_VERSION)'),
      );
      expect(() => createPalpo({ ...opts, logFilter: 'a b' })).toThrow(/Palpo log filter "a b"/);
      expect(existsSync(join(d, 'cache'))).toBe(false);
      expect(existsSync(join(d, 'work'))).toBe(false);
    });
  });

  test('installs once into <cache>/palpo-<v>/root with the target folder cached, and records the build', async () => {
    await withTempDir(async (d) => {
      const cargo = fakeCargo(d);
      const cacheDir = join(d, 'cache');
      const paths = palpoInstallPaths(cacheDir, '0.0.2');
      expect(isPalpoInstalled(cacheDir, '0.0.2')).toBe(false);
      const first = await installPalpo({ cacheDir, version: '0.0.2', cargo });
      expect(first.palpo).toBe(join(cacheDir, 'palpo-0.0.2', 'root', 'bin', 'palpo'));
      expect(readFileSync(paths.log, 'utf8')).toContain(`CARGO_TARGET_DIR=${paths.target} args=install palpo --version 0.0.2 --locked --root ${paths.cargoRoot}`);
      const marker = readPalpoMarker(cacheDir, '0.0.2')!;
      expect(marker).toMatchObject({ crate: 'palpo', version: '0.0.2', binaryBytes: statSync(first.palpo).size });
      expect(marker.buildSeconds).toBeGreaterThanOrEqual(0);
      expect(isPalpoInstalled(cacheDir, '0.0.2')).toBe(true);
      await installPalpo({ cacheDir, version: '0.0.2', cargo });
      expect(cargoRuns(d)).toBe(1);
      // A binary gone from the root is rebuilt, even with the marker in place.
      rmSync(first.palpo);
      expect(isPalpoInstalled(cacheDir, '0.0.2')).toBe(false);
      await installPalpo({ cacheDir, version: '0.0.2', cargo });
      expect(cargoRuns(d)).toBe(2);
    });
  });

  test('a failed build or a root that does not hold the asked version ends with a one-line reason and the log tail, and no marker', async () => {
    await withTempDir(async (d) => {
      const cacheDir = join(d, 'cache');
      const failing = installPalpo({ cacheDir, version: '0.0.2', cargo: fakeCargo(d, { exitCode: 101 }) });
      await expect(failing).rejects.toThrow(/^palpo 0\.0\.2 install: `nice -n 10 .*fake-cargo install palpo --version 0\.0\.2 --locked --root .*` exited with code 101\n--- candidate log tail ---\n[^]*could not compile palpo/);
      expect(readPalpoMarker(cacheDir, '0.0.2')).toBeUndefined();
      const wrong = installPalpo({ cacheDir, version: '0.0.2', cargo: fakeCargo(d, { recordedVersion: '0.0.1' }) });
      await expect(wrong).rejects.toThrow(/cargo finished, but .* does not list palpo 0\.0\.2/);
      expect(isPalpoInstalled(cacheDir, '0.0.2')).toBe(false);
    });
  });

  test('a cargo that does not exist is named in the error', async () => {
    await withTempDir(async (d) => {
      await expect(installPalpo({ cacheDir: join(d, 'cache'), version: '0.0.2', cargo: join(d, 'no-such-cargo') })).rejects.toThrow(
        /^palpo 0\.0\.2 install: cargo ".*no-such-cargo" not found \(Palpo needs Rust >= 1\.85; set LAZYJOIN_CARGO\)$/,
      );
    });
  });
});

test.describe('TLS bridge', () => {
  test('carries plain HTTP to a TLS server whose certificate the suite CA signed, and closes with it', async () => {
    await withTempDir(async (d) => {
      const ca = await createSuiteCA(join(d, 'ca'));
      const { certPem, keyPem } = await issueServerCert(['127.0.0.1'], ca);
      const tlsServer = createHttpsServer({ cert: certPem, key: keyPem }, (req, res) => res.end(`over tls: ${req.method} ${req.url}`));
      const targetPort = await freePort();
      await new Promise<void>((resolve) => tlsServer.listen(targetPort, '127.0.0.1', resolve));
      const listenPort = await freePort();
      const bridge = await TlsBridge.open({ name: 'test bridge', listenPort, targetPort, ca: Buffer.from(ca.certPem) });
      try {
        const res = await request(`http://127.0.0.1:${listenPort}/_matrix/client/versions?x=1`);
        expect(await res.body.text()).toBe('over tls: GET /_matrix/client/versions?x=1');
        // A taken port is refused with a one-line reason.
        await expect(TlsBridge.open({ name: 'second bridge', listenPort, targetPort, ca: Buffer.from(ca.certPem) })).rejects.toThrow(
          new RegExp(`^second bridge: cannot listen on 127\\.0\\.0\\.1:${listenPort}: .*EADDRINUSE`),
        );
      } finally {
        await bridge.close();
        await bridge.close();
        await new Promise((resolve) => tlsServer.close(resolve));
      }
      await expect(request(`http://127.0.0.1:${listenPort}/`)).rejects.toThrow(/ECONNREFUSED/);
    });
  });

  test('refuses to carry anything to a server whose certificate the suite CA did not sign', async () => {
    await withTempDir(async (d) => {
      const ca = await createSuiteCA(join(d, 'ca'));
      const other = await createSuiteCA(join(d, 'other'));
      const { certPem, keyPem } = await issueServerCert(['127.0.0.1'], other);
      let reached = 0;
      const tlsServer = createHttpsServer({ cert: certPem, key: keyPem }, (_req, res) => {
        reached++;
        res.end('should not be reached');
      });
      tlsServer.on('tlsClientError', () => undefined);
      const targetPort = await freePort();
      await new Promise<void>((resolve) => tlsServer.listen(targetPort, '127.0.0.1', resolve));
      const listenPort = await freePort();
      const bridge = await TlsBridge.open({ name: 'test bridge', listenPort, targetPort, ca: Buffer.from(ca.certPem) });
      try {
        await expect(request(`http://127.0.0.1:${listenPort}/`, { headersTimeout: 5_000 })).rejects.toThrow(/other side closed|socket|ECONNRESET/i);
        expect(reached).toBe(0);
      } finally {
        await bridge.close();
        await new Promise((resolve) => tlsServer.close(resolve));
      }
    });
  });
});
