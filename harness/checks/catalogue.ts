/** Loads `schemas/requirements.json`, validated against its schema, once per process. */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { validate } from './schema.ts';
import type { Requirement, RequirementCatalogue } from './types.ts';

export const CATALOGUE_PATH = fileURLToPath(new URL('../../schemas/requirements.json', import.meta.url));

let loaded: { catalogue: RequirementCatalogue; byId: Map<string, Requirement> } | undefined;

export function loadCatalogue(): RequirementCatalogue {
  return load().catalogue;
}

/** The requirement with this ID; throws a one-line error naming the ID when there is none. */
export function requirement(id: string): Requirement {
  const found = load().byId.get(id);
  if (!found) throw new Error(`requirement ${id} is not in schemas/requirements.json`);
  return found;
}

export function hasRequirement(id: string): boolean {
  return load().byId.has(id);
}

function load(): NonNullable<typeof loaded> {
  if (loaded) return loaded;
  let data: unknown;
  try {
    data = JSON.parse(readFileSync(CATALOGUE_PATH, 'utf8'));
  } catch (e) {
    throw new Error(`cannot read the requirement catalogue ${CATALOGUE_PATH}: ${(e as Error).message}`);
  }
  const result = validate('requirements', data);
  if (!result.ok) throw new Error(`schemas/requirements.json is invalid: ${result.errors.slice(0, 5).join('; ')}`);
  const catalogue = data as RequirementCatalogue;
  const byId = new Map<string, Requirement>();
  for (const r of catalogue.requirements) {
    if (byId.has(r.id)) throw new Error(`schemas/requirements.json lists ${r.id} twice`);
    byId.set(r.id, r);
  }
  loaded = { catalogue, byId };
  return loaded;
}
