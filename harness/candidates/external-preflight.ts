/**
 * The external candidate's preflight: before the first test, checks one by one what every test
 * needs of a server run by hand, and reports every failing item at once with its fix, so that a
 * misconfigured server stops the run in seconds instead of ending a hundred tests as errors.
 *
 *   client API     GET <client URL>/_matrix/client/versions answers 200
 *   registration   a user can be registered with the shared secret or token given
 *   federation     GET <federation URL>/_matrix/federation/v1/version over TLS, with a certificate
 *                  the remotes trust (the suite CA, or LAZYJOIN_EXTERNAL_CA)
 *   keys           GET /_matrix/key/v2/server: a document for the server name, validly self-signed
 *   outbound       the candidate reaches a probe remote: its user joins a room on the remote, and
 *                  the remote receives the candidate's signed make_join (the candidate trusts the
 *                  suite CA, may reach loopback and IP-literal names, and its key can be fetched)
 */
import { request, type Dispatcher } from 'undici';
import { CandidateClient } from '../client/client.ts';
import { describeCertificate, suiteCA } from '../remote/pki.ts';
import { federationAgent, setServerUrl } from '../remote/discovery.ts';
import { KeyCache } from '../remote/keys.ts';
import { startRemote } from '../remote/remote.ts';
import { certificateVerificationCode, EXTERNAL_CA_ENV, fetchPresentedCertificate } from '../remote/tls-trust.ts';
import { trustTlsClientApi, type ExternalDescription } from './external.ts';
import { freshLocalpart, registerWithSharedSecret } from './shared-secret-registration.ts';
import { registerWithToken } from './token-registration.ts';
import type { CandidateUser } from './types.ts';

/** Set for the test processes once the preflight passed, so that the global setup does not repeat it. */
export const PREFLIGHT_PASSED_ENV = 'LAZYJOIN_EXTERNAL_PREFLIGHT_PASSED';

export interface PreflightItem {
  name: string;
  ok: boolean;
  /** What was seen (one line). */
  detail: string;
  /** What to change, for a failing item. */
  fix?: string;
}

export interface PreflightResult {
  ok: boolean;
  items: PreflightItem[];
  durationMs: number;
}

/** One HTTP exchange of the preflight; a server that accepts the connection and never answers must not hold the run. */
const REQUEST_TIMEOUT_MS = 5_000;
/** How long the candidate gets to reach the probe remote (loopback: milliseconds when it works). */
const OUTBOUND_TIMEOUT_MS = 15_000;

async function get(url: string, dispatcher?: Dispatcher): Promise<{ status: number; body: unknown; text: string }> {
  const res = await request(url, { dispatcher, headersTimeout: REQUEST_TIMEOUT_MS, bodyTimeout: REQUEST_TIMEOUT_MS, signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
  const text = await res.body.text();
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  return { status: res.statusCode, body, text };
}

function reason(err: unknown): string {
  const e = err as { message?: string; code?: string; cause?: { message?: string; code?: string } };
  const cause = e.cause?.code ?? e.cause?.message;
  return `${e.code && !e.message?.includes(e.code) ? `${e.code}: ` : ''}${e.message ?? String(err)}${cause && !e.message?.includes(cause) ? ` (${cause})` : ''}`.split('\n')[0]!;
}

async function checkClientApi(d: ExternalDescription): Promise<PreflightItem> {
  const url = `${d.clientUrl}/_matrix/client/versions`;
  const fix = `set LAZYJOIN_EXTERNAL_CLIENT_URL to the base URL of the server's client API (e.g. http://127.0.0.1:8008), and check that the server runs`;
  try {
    const res = await get(url);
    const versions = (res.body as { versions?: unknown } | undefined)?.versions;
    if (res.status === 200 && Array.isArray(versions)) return { name: 'client API', ok: true, detail: `GET ${url}: 200, versions ${versions.slice(-3).join(', ')}` };
    return { name: 'client API', ok: false, detail: `GET ${url}: ${res.status} ${res.text.slice(0, 120)}`, fix };
  } catch (err) {
    return { name: 'client API', ok: false, detail: `GET ${url}: ${reason(err)}`, fix };
  }
}

async function checkRegistration(d: ExternalDescription): Promise<{ item: PreflightItem; user?: CandidateUser }> {
  const localpart = freshLocalpart('preflight');
  const reg = d.registration;
  try {
    const user =
      'sharedSecret' in reg
        ? await registerWithSharedSecret({ clientUrl: d.clientUrl, sharedSecret: reg.sharedSecret, localpart, candidate: 'external' })
        : await registerWithToken({ clientUrl: d.clientUrl, token: reg.registrationToken, localpart, candidate: 'external' });
    return { item: { name: 'registration', ok: true, detail: `registered ${user.userId}` }, user };
  } catch (err) {
    const fix =
      'sharedSecret' in reg
        ? 'LAZYJOIN_EXTERNAL_SHARED_SECRET must equal the server\'s registration_shared_secret (Synapse, Dendrite client_api), and /_synapse/admin/v1/register must be served on the client URL'
        : 'LAZYJOIN_EXTERNAL_REGISTRATION_TOKEN must be a registration token the server accepts (allow_registration with registration_token)';
    return { item: { name: 'registration', ok: false, detail: reason(err), fix } };
  }
}

/** Says why a TLS connection to the federation URL failed, with the certificate presented. */
async function explainTls(url: string, code: string, serverName: string): Promise<{ detail: string; fix: string }> {
  const presented = await fetchPresentedCertificate(url);
  const cert = presented ? describeCertificate(presented) : undefined;
  const host = new URL(url).hostname.replace(/^\[|\]$/g, '');
  return {
    detail: `${code}: the server presents ${cert ? `"${cert.subject}" issued by "${cert.issuer}" (${cert.names}, valid to ${cert.validTo})` : 'a certificate that could not be read'}; remotes trust ${suiteCA().certPath} ("${describeCertificate(suiteCA().certPem).subject}")${process.env[EXTERNAL_CA_ENV] ? ` and ${process.env[EXTERNAL_CA_ENV]}` : ''}`,
    fix:
      code === 'ERR_TLS_CERT_ALTNAME_INVALID'
        ? `the certificate must name ${host} (${serverName}): issue one with "npx lazyjoin ca issue ${host} --out DIR"`
        : `give the federation listener a certificate from "npx lazyjoin ca issue ${host} --out DIR", or set ${EXTERNAL_CA_ENV} to the PEM of the CA that issued its certificate`,
  };
}

async function checkFederation(d: ExternalDescription): Promise<PreflightItem> {
  const url = `${d.federationUrl}/_matrix/federation/v1/version`;
  try {
    const res = await get(url, federationAgent());
    const server = (res.body as { server?: { name?: unknown; version?: unknown } } | undefined)?.server;
    if (res.status === 200 && server) return { name: 'federation over TLS', ok: true, detail: `GET ${url}: ${String(server.name)} ${String(server.version)}, certificate trusted` };
    return { name: 'federation over TLS', ok: false, detail: `GET ${url}: ${res.status} ${res.text.slice(0, 120)}`, fix: 'the federation listener must serve /_matrix/federation/v1/version' };
  } catch (err) {
    const code = certificateVerificationCode(err);
    if (code) return { name: 'federation over TLS', ok: false, ...(await explainTls(url, code, d.serverName)) };
    return {
      name: 'federation over TLS',
      ok: false,
      detail: `GET ${url}: ${reason(err)}`,
      fix: `the server must serve federation over TLS at ${d.federationUrl} (its server name ${d.serverName} with the port; set LAZYJOIN_EXTERNAL_FEDERATION_URL when it differs)`,
    };
  }
}

async function checkKeys(d: ExternalDescription): Promise<PreflightItem> {
  const url = `${d.federationUrl}/_matrix/key/v2/server`;
  try {
    const res = await get(url, federationAgent());
    const doc = res.body as { server_name?: unknown; verify_keys?: Record<string, unknown> } | undefined;
    if (res.status !== 200 || !doc) return { name: 'server keys', ok: false, detail: `GET ${url}: ${res.status} ${res.text.slice(0, 120)}`, fix: 'the federation listener must serve /_matrix/key/v2/server' };
    if (doc.server_name !== d.serverName) {
      return {
        name: 'server keys',
        ok: false,
        detail: `GET ${url}: the key document is for ${JSON.stringify(doc.server_name)}, not ${d.serverName}`,
        fix: `set LAZYJOIN_EXTERNAL_SERVER_NAME=${String(doc.server_name)}, or point LAZYJOIN_EXTERNAL_FEDERATION_URL at ${d.serverName}'s federation listener`,
      };
    }
    const keyIds = Object.keys(doc.verify_keys ?? {});
    // The same validation remotes apply (server name, validity, self-signature).
    await new KeyCache().ensure(d.serverName, keyIds[0] ?? 'ed25519:none');
    return { name: 'server keys', ok: true, detail: `GET ${url}: ${keyIds.join(', ')}, validly self-signed` };
  } catch (err) {
    return { name: 'server keys', ok: false, detail: reason(err), fix: 'the key document must name the server and be signed by the keys it publishes' };
  }
}

/**
 * A probe remote hosts a public room; the candidate's user joins it through the client API. The
 * candidate's signed make_join reaching the remote proves both directions: the candidate trusted
 * the remote's certificate, and the remote fetched and used the candidate's key.
 */
async function checkOutbound(d: ExternalDescription, user: CandidateUser): Promise<PreflightItem> {
  const name = 'candidate reaches a remote';
  const remote = await startRemote();
  try {
    const room = remote.createRoom({ joinRule: 'public', name: 'lazyjoin preflight' });
    const arrived = remote.gate('make_join');
    const client = new CandidateClient(d.clientUrl, user);
    const joining = client.join(room.roomId, { via: [remote.serverName] });
    const outcome = await Promise.race([
      arrived.arrived(OUTBOUND_TIMEOUT_MS).then(
        (req) => ({ kind: 'arrived' as const, origin: req.origin }),
        () => ({ kind: 'timeout' as const }),
      ),
      remote.nextTlsRefusal(OUTBOUND_TIMEOUT_MS).then((refusal) => (refusal ? { kind: 'refused' as const, refusal } : new Promise<never>(() => undefined))),
      joining.then((res) => ({ kind: 'answered' as const, status: res.status, body: res.body }), (err) => ({ kind: 'answered' as const, status: 0, body: reason(err) })),
    ]);
    arrived.release();
    if (outcome.kind === 'arrived') {
      await joining.catch(() => undefined);
      return { name, ok: true, detail: `the candidate sent a signed make_join to probe remote ${remote.serverName} (origin ${outcome.origin})` };
    }
    const unauthenticated = remote.requests('make_join').find((r) => r.auth.kind !== 'ok');
    if (outcome.kind === 'refused') {
      return {
        name,
        ok: false,
        detail: `the candidate refused the certificate of probe remote ${remote.serverName} (${outcome.refusal.message})`,
        fix: `the server does not trust the suite CA: make its outbound federation trust ${suiteCA().certPath} ("npx lazyjoin external-config --implementation <name>" shows how)`,
      };
    }
    if (unauthenticated) {
      return {
        name,
        ok: false,
        detail: `the probe remote refused the candidate's make_join: ${JSON.stringify(unauthenticated.auth).slice(0, 300)}`,
        fix: `remotes must fetch ${d.serverName}'s keys from ${d.federationUrl}/_matrix/key/v2/server and verify its X-Matrix signature; check the server name the candidate signs as`,
      };
    }
    const seen = remote.requests().map((r) => `${r.method} ${r.path}`);
    const answered = outcome.kind === 'answered' ? `; the candidate's /join answered ${outcome.status} ${JSON.stringify(outcome.body).slice(0, 200)}` : '';
    return {
      name,
      ok: false,
      detail: `no make_join reached probe remote ${remote.serverName} within ${OUTBOUND_TIMEOUT_MS} ms${seen.length ? ` (it received: ${seen.slice(0, 3).join(', ')})` : ' (it received nothing)'}${answered}`,
      fix: `the server must be allowed to reach loopback addresses (127.0.0.0/8) and IP-literal server names, and must not use notary key servers (see "npx lazyjoin external-config")`,
    };
  } finally {
    await remote.close();
  }
}

/** Runs every check (dependent ones only after what they need) and reports them all. */
export async function preflightExternal(d: ExternalDescription): Promise<PreflightResult> {
  const started = Date.now();
  setServerUrl(d.serverName, d.federationUrl);
  trustTlsClientApi(d.clientUrl);
  const items: PreflightItem[] = [];
  const skipped = (name: string, needs: string): PreflightItem => ({ name, ok: false, detail: `not checked: needs ${needs}` });
  const [client, federation, keys] = await Promise.all([checkClientApi(d), checkFederation(d), checkKeys(d)]);
  items.push(client);
  let user: CandidateUser | undefined;
  if (client.ok) {
    const reg = await checkRegistration(d);
    items.push(reg.item);
    user = reg.user;
  } else items.push(skipped('registration', 'the client API'));
  items.push(federation, keys);
  if (user && federation.ok && keys.ok) items.push(await checkOutbound(d, user));
  else items.push(skipped('candidate reaches a remote', [user ? '' : 'a registered user', federation.ok && keys.ok ? '' : 'federation and keys'].filter(Boolean).join(' and ')));
  return { ok: items.every((i) => i.ok), items, durationMs: Date.now() - started };
}

/** The report: one line per item, a fix line under each failing one. */
export function formatPreflight(d: ExternalDescription, result: PreflightResult): string {
  const lines = [`lazyjoin: preflight of external candidate ${d.serverName} (${d.implementation} ${d.version}), ${result.durationMs} ms`];
  for (const item of result.items) {
    lines.push(`  ${item.ok ? 'ok  ' : 'FAIL'} ${item.name}: ${item.detail}`);
    if (!item.ok && item.fix) lines.push(`       fix: ${item.fix}`);
  }
  lines.push(result.ok ? 'lazyjoin: preflight passed' : `lazyjoin: preflight failed (${result.items.filter((i) => !i.ok).length} of ${result.items.length} items); no test was run`);
  return lines.join('\n');
}
