/**
 * Collects the decoded report stream of one firmware run into typed data (records described
 * in docs/protocol.md) and summarises it: cost per inference (instructions under QEMU, cycles
 * from the DWT on hardware), memory, outputs. Shared by `run`, `infer --engine emulator` and
 * `monitor`.
 */
import type { DecodedItem, DecoderStats, ReportRecord } from '../device/protocol.ts';

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

function num(v: unknown): number | null {
  return typeof v === 'number' && Number.isFinite(v) ? v : null;
}

/** Accumulates decoded items; `report` is always the state so far (a crash keeps what arrived). */
export class ReportCollector {
  readonly report: DeviceReport = emptyReport();
  private readonly outputChunks = new Map<number, { total: number; bytes: Uint8Array; filled: number }>();

  add(item: DecodedItem): void {
    if (item.kind === 'log') {
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
        rep.hello = r as HelloRecord;
        rep.unit = r.unit === 'cycles' ? 'cycles' : r.unit === 'instructions' ? 'instructions' : null;
        break;
      case 'mem':
        rep.mem = r as MemRecord;
        break;
      case 'inference': {
        const cost = num(r.instructions) ?? num(r.cycles);
        if (cost !== null) rep.inferences.push(cost);
        if (rep.unit === null) rep.unit = num(r.cycles) !== null ? 'cycles' : 'instructions';
        break;
      }
      case 'op': {
        const cost = num(r.instructions) ?? num(r.cycles);
        const index = num(r.index);
        if (cost !== null && index !== null) rep.ops.push({ index, op: String(r.op ?? '?'), cost });
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
        rep.errors.push(r);
        break;
      case 'done':
        rep.done = r;
        break;
      default:
        // Unknown record types are kept in the JSONL log only (newer firmware, older host).
        break;
    }
  }

  private addOutputChunk(r: ReportRecord): void {
    const index = num(r.index);
    const offset = num(r.offset) ?? 0;
    const total = num(r.bytes);
    const hex = typeof r.hex === 'string' ? r.hex : null;
    if (index === null || total === null || hex === null || hex.length % 2 !== 0) return;
    let entry = this.outputChunks.get(index);
    if (!entry || entry.total !== total) {
      entry = { total, bytes: new Uint8Array(total), filled: 0 };
      this.outputChunks.set(index, entry);
    }
    const chunk = Buffer.from(hex, 'hex');
    if (offset + chunk.length > total) return;
    entry.bytes.set(chunk, offset);
    entry.filled += chunk.length;
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

/** One line describing a device `error` record, for messages. */
export function describeDeviceError(r: ReportRecord): string {
  if (typeof r.pc === 'string') {
    return `${String(r.code ?? 'fault')} at pc ${r.pc} (lr ${String(r.lr ?? '?')}, cfsr ${String(r.cfsr ?? '?')})`;
  }
  return `${String(r.code ?? 'error')}${r.status !== undefined ? ` (status ${String(r.status)})` : ''}${r.message ? `: ${String(r.message)}` : ''}`;
}

export type { DecoderStats };
