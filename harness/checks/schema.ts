/**
 * JSON Schema (2020-12) validation of wire formats through ajv, with one-line errors that name the
 * JSON path: `/state/3/hashes/sha256: must match pattern "..."`.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import type { ErrorObject, ValidateFunction } from 'ajv';
import { ROOM_VERSIONS } from '../matrix/room-versions.ts';

/** The schema files of `schemas/`, by the short ID `validate` takes (file name without `.schema.json`). */
export type SchemaId =
  | 'common'
  | 'pdu'
  | 'pdu-v1'
  | 'pdu-v3'
  | 'pdu-v4'
  | 'pdu-v10'
  | 'pdu-v11'
  | 'pdu-v12'
  | 'make-join-response'
  | 'send-join-v2-response'
  | 'state-response'
  | 'state-ids-response'
  | 'transaction'
  | 'matrix-error'
  | 'requirements'
  | 'observation-fixture'
  /** Request bodies of the client-server API, see harness/client/requests.ts. */
  | `client-request-${string}`;

export type ValidationResult = { ok: true } | { ok: false; errors: string[] };

const SCHEMA_DIR = fileURLToPath(new URL('../../schemas/', import.meta.url));
const SCHEMA_SUFFIX = '.schema.json';

// ajv-formats ships CommonJS: imported from ESM, the plugin function sits on `.default`.
type AddFormats = typeof addFormatsModule.default;
const addFormats: AddFormats = (addFormatsModule as unknown as { default?: AddFormats }).default ?? (addFormatsModule as unknown as AddFormats);

let compiled: Map<string, ValidateFunction> | undefined;

/** Loads every schema of `schemas/` once; their `$ref`s resolve against each other by `$id`. */
function validators(): Map<string, ValidateFunction> {
  if (compiled) return compiled;
  const ajv = new Ajv2020({ allErrors: true, strict: true, strictTypes: false, strictRequired: false });
  addFormats(ajv);
  const ids = new Map<string, string>();
  for (const file of readdirSync(SCHEMA_DIR).filter((f) => f.endsWith(SCHEMA_SUFFIX)).sort()) {
    const schema = JSON.parse(readFileSync(SCHEMA_DIR + file, 'utf8')) as { $id?: string };
    if (typeof schema.$id !== 'string') throw new Error(`schemas/${file} has no $id`);
    ajv.addSchema(schema);
    ids.set(file.slice(0, -SCHEMA_SUFFIX.length), schema.$id);
  }
  compiled = new Map();
  for (const [short, id] of ids) {
    const fn = ajv.getSchema(id);
    if (!fn) throw new Error(`schema ${id} did not compile`);
    compiled.set(short, fn);
  }
  return compiled;
}

/** Renders one ajv error as `path: message`, adding the offending property where ajv keeps it apart. */
function describe(error: ErrorObject): string {
  const path = error.instancePath === '' ? '/' : error.instancePath;
  const params = error.params as Record<string, unknown>;
  let message = error.message ?? error.keyword;
  if (error.keyword === 'additionalProperties') message += ` (${String(params.additionalProperty)})`;
  if (error.keyword === 'propertyNames') message += ` (${String(params.propertyName)})`;
  if (error.keyword === 'const' || error.keyword === 'enum') {
    message += `: ${JSON.stringify(params.allowedValue ?? params.allowedValues)}`;
  }
  return `${path}: ${message}`;
}

/** Keywords that only restate a failure reported more precisely by a nested error. */
const NOISE = new Set(['if', 'allOf']);

/** Validates `value` against `schemas/<schemaId>.schema.json`. */
export function validate(schemaId: SchemaId, value: unknown): ValidationResult {
  const fn = validators().get(schemaId);
  if (!fn) throw new Error(`unknown schema "${schemaId}"; known: ${[...validators().keys()].join(', ')}`);
  if (fn(value)) return { ok: true };
  const errors = (fn.errors ?? []).filter((e) => !NOISE.has(e.keyword)).map(describe);
  return { ok: false, errors: [...new Set(errors)] };
}

/**
 * The PDU schema for a room version, from what the room-version table says the version changes
 * (its ID and reference forms, where `redacts` lives, integer power levels, v12 room IDs);
 * undefined for a version the table does not know.
 */
export function pduSchemaFor(version: string): SchemaId | undefined {
  const v = ROOM_VERSIONS[version];
  if (!v) return undefined;
  if (v.roomIdFromCreateEvent) return 'pdu-v12';
  if (v.redactsInContent) return 'pdu-v11';
  if (v.integerPowerLevels) return 'pdu-v10';
  return v.eventIdFormat === 'v4' ? 'pdu-v4' : v.eventIdFormat === 'v3' ? 'pdu-v3' : 'pdu-v1';
}
