/**
 * The remote's HTTPS plumbing: opening and closing a loopback listener with a fresh key and
 * certificate, reading request bodies, writing chunked answers, and the body rewrites a fault
 * applies (corrupted signatures).
 */
import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { generateSigningKey } from '../matrix/index.ts';
import { allocateLoopbackAddress, uniqueKeyId } from './identity.ts';
import { issueServerCert } from './pki.ts';
import { explainRefusedRemoteCertificate } from './tls-trust.ts';
import type { HostedServer } from './routing.ts';
import type { BystanderMode } from './remote-types.ts';

/** Largest request body accepted (a transaction of 50 PDUs is far smaller). */
const MAX_BODY_BYTES = 32 * 1024 * 1024;

export interface HostedListener {
  hosted: HostedServer;
  mode: BystanderMode;
  server: Server;
  address: string;
  port: number;
  /** Handshakes a connecting server broke off, refusing this listener's certificate. */
  tlsRefusals: TlsRefusal[];
  /** Called on each refusal (see `Remote.nextTlsRefusal`). */
  onTlsRefusal: Set<(refusal: TlsRefusal) => void>;
}

/** A connecting server refused a remote's certificate (it does not trust the suite CA). */
export interface TlsRefusal {
  at: number;
  /** `address:port` of the connecting side. */
  peer: string;
  /** The alert, e.g. `tlsv1 alert unknown ca`. */
  message: string;
}

export function corruptSignatures(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(corruptSignatures);
  if (typeof value !== 'object' || value === null) return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    if (k === 'signatures' && typeof v === 'object' && v !== null) {
      out[k] = Object.fromEntries(
        Object.entries(v as Record<string, Record<string, string>>).map(([server, sigs]) => [
          server,
          // Same length, different bytes: flips the first character of each signature.
          Object.fromEntries(Object.entries(sigs).map(([keyId, sig]) => [keyId, (sig[0] === 'A' ? 'B' : 'A') + sig.slice(1)])),
        ]),
      );
    } else out[k] = corruptSignatures(v);
  }
  return out;
}

export function safeParse(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/**
 * Writes a chunked answer piece by piece: waits for the socket to drain when it is full, and
 * otherwise lets the event loop run between pieces (other listeners' key requests above all).
 * Returns the first `keepChars` characters (for the request log), the length in characters and
 * the bytes written; stops early if the peer goes away. An async iterable paces the body itself
 * (a body dribbled out slowly, for tests of a joiner's read bounds).
 */
export async function writeChunks(res: ServerResponse, chunks: Iterable<string> | AsyncIterable<string>, keepChars: number): Promise<{ head: string; chars: number; bytes: number }> {
  let head = '';
  let chars = 0;
  let bytes = 0;
  for await (const chunk of chunks) {
    if (res.destroyed) break;
    if (head.length < keepChars) head += chunk.slice(0, keepChars - head.length);
    chars += chunk.length;
    bytes += Buffer.byteLength(chunk);
    if (!res.write(chunk)) {
      await new Promise<void>((resolve) => {
        const done = () => {
          res.off('drain', done);
          res.off('close', done);
          resolve();
        };
        res.on('drain', done);
        res.on('close', done);
      });
    } else {
      await new Promise((resolve) => setImmediate(resolve));
    }
  }
  if (!res.destroyed) res.end();
  return { head, chars, bytes };
}

export function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        reject(new Error(`request body over ${MAX_BODY_BYTES} bytes`));
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

export function closeListener(listener: HostedListener): Promise<void> {
  if (!listener.server.listening) return Promise.resolve();
  return new Promise<void>((resolve) => {
    listener.server.close(() => resolve());
    listener.server.closeAllConnections();
  });
}

/** Opens an HTTPS listener on a fresh loopback address with a fresh key; its server name is `<address>:<port>`. */
export async function openListener(
  mode: BystanderMode,
  handler: (listener: HostedListener, req: IncomingMessage, res: ServerResponse) => Promise<void>,
): Promise<HostedListener> {
  const address = allocateLoopbackAddress();
  const cert = await issueServerCert([address]);
  const server = createServer({ cert: cert.certPem, key: cert.keyPem });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err) => reject(new Error(`cannot listen on ${address}: ${err.message}`)));
    server.listen(0, address, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const listener: HostedListener = {
    hosted: { serverName: `${address}:${port}`, key: generateSigningKey(uniqueKeyId()) },
    mode,
    server,
    address,
    port,
    tlsRefusals: [],
    onTlsRefusal: new Set(),
  };
  server.on('tlsClientError', (err, socket) => {
    // Only an alert from the peer means it refused the certificate; a dropped connection is not news.
    if (!/alert/i.test(err.message)) return;
    const peer = `${socket.remoteAddress}:${socket.remotePort}`;
    // OpenSSL's text ends in the alert's name: "...:tlsv1 alert unknown ca:...". Keep that part.
    const alert = /(tlsv1 alert [a-z ]+|sslv3 alert [a-z ]+)/i.exec(err.message)?.[1] ?? err.message.trim();
    const refusal = { at: Date.now(), peer, message: alert };
    listener.tlsRefusals.push(refusal);
    explainRefusedRemoteCertificate(listener.hosted.serverName, peer, alert);
    for (const notify of listener.onTlsRefusal) notify(refusal);
  });
  server.on('request', (req, res) => {
    handler(listener, req, res).catch((err) => {
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ errcode: 'M_UNKNOWN', error: `remote failed: ${(err as Error).message}` }));
    });
  });
  return listener;
}
