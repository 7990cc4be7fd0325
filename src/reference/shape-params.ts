/**
 * The IR contract of the data-movement, reduction and resize ops: how each op carries its
 * parameters, read once here for the int8 reference, the float reference and the native C
 * lowering. Every check that TFLite Micro's Prepare makes for these ops is made here too, so a
 * model TFLM refuses is refused by every engine, with one line naming the problem.
 *
 * Ops the IR normalises (src/ir/ops.ts) keep their attributes: CONCATENATION {axis},
 * PAD {pads, constantValue}, MEAN {axes, keepDims}, TRANSPOSE {perm}, BATCH_MATMUL {adjX, adjY}.
 * The others keep TFLite's form (as a .tflite file holds them and as the ONNX importer must
 * build them): parameters in constant int32 (or int64) input tensors, options under the
 * schema's snake_case names:
 *
 *   PADV2             [x, paddings [rank, 2], constant_values (scalar, x's dtype, may be computed)]
 *   STRIDED_SLICE     [x, begin, end, strides]  begin_mask, end_mask, shrink_axis_mask
 *                     (ellipsis_mask, new_axis_mask are ignored, as TFLM does)
 *   SLICE             [x, begin, size]          (size -1: to the end of the axis)
 *   SPLIT             [axis (scalar), x] -> num_splits equal outputs
 *   SPLIT_V           [x, size_splits, axis]    (one size may be -1: the rest)
 *   SQUEEZE           [x]  squeeze_dims;  EXPAND_DIMS [x, axis]  (pure reshapes)
 *   PACK              [x_0 .. x_{n-1}] axis (output gains a dimension of size n at axis)
 *   UNPACK            [x] -> num outputs, axis (each output loses that dimension)
 *   GATHER            [x, coordinates (int32, int64; may be computed)] axis, batch_dims
 *   SUM, REDUCE_MAX   [x, axes] keep_dims
 *   ARG_MAX, ARG_MIN  [x, axis (scalar or [1])] -> int32 (or int64) indices, output_type
 *   RESIZE_BILINEAR, RESIZE_NEAREST_NEIGHBOR  [x [N,H,W,C], size [2] = (out_h, out_w)]
 *                     align_corners, half_pixel_centers
 */
import { dtypeSize, elementCount, type Graph, type Op, type Tensor } from '../ir/graph.ts';
import {
  concatPlan,
  gatherPlan,
  gatherShape,
  product,
  rangesView,
  sliceRanges,
  splitViews,
  stridedSliceRanges,
  transposeView,
  type ConcatPlan,
  type GatherPlan,
  type View,
} from './movement.ts';

/** Throws the engine's own error type; `what` completes "<op> (op #i, node ...) ...". */
export type Fail = (what: string) => never;

function tensorAt(graph: Graph, op: Op, k: number, fail: Fail, role: string): Tensor {
  const i = op.inputs[k];
  const t = i === undefined || i < 0 ? undefined : graph.tensors[i];
  if (t === undefined) fail(`has no ${role} (input ${k})`);
  return t;
}

function outputAt(graph: Graph, op: Op, k: number, fail: Fail): Tensor {
  const i = op.outputs[k];
  const t = i === undefined ? undefined : graph.tensors[i];
  if (t === undefined) fail(`has no output ${k}`);
  return t;
}

/** Values of constant input `k` (int32 or int64), e.g. paddings, axes, begin/end/strides. */
export function constInts(graph: Graph, op: Op, k: number, role: string, fail: Fail): number[] {
  const t = tensorAt(graph, op, k, fail, role);
  if (t.data === undefined || t.variable) fail(`takes its ${role} from a computed tensor; it must be a constant (TFLM requires it at Prepare)`);
  const size = dtypeSize(t.dtype);
  if (t.dtype !== 'int32' && t.dtype !== 'int64') fail(`has ${role} of dtype ${t.dtype}; expected int32 or int64`);
  const n = elementCount(t.shape);
  if (t.data.length < n * size) fail(`has a ${role} tensor whose buffer holds fewer than its ${n} values`);
  const view = new DataView(t.data.buffer, t.data.byteOffset, t.data.byteLength);
  const out: number[] = [];
  for (let k2 = 0; k2 < n; k2++) out.push(size === 4 ? view.getInt32(4 * k2, true) : Number(view.getBigInt64(8 * k2, true)));
  return out;
}

function attrNum(op: Op, key: string, fallback: number): number {
  const v = op.attrs[key];
  return typeof v === 'number' ? v : typeof v === 'boolean' ? Number(v) : fallback;
}

function attrBool(op: Op, ...keys: string[]): boolean {
  for (const k of keys) {
    const v = op.attrs[k];
    if (typeof v === 'boolean') return v;
    if (typeof v === 'number') return v !== 0;
  }
  return false;
}

function axisIn(axis: number, rank: number, fail: Fail, what = 'axis'): number {
  const a = axis < 0 ? axis + rank : axis;
  if (!Number.isInteger(a) || a < 0 || a >= rank) fail(`has ${what} ${axis} for a rank-${rank} tensor`);
  return a;
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

function checkOutput(graph: Graph, op: Op, k: number, shape: readonly number[], fail: Fail): Tensor {
  const y = outputAt(graph, op, k, fail);
  if (!sameShape(y.shape, shape)) fail(`declares output ${k} as [${y.shape}] but its parameters give [${shape}]`);
  return y;
}

/** The data input and output of a one-in one-out movement op, with matching dtypes. */
function moveIO(graph: Graph, op: Op, fail: Fail, inputIndex = 0): { x: Tensor; y: Tensor } {
  const x = tensorAt(graph, op, inputIndex, fail, 'input');
  const y = outputAt(graph, op, 0, fail);
  if (x.dtype !== y.dtype) fail(`changes dtype ${x.dtype} to ${y.dtype}; TFLM requires the same dtype`);
  return { x, y };
}

/** TRANSPOSE: the view of the input the output is. */
export function transposeSpec(graph: Graph, op: Op, fail: Fail): { x: Tensor; y: Tensor; view: View } {
  const { x, y } = moveIO(graph, op, fail);
  const rank = x.shape.length;
  const raw = Array.isArray(op.attrs['perm']) ? (op.attrs['perm'] as number[]) : constInts(graph, op, 1, 'perm', fail);
  if (raw.length !== rank) fail(`has ${raw.length} perm entries for a rank-${rank} input`);
  const perm = raw.map((p) => axisIn(p, rank, fail, 'perm entry'));
  if (new Set(perm).size !== rank) fail(`has perm [${raw}], which is not a permutation`);
  const view = transposeView(x.shape, perm);
  checkOutput(graph, op, 0, view.shape, fail);
  return { x, y, view };
}

/** STRIDED_SLICE and SLICE: the view of the input the output is. */
export function sliceSpec(graph: Graph, op: Op, fail: Fail): { x: Tensor; y: Tensor; view: View } {
  const { x, y } = moveIO(graph, op, fail);
  const rank = x.shape.length;
  if (rank > 5) fail(`has a rank-${rank} input; TFLM slices at most 5 dimensions`);
  const begin = constInts(graph, op, 1, 'begin', fail);
  if (op.type === 'SLICE') {
    const size = constInts(graph, op, 2, 'size', fail);
    if (begin.length !== rank || size.length !== rank) fail(`has ${begin.length} begin and ${size.length} size values for a rank-${rank} input`);
    x.shape.forEach((n, d) => {
      const s = size[d] === -1 ? n - begin[d]! : size[d]!;
      if (begin[d]! < 0 || s < 0 || begin[d]! + s > n) fail(`slices [${begin[d]}, +${size[d]}) out of axis ${d} of size ${n}`);
    });
    const ranges = sliceRanges(x.shape, begin, size);
    const view = rangesView(x.shape, ranges);
    checkOutput(graph, op, 0, view.shape, fail);
    return { x, y, view };
  }
  const end = constInts(graph, op, 2, 'end', fail);
  const strides = constInts(graph, op, 3, 'strides', fail);
  if (begin.length < rank || end.length < rank || strides.length < rank) {
    fail(`has ${begin.length} begin, ${end.length} end and ${strides.length} stride values for a rank-${rank} input`);
  }
  if (strides.slice(0, rank).some((s) => s === 0)) fail('has a zero stride');
  if (attrBool(op, 'offset')) fail('sets offset (end counted from begin), which tinyml does not implement; export the slice with absolute ends');
  const masks = { begin: attrNum(op, 'begin_mask', 0), end: attrNum(op, 'end_mask', 0), shrink: attrNum(op, 'shrink_axis_mask', 0) };
  const ranges = stridedSliceRanges(x.shape, begin, end, strides, masks);
  const view = rangesView(x.shape, ranges);
  const kept = ranges.filter((_, d) => !(masks.shrink & (1 << d))).map((r) => r.count);
  checkOutput(graph, op, 0, kept, fail);
  return { x, y, view };
}

/** SPLIT, SPLIT_V, UNPACK: one input view per output. */
export function splitSpec(graph: Graph, op: Op, fail: Fail): { x: Tensor; outputs: Tensor[]; views: View[] } {
  const dataIndex = op.type === 'SPLIT' ? 1 : 0;
  const x = tensorAt(graph, op, dataIndex, fail, 'input');
  const rank = x.shape.length;
  const outputs = op.outputs.map((_, k) => outputAt(graph, op, k, fail));
  if (outputs.length === 0) fail('has no outputs');
  for (const t of outputs) if (t.dtype !== x.dtype) fail(`changes dtype ${x.dtype} to ${t.dtype}; TFLM requires the same dtype`);
  let axis: number;
  let sizes: number[];
  if (op.type === 'UNPACK') {
    axis = axisIn(attrNum(op, 'axis', 0), rank, fail);
    const num = attrNum(op, 'num', outputs.length);
    if (num !== outputs.length || x.shape[axis] !== num) fail(`unpacks axis ${axis} of [${x.shape}] into ${outputs.length} outputs (num ${num})`);
    sizes = new Array<number>(num).fill(1);
  } else {
    const axisValues = constInts(graph, op, op.type === 'SPLIT' ? 0 : 2, 'axis', fail);
    if (axisValues.length !== 1) fail(`has ${axisValues.length} axis values; expected one`);
    axis = axisIn(axisValues[0]!, rank, fail);
    const size = x.shape[axis]!;
    if (op.type === 'SPLIT') {
      const n = outputs.length;
      if (size % n !== 0) fail(`splits axis ${axis} of size ${size} into ${n} equal parts`);
      sizes = new Array<number>(n).fill(size / n);
    } else {
      sizes = constInts(graph, op, 1, 'size_splits', fail);
      if (sizes.length !== outputs.length) fail(`has ${sizes.length} split sizes for ${outputs.length} outputs`);
      const unknown = sizes.filter((s) => s === -1).length;
      if (unknown > 1 || sizes.some((s) => s < -1)) fail(`has split sizes [${sizes}]`);
      const known = sizes.filter((s) => s >= 0).reduce((a, b) => a + b, 0);
      if (unknown === 1) sizes = sizes.map((s) => (s === -1 ? size - known : s));
      if (sizes.some((s) => s < 0) || sizes.reduce((a, b) => a + b, 0) !== size) fail(`has split sizes [${sizes}] that do not add up to ${size}`);
    }
  }
  const views = splitViews(x.shape, axis, sizes);
  views.forEach((v, k) => {
    const want = op.type === 'UNPACK' ? v.shape.filter((_, d) => d !== axis) : v.shape;
    checkOutput(graph, op, k, want, fail);
  });
  return { x, outputs, views };
}

/** CONCATENATION and PACK: inputs laid one after another along the axis. */
export function concatSpec(graph: Graph, op: Op, fail: Fail): { inputs: Tensor[]; y: Tensor; plan: ConcatPlan } {
  const inputs = op.inputs.map((_, k) => tensorAt(graph, op, k, fail, 'input'));
  if (inputs.length === 0) fail('has no inputs');
  const y = outputAt(graph, op, 0, fail);
  for (const t of inputs) if (t.dtype !== y.dtype) fail(`mixes dtypes ${t.dtype} and ${y.dtype}; TFLM requires one dtype`);
  const first = inputs[0]!;
  let shapes: number[][];
  let axis: number;
  let outShape: number[];
  if (op.type === 'PACK') {
    const rank = first.shape.length + 1;
    axis = axisIn(attrNum(op, 'axis', 0), rank, fail);
    const count = attrNum(op, 'values_count', inputs.length);
    if (count !== inputs.length) fail(`packs ${inputs.length} inputs but values_count is ${count}`);
    for (const t of inputs) if (!sameShape(t.shape, first.shape)) fail(`packs inputs of different shapes [${first.shape}] and [${t.shape}]`);
    shapes = inputs.map((t) => [...t.shape.slice(0, axis), 1, ...t.shape.slice(axis)]);
    outShape = [...first.shape.slice(0, axis), inputs.length, ...first.shape.slice(axis)];
  } else {
    const rank = first.shape.length;
    axis = axisIn(attrNum(op, 'axis', 0), rank, fail);
    if (op.attrs['fusedActivation'] !== undefined && op.attrs['fusedActivation'] !== 'NONE') fail('has a fused activation, which TFLM rejects');
    for (const t of inputs) {
      if (t.shape.length !== rank || t.shape.some((n, d) => d !== axis && n !== first.shape[d])) fail(`joins [${first.shape}] and [${t.shape}] along axis ${axis}`);
    }
    shapes = inputs.map((t) => [...t.shape]);
    outShape = [...first.shape];
    outShape[axis] = inputs.reduce((s, t) => s + t.shape[axis]!, 0);
  }
  checkOutput(graph, op, 0, outShape, fail);
  return { inputs, y, plan: concatPlan(shapes, axis) };
}

/** PAD and PADV2: padding per dimension and where the pad value comes from. */
export interface PadSpec {
  x: Tensor;
  y: Tensor;
  before: number[];
  after: number[];
  /** The quantized (or float) pad value, when known at Prepare. */
  value?: number;
  /** PADV2 with a computed constant_values tensor: read its first element at run time. */
  valueTensor?: Tensor;
}

export function padSpec(graph: Graph, op: Op, fail: Fail): PadSpec {
  const { x, y } = moveIO(graph, op, fail);
  const rank = x.shape.length;
  if (rank > 5) fail(`has a rank-${rank} input; TFLM pads at most 5 dimensions`);
  let pads: number[];
  if (op.type === 'PAD') {
    if (!Array.isArray(op.attrs['pads'])) fail('takes its paddings from a runtime input; they must be constant');
    pads = op.attrs['pads'] as number[];
  } else {
    pads = constInts(graph, op, 1, 'paddings', fail);
  }
  if (pads.length !== 2 * rank) fail(`has ${pads.length} padding values for a rank-${rank} input`);
  if (pads.some((p) => p < 0)) fail('has negative paddings');
  if (op.type === 'PAD' && (op.attrs['mode'] ?? 'CONSTANT') !== 'CONSTANT') fail(`pads in ${String(op.attrs['mode'])} mode; only constant padding is supported`);
  const before = x.shape.map((_, d) => pads[2 * d]!);
  const after = x.shape.map((_, d) => pads[2 * d + 1]!);
  checkOutput(graph, op, 0, x.shape.map((n, d) => n + before[d]! + after[d]!), fail);
  const spec: PadSpec = { x, y, before, after };
  const valueInput = op.type === 'PADV2' ? 2 : op.attrs['constantValue'] === null ? 2 : -1;
  if (valueInput >= 0) {
    const c = tensorAt(graph, op, valueInput, fail, 'constant_values');
    if (c.dtype !== x.dtype) fail(`pads ${x.dtype} with a ${c.dtype} value; TFLM requires the input's dtype`);
    if (elementCount(c.shape) !== 1) fail(`has ${elementCount(c.shape)} constant values; TFLM requires one`);
    if (x.dtype === 'int8' && (c.quant?.zeroPoint[0] ?? 0) !== (y.quant?.zeroPoint[0] ?? 0)) {
      fail('pads with a value quantized differently from the output (TFLM requires the same scale and zero point)');
    }
    if (c.data !== undefined && !c.variable) {
      spec.value = firstValue(c, fail);
    } else {
      spec.valueTensor = c;
    }
  } else if (op.source.format === 'tflite' || typeof op.attrs['constantValue'] !== 'number') {
    // TFLM PAD: int8 pads with the output zero point, every other dtype with 0 (an int16 tensor
    // with a non-zero zero point too, whatever the import recorded).
    spec.value = x.dtype === 'int8' ? (y.quant?.zeroPoint[0] ?? 0) : 0;
  } else {
    spec.value = op.attrs['constantValue'] as number;
  }
  return spec;
}

function firstValue(t: Tensor, fail: Fail): number {
  const data = t.data!;
  if (data.length < dtypeSize(t.dtype) || dtypeSize(t.dtype) === 0) fail(`has a constant value of dtype ${t.dtype} without data`);
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  switch (t.dtype) {
    case 'int8':
      return view.getInt8(0);
    case 'uint8':
      return view.getUint8(0);
    case 'int16':
      return view.getInt16(0, true);
    case 'int32':
      return view.getInt32(0, true);
    case 'float32':
      return view.getFloat32(0, true);
    default:
      return fail(`pads with a ${t.dtype} value`);
  }
}

/** GATHER: geometry and the coordinates tensor. */
export function gatherSpec(graph: Graph, op: Op, fail: Fail): { x: Tensor; coords: Tensor; y: Tensor; plan: GatherPlan } {
  const x = tensorAt(graph, op, 0, fail, 'input');
  const coords = tensorAt(graph, op, 1, fail, 'coordinates');
  const y = outputAt(graph, op, 0, fail);
  if (x.dtype !== y.dtype) fail(`changes dtype ${x.dtype} to ${y.dtype}`);
  if (coords.dtype !== 'int32' && coords.dtype !== 'int64') fail(`has coordinates of dtype ${coords.dtype}; expected int32 or int64`);
  const rank = x.shape.length;
  const axis = axisIn(attrNum(op, 'axis', 0), rank, fail);
  let batchDims = attrNum(op, 'batch_dims', 0);
  if (batchDims < 0) batchDims += coords.shape.length;
  if (batchDims < 0 || batchDims > axis || batchDims >= rank || batchDims > coords.shape.length) fail(`has batch_dims ${batchDims} with axis ${axis}`);
  for (let d = 0; d < batchDims; d++) if (x.shape[d] !== coords.shape[d]) fail(`has batch dimension ${d} of size ${x.shape[d]} in the input but ${coords.shape[d]} in the coordinates`);
  checkOutput(graph, op, 0, gatherShape(x.shape, coords.shape, axis, batchDims), fail);
  return { x, coords, y, plan: gatherPlan(x.shape, coords.shape, axis, batchDims) };
}

/** MEAN, SUM, REDUCE_MAX: the distinct reduced axes (sorted) and the output shape check. */
export function reduceSpec(graph: Graph, op: Op, fail: Fail): { x: Tensor; y: Tensor; axes: number[]; count: number } {
  const x = tensorAt(graph, op, 0, fail, 'input');
  const y = outputAt(graph, op, 0, fail);
  const rank = x.shape.length;
  const raw = Array.isArray(op.attrs['axes']) ? (op.attrs['axes'] as number[]) : constInts(graph, op, 1, 'axis', fail);
  const axes = [...new Set(raw.map((a) => axisIn(a, rank, fail)))].sort((a, b) => a - b);
  const keepDims = attrBool(op, 'keepDims', 'keep_dims');
  const kept = x.shape.map((n, d) => (axes.includes(d) ? 1 : n));
  const shape = keepDims ? kept : x.shape.filter((_, d) => !axes.includes(d));
  // TFLM only checks the element count (the output shape is computed by the converter).
  if (elementCount(y.shape) !== product(shape)) fail(`declares output [${y.shape}] but reducing axes [${axes}] of [${x.shape}] gives [${shape}]`);
  return { x, y, axes, count: product(axes.map((a) => x.shape[a]!)) };
}

/** ARG_MAX / ARG_MIN: the reduced axis. */
export function argSpec(graph: Graph, op: Op, fail: Fail): { x: Tensor; y: Tensor; axis: number; outer: number; axisSize: number; inner: number } {
  const x = tensorAt(graph, op, 0, fail, 'input');
  const y = outputAt(graph, op, 0, fail);
  if (y.dtype !== 'int32' && y.dtype !== 'int64') fail(`writes indices as ${y.dtype}; expected int32 or int64`);
  const values = constInts(graph, op, 1, 'axis', fail);
  if (values.length !== 1) fail(`has ${values.length} axis values; expected one`);
  const rank = x.shape.length;
  const axis = axisIn(values[0]!, rank, fail);
  checkOutput(graph, op, 0, x.shape.filter((_, d) => d !== axis), fail);
  return { x, y, axis, outer: product(x.shape.slice(0, axis)), axisSize: x.shape[axis]!, inner: product(x.shape.slice(axis + 1)) };
}

/** RESIZE_BILINEAR / RESIZE_NEAREST_NEIGHBOR on a 4-D NHWC input. */
export interface ResizeSpec {
  x: Tensor;
  y: Tensor;
  batches: number;
  inH: number;
  inW: number;
  depth: number;
  outH: number;
  outW: number;
  alignCorners: boolean;
  halfPixelCenters: boolean;
}

export function resizeSpec(graph: Graph, op: Op, fail: Fail): ResizeSpec {
  const { x, y } = moveIO(graph, op, fail);
  if (x.shape.length !== 4) fail(`has a rank-${x.shape.length} input; TFLM resizes 4-D NHWC tensors`);
  const size = constInts(graph, op, 1, 'size', fail);
  if (size.length !== 2) fail(`has ${size.length} size values; expected 2 (height, width)`);
  const [outH, outW] = size as [number, number];
  if (outH < 1 || outW < 1) fail(`resizes to ${outH}x${outW}`);
  const alignCorners = attrBool(op, 'align_corners', 'alignCorners');
  const halfPixelCenters = attrBool(op, 'half_pixel_centers', 'halfPixelCenters');
  if (alignCorners && halfPixelCenters) fail('sets both align_corners and half_pixel_centers, which TFLM rejects');
  const [batches, inH, inW, depth] = x.shape as [number, number, number, number];
  checkOutput(graph, op, 0, [batches, outH, outW, depth], fail);
  return { x, y, batches, inH, inW, depth, outH, outW, alignCorners, halfPixelCenters };
}

/** SQUEEZE / EXPAND_DIMS / RESHAPE: same bytes, new shape. */
export function reshapeSpec(graph: Graph, op: Op, fail: Fail): { x: Tensor; y: Tensor } {
  const { x, y } = moveIO(graph, op, fail);
  if (elementCount(x.shape) !== elementCount(y.shape)) fail(`turns [${x.shape}] into [${y.shape}], a different element count`);
  return { x, y };
}
