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
 * Formula (fallback: no QEMU, no compiler, no library on this machine), for a 32-bit core:
 *
 *   arena = align16( (planned + 12 * tensors + 160 * ops + 8 * per-channel channels + 512
 *                     + op extras) * (1 + margin) )
 *
 *   planned         tinyml's memory plan of the activations (src/plan/memory.ts)
 *   12 * tensors    one TfLiteEvalTensor per tensor of the model (data, dims, type)
 *   160 * ops       per node: node and registration records, the kernel's OpData, the
 *                   temporary TfLiteTensor structs of Prepare
 *   8 * channels    the int32 multiplier and shift per output channel of per-channel weights
 *   512             the interpreter's fixed persistent allocations
 *   op extras       what some kernels add (sizes from the kernels, checked by measurement).
 *                   The largest of the buffers that live only while their op runs (TFLM's
 *                   planner overlaps them): CONV_2D: CMSIS-NN's im2col buffer, 2 columns of
 *                   int16, 4 * Cin * KH * KW; DEPTHWISE_CONV_2D: its int16 window buffer,
 *                   2 * Cout * KH * KW; RESHAPE: its output, which TFLM plans apart from the
 *                   input (tinyml aliases them); TRANSPOSE_CONV: an int32 accumulator per output
 *                   element. Plus, added up: int16 SOFTMAX: its exp and reciprocal lookup
 *                   tables; SVDF: its scratch and state bookkeeping; UNIDIRECTIONAL_SEQUENCE_LSTM:
 *                   the temporary tensors and quantization structs of its 24 inputs and 4
 *                   intermediates during Prepare
 *   margin          5 %, the documented safety margin
 *
 * The coefficients were fitted to the measurements of every ../shared/golden and golden-ops
 * model the library runs (bench/results/tflm-golden.json) so that the formula is at or above
 * every one of them before the margin; test/tflm-arena.test.ts checks formula >= measured (and
 * formula <= 1.25 * measured + 1 KiB, not wasteful) for each.
 */
import type { Graph } from '../ir/graph.ts';
import { tensorBytes } from '../ir/graph.ts';
import { planMemory } from '../plan/memory.ts';

export const TFLM_ARENA_FORMULA = {
  perTensorBytes: 12,
  perOpBytes: 160,
  perChannelBytes: 8,
  baseBytes: 512,
  /** CONV_2D: bytes per Cin * KH * KW (2 im2col columns of int16). */
  convIm2colBytes: 4,
  /** DEPTHWISE_CONV_2D: bytes per Cout * KH * KW (CMSIS-NN's int16 window buffer). */
  depthwiseBufferBytes: 2,
  /** TRANSPOSE_CONV: bytes per output element (int32 accumulators). */
  transposeConvBytesPerOutput: 4,
  /** int16 SOFTMAX: two 513-entry int16 lookup tables and their bookkeeping. */
  int16SoftmaxBytes: 2100,
  svdfBytes: 256,
  lstmBytes: 4096,
  alignment: 16,
  /** Safety margin on top of the fitted sum. */
  margin: 0.05,
} as const;

export interface TflmArenaEstimate {
  /** tinyml's planned activation arena. */
  plannedBytes: number;
  tensors: number;
  ops: number;
  /** Output channels of per-channel quantized weights. */
  perChannelChannels: number;
  /** Bytes the op extras add (im2col, reshape copies, lookup tables, LSTM/SVDF). */
  opExtraBytes: number;
  /** TFLM bookkeeping on top of the planned activations, before the margin. */
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

/**
 * The op extras of the formula (see the file comment): scratch buffers live only while their op
 * runs, so TFLM's planner overlaps them and the largest counts; lookup tables and the
 * recurrent ops' allocations add up.
 */
export function opExtraBytes(graph: Graph): number {
  const f = TFLM_ARENA_FORMULA;
  let scratch = 0;
  let persistent = 0;
  for (const op of graph.ops) {
    const input = graph.tensors[op.inputs[0] ?? -1];
    const output = graph.tensors[op.outputs[0] ?? -1];
    const w = graph.tensors[op.inputs[1] ?? -1]?.shape ?? [];
    const window = w.length === 4 ? w[1]! * w[2]! * w[3]! : 0;
    switch (op.type) {
      case 'CONV_2D':
        scratch = Math.max(scratch, f.convIm2colBytes * window);
        break;
      case 'DEPTHWISE_CONV_2D':
        scratch = Math.max(scratch, f.depthwiseBufferBytes * window);
        break;
      case 'RESHAPE':
        if (output) scratch = Math.max(scratch, tensorBytes(output));
        break;
      case 'TRANSPOSE_CONV':
        if (output) scratch = Math.max(scratch, f.transposeConvBytesPerOutput * output.shape.reduce((a, b) => a * b, 1));
        break;
      case 'SOFTMAX':
        if (input?.dtype === 'int16') persistent += f.int16SoftmaxBytes;
        break;
      case 'SVDF':
        persistent += f.svdfBytes;
        break;
      case 'UNIDIRECTIONAL_SEQUENCE_LSTM':
        persistent += f.lstmBytes;
        break;
      default:
        break;
    }
  }
  return scratch + persistent;
}

export function tflmArenaBytes(graph: Graph, plannedBytes: number = planMemory(graph).arenaBytes): TflmArenaEstimate {
  const f = TFLM_ARENA_FORMULA;
  const channels = perChannelChannels(graph);
  const extras = opExtraBytes(graph);
  const overhead = f.perTensorBytes * graph.tensors.length + f.perOpBytes * graph.ops.length + f.perChannelBytes * channels + f.baseBytes + extras;
  const arena = Math.ceil(((plannedBytes + overhead) * (1 + f.margin)) / f.alignment) * f.alignment;
  return { plannedBytes, tensors: graph.tensors.length, ops: graph.ops.length, perChannelChannels: channels, opExtraBytes: extras, overheadBytes: overhead, arenaBytes: arena };
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
