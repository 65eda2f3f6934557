import type { FullResult, Reporter, TestCase, TestResult } from '@playwright/test/reporter';

/**
 * Prints one closing line `N passed, N failed, N skipped` for CI, counted per test (the final
 * result of each test, so a retried test counts once, and a flaky one, failed then passed on
 * retry, counts as passed and is listed above the line). Errors, timeouts and interruptions count
 * as failed: CI must never read them as passes.
 */
export default class SummaryLineReporter implements Reporter {
  private readonly tests = new Map<string, TestCase>();

  onTestEnd(test: TestCase, _result: TestResult): void {
    this.tests.set(test.id, test);
  }

  onEnd(result: FullResult): void {
    let passed = 0;
    let failed = 0;
    let skipped = 0;
    const flaky: string[] = [];
    for (const test of this.tests.values()) {
      const outcome = test.outcome();
      if (outcome === 'flaky') flaky.push(`${test.parent.project()?.name ?? ''} › ${test.title}`);
      if (outcome === 'expected' || outcome === 'flaky') passed++;
      else if (outcome === 'skipped') skipped++;
      else failed++;
    }
    // A run that broke before any test (config error, global setup failure) is a failure too.
    if (result.status !== 'passed' && failed === 0) failed = 1;
    // A flaky test failed, was retried (LAZYJOIN_RETRIES) and passed: it counts as passed here, and
    // the compliance report still holds any departure its failed attempt judged.
    if (flaky.length) process.stdout.write(`\n${flaky.length} flaky (failed, then passed on retry; counted as passed, departures kept in the report):\n${flaky.map((t) => `  ${t}`).join('\n')}\n`);
    process.stdout.write(`\n${passed} passed, ${failed} failed, ${skipped} skipped\n`);
  }

  printsToStdio(): boolean {
    return true;
  }
}
