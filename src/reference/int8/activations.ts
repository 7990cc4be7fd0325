/**
 * LOGISTIC and TANH on int8 and int16 (TFLite Micro reference integer Logistic / Tanh).
 *
 * int8 (gemmlowp fixed point): the input (x - zpIn) is mapped to Q4.27 by a multiplier built
 * from frexp(inScale * 2^27) (mantissa rounded to Q0.31, no 2^31 fix-up, as TFLM does);
 * radius = calculateInputRadius(4, shift): inputs at or beyond +/-radius saturate directly.
 *   LOGISTIC: out = clamp(roundingDivideByPOT(logistic_Q0, 23) - 128) (output zp must be -128,
 *   scale 1/256).
 *   TANH: out = clamp(roundingDivideByPOT(tanh_Q0, 24)) (output zp 0, scale 1/128).
 * int16 (table interpolation, sigmoid-s16.ts): zero points must be 0 and the output scale
 *   2^-15; the input scaling comes from sigmoidS16Params.
 */
import type { Op } from '../../ir/graph.ts';
import { logisticFixed, multiplyByQuantizedMultiplier, roundingDivideByPOT, tanhFixed } from '../fixedpoint.ts';
import { SIGMOID_INPUT_INTEGER_BITS as INPUT_INTEGER_BITS, sigmoidFamilyParams, sigmoidS16Params } from './params.ts';
import { scaleOf, unsupported, zeroPointOf, type PrepareContext } from './common.ts';
import { logisticS16, tanhS16 } from './sigmoid-s16.ts';
import { unaryTensors, type ElementFn } from './unary.ts';

function sigmoidFamilyElement(op: Op, ctx: PrepareContext, kind: 'logistic' | 'tanh'): ElementFn {
  const { x, y } = unaryTensors(op, ctx, 'int8', 'int16');
  if (x.dtype === 'int16') {
    if (zeroPointOf(x) !== 0 || zeroPointOf(y) !== 0) throw unsupported(op, 'has a non-zero zero point (TFLite requires 0 for int16)');
    const p = sigmoidS16Params(scaleOf(op, x), scaleOf(op, y), kind);
    if (!p.outputOk) throw unsupported(op, `has output scale ${scaleOf(op, y)} (TFLite requires 2^-15 for int16)`);
    const f = kind === 'logistic' ? logisticS16 : tanhS16;
    return (q) => f(q, p.multiplier, p.shift);
  }
  if (kind === 'logistic' && zeroPointOf(y) !== -128) throw unsupported(op, `has output zero point ${zeroPointOf(y)} (TFLite requires -128)`);
  const p = sigmoidFamilyParams(scaleOf(op, x));
  const zpIn = zeroPointOf(x);
  const f = kind === 'logistic' ? logisticFixed : tanhFixed;
  const outShift = kind === 'logistic' ? 31 - 8 : 31 - 7;
  const outOffset = kind === 'logistic' ? -128 : 0;
  return (q) => {
    const v = q - zpIn;
    if (v <= -p.radius) return -128;
    if (v >= p.radius) return 127;
    const q4 = multiplyByQuantizedMultiplier(v, p.multiplier, p.shift);
    const r = roundingDivideByPOT(f(q4, INPUT_INTEGER_BITS), outShift) + outOffset;
    return r < -128 ? -128 : r > 127 ? 127 : r;
  };
}

export function logisticElement(op: Op, ctx: PrepareContext): ElementFn {
  return sigmoidFamilyElement(op, ctx, 'logistic');
}

export function tanhElement(op: Op, ctx: PrepareContext): ElementFn {
  return sigmoidFamilyElement(op, ctx, 'tanh');
}
