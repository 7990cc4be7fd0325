/**
 * SOFTMAX over the last axis, int8 input -> int8 or int16 output (TFLite Micro reference
 * Softmax<int8, OutputT>, gemmlowp fixed point, no lookup table).
 *
 * Prepare (as TFLM's CalculateSoftmaxParams): the input difference (x - rowMax) is scaled by
 * beta * inputScale into Q5.26 with a multiplier >= 1 (preprocessSoftmaxScaling with 5 integer
 * bits); diffMin = -calculateInputRadius(5, leftShift): differences below it contribute 0.
 * Eval per row: sum of exp(diff) in Q12.19, reciprocal via getReciprocal, then each output is
 * roundingDivideByPOT(reciprocal * exp(diff), numBitsOverUnit + 31 - outBits) + outMin,
 * clamped to the output dtype. Output quantization is fixed by the spec: int8 zp -128 scale
 * 1/256, int16 zp -32768 scale 1/65536.
 */
import type { Op } from '../../ir/graph.ts';
import {
  expOnNegativeValues,
  getReciprocal,
  multiplyByQuantizedMultiplierGreaterThanOne,
  rescale,
  roundingDivideByPOT,
  saturatingRoundingDoublingHighMul,
} from '../fixedpoint.ts';
import {
  SOFTMAX_ACCUMULATION_INTEGER_BITS as ACCUMULATION_INTEGER_BITS,
  SOFTMAX_SCALED_DIFF_INTEGER_BITS as SCALED_DIFF_INTEGER_BITS,
  softmaxParams,
  softmaxScaleProblem,
} from './params.ts';
import {
  dtypeRange,
  elements,
  input,
  numberAttr,
  output,
  read,
  requireDtype,
  scaleOf,
  unsupported,
  zeroPointOf,
  type EvalFn,
  type PrepareContext,
} from './common.ts';
import { prepareSoftmaxS16 } from './softmax-s16.ts';

export function prepareSoftmax(op: Op, ctx: PrepareContext): EvalFn {
  const x = input(op, ctx, 0);
  if (x.dtype === 'int16') return prepareSoftmaxS16(op, ctx); // int16 -> int16: softmax-s16.ts
  const y = output(op, ctx);
  requireDtype(op, x, 'int8');
  requireDtype(op, y, 'int8', 'int16');
  const rank = x.shape.length;
  const axis = numberAttr(op, 'axis', rank - 1);
  if (rank > 0 && axis !== rank - 1) throw unsupported(op, `normalises axis ${axis}, not the last axis`);
  const outScale = scaleOf(op, y);
  const outZp = zeroPointOf(y);
  if (y.dtype === 'int8' && (outZp !== -128 || outScale !== 1 / 256)) {
    throw unsupported(op, `has int8 output scale ${outScale} / zero point ${outZp} (TFLite requires 1/256 and -128)`);
  }
  if (y.dtype === 'int16' && (outZp !== -32768 || Math.abs(outScale - 1 / 65536) > 0.001 / 65536)) {
    throw unsupported(op, `has int16 output scale ${outScale} / zero point ${outZp} (TFLite requires 1/65536 and -32768)`);
  }
  const scaleProblem = softmaxScaleProblem(numberAttr(op, 'beta', 1), scaleOf(op, x));
  if (scaleProblem) throw unsupported(op, scaleProblem);
  const p = softmaxParams(numberAttr(op, 'beta', 1), scaleOf(op, x));
  const depth = rank === 0 ? 1 : x.shape[rank - 1]!;
  const rows = elements(x) / depth;
  const outBits = y.dtype === 'int8' ? 8 : 16;
  const outRange = dtypeRange(y.dtype);
  const xi = x.index;
  const yi = y.index;
  const exps = new Int32Array(depth);

  return (values) => {
    const inp = read(values, xi) as Int8Array;
    const out = read(values, yi) as Int8Array | Int16Array;
    for (let r = 0; r < rows; r++) {
      const base = r * depth;
      let maxInRow = -128;
      for (let c = 0; c < depth; c++) if (inp[base + c]! > maxInRow) maxInRow = inp[base + c]!;

      // exp(diff) in Q0, 0 marks a difference below diffMin (it contributes nothing).
      let sumOfExps = 0; // Q12.19
      for (let c = 0; c < depth; c++) {
        const diff = inp[base + c]! - maxInRow;
        if (diff >= p.diffMin) {
          const scaled = multiplyByQuantizedMultiplierGreaterThanOne(diff, p.inputMultiplier, p.inputLeftShift);
          const e = expOnNegativeValues(scaled, SCALED_DIFF_INTEGER_BITS);
          exps[c] = e;
          sumOfExps = (sumOfExps + rescale(e, 0, ACCUMULATION_INTEGER_BITS)) | 0;
        } else {
          exps[c] = -1;
        }
      }
      const { reciprocal, numBitsOverUnit } = getReciprocal(sumOfExps, ACCUMULATION_INTEGER_BITS);
      const exponent = numBitsOverUnit + 31 - outBits;
      for (let c = 0; c < depth; c++) {
        if (exps[c] === -1) {
          out[base + c] = outRange.min;
          continue;
        }
        const unsat = roundingDivideByPOT(saturatingRoundingDoublingHighMul(reciprocal, exps[c]!), exponent);
        const v = unsat + outRange.min;
        out[base + c] = v < outRange.min ? outRange.min : v > outRange.max ? outRange.max : v;
      }
    }
  };
}
