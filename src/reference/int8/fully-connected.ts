/**
 * FULLY_CONNECTED (TFLite Micro reference: FullyConnected / FullyConnectedPerChannel).
 *
 * Layouts: input [..., K] (all leading dims are batches), weights [units, K] int8, bias [units]
 * (int32; int64 for int16 activations), output [batches, units].
 *
 * int8 x int8 -> int8: acc = sum((w - wZp) * (x - xZp)) + bias, then
 * multiplyByQuantizedMultiplier(acc) + yZp, clamped to the fused activation range.
 * The multiplier differs by path, exactly as TFLM computes it at Prepare:
 *   per-tensor weights:  double(float(xScale * wScale)) / double(yScale)  (product in float32)
 *   per-channel weights: double(xScale) * double(wScale[c]) / double(yScale)
 * int16 x int8 -> int16 (zero points 0): an int64 accumulator with the int64 requantizer when
 * the bias is int64 or absent (the converter's 16x8 form; TFLM 90b983c, which made the goldens,
 * reads a 16x8 bias as int64), an int32 accumulator with the int32 requantizer for an int32 bias
 * (newer TFLM's dispatch for models converted with int32 16x8 biases).
 */
import type { Op } from '../../ir/graph.ts';
import {
  activationRangeQuantized,
  multiplyByQuantizedMultiplier,
  multiplyByQuantizedMultiplierInt64,
} from '../fixedpoint.ts';
import { fullyConnectedPerTensorMultiplier, perChannelMultipliers } from './params.ts';
import {
  dtypeRange,
  elements,
  fusedActivation,
  input,
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

export function prepareFullyConnected(op: Op, ctx: PrepareContext): EvalFn {
  const x = input(op, ctx, 0);
  const w = input(op, ctx, 1);
  const b = optionalInput(op, ctx, 2);
  const y = output(op, ctx);
  requireDtype(op, x, 'int8', 'int16');
  requireDtype(op, w, 'int8');
  requireDtype(op, y, x.dtype);
  if (w.shape.length !== 2) throw unsupported(op, 'needs 2-D weights [units, K]');
  const units = w.shape[0]!;
  const depth = w.shape[1]!;
  const outUnits = y.shape[y.shape.length - 1]!;
  if (outUnits !== units) throw unsupported(op, `has ${outUnits} output units but ${units} weight rows`);
  const batches = elements(y) / units;
  if (elements(x) !== batches * depth) throw unsupported(op, `input has ${elements(x)} values, not ${batches} x ${depth}`);

  const wScales = w.quant?.scale ?? [];
  if (wScales.length === 0) throw unsupported(op, `weights '${w.name}' are not quantized`);
  const perChannel = wScales.length > 1;
  if (perChannel && wScales.length !== units) throw unsupported(op, `has ${wScales.length} weight scales for ${units} units`);
  const xScale = scaleOf(op, x);
  const yScale = scaleOf(op, y);
  const qs = perChannel
    ? perChannelMultipliers(xScale, wScales, yScale, units)
    : new Array(units).fill(fullyConnectedPerTensorMultiplier(xScale, wScales[0]!, yScale));
  const multipliers = Int32Array.from(qs, (q) => q.multiplier);
  const shifts = Int32Array.from(qs, (q) => q.shift);
  const range = dtypeRange(y.dtype);
  const act = activationRangeQuantized(fusedActivation(op), yScale, zeroPointOf(y), range.min, range.max);
  const inputOffset = -zeroPointOf(x);
  // Per-channel weights are symmetric by spec; TFLM applies the weight offset per-tensor only.
  const weightOffset = perChannel ? 0 : -(w.quant?.zeroPoint[0] ?? 0);
  const outputOffset = zeroPointOf(y);
  const weights = ctx.constant(w.index) as Int8Array;
  let bias: Int32Array | BigInt64Array | undefined;
  if (b !== undefined) {
    requireDtype(op, b, 'int32', 'int64');
    bias = ctx.constant(b.index) as Int32Array | BigInt64Array;
  }
  const wide = bias instanceof BigInt64Array || (bias === undefined && x.dtype === 'int16');
  if (x.dtype === 'int16' && (inputOffset !== 0 || outputOffset !== 0)) {
    throw unsupported(op, 'has int16 activations with a non-zero zero point (the int16 scheme is symmetric)');
  }
  if (wide && x.dtype !== 'int16') throw unsupported(op, 'has an int64 bias with int8 activations');
  const xi = x.index;
  const yi = y.index;

  return (values) => {
    const inp = read(values, xi) as Int8Array | Int16Array;
    const out = read(values, yi) as Int8Array | Int16Array;
    for (let bt = 0; bt < batches; bt++) {
      const inBase = bt * depth;
      for (let u = 0; u < units; u++) {
        const wBase = u * depth;
        let acc = 0;
        for (let d = 0; d < depth; d++) {
          acc += (weights[wBase + d]! + weightOffset) * (inp[inBase + d]! + inputOffset);
        }
        let v: number;
        if (wide) {
          const acc64 = BigInt(acc) + (bias === undefined ? 0n : (bias as BigInt64Array)[u]!);
          v = multiplyByQuantizedMultiplierInt64(acc64, multipliers[u]!, shifts[u]!);
        } else {
          if (bias !== undefined) acc += (bias as Int32Array)[u]!;
          v = multiplyByQuantizedMultiplier(acc | 0, multipliers[u]!, shifts[u]!);
        }
        v += outputOffset;
        out[bt * units + u] = v < act.min ? act.min : v > act.max ? act.max : v;
      }
    }
  };
}
