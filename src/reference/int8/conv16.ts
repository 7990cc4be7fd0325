/**
 * CONV_2D and DEPTHWISE_CONV_2D in 16x8: int16 activations (symmetric, zero point 0), int8
 * per-channel weights (TFLite Micro reference kernels ConvPerChannel / DepthwiseConvPerChannel
 * for int16 input).
 *
 * Layouts as for int8 (conv.ts): input [N,H,W,Cin] int16; CONV_2D filter [Cout,KH,KW,Cin/groups],
 * DEPTHWISE filter [1,KH,KW,Cin*depthMultiplier]; output [N,OH,OW,Cout] int16.
 *
 * Per output element: acc = sum(filter * input) over the window points inside the image, plus
 * the bias, then requantized and clamped to the fused activation's int16 range. No offsets:
 * both zero points must be 0 (TFLM checks this at Prepare). The accumulator depends on the bias:
 *   int64 bias or none:     int64 accumulator, MultiplyByQuantizedMultiplier(int64) (multiplier
 *                           reduced to 16 bits, one rounding shift). This is the converter's 16x8
 *                           form; the goldens (TFLM 90b983c) take this path without a bias too.
 *   int32 bias (CONV_2D):   int32 accumulator (wrapping), MultiplyByQuantizedMultiplier(int32), as
 *                           newer TFLM dispatches a model converted with int32 16x8 biases.
 *   int32 bias (DEPTHWISE): refused: TFLM reads a 16x8 depthwise bias as int64 only.
 * Multipliers: quantizeMultiplier(double(inScale) * double(filterScale[c]) / double(outScale)).
 */
import type { Op, Tensor } from '../../ir/graph.ts';
import { activationRangeQuantized, multiplyByQuantizedMultiplier, multiplyByQuantizedMultiplierInt64 } from '../fixedpoint.ts';
import { perChannelMultipliers } from './params.ts';
import {
  channelScales,
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

interface Requant16 {
  multipliers: Int32Array;
  shifts: Int32Array;
  actMin: number;
  actMax: number;
}

/** Checks the 16x8 dtypes and zero points and computes the per-channel requantization. */
function requant16(op: Op, ctx: PrepareContext, channels: number): Requant16 {
  const x = input(op, ctx, 0);
  const w = input(op, ctx, 1);
  const y = output(op, ctx);
  requireDtype(op, x, 'int16');
  requireDtype(op, w, 'int8');
  requireDtype(op, y, 'int16');
  if (zeroPointOf(x) !== 0 || zeroPointOf(y) !== 0) {
    throw unsupported(op, `has int16 activations with a non-zero zero point (input ${zeroPointOf(x)}, output ${zeroPointOf(y)}; the 16x8 scheme is symmetric)`);
  }
  const outScale = scaleOf(op, y);
  const qs = perChannelMultipliers(scaleOf(op, x), channelScales(op, w, channels), outScale, channels);
  const act = activationRangeQuantized(fusedActivation(op), outScale, 0, -32768, 32767);
  return { multipliers: Int32Array.from(qs, (q) => q.multiplier), shifts: Int32Array.from(qs, (q) => q.shift), actMin: act.min, actMax: act.max };
}

/** The bias as int64 (bigint) or int32 values, or undefined; checks its length. */
function bias16(op: Op, ctx: PrepareContext, channels: number): { wide: BigInt64Array | undefined; narrow: Int32Array | undefined; tensor: Tensor | undefined } {
  const b = optionalInput(op, ctx, 2);
  if (b === undefined) return { wide: undefined, narrow: undefined, tensor: undefined };
  requireDtype(op, b, 'int64', 'int32');
  const data = ctx.constant(b.index);
  if (data.length < channels) throw unsupported(op, `has a bias of ${data.length} values for ${channels} channels`);
  return b.dtype === 'int64' ? { wide: data as BigInt64Array, narrow: undefined, tensor: b } : { wide: undefined, narrow: data as Int32Array, tensor: b };
}

function windowOf(op: Op, x: Tensor, y: Tensor, w: Tensor) {
  if (x.shape.length !== 4 || y.shape.length !== 4 || w.shape.length !== 4) throw unsupported(op, 'needs 4-D NHWC input, filter and output');
  const pads = numberArrayAttr(op, 'pads');
  return {
    batches: x.shape[0]!,
    inH: x.shape[1]!,
    inW: x.shape[2]!,
    inC: x.shape[3]!,
    outH: y.shape[1]!,
    outW: y.shape[2]!,
    outC: y.shape[3]!,
    kH: w.shape[1]!,
    kW: w.shape[2]!,
    strideH: numberAttr(op, 'strideH', 1),
    strideW: numberAttr(op, 'strideW', 1),
    dilationH: numberAttr(op, 'dilationH', 1),
    dilationW: numberAttr(op, 'dilationW', 1),
    padTop: pads[0] ?? 0,
    padLeft: pads[1] ?? 0,
  };
}

/** Requantizes one accumulator (number for the int32 path, exact integer for the int64 path). */
function finish(acc: number, wideBias: bigint | undefined, wide: boolean, rq: Requant16, c: number): number {
  const v = wide
    ? multiplyByQuantizedMultiplierInt64(BigInt(acc) + (wideBias ?? 0n), rq.multipliers[c]!, rq.shifts[c]!)
    : multiplyByQuantizedMultiplier(acc | 0, rq.multipliers[c]!, rq.shifts[c]!);
  return v < rq.actMin ? rq.actMin : v > rq.actMax ? rq.actMax : v;
}

export function prepareConv2dS16(op: Op, ctx: PrepareContext): EvalFn {
  const x = input(op, ctx, 0);
  const w = input(op, ctx, 1);
  const y = output(op, ctx);
  const g = windowOf(op, x, y, w);
  const filterInC = w.shape[3]!;
  if (g.inC % filterInC !== 0) throw unsupported(op, `has ${g.inC} input channels, not a multiple of the filter's ${filterInC}`);
  const perGroup = g.outC / (g.inC / filterInC);
  const rq = requant16(op, ctx, g.outC);
  const filter = ctx.constant(w.index) as Int8Array;
  const b = bias16(op, ctx, g.outC);
  const wide = b.narrow === undefined;
  const xi = x.index;
  const yi = y.index;

  return (values) => {
    const inp = read(values, xi) as Int16Array;
    const out = read(values, yi) as Int16Array;
    for (let n = 0; n < g.batches; n++) {
      for (let oy = 0; oy < g.outH; oy++) {
        const inYOrigin = oy * g.strideH - g.padTop;
        for (let ox = 0; ox < g.outW; ox++) {
          const inXOrigin = ox * g.strideW - g.padLeft;
          const outBase = ((n * g.outH + oy) * g.outW + ox) * g.outC;
          for (let oc = 0; oc < g.outC; oc++) {
            const inCBase = Math.floor(oc / perGroup) * filterInC;
            // int64 path: the sum is exact in a double (|term| < 2^22, far fewer than 2^31 terms).
            let acc = 0;
            for (let fy = 0; fy < g.kH; fy++) {
              const iy = inYOrigin + g.dilationH * fy;
              if (iy < 0 || iy >= g.inH) continue;
              for (let fx = 0; fx < g.kW; fx++) {
                const ix = inXOrigin + g.dilationW * fx;
                if (ix < 0 || ix >= g.inW) continue;
                const inBase = ((n * g.inH + iy) * g.inW + ix) * g.inC + inCBase;
                const fBase = ((oc * g.kH + fy) * g.kW + fx) * filterInC;
                if (wide) {
                  for (let ic = 0; ic < filterInC; ic++) acc += filter[fBase + ic]! * inp[inBase + ic]!;
                } else {
                  for (let ic = 0; ic < filterInC; ic++) acc = (acc + filter[fBase + ic]! * inp[inBase + ic]!) | 0;
                }
              }
            }
            if (!wide && b.narrow !== undefined) acc = (acc + b.narrow[oc]!) | 0;
            out[outBase + oc] = finish(acc, b.wide?.[oc], wide, rq, oc);
          }
        }
      }
    }
  };
}

export function prepareDepthwiseConv2dS16(op: Op, ctx: PrepareContext): EvalFn {
  const x = input(op, ctx, 0);
  const w = input(op, ctx, 1);
  const y = output(op, ctx);
  const g = windowOf(op, x, y, w);
  const depthMultiplier = numberAttr(op, 'depthMultiplier', g.outC / g.inC);
  if (g.inC * depthMultiplier !== g.outC) {
    throw unsupported(op, `has ${g.outC} output channels, not ${g.inC} input channels x depth multiplier ${depthMultiplier}`);
  }
  const rq = requant16(op, ctx, g.outC);
  const filter = ctx.constant(w.index) as Int8Array;
  const b = bias16(op, ctx, g.outC);
  if (b.narrow !== undefined) {
    throw unsupported(op, `has an int32 bias with int16 activations (TFLite Micro's 16x8 depthwise convolution reads an int64 bias): requantize the model with the 16x8 converter, which writes int64 biases`);
  }
  const xi = x.index;
  const yi = y.index;

  return (values) => {
    const inp = read(values, xi) as Int16Array;
    const out = read(values, yi) as Int16Array;
    for (let n = 0; n < g.batches; n++) {
      for (let oy = 0; oy < g.outH; oy++) {
        const inYOrigin = oy * g.strideH - g.padTop;
        for (let ox = 0; ox < g.outW; ox++) {
          const inXOrigin = ox * g.strideW - g.padLeft;
          const outBase = ((n * g.outH + oy) * g.outW + ox) * g.outC;
          for (let ic = 0; ic < g.inC; ic++) {
            for (let m = 0; m < depthMultiplier; m++) {
              const oc = ic * depthMultiplier + m;
              let acc = 0;
              for (let fy = 0; fy < g.kH; fy++) {
                const iy = inYOrigin + g.dilationH * fy;
                if (iy < 0 || iy >= g.inH) continue;
                for (let fx = 0; fx < g.kW; fx++) {
                  const ix = inXOrigin + g.dilationW * fx;
                  if (ix < 0 || ix >= g.inW) continue;
                  acc += filter[(fy * g.kW + fx) * g.outC + oc]! * inp[((n * g.inH + iy) * g.inW + ix) * g.inC + ic]!;
                }
              }
              out[outBase + oc] = finish(acc, b.wide?.[oc], true, rq, oc);
            }
          }
        }
      }
    }
  };
}
