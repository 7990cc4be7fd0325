/**
 * Lowering of the data-movement, reduction, resize and BATCH_MATMUL ops to the kernels of
 * firmware/kernels/{movement,reduce,resize,batch_matmul}.c (declared in tml_kernels_shape.h).
 *
 * Every parameter is read and checked by src/reference/shape-params.ts and turned into indices
 * by src/reference/movement.ts, the same code the int8 reference runs, so the C cannot disagree
 * with the oracle on a shape decision. Views are simplified (size-1 dimensions dropped,
 * contiguous neighbours merged) so the kernels loop over as few, as long rows as possible.
 * SQUEEZE and EXPAND_DIMS cost nothing when the memory plan aliases their output onto their
 * input (src/plan/memory.ts ALIAS_OPS); otherwise they are one memcpy.
 */
import { elementCount, tensorBytes, type DType, type Graph, type Op, type Tensor } from '../../ir/graph.ts';
import type { MemoryPlan } from '../../plan/memory.ts';
import { multiplyByQuantizedMultiplier } from '../../reference/fixedpoint.ts';
import { matmulPlan } from '../../reference/int8/batch-matmul.ts';
import { fullyConnectedPerTensorMultiplier } from '../../reference/int8/params.ts';
import { meanOrSumMultiplier } from '../../reference/int8/reduce.ts';
import { resizeBilinearTables } from '../../reference/int8/resize.ts';
import { nearestIndices, reducePlan, simplifyView, type View } from '../../reference/movement.ts';
import {
  argSpec,
  concatSpec,
  gatherSpec,
  padSpec,
  reduceSpec,
  reshapeSpec,
  resizeSpec,
  sliceSpec,
  splitSpec,
  transposeSpec,
} from '../../reference/shape-params.ts';
import { int32Literal } from './c-syntax.ts';

export type ShapeCType = 'int8_t' | 'int16_t' | 'int32_t' | 'float';

/** What lower.ts's Lowerer lends a family lowering. */
export interface LowerContext {
  readonly graph: Graph;
  readonly plan: MemoryPlan;
  /** A C expression pointing at tensor `i` (arena, or a const array for a constant). */
  ptr(op: Op, i: number, role: string): string;
  /** Adds a `const` array to flash; returns its name. */
  addConst(name: string, ctype: ShapeCType, values: ArrayLike<number>, what: string): string;
  /** Refuses the op: `what` completes "<op> (op #i, node ...): ...". */
  refuse(what: string): never;
}

export interface LoweredBody {
  params: string[];
  call: string[];
}

const ELEMENT_BYTES: Partial<Record<DType, number>> = { int8: 1, int16: 2, int32: 4, float32: 4 };
const SUFFIX: Partial<Record<DType, string>> = { int8: 's8', int16: 's16' };
const CTYPE: Partial<Record<DType, ShapeCType>> = { int8: 'int8_t', int16: 'int16_t', int32: 'int32_t', float32: 'float' };

function elementBytes(ctx: LowerContext, t: Tensor): number {
  const n = ELEMENT_BYTES[t.dtype];
  if (n === undefined) ctx.refuse(`moves ${t.dtype} tensors; the native kernels move int8, int16, int32 and float32`);
  return n;
}

function suffix(ctx: LowerContext, t: Tensor): string {
  const s = SUFFIX[t.dtype];
  if (s === undefined) ctx.refuse(`computes on ${t.dtype} tensors; the native kernel takes int8 or int16`);
  return s;
}

function scaleOf(ctx: LowerContext, t: Tensor): number {
  const s = t.quant?.scale[0];
  if (s === undefined) ctx.refuse(`tensor #${t.index} has no quantization scale`);
  if (t.quant!.scale.length > 1) ctx.refuse(`tensor #${t.index} is quantized per axis; the kernel needs one scale`);
  return Math.fround(s);
}

function zpOf(t: Tensor): number {
  return t.quant?.zeroPoint[0] ?? 0;
}

function dtypeRange(dtype: DType): { min: number; max: number } {
  return dtype === 'int8' ? { min: -128, max: 127 } : { min: -32768, max: 32767 };
}

/** C initializer of a tml_view (rank <= TML_VIEW_MAX_RANK, padded with 1 / 0). */
function viewInit(ctx: LowerContext, v: View): string {
  const s = simplifyView(v);
  if (s.shape.length > 6) ctx.refuse(`needs a ${s.shape.length}-dimensional copy; the native kernel handles 6`);
  const pad = (xs: number[], fill: number) => [...xs, ...new Array<number>(6 - xs.length).fill(fill)].join(', ');
  return `{ ${s.shape.length}, { ${pad(s.shape, 1)} }, { ${pad(s.step, 0)} }, ${s.offset} }`;
}

function aliased(ctx: LowerContext, x: Tensor, y: Tensor): boolean {
  const xo = ctx.plan.tensorOffset.get(x.index);
  return xo !== undefined && xo === ctx.plan.tensorOffset.get(y.index);
}

/** The kernel call(s) for one op of SHAPE_OPS (src/codegen/native/ops.ts). */
export function lowerShapeOp(ctx: LowerContext, op: Op): LoweredBody {
  const fail = (what: string): never => ctx.refuse(what);
  const g = ctx.graph;
  const n = op.index;
  switch (op.type) {
    case 'SQUEEZE':
    case 'EXPAND_DIMS': {
      const { x, y } = reshapeSpec(g, op, fail);
      if (aliased(ctx, x, y)) return { params: [], call: ["/* aliased: the output shares the input's bytes, nothing to do */"] };
      return { params: [], call: [`memcpy(${ctx.ptr(op, y.index, 'output')}, ${ctx.ptr(op, x.index, 'input')}, ${tensorBytes(y)}u);`] };
    }
    case 'TRANSPOSE':
    case 'STRIDED_SLICE':
    case 'SLICE': {
      const { x, y, view } = op.type === 'TRANSPOSE' ? transposeSpec(g, op, fail) : sliceSpec(g, op, fail);
      const eb = elementBytes(ctx, x);
      const params = [`static const tml_view tml_op${n}_view = ${viewInit(ctx, view)};`];
      if (elementCount(y.shape) === 0) return { params: [], call: ['/* empty output */'] };
      return { params, call: [`tml_copy_view(&tml_op${n}_view, ${eb}, ${ctx.ptr(op, x.index, 'input')}, ${ctx.ptr(op, y.index, 'output')});`] };
    }
    case 'SPLIT':
    case 'SPLIT_V':
    case 'UNPACK': {
      const { x, outputs, views } = splitSpec(g, op, fail);
      const eb = elementBytes(ctx, x);
      const xp = ctx.ptr(op, x.index, 'input');
      const params: string[] = [];
      const call: string[] = [];
      views.forEach((v, k) => {
        if (elementCount(outputs[k]!.shape) === 0) return;
        params.push(`static const tml_view tml_op${n}_view${k} = ${viewInit(ctx, v)};`);
        call.push(`tml_copy_view(&tml_op${n}_view${k}, ${eb}, ${xp}, ${ctx.ptr(op, outputs[k]!.index, `output${k}`)});`);
      });
      return { params, call };
    }
    case 'CONCATENATION':
    case 'PACK': {
      const { inputs, y, plan } = concatSpec(g, op, fail);
      const eb = elementBytes(ctx, y);
      if (op.type === 'CONCATENATION' && y.quant !== undefined) {
        for (const t of inputs) {
          if (scaleOf(ctx, t) !== scaleOf(ctx, y) || zpOf(t) !== zpOf(y)) {
            ctx.refuse(`input tensor #${t.index} is quantized differently from the output (TFLite Micro requires identical scale and zero point)`);
          }
        }
      }
      const chunks = ctx.addConst(`tml_op${n}_chunk_bytes`, 'int32_t', plan.chunks.map((c) => c * eb), 'bytes of each input per outer block');
      const ptrs = inputs.map((t, k) => ctx.ptr(op, t.index, `input${k}`));
      return {
        params: [],
        call: [
          '{',
          `  const void *const inputs[${inputs.length}] = { ${ptrs.join(', ')} };`,
          `  tml_concat(${plan.outer}, ${inputs.length}, ${chunks}, inputs, ${ctx.ptr(op, y.index, 'output')});`,
          '}',
        ],
      };
    }
    case 'PAD':
    case 'PADV2':
      return lowerPad(ctx, op);
    case 'GATHER': {
      const { x, coords, y, plan } = gatherSpec(g, op, fail);
      const eb = elementBytes(ctx, x);
      let cp: string;
      if (coords.data !== undefined && !coords.variable) {
        const bytes = coords.data;
        const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
        const count = elementCount(coords.shape);
        const values = Array.from({ length: count }, (_, k) => (coords.dtype === 'int32' ? view.getInt32(4 * k, true) : Number(view.getBigInt64(8 * k, true))));
        values.forEach((c) => {
          if (c < 0 || c >= plan.axisSize) ctx.refuse(`has coordinate ${c} outside [0, ${plan.axisSize}) in its constant coordinates`);
        });
        cp = ctx.addConst(`tml_op${n}_coords`, 'int32_t', values, 'gather coordinates');
      } else {
        if (coords.dtype !== 'int32') ctx.refuse(`takes computed ${coords.dtype} coordinates; the native kernel takes int32`);
        cp = ctx.ptr(op, coords.index, 'coords');
      }
      if (elementCount(y.shape) === 0) return { params: [], call: ['/* empty output */'] };
      const call = `if (tml_gather(${plan.batches}, ${plan.outer}, ${plan.axisSize}, ${plan.coords}, ${plan.inner * eb}, ${ctx.ptr(op, x.index, 'input')}, ${cp}, ${ctx.ptr(op, y.index, 'output')}) != 0) return ${n + 1};`;
      return { params: [], call: [call] };
    }
    case 'RESIZE_NEAREST_NEIGHBOR': {
      const s = resizeSpec(g, op, fail);
      const eb = elementBytes(ctx, s.x);
      const ys = ctx.addConst(`tml_op${n}_src_y`, 'int32_t', nearestIndices(s.inH, s.outH, s.alignCorners, s.halfPixelCenters), 'source row of each output row');
      const xs = ctx.addConst(`tml_op${n}_src_x`, 'int32_t', nearestIndices(s.inW, s.outW, s.alignCorners, s.halfPixelCenters), 'source column of each output column');
      const call = `tml_resize_nearest(${s.batches}, ${s.inH}, ${s.inW}, ${s.outH}, ${s.outW}, ${s.depth * eb}, ${ys}, ${xs}, ${ctx.ptr(op, s.x.index, 'input')}, ${ctx.ptr(op, s.y.index, 'output')});`;
      return { params: [], call: [call] };
    }
    case 'RESIZE_BILINEAR': {
      const s = resizeSpec(g, op, fail);
      const sfx = suffix(ctx, s.x);
      const t = resizeBilinearTables(s);
      const rows = ctx.addConst(`tml_op${n}_rows`, 'int32_t', t.rows, 'per output row: low row, high row, Q10 distance');
      const cols = ctx.addConst(`tml_op${n}_cols`, 'int32_t', t.cols, 'per output column: low column, high column, Q10 distance');
      const params = [
        `static const tml_resize_bilinear_params tml_op${n}_params = { ${s.batches}, ${s.inH}, ${s.inW}, ${s.depth}, ${s.outH}, ${s.outW}, ${rows}, ${cols} };`,
      ];
      return { params, call: [`tml_resize_bilinear_${sfx}(&tml_op${n}_params, ${ctx.ptr(op, s.x.index, 'input')}, ${ctx.ptr(op, s.y.index, 'output')});`] };
    }
    case 'MEAN':
    case 'SUM':
    case 'REDUCE_MAX':
      return lowerReduce(ctx, op);
    case 'ARG_MAX':
    case 'ARG_MIN': {
      const s = argSpec(g, op, fail);
      const sfx = suffix(ctx, s.x);
      if (s.y.dtype !== 'int32') ctx.refuse(`writes ${s.y.dtype} indices; the native kernel writes int32`);
      const call = `tml_arg_min_max_${sfx}(${s.outer}, ${s.axisSize}, ${s.inner}, ${op.type === 'ARG_MIN' ? 1 : 0}, ${ctx.ptr(op, s.x.index, 'input')}, ${ctx.ptr(op, s.y.index, 'output')});`;
      return { params: [], call: [call] };
    }
    case 'BATCH_MATMUL':
      return lowerBatchMatmul(ctx, op);
    default:
      return ctx.refuse('has no native C kernel');
  }
}

/** Merges trailing dimensions that are not padded into the dimension before them (longer rows). */
function mergePadDims(shape: number[], before: number[], after: number[]): { shape: number[]; before: number[]; after: number[] } {
  const s = [...shape];
  const b = [...before];
  const a = [...after];
  while (s.length > 1 && b[s.length - 1] === 0 && a[s.length - 1] === 0) {
    const inner = s.pop()!;
    b.pop();
    a.pop();
    const d = s.length - 1;
    s[d] = s[d]! * inner;
    b[d] = b[d]! * inner;
    a[d] = a[d]! * inner;
  }
  return { shape: s, before: b, after: a };
}

function lowerPad(ctx: LowerContext, op: Op): LoweredBody {
  const s = padSpec(ctx.graph, op, (w) => ctx.refuse(w));
  const eb = elementBytes(ctx, s.x);
  const n = op.index;
  if (s.x.shape.length === 0) {
    return { params: [], call: [`memcpy(${ctx.ptr(op, s.y.index, 'output')}, ${ctx.ptr(op, s.x.index, 'input')}, ${tensorBytes(s.y)}u); /* a scalar has nothing to pad */`] };
  }
  const m = mergePadDims(s.x.shape, s.before, s.after);
  const five = (xs: number[]) => [...xs, ...new Array<number>(5 - xs.length).fill(0)].join(', ');
  let value: string;
  if (s.valueTensor !== undefined) {
    value = ctx.ptr(op, s.valueTensor.index, 'pad_value');
  } else {
    const ctype = CTYPE[s.x.dtype]!;
    value = ctx.addConst(`tml_op${n}_pad_value`, ctype, [s.value ?? 0], 'pad value (quantized)');
  }
  const params = [
    `static const tml_pad_params tml_op${n}_params = { ${m.shape.length}, { ${five(m.shape)} }, { ${five(m.before)} }, { ${five(m.after)} } };`,
  ];
  if (elementCount(s.y.shape) === 0) return { params: [], call: ['/* empty output */'] };
  return { params, call: [`tml_pad(&tml_op${n}_params, ${eb}, ${ctx.ptr(op, s.x.index, 'input')}, ${value}, ${ctx.ptr(op, s.y.index, 'output')});`] };
}

function lowerReduce(ctx: LowerContext, op: Op): LoweredBody {
  const { x, y, axes, count } = reduceSpec(ctx.graph, op, (w) => ctx.refuse(w));
  const sfx = suffix(ctx, x);
  if (y.dtype !== x.dtype) ctx.refuse(`changes dtype ${x.dtype} to ${y.dtype}`);
  const n = op.index;
  const plan = reducePlan(x.shape, axes);
  const sameQuant = scaleOf(ctx, x) === scaleOf(ctx, y) && zpOf(x) === zpOf(y);
  let mode = 1;
  let q = { multiplier: 0, shift: 0 };
  if (op.type === 'REDUCE_MAX') {
    if (!sameQuant) ctx.refuse('has different input and output quantization (TFLite Micro requires them equal)');
  } else if (op.type === 'MEAN' && sameQuant) {
    mode = 0;
  } else {
    try {
      q = meanOrSumMultiplier(scaleOf(ctx, x), scaleOf(ctx, y), count, op.type === 'SUM');
    } catch (e) {
      if (e instanceof RangeError) ctx.refuse(`has quantization parameters TFLite rejects (${e.message})`);
      throw e;
    }
  }
  const params = [
    `static const tml_reduce_params tml_op${n}_params = {`,
    `  ${viewInit(ctx, plan.kept)},`,
    `  ${viewInit(ctx, plan.reduced)},`,
    `  ${count}, ${mode === 0 ? 'TML_REDUCE_TRUNCATING_MEAN' : 'TML_REDUCE_REQUANTIZE'}, ${zpOf(x)}, ${zpOf(y)}, ${int32Literal(q.multiplier)}, ${q.shift}`,
    '};',
  ];
  const fn = op.type === 'REDUCE_MAX' ? `tml_reduce_max_${sfx}` : `tml_reduce_sum_${sfx}`;
  return { params, call: [`${fn}(&tml_op${n}_params, ${ctx.ptr(op, x.index, 'input')}, ${ctx.ptr(op, y.index, 'output')});`] };
}

function lowerBatchMatmul(ctx: LowerContext, op: Op): LoweredBody {
  const p = matmulPlan(ctx.graph, op, (w) => ctx.refuse(w));
  const sfx = suffix(ctx, p.a);
  if (p.b.dtype !== p.a.dtype || p.y.dtype !== p.a.dtype) ctx.refuse(`mixes dtypes ${p.a.dtype}, ${p.b.dtype} and ${p.y.dtype} (TFLM requires one)`);
  const wide = p.a.dtype === 'int16';
  if (wide && (zpOf(p.a) !== 0 || zpOf(p.b) !== 0 || zpOf(p.y) !== 0)) ctx.refuse('has non-zero int16 zero points (TFLM requires 0)');
  let q;
  try {
    q = fullyConnectedPerTensorMultiplier(scaleOf(ctx, p.a), scaleOf(ctx, p.b), scaleOf(ctx, p.y));
    if (!wide) multiplyByQuantizedMultiplier(0, q.multiplier, q.shift);
  } catch (e) {
    if (e instanceof RangeError) ctx.refuse(`has quantization parameters TFLite rejects (${e.message})`);
    throw e;
  }
  const n = op.index;
  const ao = ctx.addConst(`tml_op${n}_a_offsets`, 'int32_t', p.aOffsets, 'element offset of each batch matrix of the left operand');
  const bo = ctx.addConst(`tml_op${n}_b_offsets`, 'int32_t', p.bOffsets, 'element offset of each batch matrix of the right operand');
  const range = dtypeRange(p.y.dtype);
  const params = [
    `static const tml_batch_matmul_params tml_op${n}_params = {`,
    `  ${p.batches}, ${p.rows}, ${p.cols}, ${p.depth}, ${p.aRowStep}, ${p.aDepthStep}, ${p.bDepthStep}, ${p.bColStep}, ${ao}, ${bo},`,
    `  ${-zpOf(p.a)}, ${-zpOf(p.b)}, ${zpOf(p.y)}, ${int32Literal(q.multiplier)}, ${q.shift}, ${range.min}, ${range.max}`,
    '};',
  ];
  const call = `tml_batch_matmul_${sfx}(&tml_op${n}_params, ${ctx.ptr(op, p.a.index, 'lhs')}, ${ctx.ptr(op, p.b.index, 'rhs')}, ${ctx.ptr(op, p.y.index, 'output')});`;
  return { params, call: [call] };
}
