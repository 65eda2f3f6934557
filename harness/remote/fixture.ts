/**
 * Playwright fixtures for remotes: `makeRemote()` starts as many as a test needs, `remote` is one
 * ready-made. All are closed at teardown; when a test fails, each remote's request log is
 * attached to it.
 */
import { test } from '@playwright/test';
import { startRemote, type Remote, type RemoteOptions } from './remote.ts';
import { profileAnnotation } from '../checks/annotations.ts';

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
    // The candidate asked a remote for partial state: it opted into the partial-state profile.
    const asked = started.flatMap((r) => r.requests('send_join')).find((r) => r.query.omit_members === 'true' || r.query['org.matrix.msc3706.partial_state'] === 'true');
    if (asked) testInfo.annotations.push(profileAnnotation({ profile: 'partial-state', requested: true, observed: { request: `${asked.method} ${asked.path}`, query: asked.query } }));
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
