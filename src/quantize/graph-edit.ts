/**
 * Small helpers the quantization passes share: reading and writing constant tensors as float32,
 * finding producers and consumers, and renumbering a graph after ops or tensors were removed.
 */
import type { Graph, Op, Tensor } from '../ir/graph.ts';
import { elementCount } from '../ir/graph.ts';

/** A deep enough copy that passes can mutate ops, tensors and lists without touching `g`. */
export function cloneGraph(g: Graph): Graph {
  return {
    ...g,
    tensors: g.tensors.map((t) => ({ ...t, shape: [...t.shape], quant: t.quant ? { ...t.quant } : undefined })),
    ops: g.ops.map((o) => ({ ...o, inputs: [...o.inputs], outputs: [...o.outputs], attrs: { ...o.attrs } })),
    inputs: g.inputs.map((i) => ({ ...i })),
    outputs: g.outputs.map((o) => ({ ...o })),
    meta: { ...g.meta },
    warnings: [...g.warnings],
  };
}

/** Op index that writes each tensor. */
export function producers(g: Graph): Map<number, Op> {
  const m = new Map<number, Op>();
  for (const op of g.ops) for (const t of op.outputs) m.set(t, op);
  return m;
}

/** Ops that read each tensor. */
export function consumers(g: Graph): Map<number, Op[]> {
  const m = new Map<number, Op[]>();
  for (const op of g.ops) {
    for (const t of op.inputs) {
      if (t < 0) continue;
      const list = m.get(t);
      if (list) list.push(op);
      else m.set(t, [op]);
    }
  }
  return m;
}

export function isGraphOutput(g: Graph, tensor: number): boolean {
  return g.outputs.some((o) => o.tensor === tensor);
}

/** Constant contents as float32, dequantizing quantized integer constants. */
export function constFloats(t: Tensor): Float32Array {
  if (!t.data) throw new Error(`tensor ${t.name} is not a constant`);
  const n = elementCount(t.shape);
  const view = new DataView(t.data.buffer, t.data.byteOffset, t.data.byteLength);
  const out = new Float32Array(n);
  const q = t.quant;
  const inner = q && q.scale.length > 1 ? t.shape.slice(q.axis + 1).reduce((a, b) => a * b, 1) : 1;
  const dequant = (i: number, v: number): number => {
    if (!q || q.scale.length === 0) return v;
    const c = q.scale.length > 1 ? Math.floor(i / inner) % q.scale.length : 0;
    return q.scale[c]! * (v - (q.zeroPoint[c] ?? 0));
  };
  for (let i = 0; i < n; i++) {
    let v: number;
    switch (t.dtype) {
      case 'float32': v = view.getFloat32(i * 4, true); break;
      case 'float64': v = view.getFloat64(i * 8, true); break;
      case 'int8': v = view.getInt8(i); break;
      case 'uint8': v = view.getUint8(i); break;
      case 'int16': v = view.getInt16(i * 2, true); break;
      case 'uint16': v = view.getUint16(i * 2, true); break;
      case 'int32': v = view.getInt32(i * 4, true); break;
      case 'int64': v = Number(view.getBigInt64(i * 8, true)); break;
      case 'bool': v = view.getUint8(i); break;
      default: throw new Error(`cannot read constant ${t.name} of dtype ${t.dtype} as float`);
    }
    out[i] = t.dtype === 'float32' || t.dtype === 'float64' ? v : dequant(i, v);
  }
  return out;
}

export function float32Bytes(values: Float32Array): Uint8Array {
  return new Uint8Array(values.buffer.slice(values.byteOffset, values.byteOffset + values.byteLength));
}

export function typedBytes(values: Int8Array | Int16Array | Int32Array | BigInt64Array | Float32Array): Uint8Array {
  return new Uint8Array(values.buffer.slice(values.byteOffset, values.byteOffset + values.byteLength));
}

/** Adds a tensor and returns its index. */
export function addTensor(g: Graph, t: Omit<Tensor, 'index'>): number {
  const index = g.tensors.length;
  g.tensors.push({ ...t, index });
  return index;
}

/** Makes `tensor` a float32 constant with `values` (shape unchanged unless given). */
export function setConstFloat(t: Tensor, values: Float32Array, shape?: number[]): void {
  t.dtype = 'float32';
  t.data = float32Bytes(values);
  t.quant = undefined;
  if (shape) t.shape = shape;
}

/** Replaces every read of tensor `from` with `to` (ops and graph outputs). */
export function replaceUses(g: Graph, from: number, to: number): void {
  for (const op of g.ops) op.inputs = op.inputs.map((i) => (i === from ? to : i));
  for (const o of g.outputs) if (o.tensor === from) o.tensor = to;
}

/**
 * Drops ops marked in `removed` and tensors nothing uses any more, then renumbers both so that
 * `index` equals the position again (the IR's invariant).
 */
export function compact(g: Graph, removed: Set<Op> = new Set()): Graph {
  const ops = g.ops.filter((o) => !removed.has(o));
  const used = new Set<number>();
  for (const op of ops) for (const t of [...op.inputs, ...op.outputs]) if (t >= 0) used.add(t);
  for (const i of g.inputs) used.add(i.tensor);
  for (const o of g.outputs) used.add(o.tensor);
  const remap = new Map<number, number>();
  const tensors: Tensor[] = [];
  for (const t of g.tensors) {
    if (!used.has(t.index)) continue;
    remap.set(t.index, tensors.length);
    tensors.push({ ...t, index: tensors.length });
  }
  const map = (i: number): number => (i < 0 ? i : remap.get(i)!);
  return {
    ...g,
    tensors,
    ops: ops.map((o, k) => ({ ...o, index: k, inputs: o.inputs.map(map), outputs: o.outputs.map(map) })),
    inputs: g.inputs.map((i) => ({ ...i, tensor: map(i.tensor) })),
    outputs: g.outputs.map((o) => ({ ...o, tensor: map(o.tensor) })),
  };
}

/** "CONV_2D 'conv1'": how messages name an op. */
export function describeOp(op: Op): string {
  const name = op.source.name ? ` '${op.source.name}'` : '';
  const src = op.source.opType && op.source.opType !== op.type ? ` (${op.source.format} ${op.source.opType})` : '';
  return `${op.type}${src} node${name} (op #${op.index})`;
}
