/**
 * SVDF with int8 input/weights_feature and an int16 (or int8) time-weights / state pair
 * (TFLite Micro EvalIntegerSvdfReference).
 *
 * Inputs: x [batch, inputSize] int8, weightsFeature [numFilters, inputSize] int8,
 * weightsTime [numFilters, memorySize] int16|int8, bias [numUnits] int32 (optional),
 * state [batch, numFilters * memorySize] (variable, same dtype as weightsTime).
 * Output [batch, numUnits] int8, numUnits = numFilters / rank.
 *
 * Per invoke: shift the whole state buffer left by one element; for each filter write
 * clamp(mbqm(sum(wf * (x - xZp)), S1) + stateZp) into the newest slot (memorySize - 1);
 * each filter's time dot product sum(wt * (state - stateZp)) (int32); per unit the bias plus the
 * `rank` filter sums; y = clamp_int8(mbqm(that, S2) + yZp). The fused activation is not applied
 * (TFLM's integer reference does not). Multipliers are computed in float32 as TFLM does:
 *   S1 = quantizeMultiplier(float(float(xScale * wfScale) / stateScale))
 *   S2 = quantizeMultiplier(float(float(stateScale * wtScale) / yScale))
 */
import type { Op } from '../../ir/graph.ts';
import { multiplyByQuantizedMultiplier } from '../fixedpoint.ts';
import { svdfMultipliers } from './params.ts';
import {
  dtypeRange,
  input,
  numberAttr,
  optionalInput,
  output,
  read,
  requireDtype,
  scaleOf,
  unsupported,
  zeroPointOf,
  type EvalFn,
  type PrepareContext,
} from './common.ts';

export function prepareSvdf(op: Op, ctx: PrepareContext): EvalFn {
  const x = input(op, ctx, 0);
  const wf = input(op, ctx, 1);
  const wt = input(op, ctx, 2);
  const b = optionalInput(op, ctx, 3);
  const st = input(op, ctx, 4);
  const y = output(op, ctx);
  requireDtype(op, x, 'int8');
  requireDtype(op, wf, 'int8');
  requireDtype(op, wt, 'int16', 'int8');
  requireDtype(op, st, wt.dtype);
  requireDtype(op, y, 'int8');
  if (!st.variable) throw unsupported(op, `has a state tensor '${st.name}' that is not a variable tensor`);
  const rank = numberAttr(op, 'rank');
  const [batches, inputSize] = x.shape as [number, number];
  const numFilters = wf.shape[0]!;
  const memorySize = wt.shape[1]!;
  if (numFilters % rank !== 0) throw unsupported(op, `has ${numFilters} filters, not a multiple of rank ${rank}`);
  const numUnits = numFilters / rank;
  const { feature: s1, time: s2 } = svdfMultipliers(scaleOf(op, x), scaleOf(op, wf), scaleOf(op, st), scaleOf(op, wt), scaleOf(op, y));
  const xZp = zeroPointOf(x);
  const stZp = zeroPointOf(st);
  const yZp = zeroPointOf(y);
  const stRange = dtypeRange(st.dtype);
  const weightsFeature = ctx.constant(wf.index) as Int8Array;
  const weightsTime = ctx.constant(wt.index) as Int16Array | Int8Array;
  let bias: Int32Array | undefined;
  if (b !== undefined) {
    requireDtype(op, b, 'int32');
    bias = ctx.constant(b.index) as Int32Array;
  }
  const xi = x.index;
  const si = st.index;
  const yi = y.index;
  const scratch = new Int32Array(batches * numFilters);
  const stateLength = batches * numFilters * memorySize;

  return (values) => {
    const inp = read(values, xi) as Int8Array;
    const state = read(values, si) as Int16Array | Int8Array;
    const out = read(values, yi) as Int8Array;
    state.copyWithin(0, 1, stateLength);
    for (let bt = 0; bt < batches; bt++) {
      for (let r = 0; r < numFilters; r++) {
        let dot = 0;
        for (let c = 0; c < inputSize; c++) dot += weightsFeature[r * inputSize + c]! * (inp[bt * inputSize + c]! - xZp);
        let v = multiplyByQuantizedMultiplier(dot | 0, s1.multiplier, s1.shift) + stZp;
        v = v < stRange.min ? stRange.min : v > stRange.max ? stRange.max : v;
        state[(bt * numFilters + r) * memorySize + memorySize - 1] = v;
      }
    }
    for (let bt = 0; bt < batches; bt++) {
      for (let r = 0; r < numFilters; r++) {
        let dot = 0;
        const sBase = (bt * numFilters + r) * memorySize;
        for (let j = 0; j < memorySize; j++) dot += weightsTime[r * memorySize + j]! * (state[sBase + j]! - stZp);
        scratch[bt * numFilters + r] = dot;
      }
    }
    for (let bt = 0; bt < batches; bt++) {
      for (let u = 0; u < numUnits; u++) {
        let acc = bias === undefined ? 0 : bias[u]!;
        for (let r = 0; r < rank; r++) acc += scratch[bt * numFilters + u * rank + r]!;
        const v = multiplyByQuantizedMultiplier(acc | 0, s2.multiplier, s2.shift) + yZp;
        out[bt * numUnits + u] = v < -128 ? -128 : v > 127 ? 127 : v;
      }
    }
  };
}
