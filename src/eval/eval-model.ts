/**
 * Loads what `tinyml eval` compares: the float model, the int8 model (given, or quantized on
 * the fly from calibration data), the evaluation samples and labels; then evaluates.
 */
import { UsageError } from '../errors.ts';
import { loadModel } from '../formats/load.ts';
import { loadSamples } from '../quantize/calib-data.ts';
import type { Calibrator } from '../quantize/calibrate.ts';
import { checkFloatModel, quantizeFloatGraph, quantizedActivation, DEFAULT_QUANTIZE_OPTIONS } from '../quantize/convert.ts';
import { floatEngine, int8ReferenceEngine } from './engines.ts';
import { DEFAULT_EVAL_OPTIONS, evaluate, type EvalReport } from './eval.ts';
import { loadLabels } from './labels.ts';

export interface EvalModelOptions {
  data: string;
  labels?: string;
  quantized?: string;
  calib?: string;
  calibrator?: Calibrator;
  maxSamples?: number;
  layerSamples?: number;
  snrThresholdDb?: number;
}

export interface EvalModelReport extends EvalReport {
  model: string;
  data: string;
  /** How the int8 model came to be: a file, or quantized here from calibration data. */
  int8: { source: 'file'; path: string } | { source: 'quantized'; calib: string; calibrator: Calibrator; samples: number };
}

export function evalModel(model: string, opts: EvalModelOptions): EvalModelReport {
  const g = loadModel(model);
  checkFloatModel(g, model);
  const data = loadSamples(opts.data, g, { limit: opts.maxSamples });
  let labels: number[] | undefined;
  if (opts.labels) {
    labels = loadLabels(opts.labels);
    // Labels for the samples actually evaluated (--max-samples keeps the first N).
    if (labels.length > data.samples.length) labels = labels.slice(0, data.samples.length);
  }
  let int8Graph;
  let int8: EvalModelReport['int8'];
  if (opts.quantized) {
    int8Graph = loadModel(opts.quantized);
    if (!quantizedActivation(int8Graph)) {
      throw new UsageError(`--quantized ${opts.quantized} is a float model: pass the int8 model (from tinyml convert) or use --calib to quantize here`);
    }
    int8 = { source: 'file', path: opts.quantized };
  } else if (opts.calib) {
    const calibrator = opts.calibrator ?? DEFAULT_QUANTIZE_OPTIONS.calibrator;
    const calib = loadSamples(opts.calib, g);
    const r = quantizeFloatGraph(g, calib, { ...DEFAULT_QUANTIZE_OPTIONS, calibrator });
    int8Graph = r.graph;
    int8 = { source: 'quantized', calib: opts.calib, calibrator, samples: r.samples };
  } else {
    throw new UsageError('eval needs an int8 model to compare: pass --quantized <int8 .tflite> or --calib <data> to quantize the float model here');
  }
  const engines = [floatEngine(model, g), int8ReferenceEngine(opts.quantized ?? `${model} (quantized here)`, int8Graph)];
  const report = evaluate(engines, data, {
    snrThresholdDb: opts.snrThresholdDb ?? DEFAULT_EVAL_OPTIONS.snrThresholdDb,
    layerSamples: opts.layerSamples ?? DEFAULT_EVAL_OPTIONS.layerSamples,
    labels,
  });
  return { model, data: opts.data, int8, ...report };
}
