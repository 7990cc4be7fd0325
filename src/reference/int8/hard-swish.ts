/**
 * HARD_SWISH on int8, as TFLite Micro's reference kernel computes it (hard_swish.cc,
 * reference_ops::HardSwish): x * relu6(x + 3) / 6 in 16-bit fixed point.
 *
 * Prepare (float32 then double, as the C++): hires = sIn / 128;
 *   output multiplier  = quantizeMultiplier(double(float(hires / sOut))), reduced to Q0.15
 *     (its exponent must be <= 0);
 *   reluish multiplier = quantizeMultiplier(double(float(hires / (3 / 32768)))), reduced to Q0.15.
 * Per element (int16 arithmetic): v = (x - zpIn) * 128;
 *   pre = srdhm16(v, outMult);
 *   r = v, saturating-left-shifted by (reluishExp - 1) when reluishExp > 0, then srdhm16 by the
 *   reluish multiplier, then one more saturating left shift (reluishExp > 0) or a rounding right
 *   shift by -reluishExp (reluishExp < 0); r = (r + 32768) >> 1 (now [0, 1] in Q0.15);
 *   y = clamp(rdbypot(dhm16(r, pre), -outExp) + zpOut) to int8,
 * where srdhm16 rounds (gemmlowp SaturatingRoundingDoublingHighMul on int16) and dhm16
 * truncates toward zero (SaturatingDoublingHighMul).
 */
import type { Op } from '../../ir/graph.ts';
import { quantizeMultiplier, roundingDivideByPOT } from '../fixedpoint.ts';
import { scaleOf, unsupported, zeroPointOf, type PrepareContext } from './common.ts';
import { unaryTensors, type ElementFn } from './unary.ts';

const f32 = Math.fround;
const I16_MIN = -32768;
const I16_MAX = 32767;

/** Wraps to int16 as a C cast does. */
function wrap16(v: number): number {
  return (v << 16) >> 16;
}

/** TFLite DownScaleInt32ToInt16Multiplier: a Q0.31 multiplier rounded to Q0.15. */
export function downScaleInt32ToInt16Multiplier(m: number): number {
  if (m >= 2147483647 - 32768) return I16_MAX; // would round past the int16 range
  return (m + 32768) >> 16;
}

/** gemmlowp SaturatingRoundingDoublingHighMul on int16: round(a * b / 2^15), ties away from zero. */
export function srdhm16(a: number, b: number): number {
  if (a === I16_MIN && b === I16_MIN) return I16_MAX;
  const ab = a * b;
  const nudge = ab >= 0 ? 1 << 14 : 1 - (1 << 14);
  return wrap16(Math.trunc((ab + nudge) / 32768));
}

/** SaturatingDoublingHighMul on int16: a * b / 2^15 truncated toward zero. */
function dhm16(a: number, b: number): number {
  if (a === I16_MIN && b === I16_MIN) return I16_MAX;
  return wrap16(Math.trunc((a * b) / 32768));
}

function saturatingLeftShift16(v: number, amount: number): number {
  const r = v * 2 ** amount;
  return r > I16_MAX ? I16_MAX : r < I16_MIN ? I16_MIN : r;
}

export interface HardSwishParams {
  outputMultiplier: number;
  outputExponent: number;
  reluishMultiplier: number;
  reluishExponent: number;
}

/** HardSwishPrepare's constants for an int8 input scale and output scale. */
export function hardSwishParams(inScale: number, outScale: number): HardSwishParams {
  const hires = f32(f32(1 / 128) * f32(inScale));
  const out = quantizeMultiplier(f32(hires / f32(outScale)));
  const reluish = quantizeMultiplier(f32(hires / f32(3 / 32768)));
  return {
    outputMultiplier: downScaleInt32ToInt16Multiplier(out.multiplier),
    outputExponent: out.shift,
    reluishMultiplier: downScaleInt32ToInt16Multiplier(reluish.multiplier),
    reluishExponent: reluish.shift,
  };
}

export function hardSwishElement(op: Op, ctx: PrepareContext): ElementFn {
  const { x, y } = unaryTensors(op, ctx, 'int8');
  const p = hardSwishParams(scaleOf(op, x), scaleOf(op, y));
  if (p.outputExponent > 0) throw unsupported(op, 'has an output scale below input scale / 128 (TFLite requires the output multiplier to be at most 1)');
  const zpIn = zeroPointOf(x);
  const zpOut = zeroPointOf(y);
  return (q) => {
    const v = wrap16((q - zpIn) * 128);
    const pre = srdhm16(v, p.outputMultiplier);
    let r = v;
    if (p.reluishExponent > 0) r = saturatingLeftShift16(r, p.reluishExponent - 1);
    r = srdhm16(r, p.reluishMultiplier);
    if (p.reluishExponent > 0) r = saturatingLeftShift16(r, 1);
    if (p.reluishExponent < 0) r = roundingDivideByPOT(r, -p.reluishExponent);
    r = (r + 32768) >> 1;
    const out = wrap16(roundingDivideByPOT(dhm16(r, pre), -p.outputExponent) + zpOut);
    return out > 127 ? 127 : out < -128 ? -128 : out;
  };
}
