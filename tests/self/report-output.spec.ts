import { mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, test } from '@playwright/test';
import { aggregate } from '../../harness/report/aggregate.ts';
import { embedJson, escapeHtml, renderHtml } from '../../harness/report/render-html.ts';
import { renderMarkdown } from '../../harness/report/render-markdown.ts';
import { complianceSchemaErrors, writeReport } from '../../harness/report/write.ts';
import { check, requirement, runResults, testRecord } from './fixtures/report/records.ts';
import { SAMPLE_CATALOGUE } from './fixtures/report/run-playwright.ts';

const HOSTILE = `</script><script>alert(1)</script><img src=x onerror=alert(2)>"'&\u2028<!--`;
const catalogue = [requirement('SJ-12', 'MUST'), { ...requirement('SJ-15', 'SHOULD'), summary: HOSTILE }];
const results = runResults(
  [
    testRecord({ title: `members ${HOSTILE}`, tags: ['@SJ-12'], status: 'failed', checks: [check('SJ-12', 'fail', { observed: { state: HOSTILE }, reason: HOSTILE })], wireExchange: HOSTILE, candidateLogTail: HOSTILE }),
    testRecord({ title: 'heroes', tags: ['@SJ-15'], checks: [check('SJ-15', 'informational', { checkId: null, present: false })] }),
  ],
  ['alpha'],
);
results.candidates.alpha.version = HOSTILE;

test('a generated compliance report matches schemas/compliance.schema.json', () => {
  expect(complianceSchemaErrors(aggregate(results, { catalogue }))).toEqual([]);
});

test('a report that breaks the schema is refused with the offending paths', () => {
  const report = aggregate(results, { catalogue });
  const broken = { ...report, requirements: [{ ...report.requirements[0], level: 'MUSTN’T' }] };
  expect(complianceSchemaErrors(broken)).toEqual(['/requirements/0/level must be equal to one of the allowed values']);
});

test('writeReport writes the four files, and compliance.json validates', () => {
  const dir = mkdtempSync(join(tmpdir(), 'lazyjoin-report-output-'));
  writeReport(results, { outputDir: dir, catalogue: SAMPLE_CATALOGUE });
  expect(readdirSync(dir).sort()).toEqual(['compliance.json', 'index.html', 'results.json', 'summary.md']);
  expect(complianceSchemaErrors(JSON.parse(readFileSync(join(dir, 'compliance.json'), 'utf8')))).toEqual([]);
  expect(JSON.parse(readFileSync(join(dir, 'results.json'), 'utf8'))).toEqual(results);
});

test('HTML escaping: text, attributes and embedded data cannot break out', () => {
  expect(escapeHtml(`<a href="x" title='y'>&</a>`)).toBe('&lt;a href=&quot;x&quot; title=&#39;y&#39;&gt;&amp;&lt;/a&gt;');
  const embedded = embedJson({ s: HOSTILE });
  expect(embedded).not.toMatch(/[<\u2028\u2029]/);
  expect(JSON.parse(embedded)).toEqual({ s: HOSTILE });

  const report = aggregate(results, { catalogue });
  const html = renderHtml(report);
  const data = /<script type="application\/json" id="report-data">(.*?)<\/script>/s.exec(html)![1];
  expect(JSON.parse(data)).toEqual(report);
  // Outside the embedded data, the only markup is the page's own: no tag from a report string.
  const markup = html.replace(data, '');
  expect(markup.match(/<script/g)).toHaveLength(2);
  expect(markup).not.toContain('<img');
  expect(markup).toContain(`<title>lazyjoin compliance — alpha ${escapeHtml(HOSTILE)}</title>`);
});

test('Markdown: one line per failure, inline HTML neutralised, length capped', () => {
  const report = aggregate(results, { catalogue });
  const md = renderMarkdown(report);
  expect(md).not.toMatch(/<(script|img)/);
  expect(md).toContain('| alpha | &lt;/script&gt;&lt;script&gt;alert(1)&lt;/script&gt;&lt;img src=x onerror=alert(2)&gt;"\'&amp; &lt;!-- | 0 | 1 |');
  expect(md).toContain('- **SJ-12** MUST, send\\_join: summary of SJ-12\n  - alpha: **fail** — &lt;/script&gt;');
  expect(md).not.toContain('SJ-15'); // informational is not a failure
  const many = runResults(
    Array.from({ length: 400 }, (_, i) => testRecord({ title: `t${i}`, tags: [`@SJ-${i}`], status: 'failed', checks: [check(`SJ-${i}`, 'fail', { reason: 'x'.repeat(300) })] })),
  );
  const capped = renderMarkdown(aggregate(many, { catalogue: [] }), 10_000);
  expect(capped.length).toBeLessThanOrEqual(10_000);
  expect(capped).toMatch(/… \d+ more requirement\(s\) omitted; see index.html or compliance.json.\n$/);
});
