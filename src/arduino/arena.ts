/**
 * The tensor arena of a TensorFlow Lite Micro sketch: the smallest arena the pinned library
 * (Chirale_TensorFLowLite 2.0.0) accepts for the model, measured, and a formula for when it
 * cannot be measured.
 *
 * Measured (arena-measure.ts): the sketch itself, built with tinyml's bare-metal Arduino core
 * and -DTML_TFLM_MEASURE_ARENA, runs in QEMU and bisects, in 16-byte steps, for the smallest
 * arena with which AllocateTensors() succeeds, then runs the model with exactly that arena. The
 * result is cached per model (sha256 of the .tflite), library version and CPU class. That is
 * the arena the sketch gets: nothing wasted, nothing missing.
 *
 * Formula (fallback: no QEMU, no compiler, no library on this machine), per 32-bit core:
 *
 *   arena = align16( planned
 *                  + perTensor * tensors + perOp * ops + perChannel * per-channel channels
 *                  + perInt16Op * ops with int16 activations + recurrent terms + base )
 *           * (1 + margin)
 *
 * with coefficients fitted to the measurements of every ../shared/golden and golden-ops model
 * (bench/results/tflm-arena.json) so that the formula is at or above every measurement;
 * `margin` is the documented safety margin on top (docs/arduino.md). test/tflm-arena.test.ts
 * checks formula >= measured for each of them.
 */
import type { Graph } from '../ir/graph.ts';
import { planMemory } from '../plan/memory.ts';

export const TFLM_ARENA_FORMULA = {
  perTensorBytes: 12,
  perOpBytes: 160,
  perChannelBytes: 8,
  perInt16OpBytes: 0,
  perRecurrentOpBytes: 0,
  baseBytes: 512,
  alignment: 16,
  /** Safety margin on top of the fitted sum. */
  margin: 0,
} as const;

export interface TflmArenaEstimate {
  /** tinyml's planned activation arena. */
  plannedBytes: number;
  tensors: number;
  ops: number;
  /** Output channels of per-channel quantized weights. */
  perChannelChannels: number;
  int16Ops: number;
  recurrentOps: number;
  /** TFLM bookkeeping on top of the planned activations. */
  overheadBytes: number;
  /** The formula's arena. */
  arenaBytes: number;
}

/** Output channels whose weights carry per-channel scales (each gets a multiplier and a shift). */
export function perChannelChannels(graph: Graph): number {
  let channels = 0;
  for (const op of graph.ops) {
    if (op.type !== 'CONV_2D' && op.type !== 'DEPTHWISE_CONV_2D' && op.type !== 'FULLY_CONNECTED' && op.type !== 'TRANSPOSE_CONV') continue;
    const w = graph.tensors[op.inputs[1] ?? -1];
    const scales = w?.quant?.scale.length ?? 0;
    if (scales > 1) channels += scales;
  }
  return channels;
}

const RECURRENT = new Set(['SVDF', 'UNIDIRECTIONAL_SEQUENCE_LSTM']);

export function tflmArenaBytes(graph: Graph, plannedBytes: number = planMemory(graph).arenaBytes): TflmArenaEstimate {
  const f = TFLM_ARENA_FORMULA;
  const channels = perChannelChannels(graph);
  const int16Ops = graph.ops.filter((op) => graph.tensors[op.inputs[0] ?? -1]?.dtype === 'int16').length;
  const recurrentOps = graph.ops.filter((op) => RECURRENT.has(op.type)).length;
  const overhead =
    f.perTensorBytes * graph.tensors.length +
    f.perOpBytes * graph.ops.length +
    f.perChannelBytes * channels +
    f.perInt16OpBytes * int16Ops +
    f.perRecurrentOpBytes * recurrentOps +
    f.baseBytes;
  const arena = Math.ceil(((plannedBytes + overhead) * (1 + f.margin)) / f.alignment) * f.alignment;
  return { plannedBytes, tensors: graph.tensors.length, ops: graph.ops.length, perChannelChannels: channels, int16Ops, recurrentOps, overheadBytes: overhead, arenaBytes: arena };
}

/** How the sketch's arena was sized. */
export interface TflmArenaPlan {
  /** kTensorArenaSize of the sketch. */
  arenaBytes: number;
  /** measured: the smallest arena the library accepts (QEMU); formula: the fallback; given: fixed by the caller. */
  source: 'measured' | 'formula' | 'given';
  /** The measured smallest arena, when measured (also when the arena was given). */
  neededBytes: number | null;
  /** Why it was not measured, when it was not. */
  notMeasured?: string;
  formula: TflmArenaEstimate;
}

/** One line for build output: the arena, and planned vs needed. */
export function describeArena(plan: TflmArenaPlan): string {
  const f = plan.formula;
  switch (plan.source) {
    case 'measured':
      return `arena ${plan.arenaBytes} bytes: measured, the smallest TFLite Micro accepts for this model (formula ${f.arenaBytes}, tinyml's own plan ${f.plannedBytes})`;
    case 'given':
      return `arena ${plan.arenaBytes} bytes: given${plan.neededBytes !== null ? ` (TFLite Micro needs ${plan.neededBytes})` : ''}`;
    default:
      return `arena ${plan.arenaBytes} bytes: formula (tinyml's plan ${f.plannedBytes} + TFLite Micro bookkeeping ${f.overheadBytes}, ${Math.round(TFLM_ARENA_FORMULA.margin * 100)}% margin); not measured: ${plan.notMeasured ?? 'measurement off'}`;
  }
}

/** The arena text of model_data.h. */
export function arenaComment(plan: TflmArenaPlan): string {
  switch (plan.source) {
    case 'measured':
      return `the smallest arena TFLite Micro accepts for this model, measured by tinyml in QEMU (bisection in 16-byte steps, then a run with exactly this arena)`;
    case 'given':
      return `fixed when the sketch was generated${plan.neededBytes !== null ? `; TFLite Micro needs ${plan.neededBytes} bytes` : ''}`;
    default:
      return `tinyml's fallback formula (not measured: ${plan.notMeasured ?? 'measurement off'}), at or above every measured model`;
  }
}
