/**
 * The fixed-point library against values worked out by hand from the definitions (TFLite
 * QuantizeMultiplier, gemmlowp SaturatingRoundingDoublingHighMul / RoundingDivideByPOT, ...),
 * plus exhaustive-ish checks of the 64-bit product against an independent BigInt evaluation
 * of the same definition, and the transcendental pieces against Math within their precision.
 */
import { describe, expect, it } from 'vitest';
import {
  INT32_MAX,
  INT32_MIN,
  activationRangeQuantized,
  calculateInputRadius,
  expOnNegativeValues,
  frexp,
  getReciprocal,
  logisticFixed,
  multiplyByQuantizedMultiplier,
  multiplyByQuantizedMultiplierInt64,
  oneOverOnePlusXForXIn01,
  preprocessSoftmaxScaling,
  quantizeMultiplier,
  roundHalfAwayFromZero,
  roundingDivideByPOT,
  saturatingRoundingDoublingHighMul,
  saturatingRoundingMultiplyByPOT,
  tanhFixed,
} from '../../src/reference/fixedpoint.ts';

const Q31 = 2 ** 31;

describe('roundHalfAwayFromZero and frexp', () => {
  it('rounds halves away from zero like C round()', () => {
    expect([2.5, -2.5, 1.5, -0.5, 0.49999999999999994, 2.4999].map(roundHalfAwayFromZero)).toEqual([3, -3, 2, -1, 0, 2]);
  });
  it('splits x into a mantissa in [0.5, 1) and a power of two', () => {
    expect(frexp(8)).toEqual({ mantissa: 0.5, exponent: 4 });
    expect(frexp(0.75)).toEqual({ mantissa: 0.75, exponent: 0 });
    expect(frexp(-3)).toEqual({ mantissa: -0.75, exponent: 2 });
    expect(frexp(2 ** -40)).toEqual({ mantissa: 0.5, exponent: -39 });
  });
});

describe('quantizeMultiplier', () => {
  it('encodes powers of two and simple fractions exactly', () => {
    expect(quantizeMultiplier(0.5)).toEqual({ multiplier: 2 ** 30, shift: 0 });
    expect(quantizeMultiplier(1)).toEqual({ multiplier: 2 ** 30, shift: 1 });
    expect(quantizeMultiplier(0.25)).toEqual({ multiplier: 2 ** 30, shift: -1 });
    expect(quantizeMultiplier(0.75)).toEqual({ multiplier: 0.75 * Q31, shift: 0 });
    expect(quantizeMultiplier(3)).toEqual({ multiplier: 0.75 * Q31, shift: 2 });
    expect(quantizeMultiplier(-0.5)).toEqual({ multiplier: -(2 ** 30), shift: 0 });
    expect(quantizeMultiplier(0)).toEqual({ multiplier: 0, shift: 0 });
  });
  it('turns a mantissa that rounds up to 2^31 into 2^30 with shift + 1', () => {
    // 1 - 2^-33 has mantissa 1 - 2^-33: times 2^31 is 2^31 - 0.25, which rounds to 2^31.
    expect(quantizeMultiplier(1 - 2 ** -33)).toEqual({ multiplier: 2 ** 30, shift: 1 });
    expect(quantizeMultiplier((1 - 2 ** -33) / 8)).toEqual({ multiplier: 2 ** 30, shift: -2 });
  });
  it('flushes multipliers whose shift would be below -31 to zero', () => {
    expect(quantizeMultiplier(2 ** -32)).toEqual({ multiplier: 2 ** 30, shift: -31 });
    expect(quantizeMultiplier(2 ** -33)).toEqual({ multiplier: 0, shift: 0 });
    expect(quantizeMultiplier(2 ** -40)).toEqual({ multiplier: 0, shift: 0 });
  });
  it('rounds the Q0.31 mantissa half away from zero', () => {
    // 0.5 + 2^-32: mantissa * 2^31 = 2^30 + 0.5 -> 2^30 + 1.
    expect(quantizeMultiplier(0.5 + 2 ** -32)).toEqual({ multiplier: 2 ** 30 + 1, shift: 0 });
  });
});

/** The gemmlowp definition evaluated with exact 64-bit integers. */
function srdhmBigInt(a: number, b: number): number {
  if (a === INT32_MIN && b === INT32_MIN) return INT32_MAX;
  const ab = BigInt(a) * BigInt(b);
  const nudge = ab >= 0n ? 1n << 30n : 1n - (1n << 30n);
  return Number((ab + nudge) / (1n << 31n)); // BigInt division truncates toward zero, as C does
}

describe('saturatingRoundingDoublingHighMul', () => {
  it('matches hand-computed products', () => {
    expect(saturatingRoundingDoublingHighMul(2 ** 30, 2 ** 30)).toBe(2 ** 29); // 0.5 * 0.5
    expect(saturatingRoundingDoublingHighMul(INT32_MIN, INT32_MIN)).toBe(INT32_MAX); // the one saturation
    // (2^31-1)^2 / 2^31 = 2^31 - 2 + (1 + 2^30)/2^31 -> 2^31 - 2
    expect(saturatingRoundingDoublingHighMul(INT32_MAX, INT32_MAX)).toBe(2 ** 31 - 2);
    // -2^31 (2^31-1) / 2^31 = -2^31 + 1 -> with the negative nudge stays -2^31 + 1
    expect(saturatingRoundingDoublingHighMul(INT32_MIN, INT32_MAX)).toBe(-(2 ** 31) + 1);
  });
  it('rounds exact halves upward (toward +infinity), like VQRDMULH', () => {
    expect(saturatingRoundingDoublingHighMul(1, 2 ** 30)).toBe(1); // +0.5 -> 1
    expect(saturatingRoundingDoublingHighMul(-1, 2 ** 30)).toBe(0); // -0.5 -> 0
    expect(saturatingRoundingDoublingHighMul(-3, 2 ** 30)).toBe(-1); // -1.5 -> -1
    expect(saturatingRoundingDoublingHighMul(3, 2 ** 30)).toBe(2); // 1.5 -> 2
  });
  it('equals the exact 64-bit definition on edge and pseudo-random operands', () => {
    const edges = [0, 1, -1, 2, -2, 65535, 65536, -65536, 2 ** 30, -(2 ** 30), INT32_MAX, INT32_MIN, INT32_MAX - 1, INT32_MIN + 1];
    let s = 0x12345678;
    const next = () => {
      s ^= s << 13;
      s ^= s >>> 17;
      s ^= s << 5;
      return s | 0;
    };
    const values = [...edges, ...Array.from({ length: 300 }, next)];
    const wrong: string[] = [];
    for (const a of values) {
      for (const b of values.slice(0, 60)) {
        const got = saturatingRoundingDoublingHighMul(a, b);
        const want = srdhmBigInt(a, b);
        if (got !== want) wrong.push(`${a} * ${b}: ${got} vs ${want}`);
      }
    }
    expect(wrong).toEqual([]);
  });
});

describe('roundingDivideByPOT and saturatingRoundingMultiplyByPOT', () => {
  it('divides by a power of two rounding halves away from zero', () => {
    expect(roundingDivideByPOT(5, 1)).toBe(3); // 2.5
    expect(roundingDivideByPOT(-5, 1)).toBe(-3); // -2.5
    expect(roundingDivideByPOT(4, 1)).toBe(2);
    expect(roundingDivideByPOT(7, 2)).toBe(2); // 1.75
    expect(roundingDivideByPOT(-6, 2)).toBe(-2); // -1.5
    expect(roundingDivideByPOT(-5, 2)).toBe(-1); // -1.25
    expect(roundingDivideByPOT(12345, 0)).toBe(12345);
    expect(roundingDivideByPOT(INT32_MIN, 31)).toBe(-1);
    expect(roundingDivideByPOT(INT32_MAX, 31)).toBe(1);
  });
  it('saturates left shifts and rounds right shifts', () => {
    expect(saturatingRoundingMultiplyByPOT(3, 2)).toBe(12);
    expect(saturatingRoundingMultiplyByPOT(2 ** 29, 2)).toBe(INT32_MAX);
    expect(saturatingRoundingMultiplyByPOT(-(2 ** 29) - 1, 2)).toBe(INT32_MIN);
    expect(saturatingRoundingMultiplyByPOT(5, -1)).toBe(3);
  });
});

describe('multiplyByQuantizedMultiplier (double rounding)', () => {
  it('scales by multiplier * 2^shift', () => {
    expect(multiplyByQuantizedMultiplier(100, 2 ** 30, 0)).toBe(50);
    expect(multiplyByQuantizedMultiplier(3, 2 ** 30, 2)).toBe(6); // left shift first: 12 * 0.5
    expect(multiplyByQuantizedMultiplier(-100, 0.75 * Q31, -1)).toBe(-38); // -37.5 -> -38
  });
  it('rounds twice: 5 * 0.25 gives 2, where one rounding would give 1', () => {
    // srdhm(5, 0.5) = 2.5 -> 3, then 3 / 2 = 1.5 -> 2.
    expect(multiplyByQuantizedMultiplier(5, 2 ** 30, -1)).toBe(2);
  });
  it('int64 variant: 16-bit reduced multiplier and a single rounding shift', () => {
    // reduced = (2^30 + 2^15) >> 16 = 2^14; (1000 * 2^14 + 2^14) >> 15 = 500
    expect(multiplyByQuantizedMultiplierInt64(1000n, 2 ** 30, 0)).toBe(500);
    // 5 * 0.25 = 1.25: (5 * 2^14 + 2^15) >> 16 = 1
    expect(multiplyByQuantizedMultiplierInt64(5n, 2 ** 30, -1)).toBe(1);
    // a large accumulator beyond int32: 2^40 * 0.5 * 2^-9 = 2^30
    expect(multiplyByQuantizedMultiplierInt64(2n ** 40n, 2 ** 30, -9)).toBe(2 ** 30);
  });
});

describe('gemmlowp transcendental functions', () => {
  const toQ0 = (x: number) => x / Q31;
  it('exp of 0 is exactly one (INT32_MAX) and exp of negative values is accurate', () => {
    expect(expOnNegativeValues(0, 5)).toBe(INT32_MAX);
    for (const x of [-0.01, -0.25, -1, -2.5, -7.75, -15]) {
      const raw = Math.round(x * 2 ** 26); // Q5.26
      // The 4th-order Taylor step is good to about 3e-7 (x^5/120 at |x| = 1/8).
      expect(Math.abs(toQ0(expOnNegativeValues(raw, 5)) - Math.exp(x))).toBeLessThan(3e-7);
    }
  });
  it('exp(-1/4) and exp(-1) equal the gemmlowp steps worked through by hand', () => {
    // exp(-1/4) from the Taylor step at x = a + 1/8 = -2^28 (Q0): x^2 = 2^25, x^3 = -2^22,
    // x^4 = 2^19, x^4/4 = 2^17; ((2^17 - 2^22) * 1/3) = -1332565 (srdhm, truncated);
    // (-1332565 + 2^25) / 2 = 16110933.5 -> 16110934; 1895147668 + srdhm(1895147668,
    // -2^28 + 16110934) = 1672462419.
    expect(expOnNegativeValues(-(2 ** 29), 0)).toBe(1672462419);
    // exp(-1) in Q5.26: remainder bits 24 and 25 multiply by exp(-1/4) (1672461947) and
    // exp(-1/2) (1302514674): srdhm(srdhm(1672462419, 1672461947), 1302514674) = 790015308.
    expect(expOnNegativeValues(-(2 ** 26), 5)).toBe(790015308);
  });
  it('1/(1+x) on [0, 1)', () => {
    for (const x of [0, 0.1, 0.5, 0.9]) {
      expect(Math.abs(toQ0(oneOverOnePlusXForXIn01(Math.round(x * Q31))) - 1 / (1 + x))).toBeLessThan(1e-8);
    }
  });
  it('logistic and tanh on Q4.27 inputs', () => {
    expect(logisticFixed(0, 4)).toBe(2 ** 30); // exactly 0.5
    expect(tanhFixed(0, 4)).toBe(0);
    for (const x of [-6, -1.5, -0.1, 0.3, 2, 7.9]) {
      const raw = Math.round(x * 2 ** 27);
      expect(Math.abs(toQ0(logisticFixed(raw, 4)) - 1 / (1 + Math.exp(-x)))).toBeLessThan(1e-7);
      expect(Math.abs(toQ0(tanhFixed(raw, 4)) - Math.tanh(x))).toBeLessThan(1e-7);
    }
  });
  it('getReciprocal normalises into [1, 2) and returns 1/x there', () => {
    const one = getReciprocal(2 ** 19, 12); // 1.0 in Q12.19
    expect(one.numBitsOverUnit).toBe(0);
    expect(Math.abs(toQ0(one.reciprocal) - 1)).toBeLessThan(1e-8);
    const three = getReciprocal(3 * 2 ** 19, 12); // 3.0 = 1.5 * 2^1
    expect(three.numBitsOverUnit).toBe(1);
    expect(Math.abs(toQ0(three.reciprocal) - 1 / 1.5)).toBeLessThan(1e-8);
  });
});

describe('Prepare-time helpers', () => {
  it('softmax scaling for beta 1 and input scale 1/256', () => {
    // 2^-8 * 2^26 = 2^18 = 0.5 * 2^19
    expect(preprocessSoftmaxScaling(1, 1 / 256, 5)).toEqual({ multiplier: 2 ** 30, shift: 19 });
    // radius = floor(31 * 2^26 / 2^19) = 31 * 128
    expect(calculateInputRadius(5, 19)).toBe(3968);
  });
  it('caps the softmax multiplier at 2^31 - 1', () => {
    expect(preprocessSoftmaxScaling(1, 1000, 5)).toEqual({ multiplier: 2 ** 31 - 1, shift: 31 });
  });
  it('activation bounds quantize 0, 6, -1 and 1 with the output parameters', () => {
    expect(activationRangeQuantized('NONE', 0.1, 3, -128, 127)).toEqual({ min: -128, max: 127 });
    expect(activationRangeQuantized('RELU', 0.1, 10, -128, 127)).toEqual({ min: 10, max: 127 });
    expect(activationRangeQuantized('RELU6', 0.05, -100, -128, 127)).toEqual({ min: -100, max: 20 });
    expect(activationRangeQuantized('RELU_N1_TO_1', 0.01, 0, -128, 127)).toEqual({ min: -100, max: 100 });
    expect(activationRangeQuantized('RELU6', 0.01, 0, -128, 127)).toEqual({ min: 0, max: 127 });
  });
});
