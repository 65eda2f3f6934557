/**
 * The requirement catalogue (schemas/requirements.json): valid against its schema, complete
 * against the reference checklist, levels and directions faithful to it, summaries in the
 * project's own words.
 */
import { test, expect } from '@playwright/test';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { validate } from '../../harness/checks/schema.ts';
import { loadCatalogue } from '../../harness/checks/catalogue.ts';
import type { Requirement } from '../../harness/checks/types.ts';

/** The reference checklist lives next to the repository, not in it; tests that read it skip without it. */
const REFERENCE = fileURLToPath(new URL('../../../shared/reference/spec-requirements.md', import.meta.url));

const range = (prefix: string, from: number, to: number, pad = 2) =>
  Array.from({ length: to - from + 1 }, (_, i) => `${prefix}-${String(from + i).padStart(pad, '0')}`);

/** Every ID of the reference checklist, kept here so the test runs without the reference. */
const EXPECTED_IDS = [
  ...range('SJ', 1, 28), 'SJ-15a', 'SJ-17a',
  ...range('MJ', 1, 8),
  ...range('JS', 1, 18),
  ...range('ST', 1, 10),
  ...range('LL', 1, 10),
  ...range('AU', 1, 7),
  ...range('KY', 1, 5),
  ...range('SG', 1, 10),
  ...range('C', 1, 15, 1),
].sort();

/** The project's own requirements, beyond the reference checklist: correctness of client-API data, of accepted membership changes, and the delivery of to-device messages. */
const PROJECT_IDS = ['CD-01', 'CD-02', 'CD-03', 'CD-04', 'CD-05', 'HV-01', 'RD-01', 'SJ-29', 'TD-01'];

/**
 * Catalogue-only splits of a reference requirement whose clauses have different levels, so that
 * each check's level comes from the catalogue: LL-07a holds LL-07's SHOULD clause (which members
 * are heroes), LL-07 its MUST clauses.
 */
const SPLITS = ['LL-07a'];

const catalogue = loadCatalogue();
const byId = new Map(catalogue.requirements.map((r) => [r.id, r]));

/** Rows of the reference's tables: `| ID | level-or-feature | direction-or-wording | ...`. */
function referenceRows(): Array<{ id: string; cells: string[] }> {
  const text = readFileSync(REFERENCE, 'utf8');
  return [...text.matchAll(/^\| ((?:[A-Z]{2}-\d+[a-z]?)|(?:C-\d+)) \|(.*)$/gm)].map((m) => ({ id: m[1], cells: m[2].split('|').map((c) => c.trim()) }));
}

test('the catalogue is valid against requirements.schema.json', () => {
  const raw = JSON.parse(readFileSync(fileURLToPath(new URL('../../schemas/requirements.json', import.meta.url)), 'utf8'));
  const result = validate('requirements', raw);
  expect(result.ok ? [] : result.errors).toEqual([]);
  // Control: a requirement with an unknown level is refused with its path.
  const broken = structuredClone(raw);
  broken.requirements[3].level = 'OPTIONAL';
  const refused = validate('requirements', broken);
  expect(refused.ok).toBe(false);
  expect(refused.ok ? '' : refused.errors.join('\n')).toContain('/requirements/3/level');
});

test('the catalogue holds exactly the committed list of requirement IDs', () => {
  expect(catalogue.requirements.map((r) => r.id).sort()).toEqual([...EXPECTED_IDS, ...PROJECT_IDS, ...SPLITS].sort());
});

test('every requirement ID of the reference checklist is in the catalogue', () => {
  test.skip(!existsSync(REFERENCE), `reference checklist not found at ${REFERENCE}`);
  const referenceIds = [...new Set(referenceRows().map((r) => r.id))].sort();
  expect(referenceIds.length).toBeGreaterThan(100);
  expect(referenceIds.filter((id) => !byId.has(id)), 'IDs of the reference missing from the catalogue').toEqual([]);
  expect(EXPECTED_IDS, 'the committed ID list is out of date').toEqual(referenceIds);
});

test('levels and directions follow the reference checklist', () => {
  test.skip(!existsSync(REFERENCE), `reference checklist not found at ${REFERENCE}`);
  const DIRECTIONS: Record<string, Requirement['direction']> = { RES: 'resident', JOIN: 'joiner', CS: 'client', ANY: 'any' };
  const problems: string[] = [];
  for (const { id, cells } of referenceRows()) {
    const req = byId.get(id)!;
    if (id.startsWith('C-')) {
      // MSC2775 features: never merged.
      if (req.level !== 'MSC-ONLY') problems.push(`${id}: MSC2775 feature is ${req.level}, not MSC-ONLY`);
      continue;
    }
    const [level, direction] = cells;
    const expectedLevel = /MSC-only/.test(level) ? 'MSC-ONLY' : /MUST/.test(level) ? 'MUST' : /SHOULD/.test(level) ? 'SHOULD' : /MAY/.test(level) ? 'MAY' : undefined;
    // A profile's requirement keeps the level its MSC words it with (MUST, SHOULD, MAY).
    if (expectedLevel === 'MSC-ONLY' && req.profile === 'partial-state') {
      if (req.level === 'MSC-ONLY') problems.push(`${id}: in the partial-state profile but MSC-ONLY (a profile requirement takes its MSC's level)`);
    } else if (expectedLevel && req.level !== expectedLevel) problems.push(`${id}: reference level "${level}" but catalogue ${req.level}`);
    const allowed = direction.split(/[^A-Z]+/).filter(Boolean).map((d) => DIRECTIONS[d]);
    if (allowed.length && !allowed.includes(req.direction)) problems.push(`${id}: reference direction "${direction}" but catalogue ${req.direction}`);
  }
  expect(problems, problems.join('\n')).toEqual([]);
});

test('summaries are the project\'s own words, not quotes of the sources', () => {
  test.skip(!existsSync(REFERENCE), `reference checklist not found at ${REFERENCE}`);
  // No run of eight consecutive words of a summary may appear in the reference (which quotes the sources).
  const words = (s: string) => s.toLowerCase().replace(/[^a-z0-9_.]+/g, ' ').trim().split(' ');
  const referenceWords = words(readFileSync(REFERENCE, 'utf8'));
  const shingles = new Set<string>();
  for (let i = 0; i + 8 <= referenceWords.length; i++) shingles.add(referenceWords.slice(i, i + 8).join(' '));
  const copied: string[] = [];
  for (const req of catalogue.requirements) {
    const w = words(req.summary);
    for (let i = 0; i + 8 <= w.length; i++) {
      const run = w.slice(i, i + 8).join(' ');
      if (shingles.has(run)) { copied.push(`${req.id}: "${run}"`); break; }
    }
  }
  expect(copied, copied.join('\n')).toEqual([]);
});
