/**
 * How the float executor sees tensors: constants decoded from their little-endian bytes,
 * integer weights of hybrid models dequantized to real values, and results rounded to the
 * tensor's dtype (float32 tensors are rounded once per tensor: kernels accumulate in float64).
 */
import { UnsupportedError } from '../../errors.ts';
import type { DType, Op, Tensor } from '../../ir/graph.ts';
import { allocTyped, isNpyDType, typedFromBytes } from '../../data/npy.ts';
import type { TensorValue, TypedArray } from '../tensor-value.ts';

/** A dense array of real values, row-major in `shape`. */
export interface FloatArray {
  shape: number[];
  data: Float64Array | Float32Array;
}

/** Decodes a constant tensor's bytes into a value of its dtype (float16 widened to float32). */
export function decodeConstant(t: Tensor): TensorValue {
  const bytes = t.data!;
  if (t.dtype === 'float16') {
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const out = new Float32Array(bytes.length / 2);
    for (let i = 0; i < out.length; i++) out[i] = halfToFloat(view.getUint16(i * 2, true));
    return { dtype: 'float32', shape: [...t.shape], data: out };
  }
  if (!isNpyDType(t.dtype)) {
    throw new UnsupportedError(`constant tensor '${t.name}' has dtype ${t.dtype}, which the float reference engine cannot hold: re-export the model with float32 or int8 constants`);
  }
  return { dtype: t.dtype, shape: [...t.shape], data: typedFromBytes(t.dtype, bytes, `tensor '${t.name}'`) };
}

/** IEEE half -> number. */
export function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24;
  if (exp === 31) return frac ? NaN : sign * Infinity;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

export function isFloatDType(d: DType): boolean {
  return d === 'float32' || d === 'float64' || d === 'float16';
}

/** Numbers of any typed array (int64 via Number(), exact below 2^53). */
export function asNumbers(v: TensorValue): ArrayLike<number> {
  if (v.data instanceof BigInt64Array || v.data instanceof BigUint64Array) {
    const out = new Float64Array(v.data.length);
    for (let i = 0; i < out.length; i++) out[i] = Number(v.data[i]!);
    return out;
  }
  return v.data as ArrayLike<number>;
}

/**
 * Real values of a tensor for a float kernel. Float tensors are used as they are; a quantized
 * integer tensor (a hybrid model's int8 weights, per-tensor or per-axis) is dequantized with
 * its scales: real = scale * (q - zeroPoint).
 */
export function realValues(v: TensorValue, t: Tensor, op: Op): FloatArray {
  if (v.data instanceof Float32Array || v.data instanceof Float64Array) return { shape: v.shape, data: v.data };
  if (!t.quant || t.quant.scale.length === 0) {
    throw new UnsupportedError(
      `op ${op.index} (${op.type} '${op.source.name}') reads ${v.dtype} tensor '${t.name}' without quantization parameters in a float computation: run an int8 model with --engine reference`,
    );
  }
  return { shape: v.shape, data: dequantizeArray(asNumbers(v), v.shape, t.quant.scale, t.quant.zeroPoint, t.quant.axis) };
}

/** scale * (q - zeroPoint), per tensor (one scale) or per `axis`. Rounded to float32 as TFLite does. */
export function dequantizeArray(q: ArrayLike<number>, shape: readonly number[], scale: readonly number[], zeroPoint: readonly number[], axis: number): Float32Array {
  const out = new Float32Array(q.length);
  if (scale.length === 1) {
    const s = scale[0]!;
    const z = zeroPoint[0] ?? 0;
    for (let i = 0; i < q.length; i++) out[i] = (q[i]! - z) * s;
    return out;
  }
  const inner = shape.slice(axis + 1).reduce((a, b) => a * b, 1);
  const dim = shape[axis]!;
  for (let i = 0; i < q.length; i++) {
    const c = Math.floor(i / inner) % dim;
    out[i] = (q[i]! - (zeroPoint[c] ?? 0)) * scale[c]!;
  }
  return out;
}

/** Converts computed real values to a value of the output tensor's dtype (float32: rounded once). */
export function toDType(dtype: DType, shape: number[], data: ArrayLike<number>): TensorValue {
  if (dtype === 'float64') return { dtype, shape, data: Float64Array.from(data) };
  if (dtype === 'float32' || dtype === 'float16') return { dtype: 'float32', shape, data: Float32Array.from(data) };
  if (!isNpyDType(dtype)) throw new UnsupportedError(`the float reference engine cannot produce ${dtype} tensors`);
  const out: TypedArray = allocTyped(dtype, data.length);
  if (out instanceof BigInt64Array || out instanceof BigUint64Array) {
    for (let i = 0; i < data.length; i++) out[i] = BigInt(Math.trunc(data[i]!));
  } else {
    for (let i = 0; i < data.length; i++) (out as Int32Array)[i] = data[i]!;
  }
  return { dtype, shape, data: out };
}
