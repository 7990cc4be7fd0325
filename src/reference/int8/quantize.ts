/**
 * QUANTIZE and DEQUANTIZE (TFLite Micro reference AffineQuantize / Requantize / Dequantize).
 *
 * QUANTIZE float32 -> int8/int16: q = round(x / scale) + zp in float32 (TFLite: half away from
 *   zero; ONNX-imported ops with rounding 'HALF_EVEN': half to even), clamped to the dtype.
 *   Per-axis output quantization uses the scale/zp of each index along `quant.axis`.
 * QUANTIZE int -> int (int8/int16/int32 in; int8/int16/int32 out): requantization
 *   y = multiplyByQuantizedMultiplier(x - zpIn, M) + zpOut, clamped, with
 *   M = quantizeMultiplier(double(sIn) / double(sOut)).
 * DEQUANTIZE int8/int16/int32 -> float32: y = float(double(scale) * (q - zp)).
 */
import type { Op, Tensor } from '../../ir/graph.ts';
import { multiplyByQuantizedMultiplier, roundHalfAwayFromZero } from '../fixedpoint.ts';
import { requantizeMultiplier } from './params.ts';
import {
  dtypeRange,
  elements,
  input,
  output,
  read,
  requireDtype,
  scaleOf,
  unsupported,
  zeroPointOf,
  type EvalFn,
  type PrepareContext,
} from './common.ts';

function roundHalfEven(x: number): number {
  const r = Math.round(x); // half up
  return r - x === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** Per-element scale/zero-point lookup for possibly per-axis parameters. */
function perElementParams(op: Op, t: Tensor): { scales: Float64Array; zps: Int32Array; axisStride: number; axisSize: number } {
  const q = t.quant;
  if (q === undefined || q.scale.length === 0) throw unsupported(op, `tensor '${t.name}' has no quantization parameters`);
  const axisSize = q.scale.length;
  let axisStride = 1;
  if (axisSize > 1) {
    if (t.shape[q.axis] !== axisSize) throw unsupported(op, `tensor '${t.name}' has ${axisSize} scales for axis ${q.axis} of [${t.shape}]`);
    for (let i = q.axis + 1; i < t.shape.length; i++) axisStride *= t.shape[i]!;
  }
  return {
    scales: Float64Array.from(q.scale, (s) => Math.fround(s)),
    zps: Int32Array.from({ length: axisSize }, (_, i) => q.zeroPoint[i] ?? q.zeroPoint[0] ?? 0),
    axisStride,
    axisSize,
  };
}

export function prepareQuantize(op: Op, ctx: PrepareContext): EvalFn {
  const x = input(op, ctx, 0);
  const y = output(op, ctx);
  requireDtype(op, y, 'int8', 'uint8', 'int16', 'int32');
  const n = elements(y);
  const xi = x.index;
  const yi = y.index;
  const range = dtypeRange(y.dtype);

  if (x.dtype === 'float32') {
    const p = perElementParams(op, y);
    const round = op.attrs['rounding'] === 'HALF_EVEN' ? roundHalfEven : roundHalfAwayFromZero;
    return (values) => {
      const inp = read(values, xi) as Float32Array;
      const out = read(values, yi) as Int8Array | Uint8Array | Int16Array | Int32Array;
      for (let k = 0; k < n; k++) {
        const a = p.axisSize === 1 ? 0 : Math.floor(k / p.axisStride) % p.axisSize;
        const v = round(Math.fround(inp[k]! / p.scales[a]!)) + p.zps[a]!;
        out[k] = v < range.min ? range.min : v > range.max ? range.max : v;
      }
    };
  }

  requireDtype(op, x, 'int8', 'uint8', 'int16', 'int32');
  if ((y.quant?.scale.length ?? 0) > 1) throw unsupported(op, 'requantizes to per-axis parameters');
  const m = requantizeMultiplier(scaleOf(op, x), scaleOf(op, y));
  const zpIn = zeroPointOf(x);
  const zpOut = zeroPointOf(y);
  return (values) => {
    const inp = read(values, xi) as Int8Array | Uint8Array | Int16Array | Int32Array;
    const out = read(values, yi) as Int8Array | Uint8Array | Int16Array | Int32Array;
    for (let k = 0; k < n; k++) {
      const v = multiplyByQuantizedMultiplier((inp[k]! - zpIn) | 0, m.multiplier, m.shift) + zpOut;
      out[k] = v < range.min ? range.min : v > range.max ? range.max : v;
    }
  };
}

export function prepareDequantize(op: Op, ctx: PrepareContext): EvalFn {
  const x = input(op, ctx, 0);
  const y = output(op, ctx);
  requireDtype(op, x, 'int8', 'uint8', 'int16', 'int32');
  requireDtype(op, y, 'float32');
  const p = perElementParams(op, x);
  const n = elements(y);
  const xi = x.index;
  const yi = y.index;
  const c = x.data !== undefined && !x.variable ? ctx.constant(xi) : undefined;
  return (values) => {
    const inp = (c ?? read(values, xi)) as Int8Array | Uint8Array | Int16Array | Int32Array;
    const out = read(values, yi) as Float32Array;
    for (let k = 0; k < n; k++) {
      const a = p.axisSize === 1 ? 0 : Math.floor(k / p.axisStride) % p.axisSize;
      out[k] = p.scales[a]! * (inp[k]! - p.zps[a]!);
    }
  };
}
