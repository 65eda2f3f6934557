/**
 * A deferred candidate loads its driver on first start only, and until then says plainly that it
 * has not started instead of answering with made-up addresses.
 */
import { expect, test } from '@playwright/test';
import { deferred } from '../../harness/candidates/deferred.ts';
import type { Candidate, DriverOptions } from '../../harness/candidates/types.ts';

const options: DriverOptions = {
  instanceName: 'fake-w0',
  workDir: '/nonexistent',
  cacheDir: '/nonexistent',
  caCertPath: '/nonexistent/ca.crt',
  issueCert: async () => ({ certPem: '', keyPem: '' }),
};

function fakeCandidate(opts: DriverOptions, calls: string[]): Candidate {
  return {
    info: { name: 'fake', implementation: 'fake', version: '1.0', driver: 'fake-driver' },
    capabilities: { restart: true, admin: false },
    serverName: '127.0.0.1:1',
    clientUrl: 'http://127.0.0.1:2',
    federationUrl: 'https://127.0.0.1:1',
    start: async () => void calls.push(`start ${opts.instanceName}`),
    stop: async () => void calls.push('stop'),
    restart: async () => void calls.push('restart'),
    teardown: async () => void calls.push('teardown'),
    registerUser: async (localpart) => ({ userId: `@${localpart}:127.0.0.1:1`, accessToken: 't', deviceId: 'D' }),
    unexpectedExit: async () => ({ code: 3, signal: null }),
    logTail: () => 'log',
  };
}

test('nothing is loaded before start; then everything is the loaded driver', async () => {
  const calls: string[] = [];
  let loads = 0;
  const factory = deferred('fake', 'container', async () => {
    loads += 1;
    return (opts) => fakeCandidate(opts, calls);
  });
  const candidate = factory(options);
  expect(loads).toBe(0);
  expect(candidate.info).toEqual({ name: 'fake', implementation: 'unknown', version: 'unknown', driver: 'container' });
  expect(() => candidate.serverName).toThrow('fake: serverName needs the candidate started first');
  await expect(candidate.registerUser('a')).rejects.toThrow('fake: registerUser needs the candidate started first');
  expect(candidate.logTail()).toBe('');
  expect(await candidate.unexpectedExit()).toBeUndefined();
  await candidate.teardown(); // nothing to tear down yet, and no load for it

  await candidate.start();
  await candidate.start();
  expect(loads).toBe(1);
  expect(candidate.info).toEqual({ name: 'fake', implementation: 'fake', version: '1.0', driver: 'fake-driver' });
  expect([candidate.serverName, candidate.clientUrl, candidate.capabilities.restart]).toEqual(['127.0.0.1:1', 'http://127.0.0.1:2', true]);
  expect((await candidate.registerUser('bob')).userId).toBe('@bob:127.0.0.1:1');
  expect(await candidate.unexpectedExit()).toEqual({ code: 3, signal: null });
  await candidate.restart();
  await candidate.teardown();
  expect(calls).toEqual(['start fake-w0', 'start fake-w0', 'restart', 'teardown']);
});

test('a driver that fails to load fails start with its reason', async () => {
  const candidate = deferred('fake', 'container', async () => {
    throw new Error('cannot load the container drivers: testcontainers missing');
  })(options);
  await expect(candidate.start()).rejects.toThrow('cannot load the container drivers: testcontainers missing');
});
