/**
 * Data-movement kernels of the int8 reference: TRANSPOSE, STRIDED_SLICE, SLICE, SPLIT, SPLIT_V,
 * UNPACK, PACK, GATHER, SQUEEZE, EXPAND_DIMS. They copy elements without arithmetic, so any
 * quantization passes through unchanged and any fixed-size dtype works (TFLM's reference
 * kernels for these ops copy bytes and do not look at scale or zero point either). Geometry and
 * parameter checks: src/reference/movement.ts and src/reference/shape-params.ts.
 */
import { DataError } from '../../errors.ts';
import type { DType, Op, Tensor } from '../../ir/graph.ts';
import { concatInto, copyView, gatherInto } from '../movement.ts';
import { concatSpec, gatherSpec, reshapeSpec, sliceSpec, splitSpec, transposeSpec, type Fail } from '../shape-params.ts';
import { read, requireDtype, unsupported, type EvalFn, type PrepareContext, type ValueStore } from './common.ts';

/** Dtypes the movement kernels copy. */
export const MOVABLE: DType[] = ['int8', 'uint8', 'int16', 'int32', 'int64', 'float32', 'bool'];

export function failFor(op: Op): Fail {
  return (what: string): never => {
    throw unsupported(op, what);
  };
}

type Elements = { [i: number]: unknown; length: number };

/** A tensor's current value: from the store, or the decoded constant. */
export function source(ctx: PrepareContext, t: Tensor): (values: ValueStore) => Elements {
  if (t.data !== undefined && !t.variable) {
    const c = ctx.constant(t.index) as unknown as Elements;
    return () => c;
  }
  return (values) => read(values, t.index) as unknown as Elements;
}

function sink(values: ValueStore, t: Tensor): Elements {
  return read(values, t.index) as unknown as Elements;
}

export function prepareTranspose(op: Op, ctx: PrepareContext): EvalFn {
  const { x, y, view } = transposeSpec(ctx.graph, op, failFor(op));
  requireDtype(op, x, ...MOVABLE);
  const get = source(ctx, x);
  return (values) => copyView(view, get(values), sink(values, y));
}

/** STRIDED_SLICE and SLICE. */
export function prepareSlice(op: Op, ctx: PrepareContext): EvalFn {
  const { x, y, view } = sliceSpec(ctx.graph, op, failFor(op));
  requireDtype(op, x, ...MOVABLE);
  const get = source(ctx, x);
  return (values) => copyView(view, get(values), sink(values, y));
}

/** SPLIT, SPLIT_V, UNPACK. */
export function prepareSplit(op: Op, ctx: PrepareContext): EvalFn {
  const { x, outputs, views } = splitSpec(ctx.graph, op, failFor(op));
  requireDtype(op, x, ...MOVABLE);
  const get = source(ctx, x);
  return (values) => {
    const src = get(values);
    views.forEach((v, k) => copyView(v, src, sink(values, outputs[k]!)));
  };
}

/** PACK (CONCATENATION lives in shape-ops.ts with its quantization check). */
export function preparePack(op: Op, ctx: PrepareContext): EvalFn {
  const { inputs, y, plan } = concatSpec(ctx.graph, op, failFor(op));
  requireDtype(op, y, ...MOVABLE);
  const getters = inputs.map((t) => source(ctx, t));
  return (values) => concatInto(plan, getters.map((g) => g(values)), sink(values, y));
}

/** SQUEEZE, EXPAND_DIMS: the bytes are unchanged. */
export function prepareReshapeLike(op: Op, ctx: PrepareContext): EvalFn {
  const { x, y } = reshapeSpec(ctx.graph, op, failFor(op));
  requireDtype(op, x, ...MOVABLE);
  const get = source(ctx, x);
  return (values) => {
    const src = get(values);
    const dst = sink(values, y);
    for (let i = 0; i < dst.length; i++) dst[i] = src[i];
  };
}

/**
 * GATHER. A coordinate outside [0, axis size) is a DataError naming the op: TFLM reads out of
 * bounds there (its check is a debug assertion), tinyml never does.
 */
export function prepareGather(op: Op, ctx: PrepareContext): EvalFn {
  const { x, coords, y, plan } = gatherSpec(ctx.graph, op, failFor(op));
  requireDtype(op, x, ...MOVABLE);
  const get = source(ctx, x);
  const getCoords = source(ctx, coords);
  return (values) => {
    const bad = gatherInto(plan, get(values), getCoords(values) as unknown as ArrayLike<number | bigint>, sink(values, y));
    if (bad !== undefined) {
      throw new DataError(
        `GATHER (op #${op.index}, node '${op.source.name}') got coordinate ${bad} for an axis of size ${plan.axisSize}: pass coordinates in [0, ${plan.axisSize - 1}]`,
      );
    }
  };
}
