/**
 * `tinyml eval`: runs the same inputs through several engines (columns) and reports how far
 * each one is from the first (the float model): top-1 agreement, accuracy when labels are
 * given, max abs error, RMSE and SNR per output, and the same per layer with the first layer
 * whose SNR falls below a threshold ("where it first diverges").
 *
 * Layers are matched by tensor name (convert keeps the float names; `_int8` suffixes are
 * ignored), and when names do not match (an int8 model made by another tool) by position
 * among ops of the same types.
 */
import type { Graph } from '../ir/graph.ts';
import { DataError } from '../errors.ts';
import type { SampleSet } from '../quantize/calib-data.ts';
import { activationOf } from '../quantize/passes/fuse-activation.ts';
import type { Engine } from './engines.ts';
import { argmax, ErrorAccumulator, type ErrorMetrics } from './metrics.ts';

export interface EvalOptions {
  /** Per-layer SNR below this (dB) marks where a candidate first diverges. */
  snrThresholdDb: number;
  /** Per-layer statistics use the first N samples (outputs always use all). */
  layerSamples: number;
  labels?: number[];
  /** Called after each sample (progress). */
  onSample?: (done: number, total: number) => void;
}

export const DEFAULT_EVAL_OPTIONS: EvalOptions = { snrThresholdDb: 20, layerSamples: 200 };

export interface Column {
  id: string;
  model: string;
  /** 'device': an emulated board running the int8 model's firmware on the first samples only. */
  role: 'reference' | 'candidate' | 'device';
}

export interface OutputMetrics extends ErrorMetrics {
  /** Fraction of samples whose argmax equals the reference's (classifier outputs). */
  top1Agreement: number;
}

export interface OutputReport {
  name: string;
  shape: number[];
  /** Keyed by candidate column id. */
  engines: Record<string, OutputMetrics>;
}

export interface LayerReport {
  /** Tensor name in the candidate graph, and in the reference graph. */
  tensor: string;
  referenceTensor: string;
  op: string;
  opIndex: number;
  engines: Record<string, ErrorMetrics>;
}

export interface Divergence {
  tensor: string;
  op: string;
  opIndex: number;
  snrDb: number;
}

export interface EvalReport {
  samples: number;
  columns: Column[];
  /** Top-1 accuracy of output 0 per column, when labels were given. */
  accuracy: Record<string, number> | null;
  outputs: OutputReport[];
  layers: {
    samples: number;
    snrThresholdDb: number;
    rows: LayerReport[];
    /** Per candidate column: the first layer below the threshold, or null. */
    firstDivergence: Record<string, Divergence | null>;
  };
}

interface LayerPair {
  tensor: string;
  referenceTensor: string;
  op: string;
  opIndex: number;
}

const EDGE_OPS = new Set(['QUANTIZE', 'DEQUANTIZE']);
const stripSuffix = (n: string): string => n.replace(/_int(8|16)$/, '');

/** Candidate op outputs paired with reference tensors, in the candidate's execution order. */
export function matchLayers(ref: Graph, cand: Graph): LayerPair[] {
  const refNames = new Set(ref.tensors.filter((t) => !t.data).map((t) => t.name));
  const compute = cand.ops.filter((o) => !EDGE_OPS.has(o.type));
  const byName: LayerPair[] = [];
  for (const op of compute) {
    const t = cand.tensors[op.outputs[0]!]!;
    const name = refNames.has(t.name) ? t.name : refNames.has(stripSuffix(t.name)) ? stripSuffix(t.name) : undefined;
    if (name !== undefined) byName.push({ tensor: t.name, referenceTensor: name, op: op.type, opIndex: op.index });
  }
  if (byName.length * 2 >= compute.length) return byName;
  // Names differ: pair ops of the same types in order, skipping standalone activations the
  // int8 graph fused and edge QUANTIZE/DEQUANTIZE.
  const refCompute = ref.ops.filter((o) => !EDGE_OPS.has(o.type) && !activationOf(o, ref));
  if (refCompute.length !== compute.length || refCompute.some((o, i) => o.type !== compute[i]!.type)) return byName;
  return compute.map((op, i) => {
    const r = refCompute[i]!;
    // A fused activation after the reference op writes the tensor the int8 op's output matches.
    const refOut = ref.ops.find((o) => activationOf(o, ref) && o.inputs[0] === r.outputs[0]);
    return {
      tensor: cand.tensors[op.outputs[0]!]!.name,
      referenceTensor: ref.tensors[(refOut ?? r).outputs[0]!]!.name,
      op: op.type,
      opIndex: op.index,
    };
  });
}

export function evaluate(engines: Engine[], data: SampleSet, opts: EvalOptions = DEFAULT_EVAL_OPTIONS): EvalReport {
  const [ref, ...cands] = engines;
  if (!ref) throw new Error('evaluate needs at least the reference engine');
  if (opts.labels && opts.labels.length < data.samples.length) {
    throw new DataError(`the labels hold ${opts.labels.length} entries for ${data.samples.length} samples: give one label per sample`);
  }
  const outNames = ref.graph.outputs.map((o) => ref.graph.tensors[o.tensor]!);
  const outAcc = cands.map(() => outNames.map(() => new ErrorAccumulator()));
  const agree = cands.map(() => outNames.map(() => 0));
  const correct = engines.map(() => 0);
  const pairs = cands.map((c) => matchLayers(ref.graph, c.graph));
  const layerAcc = pairs.map((list) => list.map(() => new ErrorAccumulator()));
  const layerSamples = Math.min(opts.layerSamples, data.samples.length);

  data.samples.forEach((sample, k) => {
    const keep = k < layerSamples;
    const r = ref.run(sample, keep);
    const argRef = r.outputs.map(argmax);
    if (opts.labels && argRef[0] === opts.labels[k]) correct[0]!++;
    cands.forEach((c, ci) => {
      const x = c.run(sample, keep);
      x.outputs.forEach((o, j) => {
        outAcc[ci]![j]!.add(r.outputs[j]!, o);
        if (argmax(o) === argRef[j]) agree[ci]![j]!++;
      });
      if (opts.labels && argmax(x.outputs[0]!) === opts.labels[k]) correct[ci + 1]!++;
      if (keep && r.layers && x.layers) {
        pairs[ci]!.forEach((p, li) => {
          const a = r.layers!.get(p.referenceTensor);
          const b = x.layers!.get(p.tensor);
          if (a && b && a.length === b.length) layerAcc[ci]![li]!.add(a, b);
        });
      }
    });
    opts.onSample?.(k + 1, data.samples.length);
  });

  const n = data.samples.length;
  const outputs: OutputReport[] = outNames.map((t, j) => ({
    name: t.name,
    shape: [...t.shape],
    engines: Object.fromEntries(cands.map((c, ci) => [c.id, { ...outAcc[ci]![j]!.result(), top1Agreement: agree[ci]![j]! / n }])),
  }));

  // One row per layer of the first candidate's graph; other candidates fill their column by tensor name.
  const rows: LayerReport[] = [];
  const firstDivergence: Record<string, Divergence | null> = {};
  cands.forEach((c, ci) => {
    firstDivergence[c.id] = null;
    pairs[ci]!.forEach((p, li) => {
      const m = layerAcc[ci]![li]!.result();
      if (m.count === 0) return;
      let row = rows.find((x) => x.referenceTensor === p.referenceTensor);
      if (!row) rows.push((row = { ...p, engines: {} }));
      row.engines[c.id] = m;
      if (!firstDivergence[c.id] && m.snrDb < opts.snrThresholdDb) firstDivergence[c.id] = { tensor: p.tensor, op: p.op, opIndex: p.opIndex, snrDb: m.snrDb };
    });
  });

  return {
    samples: n,
    columns: engines.map((e, i) => ({ id: e.id, model: e.model, role: i === 0 ? 'reference' : 'candidate' })),
    accuracy: opts.labels ? Object.fromEntries(engines.map((e, i) => [e.id, correct[i]! / n])) : null,
    outputs,
    layers: { samples: layerSamples, snrThresholdDb: opts.snrThresholdDb, rows, firstDivergence },
  };
}
