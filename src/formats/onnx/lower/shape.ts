/**
 * Data-movement ops: Concat, Transpose, Pad and the Reshape family (Reshape, Flatten, Squeeze,
 * Unsqueeze), with axes remapped for NHWC tensors and the NHWC flatten-order folding for dense
 * readers.
 */
import { dtypeSize, elementCount, type DType } from '../../../ir/graph.ts';
import type { Value } from '../builder.ts';
import { channelsLastAxes, channelsLastShape, hasChannelsLast, irAxis, irElementOrder, NCHW_TO_NHWC, NHWC_TO_NCHW, permute, readNumbers, sameOrder, transposeBytes, transposedOrder } from '../layout.ts';
import { int64ToNumber } from '../tensor.ts';
import { foldConcat } from './fold.ts';
import { constNumbers, declaredShape, defineConstant, emit, invalid, isFloatConst, normAxis, output, req, unsupported, type NodeContext } from './context.ts';

export function lowerConcat(ctx: NodeContext): void {
  const ins = ctx.inputs.filter((v): v is Value => !!v);
  if (ins.length === 0) throw invalid(ctx, 'it has no inputs');
  const rank = ins[0]!.shape.length;
  if (!ctx.attrs.has('axis')) throw invalid(ctx, 'the axis attribute is missing');
  const axis = normAxis(ctx, ctx.attrs.int('axis', 1), rank);
  const shape = [...ins[0]!.shape];
  shape[axis] = 0;
  for (const v of ins) {
    if (v.shape.length !== rank || v.shape.some((d, i) => i !== axis && d !== shape[i])) {
      throw invalid(ctx, `input shapes [${ins.map((i) => i.shape.join('x')).join('], [')}] do not concatenate on axis ${axis}`);
    }
    shape[axis]! += v.shape[axis]!;
  }
  if (foldConcat(ctx, axis, shape)) return;
  if (rank === 2 && axis === 1 && ins.some((v) => v.flatOrder)) {
    // Columns of NHWC-flattened inputs stay in their order; the dense reader permutes its weights.
    const order: number[] = [];
    for (const v of ins) {
      const base = order.length;
      const cols = v.shape[1]!;
      for (let j = 0; j < cols; j++) order.push(base + (v.flatOrder ? v.flatOrder[j]! : j));
    }
    const y = output(ctx, 0, shape, ins[0]!.dtype, false);
    y.flatOrder = order;
    emit(ctx, 'CONCATENATION', ins.map((v) => (v.flatOrder ? v.tensor : ctx.b.nchwTensorOf(v, ctx.source, ctx.version))), [y], { axis, fusedActivation: 'NONE' });
    return;
  }
  const nhwc = hasChannelsLast(rank) && ins.some((v) => v.nhwc);
  const tensors = ins.map((v) => (nhwc ? ctx.b.nhwcTensorOf(v, ctx.source, ctx.version) : ctx.b.nchwTensorOf(v, ctx.source, ctx.version)));
  const y = output(ctx, 0, shape, ins[0]!.dtype, nhwc);
  emit(ctx, 'CONCATENATION', tensors, [y], { axis: nhwc ? irAxis(axis, rank) : axis, fusedActivation: 'NONE' });
}

/**
 * Defines ONNX output 0 as `x`'s IR tensor seen as `shape` in layout `nhwc`, when that holds
 * exactly x's bytes (a RESHAPE, aliased by the memory planner, where the IR shapes differ).
 * Returns false when no layout does.
 */
function reinterpret(ctx: NodeContext, x: Value, shape: number[], logical?: Int32Array): boolean {
  if (x.flatOrder) return false;
  const xOrder = irElementOrder(x.shape, x.nhwc);
  if (!xOrder) return false;
  const layouts = ctx.imageGraph && hasChannelsLast(shape.length) ? [true, false] : [false];
  for (const nhwc of layouts) {
    if (!sameOrder(xOrder, irElementOrder(shape, nhwc, logical))) continue;
    const irShape = nhwc ? channelsLastShape(shape) : shape;
    const xT = ctx.b.tensors[ctx.b.tensorOf(x)]!;
    // A graph output that would be a graph input itself gets an op (a RESHAPE, aliased).
    const inputToOutput = x.producer === undefined && ctx.b.graphOutputs.has(ctx.outputs[0]!);
    if (!inputToOutput && xT.shape.length === irShape.length && xT.shape.every((d, i) => d === irShape[i])) {
      ctx.b.define({ name: ctx.outputs[0]!, shape, dtype: x.dtype, nhwc, tensor: x.tensor, ...(x.producer !== undefined ? { producer: x.producer } : {}) });
    } else {
      const y = output(ctx, 0, shape, x.dtype, nhwc);
      emit(ctx, 'RESHAPE', [x.tensor], [y], { newShape: irShape });
    }
    return true;
  }
  return false;
}

export function lowerTranspose(ctx: NodeContext): void {
  const x = req(ctx, 0);
  const rank = x.shape.length;
  const perm = ctx.attrs.ints('perm') ?? [...Array(rank).keys()].reverse();
  if (perm.length !== rank || [...perm].sort((p, q) => p - q).some((p, i) => p !== i)) throw invalid(ctx, `perm [${perm.join(',')}] is not a permutation of ${rank} axes`);
  const shape = permute(x.shape, perm);
  if (x.data) {
    defineConstant(ctx, 0, shape, x.dtype, transposeBytes(x.data, x.shape, perm, dtypeSize(x.dtype)));
    return;
  }
  // Free when the result, in some layout, holds exactly x's bytes (NHWC -> NCHW transposes of
  // Keras exports, transposes of unit dims).
  if (reinterpret(ctx, x, shape, transposedOrder(x.shape, perm))) return;
  if (x.nhwc && rank === 4) {
    // in_nchw = in_nhwc.T(NHWC_TO_NCHW); keep the result NHWC: out_nhwc = in_nhwc.T(r).
    const r = NCHW_TO_NHWC.map((i) => NHWC_TO_NCHW[perm[i]!]!);
    if (r.every((p, i) => p === i)) {
      ctx.b.define({ ...x, name: ctx.outputs[0]!, shape, asNchw: undefined, asNhwc: undefined });
      return;
    }
    const y = output(ctx, 0, shape, x.dtype, true);
    emit(ctx, 'TRANSPOSE', [x.tensor], [y], { perm: r });
    return;
  }
  const y = output(ctx, 0, shape, x.dtype, false);
  emit(ctx, 'TRANSPOSE', [ctx.b.nchwTensorOf(x, ctx.source, ctx.version)], [y], { perm });
}

export function lowerPad(ctx: NodeContext): void {
  const x = req(ctx, 0);
  const rank = x.shape.length;
  const modeName = ctx.attrs.string('mode', 'constant');
  const mode = ({ constant: 'CONSTANT', reflect: 'REFLECT', edge: 'EDGE' } as Record<string, string>)[modeName];
  if (!mode) throw unsupported(ctx, `mode '${modeName}'`, 'use constant, reflect or edge padding');
  let pads: number[] | null;
  let constantValue: number | null = 0;
  const extra = [-1, -1];
  if (ctx.version < 11) {
    pads = ctx.attrs.ints('pads') ?? null;
    if (!pads) throw invalid(ctx, 'the pads attribute is missing');
    constantValue = ctx.attrs.float('value', 0);
  } else {
    const p = req(ctx, 1);
    if (p.data) {
      pads = readNumbers(p.data, p.dtype);
      const axesV = ctx.inputs[3];
      if (axesV) {
        // opset 18: pads only for the listed axes.
        const axes = constNumbers(ctx, axesV, 'the axes input').map((a) => normAxis(ctx, a, rank));
        if (pads.length !== 2 * axes.length) throw invalid(ctx, `${pads.length} pads for ${axes.length} axes`);
        const full = new Array<number>(2 * rank).fill(0);
        axes.forEach((a, i) => {
          full[a] = pads![i]!;
          full[a + rank] = pads![i + axes.length]!;
        });
        pads = full;
      }
    } else {
      if (x.nhwc) throw unsupported(ctx, 'runtime pads on an image tensor', 'make the pads an initializer');
      if (ctx.inputs[3]) throw unsupported(ctx, 'runtime pads with an axes input', 'make the pads an initializer');
      pads = null;
      extra[0] = ctx.b.tensorOf(p);
    }
    const v = ctx.inputs[2];
    if (v) {
      if (elementCount(v.shape) !== 1) throw invalid(ctx, 'constant_value is not a scalar');
      if (v.data) constantValue = readNumbers(v.data, v.dtype)[0]!;
      else {
        constantValue = null;
        extra[1] = ctx.b.tensorOf(v);
      }
    }
  }
  let shape: number[];
  let irPads: number[] | null = null;
  if (pads) {
    if (pads.length !== 2 * rank) throw invalid(ctx, `${pads.length} pads for a rank-${rank} input`);
    if (pads.some((p) => p < 0)) throw unsupported(ctx, 'negative pads (cropping)', 'crop with Slice instead');
    shape = x.shape.map((d, i) => d + pads![i]! + pads![i + rank]!);
    if (mode === 'REFLECT' && x.shape.some((d, i) => pads![i]! >= d || pads![i + rank]! >= d)) {
      throw unsupported(ctx, 'reflect pads as large as the dimension', 'pad less than the input size');
    }
    const order = x.nhwc ? channelsLastAxes(rank) : [...Array(rank).keys()];
    irPads = order.flatMap((a) => (a < 0 ? [0, 0] : [pads![a]!, pads![a + rank]!]));
  } else {
    shape = declaredShape(ctx, 0, 'the pads are a runtime input');
    if (shape.length !== rank) throw invalid(ctx, `declared output rank ${shape.length} differs from the input rank ${rank}`);
  }
  const y = output(ctx, 0, shape, x.dtype, x.nhwc);
  const inputs = [ctx.b.tensorOf(x)];
  if (extra[0] !== -1 || extra[1] !== -1) inputs.push(extra[0]!, extra[1]!);
  emit(ctx, 'PAD', inputs, [y], { mode, pads: irPads, constantValue });
}

// ---------------------------------------------------------------------------------------------
// Reshape family (Reshape, Flatten, Squeeze, Unsqueeze)

/**
 * Whether `name`, holding an NHWC flattening (columns permuted), may stay in that order: every
 * reader is a MatMul/Gemm that becomes a FULLY_CONNECTED with constant float weights reading it
 * as A (the conditions lowerMatMul/lowerGemm use for that path; they permute the weight rows),
 * or an elementwise op or a column Concat whose own readers qualify.
 */
function flatOrderAllowed(ctx: NodeContext, name: string, dtype: DType, depth = 0): boolean {
  const readers = ctx.readers.get(name) ?? [];
  if (readers.length === 0 || ctx.b.graphOutputs.has(name) || dtype !== 'float32' || depth > 32) return false;
  return readers.every((r) => {
    const n = ctx.nodes[r]!;
    if ((n.domain ?? '') !== '' && n.domain !== 'ai.onnx') return false;
    const ins = n.input ?? [];
    const out = n.output?.[0] ?? '';
    const attr = (key: string) => (n.attribute ?? []).find((a) => a.name === key);
    const intAttr = (key: string): number => int64ToNumber(attr(key)?.i);
    switch (n.opType) {
      case 'MatMul':
      case 'Gemm': {
        if (ins[0] !== name || ins.slice(1).includes(name)) return false;
        const bv = ins[1] ? ctx.b.value(ins[1]) : undefined;
        if (!isFloatConst(bv) || bv.shape.length !== 2) return false;
        if (n.opType === 'MatMul') return true;
        const beta = attr('beta')?.f ?? 1;
        const c = ins[2] ? ctx.b.value(ins[2]) : undefined;
        return intAttr('transA') === 0 && (!ins[2] || isFloatConst(c) || beta === 0);
      }
      case 'Relu':
      case 'LeakyRelu':
      case 'Sigmoid':
      case 'Tanh':
      case 'Elu':
      case 'HardSigmoid':
      case 'HardSwish':
      case 'Clip':
      case 'Identity':
        return ins[0] === name && ins.indexOf(name, 1) < 0 && flatOrderAllowed(ctx, out, dtype, depth + 1);
      case 'Dropout':
        return ins[0] === name && (n.output ?? []).slice(1).every((o) => !o || (ctx.readers.get(o)?.length ?? 0) === 0) && flatOrderAllowed(ctx, out, dtype, depth + 1);
      case 'Concat':
        return (intAttr('axis') === 1 || intAttr('axis') === -1) && flatOrderAllowed(ctx, out, dtype, depth + 1);
      default:
        return false;
    }
  });
}

function reshapeTo(ctx: NodeContext, x: Value, shape: number[], extraInputs: number[] = []): void {
  if (elementCount(shape) !== elementCount(x.shape)) {
    throw invalid(ctx, `cannot reshape [${x.shape.join(',')}] (${elementCount(x.shape)} elements) to [${shape.join(',')}]`);
  }
  if (x.data) {
    defineConstant(ctx, 0, shape, x.dtype, x.data);
    return;
  }
  if (extraInputs.length === 0 && reinterpret(ctx, x, shape)) return;
  if (x.nhwc && shape.length === 2 && shape[0] === x.shape[0] && flatOrderAllowed(ctx, ctx.outputs[0]!, x.dtype)) {
    // Flatten straight from NHWC; the dense consumers permute their weight rows to match.
    const order = irElementOrder([1, ...x.shape.slice(1)], true);
    if (order) {
      const y = output(ctx, 0, shape, x.dtype, false);
      y.flatOrder = Array.from(order);
      emit(ctx, 'RESHAPE', [x.tensor], [y], { newShape: shape });
      return;
    }
  }
  const xT = ctx.b.nchwTensorOf(x, ctx.source, ctx.version);
  const y = output(ctx, 0, shape, x.dtype, false);
  emit(ctx, 'RESHAPE', [xT, ...extraInputs], [y], { newShape: shape });
}

export function lowerReshape(ctx: NodeContext): void {
  const x = req(ctx, 0), s = req(ctx, 1);
  if (!s.data) {
    const shape = declaredShape(ctx, 0, 'the target shape is a runtime input');
    reshapeTo(ctx, x, shape, [ctx.b.tensorOf(s)]);
    return;
  }
  const target = readNumbers(s.data, s.dtype);
  const allowZero = ctx.attrs.int('allowzero', 0) !== 0;
  const shape = target.map((d, i) => (d === 0 && !allowZero ? x.shape[i] ?? NaN : d));
  const unknown = shape.filter((d) => d === -1).length;
  if (unknown > 1 || shape.some((d) => !Number.isInteger(d) || d < -1)) throw invalid(ctx, `target shape [${target.join(',')}] is not valid for input [${x.shape.join(',')}]`);
  if (unknown === 1) {
    const known = shape.filter((d) => d !== -1).reduce((p, q) => p * q, 1);
    const total = elementCount(x.shape);
    if (known === 0 || total % known !== 0) throw invalid(ctx, `target shape [${target.join(',')}] does not divide ${total} elements`);
    shape[shape.indexOf(-1)] = total / known;
  }
  reshapeTo(ctx, x, shape);
}

export function lowerFlatten(ctx: NodeContext): void {
  const x = req(ctx, 0);
  const rank = x.shape.length;
  let axis = ctx.attrs.int('axis', 1);
  if (axis < 0) axis += rank;
  if (axis < 0 || axis > rank) throw invalid(ctx, `axis ${axis} is out of range for rank ${rank}`);
  reshapeTo(ctx, x, [elementCount(x.shape.slice(0, axis)), elementCount(x.shape.slice(axis))]);
}

function squeezeAxes(ctx: NodeContext, rank: number): number[] | undefined {
  const fromAttr = ctx.attrs.ints('axes');
  if (fromAttr) return fromAttr.map((a) => normAxis(ctx, a, rank));
  const v = ctx.inputs[1];
  if (!v) return undefined;
  return constNumbers(ctx, v, 'the axes input').map((a) => normAxis(ctx, a, rank));
}

export function lowerSqueeze(ctx: NodeContext): void {
  const x = req(ctx, 0);
  const axes = squeezeAxes(ctx, x.shape.length) ?? x.shape.flatMap((d, i) => (d === 1 ? [i] : []));
  if (axes.some((a) => x.shape[a] !== 1)) throw invalid(ctx, `cannot squeeze axes [${axes.join(',')}] of [${x.shape.join(',')}]`);
  reshapeTo(ctx, x, x.shape.filter((_, i) => !axes.includes(i)));
}

export function lowerUnsqueeze(ctx: NodeContext): void {
  const x = req(ctx, 0);
  const outRank = x.shape.length + (ctx.attrs.ints('axes') ?? (ctx.inputs[1]?.shape[0] !== undefined ? new Array(ctx.inputs[1]!.shape[0]) : [])).length;
  const axes = squeezeAxes(ctx, outRank);
  if (!axes || axes.length === 0) throw invalid(ctx, 'no axes to unsqueeze');
  const shape: number[] = [];
  let src = 0;
  for (let i = 0; i < outRank; i++) shape.push(axes.includes(i) ? 1 : x.shape[src++]!);
  reshapeTo(ctx, x, shape);
}
