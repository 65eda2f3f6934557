/**
 * Room versions as an axis of the resident-side tests: a test defined through
 * `forEachRoomVersion` runs once per stable room version whose features it needs (read from the
 * room-version table), tagged `@v<N>` so `--grep @v12` selects it. At run time a version the
 * candidate does not offer (its client API's `m.room_versions`) makes the test's requirements
 * "not supported" there, with the versions it does offer: an outcome, never an error.
 *
 * `LAZYJOIN_ROOM_VERSIONS` (comma-separated, e.g. `10,12`) narrows the axis for a quicker run.
 */
import type { TestInfo } from '@playwright/test';
import { test } from '../fixtures.ts';
import { recordNotSupported } from '../checks/index.ts';
import type { CandidateClient } from '../client/client.ts';
import { roomVersion, STABLE_ROOM_VERSIONS, type RoomVersion } from '../matrix/index.ts';

/** Annotation naming the room version a test's outcomes were judged in. */
export const ROOM_VERSION_ANNOTATION = 'lazyjoin-room-version';

/** Notes the room version a test judged in, once (the report groups outcomes by it). */
export function annotateRoomVersion(testInfo: TestInfo, version: string): void {
  if (!testInfo.annotations.some((a) => a.type === ROOM_VERSION_ANNOTATION)) testInfo.annotations.push({ type: ROOM_VERSION_ANNOTATION, description: version });
}

/** The versions of the axis: every stable version, or those `LAZYJOIN_ROOM_VERSIONS` names. */
export function axisRoomVersions(env: string | undefined = process.env.LAZYJOIN_ROOM_VERSIONS): RoomVersion[] {
  if (env === undefined || env.trim() === '') return STABLE_ROOM_VERSIONS.map(roomVersion);
  // roomVersion throws naming the known versions for anything else.
  return env.split(',').map((s) => s.trim()).filter(Boolean).map((id) => roomVersion(id.replace(/^v/, '')));
}

/** The tag a test in room version `v` carries. */
export function roomVersionTag(v: RoomVersion | string): string {
  return `@v${typeof v === 'string' ? v : v.id}`;
}

/**
 * Defines the tests of `define` once per room version of the axis for which `needs` holds (default:
 * all), each time inside `describe("room version N")`: a test keeps its title in every version
 * (so a baseline entry naming the title holds in all of them; one naming the title path
 * "room version N > title" in that version only), and `define` gets the version and its tag.
 */
export function forEachRoomVersion(define: (v: RoomVersion, tag: string) => void, needs: (v: RoomVersion) => boolean = () => true): void {
  for (const v of axisRoomVersions()) {
    if (needs(v)) test.describe(roomVersionTitle(v), () => define(v, roomVersionTag(v)));
  }
}

/** The describe title of a room version's tests. */
export function roomVersionTitle(v: RoomVersion | string): string {
  return `room version ${typeof v === 'string' ? v : v.id}`;
}

export interface CandidateRoomVersions {
  default?: string;
  /** Version ID -> "stable" | "unstable". */
  available: Record<string, string>;
}

/** What each candidate (by client API base URL) answered, asked once per worker. */
const asked = new Map<string, Promise<CandidateRoomVersions>>();

/** The candidate's `m.room_versions` capability; throws a one-line reason when it has none. */
export function candidateRoomVersions(client: CandidateClient): Promise<CandidateRoomVersions> {
  let answer = asked.get(client.baseUrl);
  if (!answer) {
    answer = (async () => {
      const res = await client.call<{ capabilities?: { 'm.room_versions'?: CandidateRoomVersions } }>('GET', '/_matrix/client/v3/capabilities');
      const versions = res.status === 200 ? res.body.capabilities?.['m.room_versions'] : undefined;
      if (!versions || typeof versions.available !== 'object' || versions.available === null) {
        throw new Error(`GET /_matrix/client/v3/capabilities answered HTTP ${res.status} without m.room_versions.available: ${JSON.stringify(res.body).slice(0, 300)}`);
      }
      return versions;
    })();
    answer.catch(() => asked.delete(client.baseUrl));
    asked.set(client.baseUrl, answer);
  }
  return answer;
}

/** The requirement IDs a test carries as tags (`@SJ-12`). */
export function taggedRequirements(testInfo: TestInfo): string[] {
  return testInfo.tags.map((t) => t.slice(1)).filter((t) => /^[A-Z]{2,3}-\d+[a-z]?$/.test(t));
}

/**
 * Whether the candidate offers room version `v` as stable. When it does not, every requirement the
 * test is tagged with is recorded as not supported in this version, naming the versions it does
 * offer, and the test should end there. Annotates the test with the version either way.
 */
export async function roomVersionOffered(testInfo: TestInfo, client: CandidateClient, v: RoomVersion): Promise<boolean> {
  annotateRoomVersion(testInfo, v.id);
  const { available } = await candidateRoomVersions(client);
  if (available[v.id] === 'stable') return true;
  const offered = Object.entries(available).filter(([, s]) => s === 'stable').map(([id]) => id);
  recordNotSupported(testInfo, taggedRequirements(testInfo), `room version ${v.id} is not among the candidate's stable m.room_versions (${offered.join(', ') || 'none'}${available[v.id] ? `; ${v.id} is ${available[v.id]}` : ''})`);
  return false;
}
