/**
 * Registration through the shared-secret admin API `/_synapse/admin/v1/register` (served by
 * Synapse, and by Dendrite when `registration_shared_secret` is set): GET a nonce, then POST the
 * user with an HMAC-SHA1, keyed by the shared secret, over `nonce NUL user NUL password NUL
 * admin|notadmin`.
 */
import { createHmac, randomBytes } from 'node:crypto';
import { request } from 'undici';
import { CandidateError, type CandidateUser } from './types.ts';

export interface SharedSecretRegistration {
  clientUrl: string;
  sharedSecret: string;
  localpart: string;
  admin?: boolean;
  displayName?: string;
  /** Named in error messages, e.g. `synapse-w0`. */
  candidate: string;
}

const PATH = '/_synapse/admin/v1/register';

export function registrationMac(secret: string, nonce: string, localpart: string, password: string, admin: boolean): string {
  return createHmac('sha1', secret)
    .update([nonce, localpart, password, admin ? 'admin' : 'notadmin'].join('\0'))
    .digest('hex');
}

/** A localpart unique within the run: tests never share users. */
export function freshLocalpart(prefix = 'user'): string {
  return `${prefix}-${randomBytes(5).toString('hex')}`;
}

async function call(method: 'GET' | 'POST', url: string, candidate: string, body?: unknown): Promise<Record<string, unknown>> {
  let res;
  try {
    res = await request(url, {
      method,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
      headersTimeout: 30_000,
      bodyTimeout: 30_000,
    });
  } catch (err) {
    throw new CandidateError(`${candidate}: ${method} ${PATH} failed: ${(err as Error).message}`);
  }
  const text = await res.body.text();
  if (res.statusCode !== 200) {
    throw new CandidateError(`${candidate}: ${method} ${PATH} -> ${res.statusCode} ${text.slice(0, 300)}`);
  }
  return JSON.parse(text) as Record<string, unknown>;
}

export async function registerWithSharedSecret(reg: SharedSecretRegistration): Promise<CandidateUser> {
  const url = `${reg.clientUrl}${PATH}`;
  const { nonce } = await call('GET', url, reg.candidate);
  if (typeof nonce !== 'string') throw new CandidateError(`${reg.candidate}: GET ${PATH} gave no nonce`);
  const password = randomBytes(12).toString('hex');
  const admin = reg.admin ?? false;
  const body = {
    nonce,
    username: reg.localpart,
    password,
    admin,
    ...(reg.displayName ? { displayname: reg.displayName } : {}),
    mac: registrationMac(reg.sharedSecret, nonce, reg.localpart, password, admin),
  };
  const res = await call('POST', url, reg.candidate, body);
  const { user_id, access_token, device_id } = res;
  if (typeof user_id !== 'string' || typeof access_token !== 'string' || typeof device_id !== 'string') {
    throw new CandidateError(`${reg.candidate}: POST ${PATH} answer lacks user_id/access_token/device_id: ${JSON.stringify(res).slice(0, 300)}`);
  }
  return { userId: user_id, accessToken: access_token, deviceId: device_id };
}
