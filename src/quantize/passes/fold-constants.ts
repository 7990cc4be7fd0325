/**
 * Pass: evaluates ops whose inputs are all constants (a Reshape of a weight, a
 * DequantizeLinear of QDQ weights, shape arithmetic) once with the float executor and replaces
 * their outputs by constants, so the quantizer only sees ops that run on activations.
 */
import type { Graph, Op } from '../../ir/graph.ts';
import { isConstant } from '../../ir/graph.ts';
import { runFloatOnce } from '../engines.ts';
import { compact, float32Bytes, isGraphOutput } from '../graph-edit.ts';

export function foldConstants(g: Graph): { graph: Graph; log: string[] } {
  const log: string[] = [];
  const removed = new Set<Op>();
  for (const op of g.ops) {
    const ins = op.inputs.filter((i) => i >= 0);
    if (ins.length === 0 || !ins.every((i) => isConstant(g.tensors[i]!))) continue;
    if (op.outputs.some((o) => isGraphOutput(g, o))) continue;
    const mini: Graph = { ...g, ops: [{ ...op, index: 0 }], inputs: [], outputs: op.outputs.map((tensor) => ({ tensor })) };
    let values;
    try {
      values = runFloatOnce(mini);
    } catch {
      continue; // not evaluable here: the op stays and the support check names it if needed
    }
    op.outputs.forEach((o, k) => {
      const v = values[k]!;
      const t = g.tensors[o]!;
      t.shape = [...v.shape];
      if (v.data instanceof Float32Array) {
        t.dtype = 'float32';
        t.data = float32Bytes(v.data);
        t.quant = undefined;
      } else {
        // An integer result (QUANTIZE of a weight) keeps the output tensor's declared params.
        t.dtype = v.dtype;
        t.data = new Uint8Array(v.data.buffer.slice(v.data.byteOffset, v.data.byteOffset + v.data.byteLength));
      }
    });
    removed.add(op);
    log.push(`folded constant ${op.type} '${op.source.name}'`);
  }
  return { graph: removed.size ? compact(g, removed) : g, log };
}
