import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, test } from '@playwright/test';
import type { ComplianceReport } from '../../harness/report/aggregate.ts';
import type { RunResults } from '../../harness/report/model.ts';
import { complianceSchemaErrors } from '../../harness/report/write.ts';
import { SAMPLE_CATALOGUE, runPlaywright, runSample } from './fixtures/report/run-playwright.ts';

const readJson = <T>(path: string): T => JSON.parse(readFileSync(path, 'utf8')) as T;

test('two shards merged with merge-reports give one compliance report over all tests', async () => {
  test.setTimeout(180_000);
  // Outside test-results/, which any concurrent Playwright run in this tree clears when it starts.
  const work = mkdtempSync(join(tmpdir(), 'lazyjoin-report-merge-'));
  const blobs = join(work, 'blobs');
  mkdirSync(blobs);
  const shardTests: number[] = [];
  for (const shard of [1, 2]) {
    const run = await runSample(join(work, `shard-${shard}`), [`--shard=${shard}/2`, '--reporter=blob,./harness/report/compliance-reporter.ts'], {
      PLAYWRIGHT_BLOB_OUTPUT_DIR: join(work, `blob-${shard}`),
      LAZYJOIN_REQUIREMENTS: SAMPLE_CATALOGUE,
    });
    const zips = readdirSync(join(work, `blob-${shard}`)).filter((f) => f.endsWith('.zip'));
    expect(zips, `shard ${shard} wrote no blob report:\n${run.stdout}\n${run.stderr}`).toHaveLength(1);
    copyFileSync(join(work, `blob-${shard}`, zips[0]), join(blobs, zips[0]));
    shardTests.push(readJson<RunResults>(join(work, `shard-${shard}`, 'results.json')).tests.length);
    // A shard says it is one, and its gate covers only what it saw.
    const own = readJson<ComplianceReport>(join(work, `shard-${shard}`, 'compliance.json'));
    expect(own.run).toEqual({ status: 'complete', shard: { current: shard, total: 2 } });
    expect(run.stdout).toContain(`shard ${shard} of 2 (the whole-suite gate is decided when shards are merged)`);
  }

  const merged = join(work, 'merged');
  const merge = await runPlaywright(['merge-reports', '--reporter', './harness/report/compliance-reporter.ts', blobs], {
    LAZYJOIN_REPORT_DIR: merged,
    LAZYJOIN_REQUIREMENTS: SAMPLE_CATALOGUE,
  });
  expect(merge.code, `merge-reports failed:\n${merge.stdout}\n${merge.stderr}`).toBe(0);

  const results = readJson<RunResults>(join(merged, 'results.json'));
  // Each shard ran part of the 14 candidate tests (7 per candidate; `self` is left out), together all.
  expect(shardTests.every((n) => n > 0 && n < 14), `tests per shard: ${shardTests}`).toBe(true);
  expect(shardTests[0] + shardTests[1]).toBe(14);
  expect(results.tests).toHaveLength(14);
  expect(results.candidates).toEqual({
    alpha: { name: 'alpha', version: '1.0.0', driver: 'synthetic' },
    beta: { name: 'beta', version: '2.0.0', driver: 'synthetic' },
  });

  const report = readJson<ComplianceReport>(join(merged, 'compliance.json'));
  expect(complianceSchemaErrors(report)).toEqual([]);
  expect(report.run).toEqual({ status: 'complete' });
  const verdicts = Object.fromEntries(report.requirements.map((r) => [r.id, `${r.results.alpha.verdict} / ${r.results.beta.verdict}`]));
  expect(verdicts).toEqual({
    'JS-03': 'pass / not-run',
    'JS-09': 'not-run / not-run',
    'SJ-09': 'not-supported / informational',
    'SJ-11': 'pass / fail',
    'SJ-12': 'pass / fail',
    'SJ-15': 'pass / non-strict',
    'SJ-16': 'pass / error',
    'ZZ-01': 'not-run / not-run',
  });
  // Attachments survive the blob round trip.
  const sj12 = report.requirements.find((r) => r.id === 'SJ-12')!.results.beta.tests[0];
  expect(sj12.wireExchange).toContain('/_matrix/federation/v2/send_join/');
  expect(sj12.candidateLogTail).toContain('partial state not offered');
  expect(sj12.file).toBe('tests/self/fixtures/report/sample/resident.sample.ts');
});
