import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import Ajv2020Module from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import { aggregate, type ComplianceReport } from './aggregate.ts';
import { findBaseline, readBaseline, type Baseline } from './baseline.ts';
import { CATALOGUE_PATH, loadCatalogue } from '../checks/catalogue.ts';
import type { RunResults } from './model.ts';
import { renderHtml } from './render-html.ts';
import { renderMarkdown } from './render-markdown.ts';

const REPO_ROOT = new URL('../../', import.meta.url);
export const DEFAULT_REPORT_DIR = 'lazyjoin-report';

export function lazyjoinVersion(): string {
  return (JSON.parse(readFileSync(new URL('package.json', REPO_ROOT), 'utf8')) as { version: string }).version;
}

let validator: ((data: unknown) => boolean) & { errors?: unknown } | undefined;

/** Validates against `schemas/compliance.schema.json`; returns one line per problem. */
export function complianceSchemaErrors(report: unknown): string[] {
  if (!validator) {
    const schema = JSON.parse(readFileSync(new URL('schemas/compliance.schema.json', REPO_ROOT), 'utf8'));
    const ajv = new Ajv2020Module.default({ allErrors: true, strict: true });
    addFormatsModule.default(ajv);
    validator = ajv.compile(schema);
  }
  if (validator(report)) return [];
  return ((validator.errors ?? []) as { instancePath: string; message?: string }[]).map((e) => `${e.instancePath || '/'} ${e.message ?? 'is invalid'}`);
}

export interface ReportSettings {
  outputDir?: string;
  /** Requirement catalogue path; default `schemas/requirements.json`. */
  catalogue?: string;
  /** Explicit baseline files; otherwise `expectations/<candidate>-<version>.json` when present. */
  baselineFiles?: string[];
  baselineDir?: string;
  strict?: boolean;
  /** Whether profile requirements gate (`lazyjoin run --profile none` turns it off). */
  profileGating?: boolean;
}

/** Settings from the environment the `lazyjoin` command sets for the reporter. */
export function settingsFromEnv(env = process.env): ReportSettings {
  return {
    ...(env.LAZYJOIN_REPORT_DIR ? { outputDir: env.LAZYJOIN_REPORT_DIR } : {}),
    ...(env.LAZYJOIN_REQUIREMENTS ? { catalogue: env.LAZYJOIN_REQUIREMENTS } : {}),
    ...(env.LAZYJOIN_BASELINE ? { baselineFiles: env.LAZYJOIN_BASELINE.split(',').filter(Boolean) } : {}),
    ...(env.LAZYJOIN_STRICT ? { strict: env.LAZYJOIN_STRICT === '1' || env.LAZYJOIN_STRICT === 'true' } : {}),
    ...(env.LAZYJOIN_PROFILE === 'none' ? { profileGating: false } : {}),
  };
}

/** Builds the report from raw results: catalogue, baselines, aggregation. */
export function buildReport(results: RunResults, settings: ReportSettings = {}): ComplianceReport {
  const { requirements } = loadCatalogue(settings.catalogue ?? CATALOGUE_PATH);
  const warnings: string[] = [];
  const baselines: Record<string, { path: string; baseline: Baseline }> = {};
  if (settings.baselineFiles?.length) {
    for (const path of settings.baselineFiles) {
      const baseline = readBaseline(path);
      if (!results.projects.includes(baseline.candidate)) warnings.push(`baseline ${path} names candidate ${baseline.candidate}, which did not run`);
      baselines[baseline.candidate] = { path, baseline };
    }
  } else {
    for (const name of results.projects) {
      const info = results.candidates[name];
      const found = info?.version ? findBaseline(info.implementation ?? name, info.version, settings.baselineDir) : undefined;
      if (found) baselines[name] = found;
    }
  }
  return aggregate(results, { catalogue: requirements, baselines, strict: settings.strict ?? false, profileGating: settings.profileGating ?? true, warnings });
}

export interface WrittenReport {
  dir: string;
  report: ComplianceReport;
  files: string[];
}

/**
 * Writes results.json, compliance.json (after schema validation: an invalid report is an error,
 * with the raw results still written so nothing is lost), summary.md and index.html.
 */
export function writeReport(results: RunResults, settings: ReportSettings = {}): WrittenReport {
  const dir = resolve(settings.outputDir ?? DEFAULT_REPORT_DIR);
  mkdirSync(dir, { recursive: true });
  const files = [join(dir, 'results.json')];
  writeFileSync(files[0], JSON.stringify(results, null, 2) + '\n');
  const report = buildReport(results, settings);
  const problems = complianceSchemaErrors(report);
  if (problems.length > 0) {
    throw new Error(`compliance.json does not match schemas/compliance.schema.json (${problems.length} problem(s)): ${problems.slice(0, 5).join('; ')}`);
  }
  const outputs: [string, string][] = [
    ['compliance.json', JSON.stringify(report, null, 2) + '\n'],
    ['summary.md', renderMarkdown(report)],
    ['index.html', renderHtml(report)],
  ];
  for (const [name, text] of outputs) {
    writeFileSync(join(dir, name), text);
    files.push(join(dir, name));
  }
  return { dir, report, files };
}

/** Reads a saved results.json, with a one-line error when it is not one. */
export function readResults(path: string): RunResults {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new Error(`cannot read results ${path}: ${(e as Error).message}`);
  }
  const r = raw as Partial<RunResults>;
  if (r?.format !== 'lazyjoin-results/1' || !Array.isArray(r.tests) || !Array.isArray(r.projects)) {
    throw new Error(`${path} is not a lazyjoin results.json (format lazyjoin-results/1)`);
  }
  return r as RunResults;
}
