/**
 * ADD and MUL on int8 (or int16) tensors with numpy-style broadcasting (TFLite Micro reference
 * integer Add / Mul).
 *
 * ADD: both inputs are brought to a common scale at higher precision. With
 * twiceMax = 2 * max(s1, s2) (float compare, double product) and leftShift = 20 (15 for int16):
 *   M1 = s1 / twiceMax, M2 = s2 / twiceMax, Mout = twiceMax / (2^leftShift * sOut)
 *   (each quantizeMultiplierSmallerThanOneExp), then per element
 *   a = mbqm((x1 - zp1) << leftShift, M1); b = mbqm((x2 - zp2) << leftShift, M2);
 *   y = mbqm(a + b, Mout) + zpOut, clamped to the fused activation range.
 * MUL: M = s1 * s2 / sOut (double); y = mbqm((x1 - zp1) * (x2 - zp2), M) + zpOut, clamped.
 * (mbqm = multiplyByQuantizedMultiplier, double rounding.)
 */
import type { DType, Op } from '../../ir/graph.ts';
import {
  activationRangeQuantized,
  multiplyByQuantizedMultiplier,
  multiplyByQuantizedMultiplierSmallerThanOneExp,
} from '../fixedpoint.ts';
import { addParams, mulMultiplier } from './params.ts';
import {
  dtypeRange,
  elements,
  fusedActivation,
  input,
  output,
  read,
  requireDtype,
  scaleOf,
  unsupported,
  zeroPointOf,
  type EvalFn,
  type PrepareContext,
} from './common.ts';

/**
 * For each output element (row-major), the flat index into an input of shape `inShape`
 * broadcast (numpy rules, leading dims added) to `outShape`.
 */
export function broadcastIndex(op: Op, inShape: number[], outShape: number[]): Int32Array | undefined {
  const n = outShape.reduce((a, b) => a * b, 1);
  const same = inShape.length === outShape.length && inShape.every((d, i) => d === outShape[i]);
  if (same || inShape.reduce((a, b) => a * b, 1) === n) return undefined; // direct indexing
  const rank = outShape.length;
  const padded = [...Array(Math.max(0, rank - inShape.length)).fill(1), ...inShape];
  const strides = new Array<number>(rank).fill(0);
  let s = 1;
  for (let i = rank - 1; i >= 0; i--) {
    const d = padded[i]!;
    if (d !== 1 && d !== outShape[i]) throw unsupported(op, `cannot broadcast [${inShape}] to [${outShape}]`);
    strides[i] = d === 1 ? 0 : s;
    s *= d;
  }
  const map = new Int32Array(n);
  const idx = new Array<number>(rank).fill(0);
  for (let k = 0; k < n; k++) {
    let off = 0;
    for (let i = 0; i < rank; i++) off += idx[i]! * strides[i]!;
    map[k] = off;
    for (let i = rank - 1; i >= 0; i--) {
      if (++idx[i]! < outShape[i]!) break;
      idx[i] = 0;
    }
  }
  return map;
}

export type Combine = (a: number, b: number) => number;

/**
 * The Eval step of a binary element-wise op: both inputs broadcast to the output, `combine`
 * built from the fused-activation clamp range (the dtype range when there is none).
 */
export function prepareBinary(
  op: Op,
  ctx: PrepareContext,
  makeCombine: (clampMin: number, clampMax: number) => Combine,
  dtypes: DType[] = ['int8', 'int16'],
): EvalFn {
  const x1 = input(op, ctx, 0);
  const x2 = input(op, ctx, 1);
  const y = output(op, ctx);
  requireDtype(op, x1, ...dtypes);
  requireDtype(op, x2, x1.dtype);
  requireDtype(op, y, x1.dtype);
  const range = dtypeRange(y.dtype);
  const act = activationRangeQuantized(fusedActivation(op), scaleOf(op, y), zeroPointOf(y), range.min, range.max);
  const combine = makeCombine(act.min, act.max);
  const map1 = broadcastIndex(op, x1.shape, y.shape);
  const map2 = broadcastIndex(op, x2.shape, y.shape);
  const n = elements(y);
  const i1 = x1.index;
  const i2 = x2.index;
  const yi = y.index;
  // Constant operands (e.g. a bias added with ADD) are read from the graph, not the store.
  const c1 = x1.data !== undefined && !x1.variable ? ctx.constant(i1) : undefined;
  const c2 = x2.data !== undefined && !x2.variable ? ctx.constant(i2) : undefined;

  return (values) => {
    const a = (c1 ?? read(values, i1)) as Int8Array | Int16Array;
    const b = (c2 ?? read(values, i2)) as Int8Array | Int16Array;
    const out = read(values, yi) as Int8Array | Int16Array;
    for (let k = 0; k < n; k++) {
      out[k] = combine(a[map1 === undefined ? k : map1[k]!]!, b[map2 === undefined ? k : map2[k]!]!);
    }
  };
}

export function prepareAdd(op: Op, ctx: PrepareContext): EvalFn {
  const x1 = input(op, ctx, 0);
  const x2 = input(op, ctx, 1);
  const y = output(op, ctx);
  const p = addParams(scaleOf(op, x1), scaleOf(op, x2), scaleOf(op, y), y.dtype === 'int16' ? 'int16' : 'int8');
  const { input1: m1, input2: m2, output: mOut, leftShift } = p;
  const off1 = -zeroPointOf(x1);
  const off2 = -zeroPointOf(x2);
  const offOut = zeroPointOf(y);
  const scaleUp = 2 ** leftShift;
  return prepareBinary(op, ctx, (lo, hi) => (a, b) => {
    const sa = multiplyByQuantizedMultiplierSmallerThanOneExp(((a + off1) * scaleUp) | 0, m1.multiplier, m1.shift);
    const sb = multiplyByQuantizedMultiplierSmallerThanOneExp(((b + off2) * scaleUp) | 0, m2.multiplier, m2.shift);
    const v = multiplyByQuantizedMultiplierSmallerThanOneExp((sa + sb) | 0, mOut.multiplier, mOut.shift) + offOut;
    return v < lo ? lo : v > hi ? hi : v;
  });
}

export function prepareMul(op: Op, ctx: PrepareContext): EvalFn {
  const x1 = input(op, ctx, 0);
  const x2 = input(op, ctx, 1);
  const y = output(op, ctx);
  const m = mulMultiplier(scaleOf(op, x1), scaleOf(op, x2), scaleOf(op, y));
  const off1 = -zeroPointOf(x1);
  const off2 = -zeroPointOf(x2);
  const offOut = zeroPointOf(y);
  return prepareBinary(op, ctx, (lo, hi) => (a, b) => {
    const v = multiplyByQuantizedMultiplier(((a + off1) * (b + off2)) | 0, m.multiplier, m.shift) + offOut;
    return v < lo ? lo : v > hi ? hi : v;
  });
}
