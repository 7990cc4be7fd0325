/**
 * Lowers each ONNX node onto the canonical IR ops (src/ir/ops.ts), with static shape inference
 * and the NCHW -> NHWC conversion of image graphs. One function per ONNX op family; each reads
 * its inputs as `Value`s, emits IR ops through the GraphBuilder and defines its outputs.
 */
import { InvalidModelError, UnsupportedError } from '../../errors.ts';
import { dtypeSize, elementCount, type AttrValue, type DType, type OpSource, type Quantization } from '../../ir/graph.ts';
import type { NodeAttributes } from './attributes.ts';
import { GraphBuilder, type Value } from './builder.ts';
import type { NodeProto } from './decode.ts';
import {
  broadcastShapes,
  float32Bytes,
  int32Bytes,
  NCHW_TO_NHWC,
  NHWC_TO_NCHW,
  nhwcAxis,
  permute,
  readNumbers,
  transposeBytes,
} from './layout.ts';
import { int64ToNumber, onnxDataTypeToDType } from './tensor.ts';

/** ONNX's default Clip bounds: numeric_limits<float>::lowest() and max(). */
export const FLT_MAX = 3.4028234663852886e38;

export interface Declared {
  shape?: number[];
  dtype?: DType;
}

/** Everything a lowering function needs about the node and the graph around it. */
export interface NodeContext {
  b: GraphBuilder;
  node: NodeProto;
  index: number;
  opType: string;
  /** "Conv node 'conv1'", for messages. */
  label: string;
  attrs: NodeAttributes;
  inputs: (Value | undefined)[];
  outputs: string[];
  source: OpSource;
  /** Opset version of the node's domain. */
  version: number;
  imageGraph: boolean;
  declared: Map<string, Declared>;
  /** All nodes, and for each value name the indices of the nodes that read it. */
  nodes: NodeProto[];
  readers: Map<string, number[]>;
  /** Nodes already lowered as part of an earlier node (folded BN/bias Add). */
  absorbed: Set<number>;
}

// ---------------------------------------------------------------------------------------------
// Small helpers

function unsupported(ctx: NodeContext, what: string, fix: string): UnsupportedError {
  return new UnsupportedError(`${ctx.label}: ${what}: ${fix}`);
}

function invalid(ctx: NodeContext, what: string): InvalidModelError {
  return new InvalidModelError(`${ctx.label}: ${what}: the model is corrupt or inconsistent, re-export it`);
}

function req(ctx: NodeContext, i: number): Value {
  const v = ctx.inputs[i];
  if (!v) throw invalid(ctx, `required input ${i} is missing`);
  return v;
}

function emit(ctx: NodeContext, type: string, inputs: number[], outputs: Value[], attrs: Record<string, AttrValue>): void {
  const op = ctx.b.addOp(type, inputs, outputs.map((o) => o.tensor), attrs, ctx.source, ctx.version);
  for (const o of outputs) o.producer = op.index;
}

/** A fresh activation for ONNX output `i` of the node, defined under its ONNX name. */
function output(ctx: NodeContext, i: number, shape: number[], dtype: DType, nhwc: boolean): Value {
  const name = ctx.outputs[i];
  if (!name) throw invalid(ctx, `output ${i} is missing`);
  const v = ctx.b.activation(name, shape, dtype, nhwc);
  ctx.b.define(v);
  return v;
}

/** An intermediate activation that no ONNX name refers to. */
function temp(ctx: NodeContext, suffix: string, shape: number[], dtype: DType): Value {
  return ctx.b.activation(`${ctx.outputs[0] ?? ctx.source.name}_${suffix}`, shape, dtype, false);
}

function defineConstant(ctx: NodeContext, i: number, shape: number[], dtype: DType, data: Uint8Array): void {
  ctx.b.define(ctx.b.constant(ctx.outputs[i]!, shape, dtype, data));
}

function alias(ctx: NodeContext, v: Value): void {
  ctx.b.define({ ...v, name: ctx.outputs[0]! });
}

function constNumbers(ctx: NodeContext, v: Value, what: string): number[] {
  if (!v.data) throw unsupported(ctx, `${what} ('${v.name}') is computed at run time`, 'tinyml needs it as a constant (an initializer)');
  return readNumbers(v.data, v.dtype);
}

function normAxis(ctx: NodeContext, axis: number, rank: number): number {
  const a = axis < 0 ? axis + rank : axis;
  if (a < 0 || a >= Math.max(rank, 1)) throw invalid(ctx, `axis ${axis} is out of range for rank ${rank}`);
  return a;
}

/** Declared static shape of output i (value_info or graph output), for ops whose parameters are runtime inputs. */
function declaredShape(ctx: NodeContext, i: number, why: string): number[] {
  const d = ctx.declared.get(ctx.outputs[i] ?? '');
  if (!d?.shape) {
    throw unsupported(ctx, `${why}, and the model does not declare the output shape`, 'make the parameter an initializer or run onnx.shape_inference.infer_shapes on the model');
  }
  return d.shape;
}

/** True when a value is read by nobody and is not a graph output. */
function unused(ctx: NodeContext, name: string | undefined): boolean {
  return !name || ((ctx.readers.get(name)?.length ?? 0) === 0 && !ctx.b.graphOutputs.has(name));
}

/** The only node reading `name`, when exactly one does and it is not a graph output. */
function soleReader(ctx: NodeContext, name: string): number | undefined {
  const r = ctx.readers.get(name);
  if (!r || r.length !== 1 || ctx.b.graphOutputs.has(name)) return undefined;
  return r[0];
}

function isFloatConst(v: Value | undefined): v is Value & { data: Uint8Array } {
  return !!v && !!v.data && v.dtype === 'float32';
}

// ---------------------------------------------------------------------------------------------
// Convolution and pooling geometry

interface Geometry {
  out: number[];
  /** [top, left, bottom, right] */
  pads: number[];
  padding: 'SAME' | 'VALID' | 'EXPLICIT';
}

function spatialGeometry(
  ctx: NodeContext,
  input: number[],
  kernel: number[],
  strides: number[],
  dilations: number[],
  options: { ceilMode?: boolean },
): Geometry {
  const autoPad = ctx.attrs.string('auto_pad', 'NOTSET');
  const explicit = ctx.attrs.ints('pads') ?? [0, 0, 0, 0];
  if (explicit.length !== 4 || explicit.some((p) => p < 0)) throw invalid(ctx, `pads [${explicit.join(',')}] are not 4 non-negative values`);
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

function twoInts(ctx: NodeContext, name: string, dflt: number): number[] {
  const v = ctx.attrs.ints(name) ?? [dflt, dflt];
  if (v.length !== 2) throw unsupported(ctx, `attribute ${name} has ${v.length} values`, 'only 2-D (NCHW) convolution and pooling are supported');
  return v;
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
}

function convShape(ctx: NodeContext, x: Value, w: Value): ConvShape {
  if (x.shape.length !== 4 || w.shape.length !== 4) {
    throw unsupported(ctx, `input rank ${x.shape.length} / weight rank ${w.shape.length}`, 'only 2-D convolution (4-D NCHW input and weight) is supported');
  }
  const [n, c, h, wd] = x.shape as [number, number, number, number];
  const [m, cPerGroup, kh, kw] = w.shape as [number, number, number, number];
  const group = ctx.attrs.int('group', 1);
  if (group < 1 || c % group !== 0 || cPerGroup * group !== c || m % group !== 0) {
    throw invalid(ctx, `group ${group} does not fit ${c} input channels, weight [${w.shape.join(',')}]`);
  }
  const kernel = ctx.attrs.ints('kernel_shape');
  if (kernel && (kernel[0] !== kh || kernel[1] !== kw)) throw invalid(ctx, `kernel_shape [${kernel.join(',')}] differs from the weight's [${kh},${kw}]`);
  const strides = twoInts(ctx, 'strides', 1);
  const dilations = twoInts(ctx, 'dilations', 1);
  const geometry = spatialGeometry(ctx, [h, wd], [kh, kw], strides, dilations, {});
  return { n, c, h, w: wd, m, cPerGroup, kh, kw, group, geometry, dilations, strides };
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
function foldIntoConv(ctx: NodeContext, outName: string, m: number, weights: Float64Array, bias: Float64Array, perOut: number): string {
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
      // Per-output-channel: [M,1,1], [1,M,1,1], or a scalar broadcast to all channels.
      const shape4 = [...new Array<number>(Math.max(0, 4 - other.shape.length)).fill(1), ...other.shape];
      if (other.shape.length > 4 || shape4[0] !== 1 || shape4[2] !== 1 || shape4[3] !== 1 || (shape4[1] !== 1 && shape4[1] !== m)) return outName;
      const add = readNumbers(other.data, 'float32');
      for (let o = 0; o < m; o++) bias[o]! += add[add.length === 1 ? 0 : o]!;
    } else {
      return outName;
    }
    ctx.absorbed.add(r);
    outName = next.output![0]!;
  }
}

function lowerConv(ctx: NodeContext): void {
  const x = req(ctx, 0), w = req(ctx, 1), bias = ctx.inputs[2];
  const s = convShape(ctx, x, w);
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
    outName = foldIntoConv(ctx, outName, s.m, weights, b, perOut);
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

  const outShape = [s.n, s.m, s.geometry.out[0]!, s.geometry.out[1]!];
  const y = ctx.b.activation(outName, outShape, x.dtype, true);
  ctx.b.define(y);
  const attrs = convAttrs(s);
  if (depthwise) emit(ctx, 'DEPTHWISE_CONV_2D', [xT, filterT, biasT], [y], { ...attrs, depthMultiplier: s.m / s.c });
  else emit(ctx, 'CONV_2D', [xT, filterT, biasT], [y], { ...attrs, groups: s.group });
}

/** Per-tensor or per-axis quantization from constant scale / zero-point values, if both are constant. */
function constQuant(scale: Value | undefined, zp: Value | undefined, axis: number): Quantization | undefined {
  if (!scale?.data || (zp && !zp.data)) return undefined;
  const sc = readNumbers(scale.data, scale.dtype);
  const z = zp ? readNumbers(zp.data!, zp.dtype) : new Array<number>(sc.length).fill(0);
  if (sc.length === 0 || z.length !== sc.length) return undefined;
  return { scale: sc, zeroPoint: z, axis: sc.length > 1 ? axis : 0 };
}

function setQuant(ctx: NodeContext, tensor: number, q: Quantization | undefined): void {
  if (!q) return;
  const t = ctx.b.tensors[tensor]!;
  if (t.quant && JSON.stringify(t.quant) !== JSON.stringify(q)) {
    throw unsupported(ctx, `tensor '${t.name}' is used with two different quantizations`, 'requantize explicitly so each tensor has one scale');
  }
  t.quant = q;
}

function lowerQLinearConv(ctx: NodeContext): void {
  const x = req(ctx, 0), w = req(ctx, 3);
  const [xs, xz, ws, wz, ys, yz] = [1, 2, 4, 5, 6, 7].map((i) => req(ctx, i));
  const bias = ctx.inputs[8];
  const s = convShape(ctx, x, w);
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
  const y = output(ctx, 0, [s.n, s.m, s.geometry.out[0]!, s.geometry.out[1]!], yz!.dtype, true);
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

function lowerPool(ctx: NodeContext, type: 'MAX_POOL_2D' | 'AVERAGE_POOL_2D'): void {
  const x = req(ctx, 0);
  if (x.shape.length !== 4) throw unsupported(ctx, `input rank ${x.shape.length}`, 'only 2-D pooling of 4-D NCHW tensors is supported');
  if (ctx.outputs.length > 1 && !unused(ctx, ctx.outputs[1])) throw unsupported(ctx, 'the Indices output is used', 'remove the use of the MaxPool indices');
  const kernel = ctx.attrs.ints('kernel_shape');
  if (!kernel || kernel.length !== 2) throw unsupported(ctx, 'kernel_shape is not 2-D', 'only 2-D pooling is supported');
  const dil = twoInts(ctx, 'dilations', 1);
  if (dil.some((d) => d !== 1)) throw unsupported(ctx, `dilations [${dil.join(',')}]`, 'use pooling without dilation');
  const strides = twoInts(ctx, 'strides', 1);
  const ceilMode = ctx.attrs.int('ceil_mode', 0) !== 0;
  const countIncludePad = type === 'AVERAGE_POOL_2D' && ctx.attrs.int('count_include_pad', 0) !== 0;
  const [n, c, h, w] = x.shape as [number, number, number, number];
  const plain = spatialGeometry(ctx, [h, w], kernel, strides, [1, 1], {});
  const g = spatialGeometry(ctx, [h, w], kernel, strides, [1, 1], { ceilMode });
  if (countIncludePad && ceilMode && g.pads.some((p, i) => p !== plain.pads[i])) {
    throw unsupported(ctx, 'ceil_mode with count_include_pad', 'export with ceil_mode=0 or count_include_pad=0');
  }
  const xT = ctx.b.nhwcTensorOf(x, ctx.source, ctx.version);
  const y = output(ctx, 0, [n, c, g.out[0]!, g.out[1]!], x.dtype, true);
  emit(ctx, type, [xT], [y], {
    filterH: kernel[0]!,
    filterW: kernel[1]!,
    strideH: strides[0]!,
    strideW: strides[1]!,
    padding: g.padding,
    pads: g.pads,
    fusedActivation: 'NONE',
    countIncludePad,
  });
}

function lowerGlobalPool(ctx: NodeContext, max: boolean): void {
  const x = req(ctx, 0);
  if (x.shape.length !== 4) throw unsupported(ctx, `input rank ${x.shape.length}`, 'only 4-D NCHW inputs are supported');
  const [n, c, h, w] = x.shape as [number, number, number, number];
  const xT = ctx.b.nhwcTensorOf(x, ctx.source, ctx.version);
  const y = output(ctx, 0, [n, c, 1, 1], x.dtype, true);
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

function lowerBatchNorm(ctx: NodeContext): void {
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
// Elementwise

function lowerUnary(ctx: NodeContext, type: string, attrs: Record<string, AttrValue>): void {
  const x = req(ctx, 0);
  if (x.flatOrder) throw new Error('internal: flattened NHWC value reached an elementwise op');
  const y = output(ctx, 0, [...x.shape], x.dtype, x.nhwc);
  emit(ctx, type, [ctx.b.tensorOf(x)], [y], attrs);
}

function lowerBinary(ctx: NodeContext, type: 'ADD' | 'SUB' | 'MUL'): void {
  const a = req(ctx, 0), c = req(ctx, 1);
  if (ctx.version < 7 && ctx.attrs.has('axis')) {
    throw unsupported(ctx, 'opset-6 broadcasting with an axis attribute', 'convert the model to opset 7 or newer (numpy broadcasting)');
  }
  const shape = broadcastShapes(a.shape, c.shape);
  if (!shape) throw invalid(ctx, `shapes [${a.shape.join(',')}] and [${c.shape.join(',')}] do not broadcast`);
  const nhwc = shape.length === 4 && (a.nhwc || c.nhwc);
  const operand = (v: Value): number => (nhwc ? ctx.b.nhwcOperandOf(v, ctx.source, ctx.version) : ctx.b.tensorOf(v));
  const ins = [operand(a), operand(c)];
  const y = output(ctx, 0, shape, a.dtype, nhwc);
  emit(ctx, type, ins, [y], { fusedActivation: 'NONE' });
}

function lowerClip(ctx: NodeContext): void {
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
  const y = output(ctx, 0, [...x.shape], x.dtype, x.nhwc);
  const xT = ctx.b.tensorOf(x);
  if (extra[0] !== -1 || extra[1] !== -1) emit(ctx, 'CLIP', [xT, extra[0]!, extra[1]!], [y], { min, max });
  else if (min === 0 && max === FLT_MAX) emit(ctx, 'RELU', [xT], [y], {});
  else if (min === 0 && max === 6) emit(ctx, 'RELU6', [xT], [y], {});
  else emit(ctx, 'CLIP', [xT], [y], { min, max });
}

// ---------------------------------------------------------------------------------------------
// Softmax, Concat, Transpose, Pad

function lowerSoftmax(ctx: NodeContext): void {
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
    axis = nhwcAxis(axis);
  } else {
    xT = ctx.b.nchwTensorOf(x, ctx.source, ctx.version);
  }
  const y = output(ctx, 0, [...x.shape], x.dtype, nhwc);
  emit(ctx, 'SOFTMAX', [xT], [y], { beta: 1, axis, coerce2d });
}

function lowerConcat(ctx: NodeContext): void {
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
  const nhwc = rank === 4 && ins.some((v) => v.nhwc);
  const tensors = ins.map((v) => (nhwc ? ctx.b.nhwcTensorOf(v, ctx.source, ctx.version) : ctx.b.tensorOf(v)));
  const y = output(ctx, 0, shape, ins[0]!.dtype, nhwc);
  emit(ctx, 'CONCATENATION', tensors, [y], { axis: nhwc ? nhwcAxis(axis) : axis, fusedActivation: 'NONE' });
}

function lowerTranspose(ctx: NodeContext): void {
  const x = req(ctx, 0);
  const rank = x.shape.length;
  const perm = ctx.attrs.ints('perm') ?? [...Array(rank).keys()].reverse();
  if (perm.length !== rank || [...perm].sort((p, q) => p - q).some((p, i) => p !== i)) throw invalid(ctx, `perm [${perm.join(',')}] is not a permutation of ${rank} axes`);
  const shape = permute(x.shape, perm);
  if (x.data) {
    defineConstant(ctx, 0, shape, x.dtype, transposeBytes(x.data, x.shape, perm, dtypeSize(x.dtype)));
    return;
  }
  if (x.nhwc) {
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
  emit(ctx, 'TRANSPOSE', [ctx.b.tensorOf(x)], [y], { perm });
}

function lowerPad(ctx: NodeContext): void {
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
    const order = x.nhwc ? NCHW_TO_NHWC : [...Array(rank).keys()];
    irPads = order.flatMap((a) => [pads![a]!, pads![a + rank]!]);
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
 * Whether every reader of `name` is a MatMul/Gemm that will become a FULLY_CONNECTED with
 * constant float weights reading it as A (the conditions lowerMatMul/lowerGemm use for that path).
 */
function allReadersAreDense(ctx: NodeContext, name: string, dtype: DType): boolean {
  const readers = ctx.readers.get(name) ?? [];
  if (readers.length === 0 || ctx.b.graphOutputs.has(name) || dtype !== 'float32') return false;
  return readers.every((r) => {
    const n = ctx.nodes[r]!;
    if ((n.domain ?? '') !== '' && n.domain !== 'ai.onnx') return false;
    const ins = n.input ?? [];
    if (ins[0] !== name || ins.slice(1).includes(name)) return false;
    const bv = ins[1] ? ctx.b.value(ins[1]) : undefined;
    if (!isFloatConst(bv) || bv.shape.length !== 2) return false;
    if (n.opType === 'MatMul') return true;
    if (n.opType !== 'Gemm') return false;
    const intAttr = (key: string): number => int64ToNumber((n.attribute ?? []).find((a) => a.name === key)?.i);
    const beta = (n.attribute ?? []).find((a) => a.name === 'beta')?.f ?? 1;
    const c = ins[2] ? ctx.b.value(ins[2]) : undefined;
    return intAttr('transA') === 0 && (!ins[2] || isFloatConst(c) || beta === 0);
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
  if (x.nhwc && shape.length === 2 && shape[0] === x.shape[0] && allReadersAreDense(ctx, ctx.outputs[0]!, x.dtype)) {
    // Flatten straight from NHWC; the dense consumers permute their weight rows to match.
    const [, c, h, w] = x.shape as [number, number, number, number];
    const order: number[] = [];
    for (let hh = 0; hh < h; hh++) for (let ww = 0; ww < w; ww++) for (let cc = 0; cc < c; cc++) order.push(cc * h * w + hh * w + ww);
    const y = output(ctx, 0, shape, x.dtype, false);
    y.flatOrder = order;
    emit(ctx, 'RESHAPE', [x.tensor], [y], { newShape: shape });
    return;
  }
  const xT = ctx.b.nchwTensorOf(x, ctx.source, ctx.version);
  const y = output(ctx, 0, shape, x.dtype, false);
  emit(ctx, 'RESHAPE', [xT, ...extraInputs], [y], { newShape: shape });
}

function lowerReshape(ctx: NodeContext): void {
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

function lowerFlatten(ctx: NodeContext): void {
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

function lowerSqueeze(ctx: NodeContext): void {
  const x = req(ctx, 0);
  const axes = squeezeAxes(ctx, x.shape.length) ?? x.shape.flatMap((d, i) => (d === 1 ? [i] : []));
  if (axes.some((a) => x.shape[a] !== 1)) throw invalid(ctx, `cannot squeeze axes [${axes.join(',')}] of [${x.shape.join(',')}]`);
  reshapeTo(ctx, x, x.shape.filter((_, i) => !axes.includes(i)));
}

function lowerUnsqueeze(ctx: NodeContext): void {
  const x = req(ctx, 0);
  const outRank = x.shape.length + (ctx.attrs.ints('axes') ?? (ctx.inputs[1]?.shape[0] !== undefined ? new Array(ctx.inputs[1]!.shape[0]) : [])).length;
  const axes = squeezeAxes(ctx, outRank);
  if (!axes || axes.length === 0) throw invalid(ctx, 'no axes to unsqueeze');
  const shape: number[] = [];
  let src = 0;
  for (let i = 0; i < outRank; i++) shape.push(axes.includes(i) ? 1 : x.shape[src++]!);
  reshapeTo(ctx, x, shape);
}

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

function lowerGemm(ctx: NodeContext): void {
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

function lowerMatMul(ctx: NodeContext): void {
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

function lowerQLinearMatMul(ctx: NodeContext): void {
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

// ---------------------------------------------------------------------------------------------
// QuantizeLinear / DequantizeLinear

const QUANTIZED_TYPES: DType[] = ['int8', 'uint8', 'int16', 'uint16'];

function lowerQuantize(ctx: NodeContext, dequantize: boolean): void {
  const x = req(ctx, 0), scale = req(ctx, 1), zp = ctx.inputs[2];
  if (ctx.attrs.int('block_size', 0) !== 0) throw unsupported(ctx, 'blocked quantization (block_size)', 'use per-tensor or per-axis quantization');
  const rank = x.shape.length;
  const perAxis = elementCount(scale.shape) > 1 || scale.shape.length === 1 && rank > 0 && ctx.version >= 13 && scale.shape[0] !== 1;
  const axis = perAxis ? normAxis(ctx, ctx.attrs.int('axis', 1), rank) : 0;
  if (perAxis && elementCount(scale.shape) !== x.shape[axis]) throw invalid(ctx, `${elementCount(scale.shape)} scales for axis ${axis} of size ${x.shape[axis]}`);
  if (zp && elementCount(zp.shape) !== elementCount(scale.shape)) throw invalid(ctx, 'scale and zero point have different sizes');
  const irAxis = perAxis && x.nhwc ? nhwcAxis(axis) : axis;
  let quantType: DType;
  if (dequantize) quantType = x.dtype;
  else if (zp) quantType = zp.dtype;
  else {
    const t = ctx.attrs.int('output_dtype', 0);
    quantType = t ? onnxDataTypeToDType(t) : 'uint8';
  }
  if (!QUANTIZED_TYPES.includes(quantType)) throw unsupported(ctx, `${quantType} quantization`, 'use int8 or uint8 (or int16) quantization');
  if (scale.dtype !== 'float32') throw unsupported(ctx, `${scale.dtype} scales`, 'use float32 scales');
  const q = constQuant(scale, zp, irAxis);
  if (dequantize && q && x.data) {
    // QDQ weights: DEQUANTIZE is emitted by the consumer, in the layout it needs.
    const quant = { ...q, axis: q.scale.length > 1 ? axis : 0 };
    ctx.b.define({ name: ctx.outputs[0]!, shape: [...x.shape], dtype: 'float32', nhwc: false, tensor: -1, dequant: { source: x, quant, op: { source: ctx.source, version: ctx.version } } });
    return;
  }
  const xT = ctx.b.tensorOf(x);
  const y = output(ctx, 0, [...x.shape], dequantize ? 'float32' : quantType, x.nhwc);
  const attrs = { rounding: 'HALF_EVEN', axis: irAxis };
  if (q) {
    setQuant(ctx, dequantize ? xT : y.tensor, q);
    emit(ctx, dequantize ? 'DEQUANTIZE' : 'QUANTIZE', [xT], [y], attrs);
  } else {
    emit(ctx, dequantize ? 'DEQUANTIZE' : 'QUANTIZE', [xT, ctx.b.tensorOf(scale), zp ? ctx.b.tensorOf(zp) : -1], [y], attrs);
  }
}

// ---------------------------------------------------------------------------------------------
// Unknown ops

function attrsForInspect(ctx: NodeContext): Record<string, AttrValue> {
  const out: Record<string, AttrValue> = {};
  for (const a of ctx.node.attribute ?? []) {
    if (!a.name) continue;
    if (a.ints?.length) out[a.name] = a.ints.map((v) => int64ToNumber(v));
    else if (a.floats?.length) out[a.name] = [...a.floats];
    else if (a.strings?.length) out[a.name] = a.strings.map((s) => Buffer.from(s).toString('utf8'));
    else if (a.s?.length) out[a.name] = Buffer.from(a.s).toString('utf8');
    else if (a.type === 1) out[a.name] = a.f ?? 0;
    else if (a.type === 2) out[a.name] = int64ToNumber(a.i);
    else out[a.name] = null;
  }
  return out;
}

function lowerUnknown(ctx: NodeContext): void {
  const inputs = ctx.inputs.map((v) => (v ? (v.flatOrder ? v.tensor : ctx.b.nchwTensorOf(v, ctx.source, ctx.version)) : -1));
  const first = ctx.inputs.find((v) => v);
  const outs: Value[] = [];
  ctx.outputs.forEach((name, i) => {
    if (!name) return;
    const d = ctx.declared.get(name);
    let shape = d?.shape;
    if (!shape) {
      // Without a declared shape, assume a shape-preserving op when it reads one tensor.
      if (first && ctx.inputs.filter((v) => v).length === 1 && i === 0) shape = [...first.shape];
      else {
        throw unsupported(
          ctx,
          `op ${ctx.opType}${ctx.source.domain ? ` (domain ${ctx.source.domain})` : ''} is not supported and the model does not declare its output shapes`,
          'run onnx.shape_inference.infer_shapes on the model or replace the op',
        );
      }
    }
    outs.push(output(ctx, i, shape, d?.dtype ?? first?.dtype ?? 'float32', false));
  });
  emit(ctx, ctx.opType, inputs, outs, attrsForInspect(ctx));
}

// ---------------------------------------------------------------------------------------------

/** Ops we lower; anything else imports as an unknown op under its ONNX name. */
const LOWERINGS: Record<string, (ctx: NodeContext) => void> = {
  Conv: lowerConv,
  QLinearConv: lowerQLinearConv,
  MaxPool: (c) => lowerPool(c, 'MAX_POOL_2D'),
  AveragePool: (c) => lowerPool(c, 'AVERAGE_POOL_2D'),
  GlobalAveragePool: (c) => lowerGlobalPool(c, false),
  GlobalMaxPool: (c) => lowerGlobalPool(c, true),
  BatchNormalization: lowerBatchNorm,
  Relu: (c) => lowerUnary(c, 'RELU', {}),
  Sigmoid: (c) => lowerUnary(c, 'LOGISTIC', {}),
  Tanh: (c) => lowerUnary(c, 'TANH', {}),
  LeakyRelu: (c) => lowerUnary(c, 'LEAKY_RELU', { alpha: c.attrs.float('alpha', 0.01) }),
  Clip: lowerClip,
  Add: (c) => lowerBinary(c, 'ADD'),
  Sub: (c) => lowerBinary(c, 'SUB'),
  Mul: (c) => lowerBinary(c, 'MUL'),
  Softmax: lowerSoftmax,
  Concat: lowerConcat,
  Transpose: lowerTranspose,
  Pad: lowerPad,
  Reshape: lowerReshape,
  Flatten: lowerFlatten,
  Squeeze: lowerSqueeze,
  Unsqueeze: lowerUnsqueeze,
  Gemm: lowerGemm,
  MatMul: lowerMatMul,
  QLinearMatMul: lowerQLinearMatMul,
  QuantizeLinear: (c) => lowerQuantize(c, false),
  DequantizeLinear: (c) => lowerQuantize(c, true),
  Identity: (c) => alias(c, req(c, 0)),
  Dropout: (c) => {
    if (c.outputs.slice(1).some((o) => !unused(c, o))) throw unsupported(c, 'the dropout mask is used', 'export the model in inference mode');
    alias(c, req(c, 0));
  },
};

/** ONNX ops this importer lowers onto canonical IR ops (for docs and `inspect`). */
export const SUPPORTED_ONNX_OPS = Object.keys(LOWERINGS).concat('Constant').sort();

/** Ops whose presence makes a graph an image graph, converted to NHWC. */
export const IMAGE_OPS = new Set(['Conv', 'QLinearConv', 'ConvTranspose', 'MaxPool', 'AveragePool', 'GlobalAveragePool', 'GlobalMaxPool', 'BatchNormalization', 'LRN', 'InstanceNormalization']);

export function lowerNode(ctx: NodeContext): void {
  const lower = ctx.source.domain ? undefined : LOWERINGS[ctx.opType];
  if (!lower) {
    lowerUnknown(ctx);
    return;
  }
  const before = { ops: ctx.b.ops.length, tensors: ctx.b.tensors.length };
  try {
    lower(ctx);
  } catch (e) {
    // A known op in a form we do not lower (a 1-D Conv, pool dilations, ...) still imports, as an
    // unsupported op that inspect names, when nothing was emitted yet and its shapes are known.
    const untouched = ctx.b.ops.length === before.ops && ctx.b.tensors.length === before.tensors;
    const shapesKnown = ctx.outputs.every((o) => !o || ctx.declared.get(o)?.shape);
    if (!(e instanceof UnsupportedError) || !untouched || !shapesKnown) throw e;
    ctx.b.warnings.push(`${e.message.replace(/: [^:]*$/, '')}; imported as an unsupported op`);
    lowerUnknown(ctx);
  }
}
