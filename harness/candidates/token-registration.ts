/**
 * Registration with a registration token (`m.login.registration_token`, Client-Server API
 * "Token-authenticated registration"): the first POST /register opens a user-interactive session,
 * the second completes the token stage. For servers without Synapse's shared-secret admin API
 * (continuwuity in a container, an external server given a token).
 */
import { randomBytes } from 'node:crypto';
import { request } from 'undici';
import { CandidateError, type CandidateUser } from './types.ts';

const PATH = '/_matrix/client/v3/register';

export async function registerWithToken(opts: {
  clientUrl: string;
  token: string;
  localpart: string;
  displayName?: string;
  /** Named in error messages, e.g. `container-w0` or `external`. */
  candidate: string;
}): Promise<CandidateUser> {
  const password = randomBytes(12).toString('hex');
  const post = async (body: unknown) => {
    const res = await request(`${opts.clientUrl}${PATH}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
      headersTimeout: 30_000,
      bodyTimeout: 30_000,
    });
    return { status: res.statusCode, body: (await res.body.json().catch(() => ({}))) as Record<string, unknown> };
  };
  const first = await post({ username: opts.localpart, password });
  const session = first.body.session;
  const final =
    first.status === 401 && typeof session === 'string'
      ? await post({ username: opts.localpart, password, auth: { type: 'm.login.registration_token', token: opts.token, session } })
      : first;
  const { user_id, access_token, device_id } = final.body;
  if (final.status !== 200 || typeof user_id !== 'string' || typeof access_token !== 'string' || typeof device_id !== 'string') {
    throw new CandidateError(`${opts.candidate}: POST ${PATH} -> ${final.status} ${JSON.stringify(final.body).slice(0, 300)}`);
  }
  if (opts.displayName) {
    const res = await request(`${opts.clientUrl}/_matrix/client/v3/profile/${encodeURIComponent(user_id)}/displayname`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${access_token}` },
      body: JSON.stringify({ displayname: opts.displayName }),
    });
    const text = await res.body.text();
    if (res.statusCode !== 200) throw new CandidateError(`${opts.candidate}: setting ${user_id}'s display name -> ${res.statusCode} ${text.slice(0, 200)}`);
  }
  return { userId: user_id, accessToken: access_token, deviceId: device_id };
}
