/**
 * Trims observed JSON for failure messages and annotations: long strings, long arrays and deep
 * nesting are cut with a marker saying how much was left out, so a message stays readable and an
 * annotation stays small even when a candidate answers with megabytes.
 */
export interface TrimLimits {
  maxDepth: number;
  maxArrayItems: number;
  maxObjectKeys: number;
  maxStringLength: number;
}

export const DEFAULT_TRIM: TrimLimits = { maxDepth: 6, maxArrayItems: 8, maxObjectKeys: 24, maxStringLength: 200 };

export function trimForReport(value: unknown, limits: TrimLimits = DEFAULT_TRIM): unknown {
  return trim(value, limits, 0);
}

function trim(value: unknown, limits: TrimLimits, depth: number): unknown {
  if (typeof value === 'string') {
    return value.length > limits.maxStringLength
      ? `${value.slice(0, limits.maxStringLength)}… (${value.length - limits.maxStringLength} more characters)`
      : value;
  }
  if (value === null || typeof value === 'number' || typeof value === 'boolean') return value;
  if (value === undefined) return null;
  if (typeof value === 'bigint') return value.toString();
  if (typeof value === 'function' || typeof value === 'symbol') return `[${typeof value}]`;
  if (depth >= limits.maxDepth) return Array.isArray(value) ? `[array of ${value.length}]` : '[object]';
  if (Array.isArray(value)) {
    const kept = value.slice(0, limits.maxArrayItems).map((v) => trim(v, limits, depth + 1));
    if (value.length > limits.maxArrayItems) kept.push(`… ${value.length - limits.maxArrayItems} more items`);
    return kept;
  }
  const entries = Object.entries(value as Record<string, unknown>);
  const out: Record<string, unknown> = {};
  for (const [k, v] of entries.slice(0, limits.maxObjectKeys)) out[k] = trim(v, limits, depth + 1);
  if (entries.length > limits.maxObjectKeys) out['…'] = `${entries.length - limits.maxObjectKeys} more keys`;
  return out;
}

/** Trimmed JSON text, for messages. */
export function trimmedJson(value: unknown, limits: TrimLimits = DEFAULT_TRIM): string {
  return JSON.stringify(trimForReport(value, limits));
}
