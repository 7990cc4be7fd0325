/**
 * Gemm, MatMul and QLinearMatMul. Constant (or QDQ) 2-D weights become FULLY_CONNECTED with
 * alpha/beta/transB folded into the constants; runtime weights become BATCH_MATMUL with MUL/ADD.
 */
import { elementCount } from '../../../ir/graph.ts';
import type { Value } from '../builder.ts';
import { broadcastShapes, float32Bytes, readNumbers } from '../layout.ts';
import { constQuant, emit, invalid, isFloatConst, output, req, setQuant, soleReader, temp, unsupported, type NodeContext } from './context.ts';

// ---------------------------------------------------------------------------------------------
// Gemm and MatMul

/** The FULLY_CONNECTED weight tensor [N, K] from float weights, matching x's column order. */
function floatDenseWeights(ctx: NodeContext, x: Value, weights: Float64Array, n: number, k: number): number {
  // x may hold an NHWC flattening: its column j is NCHW column flatOrder[j].
  const w = x.flatOrder ? reorderColumns(weights, n, k, x.flatOrder) : weights;
  return ctx.b.addTensor(`${ctx.inputs[1]!.name}_fc`, [n, k], 'float32', float32Bytes(w));
}

/**
 * Emits FULLY_CONNECTED(x, weights [N, K], bias [N]). A following Add of one constant value per
 * unit is folded into a float bias (MatMul + Add = Gemm) unless `biasTensor` is given.
 */
function emitDense(
  ctx: NodeContext,
  xTensor: number,
  weightT: number,
  n: number,
  bias: Float64Array | undefined,
  outShape: number[],
  keepNumDims: boolean,
  biasTensor?: number,
): void {
  let outName = ctx.outputs[0]!;
  let b = bias;
  while (biasTensor === undefined) {
    const r = soleReader(ctx, outName);
    if (r === undefined) break;
    const next = ctx.nodes[r]!;
    if (next.opType !== 'Add' || ((next.domain ?? '') !== '' && next.domain !== 'ai.onnx') || (next.attribute ?? []).some((a) => a.name === 'axis')) break;
    const other = next.input?.[0] === outName ? next.input?.[1] : next.input?.[1] === outName ? next.input?.[0] : undefined;
    const ov = other ? ctx.b.value(other) : undefined;
    if (!isFloatConst(ov) || other === outName) break;
    const count = elementCount(ov.shape);
    if (!(count === n || count === 1) || ov.shape.slice(0, -1).some((d) => d !== 1) || ov.shape.length > outShape.length) break;
    const add = readNumbers(ov.data, 'float32');
    b = b ?? new Float64Array(n);
    for (let o = 0; o < n; o++) b[o]! += add[count === 1 ? 0 : o]!;
    ctx.absorbed.add(r);
    outName = next.output![0]!;
  }
  const bT = biasTensor ?? (b ? ctx.b.addTensor(`${outName}_bias`, [n], 'float32', float32Bytes(b)) : -1);
  const y = ctx.b.activation(outName, outShape, 'float32', false);
  ctx.b.define(y);
  emit(ctx, 'FULLY_CONNECTED', [xTensor, weightT, bT], [y], { fusedActivation: 'NONE', keepNumDims });
}

function scalarConst(ctx: NodeContext, name: string, value: number): number {
  return ctx.b.addTensor(`${ctx.outputs[0]}_${name}`, [], 'float32', float32Bytes([value]));
}

export function lowerGemm(ctx: NodeContext): void {
  const a = req(ctx, 0), bv = req(ctx, 1), c = ctx.inputs[2];
  const alpha = ctx.attrs.float('alpha', 1), beta = ctx.attrs.float('beta', 1);
  const transA = ctx.attrs.int('transA', 0) !== 0, transB = ctx.attrs.int('transB', 0) !== 0;
  if (a.shape.length !== 2 || bv.shape.length !== 2) throw unsupported(ctx, `A rank ${a.shape.length}, B rank ${bv.shape.length}`, 'Gemm takes 2-D A and B');
  const [m, k] = transA ? [a.shape[1]!, a.shape[0]!] : [a.shape[0]!, a.shape[1]!];
  const [kb, n] = transB ? [bv.shape[1]!, bv.shape[0]!] : [bv.shape[0]!, bv.shape[1]!];
  if (k !== kb) throw invalid(ctx, `A [${a.shape.join(',')}] and B [${bv.shape.join(',')}] do not multiply`);
  const outShape = [m, n];
  if (c && !broadcastShapes(c.shape, outShape)?.every((d, i) => d === outShape[i])) throw invalid(ctx, `C [${c.shape.join(',')}] does not broadcast to [${m},${n}]`);
  const cBias = !!c && c.shape.slice(0, -1).every((d) => d === 1) && (elementCount(c.shape) === n || elementCount(c.shape) === 1);

  if (isFloatConst(bv) && a.dtype === 'float32' && (!c || isFloatConst(c) || beta === 0)) {
    const bNum = readNumbers(bv.data, 'float32');
    const w = new Float64Array(n * k);
    for (let r = 0; r < n; r++) for (let j = 0; j < k; j++) w[r * k + j] = alpha * (transB ? bNum[r * k + j]! : bNum[j * n + r]!);
    let xT: number;
    if (transA) {
      const t = temp(ctx, 'at', [m, k], a.dtype);
      emit(ctx, 'TRANSPOSE', [ctx.b.nchwTensorOf(a, ctx.source, ctx.version)], [t], { perm: [1, 0] });
      xT = t.tensor;
    } else {
      xT = a.flatOrder ? a.tensor : ctx.b.tensorOf(a);
    }
    const wT = floatDenseWeights(ctx, a, w, n, k);
    if (!c || beta === 0 || cBias) {
      const bias = c && beta !== 0 ? Float64Array.from({ length: n }, (_, o) => beta * readNumbers(c.data!, 'float32')[elementCount(c.shape) === 1 ? 0 : o]!) : undefined;
      emitDense(ctx, xT, wT, n, bias, outShape, false);
      return;
    }
    // A full [M, N] constant C: FULLY_CONNECTED then ADD of beta * C.
    const mm = temp(ctx, 'fc', outShape, 'float32');
    emit(ctx, 'FULLY_CONNECTED', [xT, wT, -1], [mm], { fusedActivation: 'NONE', keepNumDims: false });
    const cData = readNumbers(c!.data!, 'float32').map((v) => beta * v);
    const cT = ctx.b.addTensor(`${c!.name}_scaled`, [...c!.shape], 'float32', float32Bytes(cData));
    const y = output(ctx, 0, outShape, 'float32', false);
    emit(ctx, 'ADD', [mm.tensor, cT], [y], { fusedActivation: 'NONE' });
    return;
  }

  // QDQ weights: DEQUANTIZE of the constant laid out [N, K], then FULLY_CONNECTED.
  const cDequantBias = !!c && !!c.dequant && c.shape.length === 1 && elementCount(c.shape) === n && beta === 1;
  if (bv.dequant && alpha === 1 && !transA && a.dtype === 'float32' && (!c || beta === 0 || (cBias && isFloatConst(c)) || cDequantBias)) {
    const wT = ctx.b.dequantized(bv, transB ? [0, 1] : [1, 0], `${bv.name}_fc`);
    const bias = c && beta !== 0 && isFloatConst(c) ? Float64Array.from({ length: n }, (_, o) => beta * readNumbers(c.data, 'float32')[elementCount(c.shape) === 1 ? 0 : o]!) : undefined;
    emitDense(ctx, ctx.b.nchwTensorOf(a, ctx.source, ctx.version), wT, n, bias, outShape, false, cDequantBias ? ctx.b.tensorOf(c!) : undefined);
    return;
  }

  // Runtime B: BATCH_MATMUL with the transposes as adjoint flags, then alpha and beta * C.
  let cur = c || alpha !== 1 ? temp(ctx, 'matmul', outShape, a.dtype) : output(ctx, 0, outShape, a.dtype, false);
  emit(ctx, 'BATCH_MATMUL', [ctx.b.nchwTensorOf(a, ctx.source, ctx.version), ctx.b.nchwTensorOf(bv, ctx.source, ctx.version)], [cur], { adjX: transA, adjY: transB });
  if (alpha !== 1) {
    const next = c ? temp(ctx, 'alpha', outShape, a.dtype) : output(ctx, 0, outShape, a.dtype, false);
    emit(ctx, 'MUL', [cur.tensor, scalarConst(ctx, 'alpha', alpha)], [next], { fusedActivation: 'NONE' });
    cur = next;
  }
  if (c && beta !== 0) {
    let cT: number;
    if (c.data && c.dtype === 'float32') {
      cT = ctx.b.addTensor(`${c.name}_scaled`, [...c.shape], 'float32', float32Bytes(readNumbers(c.data, 'float32').map((v) => beta * v)));
    } else if (beta !== 1) {
      const scaled = temp(ctx, 'beta_c', [...c.shape], c.dtype);
      emit(ctx, 'MUL', [ctx.b.tensorOf(c), scalarConst(ctx, 'beta', beta)], [scaled], { fusedActivation: 'NONE' });
      cT = scaled.tensor;
    } else {
      cT = ctx.b.tensorOf(c);
    }
    const y = output(ctx, 0, outShape, a.dtype, false);
    emit(ctx, 'ADD', [cur.tensor, cT], [y], { fusedActivation: 'NONE' });
  } else if (c) {
    // beta == 0: C does not contribute; keep the product under the output name.
    const y = output(ctx, 0, outShape, a.dtype, false);
    emit(ctx, 'RESHAPE', [cur.tensor], [y], { newShape: outShape });
  }
}

function reorderColumns(w: Float64Array, n: number, k: number, order: number[]): Float64Array {
  const out = new Float64Array(n * k);
  for (let r = 0; r < n; r++) for (let j = 0; j < k; j++) out[r * k + j] = w[r * k + order[j]!]!;
  return out;
}

/** numpy matmul output shape (both operands at least 2-D). */
function matmulShape(ctx: NodeContext, a: number[], b: number[]): number[] {
  const k = a[a.length - 1]!, kb = b[b.length - 2]!;
  if (k !== kb) throw invalid(ctx, `[${a.join(',')}] and [${b.join(',')}] do not multiply`);
  const batch = broadcastShapes(a.slice(0, -2), b.slice(0, -2));
  if (!batch) throw invalid(ctx, `batch dimensions of [${a.join(',')}] and [${b.join(',')}] do not broadcast`);
  return [...batch, a[a.length - 2]!, b[b.length - 1]!];
}

export function lowerMatMul(ctx: NodeContext): void {
  let a = req(ctx, 0), bv = req(ctx, 1);
  if (a.shape.length === 0 || bv.shape.length === 0) throw invalid(ctx, 'MatMul operands must have at least one dimension');
  // numpy promotes 1-D operands to matrices and drops the added axis afterwards.
  const aVec = a.shape.length === 1, bVec = bv.shape.length === 1;
  if (bVec && bv.data) bv = { ...bv, shape: [bv.shape[0]!, 1], tensor: -1 };
  else if (bVec) {
    const t = temp(ctx, 'b2d', [bv.shape[0]!, 1], bv.dtype);
    emit(ctx, 'RESHAPE', [ctx.b.tensorOf(bv)], [t], { newShape: t.shape });
    bv = t;
  }
  if (aVec) {
    const t = temp(ctx, 'a2d', [1, a.shape[0]!], a.dtype);
    emit(ctx, 'RESHAPE', [ctx.b.tensorOf(a)], [t], { newShape: t.shape });
    a = t;
  }
  const full = matmulShape(ctx, a.shape, bv.shape);
  const finalShape = full.filter((_, i) => !((aVec && i === full.length - 2) || (bVec && i === full.length - 1)));
  const reshapeAfter = aVec || bVec;
  const ctxOut = reshapeAfter ? { ...ctx, outputs: [`${ctx.outputs[0]}_2d`] } : ctx;

  if (isFloatConst(bv) && bv.shape.length === 2 && a.dtype === 'float32') {
    const [k, n] = bv.shape as [number, number];
    const bNum = readNumbers(bv.data, 'float32');
    const w = new Float64Array(n * k);
    for (let r = 0; r < n; r++) for (let j = 0; j < k; j++) w[r * k + j] = bNum[j * n + r]!;
    const xT = a.flatOrder ? a.tensor : ctx.b.nchwTensorOf(a, ctx.source, ctx.version);
    emitDense(ctxOut, xT, floatDenseWeights(ctx, a, w, n, k), n, undefined, full, a.shape.length > 2);
  } else if (bv.dequant && bv.shape.length === 2 && a.dtype === 'float32') {
    const wT = ctx.b.dequantized(bv, [1, 0], `${bv.name}_fc`);
    emitDense(ctxOut, ctx.b.nchwTensorOf(a, ctx.source, ctx.version), wT, bv.shape[1]!, undefined, full, a.shape.length > 2);
  } else {
    const y = reshapeAfter ? temp(ctx, '2d', full, a.dtype) : output(ctx, 0, full, a.dtype, false);
    if (reshapeAfter) ctx.b.define({ ...y, name: ctxOut.outputs[0]! });
    emit(ctx, 'BATCH_MATMUL', [ctx.b.nchwTensorOf(a, ctx.source, ctx.version), ctx.b.nchwTensorOf(bv, ctx.source, ctx.version)], [y], { adjX: false, adjY: false });
  }
  if (reshapeAfter) {
    const mid = ctx.b.value(ctxOut.outputs[0]!)!;
    const y = output(ctx, 0, finalShape, a.dtype, false);
    emit(ctx, 'RESHAPE', [mid.tensor], [y], { newShape: finalShape });
  }
}

export function lowerQLinearMatMul(ctx: NodeContext): void {
  const a = req(ctx, 0), bv = req(ctx, 3);
  const [as, az, bs, bz, ys, yz] = [1, 2, 4, 5, 6, 7].map((i) => req(ctx, i));
  if (a.shape.length < 2 || bv.shape.length < 2) throw unsupported(ctx, '1-D operands', 'use 2-D or higher operands');
  const shape = matmulShape(ctx, a.shape, bv.shape);
  const aT = ctx.b.nchwTensorOf(a, ctx.source, ctx.version);
  const bT = ctx.b.nchwTensorOf(bv, ctx.source, ctx.version);
  const y = output(ctx, 0, shape, yz!.dtype, false);
  setQuant(ctx, aT, constQuant(as, az, a.shape.length - 1));
  setQuant(ctx, bT, constQuant(bs, bz, bv.shape.length - 1));
  setQuant(ctx, y.tensor, constQuant(ys, yz, shape.length - 1));
  const p = [as, az, bs, bz, ys, yz].map((v) => ctx.b.tensorOf(v!));
  emit(ctx, 'QLINEAR_MATMUL', [aT, p[0]!, p[1]!, bT, p[2]!, p[3]!, p[4]!, p[5]!], [y], {});
}

/** ONNX MatMulInteger -> MATMUL_INTEGER [a, b, aZeroPoint | -1, bZeroPoint | -1], int32 output. */
export function lowerMatMulInteger(ctx: NodeContext): void {
  const a = req(ctx, 0), bv = req(ctx, 1);
  if (a.shape.length < 2 || bv.shape.length < 2) throw unsupported(ctx, '1-D operands', 'use 2-D or higher operands');
  const shape = matmulShape(ctx, a.shape, bv.shape);
  const y = output(ctx, 0, shape, 'int32', false);
  const zp = (i: number): number => (ctx.inputs[i] ? ctx.b.tensorOf(ctx.inputs[i]!) : -1);
  emit(ctx, 'MATMUL_INTEGER', [ctx.b.nchwTensorOf(a, ctx.source, ctx.version), ctx.b.nchwTensorOf(bv, ctx.source, ctx.version), zp(2), zp(3)], [y], {});
}
