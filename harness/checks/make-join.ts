/** Resident-side checks over one `GET /_matrix/federation/v1/make_join` exchange. */
import { defineCheck, errcodeOfBody } from './define.ts';
import { validate } from './schema.ts';
import type { Check, Evaluation } from './types.ts';

export interface MakeJoinObservation {
  request: {
    roomId: string;
    userId: string;
    /** The `ver` query values sent (room versions the suite's joiner supports). */
    supportedVersions: string[];
    /** The room's actual version, when the test knows it (a version not offered must be refused). */
    roomVersion?: string;
    /** True when the room does not exist on the resident (the answer must be 404 M_NOT_FOUND). */
    unknownRoom?: boolean;
    /** True when the room's join rules do not let this user join (the answer must be 403 M_FORBIDDEN). */
    notPermitted?: boolean;
  };
  response: { status: number; body: unknown };
}

type MakeJoinCheck = Check<MakeJoinObservation>;

/** Why a refusal, not a template, is the right answer to this request; undefined when a template is. */
function refusalDue(o: MakeJoinObservation): string | undefined {
  if (o.request.unknownRoom) return 'the room is unknown to the resident';
  if (o.request.notPermitted) return 'the user may not join the room';
  const v = o.request.roomVersion;
  if (v !== undefined && !o.request.supportedVersions.includes(v)) return `the room version ${v} was not offered`;
  return undefined;
}

/** The template of a 200 answer, or why there is none to judge. */
function templateOf(o: MakeJoinObservation): { template: Record<string, unknown>; body: Record<string, unknown> } | { unusable: string } {
  const body = o.response.body;
  if (o.response.status !== 200) return { unusable: `the answer was HTTP ${o.response.status} (see make-join/template-well-formed)` };
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return { unusable: 'the body is not an object (see make-join/template-well-formed)' };
  const template = (body as Record<string, unknown>).event;
  if (typeof template !== 'object' || template === null || Array.isArray(template)) return { unusable: '"event" is not an object (see make-join/template-well-formed)' };
  return { template: template as Record<string, unknown>, body: body as Record<string, unknown> };
}

const withTemplate = (o: MakeJoinObservation, change: (body: Record<string, unknown>, template: Record<string, unknown>) => void): MakeJoinObservation => {
  const body = structuredClone(o.response.body) as Record<string, unknown>;
  change(body, body.event as Record<string, unknown>);
  return { ...o, response: { ...o.response, body } };
};

export const templateWellFormed: MakeJoinCheck = defineCheck({
  id: 'make-join/template-well-formed',
  requirement: 'MJ-08',
  title: 'make_join for an allowed user is answered 200 with a template holding the required fields',
  evaluate(o) {
    const due = refusalDue(o);
    if (due) return { notApplicable: `a refusal is due: ${due}` };
    const expected = 'HTTP 200 with a body matching schemas/make-join-response.schema.json';
    if (o.response.status !== 200) return { ok: false, reason: `make_join was answered HTTP ${o.response.status}`, expected, observed: o.response };
    const r = validate('make-join-response', o.response.body);
    return r.ok ? { ok: true } : { ok: false, reason: `the template does not match the schema: ${r.errors.slice(0, 6).join('; ')}`, expected, observed: r.errors };
  },
  controls: [
    { name: 'answered 404', mutate: (o) => ({ ...o, response: { status: 404, body: { errcode: 'M_NOT_FOUND' } } }) },
    { name: 'origin missing', mutate: (o) => withTemplate(o, (_b, t) => { delete t.origin; }) },
    { name: 'membership not join', mutate: (o) => withTemplate(o, (_b, t) => { (t.content as Record<string, unknown>).membership = 'leave'; }) },
    { name: 'origin_server_ts a string', mutate: (o) => withTemplate(o, (_b, t) => { t.origin_server_ts = '1'; }) },
  ],
});

export const templateForThisJoin: MakeJoinCheck = defineCheck({
  id: 'make-join/template-for-this-join',
  requirement: 'MJ-08',
  title: 'the template is a join of the requested user to the requested room (what the joiner must verify, MJ-01)',
  evaluate(o): Evaluation {
    const read = templateOf(o);
    if ('unusable' in read) return { notApplicable: read.unusable };
    const t = read.template;
    const content = t.content as Record<string, unknown> | undefined;
    const wrong: string[] = [];
    if (t.type !== 'm.room.member') wrong.push(`type is ${JSON.stringify(t.type)}`);
    if (t.sender !== o.request.userId) wrong.push(`sender is ${JSON.stringify(t.sender)}`);
    if (t.state_key !== o.request.userId) wrong.push(`state_key is ${JSON.stringify(t.state_key)}`);
    if (t.room_id !== undefined && t.room_id !== o.request.roomId) wrong.push(`room_id is ${JSON.stringify(t.room_id)}`);
    if (content?.membership !== 'join') wrong.push(`content.membership is ${JSON.stringify(content?.membership)}`);
    if (wrong.length === 0) return { ok: true };
    return {
      ok: false,
      reason: `the template is not the requested join: ${wrong.join('; ')}`,
      expected: `type m.room.member, sender and state_key ${o.request.userId}, room_id ${o.request.roomId}, content.membership "join"`,
      observed: { type: t.type, sender: t.sender, state_key: t.state_key, room_id: t.room_id, content: t.content },
    };
  },
  controls: [
    { name: 'another user', mutate: (o) => withTemplate(o, (_b, t) => { t.state_key = '@someone-else:resident.test'; t.sender = t.state_key; }) },
    { name: 'another room', mutate: (o) => withTemplate(o, (_b, t) => { t.room_id = '!elsewhere:resident.test'; }) },
    { name: 'an invite', mutate: (o) => withTemplate(o, (_b, t) => { (t.content as Record<string, unknown>).membership = 'invite'; }) },
  ],
});

export const roomVersionOffered: MakeJoinCheck = defineCheck({
  id: 'make-join/room-version-offered',
  requirement: 'MJ-04',
  title: 'the answer states a room version the joiner listed in "ver"',
  evaluate(o): Evaluation {
    const read = templateOf(o);
    if ('unusable' in read) return { notApplicable: read.unusable };
    const version = read.body.room_version;
    // An absent room_version means "1" or "2" (MJ-04).
    const meant = version === undefined ? ['1', '2'] : [version];
    if (meant.some((v) => typeof v === 'string' && o.request.supportedVersions.includes(v))) return { ok: true };
    return {
      ok: false,
      reason: version === undefined
        ? `room_version is absent, which means version 1 or 2, neither of which was offered`
        : `room_version ${JSON.stringify(version)} is not among the offered versions`,
      expected: `room_version one of ${JSON.stringify(o.request.supportedVersions)}`,
      observed: { room_version: version ?? null },
    };
  },
  controls: [
    { name: 'room_version absent', mutate: (o) => withTemplate(o, (b) => { delete b.room_version; }) },
    { name: 'unoffered room version', mutate: (o) => withTemplate(o, (b) => { b.room_version = '9999'; }) },
    { name: 'room version as a number', mutate: (o) => withTemplate(o, (b) => { b.room_version = Number(b.room_version); }) },
  ],
});

export const incompatibleVersionRefused: MakeJoinCheck = defineCheck({
  id: 'make-join/incompatible-version-refused',
  requirement: 'MJ-05',
  title: 'make_join offering none of the room\'s version is answered 400 M_INCOMPATIBLE_ROOM_VERSION naming the room version',
  evaluate(o): Evaluation {
    const v = o.request.roomVersion;
    if (o.request.unknownRoom || v === undefined || o.request.supportedVersions.includes(v)) return { notApplicable: 'the room\'s version was offered (or is not known)' };
    const body = o.response.body as Record<string, unknown> | null;
    const errcode = errcodeOfBody(body);
    const named = body && typeof body === 'object' ? body.room_version : undefined;
    if (o.response.status === 400 && errcode === 'M_INCOMPATIBLE_ROOM_VERSION' && named === v) return { ok: true };
    return {
      ok: false,
      reason: `ver=${JSON.stringify(o.request.supportedVersions)} for a room of version ${v} was answered HTTP ${o.response.status} ${String(errcode ?? '')} with room_version ${JSON.stringify(named ?? null)}`,
      expected: `HTTP 400, errcode M_INCOMPATIBLE_ROOM_VERSION, room_version ${JSON.stringify(v)}`,
      observed: { status: o.response.status, body: o.response.body },
    };
  },
  controls: [
    { name: 'a template instead', mutate: (o) => ({ ...o, response: { status: 200, body: { room_version: o.request.roomVersion, event: {} } } }) },
    { name: 'room_version missing', mutate: (o) => ({ ...o, response: { status: 400, body: { errcode: 'M_INCOMPATIBLE_ROOM_VERSION' } } }) },
    { name: 'another errcode', mutate: (o) => ({ ...o, response: { status: 400, body: { errcode: 'M_UNSUPPORTED_ROOM_VERSION', room_version: o.request.roomVersion } } }) },
  ],
});

export const unknownRoomRefused: MakeJoinCheck = defineCheck({
  id: 'make-join/unknown-room-refused',
  requirement: 'MJ-05',
  title: 'make_join for a room the resident does not know is answered 404 M_NOT_FOUND',
  evaluate(o): Evaluation {
    if (!o.request.unknownRoom) return { notApplicable: 'the room exists' };
    if (o.response.status === 404 && errcodeOfBody(o.response.body) === 'M_NOT_FOUND') return { ok: true };
    return {
      ok: false,
      reason: `make_join for the unknown room ${o.request.roomId} was answered HTTP ${o.response.status} ${String(errcodeOfBody(o.response.body) ?? '')}`,
      expected: 'HTTP 404 with errcode M_NOT_FOUND',
      observed: { status: o.response.status, body: o.response.body },
    };
  },
  controls: [
    { name: 'refused 403', mutate: (o) => ({ ...o, response: { status: 403, body: { errcode: 'M_FORBIDDEN' } } }) },
    { name: 'a 404 without errcode', mutate: (o) => ({ ...o, response: { status: 404, body: {} } }) },
  ],
});

export const notPermittedRefused: MakeJoinCheck = defineCheck({
  id: 'make-join/not-permitted-refused',
  requirement: 'MJ-05',
  title: 'make_join for a user the room does not let join (invite-only, not invited) is answered 403 M_FORBIDDEN',
  evaluate(o): Evaluation {
    if (!o.request.notPermitted) return { notApplicable: 'the user may join' };
    if (o.response.status === 403 && errcodeOfBody(o.response.body) === 'M_FORBIDDEN') return { ok: true };
    return {
      ok: false,
      reason: `make_join of ${o.request.userId}, who may not join ${o.request.roomId}, was answered HTTP ${o.response.status} ${String(errcodeOfBody(o.response.body) ?? '')}`,
      expected: 'HTTP 403 with errcode M_FORBIDDEN',
      observed: { status: o.response.status, body: o.response.body },
    };
  },
  controls: [
    { name: 'a template instead', mutate: (o) => ({ ...o, response: { status: 200, body: { room_version: '10', event: {} } } }) },
    { name: 'refused 404', mutate: (o) => ({ ...o, response: { status: 404, body: { errcode: 'M_NOT_FOUND' } } }) },
  ],
});

export const makeJoinChecks: ReadonlyArray<MakeJoinCheck> = [templateWellFormed, templateForThisJoin, roomVersionOffered, incompatibleVersionRefused, unknownRoomRefused, notPermittedRefused];
