/**
 * The client-server API client against a scripted in-process server: what it sends, and what its
 * errors say when a call fails or a sync wait runs out.
 */
import { expect, test } from '@playwright/test';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { CandidateClient, ClientApiError } from '../../harness/client/client.ts';
import { lazyLoadMembersFilter } from '../../harness/client/types.ts';

interface Seen {
  method: string;
  url: URL;
  authorization?: string;
  body: string;
}

/** A server that records each request and answers with `answer(request)`. */
async function scriptedServer(answer: (req: Seen) => { status: number; body: unknown }) {
  const seen: Seen[] = [];
  const server: Server = createServer((req: IncomingMessage, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      const request = { method: req.method!, url: new URL(req.url!, 'http://x'), authorization: req.headers.authorization, body };
      seen.push(request);
      const { status, body: out } = answer(request);
      res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(out));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { url, seen, close: () => new Promise((resolve) => server.close(resolve)) };
}

const alice = { userId: '@alice:hs', accessToken: 'token-a', deviceId: 'DEV' };

test('a call sends the token, encodes path and query, and keeps non-2xx answers', async () => {
  const server = await scriptedServer(() => ({ status: 403, body: { errcode: 'M_FORBIDDEN', error: 'not in room' } }));
  try {
    const client = new CandidateClient(server.url, alice);
    const result = await client.join('#room:hs:8448', { via: ['a:1', 'b:2'] });
    const request = server.seen[0]!;
    expect(request.method).toBe('POST');
    expect(request.url.pathname).toBe('/_matrix/client/v3/join/%23room%3Ahs%3A8448');
    expect(request.url.searchParams.getAll('server_name')).toEqual(['a:1', 'b:2']);
    expect(request.url.searchParams.getAll('via')).toEqual(['a:1', 'b:2']);
    expect(request.authorization).toBe('Bearer token-a');
    expect([result.status, result.errcode]).toEqual([403, 'M_FORBIDDEN']);
    expect(() => result.ok()).toThrow(new ClientApiError('POST', '/_matrix/client/v3/join/%23room%3Ahs%3A8448', 403, result.body));
    expect(() => result.ok()).toThrow('POST /_matrix/client/v3/join/%23room%3Ahs%3A8448 -> 403 M_FORBIDDEN: not in room');
  } finally {
    await server.close();
  }
});

test('waitForSync long-polls from next_batch and returns the body that satisfies the predicate', async () => {
  let batch = 0;
  const server = await scriptedServer(() => {
    batch += 1;
    return { status: 200, body: { next_batch: `b${batch}`, account_data: { events: batch === 3 ? [{ type: 'ready' }] : [] } } };
  });
  try {
    const client = new CandidateClient(server.url, alice);
    const sync = await client.waitForSync((s) => (s.account_data?.events.length ?? 0) > 0, {
      timeoutMs: 20_000,
      description: 'the ready marker',
      filter: lazyLoadMembersFilter(),
    });
    expect(sync.next_batch).toBe('b3');
    // Each long poll asks for at most 5 s, so that the overall bound is kept.
    const params = server.seen.map((r) => [r.url.searchParams.get('since'), r.url.searchParams.get('timeout')]);
    expect(params).toEqual([
      [null, '0'],
      ['b1', '5000'],
      ['b2', '5000'],
    ]);
    expect(JSON.parse(server.seen[0]!.url.searchParams.get('filter')!)).toEqual(lazyLoadMembersFilter());
  } finally {
    await server.close();
  }
});

test('waitForSync that runs out says what it awaited and shows the last body, trimmed', async () => {
  const server = await scriptedServer(() => ({ status: 200, body: { next_batch: 'same', padding: 'x'.repeat(5_000) } }));
  try {
    const client = new CandidateClient(server.url, alice);
    const started = Date.now();
    const err = await client
      .waitForSync(() => false, { timeoutMs: 300, description: "bob's join in !room" })
      .then(
        () => undefined,
        (e: Error) => e,
      );
    expect(Date.now() - started, 'the bound is kept').toBeLessThan(3_000);
    expect(err?.message).toMatch(/^waitForSync \(@alice:hs\): timed out after 300 ms waiting for bob's join in !room; last sync body: \{"next_batch":"same","padding":"x+… \(\d+ chars\)$/);
    expect(err!.message.length).toBeLessThan(2_300);
  } finally {
    await server.close();
  }
});

test('waitForSync stops at once on an error answer', async () => {
  const server = await scriptedServer(() => ({ status: 401, body: { errcode: 'M_UNKNOWN_TOKEN', error: 'gone' } }));
  try {
    const client = new CandidateClient(server.url, alice);
    await expect(client.waitForSync(() => true, { timeoutMs: 5_000, description: 'anything' })).rejects.toThrow(
      'GET /_matrix/client/v3/sync -> 401 M_UNKNOWN_TOKEN: gone',
    );
    expect(server.seen).toHaveLength(1);
  } finally {
    await server.close();
  }
});
