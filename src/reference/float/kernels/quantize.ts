/**
 * Affine quantization with the two rounding rules the IR distinguishes, and ONNX's
 * QLinearConv / QLinearMatMul requantization.
 *
 *   quantize:   q = clamp(round(x / scale) + zeroPoint, dtype range); x / scale in float32
 *               (TFLite and ONNX both divide in float), round half away from zero (TFLite
 *               TfLiteRound) or half to even (ONNX).
 *   dequantize: real = (q - zeroPoint) * scale, rounded to float32.
 *   requantize (ONNX QLinear*): acc is the exact int32 sum of (x - xZp) * (w - wZp) (+ bias);
 *               y = clamp(roundHalfEven(float32(acc) * float32(xScale * wScale / yScale)) + yZp),
 *               all in float32 as onnxruntime does it.
 */
import type { DType } from '../../../ir/graph.ts';

export type Rounding = 'HALF_AWAY' | 'HALF_EVEN';

export function roundHalfEven(v: number): number {
  const r = Math.round(v); // half up
  return r - v === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

export function roundHalfAway(v: number): number {
  return v < 0 ? -Math.round(-v) : Math.round(v);
}

export function intRange(dtype: DType): [number, number] {
  switch (dtype) {
    case 'int8': return [-128, 127];
    case 'uint8': return [0, 255];
    case 'int16': return [-32768, 32767];
    case 'uint16': return [0, 65535];
    case 'int32': return [-2147483648, 2147483647];
    case 'uint32': return [0, 4294967295];
    default: throw new Error(`no integer range for ${dtype}`);
  }
}

/** Per-tensor or per-`axis` quantization of real values to integers of `dtype` (returned as numbers). */
export function quantizeArray(
  x: ArrayLike<number>,
  shape: readonly number[],
  scale: ArrayLike<number>,
  zeroPoint: ArrayLike<number>,
  axis: number,
  dtype: DType,
  rounding: Rounding,
): Float64Array {
  const [lo, hi] = intRange(dtype);
  const round = rounding === 'HALF_EVEN' ? roundHalfEven : roundHalfAway;
  const perAxis = scale.length > 1;
  const inner = perAxis ? shape.slice(axis + 1).reduce((a, b) => a * b, 1) : 1;
  const dim = perAxis ? shape[axis]! : 1;
  const out = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) {
    const c = perAxis ? Math.floor(i / inner) % dim : 0;
    const q = round(Math.fround(x[i]! / scale[c]!)) + (zeroPoint[c] ?? 0);
    out[i] = Math.min(Math.max(q, lo), hi);
  }
  return out;
}

/** ONNX requantization of int32 accumulators; `multiplier[c]` per output channel (length 1 = per tensor). */
export function requantizeOnnx(acc: ArrayLike<number>, channels: number, multiplier: ArrayLike<number>, yZeroPoint: number, dtype: DType): Float64Array {
  const [lo, hi] = intRange(dtype);
  const out = new Float64Array(acc.length);
  for (let i = 0; i < acc.length; i++) {
    const m = multiplier.length > 1 ? multiplier[i % channels]! : multiplier[0]!;
    const v = roundHalfEven(Math.fround(Math.fround(acc[i]!) * m)) + yZeroPoint;
    out[i] = Math.min(Math.max(v, lo), hi);
  }
  return out;
}
