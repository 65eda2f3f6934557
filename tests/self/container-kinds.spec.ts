/**
 * Config kinds of the container driver: each describes an instance with paths inside the
 * container, the listeners on the requested address and ports, the suite CA as the only trust for
 * outbound federation, and one way to register users. No engine needed.
 */
import { expect, test } from '@playwright/test';
import { parse } from 'yaml';
import { appendFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { recipeHash, synapseImage } from '../../harness/candidates/container/images.ts';
import { CONTAINER_CA_PATH, CONTAINER_POSTGRES_HOST, containerKinds, tomlTable, type InstanceInput } from '../../harness/candidates/container/kinds.ts';
import type { PostgresDatabase } from '../../harness/candidates/postgres.ts';
import { synapsePostgresDatabaseConfig } from '../../harness/candidates/synapse/postgres.ts';

const input: InstanceInput = {
  serverName: '127.0.0.1:38448',
  clientPort: 38008,
  federationPort: 38448,
  tls: { certPem: 'CERT', keyPem: 'KEY' },
  registrationSecret: 'secret-1',
  bindAddress: '0.0.0.0',
};

function fileAt(files: { path: string; content: string }[], path: string): string {
  const file = files.find((f) => f.path === path);
  expect(file, `a file at ${path}`).toBeDefined();
  return file!.content;
}

test('synapse: the process driver config, with /data paths, the bind address and the suite CA', () => {
  const instance = containerKinds.synapse!.instance(input);
  expect(instance.command).toEqual(['-c', '/data/homeserver.yaml']);
  const config = parse(fileAt(instance.files, '/data/homeserver.yaml'));
  expect(config.server_name).toBe('127.0.0.1:38448');
  expect(config.federation_custom_ca_list).toEqual([CONTAINER_CA_PATH]);
  expect(config.registration_shared_secret).toBe('secret-1');
  expect(config.listeners.map((l: { port: number; bind_addresses: string[]; tls: boolean }) => [l.port, l.bind_addresses, l.tls])).toEqual([
    [38008, ['0.0.0.0'], false],
    [38448, ['0.0.0.0'], true],
  ]);
  for (const path of [config.tls_certificate_path, config.tls_private_key_path, config.signing_key_path, config.log_config]) {
    expect(instance.files.map((f) => f.path)).toContain(path);
  }
  expect(fileAt(instance.files, config.tls_private_key_path)).toBe('KEY');
  expect(instance.registration).toBe('shared-secret');
});

const database: PostgresDatabase = {
  name: 'synapse_container_w0',
  user: 'synapse_container_w0',
  password: 'pw-1',
  host: '/run/lazyjoin-pg',
  port: 45432,
  url: 'postgresql://synapse_container_w0@/synapse_container_w0?host=%2Frun%2Flazyjoin-pg&port=45432',
  tcpUrl: 'postgresql://synapse_container_w0:pw-1@127.0.0.1:45432/synapse_container_w0',
};

test('synapse: SQLite in /data by default; with a database, psycopg2 over loopback TCP with its password, not the host socket folder', () => {
  const databaseOf = (i: InstanceInput) => parse(fileAt(containerKinds.synapse!.instance(i).files, '/data/homeserver.yaml')).database;
  expect(databaseOf(input)).toEqual({ name: 'sqlite3', args: { database: '/data/homeserver.db' } });
  expect(databaseOf({ ...input, postgres: database })).toEqual({
    name: 'psycopg2',
    args: { user: 'synapse_container_w0', password: 'pw-1', database: 'synapse_container_w0', host: CONTAINER_POSTGRES_HOST, port: 45432, cp_min: 1, cp_max: 10 },
  });
  expect(CONTAINER_POSTGRES_HOST).toBe('127.0.0.1');
  // The process driver's section for the same database goes through the socket folder, which the
  // container does not see.
  expect(synapsePostgresDatabaseConfig(database)).toMatchObject({ args: { host: '/run/lazyjoin-pg' } });
  expect(containerKinds.synapse!.postgres).toBe(true);
  for (const name of ['dendrite', 'tuwunel', 'continuwuity']) expect(containerKinds[name]!.postgres, name).toBeFalsy();
});

test('synapse: a start that fails for want of psycopg2 is named, only then and only on PostgreSQL', () => {
  // Synapse 1.98's own words, and Python's import error.
  const missing = 'RuntimeError: Cannot create PostgresEngine -- psycopg2 module is not installed\n';
  const explain = (i: InstanceInput, log: string) => containerKinds.synapse!.instance(i).explainExit?.(log);
  for (const log of [missing, "ModuleNotFoundError: No module named 'psycopg2'\n"]) {
    expect(explain({ ...input, postgres: database }, log)).toMatch(/^the image has no psycopg2 \(Synapse's postgres extra\), so it cannot run on PostgreSQL: rebuild it with `npm run images -- synapse`/);
  }
  // Controls: another failure on PostgreSQL, and the same text on SQLite, are left to the log tail.
  expect(explain({ ...input, postgres: database }, 'psycopg2.OperationalError: connection refused\n')).toBeUndefined();
  expect(explain(input, missing)).toBeUndefined();
});

test('synapse: the image tag names the version and a hash of the recipe, which any change to the recipe changes', () => {
  const def = synapseImage('1.98.0');
  const hash = recipeHash(def.context, def.containerfile, def.files);
  expect(def.tag).toBe(`localhost/lazyjoin-synapse:1.98.0-${hash}`);
  expect(hash).toMatch(/^[0-9a-f]{8}$/);
  expect(def.files).toContain('harness/candidates/synapse/constraints-1.98.txt');
  const scratch = mkdtempSync(join(tmpdir(), 'lazyjoin-recipe-'));
  try {
    for (const file of [def.containerfile, ...def.files]) {
      mkdirSync(dirname(join(scratch, file)), { recursive: true });
      writeFileSync(join(scratch, file), readFileSync(join(def.context, file)));
    }
    expect(recipeHash(scratch, def.containerfile, def.files), 'a copy of the recipe').toBe(hash);
    appendFileSync(join(scratch, def.containerfile), 'RUN true\n');
    expect(recipeHash(scratch, def.containerfile, def.files), 'a changed Containerfile').not.toBe(hash);
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
  // The Containerfile installs the postgres extra and proves psycopg2 imports.
  const recipe = readFileSync(join(def.context, def.containerfile), 'utf8');
  expect(recipe).toContain('matrix-synapse[postgres]==${SYNAPSE_VERSION}');
  expect(recipe).toMatch(/python -c "import [^"]*psycopg2/);
});

test('synapse: the log level comes from LAZYJOIN_SYNAPSE_LOG_LEVEL, as for the process driver', () => {
  const rootLevel = () => parse(fileAt(containerKinds.synapse!.instance(input).files, '/data/log.config.yaml')).root.level;
  const saved = process.env.LAZYJOIN_SYNAPSE_LOG_LEVEL;
  try {
    delete process.env.LAZYJOIN_SYNAPSE_LOG_LEVEL;
    expect(rootLevel()).toBe('INFO');
    process.env.LAZYJOIN_SYNAPSE_LOG_LEVEL = 'debug';
    expect(rootLevel()).toBe('DEBUG');
    process.env.LAZYJOIN_SYNAPSE_LOG_LEVEL = 'verbose';
    expect(rootLevel).toThrow('Synapse log level "verbose" is not one of DEBUG, INFO, WARNING, ERROR (from option or LAZYJOIN_SYNAPSE_LOG_LEVEL)');
  } finally {
    if (saved === undefined) delete process.env.LAZYJOIN_SYNAPSE_LOG_LEVEL;
    else process.env.LAZYJOIN_SYNAPSE_LOG_LEVEL = saved;
  }
});

test('dendrite: listeners and TLS on the command line, the suite CA as the only root', () => {
  const instance = containerKinds.dendrite!.instance(input);
  expect(instance.command).toEqual(expect.arrayContaining(['--http-bind-address', '0.0.0.0:38008', '--https-bind-address', '0.0.0.0:38448']));
  const config = parse(fileAt(instance.files, '/data/dendrite.yaml'));
  expect(config.global.server_name).toBe('127.0.0.1:38448');
  expect(config.client_api.registration_shared_secret).toBe('secret-1');
  expect(instance.environment.SSL_CERT_FILE).toBe(CONTAINER_CA_PATH);
  // The roots folder exists (a placeholder file in it) and holds no certificate.
  expect(fileAt(instance.files, `${instance.environment.SSL_CERT_DIR}/.empty`)).toBe('');
});

for (const name of ['tuwunel', 'continuwuity'] as const) {
  test(`${name}: one TOML with both ports, TLS on both, loopback allowed, token registration`, () => {
    const instance = containerKinds[name]!.instance(input);
    const configPath = `/data/${name}.toml`;
    expect(instance.environment).toEqual({ [name === 'tuwunel' ? 'TUWUNEL_CONFIG' : 'CONTINUWUITY_CONFIG']: configPath, SSL_CERT_FILE: CONTAINER_CA_PATH });
    const toml = fileAt(instance.files, configPath);
    for (const line of [
      '[global]',
      'server_name = "127.0.0.1:38448"',
      'address = ["0.0.0.0"]',
      'port = [38008, 38448]',
      'registration_token = "secret-1"',
      'trusted_servers = []',
      'ip_range_denylist = []',
      '[global.tls]',
      'certs = "/data/federation.crt"',
      'dual_protocol = true',
    ]) {
      expect(toml.split('\n')).toContain(line);
    }
    expect(instance.registration).toBe('token');
  });
}

test('TOML values: strings escaped, arrays of strings and numbers', () => {
  expect(tomlTable('t', { a: 'say "hi", \\ ok', b: [1, 2], c: ['x,y'], d: false })).toBe(
    '[t]\na = "say \\"hi\\", \\\\ ok"\nb = [1, 2]\nc = ["x,y"]\nd = false\n',
  );
});
