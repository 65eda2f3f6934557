import { test, expect } from '@playwright/test';
import { createServer } from 'node:https';
import { connect } from 'node:tls';
import { X509Certificate } from 'node:crypto';
import { issueServerCert, suiteCA } from '../../harness/remote/pki.ts';

test('a certificate issued for an IP address verifies against the suite CA over real TLS', async () => {
  const ca = suiteCA();
  const cert = await issueServerCert(['127.0.0.1']);
  expect(new X509Certificate(cert.certPem).checkIssued(new X509Certificate(ca.certPem))).toBe(true);
  const server = createServer({ cert: cert.certPem, key: cert.keyPem }, (_req, res) => res.end('ok'));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  try {
    const trusted = await new Promise<boolean>((resolve, reject) => {
      const s = connect({ host: '127.0.0.1', port, ca: ca.certPem }, () => { resolve(s.authorized); s.end(); });
      s.on('error', reject);
    });
    expect(trusted).toBe(true);
    // Control: without the suite CA the same certificate is not trusted.
    const untrusted = await new Promise<string>((resolve) => {
      const s = connect({ host: '127.0.0.1', port }, () => { resolve('connected'); s.end(); });
      s.on('error', (e) => resolve((e as NodeJS.ErrnoException).code ?? String(e)));
    });
    expect(untrusted).not.toBe('connected');
  } finally {
    server.close();
  }
});
