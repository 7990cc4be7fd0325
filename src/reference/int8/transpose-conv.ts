/**
 * TRANSPOSE_CONV, int8 activations with per-channel int8 weights (TFLite Micro reference
 * kernel reference_integer_ops::TransposeConv).
 *
 * Inputs (TFLite's order): outputShape int32 [4] (constant; the output tensor's own shape is
 * used), filter [Cout,KH,KW,Cin] int8 symmetric, x [N,H,W,Cin] int8, bias [Cout] int32 or absent.
 * Output [N,OH,OW,Cout] int8.
 *
 * Every input element is scattered into an int32 accumulator of the output's size:
 * acc[n, iy*strideH - padTop + fy, ix*strideW - padLeft + fx, oc] += (x + inputOffset) * w[oc,fy,fx,ic]
 * for the positions inside the output. Then per element: + bias, multiplyByQuantizedMultiplier
 * with the per-channel multiplier (double(inScale) * double(filterScale[c]) / double(outScale)),
 * + output zero point, clamped to the fused activation's range. padTop/padLeft are those of the
 * forward convolution from the output back to the input (the importer resolves them).
 */
import type { Op } from '../../ir/graph.ts';
import { activationRangeQuantized, multiplyByQuantizedMultiplier } from '../fixedpoint.ts';
import { perChannelMultipliers } from './params.ts';
import {
  channelScales,
  dtypeRange,
  fusedActivation,
  input,
  numberArrayAttr,
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

export function prepareTransposeConv(op: Op, ctx: PrepareContext): EvalFn {
  const w = input(op, ctx, 1);
  const x = input(op, ctx, 2);
  const b = optionalInput(op, ctx, 3);
  const y = output(op, ctx);
  requireDtype(op, x, 'int8');
  requireDtype(op, w, 'int8');
  requireDtype(op, y, 'int8');
  if (x.shape.length !== 4 || y.shape.length !== 4 || w.shape.length !== 4) throw unsupported(op, 'needs 4-D NHWC input, filter and output');
  const [batches, inH, inW, inC] = x.shape as [number, number, number, number];
  const [outC, kH, kW, filterInC] = w.shape as [number, number, number, number];
  const [outBatches, outH, outW, yC] = y.shape as [number, number, number, number];
  if (filterInC !== inC || yC !== outC || outBatches !== batches) {
    throw unsupported(op, `has filter [${w.shape}] that does not match input [${x.shape}] and output [${y.shape}]`);
  }
  if ((w.quant?.zeroPoint ?? []).some((z) => z !== 0)) throw unsupported(op, `has weights '${w.name}' with a non-zero zero point (int8 weights are symmetric)`);
  const strideH = numberAttr(op, 'strideH');
  const strideW = numberAttr(op, 'strideW');
  const pads = numberArrayAttr(op, 'pads');
  const padTop = pads[0] ?? 0;
  const padLeft = pads[1] ?? 0;
  const outScale = scaleOf(op, y);
  const qs = perChannelMultipliers(scaleOf(op, x), channelScales(op, w, outC), outScale, outC);
  const range = dtypeRange('int8');
  const act = activationRangeQuantized(fusedActivation(op), outScale, zeroPointOf(y), range.min, range.max);
  const inputOffset = -zeroPointOf(x);
  const outputOffset = zeroPointOf(y);
  const filter = ctx.constant(w.index) as Int8Array;
  let bias: Int32Array | undefined;
  if (b !== undefined) {
    requireDtype(op, b, 'int32');
    bias = ctx.constant(b.index) as Int32Array;
    if (bias.length < outC) throw unsupported(op, `has a bias of ${bias.length} values for ${outC} channels`);
  }
  const scratch = new Int32Array(batches * outH * outW * outC);
  const xi = x.index;
  const yi = y.index;

  return (values) => {
    const inp = read(values, xi) as Int8Array;
    const out = read(values, yi) as Int8Array;
    scratch.fill(0);
    for (let n = 0; n < batches; n++) {
      for (let iy = 0; iy < inH; iy++) {
        for (let ix = 0; ix < inW; ix++) {
          for (let ic = 0; ic < inC; ic++) {
            const v = inp[((n * inH + iy) * inW + ix) * inC + ic]! + inputOffset;
            const oyOrigin = iy * strideH - padTop;
            const oxOrigin = ix * strideW - padLeft;
            for (let fy = 0; fy < kH; fy++) {
              const oy = oyOrigin + fy;
              if (oy < 0 || oy >= outH) continue;
              for (let fx = 0; fx < kW; fx++) {
                const ox = oxOrigin + fx;
                if (ox < 0 || ox >= outW) continue;
                const outBase = ((n * outH + oy) * outW + ox) * outC;
                for (let oc = 0; oc < outC; oc++) {
                  scratch[outBase + oc] = (scratch[outBase + oc]! + v * filter[((oc * kH + fy) * kW + fx) * inC + ic]!) | 0;
                }
              }
            }
          }
        }
      }
    }
    for (let i = 0; i < scratch.length; i++) {
      const oc = i % outC;
      let acc = scratch[i]!;
      if (bias !== undefined) acc = (acc + bias[oc]!) | 0;
      let v = multiplyByQuantizedMultiplier(acc, qs[oc]!.multiplier, qs[oc]!.shift) + outputOffset;
      v = v < act.min ? act.min : v > act.max ? act.max : v;
      out[i] = v;
    }
  };
}
