/**
 * Integer arithmetic of TFLite / TFLite Micro quantized kernels, bit for bit.
 *
 * Everything here works on plain JS numbers holding int32 values (except the int64 variant of
 * multiplyByQuantizedMultiplier, which takes a bigint). 32x32->64-bit products are never formed
 * directly in a double (they would lose bits above 2^53); they are split into exact 16-bit
 * partial products instead.
 *
 * Conventions follow TFLite's:
 * - A quantized multiplier is an int32 `multiplier` in [2^30, 2^31) (Q0.31, value in [0.5, 1))
 *   plus a power-of-two `shift` (positive = left); real = multiplier * 2^(shift - 31).
 * - "Double rounding" requantization (the build default: TFLITE_SINGLE_ROUNDING not defined):
 *   a saturating rounding doubling high multiply, then a rounding right shift.
 * - Fixed-point values "Qm" (gemmlowp FixedPoint<int32, m>) are raw int32 with m integer bits
 *   and 31 - m fractional bits. The functions below take and return raw values; where the
 *   number of integer bits matters it is a parameter.
 *
 * Sources studied (not copied): TFLite `kernels/internal/common.{h,cc}`,
 * `quantization_util.cc` and gemmlowp `fixedpoint/fixedpoint.h`.
 */

export const INT32_MIN = -2147483648;
export const INT32_MAX = 2147483647;
const TWO_POW_31 = 2147483648;

/** A double multiplier as TFLite stores it: int32 Q0.31 significand and a power-of-two shift. */
export interface QuantizedMultiplier {
  multiplier: number;
  shift: number;
}

/** C `std::round` / TfLiteRound: round half away from zero. Exact for every double. */
export function roundHalfAwayFromZero(x: number): number {
  if (!Number.isFinite(x)) return x;
  const t = Math.trunc(x);
  const frac = x - t; // exact
  if (frac >= 0.5) return t + 1;
  if (frac <= -0.5) return t - 1;
  return t;
}

/** C `std::frexp` for finite x: x = mantissa * 2^exponent, |mantissa| in [0.5, 1) (0 -> 0, 0). */
export function frexp(x: number): { mantissa: number; exponent: number } {
  if (x === 0 || !Number.isFinite(x)) return { mantissa: x, exponent: 0 };
  const abs = Math.abs(x);
  let exponent = Math.floor(Math.log2(abs)) + 1;
  let mantissa = abs * Math.pow(2, -exponent);
  // log2 may be off by one near powers of two; fix it exactly.
  while (mantissa >= 1) {
    mantissa /= 2;
    exponent += 1;
  }
  while (mantissa < 0.5) {
    mantissa *= 2;
    exponent -= 1;
  }
  return { mantissa: x < 0 ? -mantissa : mantissa, exponent };
}

/**
 * TFLite QuantizeMultiplier: frexp, then round the mantissa to Q0.31. A mantissa that rounds
 * up to 2^31 becomes 2^30 with shift + 1; a shift below -31 flushes to (0, 0).
 */
export function quantizeMultiplier(realMultiplier: number): QuantizedMultiplier {
  if (realMultiplier === 0) return { multiplier: 0, shift: 0 };
  const { mantissa, exponent } = frexp(realMultiplier);
  let shift = exponent;
  let qFixed = roundHalfAwayFromZero(mantissa * TWO_POW_31);
  if (Math.abs(qFixed) > TWO_POW_31) throw new RangeError(`quantizeMultiplier: bad mantissa for ${realMultiplier}`);
  if (qFixed === TWO_POW_31) {
    qFixed /= 2;
    shift += 1;
  }
  if (shift < -31) {
    shift = 0;
    qFixed = 0;
  }
  return { multiplier: qFixed, shift };
}

/** QuantizeMultiplierSmallerThanOneExp: 0 < real < 1, so shift <= 0 (TFLite checks both). */
export function quantizeMultiplierSmallerThanOneExp(realMultiplier: number): QuantizedMultiplier {
  if (!(realMultiplier > 0 && realMultiplier < 1)) {
    throw new RangeError(`quantizeMultiplierSmallerThanOneExp: ${realMultiplier} is not in (0, 1)`);
  }
  return quantizeMultiplier(realMultiplier);
}

/** QuantizeMultiplierGreaterThanOne: real > 1, so shift >= 0. */
export function quantizeMultiplierGreaterThanOne(realMultiplier: number): QuantizedMultiplier {
  if (!(realMultiplier > 1)) {
    throw new RangeError(`quantizeMultiplierGreaterThanOne: ${realMultiplier} is not > 1`);
  }
  return quantizeMultiplier(realMultiplier);
}

/**
 * gemmlowp SaturatingRoundingDoublingHighMul (ARM VQRDMULH): round(a * b / 2^31) with ties
 * away from zero, saturating INT32_MIN * INT32_MIN to INT32_MAX. a, b: int32.
 */
export function saturatingRoundingDoublingHighMul(a: number, b: number): number {
  if (a === INT32_MIN && b === INT32_MIN) return INT32_MAX;
  const negative = a < 0 !== b < 0 && a !== 0 && b !== 0;
  const absA = Math.abs(a);
  const absB = Math.abs(b);
  // |a*b| = hi * 2^16 + lo, both partial products exact in a double.
  const bHigh = Math.floor(absB / 65536);
  const bLow = absB - bHigh * 65536;
  const hi = absA * bHigh; // < 2^47
  const lo = absA * bLow; // < 2^47
  const hiQuot = Math.floor(hi / 32768); // hi * 2^16 = hiQuot * 2^31 + hiRem * 2^16
  const hiRem = hi - hiQuot * 32768;
  // The nudge: +2^30 for a non-negative product, (1 - 2^30) for a negative one; the C code
  // then truncates toward zero, which for |product| means floor((|p| + 2^30 - neg) / 2^31).
  const nudge = negative ? 1073741823 : 1073741824;
  const magnitude = hiQuot + Math.floor((hiRem * 65536 + lo + nudge) / TWO_POW_31);
  return (negative ? -magnitude : magnitude) | 0;
}

/** gemmlowp RoundingDivideByPOT: x / 2^exponent rounded to nearest, ties away from zero. */
export function roundingDivideByPOT(x: number, exponent: number): number {
  if (exponent < 0 || exponent > 31) throw new RangeError(`roundingDivideByPOT: exponent ${exponent}`);
  if (exponent === 0) return x;
  const mask = exponent === 31 ? 0x7fffffff : (1 << exponent) - 1;
  const remainder = x & mask;
  const threshold = (mask >>> 1) + (x < 0 ? 1 : 0);
  return (x >> exponent) + (remainder > threshold ? 1 : 0);
}

/**
 * gemmlowp SaturatingRoundingMultiplyByPOT: x * 2^exponent; a left shift saturates to the
 * int32 range, a right shift rounds (roundingDivideByPOT).
 */
export function saturatingRoundingMultiplyByPOT(x: number, exponent: number): number {
  if (exponent === 0) return x;
  if (exponent < 0) return roundingDivideByPOT(x, -exponent);
  const threshold = Math.pow(2, 31 - exponent) - 1;
  if (x > threshold) return INT32_MAX;
  if (x < -threshold) return INT32_MIN;
  return (x * Math.pow(2, exponent)) | 0;
}

/**
 * TFLite MultiplyByQuantizedMultiplier(int32 x, ...), double-rounding variant (the default
 * build): left shift first (wrapping like the C int32 multiply), then
 * saturatingRoundingDoublingHighMul, then a rounding right shift.
 */
export function multiplyByQuantizedMultiplier(x: number, multiplier: number, shift: number): number {
  const leftShift = shift > 0 ? shift : 0;
  const rightShift = shift > 0 ? 0 : -shift;
  const shifted = leftShift === 0 ? x : Math.imul(x, 2 ** leftShift | 0);
  return roundingDivideByPOT(saturatingRoundingDoublingHighMul(shifted, multiplier), rightShift);
}

/** MultiplyByQuantizedMultiplierSmallerThanOneExp: shift <= 0. */
export function multiplyByQuantizedMultiplierSmallerThanOneExp(x: number, multiplier: number, leftShift: number): number {
  return roundingDivideByPOT(saturatingRoundingDoublingHighMul(x, multiplier), -leftShift);
}

/** MultiplyByQuantizedMultiplierGreaterThanOne: shift >= 0, no rounding shift afterwards. */
export function multiplyByQuantizedMultiplierGreaterThanOne(x: number, multiplier: number, leftShift: number): number {
  return saturatingRoundingDoublingHighMul(Math.imul(x, 2 ** leftShift | 0), multiplier);
}

/**
 * TFLite MultiplyByQuantizedMultiplier(int64 x, ...), used with int64 accumulators (int16
 * activations): the multiplier is reduced to 16 bits with rounding, then one rounding shift.
 * x must lie in [-2^47, 2^47); the result is truncated to int32 as the C cast does.
 */
export function multiplyByQuantizedMultiplierInt64(x: bigint, multiplier: number, shift: number): number {
  const reduced = multiplier < 0x7fff0000 ? (multiplier + (1 << 15)) >> 16 : 0x7fff;
  const totalShift = BigInt(15 - shift);
  const rounded = x * BigInt(reduced) + (1n << (totalShift - 1n));
  return Number(BigInt.asIntN(32, rounded >> totalShift));
}

/** Count leading zeros of x taken as uint32 (32 for 0). */
export function countLeadingZeros32(x: number): number {
  return Math.clz32(x);
}

// ---------------------------------------------------------------------------------------------
// gemmlowp fixed-point functions (raw int32 values; integer bits as documented per function).

const ONE_Q0 = INT32_MAX; // FixedPoint<int32, 0>::One()

/** gemmlowp RoundingHalfSum on int32: (a + b) / 2 rounded half away from zero. */
export function roundingHalfSum(a: number, b: number): number {
  const sum = a + b; // exact in a double
  const sign = sum >= 0 ? 1 : -1;
  return Math.trunc((sum + sign) / 2);
}

/** Rescale a raw fixed-point value from `srcIntegerBits` to `dstIntegerBits` (gemmlowp Rescale). */
export function rescale(x: number, srcIntegerBits: number, dstIntegerBits: number): number {
  return saturatingRoundingMultiplyByPOT(x, srcIntegerBits - dstIntegerBits);
}

/** exp(a) for a in [-1/4, 0): Q0 in, Q0 out (Taylor series around -1/8). */
export function expOnIntervalBetweenNegativeOneQuarterAnd0Excl(a: number): number {
  const constantTerm = 1895147668; // exp(-1/8) in Q0.31
  const oneThird = 715827883; // 1/3 in Q0.31
  const x = (a + (1 << 28)) | 0; // a + 1/8
  const x2 = saturatingRoundingDoublingHighMul(x, x);
  const x3 = saturatingRoundingDoublingHighMul(x2, x);
  const x4 = saturatingRoundingDoublingHighMul(x2, x2);
  const x4Over4 = roundingDivideByPOT(x4, 2);
  const poly = roundingDivideByPOT(
    (saturatingRoundingDoublingHighMul((x4Over4 + x3) | 0, oneThird) + x2) | 0,
    1,
  );
  return (constantTerm + saturatingRoundingDoublingHighMul(constantTerm, (x + poly) | 0)) | 0;
}

/** Barrel-shifter multipliers exp(-2^k) in Q0.31 for k = -2..4. */
const EXP_BARREL: ReadonlyArray<readonly [number, number]> = [
  [-2, 1672461947],
  [-1, 1302514674],
  [0, 790015084],
  [1, 290630308],
  [2, 39332535],
  [3, 720401],
  [4, 242],
];

/** exp(a) for a <= 0: `a` raw with `integerBits` integer bits, result Q0 (1.0 = INT32_MAX). */
export function expOnNegativeValues(a: number, integerBits: number): number {
  const fractionalBits = 31 - integerBits;
  const oneQuarter = 2 ** (fractionalBits - 2);
  const mask = oneQuarter - 1;
  const aModQuarterMinusOneQuarter = ((a & mask) - oneQuarter) | 0;
  let result = expOnIntervalBetweenNegativeOneQuarterAnd0Excl(rescale(aModQuarterMinusOneQuarter, integerBits, 0));
  const remainder = (aModQuarterMinusOneQuarter - a) | 0;
  for (const [exponent, multiplier] of EXP_BARREL) {
    if (integerBits > exponent) {
      const bit = fractionalBits + exponent;
      if ((remainder & (bit === 31 ? INT32_MIN : 1 << bit)) !== 0) {
        result = saturatingRoundingDoublingHighMul(result, multiplier);
      }
    }
  }
  if (integerBits > 5) {
    const clamp = -(2 ** (36 - integerBits)); // -32.0
    if (a < clamp) result = 0;
  }
  if (a === 0) result = ONE_Q0;
  return result;
}

/** 1 / (1 + a) for a in [0, 1): Q0 in, Q0 out (Newton-Raphson, 3 iterations). */
export function oneOverOnePlusXForXIn01(a: number): number {
  const x = newtonReciprocalHalfDenominator(a);
  // Result = x / 2 in Q0: ExactMulByPot<-1> makes it Q1, then Rescale to Q0.
  return rescale(x, 1, 0);
}

/** (1 - a) / (1 + a) for a in [0, 1): Q0 in, Q0 out. */
export function oneMinusXOverOnePlusXForXIn01(a: number): number {
  const x = newtonReciprocalHalfDenominator(a);
  return rescale((x - (1 << 29)) | 0, 2, 0);
}

/** Shared Newton-Raphson core: returns 1 / ((1 + a) / 2) in Q2. */
function newtonReciprocalHalfDenominator(a: number): number {
  const halfDenominator = roundingHalfSum(a, ONE_Q0); // Q0
  const c48Over17 = 1515870810; // Q2
  const cNeg32Over17 = -1010580540; // Q2
  const oneQ2 = 1 << 29;
  let x = (c48Over17 + saturatingRoundingDoublingHighMul(halfDenominator, cNeg32Over17)) | 0;
  for (let i = 0; i < 3; i++) {
    const halfDenominatorTimesX = saturatingRoundingDoublingHighMul(halfDenominator, x); // Q2
    const oneMinus = (oneQ2 - halfDenominatorTimesX) | 0; // Q2
    x = (x + rescale(saturatingRoundingDoublingHighMul(x, oneMinus), 4, 2)) | 0;
  }
  return x;
}

/** gemmlowp logistic: `a` raw with `integerBits` integer bits, result Q0. */
export function logisticFixed(a: number, integerBits: number): number {
  if (a === 0) return 1 << 30; // 0.5
  const positive = a > 0;
  const absInput = positive ? a : -a | 0;
  const resultIfPositive = oneOverOnePlusXForXIn01(expOnNegativeValues(-absInput | 0, integerBits));
  return positive ? resultIfPositive : (ONE_Q0 - resultIfPositive) | 0;
}

/** gemmlowp tanh: `a` raw with `integerBits` integer bits, result Q0. */
export function tanhFixed(a: number, integerBits: number): number {
  if (a === 0) return 0;
  const negative = a < 0;
  const n = negative ? a : -a | 0; // n <= 0
  // exp(2n): ExactMulByPot<1> reinterprets n with one more integer bit.
  const t = oneMinusXOverOnePlusXForXIn01(expOnNegativeValues(n, integerBits + 1));
  return negative ? -t | 0 : t;
}

/**
 * TFLite GetReciprocal: for x > 0 with `xIntegerDigits` integer bits, returns 1/x as a Q0
 * value scaled by 2^numBitsOverUnit (x normalised to [1, 2) first).
 */
export function getReciprocal(x: number, xIntegerDigits: number): { reciprocal: number; numBitsOverUnit: number } {
  const headroomPlusOne = countLeadingZeros32(x);
  const numBitsOverUnit = xIntegerDigits - headroomPlusOne;
  const shiftedSumMinusOne = ((((x >>> 0) * 2 ** headroomPlusOne) % 2 ** 32) - TWO_POW_31) | 0;
  return { reciprocal: oneOverOnePlusXForXIn01(shiftedSumMinusOne), numBitsOverUnit };
}

// ---------------------------------------------------------------------------------------------
// Prepare-time parameter helpers (double arithmetic exactly as the TFLite C++ does it).

/**
 * TFLite PreprocessSoftmaxScaling (double-rounding build): multiplier for beta * input_scale
 * in Q(inputIntegerBits), capped at 2^31 - 1.
 */
export function preprocessSoftmaxScaling(beta: number, inputScale: number, inputIntegerBits: number): QuantizedMultiplier {
  const maxRealMultiplier = 2 ** 31 - 1;
  const real = Math.min(beta * inputScale * 2 ** (31 - inputIntegerBits), maxRealMultiplier);
  return quantizeMultiplierGreaterThanOne(real);
}

/** TFLite CalculateInputRadius: largest input magnitude that does not saturate after rescaling. */
export function calculateInputRadius(inputIntegerBits: number, inputLeftShift: number, totalSignedBits = 31): number {
  const maxInputRescaled =
    (((2 ** inputIntegerBits - 1) * 2 ** (totalSignedBits - inputIntegerBits)) as number) / 2 ** inputLeftShift;
  return Math.floor(maxInputRescaled);
}

/** float32 arithmetic helper: the C `float` result of a op b (rounded once to binary32). */
export const f32 = Math.fround;

/** TFLite `Quantize` used for activation bounds: zp + round(f / scale) in float32. */
export function quantizeFloatToInt(value: number, scale: number, zeroPoint: number): number {
  return zeroPoint + roundHalfAwayFromZero(f32(f32(value) / f32(scale)));
}

export type ActivationKind = 'NONE' | 'RELU' | 'RELU_N1_TO_1' | 'RELU6' | string;

/**
 * TFLite CalculateActivationRangeQuantized: the [min, max] clamp of a fused activation on a
 * quantized output with `scale`/`zeroPoint`, intersected with the dtype range [qmin, qmax].
 * TANH/SIGN_BIT and NONE give the dtype range (TFLite does the same).
 */
export function activationRangeQuantized(
  activation: ActivationKind,
  scale: number,
  zeroPoint: number,
  qmin: number,
  qmax: number,
): { min: number; max: number } {
  const q = (f: number) => quantizeFloatToInt(f, scale, zeroPoint);
  switch (activation) {
    case 'RELU':
      return { min: Math.max(qmin, q(0)), max: qmax };
    case 'RELU6':
      return { min: Math.max(qmin, q(0)), max: Math.min(qmax, q(6)) };
    case 'RELU_N1_TO_1':
      return { min: Math.max(qmin, q(-1)), max: Math.min(qmax, q(1)) };
    default:
      return { min: qmin, max: qmax };
  }
}
