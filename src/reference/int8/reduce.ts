/**
 * Reductions on quantized tensors (TFLite Micro reduce.cc / reduce_common.cc with the reference
 * reduce.h), int8 and int16:
 *
 * - MEAN, input and output with equal scale and zero point: the int32 sum of the reduced
 *   elements divided by their count with C's truncating division.
 * - MEAN otherwise, and SUM: QuantizedMeanOrSum. M, s = QuantizeMultiplier(double(sIn) /
 *   double(sOut)); for MEAN, 1/count is folded in: k = min(floor(log2 count), 32, 31 + s),
 *   M = int32((int64(M) << k) / count), s -= k. Each output is
 *   clamp(MultiplyByQuantizedMultiplier(int32(sum - zpIn * count), M, s) + zpOut).
 * - REDUCE_MAX: the largest element (from the dtype minimum); TFLM requires equal input and
 *   output quantization.
 * - ARG_MAX / ARG_MIN (arg_min_max.cc): the index of the first largest (smallest) element along
 *   the axis, written as int32 (or int64).
 *
 * Sums are int32 and wrap as TFLM's int32 temp_sum does.
 */
import type { Op } from '../../ir/graph.ts';
import { countLeadingZeros32, multiplyByQuantizedMultiplier, quantizeMultiplier, type QuantizedMultiplier } from '../fixedpoint.ts';
import { reducePlan, viewOffsets } from '../movement.ts';
import { argSpec, reduceSpec } from '../shape-params.ts';
import { dtypeRange, read, requireDtype, scaleOf, unsupported, zeroPointOf, type EvalFn, type PrepareContext } from './common.ts';
import { failFor, source } from './movement.ts';

/** The requantization of MEAN (1/count folded in) or SUM, as TFLM's QuantizedMeanOrSum computes it. */
export function meanOrSumMultiplier(inScale: number, outScale: number, count: number, isSum: boolean): QuantizedMultiplier {
  const base = quantizeMultiplier(inScale / outScale);
  if (isSum || count <= 0) return base;
  let shift = 31 - countLeadingZeros32(count);
  shift = Math.min(shift, 32, 31 + base.shift);
  const multiplier = Number((BigInt(base.multiplier) << BigInt(shift)) / BigInt(count)) | 0;
  return { multiplier, shift: base.shift - shift };
}

/** MEAN, SUM and REDUCE_MAX. */
export function prepareReduce(op: Op, ctx: PrepareContext): EvalFn {
  const { x, y, axes, count } = reduceSpec(ctx.graph, op, failFor(op));
  requireDtype(op, x, 'int8', 'int16');
  if (y.dtype !== x.dtype) throw unsupported(op, `changes dtype ${x.dtype} to ${y.dtype}`);
  const plan = reducePlan(x.shape, axes);
  const outBase = viewOffsets(plan.kept);
  const inner = viewOffsets(plan.reduced);
  const zpIn = zeroPointOf(x);
  const zpOut = zeroPointOf(y);
  const sameQuant = scaleOf(op, x) === scaleOf(op, y) && zpIn === zpOut;
  const range = dtypeRange(y.dtype);
  const get = source(ctx, x);
  const yi = y.index;

  if (op.type === 'REDUCE_MAX') {
    if (!sameQuant) throw unsupported(op, 'has different input and output quantization (TFLite Micro requires them equal)');
    return (values) => {
      const src = get(values) as unknown as ArrayLike<number>;
      const out = read(values, yi);
      for (let o = 0; o < outBase.length; o++) {
        const b = outBase[o]!;
        let m = range.min;
        for (let k = 0; k < inner.length; k++) m = Math.max(m, src[b + inner[k]!]!);
        out[o] = m;
      }
    };
  }

  const isSum = op.type === 'SUM';
  const truncatingMean = !isSum && sameQuant;
  const q = meanOrSumMultiplier(scaleOf(op, x), scaleOf(op, y), count, isSum);
  return (values) => {
    const src = get(values) as unknown as ArrayLike<number>;
    const out = read(values, yi);
    for (let o = 0; o < outBase.length; o++) {
      const b = outBase[o]!;
      let sum = 0;
      for (let k = 0; k < inner.length; k++) sum = (sum + src[b + inner[k]!]!) | 0;
      if (count === 0) {
        out[o] = 0; // TFLM leaves the zeroed output of an empty reduction
      } else if (truncatingMean) {
        out[o] = Math.trunc(sum / count);
      } else {
        const v = multiplyByQuantizedMultiplier((sum - zpIn * count) | 0, q.multiplier, q.shift) + zpOut;
        out[o] = v < range.min ? range.min : v > range.max ? range.max : v;
      }
    }
  };
}

/** ARG_MAX and ARG_MIN. */
export function prepareArgMinMax(op: Op, ctx: PrepareContext): EvalFn {
  const { x, y, outer, axisSize, inner } = argSpec(ctx.graph, op, failFor(op));
  requireDtype(op, x, 'int8', 'uint8', 'int16', 'int32', 'float32');
  const isMax = op.type === 'ARG_MAX';
  const get = source(ctx, x);
  const yi = y.index;
  const big = y.dtype === 'int64';
  return (values) => {
    const src = get(values) as unknown as ArrayLike<number>;
    const out = read(values, yi);
    for (let o = 0; o < outer; o++) {
      for (let i = 0; i < inner; i++) {
        const base = o * axisSize * inner + i;
        let best = src[base]!;
        let at = 0;
        for (let k = 1; k < axisSize; k++) {
          const v = src[base + k * inner]!;
          if (isMax ? v > best : v < best) {
            best = v;
            at = k;
          }
        }
        out[o * inner + i] = big ? (BigInt(at) as never) : at;
      }
    }
  };
}
