/**
 * The requirement catalogue (`schemas/requirements.json`, or another file of the same schema),
 * validated against `schemas/requirements.schema.json`, loaded once per file and process. The one
 * loader: checks, judge, the report and the CLI all read requirements through it.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { validate } from './schema.ts';
import type { Requirement, RequirementCatalogue } from './types.ts';

export const CATALOGUE_PATH = fileURLToPath(new URL('../../schemas/requirements.json', import.meta.url));

const loaded = new Map<string, { catalogue: RequirementCatalogue; byId: Map<string, Requirement> }>();

/** The catalogue at `path` (default schemas/requirements.json); a one-line error when it cannot be read or is invalid. */
export function loadCatalogue(path = CATALOGUE_PATH): RequirementCatalogue {
  return load(path).catalogue;
}

/** The requirement with this ID; throws a one-line error naming the ID when there is none. */
export function requirement(id: string): Requirement {
  const found = load(CATALOGUE_PATH).byId.get(id);
  if (!found) throw new Error(`requirement ${id} is not in schemas/requirements.json`);
  return found;
}

export function hasRequirement(id: string): boolean {
  return load(CATALOGUE_PATH).byId.has(id);
}

/** Where a requirement comes from, as one line: `document, section`. */
export function sourceText(req: Requirement): string {
  return `${req.source.document}, ${req.source.section}`;
}

/** The proposals a requirement comes from (`MSC3706`, ...), found in its source. */
export function mscsOf(req: Requirement): string[] {
  return [...new Set([...sourceText(req).matchAll(/MSC ?(\d{3,5})/gi)].map((m) => `MSC${m[1]}`))].sort();
}

function load(path: string): { catalogue: RequirementCatalogue; byId: Map<string, Requirement> } {
  const cached = loaded.get(path);
  if (cached) return cached;
  let data: unknown;
  try {
    data = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new Error(`cannot read the requirement catalogue ${path}: ${(e as Error).message.split('\n')[0]}`);
  }
  const result = validate('requirements', data);
  if (!result.ok) throw new Error(`requirement catalogue ${path} is invalid: ${result.errors.slice(0, 5).join('; ')}`);
  const catalogue = data as RequirementCatalogue;
  const byId = new Map<string, Requirement>();
  for (const r of catalogue.requirements) {
    if (byId.has(r.id)) throw new Error(`requirement catalogue ${path} lists ${r.id} twice`);
    byId.set(r.id, r);
  }
  const entry = { catalogue, byId };
  loaded.set(path, entry);
  return entry;
}
