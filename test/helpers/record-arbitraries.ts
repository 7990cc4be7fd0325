/**
 * fast-check arbitraries for report records (docs/protocol.md), shared by the decoder's property
 * tests and bench/robustness.ts:
 *
 * - `validRecord`: a record of any type that a conforming firmware may send (values anywhere in
 *   their documented ranges, unknown keys and unknown record types included): the decoder must
 *   keep every one, unchanged;
 * - `hostileRecord`: any JSON value at all (deep nesting, huge numbers, negative offsets, control
 *   characters, wrong types) framed with a valid CRC: the decoder must never throw, and must
 *   either keep it (then it passes the schema) or reject and count it.
 *
 * `frameLine` writes a line exactly as the firmware does: JSON escaped to printable ASCII, then
 * ` *<crc16>`.
 */
import fc from 'fast-check';
import { crc16, type ReportRecord } from '../../src/device/protocol.ts';
import { KNOWN_RECORD_KEYS, KNOWN_RECORD_TYPES, MAX_OUTPUT_CHUNK_BYTES, MAX_OUTPUT_TENSOR_BYTES, MAX_OUTPUTS } from '../../src/device/records.ts';

/** JSON with every character outside printable ASCII escaped, as the firmware's writer emits it. */
export function asciiJson(value: unknown): string {
  return JSON.stringify(value).replace(/[^\x20-\x7e]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** `@TML <json> *<crc>\n` with the CRC of the JSON text (valid by construction). */
export function frameJson(json: string): string {
  return `@TML ${json} *${crc16(json).toString(16).toUpperCase().padStart(4, '0')}\n`;
}

export function frameLine(value: unknown): string {
  return frameJson(asciiJson(value));
}

const U32 = 0xffff_ffff;
const printable = (maxLength: number) => fc.string({ unit: 'grapheme-ascii', maxLength });
const u32 = fc.integer({ min: 0, max: U32 });
const counter = fc.oneof(fc.maxSafeNat(), fc.constantFrom(0, 1, 2 ** 32, 2 ** 53, 1e19));
const hexDigits = (min: number, max: number) => fc.string({ unit: fc.constantFrom(...'0123456789abcdefABCDEF'), minLength: min, maxLength: max });
const hex32 = hexDigits(1, 8).map((h) => `0x${h}`);
const keyName = fc.stringMatching(/^[a-z_][a-z0-9_]{0,20}$/);
const plainValue = fc.oneof(fc.string({ maxLength: 40 }), fc.double({ noNaN: true, noDefaultInfinity: true }), fc.boolean(), fc.constant(null));
/** Keys a newer firmware might add: plain values, flat lists and maps. */
const extraKeys = fc.dictionary(
  keyName.filter((k) => !KNOWN_RECORD_KEYS.has(k)),
  fc.oneof(plainValue, fc.array(plainValue, { maxLength: 5 }), fc.dictionary(keyName, plainValue, { maxKeys: 4 })),
  { maxKeys: 4 },
);
const cost = fc.oneof(fc.record({ instructions: counter }), fc.record({ cycles: counter }));

const output = fc
  .record({
    index: fc.integer({ min: 0, max: MAX_OUTPUTS - 1 }),
    bytes: fc.oneof(fc.integer({ min: 1, max: 300 }), fc.integer({ min: 1, max: MAX_OUTPUT_TENSOR_BYTES })),
  })
  .chain(({ index, bytes }) =>
    fc.integer({ min: 0, max: bytes - 1 }).chain((offset) =>
      fc
        .uint8Array({ maxLength: Math.min(64, MAX_OUTPUT_CHUNK_BYTES, bytes - offset) })
        .map((chunk) => ({ type: 'output', index, offset, bytes, hex: Buffer.from(chunk).toString('hex') })),
    ),
  );

const byType: Record<string, fc.Arbitrary<Record<string, unknown>>> = {
  hello: fc.record(
    {
      protocol: fc.integer({ min: 0, max: 0xffff }),
      model_hash: hexDigits(1, 64),
      board: printable(64),
      clock_hz: u32,
      arena_bytes: u32,
      weight_bytes: u32,
      runtime: printable(64),
      build_id: printable(64),
      unit: fc.constantFrom('instructions', 'cycles', 'ticks'),
      runs: u32,
      ops: u32,
      profile: fc.constantFrom(0, 1),
    },
    { requiredKeys: ['protocol', 'model_hash', 'board'] },
  ).map((r) => ({ type: 'hello', ...r })),
  inference: fc.tuple(u32, cost, fc.option(counter, { nil: undefined })).map(([index, c, t]) => ({ type: 'inference', index, ...c, ...(t !== undefined ? { timer_counts: t } : {}) })),
  op: fc.tuple(u32, printable(64), cost).map(([index, op, c]) => ({ type: 'op', index, op, ...c })),
  batch: fc.tuple(fc.integer({ min: 1, max: U32 }), cost).map(([inferences, c]) => ({ type: 'batch', inferences, ...c })),
  output,
  mem: fc.record(
    { arena_bytes: u32, stack_high_water_bytes: u32, stack_size_bytes: u32, static_ram_bytes: u32, flash_used_bytes: u32 },
    { requiredKeys: ['arena_bytes'] },
  ).map((r) => ({ type: 'mem', ...r })),
  error: fc.oneof(
    fc.record({ code: fc.constantFrom('hardfault', 'memmanage', 'stack_overflow'), exception: u32, pc: hex32, lr: hex32, cfsr: hex32, op: fc.integer({ min: -1, max: 1000 }), op_type: printable(64) }),
    fc.record({ code: fc.constantFrom('invoke_failed', 'init_failed'), status: fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }), message: printable(1024) }),
  ).map((r) => ({ type: 'error', ...r })),
  done: fc.record({ status: fc.constantFrom('ok', 'error', 'fault'), runs: u32 }, { requiredKeys: ['status'] }).map((r) => ({ type: 'done', ...r })),
  unknown: fc.tuple(fc.stringMatching(/^[a-z][a-z0-9_]{0,31}$/).filter((t) => !KNOWN_RECORD_TYPES.includes(t)), fc.dictionary(keyName.filter((k) => k !== 'type'), plainValue, { maxKeys: 6 })).map(([type, rest]) => ({ type, ...rest })),
};

/** Every record type, equally likely. */
export const RECORD_TYPES = Object.keys(byType);

/** A record a conforming firmware may send, with unknown keys added at random. */
export const validRecord: fc.Arbitrary<ReportRecord> = fc
  .tuple(fc.constantFrom(...RECORD_TYPES).chain((t) => byType[t]!), extraKeys)
  .map(([r, extra]) => ({ ...extra, ...r }) as ReportRecord);

/** Any JSON value, or a known record with one field replaced by anything, or absurdly nested. */
export const hostileRecord: fc.Arbitrary<unknown> = fc.oneof(
  fc.jsonValue({ maxDepth: 6 }),
  fc.tuple(validRecord, fc.string({ maxLength: 12 }), fc.jsonValue({ maxDepth: 4 })).map(([r, k, v]) => ({ ...r, [k]: v })),
  fc.tuple(validRecord, fc.constantFrom('index', 'offset', 'bytes', 'hex', 'cycles', 'instructions', 'model_hash', 'op', 'type'), fc.oneof(fc.double(), fc.integer(), fc.string(), fc.constant(-1), fc.constant(1e12), fc.constant(null))).map(([r, k, v]) => ({ ...r, [k]: v })),
  fc.tuple(fc.integer({ min: 4, max: 5000 }), fc.constantFrom('[', '{"a":')).map(([depth, open]) => ({ nested: depth, open })),
);

/** The JSON text of a hostile value (the deep-nesting case is written out as text). */
export function hostileJson(value: unknown): string {
  const v = value as { nested?: number; open?: string };
  if (v && typeof v === 'object' && typeof v.nested === 'number' && typeof v.open === 'string' && Object.keys(v).length === 2) {
    const close = v.open === '[' ? ']' : '}';
    return `{"type":"log","x":${v.open.repeat(v.nested)}1${close.repeat(v.nested)}}`;
  }
  return asciiJson(value);
}
