/**
 * The suite's PKI: one CA per run, and a certificate per server (remote or candidate) signed by it.
 *
 * The CA is created once by the global setup and written to `<runDir>/ca/`; every worker process
 * loads the same CA from there, so a candidate configured to trust `caCertPath` trusts every
 * remote of the run. Keys are ECDSA P-256 (fast to generate, accepted by Python's and Go's TLS).
 */
import { webcrypto } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { join } from 'node:path';
import * as x509 from '@peculiar/x509';

x509.cryptoProvider.set(webcrypto as unknown as Crypto);

const ALG = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;

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

/** Folder holding this run's shared files (CA, candidate data). Set by the global setup. */
export function runDir(): string {
  const dir = process.env.LAZYJOIN_RUN_DIR;
  if (!dir) throw new Error('LAZYJOIN_RUN_DIR is not set: the global setup (harness/global-setup.ts) did not run');
  return dir;
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

/** Creates a new CA in `dir` (overwriting any there). */
export async function createSuiteCA(dir: string): Promise<SuiteCA> {
  mkdirSync(dir, { recursive: true });
  const keys = (await webcrypto.subtle.generateKey(ALG, true, ['sign', 'verify'])) as CryptoKeyPair;
  const now = Date.now();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial(),
    name: 'CN=lazyjoin suite CA',
    notBefore: new Date(now - 3600_000),
    notAfter: new Date(now + 7 * 24 * 3600_000),
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
  const certPath = join(dir, 'ca.crt');
  writeFileSync(certPath, certPem);
  writeFileSync(join(dir, 'ca.key'), keyPem, { mode: 0o600 });
  return { certPem, keyPem, certPath };
}

let loaded: SuiteCA | undefined;

/** The run's CA, created by the global setup; loaded once per process. */
export function suiteCA(): SuiteCA {
  if (loaded) return loaded;
  const dir = join(runDir(), 'ca');
  const certPath = join(dir, 'ca.crt');
  if (!existsSync(certPath)) throw new Error(`suite CA missing at ${certPath}: the global setup did not create it`);
  loaded = { certPem: readFileSync(certPath, 'utf8'), keyPem: readFileSync(join(dir, 'ca.key'), 'utf8'), certPath };
  return loaded;
}

/**
 * Issues a server certificate for the given host names and/or IP addresses, signed by `ca`
 * (the run's CA by default).
 */
export async function issueServerCert(names: string[], ca: SuiteCA = suiteCA()): Promise<IssuedCert> {
  const caCert = new x509.X509Certificate(ca.certPem);
  const caKey = await webcrypto.subtle.importKey('pkcs8', fromPem(ca.keyPem), ALG, false, ['sign']);
  const keys = (await webcrypto.subtle.generateKey(ALG, true, ['sign', 'verify'])) as CryptoKeyPair;
  const now = Date.now();
  const altNames = names.map((n) => (isIP(n) ? { type: 'ip' as const, value: n } : { type: 'dns' as const, value: n }));
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serial(),
    subject: `CN=${names[0]}`,
    issuer: caCert.subject,
    notBefore: new Date(now - 3600_000),
    notAfter: new Date(now + 7 * 24 * 3600_000),
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
