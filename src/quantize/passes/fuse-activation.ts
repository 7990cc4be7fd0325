/**
 * Pass: fuses a standalone RELU, RELU6, RELU_N1_TO_1 or CLIP with bounds (0, 6), (0, inf) or
 * (-1, 1) into the op that produces its input (CONV_2D, DEPTHWISE_CONV_2D, FULLY_CONNECTED,
 * ADD, SUB, MUL, pools), as TFLite's fusedActivation. In int8 the fused clamp costs nothing
 * and the producer's output range shrinks to the activation's, which keeps precision.
 */
import type { FusedActivation } from '../../ir/ops.ts';
import type { Graph, Op } from '../../ir/graph.ts';
import { compact, constFloats, consumers, isGraphOutput, producers } from '../graph-edit.ts';

const FUSES_INTO = new Set(['CONV_2D', 'DEPTHWISE_CONV_2D', 'FULLY_CONNECTED', 'ADD', 'SUB', 'MUL', 'AVERAGE_POOL_2D', 'MAX_POOL_2D']);

/** The fused activation an op computes, or undefined when it is not a fusable clamp. */
export function activationOf(op: Op, g: Graph): FusedActivation | undefined {
  switch (op.type) {
    case 'RELU':
      return 'RELU';
    case 'RELU6':
      return 'RELU6';
    case 'RELU_N1_TO_1':
      return 'RELU_N1_TO_1';
    case 'CLIP': {
      const lo = clipBound(op, g, 'min', 1);
      const hi = clipBound(op, g, 'max', 2);
      if (lo === 0 && hi === 6) return 'RELU6';
      if (lo === 0 && hi === Infinity) return 'RELU';
      if (lo === -1 && hi === 1) return 'RELU_N1_TO_1';
      return undefined;
    }
    default:
      return undefined;
  }
}

/** FLT_MAX is how ONNX import marks an unbounded side of a Clip. */
const UNBOUNDED = 3.4e38;

/** A Clip bound from its attribute or (ONNX opset >= 11) its constant input; +-Infinity if none. */
function clipBound(op: Op, g: Graph, key: 'min' | 'max', input: number): number | undefined {
  const none = key === 'min' ? -Infinity : Infinity;
  const a = op.attrs[key];
  let v: number;
  if (typeof a === 'number') v = a;
  else {
    const i = op.inputs[input];
    if (i === undefined || i < 0) return none;
    const t = g.tensors[i]!;
    if (!t.data) return undefined; // a runtime bound: not fusable
    v = constFloats(t)[0]!;
  }
  return Math.abs(v) >= UNBOUNDED ? none : v;
}

export function fuseActivations(g: Graph): { graph: Graph; log: string[] } {
  const log: string[] = [];
  const removed = new Set<Op>();
  const made = producers(g);
  const readers = consumers(g);
  for (const act of g.ops) {
    const kind = activationOf(act, g);
    if (!kind) continue;
    const x = act.inputs[0]!;
    const prod = made.get(x);
    if (!prod || removed.has(prod) || !FUSES_INTO.has(prod.type)) continue;
    if ((prod.attrs.fusedActivation ?? 'NONE') !== 'NONE') continue;
    if ((readers.get(x) ?? []).length !== 1 || isGraphOutput(g, x)) continue;
    prod.attrs = { ...prod.attrs, fusedActivation: kind };
    // The producer now writes the activation's output tensor (its name survives for eval).
    // QDQ params on the pre-activation tensor still describe it when none follow the activation.
    const before = g.tensors[x]!;
    const after = g.tensors[act.outputs[0]!]!;
    if (before.quant && !after.quant) after.quant = before.quant;
    prod.outputs[0] = act.outputs[0]!;
    removed.add(act);
    log.push(`fused ${act.type} '${act.source.name}' into ${prod.type} '${prod.source.name}' as ${kind}`);
  }
  return { graph: removed.size ? compact(g, removed) : g, log };
}
