/**
 * LOGISTIC and TANH on int8 (TFLite Micro reference integer Logistic / Tanh, gemmlowp fixed
 * point).
 *
 * Prepare: the input (x - zpIn) is mapped to Q4.27 by a multiplier built from
 * frexp(inScale * 2^27) (mantissa rounded to Q0.31, no 2^31 fix-up, as TFLM does);
 * radius = calculateInputRadius(4, shift): inputs at or beyond +/-radius saturate directly.
 * LOGISTIC: out = clamp(roundingDivideByPOT(logistic_Q0, 23) - 128) (output zp must be -128,
 *   scale 1/256).
 * TANH: out = clamp(roundingDivideByPOT(tanh_Q0, 24)) (output zp 0, scale 1/128).
 */
import type { Op } from '../../ir/graph.ts';
import { logisticFixed, multiplyByQuantizedMultiplier, roundingDivideByPOT, tanhFixed } from '../fixedpoint.ts';
import { SIGMOID_INPUT_INTEGER_BITS as INPUT_INTEGER_BITS, sigmoidFamilyParams } from './params.ts';
import {
  elements,
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

function prepareSigmoidFamily(op: Op, ctx: PrepareContext, kind: 'logistic' | 'tanh'): EvalFn {
  const x = input(op, ctx, 0);
  const y = output(op, ctx);
  requireDtype(op, x, 'int8');
  requireDtype(op, y, 'int8');
  if (kind === 'logistic' && zeroPointOf(y) !== -128) throw unsupported(op, `has output zero point ${zeroPointOf(y)} (TFLite requires -128)`);
  const p = sigmoidFamilyParams(scaleOf(op, x));
  const zpIn = zeroPointOf(x);
  const n = elements(y);
  const xi = x.index;
  const yi = y.index;
  const f = kind === 'logistic' ? logisticFixed : tanhFixed;
  const outShift = kind === 'logistic' ? 31 - 8 : 31 - 7;
  const outOffset = kind === 'logistic' ? -128 : 0;

  return (values) => {
    const inp = read(values, xi) as Int8Array;
    const out = read(values, yi) as Int8Array;
    for (let k = 0; k < n; k++) {
      const v = inp[k]! - zpIn;
      if (v <= -p.radius) out[k] = -128;
      else if (v >= p.radius) out[k] = 127;
      else {
        const q4 = multiplyByQuantizedMultiplier(v, p.multiplier, p.shift);
        const r = roundingDivideByPOT(f(q4, INPUT_INTEGER_BITS), outShift) + outOffset;
        out[k] = r < -128 ? -128 : r > 127 ? 127 : r;
      }
    }
  };
}

export function prepareLogistic(op: Op, ctx: PrepareContext): EvalFn {
  return prepareSigmoidFamily(op, ctx, 'logistic');
}

export function prepareTanh(op: Op, ctx: PrepareContext): EvalFn {
  return prepareSigmoidFamily(op, ctx, 'tanh');
}
