/**
 * Collects the decoded report stream of one firmware run into typed data (records described
 * in docs/protocol.md) and summarises it: cost per inference (instructions under QEMU, cycles
 * from the DWT on hardware), memory, outputs. Shared by `run`, `infer --engine emulator` and
 * `monitor`.
 */
import type { DecodedItem, DecoderStats, ReportRecord } from '../device/protocol.ts';
import { MAX_OUTPUT_TENSOR_BYTES, MAX_OUTPUTS } from '../device/records.ts';

/** Device log lines kept in a report (the oldest half is dropped when full). */
export const MAX_LOG_LINES_KEPT = 10_000;
/** Memory held for reassembling output tensors, all outputs together. */
export const MAX_OUTPUT_BYTES_HELD = 4 * MAX_OUTPUT_TENSOR_BYTES;

export type CostUnit = 'instructions' | 'cycles';

export interface HelloRecord extends ReportRecord {
  type: 'hello';
  protocol: number;
  model_hash: string;
  board: string;
  clock_hz: number;
  arena_bytes: number;
  flash_size_bytes?: number;
  runtime?: string;
  kernels?: string;
  build_id?: string;
  timer?: string;
  unit?: CostUnit;
  runs?: number;
}

export interface MemRecord extends ReportRecord {
  type: 'mem';
  arena_bytes: number;
  stack_high_water_bytes: number;
  stack_size_bytes?: number;
  static_ram_bytes?: number;
  flash_used_bytes?: number;
}

export interface OpCost {
  index: number;
  op: string;
  cost: number;
}

export interface DeviceReport {
  hello: HelloRecord | null;
  mem: MemRecord | null;
  unit: CostUnit | null;
  /** Cost of each inference in `unit`, in run order. */
  inferences: number[];
  ops: OpCost[];
  /** Small models: cost of a batch of back-to-back inferences (refill cost taken off). */
  batch: { inferences: number; cost: number } | null;
  /** Output tensors reassembled from their `output` chunks, by output index. */
  outputs: Uint8Array[];
  errors: ReportRecord[];
  done: ReportRecord | null;
  logs: string[];
  rejected: number;
}

export function emptyReport(): DeviceReport {
  return { hello: null, mem: null, unit: null, inferences: [], ops: [], batch: null, outputs: [], errors: [], done: null, logs: [], rejected: 0 };
}

/** Entries kept per list of a report: a device that never restarts must not grow it forever. */
export const MAX_ENTRIES_KEPT = 100_000;

/** Appends, dropping the oldest half when the list is full (the JSONL log keeps everything). */
function keepBounded<T>(list: T[], item: T): void {
  if (list.length >= MAX_ENTRIES_KEPT) list.splice(0, MAX_ENTRIES_KEPT / 2);
  list.push(item);
}

function num(v: unknown): number | null {
  return typeof v === 'number' && Number.isFinite(v) ? v : null;
}

/** Accumulates decoded items; `report` is always the state so far (a crash keeps what arrived). */
export class ReportCollector {
  readonly report: DeviceReport = emptyReport();
  private readonly outputChunks = new Map<number, { total: number; bytes: Uint8Array; seen: Uint8Array; filled: number }>();
  private outputBytesHeld = 0;

  add(item: DecodedItem): void {
    if (item.kind === 'log') {
      // A long monitor session keeps only the latest lines here; the JSONL log has every one.
      if (this.report.logs.length >= MAX_LOG_LINES_KEPT) this.report.logs.splice(0, MAX_LOG_LINES_KEPT / 2);
      this.report.logs.push(item.line);
      return;
    }
    if (item.kind === 'rejected') {
      this.report.rejected++;
      return;
    }
    this.addRecord(item.record);
  }

  addRecord(r: ReportRecord): void {
    const rep = this.report;
    switch (r.type) {
      case 'hello':
        // A new hello means the device restarted: start over.
        Object.assign(rep, emptyReport(), { logs: rep.logs, rejected: rep.rejected });
        this.outputChunks.clear();
        this.outputBytesHeld = 0;
        rep.hello = r as HelloRecord;
        rep.unit = r.unit === 'cycles' ? 'cycles' : r.unit === 'instructions' ? 'instructions' : null;
        break;
      case 'mem':
        rep.mem = r as MemRecord;
        break;
      case 'inference': {
        const cost = num(r.instructions) ?? num(r.cycles);
        if (cost !== null) keepBounded(rep.inferences, cost);
        if (rep.unit === null) rep.unit = num(r.cycles) !== null ? 'cycles' : 'instructions';
        break;
      }
      case 'op': {
        const cost = num(r.instructions) ?? num(r.cycles);
        const index = num(r.index);
        if (cost !== null && index !== null) keepBounded(rep.ops, { index, op: String(r.op ?? '?'), cost });
        break;
      }
      case 'batch': {
        const cost = num(r.instructions) ?? num(r.cycles);
        const n = num(r.inferences);
        if (cost !== null && n !== null && n > 0) rep.batch = { inferences: n, cost };
        break;
      }
      case 'output':
        this.addOutputChunk(r);
        break;
      case 'error':
        keepBounded(rep.errors, r);
        break;
      case 'done':
        rep.done = r;
        break;
      default:
        // Unknown record types are kept in the JSONL log only (newer firmware, older host).
        break;
    }
  }

  /**
   * Reassembles an output tensor from its chunks. The decoder has checked each record's schema
   * (index, offset and size bounded, the chunk inside the tensor); the total memory held for
   * outputs is bounded here too, so a device announcing many huge tensors cannot exhaust the host.
   */
  private addOutputChunk(r: ReportRecord): void {
    const index = num(r.index);
    const offset = num(r.offset) ?? 0;
    const total = num(r.bytes);
    const hex = typeof r.hex === 'string' ? r.hex : null;
    if (index === null || total === null || hex === null || hex.length % 2 !== 0) return;
    if (!Number.isSafeInteger(index) || index < 0 || index >= MAX_OUTPUTS) return;
    if (!Number.isSafeInteger(total) || total <= 0 || total > MAX_OUTPUT_TENSOR_BYTES || !Number.isSafeInteger(offset) || offset < 0) return;
    if (offset + hex.length / 2 > total) return;
    let entry = this.outputChunks.get(index);
    if (!entry || entry.total !== total) {
      const held = this.outputBytesHeld - (entry?.total ?? 0);
      if (held + total > MAX_OUTPUT_BYTES_HELD) return;
      entry = { total, bytes: new Uint8Array(total), seen: new Uint8Array(total), filled: 0 };
      this.outputChunks.set(index, entry);
      this.outputBytesHeld = held + total;
    }
    const chunk = Buffer.from(hex, 'hex');
    entry.bytes.set(chunk, offset);
    // Count each byte once: a repeated chunk must not make a tensor with gaps look complete.
    for (let i = offset; i < offset + chunk.length; i++) {
      if (entry.seen[i] === 0) {
        entry.seen[i] = 1;
        entry.filled++;
      }
    }
    if (entry.filled >= total) this.report.outputs[index] = entry.bytes;
  }
}

export interface CostSummary {
  unit: CostUnit;
  runs: number;
  min: number;
  median: number;
  max: number;
  mean: number;
}

export function summarizeCosts(values: number[], unit: CostUnit): CostSummary | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  const median = sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  return { unit, runs: values.length, min: sorted[0]!, median, max: sorted[sorted.length - 1]!, mean };
}

/** The op a fault record names (`op`, `op_type`), as " in op 3 (CONV_2D)", or ''. */
function faultOp(r: ReportRecord): string {
  const op = num(r.op);
  if (op === null || op < 0) return '';
  return ` in op ${op}${typeof r.op_type === 'string' ? ` (${r.op_type})` : ''}`;
}

/** One line describing a device `error` record, for messages. */
export function describeDeviceError(r: ReportRecord): string {
  if (r.code === 'stack_overflow') {
    const size = num(r.stack_size_bytes);
    return `stack overflow${faultOp(r)} (the ${size !== null ? `${size}-byte ` : ''}stack ran into its guard)`;
  }
  if (typeof r.pc === 'string') {
    return `${String(r.code ?? 'fault')}${faultOp(r)} at pc ${r.pc} (lr ${String(r.lr ?? '?')}, cfsr ${String(r.cfsr ?? '?')})`;
  }
  if (r.code === 'allocate_failed' && typeof r.arena_bytes === 'number') {
    const need =
      typeof r.requested_bytes === 'number'
        ? `: TensorFlow Lite Micro requested ${r.requested_bytes} bytes, ${String(r.available_bytes ?? '?')} available`
        : r.stage === 'memory_planner'
          ? `: TensorFlow Lite Micro's memory planner ran out of room (${String(r.available_bytes ?? '?')} bytes left for planning)`
          : '';
    return `allocate_failed in a ${r.arena_bytes}-byte arena${need}${r.message ? ` (${String(r.message)})` : ''}`;
  }
  return `${String(r.code ?? 'error')}${r.status !== undefined ? ` (status ${String(r.status)})` : ''}${r.message ? `: ${String(r.message)}` : ''}`;
}

export type { DecoderStats };
