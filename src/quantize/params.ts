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

/** Symmetric int8 weight scale per channel (max |w| / 127); `axis` is the channel dimension. */
export function weightScalesPerChannel(values: Float32Array, shape: readonly number[], axis: number): number[] {
  const channels = shape[axis]!;
  const inner = shape.slice(axis + 1).reduce((a, b) => a * b, 1);
  const maxAbs = new Array<number>(channels).fill(0);
  for (let i = 0; i < values.length; i++) {
    const c = Math.floor(i / inner) % channels;
    const a = Math.abs(values[i]!);
    if (a > maxAbs[c]!) maxAbs[c] = a;
  }
  // An all-zero channel quantizes to zeros under any scale; 1 keeps the scale positive.
  return maxAbs.map((m) => (m > 0 ? Math.fround(m / 127) : 1));
}

/**
 * Symmetric per-channel int8 weights. `shape` is the weight's shape, `axis` the channel
 * dimension (CONV_2D 0, DEPTHWISE_CONV_2D 3, FULLY_CONNECTED 0). `scales` overrides the
 * max-|w| scales (e.g. widened so a bias fits, see fitWeightScalesToBias).
 */
export function quantizeWeightsPerChannel(
  values: Float32Array,
  shape: readonly number[],
  axis: number,
  scales: number[] = weightScalesPerChannel(values, shape, axis),
): { data: Int8Array; scales: number[] } {
  const channels = shape[axis]!;
  const inner = shape.slice(axis + 1).reduce((a, b) => a * b, 1);
  const data = new Int8Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const c = Math.floor(i / inner) % channels;
    data[i] = clamp(roundHalfAway(values[i]! / scales[c]!), -127, 127);
  }
  return { data, scales };
}

/** Symmetric per-tensor int8 weight scale (max |w| / 127). */
export function weightScalePerTensor(values: Float32Array): number {
  let m = 0;
  for (let i = 0; i < values.length; i++) m = Math.max(m, Math.abs(values[i]!));
  return m > 0 ? Math.fround(m / 127) : 1;
}

/** Symmetric per-tensor int8 weights (one scale for the whole tensor; `scale` overrides max |w| / 127). */
export function quantizeWeightsPerTensor(values: Float32Array, scale = weightScalePerTensor(values)): { data: Int8Array; scale: number } {
  const data = new Int8Array(values.length);
  for (let i = 0; i < values.length; i++) data[i] = clamp(roundHalfAway(values[i]! / scale), -127, 127);
  return { data, scale };
}

/** Real values -> int16 with the given per-tensor params (round half away, saturate). */
export function quantizeToInt16(values: ArrayLike<number>, scale: number, zeroPoint: number): Int16Array {
  const out = new Int16Array(values.length);
  for (let i = 0; i < values.length; i++) out[i] = clamp(roundHalfAway(values[i]! / scale) + zeroPoint, -32768, 32767);
  return out;
}

/**
 * Bias with scale inputScale * weightScales[c] (or one weight scale for all channels): int32
 * (int8 activations), or int64 (16x8). Saturates at the type's range; fitWeightScalesToBias
 * makes sure that never happens.
 */
export function quantizeBias(values: Float32Array, inputScale: number, weightScales: readonly number[], type?: 'int32'): { data: Int32Array; scales: number[] };
export function quantizeBias(values: Float32Array, inputScale: number, weightScales: readonly number[], type: 'int32' | 'int64'): { data: Int32Array | BigInt64Array; scales: number[] };
export function quantizeBias(values: Float32Array, inputScale: number, weightScales: readonly number[], type: 'int32' | 'int64' = 'int32'): { data: Int32Array | BigInt64Array; scales: number[] } {
  const scales = Array.from(values, (_, c) => Math.fround(inputScale * weightScales[weightScales.length === 1 ? 0 : c]!));
  if (type === 'int64') {
    const data = new BigInt64Array(values.length);
    // |bias| stays below 2^53 after fitWeightScalesToBias(BIAS_LIMIT.int64), so the double is exact.
    for (let c = 0; c < values.length; c++) data[c] = BigInt(clamp(roundHalfAway(values[c]! / scales[c]!), -(2 ** 53), 2 ** 53));
    return { data, scales };
  }
  const data = new Int32Array(values.length);
  for (let c = 0; c < values.length; c++) data[c] = clamp(roundHalfAway(values[c]! / scales[c]!), INT32_MIN, INT32_MAX);
  return { data, scales };
}

/**
 * The largest |quantized bias| quantization lets through: half the int32 range. The other half
 * is headroom for the accumulator (bias + sum of products, up to K * 127 * 255) and for the
 * native backend's folded input offset, so no integer derived from the bias can overflow.
 * 16x8 models store int64 biases (TFLite's 16x8 spec) with a 48-bit accumulator budget.
 */
export const BIAS_LIMIT = { int32: 2 ** 30, int64: 2 ** 46 } as const;

/** A weight scale that was widened so its channel's bias fits (see fitWeightScalesToBias). */
export interface WidenedScale {
  channel: number;
  /** The max-|w| / 127 scale and the widened one. */
  from: number;
  to: number;
}

/**
 * Widens weight scales so that every bias value fits BIAS_LIMIT at bias scale
 * inputScale * weightScale[c] (TFLite's bias scale). Without this, a channel whose weights are
 * tiny next to its bias (a nearly dead BatchNorm channel folded into a conv) saturates its
 * int32 bias and the int8 model silently computes something else (production quantizers do
 * the same widening). With one scale (per-tensor weights) the widest channel decides.
 * Returns the scales to quantize the weights with, and which ones changed.
 */
export function fitWeightScalesToBias(
  scales: readonly number[],
  bias: Float32Array,
  inputScale: number,
  limit: number = BIAS_LIMIT.int32,
): { scales: number[]; widened: WidenedScale[] } {
  const out = [...scales];
  const widened: WidenedScale[] = [];
  for (let c = 0; c < bias.length; c++) {
    const k = out.length === 1 ? 0 : c;
    const need = Math.abs(bias[c]!) / limit;
    let s = out[k]!;
    if (Math.fround(inputScale * s) >= need) continue;
    // The bias scale is float32 (as the file stores it): step up until it really fits.
    s = Math.fround(need / inputScale);
    while (Math.fround(inputScale * s) < need) s = Math.fround(s * (1 + 2 ** -20));
    const prior = widened.find((w) => w.channel === k);
    if (prior) prior.to = s;
    else widened.push({ channel: k, from: out[k]!, to: s });
    out[k] = s;
  }
  return { scales: out, widened };
}
