/**
 * Resident benchmark: the candidate holds a big room with full state (after a full join, see
 * joiner-bench.ts); a second, fresh remote joins it through the candidate, asking for partial
 * state (`omit_members=true`) and then for full state (`omit_members=false`), each time as a new
 * user. Measured: the send_join response time and size, and the candidate's CPU time.
 */
import { loadavg } from 'node:os';
import { signEvent, type PDU } from '../harness/matrix/index.ts';
import { startRemote } from '../harness/remote/remote.ts';
import type { SendJoinResponseBody } from '../harness/remote/client.ts';
import type { Candidate } from '../harness/candidates/types.ts';
import { treeUsage } from './proc-stats.ts';
import type { JoinMode } from './joiner-bench.ts';

export interface ResidentMeasurement {
  candidate: string;
  candidateVersion: string;
  members: number;
  /** What the joining remote asked for. */
  mode: JoinMode;
  run: number;
  status: number;
  /** Whether the candidate's answer left members out (`members_omitted: true`). */
  answeredPartial: boolean;
  /** Wall seconds of the send_join request as the joining remote saw it. */
  seconds: number;
  bytes: number;
  stateEvents: number;
  authChainEvents: number;
  cpuSeconds: number;
  loadAverage: number;
}

/**
 * Joins `roomId`, held by `candidate` (whose process group is `pid`), from a fresh remote in each
 * mode. Requests are made one at a time, so each CPU figure is that request's.
 */
export async function measureResident(
  candidate: Candidate,
  pid: number,
  roomId: string,
  members: number,
  run: number,
  boundMs: number,
): Promise<ResidentMeasurement[]> {
  const joining = await startRemote();
  try {
    const out: ResidentMeasurement[] = [];
    for (const mode of ['partial', 'full'] as const) {
      const userId = joining.userId(`resident-${mode}`);
      const made = await joining.client.makeJoin(candidate.serverName, roomId, userId);
      if (made.status !== 200 || !made.body) throw new Error(`make_join on ${candidate.serverName} answered ${made.status}: ${made.raw.slice(0, 300)}`);
      const { event, eventId } = signEvent(made.body.event as Omit<PDU, 'hashes' | 'signatures'>, joining.serverName, joining.key, made.body.room_version ?? '10');
      const before = treeUsage(pid);
      const t0 = performance.now();
      const res = await joining.client.request<SendJoinResponseBody>(
        'PUT',
        candidate.serverName,
        `/_matrix/federation/v2/send_join/${encodeURIComponent(roomId)}/${encodeURIComponent(eventId)}`,
        { query: { omit_members: String(mode === 'partial') }, body: event, timeoutMs: boundMs },
      );
      const seconds = (performance.now() - t0) / 1000;
      const after = treeUsage(pid);
      if (res.status !== 200 || !res.body) throw new Error(`send_join (${mode}) on ${candidate.serverName} answered ${res.status}: ${res.raw.slice(0, 300)}`);
      out.push({
        candidate: candidate.info.name,
        candidateVersion: candidate.info.version,
        members,
        mode,
        run,
        status: res.status,
        answeredPartial: res.body.members_omitted === true,
        seconds,
        bytes: Buffer.byteLength(res.raw),
        stateEvents: res.body.state.length,
        authChainEvents: res.body.auth_chain.length,
        cpuSeconds: after.cpuSeconds - before.cpuSeconds,
        loadAverage: loadavg()[0],
      });
    }
    return out;
  } finally {
    await joining.close();
  }
}
