/**
 * Saved observations (tests/self/fixtures/observations/*.json) judged again: every check named in
 * a fixture must reach the evaluation the fixture pins. The synthetic fixtures must also match
 * their generator; run with LAZYJOIN_WRITE_FIXTURES=1 to rewrite them after a deliberate change.
 */
import { test, expect } from '@playwright/test';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { fixtureMismatches, loadObservationFixture, writeObservationFixture } from '../../harness/checks/fixtures.ts';
import { syntheticFixtures } from '../../harness/checks/testing/synthetic-fixtures.ts';

const DIR = fileURLToPath(new URL('./fixtures/observations/', import.meta.url));
const files = existsSync(DIR) ? readdirSync(DIR).filter((f) => f.endsWith('.json')).sort() : [];

test('the synthetic fixtures are committed as their generator writes them', () => {
  const generated = syntheticFixtures();
  if (process.env.LAZYJOIN_WRITE_FIXTURES === '1') {
    for (const [name, fixture] of Object.entries(generated)) writeObservationFixture(DIR + name, fixture);
  }
  for (const [name, fixture] of Object.entries(generated)) {
    expect(existsSync(DIR + name), `${name} is missing; run with LAZYJOIN_WRITE_FIXTURES=1`).toBe(true);
    expect(JSON.parse(readFileSync(DIR + name, 'utf8')), `${name} differs from its generator`).toEqual(JSON.parse(JSON.stringify(fixture)));
  }
});

test('there are fixtures to judge', () => {
  expect(files.length).toBeGreaterThanOrEqual(Object.keys(syntheticFixtures()).length);
});

for (const file of files) {
  test(`fixture ${file}: every pinned evaluation holds`, () => {
    const fixture = loadObservationFixture(DIR + file);
    const mismatches = fixtureMismatches(fixture);
    expect(mismatches, mismatches.join('\n')).toEqual([]);
  });
}

test('a fixture pinning a wrong evaluation is reported with the check and both evaluations', () => {
  const fixture = structuredClone(syntheticFixtures()['synthetic-v11-full.json']);
  fixture.expect['send-join/members-kept-without-opt-in'] = 'fail';
  expect(fixtureMismatches(fixture)).toEqual(['send-join/members-kept-without-opt-in: expected fail, got pass']);
});
