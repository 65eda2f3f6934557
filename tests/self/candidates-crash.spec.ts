/**
 * A candidate that crashes during one test makes the next test fail at once, as an error naming
 * how it ended with its log tail, without running that test's body; the test after that gets a
 * fresh candidate. Checked by a nested Playwright run of three tests over the real candidate
 * fixture, with a stand-in candidate process that exits with code 3 when told to.
 */
import { expect, test } from '@playwright/test';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LOG_ATTACHMENT } from '../../harness/report/compliance-reporter.ts';

const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
const PLAYWRIGHT_CLI = join(REPO_ROOT, 'node_modules', '@playwright', 'test', 'cli.js');
const module = (path: string) => JSON.stringify(join(REPO_ROOT, path));
const NESTED_RUN_BOUND_MS = 90_000;

/**
 * The nested suite. The stand-in process installs its crash handler before it says it is up, so
 * the signal never arrives unhandled; each worker starts its own stand-in, as the real fixture
 * starts a candidate per worker.
 */
function nestedSpec(dir: string): string {
  return `
import { writeFileSync } from 'node:fs';
import { candidateTest } from ${module('harness/candidates/fixture.ts')};
import { ManagedProcess } from ${module('harness/candidates/process.ts')};
import type { Candidate } from ${module('harness/candidates/types.ts')};

const standIn = [
  "process.on('SIGUSR2', () => { console.error('fatal: simulated crash'); process.exit(3); });",
  "console.log('stand-in candidate up');",
  'setInterval(() => undefined, 1000);',
].join('\\n');

const test = candidateTest.extend<{}, { proc: ManagedProcess }>({
  proc: [
    async ({}, use, workerInfo) => {
      const proc = await ManagedProcess.spawn({
        name: 'stand-in',
        command: process.execPath,
        args: ['-e', standIn],
        logPath: ${JSON.stringify(dir)} + '/stand-in-w' + workerInfo.workerIndex + '.log',
      });
      await proc.waitForLog(/stand-in candidate up/, { timeoutMs: 10_000 });
      await use(proc);
      await proc.stop();
    },
    { scope: 'worker' },
  ],
  candidate: [
    async ({ proc }, use) => {
      const candidate: Candidate = {
        info: { name: 'stand-in', implementation: 'stand-in', version: '0.0.1', driver: 'process' },
        capabilities: { restart: false, admin: false },
        serverName: '127.0.0.1:1',
        clientUrl: 'http://127.0.0.1:1',
        federationUrl: 'https://127.0.0.1:1',
        start: async () => undefined,
        stop: () => proc.stop(),
        restart: async () => undefined,
        teardown: () => proc.stop(),
        registerUser: async () => { throw new Error('not needed here'); },
        unexpectedExit: async () => proc.exit,
        logTail: (lines) => proc.logTail(lines),
      };
      await use(candidate);
    },
    { scope: 'worker' },
  ],
});

test('the candidate crashes during this test', async ({ proc }) => {
  process.kill(proc.pid, 'SIGUSR2');
  await proc.exited;
});

test('the next test fails at once', async () => {
  writeFileSync(${JSON.stringify(join(dir, 'body-ran'))}, 'the body of the test after the crash ran');
});

test('the test after that has a fresh candidate', async ({ candidate }) => {
  if (await candidate.unexpectedExit()) throw new Error('the fresh candidate is not running');
});
`;
}

interface JsonResult {
  status: string;
  workerIndex: number;
  errors: { message?: string }[];
  attachments: { name: string; body?: string }[];
}
interface JsonSuite {
  suites?: JsonSuite[];
  specs?: { title: string; tests: { results: JsonResult[] }[] }[];
}

function resultsByTitle(suite: JsonSuite, into = new Map<string, JsonResult>()): Map<string, JsonResult> {
  for (const spec of suite.specs ?? []) into.set(spec.title, spec.tests[0]!.results[0]!);
  for (const child of suite.suites ?? []) resultsByTitle(child, into);
  return into;
}

let dir: string;
test.beforeEach(() => {
  // Inside the repository (ignored by git), so that the nested suite resolves @playwright/test.
  mkdirSync(join(REPO_ROOT, '.lazyjoin'), { recursive: true });
  dir = mkdtempSync(join(REPO_ROOT, '.lazyjoin', 'crash-selftest-'));
});
test.afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

test('a candidate that crashed fails the next test at once with its exit and log tail; the run goes on', async () => {
  writeFileSync(join(dir, 'crash.spec.ts'), nestedSpec(dir));
  const reportPath = join(dir, 'report.json');
  writeFileSync(
    join(dir, 'playwright.config.ts'),
    `export default ${JSON.stringify({
      testDir: dir,
      outputDir: join(dir, 'results'),
      workers: 1,
      retries: 0,
      timeout: 30_000,
      reporter: [['json', { outputFile: reportPath }]],
    })};\n`,
  );
  const child = spawn(process.execPath, [PLAYWRIGHT_CLI, 'test', '--config', join(dir, 'playwright.config.ts')], {
    cwd: REPO_ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (c: Buffer) => (output += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (output += c.toString()));
  const bound = setTimeout(() => child.kill('SIGKILL'), NESTED_RUN_BOUND_MS);
  const [code] = (await once(child, 'exit')) as [number | null];
  clearTimeout(bound);
  expect(existsSync(reportPath), `the nested run wrote its JSON report (exit ${code}):\n${output}`).toBe(true);
  expect(code, 'one test failed, so the nested run fails').toBe(1);

  const results = resultsByTitle(JSON.parse(readFileSync(reportPath, 'utf8')) as JsonSuite);
  const crashed = results.get('the candidate crashes during this test')!;
  const next = results.get('the next test fails at once')!;
  const after = results.get('the test after that has a fresh candidate')!;
  expect([crashed.status, next.status, after.status]).toEqual(['passed', 'failed', 'passed']);

  const message = next.errors.map((e) => e.message ?? '').join('\n');
  expect(message).toContain('CandidateError: the candidate exited (code 3) during the run, before this test (stand-in 0.0.1)');
  expect(message).toContain('--- candidate log tail ---\nstand-in candidate up\nfatal: simulated crash');
  const log = next.attachments.find((a) => a.name === LOG_ATTACHMENT);
  expect(Buffer.from(log?.body ?? '', 'base64').toString()).toContain('fatal: simulated crash');
  expect(existsSync(join(dir, 'body-ran')), 'the body of the test after the crash did not run').toBe(false);

  expect(after.workerIndex, 'a fresh worker (so a fresh candidate) for the test after the failure').not.toBe(crashed.workerIndex);
});
