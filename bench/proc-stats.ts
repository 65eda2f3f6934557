/**
 * CPU time and peak resident memory of a candidate's process tree, read from procfs.
 *
 * The candidate drivers keep their child process private; the process module lists the children
 * this process started (`runningChildPids`), so the candidate's leader is the child that appeared
 * while the candidate started. Drivers start each candidate in its own process group, so the tree
 * is every process in that group.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { runningChildPids } from '../harness/candidates/process.ts';
import type { Candidate } from '../harness/candidates/types.ts';

/** Clock ticks per second of the utime/stime fields of /proc/<pid>/stat. */
const CLOCK_TICKS = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

export interface TreeUsage {
  /** User + system CPU seconds of every live process in the group, reaped children included. */
  cpuSeconds: number;
  /** Sum over the group of each process's peak resident set (VmHWM), in bytes. */
  peakRssBytes: number;
  processes: number;
}

/** Fields of /proc/<pid>/stat after the command name (which may contain spaces and parentheses). */
function statFields(pid: number): string[] | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  } catch {
    return undefined; // gone meanwhile
  }
}

/** Pids of every process whose process group is `pgid`. */
export function processGroup(pgid: number): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const fields = statFields(Number(entry));
    // After the name: state(0) ppid(1) pgrp(2)
    if (fields && Number(fields[2]) === pgid) pids.push(Number(entry));
  }
  return pids;
}

function peakRssOf(pid: number): number {
  try {
    const match = /^VmHWM:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

/**
 * `root` and every process descended from it (by parent pid): for a server whose children leave
 * its process group, as PostgreSQL's backends do (each calls setsid).
 */
export function processTree(root: number): number[] {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const fields = statFields(Number(entry));
    if (!fields) continue;
    const ppid = Number(fields[1]);
    children.set(ppid, [...(children.get(ppid) ?? []), Number(entry)]);
  }
  const out: number[] = [];
  const stack = [root];
  while (stack.length) {
    const pid = stack.pop()!;
    out.push(pid);
    stack.push(...(children.get(pid) ?? []));
  }
  return out;
}

/** Reads the usage of the process group led by `pgid` now (or, with `tree`, of `pgid`'s process tree). */
export function treeUsage(pgid: number, tree = false): TreeUsage {
  let ticks = 0;
  let peakRssBytes = 0;
  const pids = tree ? processTree(pgid) : processGroup(pgid);
  for (const pid of pids) {
    const f = statFields(pid);
    if (!f) continue;
    // utime(11) stime(12) cutime(13) cstime(14), counted from the state field.
    ticks += Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14]);
    peakRssBytes += peakRssOf(pid);
  }
  return { cpuSeconds: ticks / CLOCK_TICKS, peakRssBytes, processes: pids.length };
}

/**
 * Resets the peak resident set (VmHWM) of every process in the group to its current size
 * (`echo 5 > /proc/<pid>/clear_refs`), so that a later peak belongs to what happened since.
 * Returns false when the kernel refused (the peak then counts from process start).
 */
export function resetPeakRss(pgid: number): boolean {
  let ok = true;
  for (const pid of processGroup(pgid)) {
    try {
      writeFileSync(`/proc/${pid}/clear_refs`, '5');
    } catch {
      ok = false;
    }
  }
  return ok;
}

/**
 * Starts `candidate` and returns the pid of the process it spawned (its process group leader).
 * Throws a one-line error when the start did not add exactly one child (an external candidate,
 * or another candidate starting concurrently in this process).
 */
export async function startAndFindPid(candidate: Candidate): Promise<number> {
  const before = new Set(runningChildPids());
  await candidate.start();
  const added = runningChildPids().filter((pid) => !before.has(pid));
  if (added.length !== 1) {
    throw new Error(`cannot tell the process of ${candidate.info.name}: its start added ${added.length} child processes (benchmarks need a process candidate started alone)`);
  }
  return added[0];
}

/** Sum of the proportional set size (PSS) over `root`'s process tree: shared pages counted once in all, bytes. */
export function treePss(root: number): number {
  let total = 0;
  for (const pid of processTree(root)) {
    try {
      const match = /^Pss:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'));
      if (match) total += Number(match[1]) * 1024;
    } catch {
      // gone meanwhile
    }
  }
  return total;
}

/** Samples `treePss(root)` every `intervalMs` until `stop()`, which returns the peak. */
export function samplePeakPss(root: number, intervalMs = 500): { peak(): number; stop(): number } {
  let peak = treePss(root);
  const timer = setInterval(() => {
    peak = Math.max(peak, treePss(root));
  }, intervalMs);
  timer.unref(); // a measurement that failed must not keep the process alive
  return {
    /** The peak so far (one more sample taken now), sampling going on. */
    peak() {
      peak = Math.max(peak, treePss(root));
      return peak;
    },
    stop() {
      clearInterval(timer);
      return Math.max(peak, treePss(root));
    },
  };
}
