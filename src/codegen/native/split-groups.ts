/**
 * Generation-time graph rewrite for the native backend: a grouped CONV_2D (TFLite infers the
 * groups from the shapes: input channels = groups x filter channels; PyTorch's
 * `Conv2d(groups=g)`) runs as
 *
 *   SPLIT (input channels into g equal parts) -> g ordinary CONV_2D -> CONCATENATION (channels)
 *
 * which computes exactly the same int8 values: output channel o of a grouped convolution sums
 * only over the input channels of its group (TFLM reference_integer_ops::ConvPerChannel with
 * `groups = input_depth / filter_input_depth`), with its own per-channel multiplier and bias;
 * each group's CONV_2D takes those rows of the filter, bias and quantization; the split and
 * concatenated tensors keep the input's and the output's scale and zero point, so both are plain
 * copies. The cost is the copies and their arena bytes (the conv kernels take contiguous
 * channels). Depthwise-shaped groups are DEPTHWISE_CONV_2D already and are not touched.
 *
 * New tensors are appended (existing tensor indices are unchanged); new ops take the grouped
 * conv's place and its source (messages name the user's node).
 */
import type { Graph, Op, Quantization, Tensor } from '../../ir/graph.ts';

/** The number of groups of a CONV_2D (1 when it is not grouped or its shapes are not 4-D). */
function groupsOf(graph: Graph, op: Op): number {
  if (op.type !== 'CONV_2D') return 1;
  const x = graph.tensors[op.inputs[0]!];
  const w = graph.tensors[op.inputs[1]!];
  const y = graph.tensors[op.outputs[0]!];
  // The 16x8 kernels take groups themselves (conv_s16.c).
  if (x?.dtype !== 'int8' || x.shape.length !== 4 || w?.shape.length !== 4 || y?.shape.length !== 4 || !w.data) return 1;
  const g = x.shape[3]! / w.shape[3]!;
  if (!Number.isInteger(g) || g <= 1 || w.shape[0]! % g !== 0 || y.shape[3] !== w.shape[0]) return 1;
  return g;
}

/** Rows [from, from + n) of a per-channel quantization (per-tensor kept as is). */
function quantRows(q: Quantization | undefined, channels: number, from: number, n: number): Quantization | undefined {
  if (!q || q.scale.length !== channels) return q;
  return { ...q, scale: q.scale.slice(from, from + n), zeroPoint: q.zeroPoint.slice(from, from + n), axis: 0 };
}

/**
 * The graph with every grouped CONV_2D split into per-group convolutions, with each op of the
 * result's index in the input graph (`original[i]`). The input graph is not modified (it is
 * returned as is when no conv is grouped).
 */
export function splitGroupedConvsMapped(graph: Graph): { graph: Graph; original: number[] } {
  if (!graph.ops.some((op) => groupsOf(graph, op) > 1)) return { graph, original: graph.ops.map((o) => o.index) };
  const tensors: Tensor[] = [...graph.tensors];
  const add = (t: Omit<Tensor, 'index'>): number => tensors.push({ ...t, index: tensors.length }) - 1;
  const ops: Op[] = [];
  const original: number[] = [];
  const emit = (op: Omit<Op, 'index'>, from: number): void => {
    original.push(from);
    ops.push({ ...op, index: ops.length });
  };
  for (const op of graph.ops) {
    const g = groupsOf(graph, op);
    if (g === 1) {
      emit(op, op.index);
      continue;
    }
    const x = graph.tensors[op.inputs[0]!]!;
    const w = graph.tensors[op.inputs[1]!]!;
    const y = graph.tensors[op.outputs[0]!]!;
    const b = op.inputs[2] !== undefined && op.inputs[2] >= 0 ? graph.tensors[op.inputs[2]] : undefined;
    const outC = w.shape[0]!;
    const og = outC / g;
    const axis = add({ name: `${x.name}/group_axis`, shape: [1], dtype: 'int32', data: new Uint8Array(Int32Array.of(3).buffer) });
    const parts = Array.from({ length: g }, (_, k) => add({ name: `${x.name}/group${k}`, shape: [...x.shape.slice(0, 3), w.shape[3]!], dtype: x.dtype, quant: x.quant }));
    emit({ type: 'SPLIT', version: 1, inputs: [axis, x.index], outputs: parts, attrs: { num_splits: g }, source: op.source }, op.index);
    const rowBytes = w.data!.byteLength / outC;
    const results: number[] = [];
    for (let k = 0; k < g; k++) {
      const wk = add({
        name: `${w.name}/group${k}`,
        shape: [og, ...w.shape.slice(1)],
        dtype: w.dtype,
        quant: quantRows(w.quant, outC, k * og, og),
        data: w.data!.slice(k * og * rowBytes, (k + 1) * og * rowBytes),
      });
      let bk = -1;
      if (b?.data) {
        const bb = b.data.byteLength / outC;
        bk = add({ name: `${b.name}/group${k}`, shape: [og], dtype: b.dtype, quant: quantRows(b.quant, outC, k * og, og), data: b.data.slice(k * og * bb, (k + 1) * og * bb) });
      }
      const yk = add({ name: `${y.name}/group${k}`, shape: [...y.shape.slice(0, 3), og], dtype: y.dtype, quant: y.quant });
      results.push(yk);
      emit({ ...op, inputs: [parts[k]!, wk, ...(op.inputs.length > 2 ? [bk] : [])], outputs: [yk], attrs: { ...op.attrs, groups: 1 } }, op.index);
    }
    emit({ type: 'CONCATENATION', version: 1, inputs: results, outputs: [y.index], attrs: { axis: 3, fusedActivation: 'NONE' }, source: op.source }, op.index);
  }
  return { graph: { ...graph, tensors, ops }, original };
}

/** splitGroupedConvsMapped without the op map. */
export function splitGroupedConvs(graph: Graph): Graph {
  return splitGroupedConvsMapped(graph).graph;
}
