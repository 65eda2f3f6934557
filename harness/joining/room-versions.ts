/**
 * Which room version a joining-side test builds its rooms in.
 *
 * The joining suite runs in the candidate's default room version (its /capabilities
 * `m.room_versions.default`), and a core set of scenarios runs again in each version of
 * CORE_ROOM_VERSIONS, declared inside `inCoreRoomVersions(...)`, which tags each copy `@v<N>`.
 * The tag is what the test covers and also what it builds: the `roomVersion` fixture reads it, and
 * the remote creates rooms in that version unless a test names another. A copy in a version the
 * candidate does not offer records its requirements as "not supported"; a copy in the candidate's
 * default version is skipped, since the untagged run already covers it.
 */
import type { TestInfo } from '@playwright/test';
import { test } from '@playwright/test';
import { recordNotSupported } from '../checks/judge.ts';
import { requirementTags } from '../report/aggregate.ts';
import type { Room } from '../remote/room.ts';

/** The versions every core joining scenario runs in, whatever the candidate's default. */
export const CORE_ROOM_VERSIONS = ['10', '11', '12'] as const;

/** What a candidate says about room versions (client /capabilities, `m.room_versions`). */
export interface CandidateRoomVersions {
  default: string;
  /** Version -> 'stable' | 'unstable'. */
  available: Record<string, string>;
}

const VERSION_TAG = /^@v(\d+)$/;

/** The room version a test's tags name (`@v11`), or undefined; two such tags are an error. */
export function taggedRoomVersion(tags: readonly string[]): string | undefined {
  const versions = tags.flatMap((t) => VERSION_TAG.exec(t)?.[1] ?? []);
  if (versions.length > 1) throw new Error(`a test builds its rooms in one room version; it is tagged ${versions.map((v) => `@v${v}`).join(' and ')}`);
  return versions[0];
}

/** Reads `m.room_versions` from a /capabilities answer body; throws a one-line error when it is malformed. */
export function roomVersionsFromCapabilities(body: unknown): CandidateRoomVersions {
  const versions = (body as { capabilities?: { 'm.room_versions'?: { default?: unknown; available?: unknown } } } | null)?.capabilities?.['m.room_versions'];
  if (typeof versions?.default !== 'string' || typeof versions.available !== 'object' || versions.available === null) {
    throw new Error(`the candidate's /capabilities has no usable m.room_versions (default and available): ${JSON.stringify(body).slice(0, 300)}`);
  }
  return { default: versions.default, available: versions.available as Record<string, string> };
}

/** Marks the copies `inCoreRoomVersions` declares. */
const CORE_COPY_ANNOTATION = 'lazyjoin-room-version-copy';

/**
 * The room version of the running test: its `@v<N>` tag, else the candidate's default. For a copy
 * of `inCoreRoomVersions` that the candidate cannot run, or need not, ends the test here (see the
 * file comment).
 */
export function roomVersionForTest(testInfo: TestInfo, candidate: CandidateRoomVersions): string {
  const tagged = taggedRoomVersion(testInfo.tags);
  if (tagged === undefined) return candidate.default;
  if (!testInfo.annotations.some((a) => a.type === CORE_COPY_ANNOTATION)) return tagged;
  if (tagged === candidate.default) {
    testInfo.skip(true, `room version ${tagged} is the candidate's default: the untagged copy of this test runs in it`);
  } else if (!(tagged in candidate.available)) {
    const why = `room version ${tagged} is not among the candidate's room versions (/capabilities m.room_versions.available: ${Object.keys(candidate.available).join(', ')})`;
    recordNotSupported(testInfo, requirementTags(testInfo.tags), why);
    testInfo.skip(true, why);
  }
  return tagged;
}

/**
 * Declares the tests of `body` once (run in the candidate's default room version), then once more
 * per version of CORE_ROOM_VERSIONS, each copy in a `room version N` group tagged `@vN`; `body`
 * gets the copy's version (undefined for the first declaration) to leave costly tests out of copies.
 */
export function inCoreRoomVersions(body: (copy: string | undefined) => void): void {
  body(undefined);
  for (const version of CORE_ROOM_VERSIONS) {
    test.describe(`room version ${version}`, { tag: `@v${version}`, annotation: { type: CORE_COPY_ANNOTATION, description: version } }, () => body(version));
  }
}

/**
 * The IDs of the current state events of `types` (state key ''), as a forged event cites them in
 * its `auth_events`: the create event is left out where the room version implies it (v12+, whose
 * room ID is the create event's), since citing it there makes the event invalid for another reason
 * than the one a scenario is about.
 */
export function citedAuthEvents(room: Room, types: readonly string[]): string[] {
  return types
    .filter((t) => t !== 'm.room.create' || room.version.createInAuthEvents)
    .map((t) => {
      const id = room.stateEventId(t, '');
      if (!id) throw new Error(`${room.roomId} has no ${t} to cite as an auth event`);
      return id;
    });
}
