/**
 * RELU, RELU6 and LEAKY_RELU on int8 (LEAKY_RELU also int16), as TFLite Micro's reference
 * kernels compute them (activations.cc / activations_common.cc, leaky_relu.cc).
 *
 * RELU (int8): y = clamp(zpOut + mbqm(x - zpIn, M), max(-128, zpOut), 127) with
 *   M = quantizeMultiplier(double(sIn) / double(sOut)).
 * RELU6 (int8): y = clamp(x, zpIn, six), six = clamp(round(float(6 / sIn)) + zpIn) to int8:
 *   TFLM clamps in the input's quantization and does not read the output's parameters.
 * LEAKY_RELU (int8, int16): centred c = x - zpIn; y = zpOut + mbqm(c, M1) for c >= 0, else
 *   zpOut + mbqm(c, Ma), clamped to the dtype, with M1 = double(sIn) / double(sOut) and
 *   Ma = double(sIn) * double(alpha) / double(sOut).
 * (mbqm = multiplyByQuantizedMultiplier, double rounding.)
 */
import type { Op } from '../../ir/graph.ts';
import { multiplyByQuantizedMultiplier, quantizeMultiplier, roundHalfAwayFromZero } from '../fixedpoint.ts';
import { dtypeRange, numberAttr, scaleOf, zeroPointOf, type PrepareContext } from './common.ts';
import { unaryTensors, type ElementFn } from './unary.ts';

const f32 = Math.fround;

export function reluElement(op: Op, ctx: PrepareContext): ElementFn {
  const { x, y } = unaryTensors(op, ctx, 'int8');
  const m = quantizeMultiplier(f32(scaleOf(op, x)) / f32(scaleOf(op, y)));
  const zpIn = zeroPointOf(x);
  const zpOut = zeroPointOf(y);
  // act_min = zpOut + round(0 / scale): the output zero point, within the int8 range.
  const lo = Math.max(-128, zpOut);
  return (q) => {
    const v = zpOut + multiplyByQuantizedMultiplier(q - zpIn, m.multiplier, m.shift);
    return v < lo ? lo : v > 127 ? 127 : v;
  };
}

export function relu6Element(op: Op, ctx: PrepareContext): ElementFn {
  const { x } = unaryTensors(op, ctx, 'int8');
  const zp = zeroPointOf(x);
  const six = Math.min(127, Math.max(-128, roundHalfAwayFromZero(f32(6 / scaleOf(op, x))) + zp));
  return (q) => (q > six ? six : q < zp ? zp : q);
}

export function leakyReluElement(op: Op, ctx: PrepareContext): ElementFn {
  const { x, y } = unaryTensors(op, ctx, 'int8', 'int16');
  const sIn = scaleOf(op, x);
  const sOut = scaleOf(op, y);
  const alpha = f32(numberAttr(op, 'alpha', 0.2));
  const identity = quantizeMultiplier(sIn / sOut);
  const negative = quantizeMultiplier((sIn * alpha) / sOut);
  const zpIn = zeroPointOf(x);
  const zpOut = zeroPointOf(y);
  const { min, max } = dtypeRange(y.dtype);
  return (q) => {
    const c = q - zpIn;
    const m = c >= 0 ? identity : negative;
    const v = zpOut + multiplyByQuantizedMultiplier(c, m.multiplier, m.shift);
    return v < min ? min : v > max ? max : v;
  };
}
