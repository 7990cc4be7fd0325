/**
 * Slice, Split and Gather of runtime tensors (constants fold in fold.ts), in TFLite's form
 * (src/ir/ops.ts): STRIDED_SLICE [x, begin, end, strides] with the values resolved for the static
 * shape (a negative stride that runs to the start uses the end mask), one per Split output, and
 * GATHER [x, indices int32] with constant indices. Channels-last inputs
 * stay channels-last where the result keeps the rank (axes remapped); otherwise they are taken
 * back to the ONNX layout first.
 */
import type { AttrValue } from '../../../ir/graph.ts';
import type { Value } from '../builder.ts';
import { channelsLastAxes, irAxis } from '../layout.ts';
import { constNumbers, defineConstant, emit, invalid, normAxis, output, req, unsupported, type NodeContext } from './context.ts';
import { selectConstant } from './fold.ts';

interface AxisSlice {
  begin: number;
  end: number;
  stride: number;
  /** The slice runs (with a negative stride) down to index 0 inclusive. */
  toStart: boolean;
  length: number;
}

/** numpy/ONNX slicing of one axis of length `dim`, resolved to non-negative indices. */
export function resolveSlice(dim: number, start: number, end: number, step: number): AxisSlice {
  const clamp = (v: number, lo: number, hi: number): number => Math.min(Math.max(v, lo), hi);
  if (step > 0) {
    const b = clamp(start < 0 ? start + dim : start, 0, dim);
    const e = clamp(end < 0 ? end + dim : end, 0, dim);
    return { begin: b, end: e, stride: step, toStart: false, length: Math.max(0, Math.ceil((e - b) / step)) };
  }
  const b = clamp(start < 0 ? start + dim : start, -1, dim - 1);
  const e = clamp(end < 0 ? end + dim : end, -1, dim - 1);
  return { begin: b, end: e, stride: step, toStart: e < 0, length: Math.max(0, Math.ceil((e - b) / step)) };
}

/**
 * Emits STRIDED_SLICE of `x` with one AxisSlice per ONNX axis (undefined = the whole axis) as
 * ONNX output `outIndex`.
 */
function emitSlice(ctx: NodeContext, x: Value, axes: (AxisSlice | undefined)[], outIndex: number): void {
  const rank = x.shape.length;
  const full = (d: number): AxisSlice => ({ begin: 0, end: d, stride: 1, toStart: false, length: d });
  const per = x.shape.map((d, a) => axes[a] ?? full(d));
  const shape = per.map((s) => s.length);
  // IR axes: channels-last order (with a unit axis for 3-D), or the ONNX order.
  const order = x.nhwc ? channelsLastAxes(rank) : [...Array(rank).keys()];
  const ir = order.map((a) => (a < 0 ? full(1) : per[a]!));
  let endMask = 0;
  ir.forEach((s, i) => {
    if (s.toStart) endMask |= 1 << i;
  });
  const xT = x.nhwc ? x.tensor : ctx.b.tensorOf(x);
  const y = output(ctx, outIndex, shape, x.dtype, x.nhwc);
  // TFLite's form: begin / end / strides as constant int32 inputs, the masks as options.
  const vector = (what: string, v: number[]): number => ctx.b.addTensor(`${ctx.outputs[outIndex]}_${what}`, [v.length], 'int32', new Uint8Array(Int32Array.from(v).buffer));
  const inputs = [
    xT,
    vector('begin', ir.map((s) => s.begin)),
    vector('end', ir.map((s) => (s.toStart ? 0 : s.end))),
    vector('strides', ir.map((s) => s.stride)),
  ];
  const attrs: Record<string, AttrValue> = { begin_mask: 0, end_mask: endMask, ellipsis_mask: 0, new_axis_mask: 0, shrink_axis_mask: 0, offset: false };
  emit(ctx, 'STRIDED_SLICE', inputs, [y], attrs);
}

export function lowerSliceRuntime(ctx: NodeContext, starts: number[], ends: number[], axes: number[], steps: number[] | undefined): void {
  const x = req(ctx, 0);
  const rank = x.shape.length;
  const per: (AxisSlice | undefined)[] = new Array(rank).fill(undefined);
  axes.forEach((a, i) => {
    const step = steps?.[i] ?? 1;
    if (step === 0) throw invalid(ctx, 'a step is 0');
    per[a] = resolveSlice(x.shape[a]!, starts[i]!, ends[i]!, step);
  });
  emitSlice(ctx, x, per, 0);
}

export function lowerSplit(ctx: NodeContext): void {
  const x = req(ctx, 0);
  const rank = x.shape.length;
  const axis = normAxis(ctx, ctx.attrs.int('axis', 0), rank);
  const dim = x.shape[axis]!;
  const count = ctx.outputs.length;
  let sizes: number[];
  if (ctx.attrs.has('split')) sizes = ctx.attrs.ints('split')!;
  else if (ctx.inputs[1]) sizes = constNumbers(ctx, ctx.inputs[1], 'the split input');
  else {
    const n = ctx.attrs.int('num_outputs', count);
    // Opset 18: the last chunk may be smaller.
    const chunk = Math.ceil(dim / n);
    sizes = Array.from({ length: n }, (_, i) => Math.max(0, Math.min(chunk, dim - i * chunk)));
  }
  if (sizes.length !== count || sizes.some((s) => s < 0) || sizes.reduce((a, b) => a + b, 0) !== dim) {
    throw invalid(ctx, `split sizes [${sizes.join(',')}] do not divide axis ${axis} of size ${dim} into ${count} outputs`);
  }
  let start = 0;
  sizes.forEach((size, i) => {
    if (ctx.outputs[i]) {
      if (x.data) {
        const kept = x.shape.map((d, a) => (a === axis ? Array.from({ length: size }, (_, k) => start + k) : [...Array(d).keys()]));
        defineConstant(ctx, i, kept.map((l) => l.length), x.dtype, selectConstant(x, kept));
      } else {
        const per: (AxisSlice | undefined)[] = new Array(rank).fill(undefined);
        per[axis] = { begin: start, end: start + size, stride: 1, toStart: false, length: size };
        emitSlice(ctx, x, per, i);
      }
    }
    start += size;
  });
}

/** Gather of a runtime tensor with constant indices -> GATHER [params, indices int32]. */
export function lowerGatherRuntime(ctx: NodeContext): void {
  const x = req(ctx, 0), idx = req(ctx, 1);
  if (!idx.data) throw unsupported(ctx, 'indices computed at run time', 'gather with constant indices (an initializer)');
  const rank = x.shape.length;
  const axis = normAxis(ctx, ctx.attrs.int('axis', 0), rank);
  const dim = x.shape[axis]!;
  const indices = constNumbers(ctx, idx, 'the indices').map((i) => (i < 0 ? i + dim : i));
  if (indices.some((i) => !Number.isInteger(i) || i < 0 || i >= dim)) throw invalid(ctx, `an index is outside dimension ${dim}`);
  const outShape = [...x.shape.slice(0, axis), ...idx.shape, ...x.shape.slice(axis + 1)];
  // A 1-D index list keeps the rank, so a channels-last input stays channels-last.
  const keep = x.nhwc && idx.shape.length === 1;
  const indicesT = ctx.b.addTensor(`${idx.name}_i32`, [...idx.shape], 'int32', new Uint8Array(Int32Array.from(indices).buffer));
  const xT = keep ? x.tensor : ctx.b.nchwTensorOf(x, ctx.source, ctx.version);
  const y = output(ctx, 0, outShape, x.dtype, keep);
  emit(ctx, 'GATHER', [xT, indicesT], [y], { axis: keep ? irAxis(axis, rank) : axis, batch_dims: 0 });
}
