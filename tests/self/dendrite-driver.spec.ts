/**
 * The Dendrite driver's own tests: configuration, command line, environment, signing key, version
 * and install errors. None of them installs or starts Dendrite; the shared smoke tests (project
 * `dendrite`) run the real server.
 */
import { test, expect } from '@playwright/test';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { parse, stringify } from 'yaml';
import { createDendrite, type DendriteDriverOptions } from '../../harness/candidates/dendrite/index.ts';
import {
  DENDRITE_DATABASES,
  dendriteArgs,
  dendriteConfig,
  dendriteEnv,
  dendriteSigningKeyPem,
} from '../../harness/candidates/dendrite/config.ts';
import {
  checkDendriteVersion,
  dendriteInstallPaths,
  goInstallEnv,
  installDendrite,
  isDendriteInstalled,
} from '../../harness/candidates/dendrite/install.ts';
import { CandidateError } from '../../harness/candidates/types.ts';

const workDir = '/run/lazyjoin/dendrite-w0';
const input = {
  serverName: '127.0.0.1:38448',
  workDir,
  signingKeyPath: `${workDir}/matrix_key.pem`,
  registrationSharedSecret: 's3cret',
};

/** Parsed YAML: deliberately loose, the tests read it like Dendrite does. */
type Section = Record<string, any>;

/** The config as Dendrite reads it: through YAML. */
function configAsWritten(overrides: Partial<Parameters<typeof dendriteConfig>[0]> = {}): Section {
  return parse(stringify(dendriteConfig({ ...input, ...overrides }))) as Section;
}

/**
 * A stand-in for the Go toolchain: `install <module>/cmd/<name>@<tag>...` writes, into GOBIN, a
 * script per command that prints `reportedVersion` (default: the tag without its `v`), after
 * logging the build environment and counting its own runs in `<dir>/go-runs`.
 */
function fakeGo(dir: string, opts: { reportedVersion?: string; exitCode?: number } = {}): string {
  const path = join(dir, 'fake-go');
  writeFileSync(
    path,
    `#!/bin/sh
echo run >> "${dir}/go-runs"
echo "CGO_ENABLED=$CGO_ENABLED GOTOOLCHAIN=$GOTOOLCHAIN GOMODCACHE=$GOMODCACHE"
${opts.exitCode ? `echo "go: simulated build failure" >&2; exit ${opts.exitCode}` : ''}
mkdir -p "$GOBIN"
shift
for target in "$@"; do
  name=\${target%@*}; name=\${name##*/}; tag=\${target##*@}
  printf '#!/bin/sh\necho %s\n' "${opts.reportedVersion ?? '${tag#v}'}" > "$GOBIN/$name"
  chmod +x "$GOBIN/$name"
done
`,
  );
  chmodSync(path, 0o755);
  return path;
}

function goRuns(dir: string): number {
  return existsSync(join(dir, 'go-runs')) ? readFileSync(join(dir, 'go-runs'), 'utf8').trim().split('\n').length : 0;
}

function withTempDir<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = mkdtempSync(join(tmpdir(), 'lazyjoin-dendrite-'));
  return fn(dir).finally(() => rmSync(dir, { recursive: true, force: true }));
}

test.describe('Dendrite config', () => {
  test('names the server and keeps every SQLite database, distinct, in the instance folder', () => {
    const config = configAsWritten();
    expect(config.version).toBe(2);
    expect(config.global.server_name).toBe('127.0.0.1:38448');
    expect(config.global.private_key).toBe(`${workDir}/matrix_key.pem`);
    const paths = Object.keys(DENDRITE_DATABASES).map((section) => {
      const block = section === 'user_api' ? config[section].account_database : config[section].database;
      return block.connection_string as string;
    });
    expect(paths).toHaveLength(8);
    for (const uri of paths) expect(uri).toMatch(new RegExp(`^file:${workDir}/dendrite_[a-z]+\\.db$`));
    expect(new Set(paths).size).toBe(paths.length);
    // With SQLite a global connection string would be wrong: each component opens its own file.
    expect(config.global.database).toBeUndefined();
  });

  test('keeps JetStream in the instance folder, on disk unless asked for memory', () => {
    const onDisk = configAsWritten();
    expect(onDisk.global.jetstream).toMatchObject({ storage_path: `${workDir}/jetstream`, in_memory: false });
    expect(configAsWritten({ jetstreamInMemory: true }).global.jetstream.in_memory).toBe(true);
    expect(onDisk.media_api.base_path).toBe(`${workDir}/media`);
  });

  test('verifies remote certificates, asks no key server, and does not rate-limit', () => {
    const config = configAsWritten();
    expect(config.federation_api.disable_tls_validation).toBe(false);
    expect(config.federation_api.key_perspectives).toEqual([]);
    expect(config.client_api.rate_limiting.enabled).toBe(false);
    expect(config.global.trusted_third_party_id_servers).toEqual([]);
  });

  test('registers users only through the shared secret, with cheap hashing', () => {
    const config = configAsWritten();
    expect(config.client_api.registration_shared_secret).toBe('s3cret');
    expect(config.client_api.registration_disabled).toBe(true);
    expect(config.client_api.guests_disabled).toBe(true);
    expect(config.user_api.bcrypt_cost).toBe(4);
  });

  test('logs to stdout/stderr at the chosen level; an unknown level is refused', () => {
    expect(configAsWritten().logging).toEqual([{ type: 'std', level: 'info' }]);
    expect(configAsWritten({ logLevel: 'trace' }).logging[0].level).toBe('trace');
    expect(() => dendriteConfig({ ...input, logLevel: 'loud' })).toThrow(
      'Dendrite log level "loud" is not one of trace, debug, info, warn, error (from option or LAZYJOIN_DENDRITE_LOG_LEVEL)',
    );
  });
});

test.describe('Dendrite process', () => {
  test('listens on loopback only: plain HTTP for clients, TLS with the given files for federation', () => {
    const args = dendriteArgs({
      configPath: `${workDir}/dendrite.yaml`,
      clientPort: 38008,
      federationPort: 38448,
      tlsCertPath: `${workDir}/federation.crt`,
      tlsKeyPath: `${workDir}/federation.key`,
    });
    const flag = (name: string) => args[args.indexOf(name) + 1];
    expect(flag('--config')).toBe(`${workDir}/dendrite.yaml`);
    expect(flag('--http-bind-address')).toBe('127.0.0.1:38008');
    expect(flag('--https-bind-address')).toBe('127.0.0.1:38448');
    expect(flag('--tls-cert')).toBe(`${workDir}/federation.crt`);
    expect(flag('--tls-key')).toBe(`${workDir}/federation.key`);
    expect(args).not.toContain('--really-enable-open-registration');
  });

  test('trusts the suite CA as its only root for outbound TLS, keeping the rest of the environment', () => {
    const env = dendriteEnv({ PATH: '/usr/bin', SSL_CERT_FILE: '/etc/ssl/certs/ca-certificates.crt', SSL_CERT_DIR: '/etc/ssl/certs' }, '/run/ca.crt', '/run/empty');
    expect(env).toEqual({ PATH: '/usr/bin', SSL_CERT_FILE: '/run/ca.crt', SSL_CERT_DIR: '/run/empty' });
  });

  test('signing key is a MATRIX PRIVATE KEY block with a Key-ID and a fresh 32-byte seed', () => {
    const pem = dendriteSigningKeyPem('ed25519:a_1');
    const match = /^-----BEGIN MATRIX PRIVATE KEY-----\nKey-ID: (.+)\n\n(.+)\n-----END MATRIX PRIVATE KEY-----\n$/.exec(pem);
    expect(match, pem).not.toBeNull();
    expect(match![1]).toBe('ed25519:a_1');
    expect(Buffer.from(match![2], 'base64')).toHaveLength(32);
    expect(dendriteSigningKeyPem()).toMatch(/Key-ID: ed25519:[a-zA-Z0-9_]+\n/);
    expect(dendriteSigningKeyPem().split('\n')[3]).not.toBe(dendriteSigningKeyPem().split('\n')[3]);
    expect(() => dendriteSigningKeyPem('ed25519:has-dash')).toThrow(/letters, digits or _/);
  });
});

test.describe('Dendrite version and install', () => {
  test('a release tag is accepted; anything else is refused with a one-line reason', () => {
    expect(checkDendriteVersion('v0.13.8')).toBe('v0.13.8');
    expect(checkDendriteVersion('v0.13.8-rc1')).toBe('v0.13.8-rc1');
    expect(() => checkDendriteVersion('0.13.8')).toThrow(/"0\.13\.8" is not a release tag of the form v0\.13\.8 \(did you mean v0\.13\.8\?\)/);
    for (const bad of ['latest', 'v0.13', '', 'v0.13.8;rm -rf /', 'main']) {
      expect(() => checkDendriteVersion(bad)).toThrow(CandidateError);
    }
  });

  test('a bad version or log level fails when the driver is created, naming where it came from', async () => {
    await withTempDir(async (dir) => {
      const opts: DendriteDriverOptions = {
        instanceName: 'dendrite-bad',
        workDir: join(dir, 'work'),
        cacheDir: join(dir, 'cache'),
        caCertPath: join(dir, 'ca.crt'),
        issueCert: async () => ({ certPem: '', keyPem: '' }),
      };
      expect(() => createDendrite({ ...opts, version: 'latest' })).toThrow(
        new CandidateError('Dendrite version "latest" is not a release tag of the form v0.13.8 (from option or LAZYJOIN_DENDRITE_VERSION)'),
      );
      expect(() => createDendrite({ ...opts, logLevel: 'verbose' })).toThrow(
        new CandidateError('Dendrite log level "verbose" is not one of trace, debug, info, warn, error (from option or LAZYJOIN_DENDRITE_LOG_LEVEL)'),
      );
      expect(() => createDendrite({ ...opts, version: 'latest' })).toThrow(CandidateError);
      // Nothing was installed for either.
      expect(existsSync(join(dir, 'cache'))).toBe(false);
    });
  });

  test('before start the driver has no ports and says so', async () => {
    await withTempDir(async (dir) => {
      const candidate = createDendrite({
        instanceName: 'dendrite-idle',
        workDir: join(dir, 'work'),
        cacheDir: join(dir, 'cache'),
        caCertPath: join(dir, 'ca.crt'),
        issueCert: async () => ({ certPem: '', keyPem: '' }),
      });
      expect(candidate.info).toEqual({ name: 'dendrite', implementation: 'dendrite', version: process.env.LAZYJOIN_DENDRITE_VERSION ?? 'v0.13.8', driver: 'process' });
      expect(() => candidate.serverName).toThrow(/dendrite-idle: not started yet/);
      expect(candidate.logTail()).toBe('');
      await expect(candidate.registerUser()).rejects.toThrow(/dendrite-idle: registerUser called while not running/);
      await candidate.teardown();
    });
  });

  test('a missing Go toolchain is a clear error, and leaves no install marker', async () => {
    await withTempDir(async (dir) => {
      const go = join(dir, 'no-such-go');
      await expect(installDendrite({ cacheDir: dir, version: 'v0.13.8', go })).rejects.toThrow(
        `dendrite v0.13.8 install: Go toolchain "${go}" not found (Dendrite needs Go >= 1.21; set LAZYJOIN_GO)`,
      );
      expect(isDendriteInstalled(dir, 'v0.13.8')).toBe(false);
      expect(existsSync(dendriteInstallPaths(dir, 'v0.13.8').marker)).toBe(false);
    });
  });

  test('the build is pure Go, uses the local toolchain, and keeps its caches in the install folder', () => {
    const paths = dendriteInstallPaths('/cache', 'v0.13.8');
    expect(paths.binDir).toBe('/cache/dendrite-v0.13.8/bin');
    const env = goInstallEnv({ PATH: '/usr/bin', GOFLAGS: '-mod=vendor' }, paths.binDir, paths.goDir);
    expect(env).toMatchObject({ PATH: '/usr/bin', CGO_ENABLED: '0', GOTOOLCHAIN: 'local', GOBIN: paths.binDir, GOWORK: 'off' });
    for (const key of ['GOPATH', 'GOMODCACHE', 'GOCACHE'] as const) {
      expect(env[key]!.startsWith(paths.goDir), key).toBe(true);
    }
    expect(dirname(paths.goDir)).toBe(paths.root);
    // The user's GOFLAGS (here one that would break `go install pkg@version`) is replaced.
    expect(env.GOFLAGS).toBe('-modcacherw -buildvcs=false');
  });

  test('an install builds once, marks itself done, and two at once share one build', async () => {
    await withTempDir(async (dir) => {
      const go = fakeGo(dir);
      const [first, second] = await Promise.all([
        installDendrite({ cacheDir: dir, version: 'v0.13.8', go }),
        installDendrite({ cacheDir: dir, version: 'v0.13.8', go }),
      ]);
      expect(goRuns(dir)).toBe(1);
      expect(first).toEqual(second);
      expect(first.dendrite).toBe(join(dir, 'dendrite-v0.13.8', 'bin', 'dendrite'));
      expect(isDendriteInstalled(dir, 'v0.13.8')).toBe(true);
      const log = readFileSync(dendriteInstallPaths(dir, 'v0.13.8').log, 'utf8');
      expect(log).toContain(`CGO_ENABLED=0 GOTOOLCHAIN=local GOMODCACHE=${join(dir, 'dendrite-v0.13.8', 'go', 'mod')}`);
      // Cached: no second build.
      await installDendrite({ cacheDir: dir, version: 'v0.13.8', go });
      expect(goRuns(dir)).toBe(1);
    });
  });

  test('a failed build is a one-line error with the build log tail, and is retried next time', async () => {
    await withTempDir(async (dir) => {
      const failing = fakeGo(dir, { exitCode: 1 });
      const error = await installDendrite({ cacheDir: dir, version: 'v0.13.8', go: failing }).catch((err: Error) => err);
      expect(error).toBeInstanceOf(CandidateError);
      const [headline, ...rest] = (error as Error).message.split('\n');
      expect(headline).toMatch(/^dendrite v0\.13\.8 install: `.*fake-go install github\.com\/matrix-org\/dendrite\/cmd\/dendrite@v0\.13\.8 .*` exited with code 1$/);
      expect(rest.join('\n')).toContain('go: simulated build failure');
      expect(isDendriteInstalled(dir, 'v0.13.8')).toBe(false);
      await installDendrite({ cacheDir: dir, version: 'v0.13.8', go: fakeGo(dir) });
      expect(isDendriteInstalled(dir, 'v0.13.8')).toBe(true);
    });
  });

  test('a build whose binary reports another version is refused', async () => {
    await withTempDir(async (dir) => {
      const go = fakeGo(dir, { reportedVersion: '0.13.7' });
      await expect(installDendrite({ cacheDir: dir, version: 'v0.13.8', go })).rejects.toThrow(
        'dendrite v0.13.8 install: built, but `dendrite --version` says 0.13.7, expected v0.13.8',
      );
      expect(isDendriteInstalled(dir, 'v0.13.8')).toBe(false);
    });
  });
});
