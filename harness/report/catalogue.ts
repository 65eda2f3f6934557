import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { LEVELS, type Level } from './model.ts';

/** One requirement of the catalogue (`schemas/requirements.json`), as the report needs it. */
export interface Requirement {
  id: string;
  level: Level;
  direction: string;
  area: string;
  /** Where the requirement comes from (spec section, MSC), as the catalogue words it. */
  source: string;
  summary: string;
  /** The proposals the requirement comes from (`MSC3706`, ...), found in its source. */
  mscs: string[];
}

export const DEFAULT_CATALOGUE_PATH = fileURLToPath(new URL('../../schemas/requirements.json', import.meta.url));

/**
 * Reads the requirement catalogue. Accepts an array of requirements, `{ requirements: [...] }`, or
 * an object keyed by ID. A missing file gives an empty catalogue (the report then lists only the
 * requirements named by test tags) and a warning; a malformed one is an error.
 */
export function loadCatalogue(path = DEFAULT_CATALOGUE_PATH): { requirements: Requirement[]; warnings: string[] } {
  if (!existsSync(path)) {
    return { requirements: [], warnings: [`requirement catalogue ${path} not found: only requirements named by test tags are listed`] };
  }
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new Error(`requirement catalogue ${path} is not valid JSON: ${(e as Error).message}`);
  }
  return { requirements: parseCatalogue(raw, path), warnings: [] };
}

export function parseCatalogue(raw: unknown, origin = 'catalogue'): Requirement[] {
  let entries: unknown[];
  if (Array.isArray(raw)) entries = raw;
  else if (isObject(raw) && Array.isArray(raw.requirements)) entries = raw.requirements;
  else if (isObject(raw)) entries = Object.entries(raw).filter(([k]) => !k.startsWith('$')).map(([id, v]) => (isObject(v) ? { id, ...v } : v));
  else throw new Error(`${origin}: expected an array or object of requirements, got ${typeof raw}`);
  return entries.map((entry, i) => {
    if (!isObject(entry) || typeof entry.id !== 'string') throw new Error(`${origin}: requirement #${i} has no string "id"`);
    const level = normaliseLevel(entry.level);
    if (!level) throw new Error(`${origin}: requirement ${entry.id} has level ${JSON.stringify(entry.level)}, expected one of ${LEVELS.join(', ')}`);
    const source = textOf(entry.source);
    return {
      id: entry.id,
      level,
      direction: textOf(entry.direction),
      area: textOf(entry.area) || 'unspecified',
      source,
      summary: textOf(entry.summary),
      mscs: mscsIn(source),
    };
  });
}

/** `MUST`, `must`, `msc-only`, `MSC_ONLY` all name a level. */
export function normaliseLevel(value: unknown): Level | undefined {
  if (typeof value !== 'string') return undefined;
  const upper = value.trim().toUpperCase().replace('_', '-');
  return (LEVELS as readonly string[]).includes(upper) ? (upper as Level) : undefined;
}

export function mscsIn(text: string): string[] {
  return [...new Set([...text.matchAll(/MSC ?(\d{3,5})/gi)].map((m) => `MSC${m[1]}`))].sort();
}

function textOf(value: unknown): string {
  if (value === undefined || value === null) return '';
  if (typeof value === 'string') return value;
  if (Array.isArray(value)) return value.map(textOf).join('; ');
  if (isObject(value)) return Object.values(value).map(textOf).filter(Boolean).join(' ');
  return String(value);
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
