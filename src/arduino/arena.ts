/**
 * The tensor arena of a TFLite Micro sketch, computed instead of guessed:
 *
 *   arena = align16( planned
 *                  + 12 * tensors
 *                  + 160 * ops
 *                  + 8 * per-channel output channels
 *                  + 512 )
 *
 * - planned: tinyml's own memory plan of the activations (src/plan/memory.ts), the part of
 *   the arena TFLite Micro's planner also fills with tensor data;
 * - 12 bytes per tensor of the model (constants included): TfLiteEvalTensor (data pointer,
 *   dims pointer, type) on a 32-bit core;
 * - 160 bytes per op: the node and registration records, each kernel's OpData, and the
 *   temporary TfLiteTensor structs and scratch-buffer handles TFLM allocates per node;
 * - 8 bytes per output channel of every per-channel quantized weight (CONV_2D,
 *   DEPTHWISE_CONV_2D, per-channel FULLY_CONNECTED): the int32 multiplier and shift arrays the
 *   kernels precompute in Prepare;
 * - 512 bytes: the interpreter's fixed persistent allocations (subgraph and allocation info).
 *
 * Calibration (docs/arduino.md): the coefficients come from TFLite Micro's 32-bit struct sizes
 * and were fitted against ../shared/anchors/tflm-cortex-m4.json, where `arena_used_bytes` is
 * MicroInterpreter::arena_used_bytes() measured on a Cortex-M4 for five models with both the
 * reference and the CMSIS-NN kernels. The formula is at least the measured value for all ten
 * and within 1 KiB above it, so AllocateTensors() succeeds without wasting RAM; the firmware
 * reports arena_used_bytes() so the real margin is visible on every run. The x86-64 numbers in
 * ../shared/golden/<model>/meta.json are larger (64-bit pointers) and are not used.
 */
import type { Graph } from '../ir/graph.ts';
import { planMemory } from '../plan/memory.ts';

export const TFLM_ARENA_FORMULA = {
  perTensorBytes: 12,
  perOpBytes: 160,
  perChannelBytes: 8,
  baseBytes: 512,
  alignment: 16,
} as const;

export interface TflmArenaEstimate {
  /** tinyml's planned activation arena. */
  plannedBytes: number;
  tensors: number;
  ops: number;
  /** Output channels of per-channel quantized weights. */
  perChannelChannels: number;
  /** TFLM bookkeeping on top of the planned activations. */
  overheadBytes: number;
  /** kTensorArenaSize of the sketch. */
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

export function tflmArenaBytes(graph: Graph, plannedBytes: number = planMemory(graph).arenaBytes): TflmArenaEstimate {
  const f = TFLM_ARENA_FORMULA;
  const channels = perChannelChannels(graph);
  const overhead = f.perTensorBytes * graph.tensors.length + f.perOpBytes * graph.ops.length + f.perChannelBytes * channels + f.baseBytes;
  const arena = Math.ceil((plannedBytes + overhead) / f.alignment) * f.alignment;
  return { plannedBytes, tensors: graph.tensors.length, ops: graph.ops.length, perChannelChannels: channels, overheadBytes: overhead, arenaBytes: arena };
}
