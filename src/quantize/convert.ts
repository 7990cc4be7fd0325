/**
 * Post-training quantization, end to end: float graph + calibration samples -> int8 graph
 * (quantizeFloatGraph, in memory) and model file -> int8 .tflite file (convertModel).
 * Everything that can be refused (an int8 model, an op without an int8 kernel, bad data) is
 * refused before anything is written.
 */
import { writeFileSync } from 'node:fs';
import { basename, dirname, extname, join } from 'node:path';
import { DataError, FileError, UnsupportedError } from '../errors.ts';
import type { Graph } from '../ir/graph.ts';
import { isConstant, tensorBytes } from '../ir/graph.ts';
import { loadModel, readModelBytes } from '../formats/load.ts';
import { writeTflite } from '../formats/tflite/write.ts';
import { loadSamples, type SampleSet } from './calib-data.ts';
import { calibrate, type Calibrator } from './calibrate.ts';
import { int8OpSet, int8Runner } from './engines.ts';
import { describeOp } from './graph-edit.ts';
import { runPasses } from './passes/index.ts';
import { quantizeGraph, activationParams, type IoType, type WidenedWeights } from './quantize-graph.ts';
import { measureQuality, type QualityReport } from './quality.ts';
import { constantInputs, rangeWarnings, sampleCountWarning, widenedWarnings, type QuantizeWarning } from './warnings.ts';

/** Progress of a long step: `done` of `total` units of `stage` (the CLI draws a bar on a TTY). */
export type ProgressFn = (p: { stage: string; done: number; total: number }) => void;

export interface QuantizeOptions {
  calibrator: Calibrator;
  io: IoType;
  fcPerChannel: boolean;
  percentile?: number;
  onProgress?: ProgressFn;
}

export const DEFAULT_QUANTIZE_OPTIONS: QuantizeOptions = { calibrator: 'minmax', io: 'int8', fcPerChannel: true };

export interface QuantizeResult {
  /** The int8 graph. */
  graph: Graph;
  /** The float graph after folding and fusion: what was calibrated. */
  prepared: Graph;
  passes: string[];
  samples: number;
  /** Weight scales widened so biases fit (also among the warnings). */
  widened: WidenedWeights[];
  /** What the user must know about this quantization (src/quantize/warnings.ts). */
  warnings: QuantizeWarning[];
}

/** Non-constant integer tensors read or written by compute ops: the model is already quantized. */
export function quantizedActivation(g: Graph): string | undefined {
  for (const gi of g.inputs) {
    const t = g.tensors[gi.tensor]!;
    if (t.dtype === 'int8' || t.dtype === 'uint8' || t.dtype === 'int16') return `input '${t.name}' is ${t.dtype}`;
  }
  for (const op of g.ops) {
    if (op.type === 'QUANTIZE' || op.type === 'DEQUANTIZE') continue;
    for (const i of [...op.inputs, ...op.outputs]) {
      if (i < 0) continue;
      const t = g.tensors[i]!;
      if (isConstant(t)) continue;
      if (t.dtype === 'int8' || t.dtype === 'uint8' || t.dtype === 'int16') return `${op.type} '${op.source.name}' computes on ${t.dtype} tensor '${t.name}'`;
    }
  }
  return undefined;
}

export function checkFloatModel(g: Graph, name: string): void {
  const why = quantizedActivation(g);
  if (why) {
    throw new UnsupportedError(`${name} is already quantized (${why}): convert quantizes float models only; use this model as it is (tinyml build/eval take it directly)`);
  }
}

/** Every op must have an int8 kernel; names the first one that does not. */
export function checkInt8Support(g: Graph): void {
  const supported = int8OpSet();
  for (const op of g.ops) {
    if (!supported.has(op.type)) {
      throw new UnsupportedError(
        `${describeOp(op)} has no int8 implementation, so the model cannot be quantized: replace or remove that op in the source model, or deploy the float model`,
      );
    }
  }
}

/** Quantizes a float graph with samples already loaded. */
export function quantizeFloatGraph(g: Graph, samples: SampleSet, opts: QuantizeOptions): QuantizeResult {
  checkFloatModel(g, g.meta.name ? String(g.meta.name) : 'the model');
  const { graph: prepared, log } = runPasses(g);
  checkInt8Support(prepared);
  const cal = calibrate(prepared, samples, { calibrator: opts.calibrator, percentile: opts.percentile, onProgress: opts.onProgress });
  const { graph, widened } = quantizeGraph(prepared, cal.ranges, { io: opts.io, fcPerChannel: opts.fcPerChannel });
  // The int8 executor's Prepare step checks every op's int8 configuration (dtypes, params,
  // attributes such as grouped convolutions) and names the op it cannot run: fail here, before
  // a file is written, rather than on the device.
  int8Runner(graph);
  const warnings = [
    ...constantInputs(samples),
    ...sampleCountWarning(cal.samples, opts.calibrator),
    ...rangeWarnings(prepared, cal, opts.calibrator),
    ...widenedWarnings(widened),
  ];
  return { graph, prepared, passes: log, samples: cal.samples, widened, warnings };
}

export interface TensorParams {
  name: string;
  dtype: string;
  shape: number[];
  scale?: number;
  zeroPoint?: number;
}

export interface ConvertSummary {
  model: string;
  output: string;
  calibration: { source: string; samples: number; calibrator: Calibrator };
  io: IoType;
  passes: string[];
  ops: number;
  quantized: { activations: number; weights: number; biases: number; fixedBySpec: number; fromQdq: number };
  inputs: TensorParams[];
  outputs: TensorParams[];
  bytes: { modelBefore: number; modelAfter: number; weightsBefore: number; weightsAfter: number };
  warnings: QuantizeWarning[];
  /** Float vs the int8 model on the calibration set or --val data; null with quality: false. */
  quality: QualityReport | null;
}

function tensorParams(g: Graph, i: number): TensorParams {
  const t = g.tensors[i]!;
  const p: TensorParams = { name: t.name, dtype: t.dtype, shape: [...t.shape] };
  if (t.quant && t.quant.scale.length === 1) {
    p.scale = t.quant.scale[0]!;
    p.zeroPoint = t.quant.zeroPoint[0]!;
  }
  return p;
}

function constBytes(g: Graph): number {
  return g.tensors.filter(isConstant).reduce((a, t) => a + tensorBytes(t), 0);
}

/** Default output path: model.onnx -> model_int8.tflite beside it. */
export function defaultOutputPath(model: string): string {
  return join(dirname(model), `${basename(model, extname(model))}_int8.tflite`);
}

export interface ConvertOptions extends QuantizeOptions {
  output?: string;
  limit?: number;
  /** Any warning is an error (exit 8) and nothing is written. */
  strict?: boolean;
  /** Data for the quality pass instead of the calibration set. */
  val?: string;
  /** Run the quality pass (default true). */
  quality?: boolean;
}

/** Loads, quantizes and writes; returns the summary `tinyml convert` prints. */
export function convertModel(model: string, calib: string, opts: ConvertOptions): ConvertSummary {
  const before = readModelBytes(model).length;
  const g = loadModel(model);
  checkFloatModel(g, model);
  const samples = loadSamples(calib, g, { limit: opts.limit });
  const val = opts.val !== undefined ? loadSamples(opts.val, g) : undefined;
  const r = quantizeFloatGraph(g, samples, opts);
  if (opts.strict && r.warnings.length > 0) {
    const first = r.warnings[0]!;
    throw new DataError(
      `--strict: ${first.message}${r.warnings.length > 1 ? ` (and ${r.warnings.length - 1} more warning${r.warnings.length > 2 ? 's' : ''})` : ''}; nothing was written`,
    );
  }
  const bytes = writeTflite(r.graph);
  const output = opts.output ?? defaultOutputPath(model);
  try {
    writeFileSync(output, bytes);
  } catch (e) {
    throw new FileError(`cannot write ${output} (${(e as NodeJS.ErrnoException).code ?? 'error'}): check that its folder exists and is writable`);
  }
  const params = activationParams(r.prepared, new Map());
  const q = r.graph;
  const weightRoles = { weights: 0, biases: 0 };
  for (const t of q.tensors) {
    if (!isConstant(t)) continue;
    if (t.dtype === 'int8') weightRoles.weights++;
    else if (t.dtype === 'int32' && t.quant) weightRoles.biases++;
  }
  const origins = [...params.values()];
  return {
    model,
    output,
    calibration: { source: samples.source, samples: r.samples, calibrator: opts.calibrator },
    io: opts.io,
    passes: r.passes,
    ops: q.ops.length,
    quantized: {
      activations: q.tensors.filter((t) => !isConstant(t) && t.dtype === 'int8').length,
      weights: weightRoles.weights,
      biases: weightRoles.biases,
      fixedBySpec: origins.filter((p) => p.origin === 'fixed').length,
      fromQdq: origins.filter((p) => p.origin === 'qdq').length,
    },
    inputs: q.inputs.map((i) => tensorParams(q, i.tensor)),
    outputs: q.outputs.map((o) => tensorParams(q, o.tensor)),
    bytes: { modelBefore: before, modelAfter: bytes.length, weightsBefore: constBytes(g), weightsAfter: constBytes(q) },
    warnings: r.warnings,
    quality: opts.quality === false ? null : measureQuality(g, q, val ?? samples, opts.val ?? 'calibration', opts.onProgress),
  };
}
