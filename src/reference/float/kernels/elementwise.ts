/**
 * Element-wise ops: numpy broadcasting for binary ops, unary maps, and the fused activations
 * TFLite attaches to conv, fully-connected, pool and arithmetic ops.
 */
import { UnsupportedError } from '../../../errors.ts';
import type { FloatArray } from '../values.ts';

/** numpy broadcast of two shapes; throws when they are incompatible. */
export function broadcastShapes(a: readonly number[], b: readonly number[]): number[] {
  const rank = Math.max(a.length, b.length);
  const out: number[] = [];
  for (let i = 0; i < rank; i++) {
    const da = a[a.length - rank + i] ?? 1;
    const db = b[b.length - rank + i] ?? 1;
    if (da !== db && da !== 1 && db !== 1) throw new Error(`shapes [${a.join(',')}] and [${b.join(',')}] do not broadcast`);
    out.push(da === 1 ? db : da);
  }
  return out;
}

/** For every element of the broadcast `shape`, the offset of the element of an operand of `own` shape. */
export function broadcastIndex(own: readonly number[], shape: readonly number[]): Int32Array {
  const count = shape.reduce((p, d) => p * d, 1);
  const rank = shape.length;
  const padded = [...new Array<number>(rank - own.length).fill(1), ...own];
  const strides = new Array<number>(rank);
  let acc = 1;
  for (let d = rank - 1; d >= 0; d--) {
    strides[d] = padded[d] === 1 ? 0 : acc;
    acc *= padded[d]!;
  }
  const out = new Int32Array(count);
  const idx = new Array<number>(rank).fill(0);
  let off = 0;
  for (let i = 0; i < count; i++) {
    out[i] = off;
    for (let d = rank - 1; d >= 0; d--) {
      idx[d]!++;
      off += strides[d]!;
      if (idx[d]! < shape[d]!) break;
      off -= strides[d]! * shape[d]!;
      idx[d] = 0;
    }
  }
  return out;
}

export function binary(a: FloatArray, b: FloatArray, f: (x: number, y: number) => number): FloatArray {
  const shape = broadcastShapes(a.shape, b.shape);
  const ia = broadcastIndex(a.shape, shape);
  const ib = broadcastIndex(b.shape, shape);
  const out = new Float64Array(ia.length);
  for (let i = 0; i < out.length; i++) out[i] = f(a.data[ia[i]!]!, b.data[ib[i]!]!);
  return { shape, data: out };
}

export function unary(x: FloatArray, f: (v: number) => number): FloatArray {
  const out = new Float64Array(x.data.length);
  for (let i = 0; i < out.length; i++) out[i] = f(x.data[i]!);
  return { shape: [...x.shape], data: out };
}

export const logistic = (v: number): number => 1 / (1 + Math.exp(-v));

/** Applies a TFLite fused activation in place. */
export function applyActivation(data: Float64Array, act: string | undefined): void {
  switch (act ?? 'NONE') {
    case 'NONE':
      return;
    case 'RELU':
      for (let i = 0; i < data.length; i++) data[i] = Math.max(data[i]!, 0);
      return;
    case 'RELU6':
      for (let i = 0; i < data.length; i++) data[i] = Math.min(Math.max(data[i]!, 0), 6);
      return;
    case 'RELU_N1_TO_1':
      for (let i = 0; i < data.length; i++) data[i] = Math.min(Math.max(data[i]!, -1), 1);
      return;
    case 'TANH':
      for (let i = 0; i < data.length; i++) data[i] = Math.tanh(data[i]!);
      return;
    case 'SIGN_BIT':
      for (let i = 0; i < data.length; i++) data[i] = Math.sign(data[i]!);
      return;
    default:
      throw new UnsupportedError(`fused activation ${act} is not supported by the float reference engine`);
  }
}

/** y = scale * (x - mean) / sqrt(variance + epsilon) + bias along `axis`. */
export function batchNorm(x: FloatArray, axis: number, scale: ArrayLike<number>, bias: ArrayLike<number>, mean: ArrayLike<number>, variance: ArrayLike<number>, epsilon: number): FloatArray {
  const inner = x.shape.slice(axis + 1).reduce((a, b) => a * b, 1);
  const C = x.shape[axis]!;
  const out = new Float64Array(x.data.length);
  for (let i = 0; i < out.length; i++) {
    const c = Math.floor(i / inner) % C;
    out[i] = (scale[c]! * (x.data[i]! - mean[c]!)) / Math.sqrt(variance[c]! + epsilon) + bias[c]!;
  }
  return { shape: [...x.shape], data: out };
}
