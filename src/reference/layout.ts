/**
 * Layout conversion between what a user supplies (the source model's layout, e.g. NCHW for an
 * ONNX image model) and the IR's layout (NHWC), using GraphInput/GraphOutput.sourceLayout:
 * irShape[i] = sourceShape[perm[i]]. Shared by every engine, float or int8.
 */
import type { GraphInput, GraphOutput } from '../ir/graph.ts';
import type { TensorValue, TypedArray } from './tensor-value.ts';

/** A new zeroed typed array of the same kind as `like`. */
export function sameKind(like: TypedArray, length: number): TypedArray {
  const ctor = like.constructor as new (n: number) => TypedArray;
  return new ctor(length);
}

/** Row-major strides of a shape. */
export function stridesOf(shape: readonly number[]): number[] {
  const s = new Array<number>(shape.length);
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    s[i] = acc;
    acc *= shape[i]!;
  }
  return s;
}

/** out[i0..] = x[...] with out.shape[i] = x.shape[perm[i]] (numpy.transpose(x, perm)). */
export function transposeValue(x: TensorValue, perm: readonly number[]): TensorValue {
  const rank = x.shape.length;
  const outShape = perm.map((p) => x.shape[p]!);
  const inStrides = stridesOf(x.shape);
  const stepOf = perm.map((p) => inStrides[p]!);
  const out = sameKind(x.data, x.data.length);
  const idx = new Array<number>(rank).fill(0);
  let src = 0;
  const n = x.data.length;
  for (let o = 0; o < n; o++) {
    (out as unknown as unknown[])[o] = (x.data as unknown as unknown[])[src];
    // Advance the output index odometer and the matching source offset.
    for (let d = rank - 1; d >= 0; d--) {
      idx[d]!++;
      src += stepOf[d]!;
      if (idx[d]! < outShape[d]!) break;
      src -= stepOf[d]! * outShape[d]!;
      idx[d] = 0;
    }
  }
  return { dtype: x.dtype, shape: outShape, data: out };
}

export function inversePerm(perm: readonly number[]): number[] {
  const inv = new Array<number>(perm.length);
  perm.forEach((p, i) => (inv[p] = i));
  return inv;
}

/** A user-layout value for graph input `gi`, converted to the IR layout. */
export function inputToIr(value: TensorValue, gi: GraphInput): TensorValue {
  if (!gi.sourceLayout) return value;
  return transposeValue(value, gi.sourceLayout.perm);
}

/** An IR-layout output value, converted back to the layout the source model declares. */
export function outputFromIr(value: TensorValue, go: GraphOutput): TensorValue {
  if (!go.sourceLayout) return value;
  return transposeValue(value, inversePerm(go.sourceLayout.perm));
}

/** The shape a user supplies for input `gi` (the source layout), given the IR shape. */
export function userInputShape(irShape: readonly number[], gi: GraphInput): number[] {
  return gi.sourceLayout ? [...gi.sourceLayout.shape] : [...irShape];
}
