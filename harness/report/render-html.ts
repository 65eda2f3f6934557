import type { ComplianceReport } from './aggregate.ts';
import { VERDICTS } from './model.ts';

/** Escapes text for HTML element content and double- or single-quoted attribute values. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (ch) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[ch]!);
}

/**
 * JSON that is safe inside `<script type="application/json">`: no `<` (so no `</script>` nor
 * `<!--`), and no U+2028/U+2029; the page reads it back with JSON.parse, never as code.
 */
export function embedJson(value: unknown): string {
  return JSON.stringify(value)
    .replace(/</g, '\\u003c')
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029');
}

/**
 * One self-contained page: the matrix of requirements (rows) against candidates (columns), with
 * filters, and a detail pane per cell. Everything the page shows from the report is inserted with
 * textContent by the inline script, so report strings can never become markup.
 */
export function renderHtml(report: ComplianceReport): string {
  const title = `lazyjoin compliance — ${report.candidates.map((c) => `${c.name} ${c.version}`).join(', ') || 'no candidate'}`;
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:">
<title>${escapeHtml(title)}</title>
<style>${CSS}</style>
</head>
<body>
<header>
  <h1>${escapeHtml(title)}</h1>
  <p id="meta"></p>
  <p id="run-status" hidden></p>
  <p id="gate"></p>
  <div id="totals"></div>
</header>
<nav id="filters" aria-label="Filters">
  <label>Level <select id="f-level"><option value="">all</option></select></label>
  <label>Verdict <select id="f-verdict"><option value="">all</option></select></label>
  <label>Area <select id="f-area"><option value="">all</option></select></label>
  <label>MSC <select id="f-msc"><option value="">all</option></select></label>
  <label>Search <input id="f-text" type="search" placeholder="ID or words"></label>
  <span id="shown"></span>
</nav>
<main>
  <div id="tables">
    <table id="matrix"><thead></thead><tbody></tbody></table>
    <section id="profile-section">
      <h2>Profile: partial state</h2>
      <p id="profile-intro" class="muted"></p>
      <table id="profile-matrix"><thead></thead><tbody></tbody></table>
    </section>
${roomVersionSection(report)}
  </div>
  <aside id="details" hidden></aside>
</main>
<script type="application/json" id="report-data">${embedJson(report)}</script>
<script>${SCRIPT}</script>
</body>
</html>
`;
}

/** Outcomes by room version and candidate: one row per (candidate, version), verdict counts as columns. */
function roomVersionSection(report: ComplianceReport): string {
  const rows = report.candidates.flatMap((c) => (report.roomVersions?.[c.name] ?? []).map((line) => ({ c, line })));
  if (rows.length === 0) return '';
  const verdicts = VERDICTS.filter((v) => rows.some(({ line }) => line.counts[v] > 0));
  const head = `<tr><th>candidate</th><th>room version</th><th>tests</th>${verdicts.map((v) => `<th>${escapeHtml(v)}</th>`).join('')}</tr>`;
  const body = rows
    .map(({ c, line }) => `<tr><td>${escapeHtml(`${c.name} ${c.version}`)}</td><td>v${escapeHtml(line.roomVersion)}</td><td>${line.tests}</td>${verdicts.map((v) => `<td>${line.counts[v] || ''}</td>`).join('')}</tr>`)
    .join('\n');
  return `    <section id="room-versions">
      <h2>Room versions</h2>
      <p class="muted">Check outcomes of the tests judged in each room version (baseline applied).</p>
      <table id="room-version-matrix"><thead>${head}</thead><tbody>${body}</tbody></table>
    </section>`;
}

const CSS = `
:root { --pass:#1a7f37; --fail:#cf222e; --nonstrict:#bc4c00; --known:#8250df; --error:#9a6700; --info:#0969da; --muted:#6e7781; --bg:#f6f8fa; --line:#d0d7de; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: #1f2328; background: #fff; }
header { padding: 16px 24px 8px; border-bottom: 1px solid var(--line); background: var(--bg); }
h1 { font-size: 20px; margin: 0 0 4px; }
#meta { margin: 0; color: var(--muted); }
#gate { margin: 6px 0; font-weight: 600; }
#gate.passed { color: var(--pass); } #gate.failed { color: var(--fail); } #gate.incomplete { color: var(--error); }
#run-status { margin: 6px 0; padding: 6px 10px; border-radius: 6px; background: #fff8c5; border: 1px solid #d4a72c; font-weight: 600; }
#tables { flex: 1 1 auto; min-width: 0; overflow-x: auto; }
#profile-section h2 { font-size: 17px; margin: 24px 0 4px; }
#profile-matrix th, #profile-matrix td { border-bottom: 1px solid var(--line); padding: 4px 8px; text-align: left; vertical-align: top; }
#profile-matrix td.summary { max-width: 32em; color: #424a53; }
ol.exchanges { margin: 6px 0; padding-left: 2.2em; }
ol.exchanges li { margin: 2px 0; }
ol.exchanges summary { color: #1f2328; font: 12px/1.4 ui-monospace, monospace; }
ol.exchanges .dir { color: var(--muted); }
.outcomes td { font: 12px/1.4 ui-monospace, monospace; }
#totals { display: flex; flex-wrap: wrap; gap: 12px; margin: 8px 0; }
.total { background: #fff; border: 1px solid var(--line); border-radius: 6px; padding: 6px 10px; }
.total b { margin-right: 6px; }
nav { position: sticky; top: 0; z-index: 2; display: flex; flex-wrap: wrap; gap: 14px; align-items: center; padding: 8px 24px; background: #fff; border-bottom: 1px solid var(--line); }
nav label { color: var(--muted); } nav select, nav input { margin-left: 4px; font: inherit; }
#shown { color: var(--muted); margin-left: auto; }
main { display: flex; gap: 16px; padding: 12px 24px; align-items: flex-start; }
table { border-collapse: collapse; }
#matrix { flex: 1 1 auto; }
#matrix th, #matrix td { border-bottom: 1px solid var(--line); padding: 4px 8px; text-align: left; vertical-align: top; }
#matrix thead th { position: sticky; top: 44px; background: #fff; z-index: 1; }
#matrix td.summary { max-width: 32em; color: #424a53; }
#matrix tr.uncatalogued td.id::after { content: " (uncatalogued)"; color: var(--muted); font-size: 12px; }
.id { font-family: ui-monospace, monospace; white-space: nowrap; }
.verdict { display: inline-block; min-width: 7.5em; border: 0; border-radius: 12px; padding: 2px 10px; color: #fff; font: 600 12px system-ui, sans-serif; cursor: pointer; text-align: center; }
.v-pass { background: var(--pass); } .v-fail { background: var(--fail); } .v-non-strict { background: var(--nonstrict); }
.v-known-failure { background: var(--known); } .v-error { background: var(--error); } .v-informational { background: var(--info); }
.v-not-supported { background: var(--muted); } .v-not-run { background: #fff; color: var(--muted); border: 1px dashed var(--muted); }
.verdict.selected { outline: 3px solid #1f2328; outline-offset: 1px; }
.flag { color: var(--fail); font-weight: 700; margin-left: 4px; }
aside { flex: 0 0 46%; max-width: 46%; position: sticky; top: 56px; max-height: calc(100vh - 72px); overflow: auto; border: 1px solid var(--line); border-radius: 8px; padding: 12px 16px; background: #fff; box-shadow: 0 4px 16px rgba(0,0,0,.08); }
aside h2 { font-size: 17px; margin: 0 0 6px; } aside h3 { font-size: 14px; margin: 14px 0 4px; }
aside .close { float: right; font: inherit; cursor: pointer; }
.finding { border-left: 4px solid var(--line); padding: 4px 10px; margin: 8px 0; background: var(--bg); }
.finding.v-fail-b { border-color: var(--fail); } .finding.v-error-b { border-color: var(--error); } .finding.v-non-strict-b { border-color: var(--nonstrict); } .finding.v-known-failure-b { border-color: var(--known); }
.pair { display: grid; grid-template-columns: 1fr 1fr; gap: 8px; }
pre { margin: 4px 0; padding: 8px; background: #fff; border: 1px solid var(--line); border-radius: 6px; max-height: 24em; overflow: auto; white-space: pre-wrap; word-break: break-word; font: 12px/1.4 ui-monospace, monospace; }
aside table { width: 100%; font-size: 12px; } aside td, aside th { padding: 2px 6px; text-align: left; vertical-align: top; word-break: break-word; }
details > summary { cursor: pointer; color: var(--info); }
.muted { color: var(--muted); }
`;

/** The page's own script: plain DOM, no dependencies, textContent only. */
const SCRIPT = `
(() => {
  const report = JSON.parse(document.getElementById('report-data').textContent);
  const VERDICTS = ['pass','fail','non-strict','known-failure','error','informational','not-supported','not-run'];
  const $ = (id) => document.getElementById(id);
  const el = (tag, props, ...children) => {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(props || {})) {
      if (k === 'class') node.className = v; else if (k === 'text') node.textContent = v; else node.setAttribute(k, v);
    }
    for (const c of children) if (c != null) node.append(c);
    return node;
  };
  const pretty = (value) => typeof value === 'string' ? value : JSON.stringify(value, null, 2);

  $('meta').textContent = 'lazyjoin ' + report.lazyjoinVersion + ' · run ' + report.runStartedAt +
    ' · spec ' + report.spec.specVersions.map((s) => s.version + ' (' + s.mscs.join(', ') + ')').join(', ') +
    ' · proposals ' + report.spec.unmergedMscs.join(', ') + (report.strict ? ' · strict' : '');
  const runStatus = $('run-status');
  const notes = [];
  if (report.run.status === 'interrupted') notes.push('This run was interrupted before it finished: the verdicts cover only the tests that ended, and the gate is incomplete.');
  if (report.run.shard) notes.push('This is shard ' + report.run.shard.current + ' of ' + report.run.shard.total + ': its gate covers the tests it ran; the whole-suite gate is decided when the shards are merged.');
  if (notes.length) { runStatus.textContent = notes.join(' '); runStatus.hidden = false; }
  const gate = $('gate');
  gate.className = report.gate.status;
  gate.textContent = report.gate.status === 'passed' ? 'Gate passed' : (report.gate.status === 'incomplete' ? 'Gate incomplete: ' : 'Gate failed: ') + report.gate.reasons.join('; ');
  for (const c of report.candidates) {
    const t = report.totals[c.name].all;
    const box = el('div', { class: 'total' }, el('b', { text: c.name + ' ' + c.version }), el('span', { class: 'muted', text: '(' + c.driver + (c.database ? ', ' + c.database : '') + ') ' }));
    for (const v of VERDICTS) if (t[v]) box.append(el('span', { class: 'verdict v-' + v, text: v + ' ' + t[v] }), ' ');
    $('totals').append(box);
  }
  const label = (cell) => cell.verdict === 'informational' && cell.presence ? 'present ' + cell.presence.present + ' of ' + cell.presence.observed : cell.verdict;

  const fill = (select, values) => { for (const v of values) select.append(el('option', { value: v, text: v })); };
  const uniq = (xs) => [...new Set(xs)].sort();
  fill($('f-level'), uniq(report.requirements.map((r) => r.level)));
  fill($('f-verdict'), VERDICTS);
  fill($('f-area'), uniq(report.requirements.map((r) => r.area)));
  fill($('f-msc'), uniq(report.requirements.flatMap((r) => r.mscs)));

  let selected = null;
  const fillTable = (table, rows) => {
    const head = el('tr', {}, el('th', { text: 'Requirement' }), el('th', { text: 'Level' }), el('th', { text: 'Area' }), el('th', { text: 'Summary' }));
    for (const c of report.candidates) head.append(el('th', { text: c.name + ' ' + c.version }));
    table.tHead.append(head);
    for (const r of rows) {
      const row = el('tr', { class: r.inCatalogue ? '' : 'uncatalogued', 'data-id': r.id },
        el('td', { class: 'id', text: r.id }), el('td', { text: r.level }), el('td', { text: r.area }), el('td', { class: 'summary', text: r.summary }));
      for (const c of report.candidates) {
        const cell = r.results[c.name];
        const button = el('button', { class: 'verdict v-' + cell.verdict, 'data-candidate': c.name, title: r.id + ' on ' + c.name + ': ' + label(cell), text: label(cell) });
        button.addEventListener('click', () => {
          if (selected) selected.classList.remove('selected');
          selected = button; button.classList.add('selected');
          showDetails(r, c, cell);
        });
        const td = el('td', {}, button);
        if (cell.unexpectedlyPassing) td.append(el('span', { class: 'flag', title: 'unexpectedly passing: the baseline lists it as failing', text: '!' }));
        if (cell.verdict !== 'error' && cell.counts.error) td.append(el('span', { class: 'flag', title: cell.counts.error + ' error(s) among its tests', text: '⚠' }));
        row.append(td);
      }
      row._req = r;
      table.tBodies[0].append(row);
    }
  };
  fillTable($('matrix'), report.requirements.filter((r) => !r.profile));
  const profile = report.profiles.find((p) => p.name === 'partial-state');
  const profileRows = report.requirements.filter((r) => r.profile === 'partial-state');
  if (profile && profileRows.length) {
    const who = report.candidates.map((c) => {
      const p = profile.candidates[c.name];
      return c.name + (p.requested ? ' asked for partial state (judged against the profile)' : ' never asked for partial state (not supported)');
    }).join('; ');
    $('profile-intro').textContent = 'MSC3902 and MSC3895 behaviour of a joiner that asked for partial state (omit_members=true). ' +
      (profile.gating ? 'A broken MUST of the profile fails the gate for a candidate that asked. ' : 'Reported without gating (--profile none). ') + who + '.';
    fillTable($('profile-matrix'), profileRows);
  } else $('profile-section').hidden = true;
  const allRows = () => [...$('matrix').tBodies[0].rows, ...$('profile-matrix').tBodies[0].rows];

  const applyFilters = () => {
    const level = $('f-level').value, verdict = $('f-verdict').value, area = $('f-area').value, msc = $('f-msc').value;
    const text = $('f-text').value.trim().toLowerCase();
    let shown = 0;
    for (const row of allRows()) {
      const r = row._req;
      const ok = (!level || r.level === level) && (!area || r.area === area) && (!msc || r.mscs.includes(msc)) &&
        (!verdict || report.candidates.some((c) => r.results[c.name].verdict === verdict)) &&
        (!text || (r.id + ' ' + r.summary + ' ' + r.source).toLowerCase().includes(text));
      row.hidden = !ok; if (ok) shown++;
    }
    $('shown').textContent = shown + ' of ' + allRows().length + ' requirements';
  };
  for (const id of ['f-level', 'f-verdict', 'f-area', 'f-msc', 'f-text']) $(id).addEventListener('input', applyFilters);
  applyFilters();

  function showDetails(r, c, cell) {
    const pane = $('details');
    pane.replaceChildren();
    const close = el('button', { class: 'close', title: 'Close', text: '×' });
    close.addEventListener('click', () => { pane.hidden = true; if (selected) selected.classList.remove('selected'); });
    pane.append(close, el('h2', { text: r.id + ' · ' + c.name + ' ' + c.version }));
    pane.append(el('p', {}, el('span', { class: 'verdict v-' + cell.verdict, text: label(cell) }), ' ',
      el('span', { class: 'muted', text: r.level + (r.direction ? ' · ' + r.direction : '') + ' · ' + r.area })));
    pane.append(el('p', { text: r.summary || 'This requirement is not in the catalogue.' }));
    if (r.source) pane.append(el('p', { class: 'muted', text: 'Source: ' + r.source }));
    if (cell.unexpectedlyPassing) pane.append(el('p', { class: 'flag', text: 'Unexpectedly passing: the baseline ' + c.baseline + ' lists this requirement as failing. Update the baseline.' }));
    const counts = VERDICTS.filter((v) => cell.counts[v]).map((v) => v + ' ' + cell.counts[v]).join(', ');
    pane.append(el('p', { class: 'muted', text: counts ? 'Outcomes: ' + counts : 'No test covers this requirement.' }));
    if (cell.outcomes.length) {
      const table = el('table', { class: 'outcomes' }, el('tr', {}, el('th', { text: 'Check' }), el('th', { text: 'Outcome' }), el('th', { text: 'Test' })));
      for (const o of cell.outcomes) table.append(el('tr', {}, el('td', { text: o.checkId || (o.verdict === 'not-supported' ? '(feature not offered)' : '(no check ran)') }),
        el('td', { text: o.verdict + (o.present === undefined ? '' : o.present ? ' (present)' : ' (absent)') }), el('td', { text: cell.tests[o.test].title })));
      pane.append(el('h3', { text: 'Check outcomes behind the verdict' }), table);
    }
    if (cell.findings.length) pane.append(el('h3', { text: 'Findings' }));
    for (const f of cell.findings) {
      const t = cell.tests[f.test];
      const box = el('div', { class: 'finding v-' + f.verdict + '-b' },
        el('div', {}, el('span', { class: 'verdict v-' + f.verdict, text: f.verdict }), ' ', el('b', { text: f.checkId || '(no check)' }), ' ',
          el('span', { class: 'muted', text: t.file + ':' + t.line })),
        el('p', { text: f.reason }));
      if (f.knownFailureReason) box.append(el('p', { class: 'muted', text: 'Known failure: ' + f.knownFailureReason }));
      if ('expected' in f) box.append(el('div', { class: 'pair' },
        el('div', {}, el('b', { text: 'Expected' }), el('pre', { class: 'expected', text: pretty(f.expected) })),
        el('div', {}, el('b', { text: 'Observed' }), el('pre', { class: 'observed', text: pretty(f.observed) }))));
      if (f.exchanges && f.exchanges.length) {
        const list = el('ol', { class: 'exchanges' });
        for (const x of f.exchanges) {
          list.append(el('li', { value: String(x.n) }, el('details', {},
            el('summary', {}, el('span', { class: 'dir', text: (x.direction === 'to-candidate' ? 'suite → candidate ' : 'candidate → remote ') }),
              x.method + ' ' + x.path + ' · ' + (x.status === undefined ? 'no answer' : x.status)),
            el('div', { class: 'muted', text: x.from + ' → ' + x.to + ' at +' + x.atMs + ' ms' }),
            x.request !== undefined ? el('pre', { class: 'request', text: 'request: ' + x.request }) : null,
            x.response !== undefined ? el('pre', { class: 'response', text: 'answer: ' + x.response }) : null)));
        }
        box.append(el('details', { class: 'exchange', open: '' }, el('summary', { text: 'Wire exchange behind this finding (' + f.exchanges.length + ' requests)' }), list));
      }
      pane.append(box);
    }
    pane.append(el('h3', { text: 'Tests' }));
    const tests = el('table', {}, el('tr', {}, el('th', { text: 'Test' }), el('th', { text: 'Location' }), el('th', { text: 'Status' }), el('th', { text: 'Duration' })));
    for (const t of cell.tests) tests.append(el('tr', {}, el('td', { text: t.titlePath.join(' › ') }), el('td', { class: 'id', text: t.file + ':' + t.line }),
      el('td', { text: t.status + (t.earlierAttempts ? ' (retried: ' + t.earlierAttempts.map((a) => a.status).join(', ') + ' before)' : '') }), el('td', { text: (t.durationMs / 1000).toFixed(2) + ' s' })));
    pane.append(tests);
    for (const t of cell.tests) {
      const failed = t.status !== 'passed' && t.status !== 'skipped';
      for (const [i, a] of (t.earlierAttempts || []).entries()) if (a.errors.length) pane.append(el('details', {}, el('summary', { text: 'Attempt ' + (i + 1) + ' (' + a.status + ', retried): ' + t.title }), el('pre', { text: a.errors.join('\\n') })));
      if (t.errors.length) pane.append(el('details', { open: '' }, el('summary', { text: 'Errors: ' + t.title }), el('pre', { text: t.errors.join('\\n') })));
      if (t.wireExchange) { const d = el('details', { class: 'wire' }, el('summary', { text: 'Wire exchange: ' + t.title }), el('pre', { text: t.wireExchange })); d.open = failed; pane.append(d); }
      if (t.candidateLogTail) { const d = el('details', { class: 'log' }, el('summary', { text: 'Candidate log tail: ' + t.title }), el('pre', { text: t.candidateLogTail })); d.open = failed; pane.append(d); }
    }
    pane.hidden = false;
    pane.scrollTop = 0;
  }
})();
`;
