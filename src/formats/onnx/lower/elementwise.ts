/** Elementwise ops (activations, Clip, numpy-broadcast Add/Sub/Mul), Softmax and ReduceMean. */
import { elementCount, type AttrValue } from '../../../ir/graph.ts';
import type { Value } from '../builder.ts';
import { broadcastShapes, hasChannelsLast, irAxis, readNumbers } from '../layout.ts';
import { constNumbers, emit, FLT_MAX, invalid, normAxis, output, req, unsupported, type NodeContext } from './context.ts';

// ---------------------------------------------------------------------------------------------
// Elementwise

/** The output of a one-input elementwise op, in the input's layout (a flattened order carries over). */
export function unaryOutput(ctx: NodeContext, x: Value): Value {
  const y = output(ctx, 0, [...x.shape], x.dtype, x.nhwc);
  if (x.flatOrder) y.flatOrder = x.flatOrder;
  return y;
}

export function lowerUnary(ctx: NodeContext, type: string, attrs: Record<string, AttrValue>): void {
  const x = req(ctx, 0);
  const y = unaryOutput(ctx, x);
  emit(ctx, type, [ctx.b.tensorOf(x)], [y], attrs);
}

export function lowerBinary(ctx: NodeContext, type: 'ADD' | 'SUB' | 'MUL' | 'DIV'): void {
  const a = req(ctx, 0), c = req(ctx, 1);
  if (ctx.version < 7 && ctx.attrs.has('axis')) {
    throw unsupported(ctx, 'opset-6 broadcasting with an axis attribute', 'convert the model to opset 7 or newer (numpy broadcasting)');
  }
  const shape = broadcastShapes(a.shape, c.shape);
  if (!shape) throw invalid(ctx, `shapes [${a.shape.join(',')}] and [${c.shape.join(',')}] do not broadcast`);
  const nhwc = hasChannelsLast(shape.length) && ((a.nhwc && a.shape.length === shape.length) || (c.nhwc && c.shape.length === shape.length));
  const operand = (v: Value): number => (nhwc ? ctx.b.nhwcOperandOf(v, shape.length, ctx.source, ctx.version) : ctx.b.nchwTensorOf(v, ctx.source, ctx.version));
  const ins = [operand(a), operand(c)];
  const y = output(ctx, 0, shape, a.dtype, nhwc);
  emit(ctx, type, ins, [y], { fusedActivation: 'NONE' });
}

export function lowerClip(ctx: NodeContext): void {
  const x = req(ctx, 0);
  let min: number | null = -FLT_MAX, max: number | null = FLT_MAX;
  const extra = [-1, -1];
  if (ctx.version < 11) {
    min = ctx.attrs.float('min', -FLT_MAX);
    max = ctx.attrs.float('max', FLT_MAX);
  } else {
    for (const [i, slot] of [[1, 0], [2, 1]] as const) {
      const v = ctx.inputs[i];
      if (!v) continue;
      if (elementCount(v.shape) !== 1) throw invalid(ctx, `the ${i === 1 ? 'min' : 'max'} input is not a scalar`);
      if (v.data) {
        const n = readNumbers(v.data, v.dtype)[0]!;
        if (i === 1) min = n; else max = n;
      } else {
        extra[slot] = ctx.b.tensorOf(v);
        if (i === 1) min = null; else max = null;
      }
    }
  }
  const y = unaryOutput(ctx, x);
  const xT = ctx.b.tensorOf(x);
  if (extra[0] !== -1 || extra[1] !== -1) emit(ctx, 'CLIP', [xT, extra[0]!, extra[1]!], [y], { min, max });
  else if (min === 0 && max === FLT_MAX) emit(ctx, 'RELU', [xT], [y], {});
  else if (min === 0 && max === 6) emit(ctx, 'RELU6', [xT], [y], {});
  else emit(ctx, 'CLIP', [xT], [y], { min, max });
}

// ---------------------------------------------------------------------------------------------
// Softmax, Concat, Transpose, Pad

export function lowerSoftmax(ctx: NodeContext): void {
  const x = req(ctx, 0);
  const rank = x.shape.length;
  const legacy = ctx.version < 13;
  let axis = normAxis(ctx, ctx.attrs.int('axis', legacy ? 1 : -1), rank);
  // coerce2d over the last axis is the same as a plain softmax over it.
  const coerce2d = legacy && axis !== rank - 1;
  let nhwc = false;
  let xT: number;
  if (x.nhwc && !coerce2d) {
    nhwc = true;
    xT = x.tensor;
    axis = irAxis(axis, rank);
  } else {
    xT = ctx.b.nchwTensorOf(x, ctx.source, ctx.version);
  }
  const y = output(ctx, 0, [...x.shape], x.dtype, nhwc);
  emit(ctx, 'SOFTMAX', [xT], [y], { beta: 1, axis, coerce2d });
}

/**
 * MEAN is a normalised IR op ({axes, keepDims}); SUM, REDUCE_MAX and REDUCE_MIN keep TFLite's
 * form: the axes in a constant int32 input, keep_dims as an option.
 */
function emitReduce(ctx: NodeContext, type: string, x: number, y: Value, axes: number[], keepDims: boolean): void {
  if (type === 'MEAN') {
    emit(ctx, type, [x], [y], { axes, keepDims });
    return;
  }
  const axesT = ctx.b.addTensor(`${ctx.outputs[0]}_axes`, [axes.length], 'int32', new Uint8Array(Int32Array.from(axes).buffer));
  emit(ctx, type, [x, axesT], [y], { keep_dims: keepDims });
}

/** ReduceMean / ReduceSum / ReduceMax / ReduceMin -> MEAN / SUM / REDUCE_MAX / REDUCE_MIN over non-negative axes in the IR layout. */
export function lowerReduce(ctx: NodeContext, type: 'MEAN' | 'SUM' | 'REDUCE_MAX' | 'REDUCE_MIN'): void {
  const x = req(ctx, 0);
  const rank = x.shape.length;
  const fromInput = ctx.inputs[1];
  let axes = (ctx.attrs.ints('axes') ?? (fromInput ? constNumbers(ctx, fromInput, 'the axes input') : [])).map((a) => normAxis(ctx, a, rank));
  if (axes.length === 0) {
    if (ctx.attrs.int('noop_with_empty_axes', 0) !== 0) {
      ctx.b.define({ ...x, name: ctx.outputs[0]! });
      return;
    }
    axes = [...Array(rank).keys()];
  }
  axes = [...new Set(axes)].sort((a, b) => a - b);
  const keepDims = ctx.attrs.int('keepdims', 1) !== 0;
  const shape = keepDims ? x.shape.map((d, i) => (axes.includes(i) ? 1 : d)) : x.shape.filter((_, i) => !axes.includes(i));
  // Without keepdims a channels-last input leaves its kept dims in IR order; that equals the
  // ONNX order unless C survives together with a spatial dim.
  const spatial = rank === 4 ? [2, 3] : [2];
  const reorders = x.nhwc && !keepDims && !axes.includes(1) && !spatial.every((a) => axes.includes(a));
  if (x.nhwc && !reorders) {
    const irAxes = axes.map((a) => irAxis(a, rank));
    if (rank === 3 && !keepDims) irAxes.push(1); // the unit height goes too
    const y = keepDims ? output(ctx, 0, shape, x.dtype, true) : output(ctx, 0, shape, x.dtype, false);
    emitReduce(ctx, type, x.tensor, y, irAxes.sort((a, b) => a - b), keepDims);
    return;
  }
  const y = output(ctx, 0, shape, x.dtype, false);
  emitReduce(ctx, type, ctx.b.nchwTensorOf(x, ctx.source, ctx.version), y, axes, keepDims);
}

/** PRelu: slope broadcast (unidirectionally) against x, laid out like x. */
export function lowerPRelu(ctx: NodeContext): void {
  const x = req(ctx, 0), slope = req(ctx, 1);
  const shape = broadcastShapes(x.shape, slope.shape);
  if (!shape || shape.length !== x.shape.length || shape.some((d, i) => d !== x.shape[i])) {
    throw invalid(ctx, `slope [${slope.shape.join(',')}] does not broadcast to x [${x.shape.join(',')}]`);
  }
  const slopeT = x.nhwc ? ctx.b.nhwcOperandOf(slope, x.shape.length, ctx.source, ctx.version) : ctx.b.tensorOf(slope);
  const y = output(ctx, 0, [...x.shape], x.dtype, x.nhwc);
  emit(ctx, 'PRELU', [x.flatOrder ? x.tensor : ctx.b.tensorOf(x), slopeT], [y], {});
}
