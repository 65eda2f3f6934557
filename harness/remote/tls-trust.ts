/**
 * Trust between remotes and candidates, stated once: remotes trust the suite CA plus, for an
 * external candidate whose certificate comes from elsewhere, the CA in `LAZYJOIN_EXTERNAL_CA`;
 * candidates trust the suite CA. When a TLS handshake fails either way, the explanation (both
 * ends, the certificate's subject and issuer, what to set) is written once per run to the console
 * and to `<run folder>/tls-trust.txt`; the errors of the tests that meet it again point there.
 */
import { createHash, X509Certificate } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { join } from 'node:path';
import { connect } from 'node:tls';
import { describeCertificate, suiteCA } from './pki.ts';

/** The variable naming the PEM of the CA an external server's federation certificate chains to. */
export const EXTERNAL_CA_ENV = 'LAZYJOIN_EXTERNAL_CA';

/** Reads and checks `LAZYJOIN_EXTERNAL_CA`; throws one line naming the problem. */
export function externalCAFromEnv(env: NodeJS.ProcessEnv = process.env): { path: string; pem: string } | undefined {
  const path = env[EXTERNAL_CA_ENV];
  if (!path) return undefined;
  let pem: string;
  try {
    pem = readFileSync(path, 'utf8');
  } catch (err) {
    throw new Error(`${EXTERNAL_CA_ENV}=${path}: cannot read it (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  try {
    new X509Certificate(pem);
  } catch {
    throw new Error(`${EXTERNAL_CA_ENV}=${path}: not a PEM certificate`);
  }
  return { path, pem };
}

/** The roots a remote verifies other servers' certificates against. */
export function federationTrust(): string[] {
  const external = externalCAFromEnv();
  return [suiteCA().certPem, ...(external ? [external.pem] : [])];
}

/** Node's codes for a peer certificate that does not verify (untrusted, wrong name, expired). */
const VERIFICATION_CODES = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'CERT_SIGNATURE_FAILURE',
  'CERT_UNTRUSTED',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

/** The verification code of an error (or of its cause), when it is a certificate verification failure. */
export function certificateVerificationCode(err: unknown): string | undefined {
  for (let e = err as { code?: unknown; cause?: unknown } | undefined, depth = 0; e && depth < 4; e = e.cause as typeof e, depth++) {
    if (typeof e.code === 'string' && VERIFICATION_CODES.has(e.code)) return e.code;
  }
  return undefined;
}

/** The certificate `url`'s server presents, read without verifying it (to say what it is). */
export function fetchPresentedCertificate(url: string, timeoutMs = 5_000): Promise<X509Certificate | undefined> {
  const u = new URL(url);
  const host = u.hostname.replace(/^\[|\]$/g, '');
  return new Promise((resolve) => {
    const socket = connect({ host, port: Number(u.port || 443), rejectUnauthorized: false, ...(isIP(host) ? {} : { servername: host }) }, () => {
      const raw = socket.getPeerCertificate()?.raw;
      socket.end();
      try {
        resolve(raw ? new X509Certificate(raw) : undefined);
      } catch {
        resolve(undefined);
      }
    });
    socket.setTimeout(timeoutMs, () => {
      socket.destroy();
      resolve(undefined);
    });
    socket.on('error', () => resolve(undefined));
  });
}

/**
 * Writes `text` the first time `key` is met in this run (by any worker: an exclusive marker file
 * decides) to the console and `<run folder>/tls-trust.txt`; returns that file's path. Outside a
 * run (the preflight) returns undefined: the caller reports the whole text itself.
 */
function explainOncePerRun(key: string, text: string): string | undefined {
  const dir = process.env.LAZYJOIN_RUN_DIR;
  if (!dir) return undefined;
  const file = join(dir, 'tls-trust.txt');
  const markers = join(dir, 'tls-trust.d');
  try {
    mkdirSync(markers, { recursive: true });
    writeFileSync(join(markers, createHash('sha256').update(key).digest('hex').slice(0, 16)), key, { flag: 'wx' });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return file;
  }
  try {
    writeFileSync(file, `${text}\n`, { flag: 'a' });
  } catch {
    // The console line still tells.
  }
  console.error(`[lazyjoin] TLS: ${text}`);
  return file;
}

/**
 * A remote could not verify the certificate a server presented: says which remote, which server
 * and URL, what the certificate is and who issued it, and what to set. Returns the one-line
 * message a test error carries.
 */
export async function explainUntrustedCertificate(origin: string, destination: string, url: string, code: string): Promise<string> {
  const base = new URL(url).origin;
  const presented = await fetchPresentedCertificate(base);
  const what = presented ? describeCertificate(presented) : undefined;
  const cert = what ? `certificate "${what.subject}" issued by "${what.issuer}" (names: ${what.names}; valid to ${what.validTo})` : 'its certificate (could not be read)';
  const text =
    `remote ${origin} could not verify ${destination} at ${base} (${code}): it presented ${cert}. ` +
    `Remotes trust the suite CA ${suiteCA().certPath} ("${describeCertificate(suiteCA().certPem).subject}")` +
    (process.env[EXTERNAL_CA_ENV] ? ` and ${EXTERNAL_CA_ENV}=${process.env[EXTERNAL_CA_ENV]}` : '') +
    `. Give the server a certificate for its name from "npx lazyjoin ca issue <host> --out DIR", or set ${EXTERNAL_CA_ENV} to the PEM of the CA that issued its certificate.`;
  const where = explainOncePerRun(`untrusted ${base} ${code}`, text);
  return where ? `TLS: remote ${origin} does not trust the certificate of ${destination} at ${base} (${code}; explained in ${where})` : `TLS: ${text}`;
}

/**
 * A server refused a remote's certificate during the handshake (a TLS alert such as "unknown ca"):
 * it does not trust the suite CA. Explained once per run.
 */
export function explainRefusedRemoteCertificate(remote: string, peer: string, alert: string): string {
  const text =
    `a server connecting from ${peer} refused the certificate of remote ${remote} (${alert}): ` +
    `that server (the candidate) does not trust the suite CA. Configure it to trust ${suiteCA().certPath} for outbound ` +
    `federation ("npx lazyjoin external-config --implementation <name>" prints how).`;
  return explainOncePerRun(`refused by ${peer.replace(/:\d+$/, '')}`, text) ?? text;
}
