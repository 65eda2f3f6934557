/**
 * Every call of a check in a conformance test can fail there, not only on the synthetic
 * observations of checks-controls.spec.ts: each observation a test file judged in a real run
 * (recorded with LAZYJOIN_RECORD_CALL_SITES into tests/self/fixtures/call-sites.json) is judged
 * again, and the check's negative controls, applied to that very observation, must make it fail.
 *
 * To refresh the fixture: run the conformance tests against a real candidate with
 * LAZYJOIN_RECORD_CALL_SITES=<folder>, then `npx tsx
 * tests/self/fixtures/call-sites-update.ts <folder>/call-sites.jsonl`.
 */
import { test, expect } from '@playwright/test';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { checkById, observationKindOf } from '../../harness/checks/registry.ts';
import type { Check, Evaluation } from '../../harness/checks/types.ts';

const REPO = fileURLToPath(new URL('../..', import.meta.url));
const FIXTURE = fileURLToPath(new URL('./fixtures/call-sites.json', import.meta.url));

interface CallSite {
  file: string;
  test: string;
  check: string;
  verdict: string;
  observation: unknown;
}

const sites = JSON.parse(readFileSync(FIXTURE, 'utf8')) as { recordedFrom: string; sites: CallSite[] };

function evaluate(check: Check<never>, observation: unknown): Evaluation | { threw: string } {
  try {
    return (check as Check<unknown>).evaluate(observation);
  } catch (e) {
    return { threw: (e as Error).message };
  }
}

const fails = (e: Evaluation | { threw: string }) => 'ok' in e && e.ok === false;

test('each recorded call site: the observation its test judged passes there, and the check\'s controls over it make it fail', () => {
  const problems: string[] = [];
  const proven = new Map<string, string[]>();
  for (const site of sites.sites) {
    const check = checkById(site.check);
    const before = evaluate(check, site.observation);
    if (!('ok' in before) || !before.ok) {
      problems.push(`${site.file} (${site.test}): ${site.check} does not pass on the observation recorded as ${site.verdict}: ${JSON.stringify(before).slice(0, 200)}`);
      continue;
    }
    const results = check.controls.map((c) => {
      let mutated: unknown;
      try {
        mutated = c.mutate(structuredClone(site.observation) as never);
      } catch (e) {
        return { control: c.name, failed: false, why: `the control threw: ${(e as Error).message}` };
      }
      const after = evaluate(check, mutated);
      return { control: c.name, failed: fails(after), why: JSON.stringify(after).slice(0, 160) };
    });
    if (!results.some((r) => r.failed)) {
      problems.push(`${site.file} (${site.test}): no control of ${site.check} makes the recorded observation fail: ${results.map((r) => `${r.control} -> ${r.why}`).join('; ')}`);
      continue;
    }
    proven.set(site.file, [...(proven.get(site.file) ?? []), `${site.check} (${results.filter((r) => r.failed).length}/${results.length} controls)`]);
  }
  test.info().annotations.push({ type: 'lazyjoin-self', description: `call sites proven able to fail, by test file (recorded from ${sites.recordedFrom}): ${JSON.stringify(Object.fromEntries(proven))}` });
  expect(problems, problems.join('\n')).toEqual([]);
  expect(proven.size, 'test files with a proven call site').toBeGreaterThan(0);
});

test('every recorded check is of the kind its call site judges, and the fixture names only existing test files', () => {
  const problems: string[] = [];
  for (const site of sites.sites) {
    try {
      observationKindOf(site.check);
    } catch (e) {
      problems.push(`${site.file}: ${(e as Error).message}`);
    }
    try {
      statSync(join(REPO, site.file));
    } catch {
      problems.push(`${site.file}: no such test file`);
    }
  }
  expect(problems, problems.join('\n')).toEqual([]);
});

test('test files that judge checks, and which of them have recorded call sites', () => {
  const files: string[] = [];
  const walk = (dir: string) => {
    for (const name of readdirSync(dir)) {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) walk(path);
      else if (name.endsWith('.spec.ts')) files.push(relative(REPO, path));
    }
  };
  walk(join(REPO, 'tests'));
  const judging = files.filter((f) => !f.startsWith('tests/self/') && !f.startsWith('tests/known-bad/') && /\bjudge[A-Za-z]*\(|observeStateAtEvent\(|pushAndJudge\(|recordDuringResync\(|recordInformational\(|recordFeature\(|\bpartialJoin\(|UncheckedJoin\.start\(/.test(readFileSync(join(REPO, f), 'utf8')));
  const recorded = new Set(sites.sites.map((s) => s.file));
  const missing = judging.filter((f) => !recorded.has(f));
  test.info().annotations.push({ type: 'lazyjoin-self', description: `${judging.length} test files judge checks; ${judging.length - missing.length} have recorded call sites; not yet recorded: ${missing.join(', ') || 'none'}` });
  // Every recorded file is one that judges checks (the fixture is not stale).
  expect([...recorded].filter((f) => !judging.includes(f))).toEqual([]);
});
