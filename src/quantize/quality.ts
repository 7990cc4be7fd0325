/**
 * The quality pass of `tinyml convert`: the float model and the int8 model just written (run by
 * the int8 reference executor, the oracle of every backend) on the same samples — the calibration
 * set, or --val data — compared with `tinyml eval`'s metrics: top-1 agreement for classifier
 * outputs, SNR and max error per output, and the layers with the worst SNR (eval's per-layer
 * matching by tensor name).
 */
import type { Graph } from '../ir/graph.ts';
import { elementCount } from '../ir/graph.ts';
import { floatEngine, int8ReferenceEngine } from '../eval/engines.ts';
import { evaluate } from '../eval/eval.ts';
import type { SampleSet } from './calib-data.ts';

export interface OutputQuality {
  name: string;
  shape: number[];
  /** Fraction of samples whose argmax agrees with float; null when the output is not a class vector. */
  top1Agreement: number | null;
  snrDb: number;
  maxAbsError: number;
}

export interface LayerQuality {
  tensor: string;
  op: string;
  opIndex: number;
  snrDb: number;
}

export interface QualityReport {
  /** What the samples were: 'calibration' or the --val path. */
  data: string;
  samples: number;
  outputs: OutputQuality[];
  /** The (up to) three layers with the lowest SNR, worst first. */
  worstLayers: LayerQuality[];
}

/** Samples used for per-layer SNR (outputs use all): bounded so the pass stays quick. */
export const QUALITY_LAYER_SAMPLES = 50;

/** A class-score vector: one axis of at least 2 values, the others 1 (e.g. [1, 10]). */
function isClassVector(shape: readonly number[]): boolean {
  const big = shape.filter((d) => d > 1);
  return big.length === 1 && elementCount(shape) >= 2;
}

export function measureQuality(
  float: Graph,
  int8: Graph,
  data: SampleSet,
  dataName: string,
  onProgress?: (p: { stage: string; done: number; total: number }) => void,
): QualityReport {
  const engines = [floatEngine('float', float), int8ReferenceEngine('int8', int8)];
  const report = evaluate(engines, data, { snrThresholdDb: 0, layerSamples: QUALITY_LAYER_SAMPLES, onSample: onProgress ? (done, total) => onProgress({ stage: 'measuring int8 quality', done, total }) : undefined });
  const outputs = report.outputs.map((o): OutputQuality => {
    const m = o.engines['int8-reference']!;
    return { name: o.name, shape: o.shape, top1Agreement: isClassVector(o.shape) ? m.top1Agreement : null, snrDb: m.snrDb, maxAbsError: m.maxAbsError };
  });
  const layers = report.layers.rows
    .map((r) => ({ tensor: r.tensor, op: r.op, opIndex: r.opIndex, snrDb: r.engines['int8-reference']?.snrDb ?? Infinity }))
    .filter((l) => l.snrDb !== Infinity) // identical layers are not worth listing
    .sort((a, b) => a.snrDb - b.snrDb)
    .slice(0, 3);
  return { data: dataName, samples: report.samples, outputs, worstLayers: layers };
}
