/**
 * Shape arithmetic evaluated at import. Every shape is static here, so `Shape` is a constant, and
 * Gather / Slice / Cast / ConstantOfShape / Concat of constants fold too: PyTorch-style
 * `x.view(x.size(0), -1)` chains (Shape -> Gather -> Unsqueeze -> Concat -> Reshape) become a
 * constant Reshape target. With a runtime input these ops are not lowered (they import as
 * unsupported ops when the model declares their shapes).
 */
import { dtypeSize, elementCount } from '../../../ir/graph.ts';
import { concatBytes, int64Bytes, numbersToBytes, readNumbers } from '../layout.ts';
import { onnxDataTypeToDType, tensorFromProto } from '../tensor.ts';
import type { Value } from '../builder.ts';
import { constNumbers, defineConstant, emit, invalid, normAxis, output, req, unsupported, type NodeContext } from './context.ts';
import { lowerGatherRuntime, lowerSliceRuntime } from './slice.ts';

export function lowerShape(ctx: NodeContext): void {
  const x = req(ctx, 0);
  const rank = x.shape.length;
  const clamp = (v: number): number => Math.min(rank, Math.max(0, v < 0 ? v + rank : v));
  const dims = x.shape.slice(clamp(ctx.attrs.int('start', 0)), clamp(ctx.attrs.int('end', rank)));
  defineConstant(ctx, 0, [dims.length], 'int64', int64Bytes(dims));
}

export function lowerGather(ctx: NodeContext): void {
  const data = req(ctx, 0), idx = req(ctx, 1);
  if (!data.data) {
    lowerGatherRuntime(ctx);
    return;
  }
  if (!idx.data) throw unsupported(ctx, 'indices computed at run time', 'gather with constant indices (an initializer)');
  const rank = data.shape.length;
  const axis = normAxis(ctx, ctx.attrs.int('axis', 0), rank);
  const dim = data.shape[axis]!;
  const indices = readNumbers(idx.data, idx.dtype).map((i) => (i < 0 ? i + dim : i));
  if (indices.some((i) => !Number.isInteger(i) || i < 0 || i >= dim)) throw invalid(ctx, `an index is outside dimension ${dim}`);
  const outShape = [...data.shape.slice(0, axis), ...idx.shape, ...data.shape.slice(axis + 1)];
  ctx.b.checkShape(outShape, ctx.label);
  const size = dtypeSize(data.dtype);
  const outer = elementCount(data.shape.slice(0, axis));
  const inner = elementCount(data.shape.slice(axis + 1)) * size;
  const out = new Uint8Array(outer * indices.length * inner);
  let o = 0;
  for (let i = 0; i < outer; i++) {
    for (const k of indices) {
      out.set(data.data.subarray((i * dim + k) * inner, (i * dim + k + 1) * inner), o);
      o += inner;
    }
  }
  defineConstant(ctx, 0, outShape, data.dtype, out);
}

export function lowerCast(ctx: NodeContext): void {
  const x = req(ctx, 0);
  const to = onnxDataTypeToDType(ctx.attrs.int('to', 0));
  if (!dtypeSize(to)) throw unsupported(ctx, `cast to ${to}`, 'cast to a numeric type');
  if (!x.data) {
    if (to === x.dtype) {
      ctx.b.define({ ...x, name: ctx.outputs[0]! });
      return;
    }
    // A runtime cast (the int32 sums of ConvInteger / MatMulInteger to float in onnxruntime's
    // dynamic quantization): TFLite's CAST, in the input's layout.
    if (to === 'bool' || x.dtype === 'bool') throw unsupported(ctx, `Cast of a runtime tensor between ${x.dtype} and ${to}`, 'cast between numeric types');
    const y = output(ctx, 0, [...x.shape], to, x.nhwc);
    if (x.flatOrder) y.flatOrder = x.flatOrder;
    emit(ctx, 'CAST', [ctx.b.tensorOf(x)], [y], {});
    return;
  }
  defineConstant(ctx, 0, [...x.shape], to, numbersToBytes(readNumbers(x.data, x.dtype), to));
}

export function lowerConstantOfShape(ctx: NodeContext): void {
  const shape = constNumbers(ctx, req(ctx, 0), 'the shape input');
  const t = ctx.attrs.tensor('value');
  const value = t ? tensorFromProto(t, `${ctx.label} value`) : { dtype: 'float32' as const, data: new Uint8Array(4), shape: [1] };
  if (elementCount(value.shape) !== 1) throw invalid(ctx, 'value is not a one-element tensor');
  ctx.b.checkShape(shape, ctx.label);
  const count = elementCount(shape);
  const out = new Uint8Array(count * value.data.length);
  for (let i = 0; i < count; i++) out.set(value.data, i * value.data.length);
  defineConstant(ctx, 0, shape, value.dtype, out);
}

export function lowerSlice(ctx: NodeContext): void {
  const x = req(ctx, 0);
  const rank = x.shape.length;
  let starts: number[], ends: number[], axes: number[] | undefined, steps: number[] | undefined;
  if (ctx.version < 10) {
    starts = ctx.attrs.ints('starts') ?? [];
    ends = ctx.attrs.ints('ends') ?? [];
    axes = ctx.attrs.ints('axes');
  } else {
    starts = constNumbers(ctx, req(ctx, 1), 'starts');
    ends = constNumbers(ctx, req(ctx, 2), 'ends');
    axes = ctx.inputs[3] ? constNumbers(ctx, ctx.inputs[3], 'axes') : undefined;
    steps = ctx.inputs[4] ? constNumbers(ctx, ctx.inputs[4], 'steps') : undefined;
  }
  const axisList = (axes ?? starts.map((_, i) => i)).map((a) => normAxis(ctx, a, rank));
  if (ends.length !== starts.length || axisList.length !== starts.length || (steps && steps.length !== starts.length)) {
    throw invalid(ctx, 'starts, ends, axes and steps differ in length');
  }
  if (!x.data) {
    lowerSliceRuntime(ctx, starts, ends, axisList, steps);
    return;
  }
  // Per axis, the list of source indices kept.
  const kept = x.shape.map((d) => [...Array(d).keys()]);
  axisList.forEach((a, i) => {
    const d = x.shape[a]!, step = steps?.[i] ?? 1;
    if (step === 0) throw invalid(ctx, 'a step is 0');
    let s = starts[i]!, e = ends[i]!;
    if (s < 0) s += d;
    if (e < 0) e += d;
    const list: number[] = [];
    if (step > 0) for (let k = Math.max(0, Math.min(d, s)); k < Math.max(0, Math.min(d, e)); k += step) list.push(k);
    else for (let k = Math.max(0, Math.min(d - 1, s)); k > Math.max(-1, Math.min(d - 1, e)); k += step) list.push(k);
    kept[a] = list;
  });
  defineConstant(ctx, 0, kept.map((l) => l.length), x.dtype, selectConstant(x, kept));
}

/** The bytes of a constant at the cross product of per-axis index lists. */
export function selectConstant(x: Value, kept: readonly (readonly number[])[]): Uint8Array {
  const rank = x.shape.length;
  const size = dtypeSize(x.dtype);
  const outShape = kept.map((l) => l.length);
  const strides = x.shape.map((_, i) => elementCount(x.shape.slice(i + 1)));
  const out = new Uint8Array(elementCount(outShape) * size);
  let o = 0;
  const walk = (axis: number, offset: number): void => {
    if (axis === rank) {
      out.set(x.data!.subarray(offset * size, offset * size + size), o);
      o += size;
      return;
    }
    for (const k of kept[axis]!) walk(axis + 1, offset + k * strides[axis]!);
  };
  if (elementCount(outShape) > 0) walk(0, 0);
  return out;
}

/** Concat whose inputs are all constants: a constant. */
export function foldConcat(ctx: NodeContext, axis: number, shape: number[]): boolean {
  const ins = ctx.inputs.filter((v) => v);
  if (!ins.every((v) => v!.data)) return false;
  const dtype = ins[0]!.dtype;
  defineConstant(ctx, 0, shape, dtype, concatBytes(ins.map((v) => ({ data: v!.data!, shape: v!.shape })), axis, dtypeSize(dtype)));
  return true;
}
