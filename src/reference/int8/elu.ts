/**
 * ELU on int8, as TFLite Micro's reference kernel computes it (elu.cc): a 256-entry table built
 * at Prepare in float32, y = clamp(round(elu(sIn * (x - zpIn)) * (1 / sOut)) + zpOut), with
 * elu(v) = v < 0 ? expf(v) - 1 : v. Every step is a float32 operation, as in the C++.
 */
import type { Op } from '../../ir/graph.ts';
import { roundHalfAwayFromZero } from '../fixedpoint.ts';
import { scaleOf, zeroPointOf, type PrepareContext } from './common.ts';
import { unaryTensors, type ElementFn } from './unary.ts';

const f32 = Math.fround;

export function eluElement(op: Op, ctx: PrepareContext): ElementFn {
  const { x, y } = unaryTensors(op, ctx, 'int8');
  const sIn = scaleOf(op, x);
  const inverse = f32(1 / scaleOf(op, y));
  const zpIn = zeroPointOf(x);
  const zpOut = zeroPointOf(y);
  const table = new Int8Array(256);
  for (let q = -128; q <= 127; q++) {
    const v = f32(sIn * (q - zpIn));
    const e = v < 0 ? f32(f32(Math.exp(v)) - 1) : v;
    const r = roundHalfAwayFromZero(f32(e * inverse)) + zpOut;
    table[q & 0xff] = r > 127 ? 127 : r < -128 ? -128 : r;
  }
  return (q) => table[q & 0xff]!;
}
