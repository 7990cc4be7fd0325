/**
 * BATCH_MATMUL on quantized tensors (TFLite Micro batch_matmul.cc with the reference
 * batch_matmul.h), int8 (int32 accumulator) and int16 (int64 accumulator, all zero points 0):
 *
 *   out[b, i, j] = clamp(MultiplyByQuantizedMultiplier(sum_k (A[b, i, k] - zpA) * (B[b, k, j] - zpB), M, s) + zpOut)
 *
 * A is [..., M, K] ([..., K, M] with adj_x), B is [..., K, N] ([..., N, K] with adj_y), the batch
 * dimensions (up to 3, ranks 2..5) broadcast numpy-style. M, s = QuantizeMultiplier(double(float(sA * sB)) / double(sOut))
 * (TFLM's GetQuantizedConvolutionMultipler without bias). No fused activation.
 */
import { elementCount, type Graph, type Op, type Tensor } from '../../ir/graph.ts';
import { multiplyByQuantizedMultiplier, multiplyByQuantizedMultiplierInt64, type QuantizedMultiplier } from '../fixedpoint.ts';
import type { Fail } from '../shape-params.ts';
import { dtypeRange, read, requireDtype, scaleOf, unsupported, zeroPointOf, type EvalFn, type PrepareContext } from './common.ts';
import { failFor, source } from './movement.ts';
import { fullyConnectedPerTensorMultiplier } from './params.ts';

/** The index arithmetic of one BATCH_MATMUL, after adj_x / adj_y and batch broadcasting. */
export interface MatmulPlan {
  a: Tensor;
  b: Tensor;
  y: Tensor;
  batches: number;
  rows: number;
  cols: number;
  depth: number;
  /** Element steps inside one matrix of A (row i, depth k) and of B (depth k, column j). */
  aRowStep: number;
  aDepthStep: number;
  bDepthStep: number;
  bColStep: number;
  /** Element offset of each broadcast batch's matrix in A and in B. */
  aOffsets: Int32Array;
  bOffsets: Int32Array;
}

export function matmulPlan(graph: Graph, op: Op, fail: Fail): MatmulPlan {
  const at = (k: number): Tensor => {
    const i = op.inputs[k];
    const t = i === undefined || i < 0 ? undefined : graph.tensors[i];
    if (t === undefined) fail(`has no input ${k}`);
    return t;
  };
  const a = at(0);
  const b = at(1);
  const yi = op.outputs[0];
  const y = yi === undefined ? undefined : graph.tensors[yi];
  if (y === undefined) fail('has no output');
  const ra = a.shape.length;
  const rb = b.shape.length;
  if (ra < 2 || ra > 5 || rb < 2 || rb > 5) fail(`multiplies ranks ${ra} and ${rb}; TFLM takes ranks 2 to 5`);
  const adjX = op.attrs['adjX'] === true || op.attrs['adj_x'] === true;
  const adjY = op.attrs['adjY'] === true || op.attrs['adj_y'] === true;
  const rows = adjX ? a.shape[ra - 1]! : a.shape[ra - 2]!;
  const depth = adjX ? a.shape[ra - 2]! : a.shape[ra - 1]!;
  const depthB = adjY ? b.shape[rb - 1]! : b.shape[rb - 2]!;
  const cols = adjY ? b.shape[rb - 2]! : b.shape[rb - 1]!;
  if (depth !== depthB) fail(`multiplies [${a.shape}] by [${b.shape}]: inner dimensions ${depth} and ${depthB} differ`);
  const rank = Math.max(ra, rb);
  const batchA = [...new Array<number>(rank - ra).fill(1), ...a.shape.slice(0, -2)];
  const batchB = [...new Array<number>(rank - rb).fill(1), ...b.shape.slice(0, -2)];
  const batch = batchA.map((n, d) => {
    const m = batchB[d]!;
    if (n !== m && n !== 1 && m !== 1) fail(`has batch dimensions [${a.shape.slice(0, -2)}] and [${b.shape.slice(0, -2)}] that do not broadcast`);
    return n === 1 ? m : n;
  });
  const outShape = [...batch, rows, cols];
  if (y.shape.length !== outShape.length || y.shape.some((n, d) => n !== outShape[d])) fail(`declares output [${y.shape}] but the product is [${outShape}]`);
  const batches = batch.reduce((p, n) => p * n, 1);
  const offsets = (own: number[], matrix: number): Int32Array => {
    const out = new Int32Array(batches);
    for (let t = 0; t < batches; t++) {
      let rem = t;
      let off = 0;
      let stride = matrix;
      for (let d = batch.length - 1; d >= 0; d--) {
        const idx = rem % batch[d]!;
        rem = Math.floor(rem / batch[d]!);
        if (own[d] !== 1) off += idx * stride;
        stride *= own[d]!;
      }
      out[t] = off;
    }
    return out;
  };
  return {
    a,
    b,
    y,
    batches,
    rows,
    cols,
    depth,
    aRowStep: adjX ? 1 : depth,
    aDepthStep: adjX ? rows : 1,
    bDepthStep: adjY ? 1 : cols,
    bColStep: adjY ? depth : 1,
    aOffsets: offsets(batchA, rows * depth),
    bOffsets: offsets(batchB, depth * cols),
  };
}

/** The output requantization, as TFLM's Prepare computes it. */
export function matmulMultiplier(op: Op, p: MatmulPlan): QuantizedMultiplier {
  return fullyConnectedPerTensorMultiplier(scaleOf(op, p.a), scaleOf(op, p.b), scaleOf(op, p.y));
}

export function prepareBatchMatmul(op: Op, ctx: PrepareContext): EvalFn {
  const p = matmulPlan(ctx.graph, op, failFor(op));
  requireDtype(op, p.a, 'int8', 'int16');
  if (p.b.dtype !== p.a.dtype || p.y.dtype !== p.a.dtype) throw unsupported(op, `mixes dtypes ${p.a.dtype}, ${p.b.dtype} and ${p.y.dtype} (TFLM requires one)`);
  for (const t of [p.a, p.b, p.y]) if ((t.quant?.scale.length ?? 0) > 1) throw unsupported(op, `has per-axis quantization on '${t.name}'; TFLM needs per-tensor`);
  const wide = p.a.dtype === 'int16';
  const zpA = zeroPointOf(p.a);
  const zpB = zeroPointOf(p.b);
  const zpOut = zeroPointOf(p.y);
  if (wide && (zpA !== 0 || zpB !== 0 || zpOut !== 0)) throw unsupported(op, 'has non-zero int16 zero points (TFLM requires 0)');
  const q = matmulMultiplier(op, p);
  const range = dtypeRange(p.y.dtype);
  const getA = source(ctx, p.a);
  const getB = source(ctx, p.b);
  const yi = p.y.index;
  if (elementCount(p.y.shape) !== p.batches * p.rows * p.cols) throw unsupported(op, 'has an inconsistent output size');
  return (values) => {
    const A = getA(values) as unknown as ArrayLike<number>;
    const B = getB(values) as unknown as ArrayLike<number>;
    const out = read(values, yi);
    let o = 0;
    for (let t = 0; t < p.batches; t++) {
      const ao = p.aOffsets[t]!;
      const bo = p.bOffsets[t]!;
      for (let i = 0; i < p.rows; i++) {
        for (let j = 0; j < p.cols; j++) {
          let acc = 0;
          for (let k = 0; k < p.depth; k++) {
            acc += (A[ao + i * p.aRowStep + k * p.aDepthStep]! - zpA) * (B[bo + k * p.bDepthStep + j * p.bColStep]! - zpB);
          }
          // int8: |acc| < 2^16 * depth stays an exact int32 for any realistic depth (TFLM wraps an int32 too).
          const scaled = wide ? multiplyByQuantizedMultiplierInt64(BigInt(acc), q.multiplier, q.shift) : multiplyByQuantizedMultiplier(acc | 0, q.multiplier, q.shift);
          const v = scaled + zpOut;
          out[o++] = v < range.min ? range.min : v > range.max ? range.max : v;
        }
      }
    }
  };
}
