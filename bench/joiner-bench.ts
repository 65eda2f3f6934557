/**
 * Joiner benchmark: a fresh candidate's user joins a big room on a fresh remote, with partial
 * state (the remote honours `omit_members`) or full state (the remote ignores it), and we time
 * the client `/join`, then the room's appearance with every joined member in an eager `/sync`
 * (for a partial join: the resync is complete), and count the bytes the remote served and the
 * candidate's CPU time and peak memory over the whole join.
 *
 * After a full join the candidate holds the big room with full state, which the resident
 * benchmark reuses (see resident-bench.ts): `measureJoin` hands it over through `afterJoin`.
 */
import { mkdirSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { request } from 'undici';
import { createCandidate, defaultCacheDir } from '../harness/candidates/index.ts';
import type { Candidate } from '../harness/candidates/types.ts';
import { CandidateClient } from '../harness/client/client.ts';
import type { SyncResponse } from '../harness/client/types.ts';
import { issueServerCert, suiteCA } from '../harness/remote/pki.ts';
import { startRemote, type Remote } from '../harness/remote/remote.ts';
import { responseText, type RouteName, type RouteResponse } from '../harness/remote/routing.ts';
import { sendJoinHandler } from '../harness/remote/routes/membership.ts';
import type { PostgresService } from '../harness/candidates/postgres.ts';
import { resetPeakRss, samplePeakPss, startAndFindPid, treeUsage } from './proc-stats.ts';
import { freeLoopbackPort, startPprof, startPySpy, type RunningProfiler } from './profile.ts';
import { buildBenchRoom, type BenchRoom } from './room-shape.ts';

export type JoinMode = 'partial' | 'full';

/** Routes a candidate may use to resync a room's state after a partial join. */
const RESYNC_ROUTES: readonly RouteName[] = ['state', 'state_ids', 'event', 'event_auth', 'get_missing_events', 'backfill'];

/** Each eager /sync long poll waits at most this long for news. */
const SYNC_POLL_MS = 5_000;

/**
 * Once the room shows every joined member but the joiner, how much longer "synced" (the joiner's
 * own membership too) is awaited. The two come in the same /sync answer from a candidate that
 * shows its own membership; one that never does (Palpo 0.0.2) gets this long, then "synced" is
 * recorded as not reached.
 */
export const SYNCED_GRACE_MS = 30_000;

/** The milestones after the `/join` answer, in order, each timed from the `/join` request. */
export const SYNC_MILESTONES = {
  roomInSync: "the room in the join section of an eager /sync",
  othersShown: "every joined member other than the joiner in the room's eager /sync state and timeline",
  synced: "every joined member, the joiner's own membership included, in the room's eager /sync state and timeline",
} as const;
export type SyncMilestone = keyof typeof SYNC_MILESTONES;

/** A milestone the join did not reach: how long it was awaited and what was seen meanwhile. */
export interface MilestoneNotReached {
  milestone: SyncMilestone | 'join';
  /** What was awaited, in words. */
  awaited: string;
  /** Seconds from the `/join` request until it stopped being awaited. */
  boundSeconds: number;
  /** What the last answers showed. */
  seen: string;
}

export interface JoinMeasurement {
  candidate: string;
  candidateVersion: string;
  members: number;
  mode: JoinMode;
  run: number;
  /** What the candidate asked for in its send_join query (`omit_members`), or null when absent. */
  askedOmitMembers: string | null;
  /** Whether the remote's answer left members out (`members_omitted: true`). */
  answeredPartial: boolean;
  /** Wall seconds of the client `/join`, and its HTTP status (Dendrite answers 202 after 20 s). */
  joinSeconds: number;
  joinStatus: number;
  /**
   * Wall seconds from the `/join` request until the room shows every joined member in an eager
   * /sync; null when not reached within the bound (see `notReached`).
   */
  syncedSeconds: number | null;
  /** Wall seconds from the `/join` request until the room is in the join section of an eager /sync (null: not reached). Absent in results from before it was measured. */
  roomInSyncSeconds?: number | null;
  /** Wall seconds from the `/join` request until the room shows every joined member but the joiner (null: not reached). Absent in results from before it was measured. */
  othersShownSeconds?: number | null;
  /** The milestones not reached, each with its bound. */
  notReached?: MilestoneNotReached[];
  /** The milestone until which CPU and memory were measured: "synced", else the last reached, else the bound. */
  usageUntil?: SyncMilestone | 'bound';
  sendJoinBytes: number;
  /** Events in the send_join answer (`state` + `auth_chain`). */
  sendJoinEvents: number;
  /** Bytes of every answer on the resync routes, and how many requests. */
  resyncBytes: number;
  resyncRequests: number;
  /** The candidate's CPU seconds (all processes, user + system) from `/join` until synced (see `usageUntil`). */
  cpuSeconds: number;
  /** Peak resident memory of the candidate during the join (peak counter reset just before), bytes. */
  peakRssBytes: number;
  /** False when the kernel would not reset the peak counter: the peak then counts from start. */
  peakSinceJoin: boolean;
  room: { events: number; stateSize: number; servers: number; memberships: Record<string, number>; buildSeconds: number };
  /** 1-minute load average when the join started and when it was synced. */
  loadAverage: { start: number; end: number };
  /**
   * Longest event-loop stall of the suite's process (which hosts the remote and its bystanders)
   * from the /join request until synced, ms: how long a key or state request from the candidate
   * could have waited on the suite. Absent in results from before it was measured.
   */
  remoteStallMs?: number;
  /** With `--profile`: the profile's summary, relative to the results folder. */
  profile?: string;
  /** With `--profile`: why no profile was taken (the join is measured all the same). */
  profileError?: string;
  /** With `--database postgres`: the PostgreSQL server's CPU and peak PSS from `/join` until synced. */
  database?: { name: 'postgres'; version: string; cpuSeconds: number; peakPssBytes: number };
}

/** Bytes and number of the answers the remote (bystanders included) gave on `routes`, from its request log. */
function served(remote: Remote, routes: readonly RouteName[]): { bytes: number; requests: number } {
  let bytes = 0;
  let requests = 0;
  for (const route of routes) {
    for (const r of remote.requests(route)) {
      if (r.status === undefined) continue;
      bytes += r.responseBytes ?? 0;
      requests += 1;
    }
  }
  return { bytes, requests };
}

/** A fresh candidate instance (not started), in its own folder under `workRoot`. */
export function newCandidate(name: string, workRoot: string, instanceName: string): Candidate {
  const workDir = join(workRoot, instanceName);
  mkdirSync(workDir, { recursive: true });
  return createCandidate(name, { instanceName, workDir, cacheDir: defaultCacheDir(), caCertPath: suiteCA().certPath, issueCert: issueServerCert });
}

interface SyncProgress {
  /** performance.now() when each milestone was first seen. */
  at: Partial<Record<SyncMilestone, number>>;
  /** Why the wait stopped early: the bound, or the grace after every other member was shown. */
  stoppedAt: number;
  seen: string;
}

/**
 * Polls an eager /sync (no lazy loading) until `roomId` is joined with `expectedOthers` joined
 * members besides `ownUserId` and the joiner's own membership (the "synced" milestone), noting
 * when each earlier milestone was first seen (`onMilestone` runs then). Never waits past
 * `deadline`, nor past `graceMs` after every other member was shown; returns what was reached.
 * Each answer is parsed inside `parse` (so the caller can keep the suite's own parsing of a big
 * /sync out of what it measures of the remote).
 */
async function awaitEagerSync(opts: {
  client: CandidateClient;
  roomId: string;
  ownUserId: string;
  expectedOthers: number;
  deadline: number;
  graceMs: number;
  parse: (text: string) => SyncResponse;
  /** Runs when a milestone is first seen, with the number of /sync answers read so far and where the joiner's own membership was last seen. */
  onMilestone: (m: SyncMilestone, answers: number, own: string) => void;
}): Promise<SyncProgress> {
  const { client, roomId, ownUserId, expectedOthers } = opts;
  const joined = new Set<string>();
  const at: SyncProgress['at'] = {};
  let answers = 0;
  let own = 'not seen';
  const reach = (m: SyncMilestone) => {
    if (at[m] !== undefined) return;
    at[m] = performance.now();
    opts.onMilestone(m, answers, own);
  };
  let deadline = opts.deadline;
  let since: string | undefined;
  const others = () => joined.size - (joined.has(ownUserId) ? 1 : 0);
  const seen = () =>
    at.roomInSync === undefined
      ? 'the room never in the join section'
      : `${others()} of ${expectedOthers} other joined members in ${answers} answers, the joiner's own membership: ${own}`;
  for (;;) {
    const remaining = deadline - Date.now();
    if (remaining <= 0) break;
    const poll = since === undefined ? 0 : Math.min(SYNC_POLL_MS, remaining);
    const query = new URLSearchParams({ timeout: String(poll), ...(since === undefined ? {} : { since }) });
    const res = await request(`${client.baseUrl}/_matrix/client/v3/sync?${query}`, {
      headers: { authorization: `Bearer ${client.user.accessToken}` },
      headersTimeout: Math.max(remaining, 1),
      bodyTimeout: Math.max(remaining, 1),
    });
    const text = await res.body.text();
    if (res.statusCode !== 200) throw new Error(`GET /sync answered ${res.statusCode}: ${text.slice(0, 300)}`);
    const body = opts.parse(text);
    answers += 1;
    const room = body.rooms?.join?.[roomId];
    const fromState = room?.state?.events ?? [];
    for (const e of [...fromState, ...(room?.timeline?.events ?? [])]) {
      if (e.type !== 'm.room.member' || e.state_key === undefined) continue;
      if (e.state_key === ownUserId) own = `${e.content.membership} in the ${fromState.includes(e) ? 'state' : 'timeline'} of answer ${answers}`;
      if (e.content.membership === 'join') joined.add(e.state_key);
      else joined.delete(e.state_key);
    }
    if (room) reach('roomInSync');
    if (at.roomInSync !== undefined && others() >= expectedOthers) {
      if (at.othersShown === undefined) {
        reach('othersShown');
        deadline = Math.min(deadline, Date.now() + opts.graceMs);
      }
      if (joined.has(ownUserId)) {
        reach('synced');
        break;
      }
    }
    since = body.next_batch;
  }
  return { at, stoppedAt: performance.now(), seen: seen() };
}

export interface JoinRunOptions {
  candidateName: string;
  members: number;
  mode: JoinMode;
  run: number;
  /** Folder for the candidate instances. */
  workRoot: string;
  /** Bound on the join plus the resync. */
  boundMs: number;
  /** Runs with the candidate still up and holding the joined room, before teardown. */
  afterJoin?: (held: { candidate: Candidate; pid: number; remote: Remote; bench: BenchRoom }) => Promise<void>;
  /** Profile the candidate from /join until synced, writing under this folder (see profile.ts). */
  profileDir?: string;
  /** The PostgreSQL server the candidate uses, whose CPU and memory are measured alongside. */
  postgres?: PostgresService;
  log?: (line: string) => void;
}

/** One join of a fresh candidate into a fresh room; tears everything down afterwards. */
export async function measureJoin(opts: JoinRunOptions): Promise<JoinMeasurement> {
  const log = opts.log ?? (() => undefined);
  const label = `${opts.candidateName} N=${opts.members} ${opts.mode} run ${opts.run}`;
  const candidate = newCandidate(opts.candidateName, opts.workRoot, `bench-${opts.candidateName}-${opts.members}-${opts.mode}-${opts.run}`);
  const remote = await startRemote();
  let profiler: RunningProfiler | undefined;
  try {
    // Dendrite serves Go's pprof when started with PPROFLISTEN (read from the environment at start).
    const pprofAddress = opts.profileDir && opts.candidateName === 'dendrite' ? `127.0.0.1:${await freeLoopbackPort()}` : undefined;
    if (pprofAddress) process.env.PPROFLISTEN = pprofAddress;
    let pid: number;
    let bench: BenchRoom;
    try {
      [pid, bench] = await Promise.all([startAndFindPid(candidate), buildBenchRoom(remote, opts.members)]);
    } finally {
      delete process.env.PPROFLISTEN;
    }
    log(`${label}: room built (${bench.events} events, ${bench.stateSize} state) in ${bench.buildSeconds.toFixed(1)} s; candidate pid ${pid}`);
    const { room } = bench;

    let sendJoinAnswer: RouteResponse | undefined;
    const answer = sendJoinHandler({ ignoreOmitMembers: opts.mode === 'full' });
    remote.route('send_join', async (ctx) => {
      const response = await answer(ctx);
      // Kept and read after the measurement: serialising and parsing tens of MB here would hold
      // the remote's event loop while the candidate fetches keys from it.
      if (response.status === 200) sendJoinAnswer = response;
      return response;
    });

    const client = new CandidateClient(candidate.clientUrl, await candidate.registerUser());
    const ownUserId = client.user.userId;
    const expectedOthers = room.members().filter((m) => m.membership === 'join').length;
    const peakSinceJoin = resetPeakRss(pid);
    const before = treeUsage(pid);
    const pg = opts.postgres;
    const pgBefore = pg ? treeUsage(pg.pid, true) : undefined;
    const pgPss = pg ? samplePeakPss(pg.pid) : undefined;
    const loadStart = loadavg()[0];
    const deadline = Date.now() + opts.boundMs;
    // The remote shares this process: its longest stall shows whether it kept up with the candidate.
    const stall = monitorEventLoopDelay({ resolution: 20 });
    stall.enable();
    if (opts.profileDir) profiler = pprofAddress ? startPprof(pprofAddress, label, opts.profileDir) : startPySpy(pid, label, opts.profileDir);
    // CPU and memory are read when a milestone is reached; the figures kept are those at "synced",
    // else at the last milestone reached (a candidate idles while an unreached one is awaited).
    let usageUntil: SyncMilestone | 'bound' = 'bound';
    let usage: { candidate: ReturnType<typeof treeUsage>; pgCpu?: number; pgPss?: number } | undefined;
    const takeUsage = (until: SyncMilestone | 'bound') => {
      usageUntil = until;
      usage = { candidate: treeUsage(pid), pgCpu: pg ? treeUsage(pg.pid, true).cpuSeconds : undefined, pgPss: pgPss?.peak() };
    };
    const t0 = performance.now();
    const joinBound = `${(opts.boundMs / 1000).toFixed(0)} s`;
    const joined = await client
      .call('POST', `/_matrix/client/v3/join/${encodeURIComponent(room.roomId)}`, {
        query: { server_name: [remote.serverName], via: [remote.serverName] },
        body: {},
        kind: 'join',
        timeoutMs: opts.boundMs,
      })
      .catch((err: Error) => {
        // What the join cost until the bound, as for a join that answered.
        const now = treeUsage(pid);
        const spent = [
          `meanwhile the candidate used ${(now.cpuSeconds - before.cpuSeconds).toFixed(1)} CPU s, peak RSS ${(now.peakRssBytes / 2 ** 20).toFixed(0)} MiB`,
          ...(pg && pgBefore && pgPss ? [`PostgreSQL ${(treeUsage(pg.pid, true).cpuSeconds - pgBefore.cpuSeconds).toFixed(1)} CPU s, peak PSS ${(pgPss.stop() / 2 ** 20).toFixed(0)} MiB`] : []),
          `load ${loadStart.toFixed(1)} at the start, ${loadavg()[0].toFixed(1)} at the bound`,
        ];
        throw new Error(`did not join within ${joinBound} (awaited: the answer to POST /join; ${err.message.split('\n')[0]}; ${spent.join('; ')})`);
      });
    const joinSeconds = (performance.now() - t0) / 1000;
    joined.ok();
    log(`${label}: /join ${joined.status} after ${joinSeconds.toFixed(2)} s`);
    const progress = await awaitEagerSync({
      client,
      roomId: room.roomId,
      ownUserId,
      expectedOthers,
      deadline,
      graceMs: SYNCED_GRACE_MS,
      parse: (text) => {
        // The suite parsing the candidate's answer (up to ~100 MB at the end) is not the remote stalling.
        stall.disable();
        try {
          return JSON.parse(text) as SyncResponse;
        } finally {
          stall.enable();
        }
      },
      onMilestone: (m, answers, own) => {
        log(`${label}: ${m} after ${((performance.now() - t0) / 1000).toFixed(2)} s (/sync answer ${answers}; own membership: ${own})`);
        if (m !== 'roomInSync') takeUsage(m);
      },
    });
    if (!usage) takeUsage('bound');
    const seconds = (m: SyncMilestone) => (progress.at[m] === undefined ? null : (progress.at[m]! - t0) / 1000);
    const syncedSeconds = seconds('synced');
    const stoppedSeconds = (progress.stoppedAt - t0) / 1000;
    const notReached: MilestoneNotReached[] = (Object.keys(SYNC_MILESTONES) as SyncMilestone[])
      .filter((m) => progress.at[m] === undefined)
      .map((m) => ({ milestone: m, awaited: SYNC_MILESTONES[m], boundSeconds: Math.round(stoppedSeconds), seen: progress.seen }));
    for (const n of notReached) log(`${label}: ${n.milestone} not reached within ${n.boundSeconds} s (awaited: ${n.awaited}; seen: ${n.seen})`);
    const after = usage!.candidate;
    const pgAfter = usage!;
    const database =
      pg && pgBefore && pgPss
        ? { name: 'postgres' as const, version: pg.version, cpuSeconds: pgAfter.pgCpu! - pgBefore.cpuSeconds, peakPssBytes: Math.max(pgAfter.pgPss!, 0) }
        : undefined;
    pgPss?.stop();
    stall.disable();
    let profile: { profile?: string; profileError?: string } = {};
    if (profiler) {
      const running = profiler;
      profiler = undefined;
      try {
        profile = { profile: (await running.stop()).summary };
      } catch (err) {
        profile = { profileError: (err as Error).message };
      }
    }
    if (sendJoinAnswer === undefined) throw new Error(`the candidate joined ${room.roomId} without a successful send_join on the remote`);
    const answerBody = JSON.parse(responseText(sendJoinAnswer)) as { state: unknown[]; auth_chain: unknown[]; members_omitted?: boolean };
    const sendJoin = remote.requests('send_join').find((r) => r.status === 200);
    const sendJoinServed = served(remote, ['send_join']);
    const resyncServed = served(remote, RESYNC_ROUTES);
    const asked = sendJoin?.query.omit_members;
    const measurement: JoinMeasurement = {
      candidate: candidate.info.name,
      candidateVersion: candidate.info.version,
      members: opts.members,
      mode: opts.mode,
      run: opts.run,
      askedOmitMembers: asked === undefined ? null : [asked].flat().join(','),
      answeredPartial: answerBody.members_omitted === true,
      joinSeconds,
      joinStatus: joined.status,
      syncedSeconds,
      roomInSyncSeconds: seconds('roomInSync'),
      othersShownSeconds: seconds('othersShown'),
      ...(notReached.length ? { notReached } : {}),
      usageUntil,
      sendJoinBytes: sendJoinServed.bytes,
      sendJoinEvents: answerBody.state.length + answerBody.auth_chain.length,
      resyncBytes: resyncServed.bytes,
      resyncRequests: resyncServed.requests,
      cpuSeconds: after.cpuSeconds - before.cpuSeconds,
      peakRssBytes: after.peakRssBytes,
      peakSinceJoin,
      room: { events: bench.events, stateSize: bench.stateSize, servers: bench.bystanders.length + 1, memberships: bench.memberships, buildSeconds: bench.buildSeconds },
      loadAverage: { start: loadStart, end: loadavg()[0] },
      remoteStallMs: Math.round(stall.max / 1e6),
      ...profile,
      ...(database ? { database } : {}),
    };
    if (database) log(`${label}: PostgreSQL CPU ${database.cpuSeconds.toFixed(1)} s; peak PSS ${(database.peakPssBytes / 2 ** 20).toFixed(0)} MiB`);
    log(`${label}: ${syncedSeconds === null ? 'synced not reached' : `synced after ${syncedSeconds.toFixed(2)} s`}; ${(measurement.sendJoinBytes / 1e6).toFixed(2)} MB send_join + ${(measurement.resyncBytes / 1e6).toFixed(2)} MB resync; CPU ${measurement.cpuSeconds.toFixed(1)} s; peak RSS ${(measurement.peakRssBytes / 2 ** 20).toFixed(0)} MiB; load ${loadStart.toFixed(1)}`);
    // The resident benchmark needs the candidate to hold every member of the room.
    if (opts.afterJoin && progress.at.othersShown !== undefined) await opts.afterJoin({ candidate, pid, remote, bench });
    return measurement;
  } catch (err) {
    throw new Error(`${label}: ${(err as Error).message}\n--- candidate log tail ---\n${candidate.logTail(30)}`);
  } finally {
    await profiler?.stop().catch(() => undefined); // a join that failed: its profile is not recorded
    await remote.close();
    await candidate.teardown();
  }
}
