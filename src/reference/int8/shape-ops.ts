/**
 * Data-movement ops on quantized tensors: RESHAPE (byte copy), CONCATENATION and PAD
 * (TFLite Micro reference: no requantization, so inputs and output must share scale and zero
 * point), and MEAN (TFLite Micro reduce: same-quantization mean with truncating division, or
 * QuantizedMeanOrSum with a rescaling multiplier).
 */
import type { Op, Tensor } from '../../ir/graph.ts';
import { countLeadingZeros32, multiplyByQuantizedMultiplier, quantizeMultiplier } from '../fixedpoint.ts';
import {
  dtypeRange,
  elements,
  fusedActivation,
  input,
  numberArrayAttr,
  numberAttr,
  output,
  read,
  scaleOf,
  unsupported,
  zeroPointOf,
  type EvalFn,
  type PrepareContext,
} from './common.ts';

const QUANTIZED = ['int8', 'int16', 'uint8', 'int32'];

function requireQuantized(op: Op, t: Tensor): void {
  if (!QUANTIZED.includes(t.dtype)) throw unsupported(op, `has tensor '${t.name}' of dtype ${t.dtype}`);
}

function requireSameQuantization(op: Op, a: Tensor, b: Tensor): void {
  if (a.dtype !== b.dtype || scaleOf(op, a) !== scaleOf(op, b) || zeroPointOf(a) !== zeroPointOf(b)) {
    throw unsupported(op, `mixes quantization of '${a.name}' and '${b.name}' (TFLite Micro requires identical scale and zero point)`);
  }
}

/** A value that may come from the store or be a graph constant. */
function source(ctx: PrepareContext, t: Tensor): (values: Map<number, unknown>) => ArrayLike<number> {
  if (t.data !== undefined && !t.variable) {
    const c = ctx.constant(t.index) as unknown as ArrayLike<number>;
    return () => c;
  }
  return (values) => read(values as never, t.index) as unknown as ArrayLike<number>;
}

export function prepareReshape(op: Op, ctx: PrepareContext): EvalFn {
  const x = input(op, ctx, 0);
  const y = output(op, ctx);
  if (x.dtype !== y.dtype || elements(x) !== elements(y)) throw unsupported(op, 'changes dtype or element count');
  const get = source(ctx, x);
  const yi = y.index;
  return (values) => {
    (read(values, yi) as unknown as { set(a: ArrayLike<number>): void }).set(get(values));
  };
}

export function prepareConcatenation(op: Op, ctx: PrepareContext): EvalFn {
  const y = output(op, ctx);
  requireQuantized(op, y);
  if (fusedActivation(op) !== 'NONE') throw unsupported(op, 'has a fused activation');
  const axis = numberAttr(op, 'axis');
  const inputs = op.inputs.map((_, i) => input(op, ctx, i));
  for (const t of inputs) requireSameQuantization(op, t, y);
  const outer = y.shape.slice(0, axis).reduce((a, b) => a * b, 1);
  const inner = y.shape.slice(axis + 1).reduce((a, b) => a * b, 1);
  const chunks = inputs.map((t) => (t.shape[axis] ?? 1) * inner);
  const total = chunks.reduce((a, b) => a + b, 0);
  if (total * outer !== elements(y)) throw unsupported(op, 'has inputs that do not add up to the output shape');
  const getters = inputs.map((t) => source(ctx, t));
  const yi = y.index;
  return (values) => {
    const out = read(values, yi) as unknown as number[];
    for (let o = 0; o < outer; o++) {
      let off = o * total;
      for (let i = 0; i < inputs.length; i++) {
        const src = getters[i]!(values);
        const len = chunks[i]!;
        const base = o * len;
        for (let k = 0; k < len; k++) out[off + k] = src[base + k]!;
        off += len;
      }
    }
  };
}

export function preparePad(op: Op, ctx: PrepareContext): EvalFn {
  const x = input(op, ctx, 0);
  const y = output(op, ctx);
  requireQuantized(op, x);
  requireSameQuantization(op, x, y);
  if ((op.attrs['mode'] ?? 'CONSTANT') !== 'CONSTANT') throw unsupported(op, `uses padding mode ${String(op.attrs['mode'])}`);
  const pads = numberArrayAttr(op, 'pads');
  const rank = x.shape.length;
  if (pads.length !== 2 * rank) throw unsupported(op, `has ${pads.length} pads for rank ${rank}`);
  const padValue = typeof op.attrs['constantValue'] === 'number' ? (op.attrs['constantValue'] as number) : zeroPointOf(y);
  const inStrides = new Array<number>(rank).fill(1);
  for (let i = rank - 2; i >= 0; i--) inStrides[i] = inStrides[i + 1]! * x.shape[i + 1]!;
  const n = elements(y);
  const get = source(ctx, x);
  const yi = y.index;
  return (values) => {
    const src = get(values);
    const out = read(values, yi) as unknown as number[];
    const idx = new Array<number>(rank).fill(0);
    for (let k = 0; k < n; k++) {
      let off = 0;
      let inside = true;
      for (let d = 0; d < rank; d++) {
        const i = idx[d]! - pads[2 * d]!;
        if (i < 0 || i >= x.shape[d]!) {
          inside = false;
          break;
        }
        off += i * inStrides[d]!;
      }
      out[k] = inside ? src[off]! : padValue;
      for (let d = rank - 1; d >= 0; d--) {
        if (++idx[d]! < y.shape[d]!) break;
        idx[d] = 0;
      }
    }
  };
}

export function prepareMean(op: Op, ctx: PrepareContext): EvalFn {
  const x = input(op, ctx, 0);
  const y = output(op, ctx);
  requireQuantized(op, x);
  if (y.dtype !== x.dtype) throw unsupported(op, 'changes dtype');
  const axes = [...new Set(numberArrayAttr(op, 'axes'))];
  const rank = x.shape.length;
  // Output element of each input element: drop (or keep as 1) the reduced axes.
  const outStrides = new Array<number>(rank).fill(0);
  let s = 1;
  for (let d = rank - 1; d >= 0; d--) {
    if (axes.includes(d)) continue;
    outStrides[d] = s;
    s *= x.shape[d]!;
  }
  const nOut = s;
  if (nOut !== elements(y)) throw unsupported(op, `has output [${y.shape}] that does not match reducing axes [${axes}] of [${x.shape}]`);
  const count = axes.reduce((a, d) => a * x.shape[d]!, 1);
  const zpIn = zeroPointOf(x);
  const zpOut = zeroPointOf(y);
  const sameQuant = scaleOf(op, x) === scaleOf(op, y) && zpIn === zpOut;
  const range = dtypeRange(y.dtype);
  // QuantizedMeanOrSum folds 1/count into the multiplier with an integer division.
  const base = quantizeMultiplier(scaleOf(op, x) / scaleOf(op, y));
  let shift = count > 0 ? 31 - countLeadingZeros32(count) : 0;
  shift = Math.min(shift, 32, 31 + base.shift);
  const multiplier = Number((BigInt(base.multiplier) << BigInt(shift)) / BigInt(count)) | 0;
  const outShift = base.shift - shift;
  const nIn = elements(x);
  const get = source(ctx, x);
  const yi = y.index;
  const sums = new Float64Array(nOut);

  return (values) => {
    const src = get(values);
    const out = read(values, yi) as unknown as number[];
    sums.fill(0);
    const idx = new Array<number>(rank).fill(0);
    for (let k = 0; k < nIn; k++) {
      let o = 0;
      for (let d = 0; d < rank; d++) o += idx[d]! * outStrides[d]!;
      sums[o]! += src[k]!;
      for (let d = rank - 1; d >= 0; d--) {
        if (++idx[d]! < x.shape[d]!) break;
        idx[d] = 0;
      }
    }
    for (let o = 0; o < nOut; o++) {
      const sum = sums[o]! | 0;
      if (sameQuant) {
        out[o] = Math.trunc(sum / count);
      } else {
        const v = multiplyByQuantizedMultiplier((sum - zpIn * count) | 0, multiplier, outShift) + zpOut;
        out[o] = v < range.min ? range.min : v > range.max ? range.max : v;
      }
    }
  };
}
