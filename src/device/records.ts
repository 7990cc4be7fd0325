/**
 * The schema of every report record (docs/protocol.md), checked before anything on the host
 * uses a record. A device is untrusted: a record whose CRC is valid can still carry JSON nested
 * thousands of levels deep, an `output` claiming 1e12 bytes, a negative offset, a string of
 * escape sequences. Such a record is rejected and counted exactly like a CRC failure; the
 * session goes on.
 *
 * Checked in two steps:
 * 1. the JSON text, before it is parsed: nesting depth (records are flat objects);
 * 2. the parsed value, with JSON Schema (ajv): types, integer ranges, string lengths and
 *    characters, key names, sizes; then the few facts a schema cannot say (an `output` chunk
 *    must lie inside its tensor).
 *
 * Records of a type this host does not know, and keys it does not know, are kept (newer
 * firmware, older host) as long as they are small, flat and made of plain values.
 */
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';

/** Deepest nesting of objects and arrays a record may have (known records are depth 1). */
export const MAX_RECORD_DEPTH = 3;
/** Largest output tensor a device may announce: more RAM than any microcontroller has. */
export const MAX_OUTPUT_TENSOR_BYTES = 16 * 1024 * 1024;
/** Largest `hex` chunk of an `output` record (the firmware sends 256-byte chunks). */
export const MAX_OUTPUT_CHUNK_BYTES = 4096;
/** Output tensors a model may have on the wire. */
export const MAX_OUTPUTS = 1024;
const MAX_KEYS = 64;
const MAX_STRING = 256;
const MAX_MESSAGE = 1024;
const U32 = 0xffff_ffff;
/** Counters the firmware writes as uint64 (JSON numbers: exact up to 2^53). */
const U64 = 18446744073709551615;

const u32 = { type: 'integer', minimum: 0, maximum: U32 } as const;
const i32 = { type: 'integer', minimum: -0x8000_0000, maximum: 0x7fff_ffff } as const;
const u64 = { type: 'number', minimum: 0, maximum: U64 } as const;
/** Printable ASCII only: what the firmware's writer produces (it escapes everything else). */
const text = (maxLength = MAX_STRING) => ({ type: 'string', maxLength, pattern: '^[\\x20-\\x7e]*$' }) as const;
const hex32 = { type: 'string', pattern: '^0x[0-9A-Fa-f]{1,8}$' } as const;
const scalar = { type: ['string', 'number', 'boolean', 'null'], maxLength: MAX_MESSAGE } as const;
/** What a key this host does not know may hold: a plain value, or a short flat list or map of them. */
const extra = {
  anyOf: [
    scalar,
    { type: 'array', maxItems: MAX_KEYS, items: scalar },
    { type: 'object', maxProperties: MAX_KEYS, propertyNames: { pattern: '^[A-Za-z_][A-Za-z0-9_]{0,63}$' }, additionalProperties: scalar },
  ],
} as const;
const cost = { anyOf: [{ required: ['instructions'] }, { required: ['cycles'] }] } as const;

function record(type: string, properties: Record<string, object>, required: string[] = [], more: object = {}) {
  return {
    type: 'object',
    maxProperties: MAX_KEYS,
    propertyNames: { pattern: '^[A-Za-z_][A-Za-z0-9_]{0,63}$' },
    properties: { type: { const: type }, ...properties },
    required: ['type', ...required],
    additionalProperties: extra,
    ...more,
  };
}

/** The records of docs/protocol.md with the keys the host reads. */
const SCHEMAS: Record<string, object> = {
  hello: record(
    'hello',
    {
      protocol: { type: 'integer', minimum: 0, maximum: 0xffff },
      model_hash: { type: 'string', pattern: '^[0-9A-Fa-f]{1,64}$' },
      board: text(64),
      clock_hz: u32,
      arena_bytes: u32,
      weight_bytes: u32,
      flash_size_bytes: u32,
      runtime: text(64),
      kernels: text(64),
      build_id: text(64),
      timer: text(64),
      unit: text(32),
      timer_read_cost: u32,
      runs: u32,
      inputs: u32,
      outputs: u32,
      ops: u32,
      profile: u32,
    },
    ['protocol', 'model_hash', 'board'],
  ),
  inference: record('inference', { index: u32, instructions: u64, cycles: u64, timer_counts: u64, us: u64 }, ['index'], cost),
  op: record('op', { index: u32, op: text(64), instructions: u64, cycles: u64 }, ['index', 'op'], cost),
  batch: record('batch', { inferences: { type: 'integer', minimum: 1, maximum: U32 }, instructions: u64, cycles: u64 }, ['inferences'], cost),
  output: record(
    'output',
    {
      index: { type: 'integer', minimum: 0, maximum: MAX_OUTPUTS - 1 },
      offset: { type: 'integer', minimum: 0, maximum: MAX_OUTPUT_TENSOR_BYTES - 1 },
      bytes: { type: 'integer', minimum: 1, maximum: MAX_OUTPUT_TENSOR_BYTES },
      hex: { type: 'string', maxLength: 2 * MAX_OUTPUT_CHUNK_BYTES, pattern: '^(?:[0-9A-Fa-f]{2})*$' },
    },
    ['index', 'offset', 'bytes', 'hex'],
  ),
  mem: record(
    'mem',
    { arena_bytes: u32, stack_high_water_bytes: u32, stack_size_bytes: u32, static_ram_bytes: u32, flash_used_bytes: u32 },
    ['arena_bytes'],
  ),
  error: record(
    'error',
    {
      code: text(64),
      exception: u32,
      pc: hex32,
      lr: hex32,
      xpsr: hex32,
      cfsr: hex32,
      hfsr: hex32,
      mmfar: hex32,
      bfar: hex32,
      exc_return: hex32,
      status: i32,
      message: text(MAX_MESSAGE),
      op: { type: 'integer', minimum: -1, maximum: U32 },
      op_type: text(64),
    },
    ['code'],
  ),
  done: record('done', { status: text(32), runs: u32 }, ['status']),
};

/** Any other record type: a known shape of name, and small plain values. */
const UNKNOWN_RECORD = {
  type: 'object',
  maxProperties: MAX_KEYS,
  propertyNames: { pattern: '^[A-Za-z_][A-Za-z0-9_]{0,63}$' },
  properties: { type: { type: 'string', pattern: '^[a-z][a-z0-9_]{0,31}$' } },
  required: ['type'],
  additionalProperties: extra,
};

const ajv = new Ajv({ allErrors: false, strict: true, strictRequired: false, allowUnionTypes: true });
const validators = new Map<string, ValidateFunction>(Object.entries(SCHEMAS).map(([type, schema]) => [type, ajv.compile(schema)]));
const validateUnknown = ajv.compile(UNKNOWN_RECORD);

/** Record types with a schema of their own. */
export const KNOWN_RECORD_TYPES: readonly string[] = Object.keys(SCHEMAS);
/** Keys some record's schema defines (any other key is an unknown one, kept if plain). */
export const KNOWN_RECORD_KEYS: ReadonlySet<string> = new Set(
  Object.values(SCHEMAS).flatMap((schema) => Object.keys((schema as { properties: Record<string, unknown> }).properties)),
);

/**
 * Deepest nesting of `{`/`[` in JSON text (outside strings), or Infinity as soon as it passes
 * `limit`. Linear, and safe on any input: run before JSON.parse so that nothing recursive
 * (JSON.stringify in the JSONL log, printers) ever sees a deep value.
 */
export function jsonDepth(json: string, limit = MAX_RECORD_DEPTH): number {
  let depth = 0;
  let max = 0;
  let inString = false;
  for (let i = 0; i < json.length; i++) {
    const c = json.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x7b || c === 0x5b) {
      depth++;
      if (depth > max) {
        max = depth;
        if (max > limit) return Infinity;
      }
    } else if (c === 0x7d || c === 0x5d) depth--;
  }
  return max;
}

function describe(e: ErrorObject | undefined): string {
  if (!e) return 'invalid';
  const where = e.instancePath ? `'${e.instancePath.slice(1).replace(/\//g, '.').slice(0, 64)}' ` : '';
  if (e.propertyName !== undefined || e.keyword === 'propertyNames') return `${where}has a key that is not a plain name`;
  // With allErrors off, a failed anyOf reports its first branch's error: name the whole rule.
  if (e.schemaPath.startsWith('#/anyOf')) return 'has neither instructions nor cycles';
  if (e.schemaPath.startsWith('#/additionalProperties')) return `${where}is not a plain value, or a short flat list or map of them`;
  return `${where}${e.message ?? 'is invalid'}`;
}

export type RecordCheck = { ok: true } | { ok: false; reason: string };

/** Checks a parsed record (any JSON value) against its type's schema. */
export function checkRecord(value: unknown): RecordCheck {
  if (value === null || typeof value !== 'object' || Array.isArray(value) || typeof (value as { type?: unknown }).type !== 'string') {
    return { ok: false, reason: 'record is not a JSON object with a string "type"' };
  }
  const type = (value as { type: string }).type;
  const validate = validators.get(type) ?? validateUnknown;
  if (!validate(value)) {
    const name = validators.has(type) ? `"${type}" record` : 'record';
    return { ok: false, reason: `${name} fails the schema: ${describe(validate.errors?.[0])}` };
  }
  if (type === 'output') {
    const r = value as { offset: number; bytes: number; hex: string };
    if (r.offset + r.hex.length / 2 > r.bytes) {
      return { ok: false, reason: `"output" record fails the schema: chunk [${r.offset}, ${r.offset + r.hex.length / 2}) lies outside the ${r.bytes}-byte tensor` };
    }
  }
  return { ok: true };
}
