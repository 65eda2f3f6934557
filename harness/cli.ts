import { spawn } from 'node:child_process';
import { accessSync, chmodSync, constants, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { externalRecipe, RECIPE_IMPLEMENTATIONS, splitServerName, type RecipeImplementation } from './candidates/external-recipes.ts';
import { formatPreflight, PREFLIGHT_PASSED_ENV, preflightExternal } from './candidates/external-preflight.ts';
import { externalFromEnv, type ExternalDescription } from './candidates/external.ts';
import { knownCandidates } from './candidates/index.ts';
import { CA_PIN_ENV, checkCertificateName, describeCertificate, ensureSuiteCA, ISSUED_CERT_VALIDITY_DAYS, issueServerCert, pinSuiteCA, suiteCADir } from './remote/pki.ts';
import type { ComplianceReport } from './report/aggregate.ts';
import { parseBaseline, readBaseline } from './report/baseline.ts';
import { draftBaseline, mergedBaselineText } from './report/baseline-draft.ts';
import { complementCoverage, formatCoverage } from './report/complement.ts';
import { loadCatalogue } from './checks/catalogue.ts';
import type { Requirement } from './checks/types.ts';
import { REQUIREMENT_TAG, VERDICTS } from './report/model.ts';
import { DEFAULT_REPORT_DIR, readResults, writeReport } from './report/write.ts';

/**
 * The `lazyjoin` command: run the suite against candidates, rebuild a report from saved results,
 * list requirements and the tests covering them. Exit status: 0 when the run's gate passes, 1 when
 * it fails (a MUST failing outside the baseline, a SHOULD under --strict, a baseline entry
 * unexpectedly passing), 2 on usage errors or when no report could be produced.
 */

const REPO_ROOT = fileURLToPath(new URL('../', import.meta.url));
const REPORTER = fileURLToPath(new URL('./report/compliance-reporter.ts', import.meta.url));
const SUMMARY_LINE = fileURLToPath(new URL('./report/summary-line.ts', import.meta.url));
const PLAYWRIGHT_CLI = createRequire(import.meta.url).resolve('@playwright/test/cli');

class UsageError extends Error {}

const HELP: Record<string, string> = {
  main: `Usage: lazyjoin <command> [options]

Commands:
  run              run the conformance tests against candidates and write the compliance report
  report           rebuild the compliance report from a saved results.json
  list             list the requirements and the tests that cover them
  ca               print the suite CA's certificate path (creating the CA on first use);
                   "ca issue NAME... --out DIR" issues a federation certificate for a server
  external-config  print the settings a server run by hand needs to be tested as "external"
  baseline         draft the baseline entries a run calls for (its failures not yet listed)

Run "lazyjoin <command> --help" for the options of a command.`,
  run: `Usage: lazyjoin run [options] [-- <extra playwright test arguments>]

Options:
  --candidate NAME   candidate to test (synapse, synapse-1.98, synapse-postgres, dendrite, palpo, external,
                     synapse-container, synapse-container-postgres, dendrite-container, container);
                     repeatable or a comma list
                     (default: $LAZYJOIN_CANDIDATES or synapse)
  --grep ID|AREA     only the tests of a requirement (SJ-12), an ID family (SJ), an area or a room version (v12)
                     (send_join); repeatable or a comma list
  --out DIR          report folder (default: ${DEFAULT_REPORT_DIR})
  --strict           a broken SHOULD fails the run, as a broken MUST does
  --baseline FILE    known failures to accept (repeatable); default: the
                     expectations/<candidate>-<version>.json of each candidate, if present
  --profile NAME     partial-state (default): a candidate that asked for partial state is
                     judged against the profile and a broken MUST of it fails the gate;
                     none: the profile is reported without gating
  --shard I/N        run shard I of N; also writes a blob report to DIR/blob for
                     "npx playwright merge-reports --reporter ./harness/report/compliance-reporter.ts";
                     a shard's gate covers the tests it ran, the whole-suite gate is the merge's
  -h, --help         this help

The external candidate is described by LAZYJOIN_EXTERNAL_* variables ("lazyjoin external-config
--help"); a preflight checks the server before the first test and stops the run when it fails.

Exit status: 0 when no MUST requirement fails outside the baseline (nor a SHOULD under
--strict), none could not be judged because its tests ended in errors, and no baseline entry
passes unexpectedly; 1 otherwise; 2 on usage errors, a failed external preflight, or when no
report was written; 3 when the
run was interrupted (Ctrl-C, a signal): an unfinished run never passes.`,
  report: `Usage: lazyjoin report [options]

Rebuilds compliance.json, summary.md and index.html from a saved results.json.

Options:
  --from DIR         folder holding results.json (default: ${DEFAULT_REPORT_DIR})
  --out DIR          where to write the report (default: the --from folder)
  --strict           a broken SHOULD fails the gate
  --profile NAME     partial-state (default) or none, as for "run"
  --baseline FILE    known failures to accept (repeatable); default as for "run"
  --requirements F   requirement catalogue (default: schemas/requirements.json)
  -h, --help         this help

Exit status as for "run".`,
  ca: `Usage: lazyjoin ca
       lazyjoin ca issue NAME... --out DIR [--days N]

The suite CA signs every remote's certificate; candidates trust it for outbound federation. It is
made on first use in ${'$'}{LAZYJOIN_CA_DIR:-${'$'}{LAZYJOIN_CACHE:-~/.cache/lazyjoin}/ca} and kept for every
later run, and replaced (with a message) when it nears its end.

  lazyjoin ca        prints the path of the CA certificate (ca.crt)
  lazyjoin ca issue  issues a server certificate and key for an external server's federation
                     listener, signed by the suite CA: DIR/<first NAME>.crt and DIR/<first NAME>.key.
                     NAMEs are DNS names or IP addresses (no port), all put in the certificate.

Options:
  --out DIR          where to write the certificate and key (issue only)
  --days N           validity in days (default ${ISSUED_CERT_VALIDITY_DAYS}; never beyond the CA's)
  -h, --help         this help`,
  'external-config': `Usage: lazyjoin external-config --implementation NAME [options]

Prints what a server you run yourself needs so that lazyjoin can test it as the "external"
candidate, in that server's config syntax: federation TLS from the suite CA both ways, loopback
and IP-literal server names allowed, no notary key servers, no rate limits, registration by
shared secret or token, presence off; then how to start it and the LAZYJOIN_EXTERNAL_* variables.

Options:
  --implementation NAME  ${RECIPE_IMPLEMENTATIONS.join(', ')}
                         (synapse and dendrite are run by lazyjoin's CI; the others are written
                         from their documentation only)
  --server-name H:P      the server name, reached directly (default 127.0.0.1:8448)
  --client-port N        port of the plain-HTTP client listener (default 8008)
  --cert-dir DIR         where "lazyjoin ca issue" puts the certificate (default lazyjoin-tls)
  --secret S             registration shared secret or token (default: a random one)
  -h, --help             this help`,
  baseline: `Usage: lazyjoin baseline --candidate NAME [options]

Drafts, from a saved run, the baseline entries of one candidate: each failing or non-strict check
its baseline (expectations/<implementation>-<version>.json) does not already excuse becomes an
entry scoped to that test and check, with the check's reason and the observed value as evidence;
one seen only in an attempt that a retry passed is marked intermittent. Tests that ended in an
error are listed apart: a baseline cannot excuse them. Review the draft before you keep it: a
baseline says "this is how the server is", and a wrong entry hides a regression.

Options:
  --candidate NAME   the candidate (project) whose failures to draft
  --from DIR         the run's report folder holding results.json (default: lazyjoin-report)
  --write            append the entries to the baseline file (created when missing) instead of
                     printing them
  -h, --help         this help`,
  list: `Usage: lazyjoin list [options]

Lists each requirement of the catalogue with its level, area and the tests that cover it.

Options:
  --candidate NAME   the candidate project whose tests are listed (default: synapse)
  --grep ID|AREA     only these requirements (as for "run")
  --uncovered        only requirements no test covers
  --coverage         Complement's 63 partial-state test cases and the tests covering each (from
                     their @complement-N tags), as the Markdown table the README holds
  --json             machine-readable output
  -h, --help         this help`,
};

type Options = NonNullable<ParseArgsConfig['options']>;
const COMMON: Options = { help: { type: 'boolean', short: 'h' } };
const OPTIONS: Record<string, Options> = {
  run: {
    ...COMMON,
    candidate: { type: 'string', multiple: true },
    grep: { type: 'string', multiple: true },
    out: { type: 'string' },
    strict: { type: 'boolean' },
    baseline: { type: 'string', multiple: true },
    profile: { type: 'string' },
    shard: { type: 'string' },
  },
  report: {
    ...COMMON,
    from: { type: 'string' },
    out: { type: 'string' },
    strict: { type: 'boolean' },
    baseline: { type: 'string', multiple: true },
    profile: { type: 'string' },
    requirements: { type: 'string' },
  },
  list: { ...COMMON, candidate: { type: 'string' }, grep: { type: 'string', multiple: true }, uncovered: { type: 'boolean' }, coverage: { type: 'boolean' }, json: { type: 'boolean' } },
  ca: { ...COMMON, out: { type: 'string' }, days: { type: 'string' } },
  baseline: { ...COMMON, candidate: { type: 'string' }, from: { type: 'string' }, write: { type: 'boolean' } },
  'external-config': {
    ...COMMON,
    implementation: { type: 'string' },
    'server-name': { type: 'string' },
    'client-port': { type: 'string' },
    'cert-dir': { type: 'string' },
    secret: { type: 'string' },
  },
};

/** Commands that take positional arguments. */
const POSITIONALS = new Set(['ca']);

export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  try {
    if (command === undefined || command === '-h' || command === '--help' || command === 'help') {
      process.stdout.write(HELP.main + '\n');
      return command === undefined ? 2 : 0;
    }
    const options = OPTIONS[command];
    if (!options) throw new UsageError(`unknown command "${command}" (expected ${Object.keys(OPTIONS).join(', ')})`);
    const separator = rest.indexOf('--');
    const own = separator >= 0 ? rest.slice(0, separator) : rest;
    const passThrough = separator >= 0 ? rest.slice(separator + 1) : [];
    if (passThrough.length > 0 && command !== 'run') throw new UsageError(`"lazyjoin ${command}" takes no arguments after --`);
    let values: Record<string, string | boolean | (string | boolean)[] | undefined>;
    let positionals: string[];
    try {
      ({ values, positionals } = parseArgs({ args: own, options, strict: true, allowPositionals: POSITIONALS.has(command) }));
    } catch (e) {
      throw new UsageError((e as Error).message.split('\n')[0]);
    }
    if (values.help) {
      process.stdout.write(HELP[command] + '\n');
      return 0;
    }
    if (command === 'run') return await runCommand(values, passThrough);
    if (command === 'report') return reportCommand(values);
    if (command === 'ca') return await caCommand(values, positionals);
    if (command === 'external-config') return externalConfigCommand(values);
    if (command === 'baseline') return baselineCommand(values);
    return await listCommand(values);
  } catch (e) {
    if (e instanceof UsageError) {
      process.stderr.write(`lazyjoin: ${e.message}\nRun "lazyjoin ${command && HELP[command] ? `${command} ` : ''}--help" for usage.\n`);
      return 2;
    }
    process.stderr.write(`lazyjoin: ${(e as Error).message}\n`);
    return 2;
  }
}

function list(value: unknown): string[] {
  const items = Array.isArray(value) ? value : value === undefined ? [] : [value];
  return items.flatMap((v) => String(v).split(',')).map((s) => s.trim()).filter(Boolean);
}

/**
 * A Playwright --grep pattern over requirement tags. Each term is a requirement ID (SJ-12), an ID
 * family (SJ), an area of the catalogue (send_join) or a room version (v12, @v12); anything else
 * is a usage error.
 */
export function grepPattern(terms: string[], catalogue: Requirement[]): string {
  const alternatives = terms.map((term) => {
    if (/^@?v\d+$/.test(term)) return `@${escapeRegExp(term.replace(/^@/, ''))}`;
    if (REQUIREMENT_TAG.test(`@${term}`)) return `@${escapeRegExp(term)}`;
    if (/^[A-Z]+$/.test(term)) return `@${term}-\\d+[a-z]?`;
    const ids = catalogue.filter((r) => r.area === term).map((r) => r.id);
    if (ids.length === 0) {
      const areas = [...new Set(catalogue.map((r) => r.area))].sort();
      throw new UsageError(`--grep ${term}: not a requirement ID, an ID family or an area${areas.length ? ` (areas: ${areas.join(', ')})` : ''}`);
    }
    return ids.map((id) => `@${escapeRegExp(id)}`).join('|');
  });
  // A tag ends at a space or at the end of the title, so that @SJ-1 does not select @SJ-12.
  return `(${alternatives.join('|')})(?=\\s|$)`;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

function baselineFiles(value: unknown): string[] {
  const files = list(value).map((f) => resolve(f));
  for (const f of files) {
    if (!existsSync(f)) throw new UsageError(`--baseline ${f}: no such file`);
    readBaseline(f); // a malformed baseline is reported now, not after a long run
  }
  return files;
}

/** `--profile`: whether the partial-state profile gates (partial-state, the default) or is only reported (none). */
function profileGating(value: unknown): boolean {
  if (value === undefined || value === 'partial-state') return true;
  if (value === 'none') return false;
  throw new UsageError(`--profile ${String(value)}: expected partial-state or none`);
}

async function runCommand(values: Record<string, unknown>, passThrough: string[]): Promise<number> {
  const gating = profileGating(values.profile);
  const candidates = list(values.candidate).length ? list(values.candidate) : list(process.env.LAZYJOIN_CANDIDATES ?? 'synapse');
  // With a config of its own (-c after --), the candidates are that config's projects, which the
  // --list below checks; otherwise they are the drivers'.
  const ownConfig = passThrough.some((a) => a === '-c' || a === '--config' || a.startsWith('--config='));
  for (const c of ownConfig ? [] : candidates) {
    if (!knownCandidates.includes(c)) throw new UsageError(`--candidate ${c}: no such candidate (known: ${knownCandidates.join(', ')})`);
  }
  let external: ExternalDescription | undefined;
  if (candidates.includes('external')) {
    try {
      external = externalFromEnv();
    } catch (e) {
      throw new UsageError(`${(e as Error).message} (see "lazyjoin external-config --help")`);
    }
  }
  const outDir = writableDir('--out', String(values.out ?? DEFAULT_REPORT_DIR));
  const baselines = baselineFiles(values.baseline);
  const shard = values.shard === undefined ? undefined : String(values.shard);
  if (shard !== undefined) {
    const m = /^(\d+)\/(\d+)$/.exec(shard);
    if (!m || Number(m[1]) < 1 || Number(m[1]) > Number(m[2])) throw new UsageError(`--shard ${shard}: expected I/N with 1 <= I <= N`);
  }
  const terms = list(values.grep);
  const args = [PLAYWRIGHT_CLI, 'test', ...candidates.map((c) => `--project=${c}`)];
  args.push(`--reporter=${[REPORTER, 'junit', SUMMARY_LINE, ...(shard ? ['blob'] : [])].join(',')}`);
  if (terms.length) {
    const pattern = grepPattern(terms, loadCatalogue().requirements);
    const selected = await listTests(candidates, pattern, passThrough);
    if (selected.length === 0) {
      throw new UsageError(`--grep ${terms.join(',')}: selects no test of ${candidates.join(', ')} ("lazyjoin list" shows the requirements each test covers)`);
    }
    args.push(`--grep=${pattern}`);
  }
  if (shard) args.push(`--shard=${shard}`);
  args.push(...passThrough);

  // Before anything is removed or started: a misconfigured external server stops the run here.
  if (external) {
    const ca = await ensureSuiteCA();
    if (ca.notice) process.stderr.write(`lazyjoin: ${ca.notice}\n`);
    pinSuiteCA(ca);
    const result = await preflightExternal(external);
    process.stdout.write(formatPreflight(external, result) + '\n');
    if (!result.ok) return 2;
  }
  // A run that executes no candidate test writes no report: a previous one in DIR stays as it was
  // and is never read as this run's (its files are older than this run).
  const runStartedMs = Date.now() - 1_000;
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    LAZYJOIN_CANDIDATES: candidates.join(','),
    LAZYJOIN_REPORT_DIR: outDir,
    LAZYJOIN_PROGRESS: '1',
    PLAYWRIGHT_JUNIT_OUTPUT_FILE: join(outDir, 'junit.xml'),
    ...(shard ? { PLAYWRIGHT_BLOB_OUTPUT_DIR: join(outDir, 'blob') } : {}),
    ...(values.strict ? { LAZYJOIN_STRICT: '1' } : {}),
    ...(gating ? {} : { LAZYJOIN_PROFILE: 'none' }),
    ...(baselines.length ? { LAZYJOIN_BASELINE: baselines.join(',') } : {}),
    ...(external ? { [PREFLIGHT_PASSED_ENV]: '1' } : {}),
  };
  process.stdout.write(`lazyjoin: testing ${candidates.join(', ')}${terms.length ? ` (${terms.join(', ')})` : ''}${shard ? `, shard ${shard}` : ''}\n`);
  // Ctrl-C reaches Playwright too (same process group): it stops the tests and its reporter writes
  // an interrupted report, which this process then reads. A signal sent to this process alone is
  // passed on. Either way this process stays to print the outcome.
  let child: ReturnType<typeof spawn> | undefined;
  const onSignal = (signal: NodeJS.Signals) => {
    if (signal !== 'SIGINT') child?.kill('SIGINT');
  };
  process.on('SIGINT', onSignal).on('SIGTERM', onSignal).on('SIGHUP', onSignal);
  const code = await new Promise<number | null>((done, fail) => {
    child = spawn(process.execPath, args, { cwd: REPO_ROOT, env, stdio: 'inherit' });
    child.on('error', fail);
    child.on('close', done);
  }).finally(() => process.off('SIGINT', onSignal).off('SIGTERM', onSignal).off('SIGHUP', onSignal));
  const reportPath = join(outDir, 'compliance.json');
  if (!existsSync(reportPath) || statSync(reportPath).mtimeMs < runStartedMs) {
    process.stderr.write(`lazyjoin: no compliance report was written (playwright exited ${code}); see the output above\n`);
    return 2;
  }
  const outcome = printOutcome(JSON.parse(readFileSync(reportPath, 'utf8')) as ComplianceReport, outDir);
  if (outcome !== 3 && readResults(join(outDir, 'results.json')).tests.length === 0) {
    process.stderr.write('lazyjoin: no conformance test ran (nothing matched, or the run broke before any test)\n');
    return 2;
  }
  return outcome;
}

/** `dir` made if missing and writable, or a usage error naming the option and the cause. */
function writableDir(option: string, dir: string): string {
  const path = resolve(dir);
  try {
    // One level at a time: a recursive mkdir under /proc never returns (Node loops on ENOENT there).
    const missing: string[] = [];
    for (let p = path; !existsSync(p); p = dirname(p)) missing.unshift(p);
    for (const p of missing) mkdirSync(p);
    accessSync(path, constants.W_OK);
  } catch (e) {
    throw new UsageError(`${option} ${path}: cannot write there (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  return path;
}

/** The tests `playwright test --list` selects for these projects and grep pattern (nothing runs). */
async function listTests(candidates: string[], grep: string | undefined, extra: string[] = []): Promise<ListedTest[]> {
  const args = [PLAYWRIGHT_CLI, 'test', '--list', '--reporter=json', ...candidates.map((c) => `--project=${c}`), ...(grep ? [`--grep=${grep}`] : []), ...extra];
  const { code, stdout, stderr } = await new Promise<{ code: number | null; stdout: string; stderr: string }>((done, fail) => {
    const child = spawn(process.execPath, args, { cwd: REPO_ROOT, env: { ...process.env, LAZYJOIN_CANDIDATES: candidates.join(',') }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.on('error', fail);
    child.on('close', (c) => done({ code: c, stdout: out, stderr: err }));
  });
  const start = stdout.indexOf('{');
  if (start < 0) throw new Error(`playwright --list gave no JSON (exit ${code}): ${(stderr || stdout).trim().split('\n')[0]}`);
  return collectTests(JSON.parse(stdout.slice(start)));
}

async function caCommand(values: Record<string, unknown>, positionals: string[]): Promise<number> {
  const [sub, ...names] = positionals;
  if (sub === undefined) {
    if (values.out !== undefined || values.days !== undefined) throw new UsageError('--out and --days go with "ca issue NAME... --out DIR"');
    const ca = await ensureSuiteCA();
    if (ca.status === 'created') process.stderr.write(`lazyjoin: created the suite CA (kept for every later run)\n`);
    if (ca.notice) process.stderr.write(`lazyjoin: ${ca.notice}\n`);
    process.stdout.write(`${ca.certPath}\n`);
    return 0;
  }
  if (sub !== 'issue') throw new UsageError(`ca ${sub}: unknown subcommand (expected "ca" or "ca issue NAME... --out DIR")`);
  if (names.length === 0) throw new UsageError('ca issue: give at least one DNS name or IP address, e.g. "ca issue 127.0.0.1 --out tls/"');
  for (const name of names) {
    const problem = checkCertificateName(name);
    if (problem) throw new UsageError(`ca issue: ${problem}`);
  }
  if (values.out === undefined) throw new UsageError('ca issue: --out DIR is required (where NAME.crt and NAME.key go)');
  const days = values.days === undefined ? ISSUED_CERT_VALIDITY_DAYS : Number(values.days);
  if (!Number.isInteger(days) || days < 1) throw new UsageError(`--days ${String(values.days)}: expected a whole number of days, at least 1`);
  const out = writableDir('--out', String(values.out));
  const ca = await ensureSuiteCA();
  if (ca.notice) process.stderr.write(`lazyjoin: ${ca.notice}\n`);
  const issued = await issueServerCert(names, ca, { validityDays: days });
  const certPath = join(out, `${names[0]}.crt`);
  const keyPath = join(out, `${names[0]}.key`);
  writeFileSync(keyPath, issued.keyPem, { mode: 0o600 });
  chmodSync(keyPath, 0o600);
  writeFileSync(certPath, issued.certPem, { mode: 0o644 });
  const described = describeCertificate(issued.certPem);
  process.stdout.write(
    [
      `certificate: ${certPath} (${described.names}; valid to ${described.validTo})`,
      `key:         ${keyPath}`,
      `issued by:   ${ca.certPath} (the server must trust it for outbound federation too)`,
    ].join('\n') + '\n',
  );
  return 0;
}

function externalConfigCommand(values: Record<string, unknown>): number {
  const implementation = values.implementation === undefined ? undefined : String(values.implementation);
  if (!implementation || !(RECIPE_IMPLEMENTATIONS as readonly string[]).includes(implementation)) {
    throw new UsageError(`--implementation ${implementation ?? '(missing)'}: expected one of ${RECIPE_IMPLEMENTATIONS.join(', ')}`);
  }
  const serverName = String(values['server-name'] ?? '127.0.0.1:8448');
  try {
    splitServerName(serverName);
  } catch (e) {
    throw new UsageError(`--server-name: ${(e as Error).message}`);
  }
  const clientPort = Number(values['client-port'] ?? 8008);
  if (!Number.isInteger(clientPort) || clientPort < 1 || clientPort > 65535) throw new UsageError(`--client-port ${String(values['client-port'])}: expected a port number`);
  const recipe = externalRecipe({
    implementation: implementation as RecipeImplementation,
    serverName,
    clientPort,
    caCertPath: join(suiteCADir(), 'ca.crt'),
    certDir: String(values['cert-dir'] ?? 'lazyjoin-tls'),
    ...(values.secret !== undefined ? { secret: String(values.secret) } : {}),
  });
  process.stdout.write(recipe);
  return 0;
}

function baselineCommand(values: Record<string, unknown>): number {
  if (typeof values.candidate !== 'string') throw new UsageError('baseline needs --candidate NAME');
  const from = resolve(String(values.from ?? DEFAULT_REPORT_DIR));
  const resultsPath = join(from, 'results.json');
  if (!existsSync(resultsPath)) throw new UsageError(`--from ${from}: no results.json there`);
  const draft = draftBaseline(readResults(resultsPath), values.candidate);
  const summary = [
    `${draft.entries.length} new entr${draft.entries.length === 1 ? 'y' : 'ies'} for ${draft.path} (${draft.entries.filter((e) => e.intermittent).length} intermittent); ${draft.alreadyListed} failing outcome(s) already listed there.`,
    ...(draft.errors.length ? [`${draft.errors.length} test(s) ended in an error, which no baseline excuses:`, ...draft.errors.map((e) => `  - ${e}`)] : []),
  ];
  if (values.write) {
    const text = mergedBaselineText(draft);
    parseBaseline(JSON.parse(text), draft.path);
    writeFileSync(draft.path, text);
    process.stdout.write(`${summary.join('\n')}\nwritten.\n`);
  } else {
    process.stdout.write(`${JSON.stringify(draft.entries, null, 2)}\n`);
    process.stderr.write(`${summary.join('\n')}\nnot written (add --write).\n`);
  }
  return 0;
}

function reportCommand(values: Record<string, unknown>): number {
  const from = resolve(String(values.from ?? DEFAULT_REPORT_DIR));
  const resultsPath = join(from, 'results.json');
  if (!existsSync(resultsPath)) throw new UsageError(`--from ${from}: no results.json there`);
  const outDir = resolve(String(values.out ?? from));
  const written = writeReport(readResults(resultsPath), {
    outputDir: outDir,
    strict: Boolean(values.strict),
    profileGating: profileGating(values.profile),
    ...(values.requirements ? { catalogue: resolve(String(values.requirements)) } : {}),
    ...(values.baseline ? { baselineFiles: baselineFiles(values.baseline) } : {}),
  });
  return printOutcome(written.report, written.dir);
}

/** Verdict totals per candidate, the gate's reasons, the report's path; returns the exit status. */
function printOutcome(report: ComplianceReport, dir: string): number {
  const lines = ['', 'Requirement verdicts:'];
  for (const c of report.candidates) {
    const t = report.totals[c.name].all;
    lines.push(`  ${c.name} ${c.version}: ${VERDICTS.filter((v) => t[v] > 0).map((v) => `${t[v]} ${v}`).join(', ') || 'nothing'}`);
  }
  for (const w of report.warnings) lines.push(`warning: ${w}`);
  const profile = report.profiles?.find((p) => p.name === 'partial-state');
  if (profile?.requirements.length) {
    const who = report.candidates.map((c) => `${c.name} ${profile.candidates[c.name]?.requested ? 'asked for it' : 'never asked (not supported)'}`).join('; ');
    lines.push(`Profile partial-state (${profile.requirements.length} requirements, ${profile.gating ? 'gating' : 'reported without gating'}): ${who}`);
  }
  if (report.run?.shard) lines.push(`Shard ${report.run.shard.current} of ${report.run.shard.total}: this gate covers the tests it ran; the whole-suite gate is decided when shards are merged.`);
  lines.push({ passed: 'Gate: passed', failed: 'Gate: FAILED', incomplete: 'Gate: INCOMPLETE (the run was interrupted; an unfinished run never passes)' }[report.gate.status ?? (report.gate.passed ? 'passed' : 'failed')]);
  for (const reason of report.gate.reasons) lines.push(`  - ${reason}`);
  lines.push(`Report: ${join(dir, 'index.html')} (also compliance.json, summary.md)`);
  process.stdout.write(lines.join('\n') + '\n');
  return report.gate.status === 'incomplete' ? 3 : report.gate.passed ? 0 : 1;
}

interface ListedTest {
  title: string;
  file: string;
  line: number;
  tags: string[];
}

async function listCommand(values: Record<string, unknown>): Promise<number> {
  const candidate = String(values.candidate ?? 'synapse');
  if (values.coverage) return coverageCommand(candidate, values);
  const catalogue = loadCatalogue();
  const terms = list(values.grep);
  const tests = await listTests([candidate], terms.length ? grepPattern(terms, catalogue.requirements) : undefined);

  const byRequirement = new Map<string, ListedTest[]>();
  for (const t of tests) {
    for (const tag of t.tags) {
      const m = REQUIREMENT_TAG.exec(tag);
      if (m) byRequirement.set(m[1], [...(byRequirement.get(m[1]) ?? []), t]);
    }
  }
  const selected = terms.length ? new RegExp(grepPattern(terms, catalogue.requirements)) : undefined;
  const rows = catalogue.requirements
    .filter((r) => !selected || selected.test(`@${r.id}`))
    .map((r) => ({ id: r.id, level: r.level, area: r.area, summary: r.summary, tests: byRequirement.get(r.id) ?? [] }))
    .filter((r) => !values.uncovered || r.tests.length === 0);
  const known = new Set(catalogue.requirements.map((r) => r.id));
  const uncatalogued = [...byRequirement.keys()].filter((id) => !known.has(id)).sort();

  if (values.json) {
    process.stdout.write(JSON.stringify({ candidate, requirements: rows, uncatalogued, warnings: [] }, null, 2) + '\n');
    return 0;
  }
  const out: string[] = [];
  for (const r of rows) {
    out.push(`${r.id.padEnd(7)} ${r.level.padEnd(8)} ${r.area.padEnd(20)} ${r.tests.length} test(s)  ${r.summary.slice(0, 90)}`);
    for (const t of r.tests) out.push(`          ${t.file}:${t.line}  ${t.title}`);
  }
  const covered = rows.filter((r) => r.tests.length > 0).length;
  out.push('', `${rows.length} requirement(s), ${covered} covered by ${tests.length} test(s) of project ${candidate}.`);
  if (uncatalogued.length) out.push(`Tagged but not in the catalogue: ${uncatalogued.join(', ')}`);
  process.stdout.write(out.join('\n') + '\n');
  return 0;
}

/** `list --coverage`: Complement's partial-state cases and the tests tagged with each. */
async function coverageCommand(candidate: string, values: Record<string, unknown>): Promise<number> {
  if (values.grep !== undefined || values.uncovered) throw new UsageError('--coverage lists every Complement case; it takes no --grep or --uncovered');
  const coverage = complementCoverage(await listTests([candidate], undefined));
  if (values.json) {
    process.stdout.write(JSON.stringify({ candidate, covered: coverage.covered, total: coverage.total, cases: coverage.rows.map((r) => ({ ...r.case, tests: r.tests })), problems: coverage.problems }, null, 2) + '\n');
  } else {
    process.stdout.write(formatCoverage(coverage));
  }
  for (const p of coverage.problems) process.stderr.write(`lazyjoin: ${p}\n`);
  return coverage.problems.length ? 1 : 0;
}

/** Specs of Playwright's JSON report (nested suites), with their tags. */
function collectTests(report: { suites?: unknown[] }): ListedTest[] {
  const found: ListedTest[] = [];
  const walk = (suite: { suites?: unknown[]; specs?: { title: string; file: string; line: number; tags?: string[] }[] }) => {
    for (const spec of suite.specs ?? []) {
      found.push({ title: spec.title, file: spec.file, line: spec.line, tags: (spec.tags ?? []).map((t) => (t.startsWith('@') ? t : `@${t}`)) });
    }
    for (const child of suite.suites ?? []) walk(child as typeof suite);
  };
  for (const s of report.suites ?? []) walk(s as Parameters<typeof walk>[0]);
  return found;
}
