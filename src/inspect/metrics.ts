/**
 * Static cost figures of a graph: multiply-accumulates per op, constant (weight) bytes, and an
 * activation-memory estimate from a tensor lifetime sweep. Pure functions of the IR.
 */
import { elementCount, isConstant, tensorBytes, type Graph, type Op, type Tensor } from '../ir/graph.ts';

function tensorAt(graph: Graph, index: number): Tensor | undefined {
  return index >= 0 ? graph.tensors[index] : undefined;
}

/**
 * Multiply-accumulates of one op, counted the usual way for MCU models (bias adds, activations and
 * element-wise ops are not counted):
 *   CONV_2D / QLINEAR_CONV  out_elems * KH * KW * (Cin / groups)   filter [Cout, KH, KW, Cin/groups]
 *   DEPTHWISE_CONV_2D       out_elems * KH * KW                    filter [1, KH, KW, Cout]
 *   FULLY_CONNECTED         out_elems * K                          weights [units, K], out [batch, units]
 *   BATCH_MATMUL / QLINEAR_MATMUL  out_elems * K                   K = the contracted dimension of A
 *   TRANSPOSE_CONV          in_elems * KH * KW * Cout              filter [Cout, KH, KW, Cin], input 2
 *   UNIDIRECTIONAL_SEQUENCE_LSTM  out_elems * 4 * (I + S)         4 gates of input and recurrent products
 * Returns 0 for every other op and when a needed shape is missing.
 */
export function opMacs(graph: Graph, op: Op): number {
  const out = tensorAt(graph, op.outputs[0] ?? -1);
  if (!out) return 0;
  const outElems = elementCount(out.shape);
  switch (op.type) {
    case 'CONV_2D':
    case 'DEPTHWISE_CONV_2D': {
      const filter = tensorAt(graph, op.inputs[1] ?? -1);
      if (!filter || filter.shape.length !== 4) return 0;
      const [, kh, kw, cinPerGroup] = filter.shape as [number, number, number, number];
      return op.type === 'CONV_2D' ? outElems * kh * kw * cinPerGroup : outElems * kh * kw;
    }
    case 'QLINEAR_CONV': {
      const filter = tensorAt(graph, op.inputs[3] ?? -1);
      if (!filter || filter.shape.length !== 4) return 0;
      const [, kh, kw, cinPerGroup] = filter.shape as [number, number, number, number];
      return outElems * kh * kw * cinPerGroup;
    }
    case 'FULLY_CONNECTED': {
      const weights = tensorAt(graph, op.inputs[1] ?? -1);
      if (!weights || weights.shape.length < 2) return 0;
      return outElems * weights.shape[weights.shape.length - 1]!;
    }
    case 'BATCH_MATMUL':
    case 'QLINEAR_MATMUL': {
      const a = tensorAt(graph, op.inputs[0] ?? -1);
      if (!a || a.shape.length === 0) return 0;
      const adjX = op.type === 'BATCH_MATMUL' && op.attrs.adjX === true;
      const k = a.shape.length === 1 ? a.shape[0]! : adjX ? a.shape[a.shape.length - 2]! : a.shape[a.shape.length - 1]!;
      return outElems * k;
    }
    case 'TRANSPOSE_CONV': {
      const filter = tensorAt(graph, op.inputs[1] ?? -1);
      const x = tensorAt(graph, op.inputs[2] ?? -1);
      if (!filter || !x || filter.shape.length !== 4) return 0;
      const [cout, kh, kw] = filter.shape as [number, number, number, number];
      return elementCount(x.shape) * kh * kw * cout;
    }
    case 'UNIDIRECTIONAL_SEQUENCE_LSTM': {
      const x = tensorAt(graph, op.inputs[0] ?? -1);
      if (!x || x.shape.length !== 3 || out.shape.length !== 3) return 0;
      return outElems * 4 * (x.shape[2]! + out.shape[2]!);
    }
    default:
      return 0;
  }
}

/** Bytes of the constant tensors an op reads (each counted once per op). */
export function opWeightBytes(graph: Graph, op: Op): number {
  let bytes = 0;
  for (const i of new Set(op.inputs)) {
    const t = tensorAt(graph, i);
    if (t && isConstant(t)) bytes += tensorBytes(t);
  }
  return bytes;
}

/** Total constant elements and bytes of the graph, each constant tensor counted once. */
export function constantTotals(graph: Graph): { parameters: number; weightBytes: number } {
  let parameters = 0;
  let weightBytes = 0;
  for (const t of graph.tensors) {
    if (!isConstant(t)) continue;
    parameters += elementCount(t.shape);
    weightBytes += tensorBytes(t);
  }
  return { parameters, weightBytes };
}

export interface ActivationEstimate {
  /** Peak bytes of simultaneously live non-constant tensors. */
  peakBytes: number;
  /** Op index at which the peak occurs (-1 for a graph without ops). */
  peakOp: number;
  /** Bytes of variable (state) tensors, live for the whole run and included in the peak. */
  variableBytes: number;
}

/**
 * Lifetime sweep over the op order: a non-constant tensor is live from the op that produces it
 * (op 0 for graph inputs) to the last op that reads it (the last op for graph outputs); variable
 * tensors live throughout. The peak of the live bytes is what a planner without in-place reuse
 * needs; a real arena planner can only do better by aliasing (e.g. RESHAPE) or worse by alignment.
 */
export function activationEstimate(graph: Graph): ActivationEstimate {
  const n = graph.ops.length;
  if (n === 0) return { peakBytes: 0, peakOp: -1, variableBytes: 0 };
  const first = new Map<number, number>();
  const last = new Map<number, number>();
  const touch = (t: number, i: number) => {
    if (!first.has(t) || first.get(t)! > i) first.set(t, i);
    if (!last.has(t) || last.get(t)! < i) last.set(t, i);
  };
  for (const input of graph.inputs) touch(input.tensor, 0);
  for (const output of graph.outputs) touch(output.tensor, n - 1);
  graph.ops.forEach((op, i) => {
    for (const t of op.inputs) if (t >= 0) touch(t, i);
    for (const t of op.outputs) if (t >= 0) touch(t, i);
  });

  // Difference array over op positions: +bytes at the first use, -bytes after the last.
  const delta = new Float64Array(n + 1);
  let variableBytes = 0;
  for (const [t, start] of first) {
    const tensor = graph.tensors[t];
    if (!tensor || isConstant(tensor)) continue;
    const bytes = tensorBytes(tensor);
    if (tensor.variable) {
      variableBytes += bytes;
      continue;
    }
    delta[start] += bytes;
    delta[last.get(t)! + 1] -= bytes;
  }
  let live = 0;
  let peakBytes = -1;
  let peakOp = 0;
  for (let i = 0; i < n; i++) {
    live += delta[i]!;
    if (live > peakBytes) {
      peakBytes = live;
      peakOp = i;
    }
  }
  return { peakBytes: peakBytes + variableBytes, peakOp, variableBytes };
}
