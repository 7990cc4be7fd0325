/**
 * Conv, QLinearConv, pooling and BatchNormalization: 2-D geometry (auto_pad, ceil_mode, TFLite
 * SAME detection), NHWC activations, filters permuted at import, BatchNormalization and bias Adds
 * folded into the convolution.
 */
import { dtypeSize, elementCount, type AttrValue } from '../../../ir/graph.ts';
import type { Value } from '../builder.ts';
import { float32Bytes, permute, readNumbers, transposeBytes } from '../layout.ts';
import { int64ToNumber } from '../tensor.ts';
import { constQuant, emit, invalid, isFloatConst, output, req, setQuant, soleReader, unsupported, unused, type NodeContext } from './context.ts';

// ---------------------------------------------------------------------------------------------
// Convolution and pooling geometry

interface Geometry {
  out: number[];
  /** [top, left, bottom, right] */
  pads: number[];
  padding: 'SAME' | 'VALID' | 'EXPLICIT';
}

/**
 * The spatial attributes of a Conv/pool node, as 2-D: a 1-D op (rank-3 NCW input) runs as a
 * 2-D one with a unit height (kernel 1, stride 1, no padding along H).
 */
interface Spatial {
  strides: number[];
  dilations: number[];
  /** Explicit pads [top, left, bottom, right]. */
  pads: number[];
}

function spatialAttrs(ctx: NodeContext, dims: number): Spatial {
  const list = (name: string, dflt: number): number[] => {
    const v = ctx.attrs.ints(name) ?? new Array<number>(dims).fill(dflt);
    if (v.length !== dims) throw invalid(ctx, `attribute ${name} has ${v.length} values for a ${dims}-D ${ctx.opType}`);
    return dims === 1 ? [1, v[0]!] : v;
  };
  const strides = list('strides', 1);
  const dilations = list('dilations', 1);
  const p = ctx.attrs.ints('pads') ?? new Array<number>(2 * dims).fill(0);
  if (p.length !== 2 * dims || p.some((x) => x < 0)) throw invalid(ctx, `pads [${p.join(',')}] are not ${2 * dims} non-negative values`);
  const pads = dims === 1 ? [0, p[0]!, 0, p[1]!] : p;
  return { strides, dilations, pads };
}

function spatialGeometry(ctx: NodeContext, input: number[], kernel: number[], sp: Spatial, options: { ceilMode?: boolean }): Geometry {
  const { strides, dilations } = sp;
  const autoPad = ctx.attrs.string('auto_pad', 'NOTSET');
  const explicit = sp.pads;
  const out: number[] = [];
  const begin: number[] = [];
  const end: number[] = [];
  for (let i = 0; i < 2; i++) {
    const inp = input[i]!, k = kernel[i]!, s = strides[i]!, d = dilations[i]!;
    if (k < 1 || s < 1 || d < 1) throw invalid(ctx, `kernel ${k}, stride ${s}, dilation ${d} must be positive`);
    const dk = (k - 1) * d + 1;
    let o: number, pb: number, pe: number;
    if (autoPad === 'SAME_UPPER' || autoPad === 'SAME_LOWER') {
      o = Math.ceil(inp / s);
      const total = Math.max(0, (o - 1) * s + dk - inp);
      pb = autoPad === 'SAME_UPPER' ? Math.floor(total / 2) : Math.ceil(total / 2);
      pe = total - pb;
    } else if (autoPad === 'VALID') {
      pb = pe = 0;
      o = Math.floor((inp - dk) / s) + 1;
    } else if (autoPad === 'NOTSET' || autoPad === '') {
      pb = explicit[i]!;
      pe = explicit[i + 2]!;
      const span = inp + pb + pe - dk;
      if (options.ceilMode) {
        o = Math.ceil(span / s) + 1;
        // The last window must start inside the input or its leading padding.
        if ((o - 1) * s >= inp + pb) o--;
        const extra = (o - 1) * s + dk - (inp + pb + pe);
        if (extra > 0) pe += extra;
      } else {
        o = Math.floor(span / s) + 1;
      }
    } else {
      throw invalid(ctx, `auto_pad '${autoPad}' is not NOTSET, SAME_UPPER, SAME_LOWER or VALID`);
    }
    if (!(o >= 1)) throw invalid(ctx, `the output would have ${o} rows/columns for input ${inp}, kernel ${k}`);
    out.push(o);
    begin.push(pb);
    end.push(pe);
  }
  const pads = [begin[0]!, begin[1]!, end[0]!, end[1]!];
  let padding: Geometry['padding'] = 'EXPLICIT';
  if (pads.every((p) => p === 0)) padding = 'VALID';
  else {
    // TFLite SAME: output ceil(in/stride), the odd padding element at the end.
    let same = true;
    for (let i = 0; i < 2; i++) {
      const o = Math.ceil(input[i]! / strides[i]!);
      const total = Math.max(0, (o - 1) * strides[i]! + (kernel[i]! - 1) * dilations[i]! + 1 - input[i]!);
      if (o !== out[i] || begin[i] !== Math.floor(total / 2) || end[i] !== total - Math.floor(total / 2)) same = false;
    }
    if (same) padding = 'SAME';
  }
  return { out, pads, padding };
}

// ---------------------------------------------------------------------------------------------
// Conv (+ folded BatchNormalization / bias Add) and QLinearConv

interface ConvShape {
  n: number; c: number; h: number; w: number;
  m: number; cPerGroup: number; kh: number; kw: number;
  group: number;
  geometry: Geometry;
  dilations: number[];
  strides: number[];
  /** ONNX output shape ([N, M, OW] for a 1-D convolution). */
  outShape: number[];
  /** The weight seen as 4-D [M, C/g, KH, KW] (a 1-D weight with KH = 1). */
  w4: Value;
}

/** A 3-D weight [M, C/g, K] seen as [M, C/g, 1, K]: the same bytes. */
function weight4d(ctx: NodeContext, w: Value): Value {
  if (w.shape.length === 4) return w;
  const shape = [w.shape[0]!, w.shape[1]!, 1, w.shape[2]!];
  if (w.data) return { name: w.name, shape, dtype: w.dtype, nhwc: false, tensor: -1, data: w.data };
  if (w.dequant && w.tensor < 0) {
    const d = w.dequant;
    return { name: w.name, shape, dtype: w.dtype, nhwc: false, tensor: -1, dequant: { ...d, source: { ...d.source, shape: [...shape] } } };
  }
  const t = ctx.b.addTensor(`${w.name}_4d`, shape, w.dtype);
  ctx.b.addOp('RESHAPE', [ctx.b.tensorOf(w)], [t], { newShape: shape }, ctx.source, ctx.version);
  return { name: `${w.name}_4d`, shape, dtype: w.dtype, nhwc: false, tensor: t };
}

function convShape(ctx: NodeContext, x: Value, w: Value): ConvShape {
  const rank = x.shape.length;
  if ((rank !== 4 && rank !== 3) || w.shape.length !== rank) {
    throw unsupported(ctx, `input rank ${rank} / weight rank ${w.shape.length}`, 'only 1-D and 2-D convolution (3-D NCW or 4-D NCHW input and weight) is supported');
  }
  const [n, c, h, wd] = (rank === 4 ? x.shape : [x.shape[0], x.shape[1], 1, x.shape[2]]) as [number, number, number, number];
  const w4 = weight4d(ctx, w);
  const [m, cPerGroup, kh, kw] = w4.shape as [number, number, number, number];
  const group = ctx.attrs.int('group', 1);
  if (group < 1 || c % group !== 0 || cPerGroup * group !== c || m % group !== 0) {
    throw invalid(ctx, `group ${group} does not fit ${c} input channels, weight [${w.shape.join(',')}]`);
  }
  const kernel = ctx.attrs.ints('kernel_shape');
  const kernel2 = kernel && rank === 3 ? [1, kernel[0]!] : kernel;
  if (kernel2 && (kernel2.length !== 2 || kernel2[0] !== kh || kernel2[1] !== kw)) throw invalid(ctx, `kernel_shape [${kernel!.join(',')}] differs from the weight's [${w.shape.slice(2).join(',')}]`);
  const sp = spatialAttrs(ctx, rank - 2);
  const geometry = spatialGeometry(ctx, [h, wd], [kh, kw], sp, {});
  const outShape = rank === 4 ? [n, m, geometry.out[0]!, geometry.out[1]!] : [n, m, geometry.out[1]!];
  return { n, c, h, w: wd, m, cPerGroup, kh, kw, group, geometry, dilations: sp.dilations, strides: sp.strides, outShape, w4 };
}

function convAttrs(s: ConvShape): Record<string, AttrValue> {
  return {
    strideH: s.strides[0]!,
    strideW: s.strides[1]!,
    dilationH: s.dilations[0]!,
    dilationW: s.dilations[1]!,
    padding: s.geometry.padding,
    pads: s.geometry.pads,
    fusedActivation: 'NONE',
  };
}

/** Folds a following BatchNormalization or per-channel constant Add into float weights/bias. */
function foldIntoConv(ctx: NodeContext, outName: string, m: number, weights: Float64Array, bias: Float64Array, perOut: number, outRank: number): string {
  for (;;) {
    const r = soleReader(ctx, outName);
    if (r === undefined) return outName;
    const next = ctx.nodes[r]!;
    const nextDomain = next.domain ?? '';
    if (nextDomain !== '' && nextDomain !== 'ai.onnx') return outName;
    const ins = (next.input ?? []).map((n) => (n ? ctx.b.value(n) : undefined));
    if (next.opType === 'BatchNormalization' && next.input?.[0] === outName && ins.length >= 5) {
      if ((next.output ?? []).slice(1).some((o) => !unused(ctx, o))) return outName;
      const [, scale, b, mean, variance] = ins;
      if (![scale, b, mean, variance].every((p) => isFloatConst(p) && elementCount(p.shape) === m)) return outName;
      const attrs = (next.attribute ?? []).filter((a) => a.name === 'epsilon');
      const training = (next.attribute ?? []).some((a) => a.name === 'training_mode' && int64ToNumber(a.i) !== 0);
      if (training) return outName;
      const eps = attrs[0]?.f ?? 1e-5;
      const s = readNumbers(scale!.data!, 'float32'), bb = readNumbers(b!.data!, 'float32');
      const mu = readNumbers(mean!.data!, 'float32'), v = readNumbers(variance!.data!, 'float32');
      for (let o = 0; o < m; o++) {
        const f = s[o]! / Math.sqrt(v[o]! + eps);
        for (let k = 0; k < perOut; k++) weights[o * perOut + k]! *= f;
        bias[o] = (bias[o]! - mu[o]!) * f + bb[o]!;
      }
    } else if (next.opType === 'Add' && ins.length === 2 && (next.attribute ?? []).every((a) => a.name !== 'axis')) {
      const other = next.input?.[0] === outName ? ins[1] : next.input?.[1] === outName ? ins[0] : undefined;
      if (!isFloatConst(other) || next.input?.[0] === next.input?.[1]) return outName;
      // Per-output-channel: [M,1,1], [1,M,1,1] ([M,1], [1,M,1] for 1-D), or a scalar for all channels.
      const shapeR = [...new Array<number>(Math.max(0, outRank - other.shape.length)).fill(1), ...other.shape];
      if (other.shape.length > outRank || shapeR.some((d, i) => i !== 1 && d !== 1) || (shapeR[1] !== 1 && shapeR[1] !== m)) return outName;
      const add = readNumbers(other.data, 'float32');
      for (let o = 0; o < m; o++) bias[o]! += add[add.length === 1 ? 0 : o]!;
    } else {
      return outName;
    }
    ctx.absorbed.add(r);
    outName = next.output![0]!;
  }
}

export function lowerConv(ctx: NodeContext): void {
  const x = req(ctx, 0), bias = ctx.inputs[2];
  const s = convShape(ctx, x, req(ctx, 1));
  const w = s.w4;
  const depthwise = s.group === s.c && s.group > 1;
  const xT = ctx.b.nhwcTensorOf(x, ctx.source, ctx.version);
  const perOut = s.cPerGroup * s.kh * s.kw;
  let outName = ctx.outputs[0]!;
  let filterData: Uint8Array | undefined;
  let biasT = -1;

  if (bias && elementCount(bias.shape) !== s.m) throw invalid(ctx, `bias has ${elementCount(bias.shape)} values for ${s.m} output channels`);
  if (isFloatConst(w) && (!bias || isFloatConst(bias))) {
    const weights = Float64Array.from(readNumbers(w.data, 'float32'));
    const b = bias ? Float64Array.from(readNumbers(bias.data!, 'float32')) : new Float64Array(s.m);
    outName = foldIntoConv(ctx, outName, s.m, weights, b, perOut, x.shape.length);
    const folded = outName !== ctx.outputs[0];
    filterData = float32Bytes(weights);
    if (bias || folded || b.some((v) => v !== 0)) {
      biasT = folded || !bias ? ctx.b.addTensor(`${outName}_bias`, [s.m], 'float32', float32Bytes(b)) : ctx.b.tensorOf(bias);
    }
  } else {
    filterData = w.data;
    if (bias) biasT = ctx.b.tensorOf(bias);
  }

  // Filter: [M, C/g, KH, KW] -> [M, KH, KW, C/g]; depthwise [M, 1, KH, KW] -> [1, KH, KW, M].
  const perm = depthwise ? [1, 2, 3, 0] : [0, 2, 3, 1];
  const filterShape = permute(w.shape, perm);
  let filterT: number;
  if (filterData) {
    filterT = ctx.b.addTensor(`${w.name}_${depthwise ? 'dw' : 'ohwi'}`, filterShape, w.dtype, transposeBytes(filterData, w.shape, perm, dtypeSize(w.dtype)));
  } else if (w.dequant) {
    filterT = ctx.b.dequantized(w, perm, `${w.name}_${depthwise ? 'dw' : 'ohwi'}`);
  } else {
    filterT = ctx.b.addTensor(`${w.name}_${depthwise ? 'dw' : 'ohwi'}`, filterShape, w.dtype);
    ctx.b.addOp('TRANSPOSE', [ctx.b.tensorOf(w)], [filterT], { perm }, ctx.source, ctx.version);
  }

  const y = ctx.b.activation(outName, s.outShape, x.dtype, true);
  ctx.b.define(y);
  const attrs = convAttrs(s);
  if (depthwise) emit(ctx, 'DEPTHWISE_CONV_2D', [xT, filterT, biasT], [y], { ...attrs, depthMultiplier: s.m / s.c });
  else emit(ctx, 'CONV_2D', [xT, filterT, biasT], [y], { ...attrs, groups: s.group });
}

export function lowerQLinearConv(ctx: NodeContext): void {
  const x = req(ctx, 0);
  const [xs, xz, ws, wz, ys, yz] = [1, 2, 4, 5, 6, 7].map((i) => req(ctx, i));
  const bias = ctx.inputs[8];
  const s = convShape(ctx, x, req(ctx, 3));
  const w = s.w4;
  const xT = ctx.b.nhwcTensorOf(x, ctx.source, ctx.version);
  const perm = [0, 2, 3, 1];
  const filterShape = permute(w.shape, perm);
  let filterT: number;
  if (w.data) {
    filterT = ctx.b.addTensor(`${w.name}_ohwi`, filterShape, w.dtype, transposeBytes(w.data, w.shape, perm, dtypeSize(w.dtype)));
  } else {
    filterT = ctx.b.addTensor(`${w.name}_ohwi`, filterShape, w.dtype);
    ctx.b.addOp('TRANSPOSE', [ctx.b.tensorOf(w)], [filterT], { perm }, ctx.source, ctx.version);
  }
  const y = output(ctx, 0, s.outShape, yz!.dtype, true);
  setQuant(ctx, xT, constQuant(xs, xz, 3));
  setQuant(ctx, filterT, constQuant(ws, wz, 0));
  setQuant(ctx, y.tensor, constQuant(ys, yz, 3));
  const params = [xs, xz, ws, wz, ys, yz].map((v) => ctx.b.tensorOf(v!));
  emit(
    ctx,
    'QLINEAR_CONV',
    [xT, params[0]!, params[1]!, filterT, params[2]!, params[3]!, params[4]!, params[5]!, bias ? ctx.b.tensorOf(bias) : -1],
    [y],
    { ...convAttrs(s), groups: s.group },
  );
}

// ---------------------------------------------------------------------------------------------
// Pooling

export function lowerPool(ctx: NodeContext, type: 'MAX_POOL_2D' | 'AVERAGE_POOL_2D'): void {
  const x = req(ctx, 0);
  const rank = x.shape.length;
  if (rank !== 4 && rank !== 3) throw unsupported(ctx, `input rank ${rank}`, 'only 1-D and 2-D pooling (3-D NCW or 4-D NCHW input) is supported');
  if (ctx.outputs.length > 1 && !unused(ctx, ctx.outputs[1])) throw unsupported(ctx, 'the Indices output is used', 'remove the use of the MaxPool indices');
  const kernel = ctx.attrs.ints('kernel_shape');
  if (!kernel || kernel.length !== rank - 2) throw invalid(ctx, `kernel_shape [${kernel?.join(',') ?? ''}] does not match a rank-${rank} input`);
  const kernel2 = rank === 3 ? [1, kernel[0]!] : kernel;
  const sp = spatialAttrs(ctx, rank - 2);
  const ceilMode = ctx.attrs.int('ceil_mode', 0) !== 0;
  const countIncludePad = type === 'AVERAGE_POOL_2D' && ctx.attrs.int('count_include_pad', 0) !== 0;
  const [n, c, h, w] = (rank === 4 ? x.shape : [x.shape[0], x.shape[1], 1, x.shape[2]]) as [number, number, number, number];
  const plain = spatialGeometry(ctx, [h, w], kernel2, sp, {});
  const g = spatialGeometry(ctx, [h, w], kernel2, sp, { ceilMode });
  const xT = ctx.b.nhwcTensorOf(x, ctx.source, ctx.version);
  const outShape = rank === 4 ? [n, c, g.out[0]!, g.out[1]!] : [n, c, g.out[1]!];
  const y = output(ctx, 0, outShape, x.dtype, true);
  const attrs: Record<string, AttrValue> = {
    filterH: kernel2[0]!,
    filterW: kernel2[1]!,
    strideH: sp.strides[0]!,
    strideW: sp.strides[1]!,
    padding: g.padding,
    pads: g.pads,
    fusedActivation: 'NONE',
    countIncludePad,
  };
  // count_include_pad counts the explicit pads, never the extra end positions of ceil_mode
  // (ONNX, PyTorch): the divisor is the window clipped to the explicitly padded input.
  if (countIncludePad && ceilMode && g.pads.some((p, i) => p !== plain.pads[i])) attrs.countedPads = plain.pads;
  if (sp.dilations.some((d) => d !== 1)) {
    attrs.dilationH = sp.dilations[0]!;
    attrs.dilationW = sp.dilations[1]!;
  }
  emit(ctx, type, [xT], [y], attrs);
}

export function lowerGlobalPool(ctx: NodeContext, max: boolean): void {
  const x = req(ctx, 0);
  const rank = x.shape.length;
  if (rank !== 4 && rank !== 3) throw unsupported(ctx, `input rank ${rank}`, 'only 3-D NCW and 4-D NCHW inputs are supported');
  const [n, c, h, w] = (rank === 4 ? x.shape : [x.shape[0], x.shape[1], 1, x.shape[2]]) as [number, number, number, number];
  const xT = ctx.b.nhwcTensorOf(x, ctx.source, ctx.version);
  const y = output(ctx, 0, rank === 4 ? [n, c, 1, 1] : [n, c, 1], x.dtype, true);
  if (max) {
    emit(ctx, 'MAX_POOL_2D', [xT], [y], {
      filterH: h, filterW: w, strideH: 1, strideW: 1, padding: 'VALID', pads: [0, 0, 0, 0], fusedActivation: 'NONE', countIncludePad: false,
    });
  } else {
    emit(ctx, 'MEAN', [xT], [y], { axes: [1, 2], keepDims: true });
  }
}

// ---------------------------------------------------------------------------------------------
// BatchNormalization (standalone)

export function lowerBatchNorm(ctx: NodeContext): void {
  const x = req(ctx, 0);
  const params = [1, 2, 3, 4].map((i) => req(ctx, i));
  if (x.shape.length < 2) throw invalid(ctx, `input rank ${x.shape.length} has no channel axis`);
  const c = x.shape[1]!;
  if (params.some((p) => elementCount(p.shape) !== c)) throw unsupported(ctx, 'scale/bias/mean/var are not one value per channel', 'use per-channel (spatial) batch normalization');
  if (ctx.version < 7 && ctx.attrs.int('is_test', 0) === 0) throw unsupported(ctx, 'training mode (is_test=0, opset 6)', 'export the model in inference mode');
  if (ctx.attrs.int('spatial', 1) !== 1) throw unsupported(ctx, 'spatial=0', 'use per-channel (spatial) batch normalization');
  if (ctx.attrs.int('training_mode', 0) !== 0) throw unsupported(ctx, 'training_mode=1', 'export the model in inference mode');
  if (ctx.outputs.slice(1).some((o) => !unused(ctx, o))) throw unsupported(ctx, 'the running mean/variance outputs are used', 'export the model in inference mode');
  const epsilon = ctx.attrs.float('epsilon', 1e-5);
  const y = output(ctx, 0, [...x.shape], x.dtype, x.nhwc);
  emit(ctx, 'BATCH_NORM', [x.tensor >= 0 && x.nhwc ? x.tensor : ctx.b.tensorOf(x), ...params.map((p) => ctx.b.tensorOf(p))], [y], {
    epsilon,
    axis: x.nhwc ? 3 : 1,
  });
}

// ---------------------------------------------------------------------------------------------
// ConvInteger (ONNX integer convolution, int32 output)

export function lowerConvInteger(ctx: NodeContext): void {
  const x = req(ctx, 0);
  const s = convShape(ctx, x, req(ctx, 1));
  const w = s.w4;
  const xT = ctx.b.nhwcTensorOf(x, ctx.source, ctx.version);
  const perm = [0, 2, 3, 1];
  let filterT: number;
  if (w.data) {
    filterT = ctx.b.addTensor(`${w.name}_ohwi`, permute(w.shape, perm), w.dtype, transposeBytes(w.data, w.shape, perm, dtypeSize(w.dtype)));
  } else {
    filterT = ctx.b.addTensor(`${w.name}_ohwi`, permute(w.shape, perm), w.dtype);
    ctx.b.addOp('TRANSPOSE', [ctx.b.tensorOf(w)], [filterT], { perm }, ctx.source, ctx.version);
  }
  const y = output(ctx, 0, s.outShape, 'int32', true);
  const zp = (i: number): number => (ctx.inputs[i] ? ctx.b.tensorOf(ctx.inputs[i]!) : -1);
  emit(ctx, 'CONV_INTEGER', [xT, filterT, zp(2), zp(3)], [y], { ...convAttrs(s), groups: s.group });
}

// ---------------------------------------------------------------------------------------------
// ConvTranspose -> TRANSPOSE_CONV

export function lowerConvTranspose(ctx: NodeContext): void {
  const x = req(ctx, 0), wIn = req(ctx, 1), bias = ctx.inputs[2];
  const rank = x.shape.length;
  if ((rank !== 4 && rank !== 3) || wIn.shape.length !== rank) {
    throw unsupported(ctx, `input rank ${rank} / weight rank ${wIn.shape.length}`, 'only 1-D and 2-D transposed convolution are supported');
  }
  const w = weight4d(ctx, wIn);
  if (!w.data && !w.dequant) throw unsupported(ctx, `weights ('${wIn.name}') computed at run time`, 'make the weights an initializer');
  const [n, c, h, wd] = (rank === 4 ? x.shape : [x.shape[0], x.shape[1], 1, x.shape[2]]) as [number, number, number, number];
  const [cw, mPerGroup, kh, kw] = w.shape as [number, number, number, number];
  const group = ctx.attrs.int('group', 1);
  if (cw !== c || group < 1 || c % group !== 0) throw invalid(ctx, `weight [${wIn.shape.join(',')}] does not fit ${c} input channels in ${group} groups`);
  const m = mPerGroup * group;
  const sp = spatialAttrs(ctx, rank - 2);
  const two = (name: string): number[] => {
    const v = ctx.attrs.ints(name) ?? new Array<number>(rank - 2).fill(0);
    if (v.length !== rank - 2) throw invalid(ctx, `attribute ${name} has ${v.length} values`);
    return rank === 3 ? [0, v[0]!] : v;
  };
  const outputPadding = two('output_padding');
  const autoPad = ctx.attrs.string('auto_pad', 'NOTSET');
  const given = ctx.attrs.ints('output_shape');
  const input2 = [h, wd], kernel2 = [kh, kw];
  const out: number[] = [];
  const begin: number[] = [];
  const end: number[] = [];
  for (let i = 0; i < 2; i++) {
    const s = sp.strides[i]!, d = sp.dilations[i]!;
    const full = s * (input2[i]! - 1) + outputPadding[i]! + (kernel2[i]! - 1) * d + 1;
    let o: number;
    if (given) {
      const spatial = given.length === rank ? given.slice(2) : given;
      o = rank === 3 ? (i === 0 ? 1 : spatial[0]!) : spatial[i]!;
    } else if (autoPad === 'SAME_UPPER' || autoPad === 'SAME_LOWER') o = input2[i]! * s;
    else if (autoPad === 'VALID') o = full;
    else o = full - sp.pads[i]! - sp.pads[i + 2]!;
    let pb: number;
    if (given || autoPad === 'SAME_UPPER' || autoPad === 'SAME_LOWER') {
      const total = full - o;
      pb = autoPad === 'SAME_UPPER' ? Math.floor(total / 2) : total - Math.floor(total / 2);
    } else if (autoPad === 'VALID') pb = 0;
    else pb = sp.pads[i]!;
    if (!(o >= 1)) throw invalid(ctx, `the output would have ${o} rows/columns`);
    out.push(o);
    begin.push(pb);
    end.push(full - o - pb);
  }
  // Filter [C, M/g, KH, KW] -> [M, KH, KW, C/g]: output channel g*M/g + j reads the inputs of group g.
  const cPerGroup = c / group;
  const src = w.data ? w : { ...w, data: w.dequant!.source.data!, dtype: w.dequant!.source.dtype };
  const size = dtypeSize(src.dtype);
  const filter = new Uint8Array(m * kh * kw * cPerGroup * size);
  for (let ci = 0; ci < c; ci++) {
    const g = Math.floor(ci / cPerGroup);
    for (let j = 0; j < mPerGroup; j++) {
      for (let k = 0; k < kh * kw; k++) {
        const from = ((ci * mPerGroup + j) * kh * kw + k) * size;
        const to = (((g * mPerGroup + j) * kh * kw + k) * cPerGroup + (ci - g * cPerGroup)) * size;
        filter.set(src.data!.subarray(from, from + size), to);
      }
    }
  }
  let filterT: number;
  if (w.data) filterT = ctx.b.addTensor(`${wIn.name}_ohwi`, [m, kh, kw, cPerGroup], w.dtype, filter);
  else {
    const d = w.dequant!;
    if (d.quant.scale.length > 1) throw unsupported(ctx, 'per-channel QDQ weights', 'quantize ConvTranspose weights per tensor');
    const q = ctx.b.addTensor(`${wIn.name}_ohwi_quantized`, [m, kh, kw, cPerGroup], d.source.dtype, filter, { ...d.quant, axis: 0 });
    filterT = ctx.b.addTensor(`${wIn.name}_ohwi`, [m, kh, kw, cPerGroup], 'float32');
    ctx.b.addOp('DEQUANTIZE', [q], [filterT], { rounding: 'HALF_EVEN', axis: 0 }, d.op.source, d.op.version);
  }
  if (bias && elementCount(bias.shape) !== m) throw invalid(ctx, `bias has ${elementCount(bias.shape)} values for ${m} output channels`);
  const outShape = rank === 4 ? [n, m, out[0]!, out[1]!] : [n, m, out[1]!];
  const xT = ctx.b.nhwcTensorOf(x, ctx.source, ctx.version);
  const shapeT = ctx.b.addTensor(`${ctx.outputs[0]}_output_shape`, [4], 'int32', new Uint8Array(Int32Array.from([n, out[0]!, out[1]!, m]).buffer));
  const y = output(ctx, 0, outShape, x.dtype, true);
  const pads = [begin[0]!, begin[1]!, end[0]!, end[1]!];
  // TFLite's SAME for TRANSPOSE_CONV: output in * stride, and the leading pad that of the forward
  // convolution from the output back to the input: floor(((in - 1) * stride + k - out) / 2).
  const same = [0, 1].every((i) => {
    const total = (input2[i]! - 1) * sp.strides[i]! + (kernel2[i]! - 1) * sp.dilations[i]! + 1 - out[i]!;
    return out[i] === input2[i]! * sp.strides[i]! && begin[i] === Math.floor(Math.max(0, total) / 2);
  });
  const valid = pads.every((p) => p === 0);
  emit(ctx, 'TRANSPOSE_CONV', [shapeT, filterT, xT, bias ? ctx.b.tensorOf(bias) : -1], [y], {
    strideH: sp.strides[0]!,
    strideW: sp.strides[1]!,
    dilationH: sp.dilations[0]!,
    dilationW: sp.dilations[1]!,
    padding: valid ? 'VALID' : same ? 'SAME' : 'EXPLICIT',
    pads,
    groups: group,
    fusedActivation: 'NONE',
  });
}
