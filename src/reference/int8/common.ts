/**
 * Shared plumbing of the int8 reference kernels: the kernel signature, tensor access,
 * quantization parameters and dtype ranges.
 *
 * A kernel family exports `prepare(op, ctx)`, which does TFLite Micro's Prepare-time work
 * (multipliers, shifts, activation bounds, checks) once, and returns the Eval step: a function
 * that reads its inputs from and writes its outputs to the value store.
 */
import { UnsupportedError } from '../../errors.ts';
import type { DType, Graph, Op, Tensor } from '../../ir/graph.ts';
import { elementCount } from '../../ir/graph.ts';
import type { TypedArray } from '../tensor-value.ts';

/** Tensor index -> current contents (typed array of the tensor's dtype, row-major). */
export type ValueStore = Map<number, TypedArray>;

export type EvalFn = (values: ValueStore) => void;

export interface PrepareContext {
  graph: Graph;
  /** Contents of a constant tensor (cached, decoded from its little-endian bytes). */
  constant(index: number): TypedArray;
}

export type PrepareFn = (op: Op, ctx: PrepareContext) => EvalFn;

/**
 * A kernel's refusal at Prepare: the message names the op and its node; `reason` is the bare
 * phrase ("has tensor 'x' (#0) of dtype int16 (needs int8)") for callers that word their own
 * line (src/backends/support.ts names the engines that do run the op).
 */
export class KernelRefusal extends UnsupportedError {
  constructor(
    readonly op: Op,
    readonly reason: string,
  ) {
    super(`int8 reference: ${op.type} (op #${op.index}, node '${op.source.name}') ${reason}: the int8 reference executor cannot run it`);
  }
}

/** A kernel-level refusal: names the op and its node so the user can find it. */
export function unsupported(op: Op, what: string): KernelRefusal {
  return new KernelRefusal(op, what);
}

export function tensorOf(ctx: PrepareContext, index: number): Tensor {
  const t = ctx.graph.tensors[index];
  if (t === undefined) throw new RangeError(`tensor index ${index} out of range`);
  return t;
}

/** The op's i-th input tensor, or undefined when that optional input is absent (-1). */
export function optionalInput(op: Op, ctx: PrepareContext, i: number): Tensor | undefined {
  const idx = op.inputs[i];
  return idx === undefined || idx < 0 ? undefined : tensorOf(ctx, idx);
}

export function input(op: Op, ctx: PrepareContext, i: number): Tensor {
  const t = optionalInput(op, ctx, i);
  if (t === undefined) throw unsupported(op, `has no input ${i}`);
  return t;
}

export function output(op: Op, ctx: PrepareContext, i = 0): Tensor {
  const idx = op.outputs[i];
  if (idx === undefined) throw unsupported(op, `has no output ${i}`);
  return tensorOf(ctx, idx);
}

/** Per-tensor scale (float32 as stored by TFLite). */
export function scaleOf(op: Op, t: Tensor): number {
  const s = t.quant?.scale[0];
  if (s === undefined) throw unsupported(op, `tensor '${t.name}' (#${t.index}) has no quantization scale`);
  return Math.fround(s);
}

export function zeroPointOf(t: Tensor): number {
  return t.quant?.zeroPoint[0] ?? 0;
}

/** Per-channel (or broadcast per-tensor) float32 scales of a weight tensor. */
export function channelScales(op: Op, t: Tensor, channels: number): number[] {
  const scales = t.quant?.scale;
  if (scales === undefined || scales.length === 0) throw unsupported(op, `weights '${t.name}' are not quantized`);
  if (scales.length !== 1 && scales.length !== channels) {
    throw unsupported(op, `weights '${t.name}' have ${scales.length} scales for ${channels} output channels`);
  }
  return Array.from({ length: channels }, (_, c) => Math.fround(scales.length === 1 ? scales[0]! : scales[c]!));
}

export function requireDtype(op: Op, t: Tensor, ...allowed: DType[]): void {
  if (!allowed.includes(t.dtype)) {
    throw unsupported(op, `has tensor '${t.name}' (#${t.index}) of dtype ${t.dtype} (needs ${allowed.join(' or ')})`);
  }
}

export function dtypeRange(dtype: DType): { min: number; max: number } {
  switch (dtype) {
    case 'int8':
      return { min: -128, max: 127 };
    case 'uint8':
      return { min: 0, max: 255 };
    case 'int16':
      return { min: -32768, max: 32767 };
    case 'int32':
      return { min: -2147483648, max: 2147483647 };
    default:
      throw new RangeError(`no integer range for ${dtype}`);
  }
}

export function allocate(dtype: DType, n: number): TypedArray {
  switch (dtype) {
    case 'int8':
      return new Int8Array(n);
    case 'uint8':
    case 'bool':
      return new Uint8Array(n);
    case 'int16':
      return new Int16Array(n);
    case 'uint16':
      return new Uint16Array(n);
    case 'int32':
      return new Int32Array(n);
    case 'uint32':
      return new Uint32Array(n);
    case 'float32':
      return new Float32Array(n);
    case 'float64':
      return new Float64Array(n);
    case 'int64':
      return new BigInt64Array(n);
    case 'uint64':
      return new BigUint64Array(n);
    default:
      throw new RangeError(`no typed array for ${dtype}`);
  }
}

/** Decodes little-endian raw bytes into a fresh typed array of `dtype` (copy: alignment-safe). */
export function decodeBytes(dtype: DType, bytes: Uint8Array, n: number): TypedArray {
  const out = allocate(dtype, n);
  const need = out.byteLength;
  if (bytes.byteLength < need) throw new RangeError(`constant has ${bytes.byteLength} bytes, needs ${need}`);
  new Uint8Array(out.buffer, out.byteOffset, need).set(bytes.subarray(0, need));
  return out;
}

export function elements(t: Tensor): number {
  return elementCount(t.shape);
}

/** Reads the store; a missing value is an executor bug (ops run in order), not a user error. */
export function read(values: ValueStore, index: number): TypedArray {
  const v = values.get(index);
  if (v === undefined) throw new Error(`int8 reference: tensor #${index} read before it was written`);
  return v;
}

/** TFLite's FusedActivation attribute, 'NONE' when absent. */
export function fusedActivation(op: Op): string {
  const a = op.attrs['fusedActivation'];
  return typeof a === 'string' ? a : 'NONE';
}

export function numberAttr(op: Op, key: string, fallback?: number): number {
  const v = op.attrs[key];
  if (typeof v === 'number') return v;
  if (fallback !== undefined) return fallback;
  throw unsupported(op, `lacks the numeric attribute '${key}'`);
}

export function numberArrayAttr(op: Op, key: string): number[] {
  const v = op.attrs[key];
  if (Array.isArray(v) && v.every((x) => typeof x === 'number')) return v as number[];
  throw unsupported(op, `lacks the attribute '${key}'`);
}
