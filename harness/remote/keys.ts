/**
 * Server keys, both ways: the signed document a remote publishes at `/_matrix/key/v2/server`, and
 * the cache of other servers' keys, fetched from their own key servers over HTTPS (trusting the
 * suite CA) and checked against their self-signature.
 */
import { request } from 'undici';
import { decodeBase64, signJson, verifyJsonSignature, type KeyLookup, type SigningKey } from '../matrix/index.ts';
import { baseUrlFor, federationAgent } from './discovery.ts';
import { certificateVerificationCode, explainUntrustedCertificate } from './tls-trust.ts';

/** How long published keys claim to be valid. Short enough that no candidate keeps them past the run. */
export const KEY_VALIDITY_MS = 24 * 3600_000;

/** The signed `/_matrix/key/v2/server` response for `serverName`, valid until `validUntil` (ms since the epoch). */
export function serverKeysDocument(serverName: string, key: SigningKey, validUntil = Date.now() + KEY_VALIDITY_MS): Record<string, unknown> {
  return signJson(
    {
      server_name: serverName,
      verify_keys: { [key.keyId]: { key: key.publicKeyBase64 } },
      old_verify_keys: {},
      valid_until_ts: validUntil,
    },
    serverName,
    key,
  );
}

const FETCH_TIMEOUT_MS = 5_000;

/** Keys of other servers, by server name and key ID; one fetch per server at a time. */
export class KeyCache {
  private readonly keys = new Map<string, Uint8Array>();
  private readonly inflight = new Map<string, Promise<void>>();

  /** Synchronous lookup over what is cached, in the shape the matrix module wants. */
  readonly lookup: KeyLookup = (serverName, keyId) => this.keys.get(`${serverName} ${keyId}`);

  /** Records a key known without fetching (the remote's own and its bystanders'). */
  add(serverName: string, keyId: string, publicKey: Uint8Array): void {
    this.keys.set(`${serverName} ${keyId}`, publicKey);
  }

  /**
   * Makes sure `keyId` of `serverName` is cached, fetching the server's key document if not.
   * Throws a one-line reason when the key cannot be had.
   */
  async ensure(serverName: string, keyId: string): Promise<void> {
    if (this.lookup(serverName, keyId)) return;
    let pending = this.inflight.get(serverName);
    if (!pending) {
      pending = this.fetchKeys(serverName).finally(() => this.inflight.delete(serverName));
      this.inflight.set(serverName, pending);
    }
    await pending;
    if (!this.lookup(serverName, keyId)) throw new Error(`${serverName} does not publish key ${keyId}`);
  }

  private async fetchKeys(serverName: string): Promise<void> {
    const url = `${baseUrlFor(serverName)}/_matrix/key/v2/server`;
    let text: string;
    let status: number;
    try {
      const res = await request(url, {
        dispatcher: federationAgent(),
        headersTimeout: FETCH_TIMEOUT_MS,
        bodyTimeout: FETCH_TIMEOUT_MS,
        headers: { host: serverName },
      });
      status = res.statusCode;
      text = await res.body.text();
    } catch (err) {
      const tlsCode = certificateVerificationCode(err);
      if (tlsCode) throw new Error(`fetching keys of ${serverName} from ${url} failed: ${await explainUntrustedCertificate('(key fetch)', serverName, url, tlsCode)}`);
      throw new Error(`fetching keys of ${serverName} from ${url} failed: ${(err as Error).message}`);
    }
    if (status !== 200) throw new Error(`key server of ${serverName} (${url}) answered ${status}: ${text.slice(0, 200)}`);
    let doc: { server_name?: unknown; verify_keys?: unknown; old_verify_keys?: unknown; valid_until_ts?: unknown };
    try {
      doc = JSON.parse(text);
    } catch {
      throw new Error(`key server of ${serverName} (${url}) answered non-JSON: ${text.slice(0, 200)}`);
    }
    if (doc.server_name !== serverName) throw new Error(`key document from ${url} is for ${JSON.stringify(doc.server_name)}, not ${serverName}`);
    if (typeof doc.valid_until_ts !== 'number' || doc.valid_until_ts < Date.now()) {
      throw new Error(`key document of ${serverName} has expired or lacks valid_until_ts`);
    }
    const published = new Map<string, Uint8Array>();
    for (const field of ['verify_keys', 'old_verify_keys'] as const) {
      const entries = doc[field];
      if (entries === undefined && field === 'old_verify_keys') continue;
      if (typeof entries !== 'object' || entries === null) throw new Error(`key document of ${serverName} has no ${field} object`);
      for (const [keyId, entry] of Object.entries(entries as Record<string, { key?: unknown }>)) {
        if (!keyId.startsWith('ed25519:') || typeof entry?.key !== 'string') continue;
        published.set(keyId, decodeBase64(entry.key));
      }
    }
    // The document must be signed by the keys it publishes (self-signature).
    const selfLookup: KeyLookup = (name, keyId) => (name === serverName ? published.get(keyId) : undefined);
    const check = verifyJsonSignature(doc as Record<string, unknown>, serverName, selfLookup);
    if (!check.ok) throw new Error(`key document of ${serverName} is not validly self-signed: ${check.reason}`);
    for (const [keyId, key] of published) this.add(serverName, keyId, key);
  }
}
