/**
 * Generation-time precomputation for the dsp kernel set (firmware/include/tml_kernels_dsp.h):
 * weights packed in the order the inner loops read them, the fast requantization tables of
 * tml_requant.h with the checks that make them exact, and the ADD lookup tables. Pure functions of the model's numbers; lower.ts turns them into C arrays.
 */
import { multiplyByQuantizedMultiplier } from '../../reference/fixedpoint.ts';

const INT32_MAX = 2147483647;
/** |acc| must stay below this for the doubled accumulators (tml_requant.h). */
export const ACC_LIMIT = 2 ** 30;

/** Numbers of 4-value k groups and 4-channel groups for k values and channels. */
export function kLength(k: number): number {
  return Math.ceil(k / 4) * 4;
}

/**
 * Packs conv/FC weights for tml_conv2d_s8_dsp: `w` is [channels][k] int8 (k = k_h * k_w * in_c
 * in that order); the result is [ceil(channels/4)][kLength(k)/4][8] words of doubled int16 pairs
 * (2 w[c][4j], 2 w[c][4j+2]) and (2 w[c][4j+1], 2 w[c][4j+3]) per channel c of the group, zero
 * where the channel or k index is padding.
 */
export function packConvWeights(w: Int8Array, channels: number, k: number): Uint32Array {
  const kLen = kLength(k);
  const groups = Math.ceil(channels / 4);
  const out = new Uint32Array(groups * (kLen / 4) * 8);
  const at = (c: number, i: number) => (c < channels && i < k ? 2 * w[c * k + i]! : 0);
  let o = 0;
  for (let g = 0; g < groups; g++) {
    for (let j = 0; j < kLen / 4; j++) {
      for (let cc = 0; cc < 4; cc++) {
        const c = 4 * g + cc;
        out[o++] = pair(at(c, 4 * j), at(c, 4 * j + 2));
        out[o++] = pair(at(c, 4 * j + 1), at(c, 4 * j + 3));
      }
    }
  }
  return out;
}

/** Two int16 values in one word, `lo` in the low half. */
export function pair(lo: number, hi: number): number {
  return ((lo & 0xffff) | ((hi & 0xffff) << 16)) >>> 0;
}

/**
 * The largest |acc| a convolution-like op can reach before requantization: |folded bias| plus
 * |input offset| (border corrections) plus 128 (the largest |int8|) times the sum of |weights|,
 * per channel. `w` is [channels][k].
 */
export function accumulatorBound(w: Int8Array | Int16Array, channels: number, k: number, folded: Int32Array, inputOffset: number): number {
  let bound = 0;
  for (let c = 0; c < channels; c++) {
    let s = 0;
    for (let i = 0; i < k; i++) s += Math.abs(w[c * k + i]!);
    bound = Math.max(bound, Math.abs(folded[c]!) + (Math.abs(inputOffset) + 128) * s);
  }
  return bound;
}

/**
 * tml_rq entries {multiplier, k, shift} for (multiplier, shift) pairs with output zero point
 * `zp`, flattened; undefined when the fast path would not be exact for accumulators up to
 * `accBound` (a shift that is not a right shift, a zero multiplier, or an intermediate that
 * could leave int32).
 */
export function fastRequant(mult: Int32Array, shift: Int32Array, zp: number, accBound: number): Int32Array | undefined {
  if (accBound >= ACC_LIMIT) return undefined;
  const out = new Int32Array(mult.length * 3);
  for (let c = 0; c < mult.length; c++) {
    const m = mult[c]!;
    const e = -shift[c]!;
    if (m < 2 ** 30 || e < 1 || e > 30) return undefined;
    if (accBound + 2 + 2 ** (e - 1) + Math.abs(zp) * 2 ** e >= 2 ** 31) return undefined;
    out[3 * c] = m;
    out[3 * c + 1] = 2 ** (e - 1) + zp * 2 ** e;
    out[3 * c + 2] = e;
  }
  return out;
}

/**
 * One input of TFLite's int8 ADD rescaled to the common scale, doubled, for every int8 value:
 * lut[v + 128] = 2 * MBQM((v + offset) << leftShift, multiplier, shift).
 */
export function addLut(offset: number, leftShift: number, multiplier: number, shift: number): Int32Array {
  const lut = new Int32Array(256);
  for (let v = -128; v < 128; v++) {
    const x = (v + offset) * 2 ** leftShift;
    if (Math.abs(x) > INT32_MAX) throw new RangeError('ADD input out of range');
    lut[v + 128] = 2 * multiplyByQuantizedMultiplier(x, multiplier, shift);
  }
  return lut;
}

/** The largest |value| in a table. */
export function maxAbs(values: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < values.length; i++) m = Math.max(m, Math.abs(values[i]!));
  return m;
}
