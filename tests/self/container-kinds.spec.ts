/**
 * Config kinds of the container driver: each describes an instance with paths inside the
 * container, the listeners on the requested address and ports, the suite CA as the only trust for
 * outbound federation, and one way to register users. No engine needed.
 */
import { expect, test } from '@playwright/test';
import { parse } from 'yaml';
import { CONTAINER_CA_PATH, containerKinds, tomlTable, type InstanceInput } from '../../harness/candidates/container/kinds.ts';

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
