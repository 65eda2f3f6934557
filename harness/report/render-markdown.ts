import type { ComplianceReport } from './aggregate.ts';
import type { Verdict } from './model.ts';

/** Columns of the totals table, in the order an implementer reads them. */
const TOTAL_COLUMNS: Verdict[] = ['pass', 'fail', 'non-strict', 'known-failure', 'error', 'informational', 'not-supported', 'not-run'];
const SHOWN_FINDINGS: ReadonlySet<Verdict> = new Set(['fail', 'non-strict', 'error', 'known-failure']);

/** GitHub refuses comments over 65,536 characters; stay well under it. */
export const MARKDOWN_LIMIT = 60_000;
const REASON_LIMIT = 240;

/**
 * The Markdown summary (GitHub step summary or PR comment): totals per candidate, the gate, then
 * the non-passing requirements with one line per candidate. Capped at `limit` characters.
 */
export function renderMarkdown(report: ComplianceReport, limit = MARKDOWN_LIMIT): string {
  const head: string[] = [];
  head.push(`## lazyjoin compliance: ${{ passed: 'passed', failed: 'FAILED', incomplete: 'INCOMPLETE (run interrupted)' }[report.gate.status]}`);
  head.push('');
  if (report.run.status === 'interrupted') head.push('**This run was interrupted before it finished**: the verdicts cover only the tests that ended, and the gate is incomplete.', '');
  if (report.run.shard) head.push(`This is shard ${report.run.shard.current} of ${report.run.shard.total}: its gate covers the tests it ran; the whole-suite gate is decided when the shards are merged.`, '');
  head.push(
    `lazyjoin ${report.lazyjoinVersion}, run ${report.runStartedAt}; spec ${report.spec.specVersions.map((s) => `${s.version} (${s.mscs.join(', ')})`).join(', ')}; proposals ${report.spec.unmergedMscs.join(', ')}${report.strict ? '; strict' : ''}.`,
  );
  head.push('');
  head.push(`| candidate | version | ${TOTAL_COLUMNS.join(' | ')} |`);
  head.push(`|---|---|${TOTAL_COLUMNS.map(() => '---:').join('|')}|`);
  for (const c of report.candidates) {
    const t = report.totals[c.name].all;
    const version = c.database ? `${c.version} (${c.database})` : c.version;
    head.push(`| ${inline(c.name)} | ${inline(version)} | ${TOTAL_COLUMNS.map((v) => t[v]).join(' | ')} |`);
  }
  head.push('');
  for (const reason of report.gate.reasons.slice(0, 20)) head.push(`- ${inline(reason)}`);
  if (report.gate.reasons.length > 20) head.push(`- … and ${report.gate.reasons.length - 20} more`);
  for (const w of report.warnings) head.push(`- warning: ${inline(w)}`);
  head.push('');

  const profile = report.profiles.find((p) => p.name === 'partial-state');
  const profileRows = report.requirements.filter((r) => r.profile === 'partial-state');
  if (profile && profileRows.length) {
    head.push(`### Profile: partial state (${profileRows.length} requirements${profile.gating ? '' : ', reported without gating'})`, '');
    head.push(`| candidate | asked for partial state | ${TOTAL_COLUMNS.join(' | ')} |`);
    head.push(`|---|---|${TOTAL_COLUMNS.map(() => '---:').join('|')}|`);
    for (const c of report.candidates) {
      const p = profile.candidates[c.name];
      head.push(`| ${inline(c.name)} | ${p.requested ? 'yes: judged against the profile' : 'no: not supported'} | ${TOTAL_COLUMNS.map((v) => p.totals[v]).join(' | ')} |`);
    }
    head.push('');
  }

  const versioned = report.candidates.filter((c) => (report.roomVersions?.[c.name] ?? []).length > 0);
  if (versioned.length) {
    head.push('### Room versions', '');
    for (const c of versioned) {
      for (const line of report.roomVersions[c.name]) {
        const verdicts = Object.entries(line.counts).filter(([, n]) => n > 0).map(([v, n]) => `${n} ${v}`).join(', ');
        head.push(`- ${inline(c.name)} ${inline(c.version)}, room version ${inline(line.roomVersion)}: ${line.tests} tests; outcomes ${verdicts || 'none'}`);
      }
    }
    head.push('');
  }

  const sections: string[] = [];
  for (const row of [...report.requirements.filter((r) => !r.profile), ...profileRows]) {
    const lines: string[] = [];
    for (const c of report.candidates) {
      const cell = row.results[c.name];
      if (!SHOWN_FINDINGS.has(cell.verdict) && !cell.unexpectedlyPassing) continue;
      const finding = cell.findings.find((f) => f.verdict === cell.verdict) ?? cell.findings[0];
      const why = cell.unexpectedlyPassing
        ? 'passes, but the baseline lists it as failing'
        : finding
          ? `${finding.reason}${finding.knownFailureReason ? ` (known: ${finding.knownFailureReason})` : ''}`
          : '';
      const test = finding ? cell.tests[finding.test] : undefined;
      lines.push(`  - ${c.name}: **${cell.verdict}** — ${inline(why)}${test ? ` (\`${test.file}:${test.line}\`)` : ''}`);
    }
    if (lines.length === 0) continue;
    sections.push([`- **${row.id}** ${row.level}${row.profile ? ` (${row.profile} profile)` : ''}${row.area ? `, ${inline(row.area)}` : ''}: ${inline(row.summary || '(not in the catalogue)')}`, ...lines].join('\n'));
  }

  let out = head.join('\n');
  if (sections.length > 0) out += '\n### Not passing\n\n';
  const footer = (omitted: number) => `\n\n… ${omitted} more requirement(s) omitted; see index.html or compliance.json.\n`;
  for (let i = 0; i < sections.length; i++) {
    if (out.length + sections[i].length + 1 + footer(sections.length).length > limit) return out + footer(sections.length - i);
    out += sections[i] + '\n';
  }
  return out;
}

/** One line of text safe inside Markdown: no newlines, no table breaks, no raw HTML. */
function inline(text: string): string {
  const one = text.replace(/\s+/g, ' ').trim();
  const cut = one.length > REASON_LIMIT ? `${one.slice(0, REASON_LIMIT - 1)}…` : one;
  return cut.replace(/[<>&]/g, (ch) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;' })[ch]!).replace(/([\\`*_[\]|])/g, '\\$1');
}
