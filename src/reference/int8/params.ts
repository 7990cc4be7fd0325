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

/**
 * SUB (int8: left shift 20; int16: 15), TFLite Micro sub_common.cc: the ADD scheme, but each
 * ratio is divided in float32 before it is widened to double.
 */
export function subParams(s1: number, s2: number, outScale: number, dtype: 'int8' | 'int16' = 'int8'): AddParams {
  const leftShift = dtype === 'int16' ? 15 : 20;
  const twiceMax = f32(2 * Math.max(f32(s1), f32(s2)));
  return {
    leftShift,
    input1: quantizeMultiplierSmallerThanOneExp(f32(f32(s1) / twiceMax)),
    input2: quantizeMultiplierSmallerThanOneExp(f32(f32(s2) / twiceMax)),
    output: quantizeMultiplierSmallerThanOneExp(f32(twiceMax / f32(2 ** leftShift * f32(outScale)))),
  };
}

/**
 * SQUARED_DIFFERENCE (int8), TFLite Micro squared_difference.cc: inputs shifted left by 7 and
 * scaled to 2 * max(s1, s2) like ADD; the squared difference is scaled by
 * twiceMax^2 / double(float(2^14 * sOut)).
 */
export function squaredDifferenceParams(s1: number, s2: number, outScale: number): AddParams {
  const leftShift = 7;
  const twiceMax = 2 * Math.max(f32(s1), f32(s2));
  return {
    leftShift,
    input1: quantizeMultiplierSmallerThanOneExp(f32(s1) / twiceMax),
    input2: quantizeMultiplierSmallerThanOneExp(f32(s2) / twiceMax),
    output: quantizeMultiplierSmallerThanOneExp((twiceMax * twiceMax) / f32(2 ** (2 * leftShift) * f32(outScale))),
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

/**
 * Why beta * inputScale has no int8 SOFTMAX form (TFLite's PreprocessSoftmaxScaling needs the
 * Q5.26 multiplier above 1, i.e. beta * inputScale > 2^-26), or undefined when it has one.
 */
export function softmaxScaleProblem(beta: number, inputScale: number): string | undefined {
  const real = f32(beta) * f32(inputScale) * 2 ** (31 - SOFTMAX_SCALED_DIFF_INTEGER_BITS);
  if (real > 1) return undefined;
  return `has beta x input scale = ${Number((beta * inputScale).toPrecision(3))}, which TFLite's fixed-point softmax cannot scale (it needs more than 2^-26): check the model's beta and the input's quantization, or re-quantize it (tinyml convert)`;
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

/** TFLite CheckedLog2 (float32): round(log2(x)) and whether x is that power of two within 1e-3. */
export function checkedLog2(x: number): { log2: number; exact: boolean } {
  const l = f32(f32(Math.log(f32(x))) * f32(1 / f32(Math.log(2))));
  const rounded = roundHalfAwayFromZero(l);
  return { log2: rounded, exact: Math.abs(f32(l - rounded)) < f32(1e-3) };
}

/**
 * int16 LOGISTIC / TANH Prepare (TFLite Micro logistic_common.cc / tanh.cc): the input scaling
 * of the table interpolation. A power-of-two input scale of 2^-12 (tanh also 2^-11) gives
 * multiplier 0 (the kernel's exact power-of-two case) with that shift; any other scale gives
 * multiplier = trunc(sIn * 3 * 4096 * 2^shift) with the smallest shift that lifts it above
 * 32767 / 2. `outputOk` says whether the output scale is 2^-15, which TFLite requires.
 */
export function sigmoidS16Params(inputScale: number, outputScale: number, kind: 'logistic' | 'tanh'): { multiplier: number; shift: number; outputOk: boolean } {
  const inLog = checkedLog2(inputScale);
  let shift = 15 - 3 + inLog.log2;
  let multiplier = 0;
  const pot = inLog.exact && (shift === 0 || (kind === 'tanh' && shift === 1));
  if (!pot) {
    let m = f32(inputScale) * 4096 * 3;
    shift = 0;
    while (m <= 32767 / 2 && shift <= 30) {
      shift++;
      m *= 2;
    }
    multiplier = Math.trunc(m);
  }
  const outLog = checkedLog2(outputScale);
  return { multiplier, shift, outputOk: outLog.exact && outLog.log2 === -15 };
}
