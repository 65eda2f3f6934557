/**
 * The benchmark end to end in quick mode (rooms of 50 and 200 members, one run) against a real
 * Synapse: it must run through and produce well-formed figures. No speed is asserted: the
 * figures depend on the machine and its load.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, test } from '@playwright/test';
import { parseBenchArgs } from '../../bench/options.ts';
import { validateResults, type BenchResults } from '../../bench/results.ts';
import { runBench } from '../../bench/run.ts';

/** Whether bench/profile.ts will find py-spy (env LAZYJOIN_PY_SPY, else PATH). */
function pySpyAvailable(): boolean {
  const found = spawnSync(process.env.LAZYJOIN_PY_SPY ?? 'py-spy', ['--version'], { encoding: 'utf8' });
  return found.status === 0;
}

test('quick benchmark on Synapse: schema-valid results, partial and full joins as asked, profiles or why not, a plot and a page', async () => {
  // Installing Synapse on a cold cache takes minutes; the four joins take seconds each.
  test.setTimeout(15 * 60_000);
  const outDir = mkdtempSync(join(tmpdir(), 'lazyjoin-bench-quick-'));
  const log: string[] = [];
  const returned = await runBench({ ...parseBenchArgs(['--quick', '--candidate', 'synapse', '--profile']), outDir }, (line) => log.push(line));

  const written = JSON.parse(readFileSync(join(outDir, 'results.json'), 'utf8')) as BenchResults;
  expect(validateResults(written)).toEqual([]);
  expect(written.failures, log.join('\n')).toEqual([]);
  expect(written.joins).toEqual(returned.joins);
  expect(written.joins.map((j) => `${j.members} ${j.mode}`)).toEqual(['50 partial', '50 full', '200 partial', '200 full']);
  let profiledSamples = 0;
  for (const j of written.joins) {
    // Synapse asks for partial state; the remote honours it only in partial mode.
    expect(j.askedOmitMembers).toBe('true');
    expect(j.answeredPartial).toBe(j.mode === 'partial');
    expect(j.peakRssBytes).toBeGreaterThan(0);
    expect(j.remoteStallMs).toBeGreaterThanOrEqual(0);
    // Synapse reaches every milestone, in order; "synced" comes with the others shown.
    expect(j.notReached, log.join('\n')).toBeUndefined();
    expect(j.usageUntil).toBe('synced');
    expect(j.roomInSyncSeconds).toBeGreaterThan(0);
    expect(j.othersShownSeconds).toBeGreaterThanOrEqual(j.roomInSyncSeconds!);
    expect(j.syncedSeconds).toBeGreaterThanOrEqual(j.othersShownSeconds!);
    // --profile: a py-spy profile where py-spy is installed, else the reason there is none.
    if (pySpyAvailable()) {
      expect(j.profileError, log.join('\n')).toBeUndefined();
      const summary = readFileSync(join(outDir, j.profile!), 'utf8');
      // A join of 50 members can be over between two samples (seen: a full join at N=50 with 0
      // busy samples on a quiet machine), so each profile need only say how many it took; the
      // four together must have sampled something.
      const samples = /^synapse N=\d+ (?:partial|full) run 1: py-spy at 50 Hz, (\d+) samples/.exec(summary);
      expect(samples, summary).not.toBeNull();
      profiledSamples += Number(samples![1]);
      expect(summary).toContain("Synapse's handlers, federation, storage, state, auth and crypto code, inclusive");
    } else {
      expect(j.profile).toBeUndefined();
      expect(j.profileError).toMatch(/^py-spy could not start/);
    }
  }
  if (pySpyAvailable()) expect(profiledSamples, 'py-spy samples over the four joins').toBeGreaterThan(0);
  const [partial200, full200] = written.joins.slice(2);
  // A full answer carries every membership; a partial one none, so the resync fetches them.
  expect(full200.sendJoinEvents).toBeGreaterThan(200);
  expect(partial200.sendJoinEvents).toBeLessThan(20);
  expect(partial200.resyncRequests).toBeGreaterThan(0);
  expect(written.resident.map((r) => `${r.members} ${r.mode} ${r.answeredPartial}`)).toEqual(['50 partial true', '50 full false', '200 partial true', '200 full false']);
  expect(written.synthesis).toHaveLength(1);
  expect(written.ratios.map((r) => r.members)).toEqual([50, 200]);

  const svg = readFileSync(join(outDir, 'synapse.svg'), 'utf8');
  expect(svg).toMatch(/^<svg xmlns="http:\/\/www.w3.org\/2000\/svg"/);
  expect(svg.match(/<circle /g)).toHaveLength(8);
  expect(readFileSync(join(outDir, 'index.html'), 'utf8')).toContain(svg);
  expect(existsSync(join(outDir, 'results.md'))).toBe(true);
});
