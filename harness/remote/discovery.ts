/**
 * How the suite reaches a server name, and the one HTTPS agent that trusts the suite CA (see tls-trust.ts).
 *
 * Names are IP literals or host names with a port (`127.1.0.4:39211`, `localhost:8448`), reached
 * at `https://<name>`; a name without a port gets the federation default 8448. There is no
 * .well-known or SRV lookup: candidates are local. External candidates whose federation URL
 * differs from their server name are mapped by `setServerUrl` or by the environment variable
 * `LAZYJOIN_SERVER_URLS` (a JSON object: server name -> base URL), read once per process.
 */
import { Agent } from 'undici';
import { federationTrust } from './tls-trust.ts';

const overrides = new Map<string, string>();
let envLoaded = false;

function loadEnvOverrides(): void {
  if (envLoaded) return;
  envLoaded = true;
  const raw = process.env.LAZYJOIN_SERVER_URLS;
  if (!raw) return;
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    throw new Error(`LAZYJOIN_SERVER_URLS is not JSON: ${raw.slice(0, 200)}`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new Error('LAZYJOIN_SERVER_URLS must be a JSON object mapping server names to base URLs');
  }
  for (const [name, url] of Object.entries(parsed)) {
    if (typeof url !== 'string') throw new Error(`LAZYJOIN_SERVER_URLS[${name}] is not a string`);
    setServerUrl(name, url);
  }
}

/** Maps a server name to a base URL (e.g. `https://127.0.0.1:8448`) for the rest of this process. */
export function setServerUrl(serverName: string, baseUrl: string): void {
  let url: URL;
  try {
    url = new URL(baseUrl);
  } catch {
    throw new Error(`base URL for ${serverName} is not a URL: ${baseUrl}`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new Error(`base URL for ${serverName} must be http(s): ${baseUrl}`);
  overrides.set(serverName, baseUrl.replace(/\/+$/, ''));
}

/** Removes a mapping made by `setServerUrl`. */
export function clearServerUrl(serverName: string): void {
  overrides.delete(serverName);
}

/** The base URL (no trailing slash) at which `serverName` serves federation and keys. */
export function baseUrlFor(serverName: string): string {
  loadEnvOverrides();
  const mapped = overrides.get(serverName);
  if (mapped) return mapped;
  if (!serverName || /[\s/?#@]/.test(serverName)) throw new Error(`not a server name: ${JSON.stringify(serverName)}`);
  const hasPort = /:\d+$/.test(serverName) && !/^\[[^\]]*\]$/.test(serverName);
  return `https://${hasPort ? serverName : `${serverName}:8448`}`;
}

let agent: Agent | undefined;

/** The process's HTTPS agent for federation traffic: trusts the suite CA (and LAZYJOIN_EXTERNAL_CA) only. */
export function federationAgent(): Agent {
  agent ??= new Agent({
    connect: { ca: federationTrust() },
    connections: 32,
    // A remote shut down mid-test must not keep pooled sockets open for long.
    keepAliveTimeout: 2_000,
    headersTimeout: 60_000,
    bodyTimeout: 60_000,
  });
  return agent;
}
