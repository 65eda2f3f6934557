/**
 * The benchmark's readable outputs: a Markdown table, one SVG plot per candidate (latency against
 * N, partial against full, log-log), and a self-contained HTML page holding both. Plain string
 * building: no plotting library, nothing fetched.
 */
import { spread, type BenchResults, type JoinSummary, type Spread } from './results.ts';

const MIB = 2 ** 20;

function fmt(n: number, digits = 2): string {
  return n.toFixed(digits);
}

function cell(s: Spread, scale = 1, digits = 2): string {
  const median = fmt(s.median / scale, digits);
  return s.runs > 1 ? `${median} (${fmt(s.min / scale, digits)}–${fmt(s.max / scale, digits)})` : median;
}

/** Bytes in the unit that keeps 2–4 significant digits: `812 B`, `35.2 kB`, `24.1 MB`. */
export function bytesText(bytes: number): string {
  if (bytes < 1e3) return `${Math.round(bytes)} B`;
  if (bytes < 1e6) return `${(bytes / 1e3).toFixed(1)} kB`;
  return `${(bytes / 1e6).toFixed(bytes < 1e8 ? 2 : 1)} MB`;
}

function bytesCell(s: Spread): string {
  return s.runs > 1 ? `${bytesText(s.median)} (${bytesText(s.min)}–${bytesText(s.max)})` : bytesText(s.median);
}

/**
 * A milestone's cell: the spread over the runs that reached it, then, for runs that did not,
 * "not reached within B s" (B the longest it was awaited); – where not measured.
 */
function milestoneCell(s: JoinSummary, key: 'syncedSeconds' | 'roomInSyncSeconds' | 'othersShownSeconds', milestone: string): string {
  const missed = s.notReached?.find((n) => n.milestone === milestone);
  const value = s[key];
  if (!missed) return value ? cell(value) : '–';
  const runs = s.joinSeconds.runs;
  const text = `not reached within ${missed.boundSeconds} s${missed.runs < runs ? ` in ${missed.runs} of ${runs} runs` : ''}`;
  return value ? `${cell(value)}; ${text}` : text;
}

function modeLabel(s: JoinSummary): string {
  if (s.mode === 'full') return 'full';
  return s.answeredPartial ? 'partial' : 'partial asked, full answered';
}

/** A join that did not answer within its bound, read back from its failure (see joiner-bench.ts). */
export interface JoinNotAnswered {
  candidate: string;
  members: number;
  mode: string;
  run: number;
  bound: string;
  candidateCpuSeconds?: number;
  candidatePeakRssMiB?: number;
  databaseCpuSeconds?: number;
  databasePeakPssMiB?: number;
  load?: string;
}

export function joinsNotAnswered(r: BenchResults): JoinNotAnswered[] {
  return r.failures.flatMap((f) => {
    const what = /^(\S+) N=(\d+) (partial|full) run (\d+)/.exec(f.what);
    const bound = /: did not join within (\d+ s) /.exec(f.error);
    if (!what || !bound) return [];
    const line = f.error.split('\n')[0];
    const used = /the candidate used ([\d.]+) CPU s, peak RSS (\d+) MiB/.exec(line);
    const db = /PostgreSQL ([\d.]+) CPU s, peak PSS (\d+) MiB/.exec(line);
    const load = /load ([\d.]+) at the start, ([\d.]+) at the bound/.exec(line);
    return [
      {
        candidate: what[1],
        members: Number(what[2]),
        mode: what[3],
        run: Number(what[4]),
        bound: bound[1],
        ...(used ? { candidateCpuSeconds: Number(used[1]), candidatePeakRssMiB: Number(used[2]) } : {}),
        ...(db ? { databaseCpuSeconds: Number(db[1]), databasePeakPssMiB: Number(db[2]) } : {}),
        ...(load ? { load: `${load[1]}–${load[2]}` } : {}),
      },
    ];
  });
}

/** One line per (candidate, N, mode, milestone) not reached: what was awaited, for how long, what was seen. */
function notReachedLines(r: BenchResults): string[] {
  return r.joinSummaries.flatMap((s) =>
    (s.notReached ?? []).map((n) => `Not reached: ${s.candidate} ${s.candidateVersion} N=${s.members} ${modeLabel(s)}, "${n.milestone}" in ${n.runs} of ${s.joinSeconds.runs} runs within ${n.boundSeconds} s (awaited: ${n.awaited}; seen: ${n.seen}).`),
  );
}

/** The results as Markdown: joins (median and range), full/partial ratios, resident, synthesis. */
export function renderMarkdown(r: BenchResults): string {
  const lines: string[] = [];
  lines.push(`# lazyjoin benchmark${r.quick ? ' (quick mode)' : ''}`, '');
  lines.push(`${r.generatedAt}; Node ${r.machine.node} on ${r.machine.cpus} × ${r.machine.cpuModel}, ${(r.machine.memoryBytes / 2 ** 30).toFixed(0)} GiB. Medians over runs, range in parentheses. Load = 1-minute load average at the join's start.`, '');
  lines.push('## Joining a room of N members', '');
  lines.push('| candidate | N | state | /join s | in sync s | others shown s | synced s | send_join | resync | CPU s | peak RSS MiB | runs | load | suite stall ms |');
  lines.push('|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
  for (const s of r.joinSummaries) {
    lines.push(
      `| ${s.candidate} ${s.candidateVersion} | ${s.members} | ${modeLabel(s)} | ${cell(s.joinSeconds)}${s.joinStatuses?.some((c) => c !== 200) ? ` (HTTP ${s.joinStatuses.join('/')})` : ''} | ${milestoneCell(s, 'roomInSyncSeconds', 'roomInSync')} | ${milestoneCell(s, 'othersShownSeconds', 'othersShown')} | ${milestoneCell(s, 'syncedSeconds', 'synced')} | ${bytesCell(s.sendJoinBytes)} | ${bytesCell(s.resyncBytes)} | ${cell(s.cpuSeconds, 1, 1)} | ${cell(s.peakRssBytes, MIB, 0)} | ${s.joinSeconds.runs} | ${fmt(s.loadAverage, 1)} | ${s.remoteStallMs === undefined ? '–' : s.remoteStallMs} |`,
    );
  }
  for (const n of joinsNotAnswered(r)) {
    const cpu = n.candidateCpuSeconds === undefined ? '–' : `${fmt(n.candidateCpuSeconds, 1)} until the bound`;
    const rss = n.candidatePeakRssMiB === undefined ? '–' : String(n.candidatePeakRssMiB);
    lines.push(`| ${n.candidate} | ${n.members} | ${n.mode} | did not join within ${n.bound} | – | – | – | – | – | ${cpu} | ${rss} | 1 | ${n.load ?? '–'} | – |`);
  }
  lines.push(
    '',
    '"in sync": from the /join request until the room is in the join section of an eager (not lazy-loading) /sync. "others shown": until the room\'s state and timeline there show every joined member but the joiner. "synced": until they show every joined member, the joiner\'s own membership included; for a partial join, the resync is then complete. CPU and memory are measured until "synced", or, where it was not reached, until the last milestone reached. A milestone not reached was awaited until the bound, or for 30 s after "others shown" (– : not measured in that run).',
    ...notReachedLines(r),
    '"/join s" is followed by the HTTP status when /join did not answer 200: a 202 means the candidate stopped waiting and went on joining in the background, so only "synced" times the join.',
    '"suite stall": the longest the suite\'s own event loop (which serves the remote and its bystanders) was held during the join, over the runs (– where not measured); a long stall means the candidate may have waited on the suite, not the other way round.',
    '',
  );
  const onPostgres = r.joinSummaries.filter((s) => s.databaseCpuSeconds && s.databasePeakPssBytes);
  if (onPostgres.length) {
    lines.push('## The database server during the join (PostgreSQL)', '');
    lines.push('| candidate | N | state | candidate CPU s | PostgreSQL CPU s | candidate peak RSS MiB | PostgreSQL peak PSS MiB | runs |');
    lines.push('|---|---:|---|---:|---:|---:|---:|---:|');
    for (const s of onPostgres) {
      lines.push(
        `| ${s.candidate} ${s.candidateVersion} | ${s.members} | ${modeLabel(s)} | ${cell(s.cpuSeconds, 1, 1)} | ${cell(s.databaseCpuSeconds!, 1, 1)} | ${cell(s.peakRssBytes, MIB, 0)} | ${cell(s.databasePeakPssBytes!, MIB, 0)} | ${s.joinSeconds.runs} |`,
      );
    }
    for (const n of joinsNotAnswered(r).filter((x) => x.databaseCpuSeconds !== undefined)) {
      lines.push(`| ${n.candidate} | ${n.members} | ${n.mode}, did not join within ${n.bound} | ${fmt(n.candidateCpuSeconds!, 1)} | ${fmt(n.databaseCpuSeconds!, 1)} | ${n.candidatePeakRssMiB} | ${n.databasePeakPssMiB} | 1 |`);
    }
    lines.push(
      '',
      'PostgreSQL runs as one server per benchmark process (its processes: the postmaster, its backends and helpers), CPU from /join until synced; its memory is the peak of the summed proportional set size (shared buffers counted once), sampled every 500 ms. It runs without fsync (throwaway data), like the rest of the suite.',
      '',
    );
  }
  if (r.ratios.length) {
    lines.push('## Full join over partial join (ratio of medians)', '');
    lines.push('| candidate | N | /join | synced | bytes | CPU | peak RSS |', '|---|---:|---:|---:|---:|---:|---:|');
    for (const q of r.ratios) {
      lines.push(`| ${q.candidate} | ${q.members} | ${fmt(q.joinSeconds, 1)}× | ${fmt(q.syncedSeconds, 1)}× | ${fmt(q.bytes, 1)}× | ${fmt(q.cpuSeconds, 1)}× | ${fmt(q.peakRssBytes, 1)}× |`);
    }
    lines.push('');
  }
  if (r.resident.length) {
    lines.push('## Answering send_join for a room of N members (candidate resident)', '');
    lines.push('| candidate | N | asked | answer | seconds | size | state | auth chain | CPU s | runs |', '|---|---:|---|---|---:|---:|---:|---:|---:|---:|');
    const groups = new Map<string, BenchResults['resident']>();
    for (const m of r.resident) {
      const key = `${m.candidate} ${m.candidateVersion}\u0000${m.members}\u0000${m.mode}`;
      groups.set(key, [...(groups.get(key) ?? []), m]);
    }
    const sorted = [...groups.values()].sort((a, b) => a[0].candidate.localeCompare(b[0].candidate) || a[0].members - b[0].members || a[0].mode.localeCompare(b[0].mode));
    for (const runs of sorted) {
      const m = runs[0];
      const answers = [...new Set(runs.map((x) => (x.answeredPartial ? 'partial' : 'full')))].join(' / ');
      const of = (pick: (x: (typeof runs)[number]) => number) => spread(runs.map(pick));
      const states = [...new Set(runs.map((x) => x.stateEvents))].join(' / ');
      const chains = [...new Set(runs.map((x) => x.authChainEvents))].join(' / ');
      lines.push(
        `| ${m.candidate} ${m.candidateVersion} | ${m.members} | ${m.mode} | ${answers} | ${cell(of((x) => x.seconds))} | ${bytesCell(of((x) => x.bytes))} | ${states} | ${chains} | ${cell(of((x) => x.cpuSeconds), 1, 1)} | ${runs.length} |`,
      );
    }
    lines.push('', 'Per run:', '');
    lines.push('| candidate | N | asked | answer | seconds | size | state | auth chain | CPU s | run | load |', '|---|---:|---|---|---:|---:|---:|---:|---:|---:|---:|');
    const byRoom = [...r.resident].sort((a, b) => a.candidate.localeCompare(b.candidate) || a.members - b.members || a.run - b.run);
    for (const m of byRoom) {
      lines.push(
        `| ${m.candidate} ${m.candidateVersion} | ${m.members} | ${m.mode} | ${m.answeredPartial ? 'partial' : 'full'} | ${fmt(m.seconds)} | ${bytesText(m.bytes)} | ${m.stateEvents} | ${m.authChainEvents} | ${fmt(m.cpuSeconds, 1)} | ${m.run} | ${fmt(m.loadAverage, 1)} |`,
      );
    }
    lines.push('');
  }
  if (r.synthesis.length) {
    lines.push('## Suite: synthesising a room', '');
    lines.push('| N | events | wall s | CPU s | events/wall s | events/CPU s | raw signs/CPU s | events/raw | peak RSS MiB | load |', '|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
    for (const m of r.synthesis) {
      lines.push(
        `| ${m.members} | ${m.events} | ${fmt(m.wallSeconds)} | ${fmt(m.cpuSeconds)} | ${Math.round(m.eventsPerWallSecond)} | ${Math.round(m.eventsPerCpuSecond)} | ${Math.round(m.rawSignsPerCpuSecond)} | ${fmt(100 * m.synthesisToSignRatio, 0)}% | ${fmt(m.peakRssBytes / MIB, 0)} | ${fmt(m.loadAverage, 1)} |`,
      );
    }
    lines.push('');
  }
  const profiled = r.joins.filter((j) => j.profile !== undefined || j.profileError !== undefined);
  if (profiled.length) {
    lines.push('## Where the candidate\'s time goes (profiles)', '');
    for (const j of profiled) {
      const what = `${j.candidate} N=${j.members} ${j.mode} run ${j.run}`;
      lines.push(j.profile !== undefined ? `- ${what}: [${j.profile}](${j.profile})` : `- ${what}: not taken: ${j.profileError!.split('\n')[0]}`);
    }
    lines.push('');
  }
  if (r.failures.length) {
    lines.push('## Not measured', '');
    for (const f of r.failures) lines.push(`- ${f.what}: ${f.error.split('\n')[0]}`);
    lines.push('');
  }
  return lines.join('\n');
}

function escapeXml(text: string): string {
  return text.replace(/[<>&"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** Tick values for a log axis over [lo, hi]: 1-2-5 steps when the range is narrow, decades otherwise. */
export function logTicks(lo: number, hi: number): number[] {
  const steps = hi / lo > 1000 ? [1] : [1, 2, 5];
  const ticks: number[] = [];
  for (let decade = Math.floor(Math.log10(lo)); decade <= Math.ceil(Math.log10(hi)); decade++) {
    for (const step of steps) {
      const v = step * 10 ** decade;
      if (v >= lo * 0.999 && v <= hi * 1.001) ticks.push(v);
    }
  }
  return ticks;
}

function tickLabel(v: number): string {
  if (v >= 1000) return `${v / 1000}k`;
  return v >= 1 ? String(v) : String(Number(v.toPrecision(1)));
}

interface Series {
  label: string;
  colour: string;
  dashed: boolean;
  points: Array<{ x: number; y: Spread }>;
}

/**
 * Latency against N for one candidate, log-log: time until synced (solid) and /join latency
 * (dashed), partial (blue) and full (orange), each point the median with a min–max whisker.
 */
export function renderPlotSvg(candidate: string, summaries: readonly JoinSummary[]): string {
  const mine = summaries.filter((s) => s.candidate === candidate);
  if (mine.length === 0) throw new Error(`no join results for candidate ${candidate} to plot`);
  const series: Series[] = [];
  for (const mode of ['partial', 'full'] as const) {
    const ofMode = mine.filter((s) => s.mode === mode).sort((a, b) => a.members - b.members);
    if (ofMode.length === 0) continue;
    const colour = mode === 'partial' ? '#1f6fd1' : '#e07b00';
    const name = mode === 'partial' && !ofMode.every((s) => s.answeredPartial) ? 'partial asked' : mode;
    const synced = ofMode.flatMap((s) => (s.syncedSeconds ? [{ x: s.members, y: s.syncedSeconds }] : []));
    if (synced.length) series.push({ label: `${name}: synced`, colour, dashed: false, points: synced });
    // Where "synced" never came, the nearest milestone reached is drawn, labelled as such.
    const others = ofMode.flatMap((s) => (s.othersShownSeconds && !s.syncedSeconds ? [{ x: s.members, y: s.othersShownSeconds }] : []));
    if (others.length) series.push({ label: `${name}: others shown`, colour, dashed: false, points: others });
    series.push({ label: `${name}: /join`, colour, dashed: true, points: ofMode.map((s) => ({ x: s.members, y: s.joinSeconds })) });
  }
  const width = 640;
  const height = 400;
  const margin = { left: 64, right: 160, top: 40, bottom: 48 };
  const xs = series.flatMap((s) => s.points.map((p) => p.x));
  const ys = series.flatMap((s) => s.points.flatMap((p) => [p.y.min, p.y.max])).map((y) => Math.max(y, 0.001));
  // Pad single values to a decade so a lone point still has an axis around it.
  const xLo = Math.min(...xs) / (Math.min(...xs) === Math.max(...xs) ? 3 : 1.3);
  const xHi = Math.max(...xs) * (Math.min(...xs) === Math.max(...xs) ? 3 : 1.3);
  const yLo = Math.min(...ys) / 1.5;
  const yHi = Math.max(...ys) * 1.5;
  const plotW = width - margin.left - margin.right;
  const plotH = height - margin.top - margin.bottom;
  const px = (x: number) => margin.left + (plotW * Math.log(x / xLo)) / Math.log(xHi / xLo);
  const py = (y: number) => margin.top + plotH - (plotH * Math.log(Math.max(y, 0.001) / yLo)) / Math.log(yHi / yLo);
  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`);
  out.push(`<title>${escapeXml(`${candidate}: join latency against room size`)}</title>`);
  out.push(`<rect width="${width}" height="${height}" fill="#fff"/>`);
  out.push(`<text x="${margin.left}" y="24" font-size="14" font-weight="bold">${escapeXml(`${candidate}: seconds against members (log-log)`)}</text>`);
  for (const t of logTicks(xLo, xHi)) {
    out.push(`<line x1="${px(t).toFixed(1)}" y1="${margin.top}" x2="${px(t).toFixed(1)}" y2="${margin.top + plotH}" stroke="#ddd"/>`);
    out.push(`<text x="${px(t).toFixed(1)}" y="${margin.top + plotH + 16}" text-anchor="middle">${tickLabel(t)}</text>`);
  }
  for (const t of logTicks(yLo, yHi)) {
    out.push(`<line x1="${margin.left}" y1="${py(t).toFixed(1)}" x2="${margin.left + plotW}" y2="${py(t).toFixed(1)}" stroke="#ddd"/>`);
    out.push(`<text x="${margin.left - 6}" y="${(py(t) + 4).toFixed(1)}" text-anchor="end">${tickLabel(t)}</text>`);
  }
  out.push(`<rect x="${margin.left}" y="${margin.top}" width="${plotW}" height="${plotH}" fill="none" stroke="#444"/>`);
  out.push(`<text x="${margin.left + plotW / 2}" y="${height - 10}" text-anchor="middle">members (N)</text>`);
  out.push(`<text transform="translate(16 ${margin.top + plotH / 2}) rotate(-90)" text-anchor="middle">seconds</text>`);
  series.forEach((s, i) => {
    const dash = s.dashed ? ' stroke-dasharray="6 4"' : '';
    const path = s.points.map((p, j) => `${j ? 'L' : 'M'}${px(p.x).toFixed(1)} ${py(p.y.median).toFixed(1)}`).join(' ');
    out.push(`<path d="${path}" fill="none" stroke="${s.colour}" stroke-width="2"${dash}/>`);
    for (const p of s.points) {
      const x = px(p.x).toFixed(1);
      out.push(`<line x1="${x}" y1="${py(p.y.min).toFixed(1)}" x2="${x}" y2="${py(p.y.max).toFixed(1)}" stroke="${s.colour}"/>`);
      out.push(`<circle cx="${x}" cy="${py(p.y.median).toFixed(1)}" r="3.5" fill="${s.colour}"><title>${escapeXml(`${s.label}, N=${p.x}: ${p.y.median.toFixed(2)} s (${p.y.min.toFixed(2)}–${p.y.max.toFixed(2)})`)}</title></circle>`);
    }
    const ly = margin.top + 12 + i * 20;
    const lx = margin.left + plotW + 12;
    out.push(`<line x1="${lx}" y1="${ly}" x2="${lx + 24}" y2="${ly}" stroke="${s.colour}" stroke-width="2"${dash}/>`);
    out.push(`<text x="${lx + 30}" y="${ly + 4}">${escapeXml(s.label)}</text>`);
  });
  out.push('</svg>');
  return out.join('\n');
}

/** Minimal Markdown tables and headings to HTML, enough for renderMarkdown's output. */
function markdownToHtml(md: string): string {
  const html: string[] = [];
  let table: string[][] | undefined;
  const flush = () => {
    if (!table) return;
    const [head, , ...rows] = table;
    html.push('<table><thead><tr>' + head.map((c) => `<th>${c}</th>`).join('') + '</tr></thead><tbody>');
    for (const row of rows) html.push('<tr>' + row.map((c) => `<td>${c}</td>`).join('') + '</tr>');
    html.push('</tbody></table>');
    table = undefined;
  };
  for (const raw of md.split('\n')) {
    const line = escapeXml(raw);
    if (raw.startsWith('|')) {
      (table ??= []).push(line.slice(1, -1).split('|').map((c) => c.trim()));
      continue;
    }
    flush();
    if (raw.startsWith('## ')) html.push(`<h2>${line.slice(3)}</h2>`);
    else if (raw.startsWith('# ')) html.push(`<h1>${line.slice(2)}</h1>`);
    else if (raw.startsWith('- ')) html.push(`<p>• ${line.slice(2).replace(/\[([^\]]+)\]\((profiles\/[^)\s]+)\)/g, '<a href="$2">$1</a>')}</p>`);
    else if (raw.trim()) html.push(`<p>${line}</p>`);
  }
  flush();
  return html.join('\n');
}

/** A self-contained page: the plots inline, then the tables. */
export function renderHtml(r: BenchResults, plots: ReadonlyMap<string, string>): string {
  const figures = [...plots].map(([candidate, svg]) => `<figure>${svg}<figcaption>${escapeXml(candidate)}</figcaption></figure>`).join('\n');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>lazyjoin benchmark</title>
<style>
body { font-family: sans-serif; margin: 2em; max-width: 1200px; }
table { border-collapse: collapse; margin: 1em 0; font-size: 14px; }
th, td { border: 1px solid #ccc; padding: 3px 8px; text-align: right; }
th:first-child, td:first-child { text-align: left; }
figure { display: inline-block; margin: 0 1em 1em 0; }
</style></head><body>
${figures}
${markdownToHtml(renderMarkdown(r))}
</body></html>
`;
}
