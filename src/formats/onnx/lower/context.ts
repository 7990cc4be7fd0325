/**
 * What a lowering function gets (NodeContext) and the small helpers every lowering shares:
 * typed errors naming the node, reading inputs, emitting ops, defining outputs.
 */
import { InvalidModelError, UnsupportedError } from '../../../errors.ts';
import type { AttrValue, DType, OpSource, Quantization } from '../../../ir/graph.ts';
import type { NodeAttributes } from '../attributes.ts';
import type { GraphBuilder, Value } from '../builder.ts';
import type { NodeProto } from '../decode.ts';
import { readNumbers } from '../layout.ts';

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

export function unsupported(ctx: NodeContext, what: string, fix: string): UnsupportedError {
  return new UnsupportedError(`${ctx.label}: ${what}: ${fix}`);
}

export function invalid(ctx: NodeContext, what: string): InvalidModelError {
  return new InvalidModelError(`${ctx.label}: ${what}: the model is corrupt or inconsistent, re-export it`);
}

export function req(ctx: NodeContext, i: number): Value {
  const v = ctx.inputs[i];
  if (!v) throw invalid(ctx, `required input ${i} is missing`);
  return v;
}

export function emit(ctx: NodeContext, type: string, inputs: number[], outputs: Value[], attrs: Record<string, AttrValue>): void {
  const op = ctx.b.addOp(type, inputs, outputs.map((o) => o.tensor), attrs, ctx.source, ctx.version);
  for (const o of outputs) o.producer = op.index;
}

/** A fresh activation for ONNX output `i` of the node, defined under its ONNX name. */
export function output(ctx: NodeContext, i: number, shape: number[], dtype: DType, nhwc: boolean): Value {
  const name = ctx.outputs[i];
  if (!name) throw invalid(ctx, `output ${i} is missing`);
  const v = ctx.b.activation(name, shape, dtype, nhwc);
  ctx.b.define(v);
  return v;
}

/** An intermediate activation that no ONNX name refers to. */
export function temp(ctx: NodeContext, suffix: string, shape: number[], dtype: DType): Value {
  return ctx.b.activation(`${ctx.outputs[0] ?? ctx.source.name}_${suffix}`, shape, dtype, false);
}

export function defineConstant(ctx: NodeContext, i: number, shape: number[], dtype: DType, data: Uint8Array): void {
  ctx.b.define(ctx.b.constant(ctx.outputs[i]!, shape, dtype, data));
}

export function alias(ctx: NodeContext, v: Value): void {
  ctx.b.define({ ...v, name: ctx.outputs[0]! });
}

export function constNumbers(ctx: NodeContext, v: Value, what: string): number[] {
  if (!v.data) throw unsupported(ctx, `${what} ('${v.name}') is computed at run time`, 'tinyml needs it as a constant (an initializer)');
  return readNumbers(v.data, v.dtype);
}

export function normAxis(ctx: NodeContext, axis: number, rank: number): number {
  const a = axis < 0 ? axis + rank : axis;
  if (a < 0 || a >= Math.max(rank, 1)) throw invalid(ctx, `axis ${axis} is out of range for rank ${rank}`);
  return a;
}

/** Declared static shape of output i (value_info or graph output), for ops whose parameters are runtime inputs. */
export function declaredShape(ctx: NodeContext, i: number, why: string): number[] {
  const d = ctx.declared.get(ctx.outputs[i] ?? '');
  if (!d?.shape) {
    throw unsupported(ctx, `${why}, and the model does not declare the output shape`, 'make the parameter an initializer or run onnx.shape_inference.infer_shapes on the model');
  }
  return d.shape;
}

/** True when a value is read by nobody and is not a graph output. */
export function unused(ctx: NodeContext, name: string | undefined): boolean {
  return !name || ((ctx.readers.get(name)?.length ?? 0) === 0 && !ctx.b.graphOutputs.has(name));
}

/** The only node reading `name`, when exactly one does and it is not a graph output. */
export function soleReader(ctx: NodeContext, name: string): number | undefined {
  const r = ctx.readers.get(name);
  if (!r || r.length !== 1 || ctx.b.graphOutputs.has(name)) return undefined;
  return r[0];
}

export function isFloatConst(v: Value | undefined): v is Value & { data: Uint8Array } {
  return !!v && !!v.data && v.dtype === 'float32';
}

/** Per-tensor or per-axis quantization from constant scale / zero-point values, if both are constant. */
export function constQuant(scale: Value | undefined, zp: Value | undefined, axis: number): Quantization | undefined {
  if (!scale?.data || (zp && !zp.data)) return undefined;
  const sc = readNumbers(scale.data, scale.dtype);
  const z = zp ? readNumbers(zp.data!, zp.dtype) : new Array<number>(sc.length).fill(0);
  if (sc.length === 0 || z.length !== sc.length) return undefined;
  return { scale: sc, zeroPoint: z, axis: sc.length > 1 ? axis : 0 };
}

export function setQuant(ctx: NodeContext, tensor: number, q: Quantization | undefined): void {
  if (!q) return;
  const t = ctx.b.tensors[tensor]!;
  if (t.quant && JSON.stringify(t.quant) !== JSON.stringify(q)) {
    throw unsupported(ctx, `tensor '${t.name}' is used with two different quantizations`, 'requantize explicitly so each tensor has one scale');
  }
  t.quant = q;
}
