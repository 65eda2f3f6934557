/**
 * The suite's PKI: one lasting suite CA, and a certificate per server (remote or candidate) signed
 * by it.
 *
 * The CA lives in the cache folder (`<cache>/ca`, env `LAZYJOIN_CA_DIR` overrides) and is reused by
 * every run and every candidate, so that a server run by hand is configured once: it trusts
 * `ca.crt` for outbound federation and presents a certificate from `lazyjoin ca issue`. The first
 * run creates it, under a file lock (test workers and parallel runs start together); a CA close to
 * the end of its validity is replaced, with a message saying what an operator must redo.
 * Keys are ECDSA P-256 (fast to generate, accepted by Python's, Go's and rustls' TLS).
 */
import { createHash, webcrypto, X509Certificate } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { join } from 'node:path';
import * as x509 from '@peculiar/x509';
import { defaultCacheDir } from '../candidates/cache-dir.ts';
import { withFileLock } from '../candidates/file-lock.ts';

x509.cryptoProvider.set(webcrypto as unknown as Crypto);

const ALG = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
const DAY_MS = 24 * 3600_000;

/** How long a new suite CA is valid. */
export const CA_VALIDITY_DAYS = 2 * 365;
/** A CA with less than this left is replaced before a run, so no run starts with a CA about to lapse. */
export const CA_RENEW_BEFORE_DAYS = 30;
/** Certificates of remotes (made per run) and, by default, those `lazyjoin ca issue` makes. */
export const REMOTE_CERT_VALIDITY_DAYS = 7;
export const ISSUED_CERT_VALIDITY_DAYS = 365;
/** Waiting for another process that is creating the CA: generating a key takes milliseconds. */
const CA_LOCK_TIMEOUT_MS = 30_000;

/** The environment variable naming the CA folder, and the one the global setup pins the CA with. */
export const CA_DIR_ENV = 'LAZYJOIN_CA_DIR';
export const CA_PIN_ENV = 'LAZYJOIN_SUITE_CA_SHA256';

export interface SuiteCA {
  certPem: string;
  keyPem: string;
  /** Path of the CA certificate (PEM), to give candidates as their trusted federation CA. */
  certPath: string;
}

export interface IssuedCert {
  certPem: string;
  keyPem: string;
}

/** Folder holding this run's shared files (candidate data, memos). Set by the global setup. */
export function runDir(): string {
  const dir = process.env.LAZYJOIN_RUN_DIR;
  if (!dir) throw new Error('LAZYJOIN_RUN_DIR is not set: the global setup (harness/global-setup.ts) did not run');
  return dir;
}

/** Where the lasting suite CA lives: env `LAZYJOIN_CA_DIR`, else `<cache>/ca`. */
export function suiteCADir(env: NodeJS.ProcessEnv = process.env): string {
  return env[CA_DIR_ENV] || join(defaultCacheDir(env), 'ca');
}

function toPem(der: ArrayBuffer, label: string): string {
  const b64 = Buffer.from(der).toString('base64').replace(/(.{64})/g, '$1\n').replace(/\n$/, '');
  return `-----BEGIN ${label}-----\n${b64}\n-----END ${label}-----\n`;
}

function fromPem(pem: string): ArrayBuffer {
  const b64 = pem.replace(/-----[A-Z ]+-----/g, '').replace(/\s+/g, '');
  const buf = Buffer.from(b64, 'base64');
  return buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength);
}

function serial(): string {
  return Buffer.from(webcrypto.getRandomValues(new Uint8Array(16))).toString('hex').replace(/^[89a-f]/, '1');
}

/** SHA-256 of the certificate's DER, hex: how a run pins the CA it started with. */
export function certificateFingerprint(certPem: string): string {
  return createHash('sha256').update(new X509Certificate(certPem).raw).digest('hex');
}

function caPaths(dir: string) {
  return { cert: join(dir, 'ca.crt'), key: join(dir, 'ca.key') };
}

/** Creates a new CA in `dir` (overwriting any there); `validityDays` from an hour ago. */
export async function createSuiteCA(dir: string, opts: { validityDays?: number; now?: number } = {}): Promise<SuiteCA> {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const keys = (await webcrypto.subtle.generateKey(ALG, true, ['sign', 'verify'])) as CryptoKeyPair;
  const now = opts.now ?? Date.now();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial(),
    // Date and a random tag: two CAs (this machine's, another's) never read alike in a message.
    name: `CN=lazyjoin suite CA ${new Date(now).toISOString().slice(0, 10)} ${serial().slice(0, 8)}`,
    notBefore: new Date(now - 3600_000),
    notAfter: new Date(now + (opts.validityDays ?? CA_VALIDITY_DAYS) * DAY_MS),
    keys,
    signingAlgorithm: ALG,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  const certPem = cert.toString('pem') + '\n';
  const keyPem = toPem(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey), 'PRIVATE KEY');
  const paths = caPaths(dir);
  // Key first, then the certificate: a reader that finds ca.crt finds its key.
  writeFileSync(paths.key, keyPem, { mode: 0o600 });
  chmodSync(paths.key, 0o600);
  writeFileSync(paths.cert, certPem, { mode: 0o644 });
  return { certPem, keyPem, certPath: paths.cert };
}

function readCA(dir: string): SuiteCA | undefined {
  const paths = caPaths(dir);
  if (!existsSync(paths.cert) || !existsSync(paths.key)) return undefined;
  return { certPem: readFileSync(paths.cert, 'utf8'), keyPem: readFileSync(paths.key, 'utf8'), certPath: paths.cert };
}

export interface EnsuredCA extends SuiteCA {
  status: 'created' | 'reused' | 'replaced';
  /** For `replaced`: what happened and what an operator of an external server must redo. */
  notice?: string;
}

/**
 * The lasting suite CA: loaded from `dir`, or created there when missing, unreadable or within
 * CA_RENEW_BEFORE_DAYS of its end (the old files are kept as `ca.crt.retired-<date>`). Safe when
 * several processes call it at once (file lock).
 */
export async function ensureSuiteCA(dir: string = suiteCADir(), opts: { now?: number } = {}): Promise<EnsuredCA> {
  const now = opts.now ?? Date.now();
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  return withFileLock(join(dir, 'ca'), CA_LOCK_TIMEOUT_MS, async () => {
    const paths = caPaths(dir);
    let existing: SuiteCA | undefined;
    let unusable: string | undefined;
    try {
      existing = readCA(dir);
      if (existing) new X509Certificate(existing.certPem);
    } catch (err) {
      unusable = `unreadable (${(err as Error).message})`;
      existing = undefined;
    }
    if (existing) {
      const notAfter = new Date(new X509Certificate(existing.certPem).validTo).getTime();
      if (notAfter - now > CA_RENEW_BEFORE_DAYS * DAY_MS) return { ...existing, status: 'reused' };
      unusable = notAfter <= now ? `expired on ${new Date(notAfter).toISOString()}` : `expires on ${new Date(notAfter).toISOString()}, in less than ${CA_RENEW_BEFORE_DAYS} days`;
    }
    const replacing = unusable !== undefined && existsSync(paths.cert);
    if (replacing) {
      const stamp = new Date(now).toISOString().replace(/[:.]/g, '-');
      renameSync(paths.cert, `${paths.cert}.retired-${stamp}`);
      if (existsSync(paths.key)) renameSync(paths.key, `${paths.key}.retired-${stamp}`);
    }
    const created = await createSuiteCA(dir, { now });
    if (!replacing) return { ...created, status: 'created' };
    return {
      ...created,
      status: 'replaced',
      notice:
        `the suite CA at ${paths.cert} ${unusable}; it was replaced by a new one valid until ` +
        `${new X509Certificate(created.certPem).validTo}. An external server configured with the old CA must trust the new ` +
        `${paths.cert} and present a certificate issued again with "npx lazyjoin ca issue NAME --out DIR".`,
    };
  });
}

/**
 * Pins the CA for the rest of the run: workers that load the CA check that it is still the one the
 * run started with (another run could replace a CA close to its end in between).
 */
export function pinSuiteCA(ca: SuiteCA): void {
  process.env[CA_PIN_ENV] = certificateFingerprint(ca.certPem);
}

let loaded: SuiteCA | undefined;

/** The suite CA, made ready by the global setup (`ensureSuiteCA`); loaded once per process. */
export function suiteCA(): SuiteCA {
  if (loaded) return loaded;
  const dir = suiteCADir();
  const ca = readCA(dir);
  if (!ca) throw new Error(`suite CA missing at ${caPaths(dir).cert}: the global setup (or "npx lazyjoin ca") creates it`);
  const pinned = process.env[CA_PIN_ENV];
  if (pinned && certificateFingerprint(ca.certPem) !== pinned) {
    throw new Error(`the suite CA at ${ca.certPath} was replaced while this run was going (by another run); run again`);
  }
  loaded = ca;
  return loaded;
}

/**
 * Issues a server certificate for the given host names and/or IP addresses (subject alternative
 * names; the first is also the common name), signed by `ca` (the suite CA by default), valid for
 * `validityDays` but never beyond the CA.
 */
export async function issueServerCert(names: string[], ca: SuiteCA = suiteCA(), opts: { validityDays?: number } = {}): Promise<IssuedCert> {
  if (names.length === 0) throw new Error('a server certificate needs at least one name');
  const caCert = new x509.X509Certificate(ca.certPem);
  const caKey = await webcrypto.subtle.importKey('pkcs8', fromPem(ca.keyPem), ALG, false, ['sign']);
  const keys = (await webcrypto.subtle.generateKey(ALG, true, ['sign', 'verify'])) as CryptoKeyPair;
  const now = Date.now();
  const notAfter = Math.min(now + (opts.validityDays ?? REMOTE_CERT_VALIDITY_DAYS) * DAY_MS, caCert.notAfter.getTime());
  const altNames = names.map((n) => (isIP(n) ? { type: 'ip' as const, value: n } : { type: 'dns' as const, value: n }));
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serial(),
    subject: `CN=${names[0]}`,
    issuer: caCert.subject,
    notBefore: new Date(now - 3600_000),
    notAfter: new Date(notAfter),
    signingKey: caKey,
    publicKey: keys.publicKey,
    signingAlgorithm: ALG,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth, x509.ExtendedKeyUsage.clientAuth]),
      new x509.SubjectAlternativeNameExtension(altNames),
      await x509.AuthorityKeyIdentifierExtension.create(caCert, false),
    ],
  });
  return {
    certPem: cert.toString('pem') + '\n',
    keyPem: toPem(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey), 'PRIVATE KEY'),
  };
}

/** A DNS name or an IP literal a certificate can name; anything else (a port, a URL) is refused. */
export function checkCertificateName(name: string): string | undefined {
  if (isIP(name)) return undefined;
  if (/^(?=.{1,253}$)([a-zA-Z0-9*]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)(\.[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)*$/.test(name)) return undefined;
  return `"${name}" is not a DNS name or an IP address (give the host without port or scheme, e.g. 127.0.0.1 or matrix.example.org)`;
}

/** What a certificate says about itself, for messages: subject, issuer, names, end of validity. */
export function describeCertificate(cert: X509Certificate | string): { subject: string; issuer: string; names: string; validTo: string } {
  const c = typeof cert === 'string' ? new X509Certificate(cert) : cert;
  const oneLine = (dn: string) => dn.split('\n').join(', ');
  return { subject: oneLine(c.subject), issuer: oneLine(c.issuer), names: c.subjectAltName ?? '(no subject alternative names)', validTo: c.validTo };
}
