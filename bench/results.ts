/**
 * The benchmark's results document (`bench-results/results.json`, schema
 * `schemas/bench.schema.json`): every measurement, and per (candidate, N, mode) the median and
 * spread over runs.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Ajv2020 } from 'ajv/dist/2020.js';
import type { JoinMeasurement, JoinMode } from './joiner-bench.ts';
import type { ResidentMeasurement } from './resident-bench.ts';
import type { SynthesisMeasurement } from './synthesis-bench.ts';

/** Median and spread of one figure over runs. */
export interface Spread {
  median: number;
  min: number;
  max: number;
  runs: number;
}

export interface JoinSummary {
  candidate: string;
  candidateVersion: string;
  members: number;
  mode: JoinMode;
  /** True when every run's answer was partial (for mode `partial`; a candidate that never asks gets full state). */
  answeredPartial: boolean;
  joinSeconds: Spread;
  /** Over the runs that reached "synced"; absent when none did (see `notReached`). */
  syncedSeconds?: Spread;
  /** Over the runs that reached each milestone, where measured. */
  roomInSyncSeconds?: Spread;
  othersShownSeconds?: Spread;
  /** Per milestone not reached in some run: in how many runs, and the longest it was awaited. */
  notReached?: Array<{ milestone: string; runs: number; boundSeconds: number; awaited: string; seen: string }>;
  sendJoinBytes: Spread;
  resyncBytes: Spread;
  cpuSeconds: Spread;
  peakRssBytes: Spread;
  /** Median 1-minute load average over the runs (taken at each join's start). */
  loadAverage: number;
  /** Longest stall of the suite's event loop over the runs that measured it, ms. */
  remoteStallMs?: number;
  /** The distinct HTTP statuses of /join over the runs. */
  joinStatuses?: number[];
  /** With `--database postgres`: the PostgreSQL server's CPU seconds and peak PSS over the runs. */
  databaseCpuSeconds?: Spread;
  databasePeakPssBytes?: Spread;
}

/** Full join over partial join, per figure (medians), for one candidate and N. */
export interface FullToPartialRatio {
  candidate: string;
  members: number;
  joinSeconds: number;
  syncedSeconds: number;
  bytes: number;
  cpuSeconds: number;
  peakRssBytes: number;
}

export interface BenchFailure {
  /** What was being measured, e.g. `synapse N=150000 full run 1`. */
  what: string;
  error: string;
}

export interface BenchResults {
  schema: 'lazyjoin-bench/1';
  generatedAt: string;
  quick: boolean;
  machine: { node: string; platform: string; cpus: number; cpuModel: string; memoryBytes: number };
  options: { candidates: string[]; sizes: number[]; runs: number };
  joins: JoinMeasurement[];
  joinSummaries: JoinSummary[];
  ratios: FullToPartialRatio[];
  resident: ResidentMeasurement[];
  synthesis: SynthesisMeasurement[];
  failures: BenchFailure[];
}

export function spread(values: readonly number[]): Spread {
  if (values.length === 0) throw new Error('spread of no values');
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  const median = sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
  return { median, min: sorted[0], max: sorted[sorted.length - 1], runs: sorted.length };
}

function longestStall(runs: readonly JoinMeasurement[]): { remoteStallMs?: number } {
  const measured = runs.flatMap((j) => (j.remoteStallMs === undefined ? [] : [j.remoteStallMs]));
  return measured.length ? { remoteStallMs: Math.max(...measured) } : {};
}

/** Groups join measurements by candidate, N and mode, in first-seen order. */
export function summariseJoins(joins: readonly JoinMeasurement[]): JoinSummary[] {
  const groups = new Map<string, JoinMeasurement[]>();
  for (const j of joins) {
    const key = `${j.candidate}\u0000${j.members}\u0000${j.mode}`;
    groups.set(key, [...(groups.get(key) ?? []), j]);
  }
  return [...groups.values()].map((runs) => {
    const of = (pick: (j: JoinMeasurement) => number) => spread(runs.map(pick));
    // A milestone's spread over the runs that reached it (absent when none did).
    const reached = (key: 'syncedSeconds' | 'roomInSyncSeconds' | 'othersShownSeconds') => {
      const values = runs.flatMap((j) => (typeof j[key] === 'number' ? [j[key] as number] : []));
      return values.length ? { [key]: spread(values) } : {};
    };
    const missed = new Map<string, NonNullable<JoinSummary['notReached']>[number]>();
    for (const n of runs.flatMap((j) => j.notReached ?? [])) {
      const prior = missed.get(n.milestone);
      missed.set(n.milestone, { milestone: n.milestone, runs: (prior?.runs ?? 0) + 1, boundSeconds: Math.max(prior?.boundSeconds ?? 0, n.boundSeconds), awaited: n.awaited, seen: prior?.seen ?? n.seen });
    }
    return {
      candidate: runs[0].candidate,
      candidateVersion: runs[0].candidateVersion,
      members: runs[0].members,
      mode: runs[0].mode,
      answeredPartial: runs.every((j) => j.answeredPartial),
      joinSeconds: of((j) => j.joinSeconds),
      ...reached('syncedSeconds'),
      ...reached('roomInSyncSeconds'),
      ...reached('othersShownSeconds'),
      ...(missed.size ? { notReached: [...missed.values()] } : {}),
      sendJoinBytes: of((j) => j.sendJoinBytes),
      resyncBytes: of((j) => j.resyncBytes),
      cpuSeconds: of((j) => j.cpuSeconds),
      peakRssBytes: of((j) => j.peakRssBytes),
      loadAverage: spread(runs.map((j) => j.loadAverage.start)).median,
      ...longestStall(runs),
      joinStatuses: [...new Set(runs.map((j) => j.joinStatus))].sort((a, b) => a - b),
      ...(runs.every((j) => j.database)
        ? { databaseCpuSeconds: of((j) => j.database!.cpuSeconds), databasePeakPssBytes: of((j) => j.database!.peakPssBytes) }
        : {}),
    };
  });
}

/** Full over partial medians for every (candidate, N) that has both, and whose partial joins were partial. */
export function fullToPartialRatios(summaries: readonly JoinSummary[]): FullToPartialRatio[] {
  const out: FullToPartialRatio[] = [];
  for (const partial of summaries) {
    if (partial.mode !== 'partial' || !partial.answeredPartial) continue;
    const full = summaries.find((s) => s.mode === 'full' && s.candidate === partial.candidate && s.members === partial.members);
    if (!full || !full.syncedSeconds || !partial.syncedSeconds) continue;
    const ratio = (f: Spread, p: Spread) => f.median / p.median;
    out.push({
      candidate: partial.candidate,
      members: partial.members,
      joinSeconds: ratio(full.joinSeconds, partial.joinSeconds),
      syncedSeconds: ratio(full.syncedSeconds, partial.syncedSeconds),
      bytes: (full.sendJoinBytes.median + full.resyncBytes.median) / (partial.sendJoinBytes.median + partial.resyncBytes.median),
      cpuSeconds: ratio(full.cpuSeconds, partial.cpuSeconds),
      peakRssBytes: ratio(full.peakRssBytes, partial.peakRssBytes),
    });
  }
  return out;
}

/**
 * One document from several (runs of different sizes or candidates, made one after another or
 * side by side): measurements concatenated, options united, summaries recomputed. The machine is
 * the first document's; documents from different machines are refused.
 */
export function mergeResults(docs: readonly BenchResults[]): BenchResults {
  if (docs.length === 0) throw new Error('nothing to merge');
  const [first] = docs;
  const other = docs.find((d) => d.machine.cpuModel !== first.machine.cpuModel || d.machine.cpus !== first.machine.cpus);
  if (other) throw new Error(`cannot merge results from different machines (${first.machine.cpus} × ${first.machine.cpuModel} and ${other.machine.cpus} × ${other.machine.cpuModel})`);
  // Runs are renumbered 1, 2, ... per candidate, N and mode across the documents (each document
  // numbers its own from 1); a resident measurement follows the full join it came after.
  const nextRun = new Map<string, number>();
  const renumbered = docs.map((d) => {
    const fullRun = new Map<string, number>();
    const joins = d.joins.map((j) => {
      const group = `${j.candidate}\u0000${j.members}\u0000${j.mode}`;
      const run = (nextRun.get(group) ?? 0) + 1;
      nextRun.set(group, run);
      if (j.mode === 'full') fullRun.set(`${j.candidate}\u0000${j.members}\u0000${j.run}`, run);
      return { ...j, run };
    });
    const resident = d.resident.map((r) => ({ ...r, run: fullRun.get(`${r.candidate}\u0000${r.members}\u0000${r.run}`) ?? r.run }));
    return { joins, resident };
  });
  const joins = renumbered.flatMap((d) => d.joins);
  const joinSummaries = summariseJoins(joins);
  return {
    ...first,
    generatedAt: new Date().toISOString(),
    quick: docs.some((d) => d.quick),
    options: {
      candidates: [...new Set(docs.flatMap((d) => d.options.candidates))],
      sizes: [...new Set(docs.flatMap((d) => d.options.sizes))].sort((a, b) => a - b),
      runs: Math.max(...docs.map((d) => d.options.runs)),
    },
    joins,
    joinSummaries,
    ratios: fullToPartialRatios(joinSummaries),
    resident: renumbered.flatMap((d) => d.resident),
    synthesis: docs.flatMap((d) => d.synthesis),
    failures: docs.flatMap((d) => d.failures),
  };
}

const SCHEMA_PATH = fileURLToPath(new URL('../schemas/bench.schema.json', import.meta.url));

/** Validates a results document against schemas/bench.schema.json; returns one line per error. */
export function validateResults(value: unknown): string[] {
  const ajv = new Ajv2020({ allErrors: true, strict: true });
  const check = ajv.compile(JSON.parse(readFileSync(SCHEMA_PATH, 'utf8')) as object);
  if (check(value)) return [];
  return (check.errors ?? []).map((e) => `${e.instancePath || '/'}: ${e.message ?? e.keyword}`);
}
