import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium, expect, test } from '@playwright/test';
import { runSample } from './fixtures/report/run-playwright.ts';

const CHROMIUM = '/usr/bin/chromium';

test('the HTML report renders the matrix, filters it, and opens a failing case with its wire exchange', async ({}, testInfo) => {
  test.setTimeout(150_000);
  if (!existsSync(CHROMIUM)) throw new Error(`Chromium is not installed at ${CHROMIUM}: install it with "apt-get install -y chromium"`);
  // Outside test-results/, which any concurrent Playwright run in this tree clears when it starts.
  const workDir = mkdtempSync(join(tmpdir(), 'lazyjoin-report-browser-'));
  const reportDir = join(workDir, 'report');
  const run = await runSample(reportDir);
  const page_ = join(reportDir, 'index.html');
  expect(existsSync(page_), `the sample run wrote no index.html:\n${run.stdout}\n${run.stderr}`).toBe(true);

  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  try {
    const page = await browser.newPage({ viewport: { width: 1500, height: 900 } });
    const outsideRequests: string[] = [];
    await page.route('**/*', (route) => {
      const url = route.request().url();
      if (url.startsWith('file:')) return route.continue();
      outsideRequests.push(url);
      return route.abort();
    });
    const pageErrors: string[] = [];
    page.on('pageerror', (e) => pageErrors.push(e.message));
    await page.goto(pathToFileURL(page_).href);

    const rows = page.locator('#matrix tbody tr');
    await expect(rows).toHaveCount(7);
    // The partial-state profile is its own section: alpha asked for partial state, beta never did.
    await expect(page.locator('#profile-matrix tbody tr .id')).toHaveText(['JS-03']);
    await expect(page.locator('#profile-intro')).toContainText('alpha asked for partial state');
    await expect(page.locator('#profile-intro')).toContainText('beta never asked for partial state (not supported)');
    // Informational is recorded, not passed: beta's MSC-ONLY SJ-09 shows how often it was present.
    await expect(page.locator('tr[data-id="SJ-09"] button[data-candidate="beta"]')).toHaveText('present 1 of 1');
    await expect(page.locator('#matrix thead th')).toContainText(['Requirement', 'Level', 'Area', 'Summary', 'alpha 1.0.0', 'beta 2.0.0']);
    await expect(page.locator('tr[data-id="SJ-12"] button[data-candidate="beta"]')).toHaveText('fail');
    await expect(page.locator('tr[data-id="SJ-16"] button[data-candidate="beta"]')).toHaveText('error');

    await page.selectOption('#f-verdict', 'fail');
    await expect(page.locator('#matrix tbody tr:visible .id')).toHaveText(['SJ-11', 'SJ-12']);
    await page.selectOption('#f-verdict', '');
    await page.selectOption('#f-level', 'SHOULD');
    await expect(page.locator('#matrix tbody tr:visible .id')).toHaveText(['SJ-15', 'ZZ-01']);
    await page.selectOption('#f-level', '');
    await page.selectOption('#f-msc', 'MSC3943');
    await expect(page.locator('#matrix tbody tr:visible .id')).toHaveText(['SJ-15']);
    await page.selectOption('#f-msc', '');
    await expect(rows.filter({ visible: true })).toHaveCount(7);

    await page.locator('tr[data-id="SJ-12"] button[data-candidate="beta"]').click();
    const details = page.locator('#details');
    await expect(details).toBeVisible();
    await expect(details.locator('h2')).toHaveText('SJ-12 · beta 2.0.0');
    await expect(details.locator('pre.expected')).toContainText('"members_omitted":true');
    await expect(details.locator('pre.observed')).toContainText('"members_omitted": false');
    await expect(details.locator('details.wire pre')).toContainText('/_matrix/federation/v2/send_join/');
    // The finding opens the wire exchange behind it: numbered requests, bodies one click away.
    const exchange = details.locator('details.exchange');
    await expect(exchange.locator('summary').first()).toHaveText('Wire exchange behind this finding (2 requests)');
    await expect(exchange.locator('ol.exchanges > li')).toHaveCount(2);
    await expect(exchange.locator('ol.exchanges > li').nth(1)).toHaveAttribute('value', '2');
    await expect(exchange.locator('ol.exchanges > li').nth(1).locator('summary')).toContainText('PUT /_matrix/federation/v2/send_join/!r:beta.test/$join?omit_members=true · 200');
    await expect(exchange.locator('pre.response').nth(1)).toBeHidden();
    await exchange.locator('ol.exchanges > li').nth(1).locator('summary').click();
    await expect(exchange.locator('pre.response').nth(1)).toContainText('"members_omitted":false');
    await expect(details).toContainText('Check outcomes behind the verdict');
    await expect(details.locator('details.log pre')).toContainText('partial state not offered');

    // Hostile strings from test titles and observations must stay text.
    await page.locator('tr[data-id="SJ-11"] button[data-candidate="beta"]').click();
    await expect(details.locator('pre.observed')).toContainText('</script><script>window.__pwned=3</script>');
    await expect(details).toContainText('hostile <img src=x onerror="window.__pwned=1">');
    expect(await page.evaluate(() => (window as unknown as { __pwned?: number }).__pwned)).toBeUndefined();
    await expect(page.locator('img, b[onmouseover]')).toHaveCount(0);

    expect(pageErrors, 'errors thrown by the page script').toEqual([]);
    expect(outsideRequests, 'the page must fetch nothing').toEqual([]);
    const screenshot = join(workDir, 'report-page.png');
    await page.screenshot({ path: screenshot, fullPage: true });
    await testInfo.attach('report-page', { path: screenshot, contentType: 'image/png' });
    console.log(`report page screenshot: ${screenshot}`);
  } finally {
    await browser.close();
  }
});
