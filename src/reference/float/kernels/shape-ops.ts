/**
 * Data-movement ops that work on any dtype (float or integer): concatenation and padding,
 * plus the float reduction MEAN. Row-major, shapes as given (NHWC for 4-D).
 */
import type { TensorValue } from '../../tensor-value.ts';
import { sameKind, stridesOf } from '../../layout.ts';
import type { FloatArray } from '../values.ts';

type Elements = { [i: number]: number | bigint; length: number };

export function concat(parts: TensorValue[], axis: number): TensorValue {
  const first = parts[0]!;
  const shape = [...first.shape];
  shape[axis] = parts.reduce((s, p) => s + p.shape[axis]!, 0);
  const outer = shape.slice(0, axis).reduce((a, b) => a * b, 1);
  const inner = shape.slice(axis + 1).reduce((a, b) => a * b, 1);
  const total = outer * shape[axis]! * inner;
  const out = sameKind(first.data, total) as unknown as Elements;
  let o = 0;
  for (let i = 0; i < outer; i++) {
    for (const p of parts) {
      const chunk = p.shape[axis]! * inner;
      const src = p.data as unknown as Elements;
      for (let k = 0; k < chunk; k++) out[o++] = src[i * chunk + k]!;
    }
  }
  return { dtype: first.dtype, shape, data: out as unknown as TensorValue['data'] };
}

export type PadMode = 'CONSTANT' | 'REFLECT' | 'EDGE' | 'SYMMETRIC';

/** Source index for output position `o` along a dim of `size` with `before` padding, or -1 (constant). */
function padSource(o: number, before: number, size: number, mode: PadMode): number {
  let i = o - before;
  if (i >= 0 && i < size) return i;
  switch (mode) {
    case 'CONSTANT':
      return -1;
    case 'EDGE':
      return i < 0 ? 0 : size - 1;
    case 'REFLECT': {
      if (size === 1) return 0;
      const period = 2 * (size - 1);
      i = ((i % period) + period) % period;
      return i < size ? i : period - i;
    }
    case 'SYMMETRIC': {
      const period = 2 * size;
      i = ((i % period) + period) % period;
      return i < size ? i : period - 1 - i;
    }
  }
}

/** pads = [before0, after0, before1, after1, ...]; negative values crop. */
export function pad(x: TensorValue, pads: readonly number[], mode: PadMode, constant: number | bigint): TensorValue {
  const rank = x.shape.length;
  const shape = x.shape.map((d, i) => d + pads[2 * i]! + pads[2 * i + 1]!);
  const total = shape.reduce((a, b) => a * b, 1);
  const out = sameKind(x.data, total) as unknown as Elements;
  const src = x.data as unknown as Elements;
  const inStrides = stridesOf(x.shape);
  // Per dim, the source offset contribution of every output index (or -1 for constant fill).
  const maps = shape.map((n, d) => {
    const m = new Int32Array(n);
    for (let o = 0; o < n; o++) {
      const s = padSource(o, pads[2 * d]!, x.shape[d]!, mode);
      m[o] = s < 0 ? -1 : s * inStrides[d]!;
    }
    return m;
  });
  const isBig = typeof src[0] === 'bigint' || x.data instanceof BigInt64Array || x.data instanceof BigUint64Array;
  const fill = isBig ? BigInt(constant) : Number(constant);
  const idx = new Array<number>(rank).fill(0);
  for (let o = 0; o < total; o++) {
    let off = 0;
    for (let d = 0; d < rank; d++) {
      const m = maps[d]![idx[d]!]!;
      if (m < 0) {
        off = -1;
        break;
      }
      off += m;
    }
    out[o] = off < 0 ? fill : src[off]!;
    for (let d = rank - 1; d >= 0; d--) {
      if (++idx[d]! < shape[d]!) break;
      idx[d] = 0;
    }
  }
  return { dtype: x.dtype, shape, data: out as unknown as TensorValue['data'] };
}

/** Mean over `axes`; keepDims keeps them as size 1. */
export function mean(x: FloatArray, axes: readonly number[], keepDims: boolean): FloatArray {
  const rank = x.shape.length;
  const reduced = new Set(axes.map((a) => (a < 0 ? a + rank : a)));
  const keptShape = x.shape.map((d, i) => (reduced.has(i) ? 1 : d));
  const count = keptShape.reduce((a, b) => a * b, 1);
  const sums = new Float64Array(count);
  const outStrides = stridesOf(keptShape);
  const idx = new Array<number>(rank).fill(0);
  for (let i = 0; i < x.data.length; i++) {
    let o = 0;
    for (let d = 0; d < rank; d++) if (!reduced.has(d)) o += idx[d]! * outStrides[d]!;
    sums[o]! += x.data[i]!;
    for (let d = rank - 1; d >= 0; d--) {
      if (++idx[d]! < x.shape[d]!) break;
      idx[d] = 0;
    }
  }
  const n = x.data.length / count;
  for (let o = 0; o < count; o++) sums[o]! /= n;
  const shape = keepDims ? keptShape : x.shape.filter((_, i) => !reduced.has(i));
  return { shape, data: sums };
}

export type ReduceKind = 'mean' | 'sum' | 'max' | 'min';

/** Reduction over `axes` (mean, sum, max or min); keepDims keeps them as size 1. */
export function reduce(x: FloatArray, axes: readonly number[], keepDims: boolean, kind: ReduceKind): FloatArray {
  if (kind === 'mean') return mean(x, axes, keepDims);
  const rank = x.shape.length;
  const reduced = new Set(axes.map((a) => (a < 0 ? a + rank : a)));
  const keptShape = x.shape.map((d, i) => (reduced.has(i) ? 1 : d));
  const count = keptShape.reduce((a, b) => a * b, 1);
  const acc = new Float64Array(count).fill(kind === 'sum' ? 0 : kind === 'max' ? -Infinity : Infinity);
  const outStrides = stridesOf(keptShape);
  const idx = new Array<number>(rank).fill(0);
  for (let i = 0; i < x.data.length; i++) {
    let o = 0;
    for (let d = 0; d < rank; d++) if (!reduced.has(d)) o += idx[d]! * outStrides[d]!;
    const v = x.data[i]!;
    if (kind === 'sum') acc[o]! += v;
    else if (kind === 'max' ? v > acc[o]! : v < acc[o]!) acc[o] = v;
    for (let d = rank - 1; d >= 0; d--) {
      if (++idx[d]! < x.shape[d]!) break;
      idx[d] = 0;
    }
  }
  const shape = keepDims ? keptShape : x.shape.filter((_, i) => !reduced.has(i));
  return { shape, data: acc };
}
