/**
 * The benchmark's bookkeeping without a candidate: argument parsing, medians and ratios, the
 * results schema (with negative controls), and the Markdown, SVG and HTML renderings.
 */
import { expect, test } from '@playwright/test';
import type { JoinMeasurement } from '../../bench/joiner-bench.ts';
import { parseBenchArgs } from '../../bench/options.ts';
import { bytesText, joinsNotAnswered, logTicks, renderHtml, renderMarkdown, renderPlotSvg } from '../../bench/render.ts';
import { fullToPartialRatios, mergeResults, spread, summariseJoins, validateResults, type BenchResults } from '../../bench/results.ts';
import { pySpySummary } from '../../bench/profile.ts';
import { summariseFolded } from '../../bench/where-time-goes.ts';

function join(mode: 'partial' | 'full', members: number, run: number, syncedSeconds: number): JoinMeasurement {
  const partial = mode === 'partial';
  return {
    candidate: 'synapse',
    candidateVersion: '1.98.0',
    members,
    mode,
    run,
    askedOmitMembers: 'true',
    answeredPartial: partial,
    joinSeconds: syncedSeconds / 2,
    joinStatus: 200,
    syncedSeconds,
    sendJoinBytes: partial ? 4_000 : members * 1_000,
    sendJoinEvents: partial ? 8 : members * 2,
    resyncBytes: partial ? members * 1_100 : 0,
    resyncRequests: partial ? 3 : 0,
    cpuSeconds: syncedSeconds * 0.8,
    peakRssBytes: 200 * 2 ** 20,
    peakSinceJoin: true,
    room: { events: members * 2, stateSize: members + 6, servers: 10, memberships: { join: members / 2, leave: members / 2 }, buildSeconds: 0.5 },
    loadAverage: { start: 2.5, end: 2.7 },
  };
}

function results(joins: JoinMeasurement[]): BenchResults {
  const joinSummaries = summariseJoins(joins);
  return {
    schema: 'lazyjoin-bench/1',
    generatedAt: '2026-01-02T03:04:05.678Z',
    quick: true,
    machine: { node: 'v20.0.0', platform: 'linux x64', cpus: 2, cpuModel: 'test CPU', memoryBytes: 2 ** 34 },
    options: { candidates: ['synapse'], sizes: [100, 1000], runs: 3 },
    joins,
    joinSummaries,
    ratios: fullToPartialRatios(joinSummaries),
    resident: [
      { candidate: 'synapse', candidateVersion: '1.98.0', members: 100, mode: 'partial', run: 1, status: 200, answeredPartial: true, seconds: 0.2, bytes: 5_000, stateEvents: 5, authChainEvents: 1, cpuSeconds: 0.1, loadAverage: 2 },
    ],
    synthesis: [
      { members: 100, servers: 2, events: 150, wallSeconds: 0.1, cpuSeconds: 0.05, eventsPerWallSecond: 1500, eventsPerCpuSecond: 3000, rawSignsPerCpuSecond: 25000, synthesisToSignRatio: 0.12, peakRssBytes: 10 ** 8, memberships: { join: 50, leave: 50 }, loadAverage: 2 },
    ],
    failures: [],
  };
}

const joins = [100, 1000].flatMap((n) => [1, 2, 3].flatMap((run) => [join('partial', n, run, n / 100 + run), join('full', n, run, n / 10 + run)]));

test('arguments: defaults, quick mode, and one-line errors for bad input', () => {
  expect(parseBenchArgs([])).toMatchObject({ quick: false, candidates: ['synapse'], sizes: [1000, 10000, 50000, 150000], runs: 3, outDir: 'bench-results' });
  expect(parseBenchArgs(['--quick'])).toMatchObject({ quick: true, sizes: [50, 200], runs: 1 });
  expect(parseBenchArgs(['--candidate', 'synapse,dendrite', '--sizes', '200,50,200', '--runs', '2', '--out', '/tmp/x'])).toMatchObject({
    candidates: ['synapse', 'dendrite'],
    sizes: [50, 200],
    runs: 2,
    outDir: '/tmp/x',
  });
  expect(() => parseBenchArgs(['--sizes', '10,ten'])).toThrow('--sizes takes positive integers separated by commas, got "10,ten"');
  expect(() => parseBenchArgs(['--sizes', '0'])).toThrow('--sizes takes positive integers');
  expect(() => parseBenchArgs(['--runs'])).toThrow('--runs needs a value');
  expect(() => parseBenchArgs(['--runs', '2,3'])).toThrow('--runs takes one positive integer');
  expect(() => parseBenchArgs(['--candidate', 'conduit'])).toThrow('cannot benchmark conduit');
  expect(() => parseBenchArgs(['--candidate', 'external'])).toThrow('cannot benchmark external');
  expect(parseBenchArgs(['--synthesis', '0']).synthesisMembers).toBe(0);
  expect(() => parseBenchArgs(['--synthesis', 'lots'])).toThrow('--synthesis takes a member count (0 for none), got "lots"');
  expect(() => parseBenchArgs(['--fast'])).toThrow('unknown argument "--fast"');
  // PostgreSQL: Synapse as synapse-postgres, Palpo as itself; Palpo runs on nothing else.
  expect(parseBenchArgs(['--candidate', 'synapse,palpo', '--database', 'postgres'])).toMatchObject({ candidates: ['synapse-postgres', 'palpo'], database: 'postgres' });
  expect(() => parseBenchArgs(['--candidate', 'palpo'])).toThrow('--candidate palpo needs --database postgres (Palpo runs on PostgreSQL only)');
  expect(() => parseBenchArgs(['--candidate', 'dendrite', '--database', 'postgres'])).toThrow('only Synapse and Palpo run on PostgreSQL here, not dendrite');
  expect(parseBenchArgs([]).modes).toEqual(['partial', 'full']);
  expect(parseBenchArgs(['--modes', 'full,partial', '--bound', '600'])).toMatchObject({ modes: ['partial', 'full'], boundSeconds: 600 });
  expect(parseBenchArgs(['--modes', 'full']).modes).toEqual(['full']);
  expect(() => parseBenchArgs(['--modes', 'lazy'])).toThrow('--modes takes partial, full or both separated by a comma, got "lazy"');
  expect(() => parseBenchArgs(['--bound', '0'])).toThrow('--bound takes a positive number of seconds, got "0"');
});

/** A full join whose "synced" milestone was not reached: every member but the joiner was shown. */
function ownMembershipNeverShown(run: number, othersShownSeconds: number): JoinMeasurement {
  return {
    ...join('full', 1000, run, 0),
    candidate: 'palpo',
    candidateVersion: '0.0.2',
    askedOmitMembers: 'false',
    joinSeconds: othersShownSeconds - 1,
    syncedSeconds: null,
    roomInSyncSeconds: othersShownSeconds - 0.5,
    othersShownSeconds,
    notReached: [{ milestone: 'synced', awaited: 'every joined member, the joiner included', boundSeconds: othersShownSeconds + 30, seen: '500 of 500 other joined members, the joiner not shown' }],
    usageUntil: 'othersShown',
    cpuSeconds: 3,
  };
}

test('a milestone not reached: summarised over the runs that reached it, shown as not reached with its bound, never a ratio', () => {
  const palpo = [ownMembershipNeverShown(1, 20), ownMembershipNeverShown(2, 24), { ...join('full', 1000, 3, 0), candidate: 'palpo', candidateVersion: '0.0.2', syncedSeconds: 26, roomInSyncSeconds: 25, othersShownSeconds: 26 }];
  const [summary] = summariseJoins(palpo);
  expect(summary.syncedSeconds).toEqual({ median: 26, min: 26, max: 26, runs: 1 });
  expect(summary.othersShownSeconds).toEqual({ median: 24, min: 20, max: 26, runs: 3 });
  expect(summary.notReached).toEqual([{ milestone: 'synced', runs: 2, boundSeconds: 54, awaited: 'every joined member, the joiner included', seen: '500 of 500 other joined members, the joiner not shown' }]);
  const none = summariseJoins(palpo.slice(0, 2))[0];
  expect(none.syncedSeconds).toBeUndefined();
  const doc = { ...results(palpo.slice(0, 2)), options: { candidates: ['palpo'], sizes: [1000], runs: 2 } };
  expect(validateResults(doc)).toEqual([]);
  // Negative controls: an unknown milestone, and a "synced" that is neither a time nor null.
  expect(validateResults({ ...doc, joins: [{ ...palpo[0], notReached: [{ ...palpo[0].notReached![0], milestone: 'soon' }] }] })).toEqual(['/joins/0/notReached/0/milestone: must be equal to one of the allowed values']);
  expect(validateResults({ ...doc, joins: [{ ...palpo[0], syncedSeconds: 'never' }] })).toEqual(['/joins/0/syncedSeconds: must be number,null']);
  const md = renderMarkdown(doc);
  expect(md).toContain('| palpo 0.0.2 | 1000 | full | 21.00 (19.00–23.00) | 21.50 (19.50–23.50) | 22.00 (20.00–24.00) | not reached within 54 s |');
  expect(md).toContain('Not reached: palpo 0.0.2 N=1000 full, "synced" in 2 of 2 runs within 54 s (awaited: every joined member, the joiner included; seen: 500 of 500 other joined members, the joiner not shown).');
  expect(renderMarkdown(results(palpo))).toContain('| 26.00; not reached within 54 s in 2 of 3 runs |');
  const svg = renderPlotSvg('palpo', doc.joinSummaries);
  expect(svg).toContain('>full: others shown</text>');
  expect(svg).not.toContain('>full: synced</text>');
  expect(svg).not.toMatch(/NaN|Infinity/);
  expect(fullToPartialRatios(summariseJoins([...palpo.slice(0, 2), { ...join('partial', 1000, 1, 10), candidate: 'palpo' }]))).toEqual([]);
});

test('a join not answered within its bound is a row of its own, with what it cost until then; other failures are not', () => {
  const doc = results(joins);
  doc.joinSummaries = doc.joinSummaries.map((s) => ({ ...s, databaseCpuSeconds: s.cpuSeconds, databasePeakPssBytes: s.peakRssBytes }));
  doc.failures = [
    {
      what: 'palpo N=50000 full run 1 (attempt 1 of 2)',
      error:
        'palpo N=50000 full run 1: did not join within 600 s (awaited: the answer to POST /join; Headers Timeout Error; meanwhile the candidate used 212.3 CPU s, peak RSS 140 MiB; PostgreSQL 301.0 CPU s, peak PSS 180 MiB; load 5.1 at the start, 6.2 at the bound)\n--- candidate log tail ---\n…',
    },
    { what: 'synapse N=1000 full run 2 (attempt 1 of 2)', error: 'synapse N=1000 full run 2: GET /sync answered 500' },
  ];
  expect(validateResults(doc)).toEqual([]);
  expect(joinsNotAnswered(doc)).toEqual([
    { candidate: 'palpo', members: 50000, mode: 'full', run: 1, bound: '600 s', candidateCpuSeconds: 212.3, candidatePeakRssMiB: 140, databaseCpuSeconds: 301, databasePeakPssMiB: 180, load: '5.1–6.2' },
  ]);
  const md = renderMarkdown(doc);
  expect(md).toContain('| palpo | 50000 | full | did not join within 600 s | – | – | – | – | – | 212.3 until the bound | 140 | 1 | 5.1–6.2 | – |');
  expect(md).toContain('| palpo | 50000 | full, did not join within 600 s | 212.3 | 301.0 | 140 | 180 | 1 |');
});

test('medians and spreads; full over partial ratios only where the partial joins were partial', () => {
  expect(spread([3, 1, 2])).toEqual({ median: 2, min: 1, max: 3, runs: 3 });
  expect(spread([4, 1])).toEqual({ median: 2.5, min: 1, max: 4, runs: 2 });
  expect(() => spread([])).toThrow('spread of no values');
  const summaries = summariseJoins(joins);
  expect(summaries.map((s) => `${s.members} ${s.mode}`)).toEqual(['100 partial', '100 full', '1000 partial', '1000 full']);
  expect(summaries[3].syncedSeconds).toEqual({ median: 102, min: 101, max: 103, runs: 3 });
  const ratios = fullToPartialRatios(summaries);
  expect(ratios.map((r) => [r.members, r.syncedSeconds])).toEqual([
    [100, 12 / 3],
    [1000, 102 / 12],
  ]);
  // A candidate that never asks for partial state has no ratio: its "partial" joins were full.
  const neverPartial = joins.map((j) => ({ ...j, answeredPartial: false }));
  expect(fullToPartialRatios(summariseJoins(neverPartial))).toEqual([]);
});

test('the results schema accepts a complete document and rejects broken ones', () => {
  const good = results(joins);
  expect(validateResults(good)).toEqual([]);
  expect(validateResults({ ...good, schema: 'other' })).toEqual(['/schema: must be equal to constant']);
  expect(validateResults({ ...good, joins: [{ ...joins[0], joinStatus: 500 }] })).toEqual(['/joins/0/joinStatus: must be <= 299']);
  expect(validateResults({ ...good, joins: [{ ...joins[0], mode: 'lazy' }] })).toEqual(['/joins/0/mode: must be equal to one of the allowed values']);
  const { synthesis: _dropped, ...missing } = good;
  expect(validateResults(missing)).toEqual(["/: must have required property 'synthesis'"]);
  expect(validateResults({ ...good, generatedAt: 'yesterday' })).toEqual(['/generatedAt: must match pattern "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\\.[0-9]+)?Z$"']);
});

test('the plot has one point and whisker per (mode, figure, N) and a legend entry per series', () => {
  const svg = renderPlotSvg('synapse', summariseJoins(joins));
  expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
  expect(svg.endsWith('</svg>')).toBe(true);
  expect(svg.match(/<circle /g)).toHaveLength(2 * 2 * 2);
  for (const label of ['partial: synced', 'partial: /join', 'full: synced', 'full: /join']) expect(svg).toContain(`>${label}</text>`);
  expect(svg).not.toMatch(/NaN|Infinity/);
  // One size only: the axes still span a range around it.
  expect(renderPlotSvg('synapse', summariseJoins(joins.filter((j) => j.members === 100)))).not.toMatch(/NaN|Infinity/);
  expect(() => renderPlotSvg('dendrite', summariseJoins(joins))).toThrow('no join results for candidate dendrite');
  expect(logTicks(0.5, 30)).toEqual([0.5, 1, 2, 5, 10, 20]);
  expect(logTicks(30, 200_000)).toEqual([100, 1000, 10000, 100000]);
});

test('Markdown and HTML carry every summary row, the ratios and the figures', () => {
  const r = results(joins);
  const md = renderMarkdown(r);
  expect(md).toContain('| synapse 1.98.0 | 1000 | full | 51.00 (50.50–51.50) | – | – | 102.00 (101.00–103.00) | 1.00 MB (1.00 MB–1.00 MB) | 0 B (0 B–0 B) |');
  expect(md).toContain('| synapse | 1000 | 8.5× | 8.5× | 0.9× |');
  expect(md).toContain('| 100 | 150 | 0.10 | 0.05 | 1500 | 3000 | 25000 | 12% | 95 | 2.0 |');
  expect(bytesText(812)).toBe('812 B');
  expect(bytesText(35_240)).toBe('35.2 kB');
  expect(bytesText(115_000_000)).toBe('115.0 MB');
  const html = renderHtml(r, new Map([['synapse', renderPlotSvg('synapse', r.joinSummaries)]]));
  expect(html).toContain('<svg xmlns=');
  expect(html).toContain('<td>synapse 1.98.0</td>');
  expect(html).not.toMatch(/<(script|link|img)\b/); // self-contained: nothing to fetch
});

test('profile summary: inclusive counts a recursive frame once per stack, self counts the innermost frame', () => {
  const folded = ['main;loop;persist;sign 6', 'main;loop;persist;persist;hash 3', 'main;loop;idle 1', ''].join('\n');
  const summary = summariseFolded(folded, 3);
  expect(summary.totalSamples).toBe(10);
  expect(summary.inclusive.map((f) => [f.frame, f.samples])).toEqual([
    ['main', 10],
    ['loop', 10],
    ['persist', 9],
  ]);
  expect(summary.self.map((f) => [f.frame, f.share])).toEqual([
    ['sign', 0.6],
    ['hash', 0.3],
    ['idle', 0.1],
  ]);
  expect(summariseFolded(folded, 5, 'pers').inclusive.map((f) => f.frame)).toEqual(['persist']);
  expect(() => summariseFolded('main;loop many', 3)).toThrow('line 1 is not "stack count": main;loop many');
  expect(summariseFolded(' 4', 1).self).toEqual([{ frame: '(no frames)', samples: 4, share: 1 }]);
});

test('profile summary per function: the lines of one function count together, once per stack; a pattern picks frames', () => {
  const folded = [
    'run (app.py:1);persist (store.py:10);persist (store.py:20);execute (db.py:5) 6',
    'run (app.py:1);handle (handlers/join.py:3);persist (store.py:30) 3',
    'run (app.py:2);idle (loop.py:9) 1',
  ].join('\n');
  const byLine = summariseFolded(folded, 10);
  expect(byLine.inclusive.filter((f) => f.frame.startsWith('persist')).map((f) => f.samples)).toEqual([6, 6, 3]);
  const byFunction = summariseFolded(folded, 10, '', { byFunction: true });
  expect(byFunction.inclusive.map((f) => [f.frame, f.samples])).toEqual([
    ['run (app.py)', 10],
    ['persist (store.py)', 9],
    ['execute (db.py)', 6],
    ['handle (handlers/join.py)', 3],
    ['idle (loop.py)', 1],
  ]);
  expect(summariseFolded(folded, 10, /handlers\//, { byFunction: true }).inclusive.map((f) => f.frame)).toEqual(['handle (handlers/join.py)']);
  const summary = pySpySummary('synapse N=10 partial run 1', folded);
  expect(summary.samples).toBe(10);
  expect(summary.summary).toMatch(/^synapse N=10 partial run 1: py-spy at 50 Hz, 10 samples of busy threads/);
  expect(summary.summary).toContain('  60.0%  execute (db.py)');
});

test('merging results: measurements concatenated, summaries recomputed, other machines refused', () => {
  const small = results(joins.filter((j) => j.members === 100));
  const large = { ...results(joins.filter((j) => j.members === 1000)), options: { candidates: ['synapse'], sizes: [1000], runs: 1 } };
  const merged = mergeResults([small, large]);
  expect(validateResults(merged)).toEqual([]);
  expect(merged.joins).toHaveLength(joins.length);
  // Each document numbers its runs from 1; merged, they count on per candidate, N and mode.
  const again = mergeResults([small, small]);
  expect(again.joins.filter((j) => j.mode === 'full').map((j) => j.run)).toEqual([1, 2, 3, 4, 5, 6]);
  expect(again.resident.map((r) => r.run)).toEqual([1, 4]);
  expect(merged.joinSummaries).toEqual(summariseJoins(joins));
  expect(merged.options).toEqual({ candidates: ['synapse'], sizes: [100, 1000], runs: 3 });
  expect(merged.synthesis).toHaveLength(2);
  const elsewhere = { ...large, machine: { ...large.machine, cpus: 64 } };
  expect(() => mergeResults([small, elsewhere])).toThrow('cannot merge results from different machines (2 × test CPU and 64 × test CPU)');
  expect(() => mergeResults([])).toThrow('nothing to merge');
});
