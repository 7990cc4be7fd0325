/**
 * Generation-time precomputation for the dsp kernel set (firmware/include/tml_kernels_dsp.h):
 * weights packed in the order the inner loops read them, per-border-region biases, the fast
 * requantization tables of tml_requant.h with the checks that make them exact, and the ADD
 * lookup tables. Pure functions of the model's numbers; lower.ts turns them into C arrays.
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

/** The distinct clipped windows of one axis: for each output index, [k0, k1) inside the input. */
export function clippedWindows(outLen: number, inLen: number, k: number, stride: number, padBefore: number): { index: Uint8Array; classes: [number, number][] } | undefined {
  const classes: [number, number][] = [];
  const index = new Uint8Array(outLen);
  for (let o = 0; o < outLen; o++) {
    const i0 = o * stride - padBefore;
    const k0 = Math.max(0, -i0);
    const k1 = Math.min(k, inLen - i0);
    let c = classes.findIndex(([a, b]) => a === k0 && b === k1);
    if (c < 0) {
      c = classes.length;
      classes.push([k0, k1]);
    }
    if (c > 255) return undefined;
    index[o] = c;
  }
  return { index, classes };
}

/**
 * Per-region doubled biases: region (r, c) of rows[r] x cols[c] holds, per channel,
 * 2 * (folded - inputOffset * sum of the channel's weights over the taps outside the window).
 * `w` is [channels][kH][kW][inC]; the result is [regions][ceil(channels/4)*4] int32.
 */
export function regionBiases(
  w: Int8Array,
  channels: number,
  kH: number,
  kW: number,
  inC: number,
  folded: Int32Array,
  inputOffset: number,
  rows: [number, number][],
  cols: [number, number][],
): Int32Array {
  const cp = Math.ceil(channels / 4) * 4;
  const out = new Int32Array(rows.length * cols.length * cp);
  // Per-tap weight sums, [channel][ky][kx].
  const tap = new Int32Array(channels * kH * kW);
  for (let c = 0; c < channels; c++) {
    for (let t = 0; t < kH * kW; t++) {
      let s = 0;
      for (let i = 0; i < inC; i++) s += w[(c * kH * kW + t) * inC + i]!;
      tap[c * kH * kW + t] = s;
    }
  }
  rows.forEach(([ky0, ky1], r) =>
    cols.forEach(([kx0, kx1], q) => {
      for (let c = 0; c < channels; c++) {
        let outside = 0;
        for (let ky = 0; ky < kH; ky++) {
          for (let kx = 0; kx < kW; kx++) if (ky < ky0 || ky >= ky1 || kx < kx0 || kx >= kx1) outside += tap[(c * kH + ky) * kW + kx]!;
        }
        out[(r * cols.length + q) * cp + c] = 2 * (folded[c]! - inputOffset * outside);
      }
    }),
  );
  return out;
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
