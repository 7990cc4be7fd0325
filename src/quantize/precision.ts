/**
 * Activation precision per op: int8 everywhere (TFLite's int8 scheme), int16 everywhere (the
 * 16x8 scheme: int16 activations, int8 weights, int64 biases; TFLite converter's
 * EXPERIMENTAL_TFLITE_BUILTINS_ACTIVATIONS_INT16_WEIGHTS_INT8), or mixed: chosen ops in int16,
 * the rest int8.
 *
 * planPrecision() decides the integer type of every float activation tensor and, where a tensor
 * feeds an op of the other precision, inserts a QUANTIZE op (a requantization int8 <-> int16 in
 * the quantized graph, which TFLite Micro runs) between them. It works on the float graph, so
 * the rest of quantization sees an ordinary graph whose tensors each have one integer type.
 * Ops that copy bytes without requantizing (SHARED_PARAM_OPS) take the precision of their input.
 */
import type { Graph, Op, Tensor } from '../ir/graph.ts';
import { isConstant } from '../ir/graph.ts';
import type { Range } from './params.ts';

export type ActivationType = 'int8' | 'int16';

export interface PrecisionOptions {
  /** Precision of every op (int8 or int16), unless listed in int16Ops. */
  activations: ActivationType;
  /** Ops (indices in the float graph) that run in int16 although `activations` is int8. */
  int16Ops?: ReadonlySet<number>;
  /** Ops whose output shares the input's params and bytes (quantize-graph.ts SHARED_PARAM_OPS). */
  sharedParamOps: ReadonlySet<string>;
}

export interface PrecisionPlan {
  /** The float graph with the conversion ops inserted (a new graph; the input is not modified). */
  graph: Graph;
  /** Calibrated ranges, extended to the conversion ops' outputs (a copy of their input's). */
  ranges: Map<number, Range>;
  /** Integer type of every float activation tensor of `graph`. */
  dtype: Map<number, ActivationType>;
  /** Precision of every op of `graph`, by op index. */
  opPrecision: ActivationType[];
}

const isActivation = (t: Tensor | undefined): t is Tensor => t !== undefined && t.dtype === 'float32' && !isConstant(t) && !t.variable;

export function planPrecision(g: Graph, ranges: Map<number, Range>, opts: PrecisionOptions): PrecisionPlan {
  const tensors: Tensor[] = g.tensors.map((t) => ({ ...t, shape: [...t.shape] }));
  const newRanges = new Map(ranges);
  const dtype = new Map<number, ActivationType>();
  const own = (op: Op): ActivationType => (opts.activations === 'int16' || opts.int16Ops?.has(op.index) ? 'int16' : 'int8');

  // Graph inputs take the precision of their first consumer.
  for (const gi of g.inputs) {
    const first = g.ops.find((o) => o.inputs.includes(gi.tensor));
    dtype.set(gi.tensor, first ? own(first) : opts.activations);
  }

  const ops: Op[] = [];
  const opPrecision: ActivationType[] = [];
  const converted = new Map<string, number>();
  for (const op of g.ops) {
    const acts = op.inputs.filter((i) => isActivation(tensors[i]));
    const p: ActivationType = opts.sharedParamOps.has(op.type) && acts.length > 0 && !opts.int16Ops?.has(op.index) ? (dtype.get(acts[0]!) ?? own(op)) : own(op);
    const inputs = op.inputs.map((i) => {
      if (!isActivation(tensors[i]) || (dtype.get(i) ?? p) === p) return i;
      const key = `${i}:${p}`;
      let c = converted.get(key);
      if (c === undefined) {
        c = tensors.length;
        const src = tensors[i]!;
        tensors.push({ index: c, name: `${src.name}_${p}`, shape: [...src.shape], dtype: 'float32' });
        dtype.set(c, p);
        const r = ranges.get(i);
        if (r) newRanges.set(c, r);
        converted.set(key, c);
        ops.push({
          index: 0,
          type: 'QUANTIZE',
          version: 1,
          inputs: [i],
          outputs: [c],
          attrs: { rounding: 'HALF_AWAY' },
          // Named after the op that needs it, so a message points at the user's op.
          source: { ...op.source, name: `${op.source.name} (${p} input)` },
        });
        opPrecision.push(p);
      }
      return c;
    });
    for (const o of op.outputs) if (isActivation(tensors[o])) dtype.set(o, p);
    ops.push({ ...op, inputs, outputs: [...op.outputs], attrs: { ...op.attrs } });
    opPrecision.push(p);
  }
  const graph: Graph = { ...g, tensors, ops: ops.map((o, index) => ({ ...o, index })) };
  return { graph, ranges: newRanges, dtype, opPrecision };
}
