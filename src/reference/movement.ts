/**
 * Geometry of the data-movement ops (TRANSPOSE, STRIDED_SLICE, SLICE, SPLIT, SPLIT_V, PACK,
 * UNPACK, CONCATENATION, PAD/PADV2, GATHER, RESIZE_NEAREST_NEIGHBOR): which input element lands
 * at which output position. Pure functions of the static shapes and parameters, shared by the
 * int8 reference, the float reference and the native C lowering, so the three engines cannot
 * disagree on an index. The semantics are TFLite Micro's reference kernels (strided_slice.cc with
 * strided_slice_logic.h, gather.cc, pad.cc, resize_nearest_neighbor.h); nothing here does
 * arithmetic on element values, so every function works for any dtype.
 *
 * Shapes are row-major (NHWC for 4-D); `offset` means an element index into the flat array.
 */

import { stridesOf } from './layout.ts';

export function product(xs: readonly number[]): number {
  return xs.reduce((a, b) => a * b, 1);
}

/**
 * An affine view of an input: output element (i_0, ..., i_{r-1}) (row-major in `shape`) is input
 * element `offset + sum_d i_d * step[d]`. TRANSPOSE, STRIDED_SLICE, SLICE, SPLIT and UNPACK are
 * all views; the C kernel tml_copy_view copies one.
 */
export interface View {
  shape: number[];
  step: number[];
  offset: number;
}

/** Copies `view` of `src` into `dst` (dense, row-major in view.shape). */
export function copyView(view: View, src: ArrayLike<unknown>, dst: { [i: number]: unknown }): void {
  const rank = view.shape.length;
  const n = product(view.shape);
  if (n === 0) return;
  const idx = new Array<number>(rank).fill(0);
  let at = view.offset;
  for (let o = 0; o < n; o++) {
    dst[o] = src[at];
    for (let d = rank - 1; d >= 0; d--) {
      idx[d]!++;
      at += view.step[d]!;
      if (idx[d]! < view.shape[d]!) break;
      at -= view.step[d]! * view.shape[d]!;
      idx[d] = 0;
    }
  }
}

/**
 * The same view with size-1 dimensions dropped and neighbours merged where the outer one steps
 * exactly over the inner one (fewer, longer loops; an inner step of 1 becomes one memcpy).
 * Always at least rank 1.
 */
export function simplifyView(view: View): View {
  const shape: number[] = [];
  const step: number[] = [];
  view.shape.forEach((n, d) => {
    if (n === 1) return;
    const last = shape.length - 1;
    if (last >= 0 && step[last] === n * view.step[d]!) {
      shape[last] = shape[last]! * n;
      step[last] = view.step[d]!;
    } else {
      shape.push(n);
      step.push(view.step[d]!);
    }
  });
  if (product(view.shape) === 0) return { shape: [0], step: [1], offset: view.offset };
  if (shape.length === 0) return { shape: [1], step: [1], offset: view.offset };
  return { shape, step, offset: view.offset };
}

/** TRANSPOSE: output dim d is input dim perm[d]. */
export function transposeView(inShape: readonly number[], perm: readonly number[]): View {
  const strides = stridesOf(inShape);
  return { shape: perm.map((p) => inShape[p]!), step: perm.map((p) => strides[p]!), offset: 0 };
}

/** Start, stride and number of steps taken along one input axis. */
export interface AxisRange {
  start: number;
  stride: number;
  count: number;
}

function clamp(v: number, lo: number, hi: number): number {
  return v > hi ? hi : v < lo ? lo : v;
}

function stepsBetween(start: number, stop: number, stride: number): number {
  const n = stride > 0 ? Math.ceil((stop - start) / stride) : Math.ceil((start - stop) / -stride);
  return Math.max(n, 0);
}

export interface StridedSliceMasks {
  begin: number;
  end: number;
  shrink: number;
}

/**
 * STRIDED_SLICE ranges per input axis, as TFLM's Eval computes them (StridedSliceStartForAxis /
 * StridedSliceEndForAxis): negative indices count from the end, starts and stops are clamped
 * ([0, size] for positive strides, [-1, size - 1] for negative), a begin/end mask bit takes the
 * whole axis, a shrink bit takes one element. TFLM ignores ellipsis_mask and new_axis_mask.
 * `begin`, `end`, `strides` have one entry per input axis; strides must be non-zero.
 */
export function stridedSliceRanges(
  inShape: readonly number[],
  begin: readonly number[],
  end: readonly number[],
  strides: readonly number[],
  masks: StridedSliceMasks,
): AxisRange[] {
  return inShape.map((size, axis) => {
    const stride = strides[axis]!;
    let start = begin[axis]!;
    if (start < 0) start += size;
    start = stride > 0 ? clamp(start, 0, size) : clamp(start, -1, size - 1);
    if (masks.begin & (1 << axis)) start = stride > 0 ? 0 : size - 1;
    let stop: number;
    if (masks.shrink & (1 << axis)) {
      stop = start >= size ? start : start + 1;
    } else {
      stop = end[axis]!;
      if (stop < 0) stop += size;
      stop = stride > 0 ? clamp(stop, 0, size) : clamp(stop, -1, size - 1);
      if (masks.end & (1 << axis)) stop = stride > 0 ? size : -1;
    }
    const s = masks.shrink & (1 << axis) ? 1 : stride;
    return { start, stride: s, count: stepsBetween(start, stop, s) };
  });
}

/** SLICE ranges: `size` -1 takes the rest of the axis (TFLM slice.cc). */
export function sliceRanges(inShape: readonly number[], begin: readonly number[], size: readonly number[]): AxisRange[] {
  return inShape.map((n, axis) => {
    const start = begin[axis]!;
    const count = size[axis] === -1 ? n - start : size[axis]!;
    return { start, stride: 1, count };
  });
}

/** The view that walks `ranges` over an input of `inShape`. */
export function rangesView(inShape: readonly number[], ranges: readonly AxisRange[]): View {
  const strides = stridesOf(inShape);
  let offset = 0;
  ranges.forEach((r, d) => {
    if (r.count > 0) offset += r.start * strides[d]!;
  });
  return { shape: ranges.map((r) => r.count), step: ranges.map((r, d) => r.stride * strides[d]!), offset };
}

/**
 * SPLIT / SPLIT_V / UNPACK: output k is the slab [starts[k], starts[k] + sizes[k]) along `axis`.
 * Returns one view per output.
 */
export function splitViews(inShape: readonly number[], axis: number, sizes: readonly number[]): View[] {
  const strides = stridesOf(inShape);
  let start = 0;
  return sizes.map((n) => {
    const shape = [...inShape];
    shape[axis] = n;
    const v = { shape, step: [...strides], offset: start * strides[axis]! };
    start += n;
    return v;
  });
}

/**
 * CONCATENATION / PACK as block copies: the output is `outer` repetitions of, for each input i,
 * `chunks[i]` consecutive elements of input i (its outer-th block).
 */
export interface ConcatPlan {
  outer: number;
  chunks: number[];
}

/** CONCATENATION along `axis` of inputs with these shapes (same rank; PACK inputs get a size-1 axis). */
export function concatPlan(inShapes: readonly (readonly number[])[], axis: number): ConcatPlan {
  const first = inShapes[0] ?? [];
  return {
    outer: product(first.slice(0, axis)),
    chunks: inShapes.map((s) => product(s.slice(axis))),
  };
}

export function concatInto(plan: ConcatPlan, srcs: readonly ArrayLike<unknown>[], dst: { [i: number]: unknown }): void {
  let o = 0;
  for (let b = 0; b < plan.outer; b++) {
    srcs.forEach((src, i) => {
      const len = plan.chunks[i]!;
      const base = b * len;
      for (let k = 0; k < len; k++) dst[o++] = src[base + k];
    });
  }
}

/**
 * PAD / PADV2 (constant mode): output element at index (o_0, ...) is input (o_d - before_d) when
 * that is inside the input, else the pad value. Returns, per output element, the input offset or -1.
 */
export function padSourceIndex(inShape: readonly number[], before: readonly number[], after: readonly number[]): Int32Array {
  const rank = inShape.length;
  const outShape = inShape.map((n, d) => n + before[d]! + after[d]!);
  const n = product(outShape);
  const strides = stridesOf(inShape);
  const map = new Int32Array(n);
  const idx = new Array<number>(rank).fill(0);
  for (let o = 0; o < n; o++) {
    let at = 0;
    for (let d = 0; d < rank; d++) {
      const i = idx[d]! - before[d]!;
      if (i < 0 || i >= inShape[d]!) {
        at = -1;
        break;
      }
      at += i * strides[d]!;
    }
    map[o] = at;
    for (let d = rank - 1; d >= 0; d--) {
      if (++idx[d]! < outShape[d]!) break;
      idx[d] = 0;
    }
  }
  return map;
}

/**
 * GATHER (TFLM gather.cc) geometry: input [batch..., outer..., axis, inner...], coordinates
 * [batch..., coords...]; output [batch, outer, coords, inner] in that order.
 */
export interface GatherPlan {
  batches: number;
  outer: number;
  axisSize: number;
  coords: number;
  inner: number;
}

export function gatherPlan(inShape: readonly number[], coordsShape: readonly number[], axis: number, batchDims: number): GatherPlan {
  return {
    batches: product(inShape.slice(0, batchDims)),
    outer: product(inShape.slice(batchDims, axis)),
    axisSize: inShape[axis]!,
    coords: product(coordsShape.slice(batchDims)),
    inner: product(inShape.slice(axis + 1)),
  };
}

/** TFLM's GATHER output shape: input dims before axis, coordinate dims after batch_dims, input dims after axis. */
export function gatherShape(inShape: readonly number[], coordsShape: readonly number[], axis: number, batchDims: number): number[] {
  return [...inShape.slice(0, axis), ...coordsShape.slice(batchDims), ...inShape.slice(axis + 1)];
}

/**
 * Runs a GATHER; returns the first coordinate outside [0, axisSize) (the output is then
 * incomplete), or undefined. TFLM does not check (it reads out of bounds); tinyml refuses.
 */
export function gatherInto(plan: GatherPlan, src: ArrayLike<unknown>, coords: ArrayLike<number | bigint>, dst: { [i: number]: unknown }): number | undefined {
  const { batches, outer, axisSize, inner } = plan;
  const n = plan.coords;
  for (let b = 0; b < batches; b++) {
    for (let o = 0; o < outer; o++) {
      for (let c = 0; c < n; c++) {
        const k = Number(coords[b * n + c]!);
        if (!(k >= 0 && k < axisSize)) return k;
        const from = ((b * outer + o) * axisSize + k) * inner;
        const to = ((b * outer + o) * n + c) * inner;
        for (let e = 0; e < inner; e++) dst[to + e] = src[from + e];
      }
    }
  }
  return undefined;
}

/**
 * RESIZE_NEAREST_NEIGHBOR source index along one axis for every output index, as TFLM's
 * GetNearestNeighbor computes it in float32: scale = in/out (align_corners: (in-1)/(out-1)),
 * src = floor((o + offset) * scale) (align_corners: round half away from zero), offset 0.5 with
 * half_pixel_centers, clamped to [0, in-1]. TFLM before tflite-micro PR #3279 (2026) ignored
 * half_pixel_centers for this op; the flag is honoured here as TFLite and current TFLM do.
 */
export function nearestIndices(inSize: number, outSize: number, alignCorners: boolean, halfPixelCenters: boolean): Int32Array {
  const f = Math.fround;
  const scale = alignCorners && outSize > 1 ? f((inSize - 1) / (outSize - 1)) : f(inSize / outSize);
  const offset = halfPixelCenters ? 0.5 : 0;
  const map = new Int32Array(outSize);
  for (let o = 0; o < outSize; o++) {
    const v = f(f(o + offset) * scale);
    // TfLiteRound is std::round: halves away from zero (v >= 0 here).
    let i = alignCorners ? Math.floor(v + 0.5) : Math.floor(v);
    i = Math.min(i, inSize - 1);
    if (halfPixelCenters) i = Math.max(0, i);
    map[o] = i;
  }
  return map;
}

/**
 * A reduction (MEAN, SUM, REDUCE_MAX) as two views of the input: `kept` walks the output
 * elements in order (the input offset of each output's first reduced element), `reduced` walks
 * the elements folded into one output (offsets relative to that). Both simplified.
 */
export interface ReducePlan {
  kept: View;
  reduced: View;
}

export function reducePlan(inShape: readonly number[], axes: readonly number[]): ReducePlan {
  const strides = stridesOf(inShape);
  const pick = (keep: boolean): View =>
    simplifyView({
      shape: inShape.filter((_, d) => axes.includes(d) !== keep),
      step: strides.filter((_, d) => axes.includes(d) !== keep),
      offset: 0,
    });
  return { kept: pick(true), reduced: pick(false) };
}

/** Every offset a view visits, in order. */
export function viewOffsets(view: View): Int32Array {
  const n = product(view.shape);
  const out = new Int32Array(n);
  const rank = view.shape.length;
  const idx = new Array<number>(rank).fill(0);
  let at = view.offset;
  for (let o = 0; o < n; o++) {
    out[o] = at;
    for (let d = rank - 1; d >= 0; d--) {
      idx[d]!++;
      at += view.step[d]!;
      if (idx[d]! < view.shape[d]!) break;
      at -= view.step[d]! * view.shape[d]!;
      idx[d] = 0;
    }
  }
  return out;
}
