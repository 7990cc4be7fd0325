/**
 * Quantization parameter arithmetic of the TFLite int8 spec.
 *
 * - Activations: per-tensor asymmetric int8 in [-128, 127]; the real range is widened to hold
 *   0 (so zero padding and ReLU are exact) and the zero point is rounded to the nearest integer
 *   from the end of the range that loses the least precision, as TFLite's converter does.
 * - Weights: per-channel symmetric int8 in [-127, 127] (the -128 code is unused so that the
 *   kernels can negate safely), zero point 0.
 * - Bias: int32, scale = input_scale * weight_scale[c], zero point 0.
 *
 * Scales are rounded to float32 here because the .tflite file stores them as float32: the
 * in-memory graph and the written-and-read-back graph must hold identical numbers.
 */
import type { Quantization } from '../ir/graph.ts';

export const INT8_MIN = -128;
export const INT8_MAX = 127;
export const INT32_MIN = -2147483648;
export const INT32_MAX = 2147483647;

/** Round half away from zero (C `round`, TFLite's TfLiteRound). */
export function roundHalfAway(x: number): number {
  return x < 0 ? -Math.round(-x) : Math.round(x);
}

export function clamp(x: number, lo: number, hi: number): number {
  return x < lo ? lo : x > hi ? hi : x;
}

export interface Range {
  min: number;
  max: number;
}

/** Per-tensor asymmetric params for a real range, in [qmin, qmax] (int8 by default). */
export function asymmetricParams(range: Range, qmin = INT8_MIN, qmax = INT8_MAX): { scale: number; zeroPoint: number } {
  // 0 must be exactly representable: widen the range to include it.
  const min = Math.min(range.min, 0);
  const max = Math.max(range.max, 0);
  if (max === min) return { scale: 1, zeroPoint: 0 };
  const scale = Math.fround((max - min) / (qmax - qmin));
  // Two candidate zero points (from each end); keep the one with the smaller rounding error.
  const zpFromMin = qmin - min / scale;
  const zpFromMax = qmax - max / scale;
  const errMin = Math.abs(qmin) + Math.abs(min / scale);
  const errMax = Math.abs(qmax) + Math.abs(max / scale);
  const zp = errMin < errMax ? zpFromMin : zpFromMax;
  const zeroPoint = zp < qmin ? qmin : zp > qmax ? qmax : Math.round(zp);
  return { scale, zeroPoint };
}

export function perTensor(scale: number, zeroPoint: number, range?: Range): Quantization {
  const q: Quantization = { scale: [Math.fround(scale)], zeroPoint: [zeroPoint], axis: 0 };
  if (range) {
    q.min = [Math.fround(range.min)];
    q.max = [Math.fround(range.max)];
  }
  return q;
}

/** Real values -> int8 with the given per-tensor params (round half away, saturate). */
export function quantizeToInt8(values: ArrayLike<number>, scale: number, zeroPoint: number): Int8Array {
  const out = new Int8Array(values.length);
  for (let i = 0; i < values.length; i++) {
    out[i] = clamp(roundHalfAway(values[i]! / scale) + zeroPoint, INT8_MIN, INT8_MAX);
  }
  return out;
}

/**
 * Symmetric per-channel int8 weights. `shape` is the weight's shape, `axis` the channel
 * dimension (CONV_2D 0, DEPTHWISE_CONV_2D 3, FULLY_CONNECTED 0).
 */
export function quantizeWeightsPerChannel(
  values: Float32Array,
  shape: readonly number[],
  axis: number,
): { data: Int8Array; scales: number[] } {
  const channels = shape[axis]!;
  const inner = shape.slice(axis + 1).reduce((a, b) => a * b, 1);
  const maxAbs = new Array<number>(channels).fill(0);
  for (let i = 0; i < values.length; i++) {
    const c = Math.floor(i / inner) % channels;
    const a = Math.abs(values[i]!);
    if (a > maxAbs[c]!) maxAbs[c] = a;
  }
  // An all-zero channel quantizes to zeros under any scale; 1 keeps the scale positive.
  const scales = maxAbs.map((m) => (m > 0 ? Math.fround(m / 127) : 1));
  const data = new Int8Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const c = Math.floor(i / inner) % channels;
    data[i] = clamp(roundHalfAway(values[i]! / scales[c]!), -127, 127);
  }
  return { data, scales };
}

/** Symmetric per-tensor int8 weights (one scale for the whole tensor). */
export function quantizeWeightsPerTensor(values: Float32Array): { data: Int8Array; scale: number } {
  let m = 0;
  for (let i = 0; i < values.length; i++) m = Math.max(m, Math.abs(values[i]!));
  const scale = m > 0 ? Math.fround(m / 127) : 1;
  const data = new Int8Array(values.length);
  for (let i = 0; i < values.length; i++) data[i] = clamp(roundHalfAway(values[i]! / scale), -127, 127);
  return { data, scale };
}

/** int32 bias with scale inputScale * weightScales[c] (or one weight scale for all channels). */
export function quantizeBias(values: Float32Array, inputScale: number, weightScales: readonly number[]): { data: Int32Array; scales: number[] } {
  const scales = Array.from(values, (_, c) => Math.fround(inputScale * weightScales[weightScales.length === 1 ? 0 : c]!));
  const data = new Int32Array(values.length);
  for (let c = 0; c < values.length; c++) data[c] = clamp(roundHalfAway(values[c]! / scales[c]!), INT32_MIN, INT32_MAX);
  return { data, scales };
}
