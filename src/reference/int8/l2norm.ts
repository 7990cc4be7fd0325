/**
 * L2_NORMALIZATION on int8 over the last axis, as TFLite Micro's reference kernel computes it
 * (l2norm.cc, reference_integer_ops::L2Normalization): per row, acc = sum (x - zpIn)^2 in int32,
 * (m, s) = getInvSqrtQuantizedMultiplierExp(acc) (1 / sqrt(acc) by Newton-Raphson in Q3), then
 * y = clamp(mbqm(x - zpIn, m, s + 7)) to int8. The output is in units of 1/128 with zero point
 * 0: TFLM writes that without reading the output's parameters, so tinyml requires the output
 * to declare exactly them (as TFLite's converter always does).
 */
import type { Op } from '../../ir/graph.ts';
import {
  multiplyByQuantizedMultiplier,
  roundingDivideByPOT,
  saturatingRoundingDoublingHighMul as srdhm,
  saturatingRoundingMultiplyByPOT,
} from '../fixedpoint.ts';
import { elements, fusedActivation, read, scaleOf, unsupported, zeroPointOf, type EvalFn, type PrepareContext } from './common.ts';
import { unaryTensors } from './unary.ts';

/**
 * TFLite GetInvSqrtQuantizedMultiplierExp with reverse_shift -1: a multiplier/shift pair for
 * 1 / sqrt(input), input an int32 >= 0 (0 and 1 give INT32_MAX, shift 0).
 */
export function invSqrtMultiplier(input: number): { multiplier: number; shift: number } {
  if (input <= 1) return { multiplier: 2147483647, shift: 0 };
  let x = input;
  let shift = 11;
  while (x >= 1 << 29) {
    x = Math.floor(x / 4);
    shift++;
  }
  const leftShiftBitPairs = Math.floor((Math.clz32(x) - 1) / 2) - 1;
  shift -= leftShiftBitPairs;
  x = (x << (2 * leftShiftBitPairs)) | 0;
  // Q3 fixed point: F3 * F3 is a Q6 srdhm, Rescale<3> a saturating left shift.
  const input3 = x >> 1;
  const halfInput = roundingDivideByPOT(input3, 1);
  const halfThree = (1 << 28) + (1 << 27); // 1.5 in Q3
  let r = 1 << 28; // 1.0 in Q3
  for (let i = 0; i < 5; i++) {
    const r3 = saturatingRoundingMultiplyByPOT(srdhm(srdhm(r, r), r), 6); // Q9 -> Q3
    r = saturatingRoundingMultiplyByPOT((srdhm(halfThree, r) - srdhm(halfInput, r3)) | 0, 3); // Q6 -> Q3
  }
  let multiplier = srdhm(r, 1518500250); // * sqrt(2) / 2 (Q0)
  if (shift < 0) {
    multiplier = (multiplier << -shift) | 0;
    shift = 0;
  }
  return { multiplier, shift: -shift };
}

export function prepareL2Normalization(op: Op, ctx: PrepareContext): EvalFn {
  const { x, y } = unaryTensors(op, ctx, 'int8');
  if (x.shape.length > 4) throw unsupported(op, `has rank ${x.shape.length} (TFLite Micro takes at most 4)`);
  if (fusedActivation(op) !== 'NONE') throw unsupported(op, `has the fused activation ${fusedActivation(op)} (TFLite Micro takes none)`);
  if (scaleOf(op, y) !== 1 / 128 || zeroPointOf(y) !== 0) {
    throw unsupported(op, `has output scale ${scaleOf(op, y)} and zero point ${zeroPointOf(y)}; TFLite Micro writes L2_NORMALIZATION in units of 1/128 with zero point 0, so the output must declare those`);
  }
  const depth = x.shape[x.shape.length - 1] ?? 1;
  const rows = depth === 0 ? 0 : elements(x) / depth;
  const zp = zeroPointOf(x);
  const xi = x.index;
  const yi = y.index;
  return (values) => {
    const inp = read(values, xi) as Int8Array;
    const out = read(values, yi) as Int8Array;
    for (let r = 0; r < rows; r++) {
      const base = r * depth;
      let acc = 0;
      for (let k = 0; k < depth; k++) {
        const c = inp[base + k]! - zp;
        acc = (acc + c * c) | 0;
      }
      const m = invSqrtMultiplier(acc);
      for (let k = 0; k < depth; k++) {
        const v = multiplyByQuantizedMultiplier(inp[base + k]! - zp, m.multiplier, m.shift + 7);
        out[base + k] = v < -128 ? -128 : v > 127 ? 127 : v;
      }
    }
  };
}
