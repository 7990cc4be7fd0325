/**
 * SOFTMAX int16 -> int16 over the last axis (TFLite Micro reference SoftmaxInt16: two 513-entry
 * interpolated lookup tables, no gemmlowp fixed point).
 *
 * Quantization: input symmetric (zero point 0); output zero point 0, scale 1/32768 (checked as
 * TFLM does, within 0.1%). Prepare: the input difference (x - rowMax) is scaled so that
 * [-65535, 0] spans [-10, 0]: multiplier/shift = quantizeMultiplier(double(inScale) *
 * double(beta) / (10 / 65535)). Eval per row:
 *   e[c]  = lut(exp, clamp_int16(mbqm(x[c] - max, M, shift) + 32767))       Q0.15
 *   sum   = sum(e)                                                          int32
 *   h     = clz(sum); r = lut(1/(1+x), clamp_int16(((sum << (h - 1)) + 2^13 >> 14) - 98304))
 *   y[c]  = clamp((e[c] * r + 2^(30 - h)) >> (31 - h), 0, 32767)
 * The tables are TFLM's LUTPopulate<int16_t> in float32 arithmetic: exp on [-10, 0] and
 * 1/(1+x) on [0, 1], 512 segments each, every node nudged by half the interpolation error at
 * the segment's midpoint. They depend on nothing in the model, so code generators bake the
 * same two arrays (softmaxS16Tables) once.
 */
import type { Op } from '../../ir/graph.ts';
import { countLeadingZeros32, multiplyByQuantizedMultiplier, quantizeMultiplier, roundHalfAwayFromZero, type QuantizedMultiplier } from '../fixedpoint.ts';
import { elements, input, numberAttr, output, read, requireDtype, scaleOf, unsupported, zeroPointOf, type EvalFn, type PrepareContext } from './common.ts';

const f32 = Math.fround;

/** C roundf on a float32 value (ties away from zero), result float32. */
function roundf(x: number): number {
  return f32(roundHalfAwayFromZero(x));
}

/**
 * TFLM LUTPopulate<int16_t, float>: a 513-entry table of `transform` over the int16 input range
 * of (inputScale, inputZeroPoint), output in int16 units of (outputScale, outputZeroPoint).
 * Every operation is float32, as in the C++ (transform must return float32 values).
 */
export function populateInt16Lut(
  inputScale: number,
  inputZeroPoint: number,
  outputScale: number,
  outputZeroPoint: number,
  transform: (x: number) => number,
): Int16Array {
  const inMin = f32(f32(inputScale) * (-32768 - inputZeroPoint));
  const inMax = f32(f32(inputScale) * (32767 - inputZeroPoint));
  const outMin = f32(f32(outputScale) * (-32768 - outputZeroPoint));
  const outMax = f32(f32(outputScale) * (32767 - outputZeroPoint));
  const steps = 512;
  const step = f32(f32(inMax - inMin) / steps);
  const halfStep = f32(step / 2);
  const scalingInv = f32(65536 / f32(outMax - outMin));
  const clamp = (v: number) => Math.min(Math.max(v, -32768), 32767);
  const lut = new Int16Array(steps + 1);
  for (let i = 0; i < steps; i++) {
    const at = f32(inMin + f32(i * step));
    const val = transform(at);
    const valMid = transform(f32(at + halfStep));
    const valNext = transform(f32(inMin + f32((i + 1) * step)));
    const sample = roundf(f32(val * scalingInv));
    const midInterp = roundf(f32(f32(f32(valNext * scalingInv) + sample) / 2));
    const midVal = roundf(f32(valMid * scalingInv));
    const bias = roundf(f32(f32(midInterp - midVal) / 2));
    lut[i] = clamp(f32(sample - bias));
  }
  lut[steps] = clamp(roundf(f32(transform(inMax) * scalingInv)));
  return lut;
}

let tables: { exp: Int16Array; oneOverOnePlusX: Int16Array } | undefined;

/** The two softmax tables TFLM builds at Prepare (the same for every int16 softmax). */
export function softmaxS16Tables(): { exp: Int16Array; oneOverOnePlusX: Int16Array } {
  if (tables === undefined) {
    const range = 65535; // int16 max - int16 min
    tables = {
      exp: populateInt16Lut(f32(10 / range), 32767, f32(2 / range), 0, (v) => f32(Math.exp(v))),
      oneOverOnePlusX: populateInt16Lut(f32(1 / range), -32768, f32(2 / range), 0, (v) => f32(1 / f32(1 + v))),
    };
  }
  return tables;
}

/** TFLM LUTLookup for int16: 9 index bits, 7 bits of linear interpolation. */
export function lookupInt16Lut(value: number, lut: Int16Array): number {
  const index = 256 + (value >> 7);
  const offset = value & 0x7f;
  const base = lut[index]!;
  const slope = ((lut[index + 1]! - base) << 16) >> 16; // stored in an int16_t
  const delta = (slope * offset + 64) >> 7;
  return ((base + delta) << 16) >> 16;
}

/** The input multiplier of int16 SOFTMAX: double(inScale) * double(beta) / (10 / 65535). */
export function softmaxS16Multiplier(beta: number, inputScale: number): QuantizedMultiplier {
  return quantizeMultiplier((f32(inputScale) * f32(beta)) / (10.0 / 65535.0));
}

export function prepareSoftmaxS16(op: Op, ctx: PrepareContext): EvalFn {
  const x = input(op, ctx, 0);
  const y = output(op, ctx);
  requireDtype(op, x, 'int16');
  requireDtype(op, y, 'int16');
  const rank = x.shape.length;
  const axis = numberAttr(op, 'axis', rank - 1);
  if (rank > 0 && axis !== rank - 1) throw unsupported(op, `normalises axis ${axis}, not the last axis`);
  const outScale = scaleOf(op, y);
  if (zeroPointOf(x) !== 0 || zeroPointOf(y) !== 0 || Math.abs(outScale - 1 / 32768) > 0.001 / 32768) {
    throw unsupported(
      op,
      `has int16 input zero point ${zeroPointOf(x)}, output scale ${outScale} / zero point ${zeroPointOf(y)} (TFLite requires zero points 0 and output scale 1/32768)`,
    );
  }
  const q = softmaxS16Multiplier(numberAttr(op, 'beta', 1), scaleOf(op, x));
  const { exp, oneOverOnePlusX } = softmaxS16Tables();
  const depth = rank === 0 ? 1 : x.shape[rank - 1]!;
  const rows = elements(x) / depth;
  const xi = x.index;
  const yi = y.index;
  const e = new Int16Array(depth);

  return (values) => {
    const inp = read(values, xi) as Int16Array;
    const out = read(values, yi) as Int16Array;
    for (let r = 0; r < rows; r++) {
      const base = r * depth;
      let maxInRow = -32768;
      for (let c = 0; c < depth; c++) if (inp[base + c]! > maxInRow) maxInRow = inp[base + c]!;
      let sum = 0;
      for (let c = 0; c < depth; c++) {
        const scaled = multiplyByQuantizedMultiplier(inp[base + c]! - maxInRow, q.multiplier, q.shift) + 32767;
        e[c] = lookupInt16Lut(Math.min(Math.max(scaled, -32768), 32767), exp);
        sum = (sum + e[c]!) | 0;
      }
      const headroomPlusOne = countLeadingZeros32(sum);
      // ((int64 sum << (h - 1)) + 2^13) >> 14: the shifted sum stays below 2^31, exact here.
      const shifted = Math.floor((sum * 2 ** (headroomPlusOne - 1) + 8192) / 16384);
      const symShifted = Math.min(Math.max(shifted - 98304, -32768), 32767);
      const reciprocal = lookupInt16Lut(symShifted, oneOverOnePlusX);
      const rightShift = 31 - headroomPlusOne;
      const round = 2 ** (rightShift - 1);
      for (let c = 0; c < depth; c++) {
        const v = Math.floor((e[c]! * reciprocal + round) / 2 ** rightShift);
        out[base + c] = v < 0 ? 0 : v > 32767 ? 32767 : v;
      }
    }
  };
}
