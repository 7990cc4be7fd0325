/**
 * Binary element-wise ops with numpy broadcasting, as TFLite Micro's reference kernels compute
 * them (mbqm = multiplyByQuantizedMultiplier, double rounding; centred c = q - zp):
 *
 * SUB (int8, int16; sub.cc): the ADD scheme with a difference, multipliers from subParams:
 *   y = clamp(mbqm(mbqm(c1 << L, M1) - mbqm(c2 << L, M2), Mout) + zpOut), L = 20 (int16: 15),
 *   clamped to the fused activation range.
 * MAXIMUM / MINIMUM (int8, int16; maximum_minimum.cc): the larger / smaller raw value; TFLM
 *   does not requantize, so the inputs and the output must share scale and zero point.
 * SQUARED_DIFFERENCE (int8; squared_difference.cc): d = mbqm(c1 << 7, M1) - mbqm(c2 << 7, M2),
 *   y = clamp(mbqm(d * d, Mout) + zpOut) to int8.
 * PRELU (int8; prelu.cc): y = clamp(zpOut + (c >= 0 ? mbqm(c, M1) : mbqm(c * (a - zpA), M2))),
 *   M1 = double(sIn) / double(sOut), M2 = double(sIn) * double(sA) / double(sOut); the alpha
 *   tensor broadcasts against the input.
 */
import type { Op } from '../../ir/graph.ts';
import { multiplyByQuantizedMultiplier, multiplyByQuantizedMultiplierSmallerThanOneExp as mbqmSmall, quantizeMultiplier } from '../fixedpoint.ts';
import { input, output, scaleOf, unsupported, zeroPointOf, type EvalFn, type PrepareContext } from './common.ts';
import { prepareBinary } from './elementwise.ts';
import { squaredDifferenceParams, subParams } from './params.ts';

export function prepareSub(op: Op, ctx: PrepareContext): EvalFn {
  const x1 = input(op, ctx, 0);
  const x2 = input(op, ctx, 1);
  const y = output(op, ctx);
  const p = subParams(scaleOf(op, x1), scaleOf(op, x2), scaleOf(op, y), y.dtype === 'int16' ? 'int16' : 'int8');
  const off1 = -zeroPointOf(x1);
  const off2 = -zeroPointOf(x2);
  const offOut = zeroPointOf(y);
  const up = 2 ** p.leftShift;
  return prepareBinary(op, ctx, (lo, hi) => (a, b) => {
    const sa = mbqmSmall(((a + off1) * up) | 0, p.input1.multiplier, p.input1.shift);
    const sb = mbqmSmall(((b + off2) * up) | 0, p.input2.multiplier, p.input2.shift);
    const v = mbqmSmall((sa - sb) | 0, p.output.multiplier, p.output.shift) + offOut;
    return v < lo ? lo : v > hi ? hi : v;
  });
}

function prepareMaxMin(op: Op, ctx: PrepareContext, pick: (a: number, b: number) => number): EvalFn {
  const y = output(op, ctx);
  for (const i of [0, 1]) {
    const x = input(op, ctx, i);
    if (scaleOf(op, x) !== scaleOf(op, y) || zeroPointOf(x) !== zeroPointOf(y)) {
      throw unsupported(op, `input ${i} '${x.name}' and the output have different quantization (TFLite Micro compares raw values, so they must share scale and zero point)`);
    }
  }
  return prepareBinary(op, ctx, () => pick);
}

export function prepareMaximum(op: Op, ctx: PrepareContext): EvalFn {
  return prepareMaxMin(op, ctx, (a, b) => (a > b ? a : b));
}

export function prepareMinimum(op: Op, ctx: PrepareContext): EvalFn {
  return prepareMaxMin(op, ctx, (a, b) => (a < b ? a : b));
}

export function prepareSquaredDifference(op: Op, ctx: PrepareContext): EvalFn {
  const x1 = input(op, ctx, 0);
  const x2 = input(op, ctx, 1);
  const y = output(op, ctx);
  const p = squaredDifferenceParams(scaleOf(op, x1), scaleOf(op, x2), scaleOf(op, y));
  const off1 = -zeroPointOf(x1);
  const off2 = -zeroPointOf(x2);
  const offOut = zeroPointOf(y);
  const up = 2 ** p.leftShift;
  return prepareBinary(
    op,
    ctx,
    () => (a, b) => {
      const d = mbqmSmall((a + off1) * up, p.input1.multiplier, p.input1.shift) - mbqmSmall((b + off2) * up, p.input2.multiplier, p.input2.shift);
      const v = mbqmSmall(Math.imul(d, d), p.output.multiplier, p.output.shift) + offOut;
      return v < -128 ? -128 : v > 127 ? 127 : v;
    },
    ['int8'],
  );
}

export function preparePrelu(op: Op, ctx: PrepareContext): EvalFn {
  const x = input(op, ctx, 0);
  const alpha = input(op, ctx, 1);
  const y = output(op, ctx);
  const sIn = Math.fround(scaleOf(op, x));
  const sOut = Math.fround(scaleOf(op, y));
  const m1 = quantizeMultiplier(sIn / sOut);
  const m2 = quantizeMultiplier((sIn * Math.fround(scaleOf(op, alpha))) / sOut);
  const zpIn = zeroPointOf(x);
  const zpA = zeroPointOf(alpha);
  const zpOut = zeroPointOf(y);
  return prepareBinary(
    op,
    ctx,
    () => (q, a) => {
      const c = q - zpIn;
      const v = zpOut + (c >= 0 ? multiplyByQuantizedMultiplier(c, m1.multiplier, m1.shift) : multiplyByQuantizedMultiplier(c * (a - zpA), m2.multiplier, m2.shift));
      return v < -128 ? -128 : v > 127 ? 127 : v;
    },
    ['int8'],
  );
}
