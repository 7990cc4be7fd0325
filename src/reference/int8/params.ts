/**
 * Prepare-time constants of the int8 kernels, computed exactly as TFLite Micro's Prepare
 * functions compute them (float32 vs double steps included). The reference kernels use these
 * functions, and code generators must use them too, so every backend bakes in the same
 * multipliers and shifts. Scales are float32 values (as stored in the model).
 */
import {
  calculateInputRadius,
  frexp,
  preprocessSoftmaxScaling,
  quantizeMultiplier,
  quantizeMultiplierSmallerThanOneExp,
  roundHalfAwayFromZero,
  type QuantizedMultiplier,
} from '../fixedpoint.ts';

const f32 = Math.fround;

/**
 * CONV_2D / DEPTHWISE_CONV_2D (and per-channel FULLY_CONNECTED): one multiplier per output
 * channel from double(inScale) * double(filterScale[c]) / double(outScale); a single filter
 * scale is broadcast to every channel.
 */
export function perChannelMultipliers(inScale: number, filterScales: readonly number[], outScale: number, channels: number): QuantizedMultiplier[] {
  return Array.from({ length: channels }, (_, c) =>
    quantizeMultiplier((f32(inScale) * f32(filterScales.length === 1 ? filterScales[0]! : filterScales[c]!)) / f32(outScale)),
  );
}

/** Per-tensor FULLY_CONNECTED: the input x filter product is taken in float32 first. */
export function fullyConnectedPerTensorMultiplier(inScale: number, filterScale: number, outScale: number): QuantizedMultiplier {
  return quantizeMultiplier(f32(f32(inScale) * f32(filterScale)) / f32(outScale));
}

export interface AddParams {
  leftShift: number;
  input1: QuantizedMultiplier;
  input2: QuantizedMultiplier;
  output: QuantizedMultiplier;
}

/** ADD (int8: left shift 20; int16: 15): both inputs to 2 * max scale, then to the output. */
export function addParams(s1: number, s2: number, outScale: number, dtype: 'int8' | 'int16' = 'int8'): AddParams {
  const leftShift = dtype === 'int16' ? 15 : 20;
  const twiceMax = 2 * Math.max(f32(s1), f32(s2));
  return {
    leftShift,
    input1: quantizeMultiplierSmallerThanOneExp(f32(s1) / twiceMax),
    input2: quantizeMultiplierSmallerThanOneExp(f32(s2) / twiceMax),
    output: quantizeMultiplierSmallerThanOneExp(twiceMax / (2 ** leftShift * f32(outScale))),
  };
}

/** MUL: double(s1) * double(s2) / double(outScale). */
export function mulMultiplier(s1: number, s2: number, outScale: number): QuantizedMultiplier {
  return quantizeMultiplier((f32(s1) * f32(s2)) / f32(outScale));
}

/** QUANTIZE between integer types (requantization): double(inScale) / double(outScale). */
export function requantizeMultiplier(inScale: number, outScale: number): QuantizedMultiplier {
  return quantizeMultiplier(f32(inScale) / f32(outScale));
}

/** SVDF: both effective scales are computed in float32, then widened to double. */
export function svdfMultipliers(
  inScale: number,
  weightsFeatureScale: number,
  stateScale: number,
  weightsTimeScale: number,
  outScale: number,
): { feature: QuantizedMultiplier; time: QuantizedMultiplier } {
  return {
    feature: quantizeMultiplier(f32(f32(f32(inScale) * f32(weightsFeatureScale)) / f32(stateScale))),
    time: quantizeMultiplier(f32(f32(f32(stateScale) * f32(weightsTimeScale)) / f32(outScale))),
  };
}

/** Integer bits of the softmax input difference (Q5.26) and of the exp accumulator (Q12.19). */
export const SOFTMAX_SCALED_DIFF_INTEGER_BITS = 5;
export const SOFTMAX_ACCUMULATION_INTEGER_BITS = 12;

export interface SoftmaxParams {
  inputMultiplier: number;
  inputLeftShift: number;
  /** Differences (x - rowMax) below this contribute exp = 0. */
  diffMin: number;
}

/** int8-input SOFTMAX: beta * inputScale into Q5.26 (multiplier >= 1), and diffMin. */
export function softmaxParams(beta: number, inputScale: number): SoftmaxParams {
  const q = preprocessSoftmaxScaling(f32(beta), f32(inputScale), SOFTMAX_SCALED_DIFF_INTEGER_BITS);
  return {
    inputMultiplier: q.multiplier,
    inputLeftShift: q.shift,
    diffMin: -calculateInputRadius(SOFTMAX_SCALED_DIFF_INTEGER_BITS, q.shift),
  };
}

/** Integer bits of the LOGISTIC/TANH fixed-point input (Q4.27). */
export const SIGMOID_INPUT_INTEGER_BITS = 4;

/**
 * int8 LOGISTIC / TANH: frexp(inScale * 2^27) with the mantissa rounded to Q0.31 (no 2^31
 * fix-up: TFLM casts it to int32 directly), and the saturation radius.
 */
export function sigmoidFamilyParams(inputScale: number): { multiplier: number; shift: number; radius: number } {
  const { mantissa, exponent } = frexp(f32(inputScale) * 2 ** (31 - SIGMOID_INPUT_INTEGER_BITS));
  const multiplier = roundHalfAwayFromZero(mantissa * 2 ** 31) | 0;
  return { multiplier, shift: exponent, radius: calculateInputRadius(SIGMOID_INPUT_INTEGER_BITS, exponent, 31) };
}
