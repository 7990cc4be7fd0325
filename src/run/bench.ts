/**
 * `tinyml bench <model> --runtime tflm,native`: the same model, the same inputs, on the same
 * emulated board, once per runtime (tinyml's native C; TensorFlow Lite Micro with the pinned
 * library's CMSIS-NN kernels on tinyml's bare-metal Arduino core), side by side: instructions
 * per inference (QEMU -icount shift=0: instructions, not time), arena, flash, static RAM, stack,
 * and whether the outputs are byte-identical. Returns data; src/cli/commands/bench.ts prints it.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { UsageError } from '../errors.ts';
import { runOnEmulator, emulatedBoard, type RunResult } from './run.ts';
import { defaultKernels } from '../build/firmware.ts';
import type { Runtime } from '../arduino/tflm-emulated.ts';
import type { ArenaChoice } from '../arduino/tflm-arena-plan.ts';

export interface BenchOptions {
  model: string;
  /** Emulated board (default mps2-an386). */
  board?: string;
  runtimes: Runtime[];
  runs?: number;
  inputs?: string[];
  tflmLib?: string;
  arena?: ArenaChoice;
  outDir?: string;
  onProgress?: (message: string) => void;
}

export interface BenchColumn {
  runtime: Runtime;
  /** What ran: "tinyml native C (dsp kernels)" (the board's default set) or "TensorFlow Lite Micro (<library>, CMSIS-NN)". */
  label: string;
  /** Instructions per inference (batch mean for small native models, else the median). */
  instructions: number | null;
  measuredAs: string;
  macsPerInstruction: number | null;
  arenaBytes: number | null;
  /** TFLM: arena_used_bytes() and how the arena was sized. */
  arenaUsedBytes: number | null;
  flashBytes: number | null;
  staticRamBytes: number | null;
  stackHighWaterBytes: number | null;
  /** Output tensors as hex, by output index. */
  outputs: string[];
  run: RunResult;
}

export interface BenchResult {
  model: string;
  board: string;
  machine: string;
  macs: number | null;
  columns: BenchColumn[];
  /** Every runtime's outputs byte-identical (null with one runtime). */
  outputsIdentical: boolean | null;
  /** Output indices whose bytes differ between runtimes. */
  differingOutputs: number[];
}

/** Parses --runtime tflm,native (order kept, no duplicates). */
export function parseRuntimes(v: string | undefined): Runtime[] {
  const list = (v ?? 'native').split(',').map((s) => s.trim()).filter(Boolean);
  const out: Runtime[] = [];
  for (const r of list) {
    if (r !== 'native' && r !== 'tflm') throw new UsageError(`--runtime takes native, tflm or both (tflm,native), not '${r}'`);
    if (!out.includes(r)) out.push(r);
  }
  if (out.length === 0) throw new UsageError('--runtime needs at least one runtime: native, tflm or tflm,native');
  return out;
}

export async function benchModel(opts: BenchOptions): Promise<BenchResult> {
  const board = opts.board ?? 'mps2-an386';
  const { board: boardInfo, machine } = emulatedBoard(board);
  const work = opts.outDir ?? mkdtempSync(join(tmpdir(), `tinyml-bench-${basename(opts.model).replace(/\W+/g, '_')}-`));
  const columns: BenchColumn[] = [];
  for (const runtime of opts.runtimes) {
    opts.onProgress?.(`${runtime === 'tflm' ? 'TensorFlow Lite Micro' : 'tinyml native'}: building and running ${basename(opts.model)} on ${board}`);
    const r = await runOnEmulator({
      model: opts.model,
      board,
      runs: opts.runs,
      inputs: opts.inputs,
      outDir: join(work, runtime),
      runtime,
      tflmLib: runtime === 'tflm' ? opts.tflmLib : undefined,
      arena: runtime === 'tflm' ? opts.arena : undefined,
      onProgress: opts.onProgress,
      timeoutMs: 600_000,
    });
    columns.push({
      runtime,
      label: runtime === 'tflm' ? `TensorFlow Lite Micro (${r.tflm?.library ?? 'TFLM'}, CMSIS-NN)` : `tinyml native C (${defaultKernels(boardInfo)} kernels)`,
      instructions: r.perInference,
      measuredAs: r.batchPerInference !== null ? `mean of a batch of ${r.device.batch!.inferences}` : `median of ${r.latency?.runs ?? 0}`,
      macsPerInstruction: r.macsPerUnit,
      arenaBytes: r.arenaBytes,
      arenaUsedBytes: r.tflm?.arenaUsedBytes ?? null,
      flashBytes: r.flashBytes,
      staticRamBytes: r.staticRamBytes,
      stackHighWaterBytes: r.stackHighWaterBytes,
      outputs: r.outputs.map((o) => o.hex),
      run: r,
    });
  }
  const differing: number[] = [];
  if (columns.length > 1) {
    const n = Math.max(...columns.map((c) => c.outputs.length));
    for (let j = 0; j < n; j++) if (columns.some((c) => c.outputs[j] !== columns[0]!.outputs[j])) differing.push(j);
  }
  return {
    model: opts.model,
    board,
    machine,
    macs: columns[0]?.run.macs ?? null,
    columns,
    outputsIdentical: columns.length > 1 ? differing.length === 0 : null,
    differingOutputs: differing,
  };
}
