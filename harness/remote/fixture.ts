/**
 * Playwright fixtures for remotes: `makeRemote()` starts as many as a test needs, `remote` is one
 * ready-made. All are closed at teardown; when a test fails, each remote's request log is
 * attached to it.
 */
import { test } from '@playwright/test';
import { startRemote, type Remote, type RemoteOptions } from './remote.ts';

export interface RemoteFixtures {
  makeRemote: (opts?: RemoteOptions) => Promise<Remote>;
  remote: Remote;
}

export const remoteTest = test.extend<RemoteFixtures>({
  makeRemote: async ({}, use, testInfo) => {
    const started: Remote[] = [];
    await use(async (opts) => {
      const remote = await startRemote(opts);
      started.push(remote);
      return remote;
    });
    if (testInfo.status !== testInfo.expectedStatus && started.length > 0) {
      // One attachment, named as the compliance reporter expects, holding every remote's log.
      const body = started.map((r) => `=== requests to remote ${r.serverName}\n${r.formatLog()}`).join('\n\n');
      await testInfo.attach('remote-requests', { body, contentType: 'text/plain' });
    }
    await Promise.all(started.map((r) => r.close()));
  },
  remote: async ({ makeRemote }, use) => {
    await use(await makeRemote());
  },
});
