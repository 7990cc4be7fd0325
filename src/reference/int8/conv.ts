/**
 * CONV_2D and DEPTHWISE_CONV_2D, int8 activations with per-channel int8 weights (TFLite Micro
 * reference kernels ConvPerChannel / DepthwiseConvPerChannel).
 *
 * Layouts: input [N,H,W,Cin] int8; CONV_2D filter [Cout,KH,KW,Cin/groups], DEPTHWISE filter
 * [1,KH,KW,Cin*depthMultiplier]; bias [Cout] int32 (optional); output [N,OH,OW,Cout] int8.
 *
 * Per output element: acc = sum(filter * (input - inputZp)) over the window points inside the
 * image (padding contributes nothing), + bias, then
 * multiplyByQuantizedMultiplier(acc, M[c], shift[c]) + outputZp, clamped to the fused
 * activation's quantized range. M/shift come from quantizeMultiplier(double(inScale) *
 * double(filterScale[c]) / double(outScale)); a per-tensor filter scale is broadcast.
 * Only the top/left padding offsets matter (TFLite's padding_values).
 */
import type { Op } from '../../ir/graph.ts';
import { activationRangeQuantized, multiplyByQuantizedMultiplier } from '../fixedpoint.ts';
import { perChannelMultipliers } from './params.ts';
import { prepareConv2dS16, prepareDepthwiseConv2dS16 } from './conv16.ts';
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

interface ConvGeometry {
  batches: number;
  inH: number;
  inW: number;
  inC: number;
  outH: number;
  outW: number;
  outC: number;
  kH: number;
  kW: number;
  strideH: number;
  strideW: number;
  dilationH: number;
  dilationW: number;
  padTop: number;
  padLeft: number;
}

interface Requant {
  multipliers: Int32Array;
  shifts: Int32Array;
  inputOffset: number;
  outputOffset: number;
  actMin: number;
  actMax: number;
}

function geometry(op: Op, inShape: number[], outShape: number[], kH: number, kW: number): ConvGeometry {
  if (inShape.length !== 4 || outShape.length !== 4) throw unsupported(op, 'needs 4-D NHWC input and output');
  const pads = numberArrayAttr(op, 'pads');
  return {
    batches: inShape[0]!,
    inH: inShape[1]!,
    inW: inShape[2]!,
    inC: inShape[3]!,
    outH: outShape[1]!,
    outW: outShape[2]!,
    outC: outShape[3]!,
    kH,
    kW,
    strideH: numberAttr(op, 'strideH', 1),
    strideW: numberAttr(op, 'strideW', 1),
    dilationH: numberAttr(op, 'dilationH', 1),
    dilationW: numberAttr(op, 'dilationW', 1),
    padTop: pads[0] ?? 0,
    padLeft: pads[1] ?? 0,
  };
}

/** Prepare-time requantization parameters shared by both convolutions. */
function requantParams(op: Op, ctx: PrepareContext, outChannels: number): Requant {
  const x = input(op, ctx, 0);
  const w = input(op, ctx, 1);
  const y = output(op, ctx);
  requireDtype(op, x, 'int8');
  requireDtype(op, w, 'int8');
  requireDtype(op, y, 'int8');
  const inScale = scaleOf(op, x);
  const outScale = scaleOf(op, y);
  const qs = perChannelMultipliers(inScale, channelScales(op, w, outChannels), outScale, outChannels);
  const multipliers = Int32Array.from(qs, (q) => q.multiplier);
  const shifts = Int32Array.from(qs, (q) => q.shift);
  const range = dtypeRange('int8');
  const act = activationRangeQuantized(fusedActivation(op), outScale, zeroPointOf(y), range.min, range.max);
  return {
    multipliers,
    shifts,
    inputOffset: -zeroPointOf(x),
    outputOffset: zeroPointOf(y),
    actMin: act.min,
    actMax: act.max,
  };
}

function biasOf(op: Op, ctx: PrepareContext, channels: number): Int32Array | undefined {
  const b = optionalInput(op, ctx, 2);
  if (b === undefined) return undefined;
  requireDtype(op, b, 'int32');
  const data = ctx.constant(b.index) as Int32Array;
  if (data.length < channels) throw unsupported(op, `has a bias of ${data.length} values for ${channels} channels`);
  return data;
}

export function prepareConv2d(op: Op, ctx: PrepareContext): EvalFn {
  const x = input(op, ctx, 0);
  if (x.dtype === 'int16') return prepareConv2dS16(op, ctx); // 16x8: conv16.ts
  const w = input(op, ctx, 1);
  const y = output(op, ctx);
  if (w.shape.length !== 4) throw unsupported(op, 'needs a 4-D filter [Cout,KH,KW,Cin]');
  const g = geometry(op, x.shape, y.shape, w.shape[1]!, w.shape[2]!);
  const filterInC = w.shape[3]!;
  if (g.inC % filterInC !== 0) throw unsupported(op, `has ${g.inC} input channels, not a multiple of the filter's ${filterInC}`);
  const groups = g.inC / filterInC;
  const perGroup = g.outC / groups;
  const rq = requantParams(op, ctx, g.outC);
  const filter = ctx.constant(w.index) as Int8Array;
  const bias = biasOf(op, ctx, g.outC);
  const xi = x.index;
  const yi = y.index;

  return (values) => {
    const inp = read(values, xi) as Int8Array;
    const out = read(values, yi) as Int8Array;
    const { batches, inH, inW, inC, outH, outW, outC, kH, kW, strideH, strideW, dilationH, dilationW, padTop, padLeft } = g;
    const { multipliers, shifts, inputOffset, outputOffset, actMin, actMax } = rq;
    for (let b = 0; b < batches; b++) {
      for (let oy = 0; oy < outH; oy++) {
        const inYOrigin = oy * strideH - padTop;
        for (let ox = 0; ox < outW; ox++) {
          const inXOrigin = ox * strideW - padLeft;
          const outBase = ((b * outH + oy) * outW + ox) * outC;
          for (let oc = 0; oc < outC; oc++) {
            const inCBase = Math.floor(oc / perGroup) * filterInC;
            let acc = 0;
            for (let fy = 0; fy < kH; fy++) {
              const iy = inYOrigin + dilationH * fy;
              if (iy < 0 || iy >= inH) continue;
              for (let fx = 0; fx < kW; fx++) {
                const ix = inXOrigin + dilationW * fx;
                if (ix < 0 || ix >= inW) continue;
                const inBase = ((b * inH + iy) * inW + ix) * inC + inCBase;
                const fBase = ((oc * kH + fy) * kW + fx) * filterInC;
                for (let ic = 0; ic < filterInC; ic++) {
                  acc = (acc + filter[fBase + ic]! * (inp[inBase + ic]! + inputOffset)) | 0;
                }
              }
            }
            if (bias !== undefined) acc += bias[oc]!;
            let v = multiplyByQuantizedMultiplier(acc | 0, multipliers[oc]!, shifts[oc]!) + outputOffset;
            v = v < actMin ? actMin : v > actMax ? actMax : v;
            out[outBase + oc] = v;
          }
        }
      }
    }
  };
}

export function prepareDepthwiseConv2d(op: Op, ctx: PrepareContext): EvalFn {
  const x = input(op, ctx, 0);
  if (x.dtype === 'int16') return prepareDepthwiseConv2dS16(op, ctx); // 16x8: conv16.ts
  const w = input(op, ctx, 1);
  const y = output(op, ctx);
  if (w.shape.length !== 4) throw unsupported(op, 'needs a 4-D filter [1,KH,KW,Cout]');
  const g = geometry(op, x.shape, y.shape, w.shape[1]!, w.shape[2]!);
  const depthMultiplier = numberAttr(op, 'depthMultiplier', g.outC / g.inC);
  if (g.inC * depthMultiplier !== g.outC) {
    throw unsupported(op, `has ${g.outC} output channels, not ${g.inC} input channels x depth multiplier ${depthMultiplier}`);
  }
  const rq = requantParams(op, ctx, g.outC);
  const filter = ctx.constant(w.index) as Int8Array;
  const bias = biasOf(op, ctx, g.outC);
  const xi = x.index;
  const yi = y.index;

  return (values) => {
    const inp = read(values, xi) as Int8Array;
    const out = read(values, yi) as Int8Array;
    const { batches, inH, inW, inC, outH, outW, outC, kH, kW, strideH, strideW, dilationH, dilationW, padTop, padLeft } = g;
    const { multipliers, shifts, inputOffset, outputOffset, actMin, actMax } = rq;
    for (let b = 0; b < batches; b++) {
      for (let oy = 0; oy < outH; oy++) {
        const inYOrigin = oy * strideH - padTop;
        for (let ox = 0; ox < outW; ox++) {
          const inXOrigin = ox * strideW - padLeft;
          const outBase = ((b * outH + oy) * outW + ox) * outC;
          for (let ic = 0; ic < inC; ic++) {
            for (let m = 0; m < depthMultiplier; m++) {
              const oc = ic * depthMultiplier + m;
              let acc = 0;
              for (let fy = 0; fy < kH; fy++) {
                const iy = inYOrigin + dilationH * fy;
                if (iy < 0 || iy >= inH) continue;
                for (let fx = 0; fx < kW; fx++) {
                  const ix = inXOrigin + dilationW * fx;
                  if (ix < 0 || ix >= inW) continue;
                  const inVal = inp[((b * inH + iy) * inW + ix) * inC + ic]!;
                  acc = (acc + filter[(fy * kW + fx) * outC + oc]! * (inVal + inputOffset)) | 0;
                }
              }
              if (bias !== undefined) acc += bias[oc]!;
              let v = multiplyByQuantizedMultiplier(acc | 0, multipliers[oc]!, shifts[oc]!) + outputOffset;
              v = v < actMin ? actMin : v > actMax ? actMax : v;
              out[outBase + oc] = v;
            }
          }
        }
      }
    }
  };
}
