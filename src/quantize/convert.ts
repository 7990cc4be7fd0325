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
import { int8Refusal, runtimeParameterRefusal, tfliteFormRefusal } from './onnx-refusal.ts';
import { runPasses } from './passes/index.ts';
import { rewritableQOperator } from './passes/qoperator.ts';
import { dynamicChainOps } from './passes/dynamic-quant.ts';
import { quantizeGraph, activationParams, type IoType, type WidenedWeights } from './quantize-graph.ts';
import type { ActivationType } from './precision.ts';
import type { Range } from './params.ts';
import { floatEngine, int8ReferenceEngine } from '../eval/engines.ts';
import { evaluate } from '../eval/eval.ts';
import { measureQuality, type QualityReport } from './quality.ts';
import { constantInputs, mixedTargetWarning, rangeWarnings, sampleCountWarning, widenedWarnings, type QuantizeWarning } from './warnings.ts';

/** Progress of a long step: `done` of `total` units of `stage` (the CLI draws a bar on a TTY). */
export type ProgressFn = (p: { stage: string; done: number; total: number }) => void;
import { expressPadding } from './tflite-padding.ts';

export interface QuantizeOptions {
  calibrator: Calibrator;
  io?: IoType;
  fcPerChannel: boolean;
  /** Op kinds whose weights are quantized per-tensor (see quantize-graph.ts). */
  perTensorOps?: readonly string[];
  percentile?: number;
  /**
   * Activation precision: int8 (default), int16 (16x8), or mixed: int8 with the ops whose
   * int8 output falls below `int16SnrDb` (per-layer SNR against float on the calibration set)
   * kept in int16, converted by QUANTIZE ops where the precision changes.
   */
  activations?: ActivationType | 'mixed';
  /** Mixed mode: per-layer SNR threshold in dB (default MIXED_SNR_DB). */
  int16SnrDb?: number;
  onProgress?: ProgressFn;
}

/** Mixed precision: layers below this SNR (dB, int8 vs float) are moved to int16. */
export const MIXED_SNR_DB = 30;

/** An op that mixed precision moved to int16, and the SNR its int8 form had. */
export interface Int16Choice {
  op: number;
  opType: string;
  node: string;
  tensor: string;
  int8SnrDb: number;
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
  /** Mixed precision: the ops kept in int16 (empty otherwise). */
  int16Ops: Int16Choice[];
  /** What the user must know about this quantization (src/quantize/warnings.ts). */
  warnings: QuantizeWarning[];
}

/** Non-constant integer tensors read or written by compute ops: the model is already quantized. */
export function quantizedActivation(g: Graph): string | undefined {
  for (const gi of g.inputs) {
    const t = g.tensors[gi.tensor]!;
    if (t.dtype === 'int8' || t.dtype === 'uint8' || t.dtype === 'int16') return `input '${t.name}' is ${t.dtype}`;
  }
  // onnxruntime dynamic quantization chains become float ops (passes/dynamic-quant.ts).
  const dynamic = dynamicChainOps(g);
  for (const op of g.ops) {
    // QOperator ops with constant weights are rewritten to QDQ (passes/qoperator.ts); others are not.
    if (rewritableQOperator(g, op) || dynamic.has(op)) continue;
    if (op.type === 'QLINEAR_CONV' || op.type === 'QLINEAR_MATMUL' || op.type === 'CONV_INTEGER' || op.type === 'MATMUL_INTEGER') return `${op.source.opType} '${op.source.name}' computes on integers`;
  }
  for (const op of g.ops) {
    if (op.type === 'QUANTIZE' || op.type === 'DEQUANTIZE' || rewritableQOperator(g, op) || dynamic.has(op)) continue;
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
    // A quantized .tflite runs as it is; a quantized ONNX model runs in the float engine only
    // (its integer ops have no TFLite int8 form), so the fix is the float model it came from.
    const fix = g.format === 'onnx'
      ? 'give convert the float ONNX model it was quantized from (tinyml infer --engine float runs this one)'
      : 'use this model as it is (tinyml build/eval take it directly)';
    throw new UnsupportedError(`${name} is already quantized (${why}): convert quantizes float models only; ${fix}`);
  }
}

/** Every op must have an int8 kernel; names the first one that does not. */
export function checkInt8Support(g: Graph): void {
  // Parameters fed at run time first: they also explain the layout ops they bring along.
  for (const op of g.ops) {
    const runtime = runtimeParameterRefusal(g, op) ?? tfliteFormRefusal(op);
    if (runtime) throw new UnsupportedError(runtime);
  }
  const supported = int8OpSet();
  for (const op of g.ops) {
    if (!supported.has(op.type)) throw new UnsupportedError(int8Refusal(op));
  }
}

/** What can be refused without data: the model is float and every op has an int8 form. */
export function checkQuantizable(g: Graph, name: string): void {
  checkFloatModel(g, name);
  checkInt8Support(runPasses(g).graph);
  for (const gi of g.inputs) {
    const t = g.tensors[gi.tensor]!;
    if (t.dtype !== 'float32') {
      throw new UnsupportedError(`${name}: input '${t.name}' is ${t.dtype}: convert quantizes models whose inputs are float32 (real values it calibrates); keep this model as it is`);
    }
  }
}

/** Quantizes a float graph with samples already loaded. */
export function quantizeFloatGraph(g: Graph, samples: SampleSet, opts: QuantizeOptions): QuantizeResult {
  checkFloatModel(g, g.meta.name ? String(g.meta.name) : 'the model');
  const { graph: prepared, log } = runPasses(g);
  checkInt8Support(prepared);
  const cal = calibrate(prepared, samples, { calibrator: opts.calibrator, percentile: opts.percentile, onProgress: opts.onProgress });
  const base = { io: opts.io, fcPerChannel: opts.fcPerChannel, perTensorOps: opts.perTensorOps };
  const mixed = opts.activations === 'mixed' ? chooseInt16Ops(prepared, cal.ranges, samples, base, opts.int16SnrDb ?? MIXED_SNR_DB, opts.onProgress) : null;
  const int16Ops = mixed?.chosen ?? [];
  const activations = opts.activations === 'int16' ? 'int16' : 'int8';
  const quantized = quantizeGraph(prepared, cal.ranges, { ...base, activations, int16Ops: new Set(int16Ops.map((c) => c.op)) });
  const widened = quantized.widened;
  // Pads TFLite has no SAME/VALID for become PAD/PADV2 + a VALID op, as the TFLite converter writes them.
  const padded = expressPadding(quantized.graph);
  const graph = padded.graph;
  log.push(...padded.log);
  checkInt8Support(graph);
  // The int8 executor's Prepare step checks every op's int8 configuration (dtypes, params,
  // attributes such as grouped convolutions) and names the op it cannot run: fail here, before
  // a file is written, rather than on the device.
  int8Runner(graph);
  const warnings = [
    ...constantInputs(samples),
    ...sampleCountWarning(cal.samples, opts.calibrator),
    ...rangeWarnings(prepared, cal, opts.calibrator),
    ...widenedWarnings(widened),
    ...(mixed?.missed ? [mixedTargetWarning(mixed.missed, opts.int16SnrDb ?? MIXED_SNR_DB, base.io)] : []),
  ];
  return { graph, prepared, passes: log, samples: cal.samples, widened, int16Ops, warnings };
}

/** Samples the mixed-precision search measures per-layer SNR on (bounded: it quantizes and runs once per chosen op). */
const MIXED_SEARCH_SAMPLES = 32;

/**
 * Mixed precision: quantize in int8, find the first layer (in execution order) whose SNR
 * against float falls below `thresholdDb` and that is not int16 yet, move its op to int16, and
 * repeat. When every layer under the target is int16 already, the error comes from the int8
 * layers before them (errors propagate forward): the earliest int8 op before the last layer
 * under the target moves next. Per-layer SNR is measured like `tinyml eval` (tensor names).
 * `missed` is the worst layer when the target is still not met with nothing left to move.
 */
function chooseInt16Ops(
  prepared: Graph,
  ranges: Map<number, Range>,
  samples: SampleSet,
  base: { io?: IoType; fcPerChannel: boolean; perTensorOps?: readonly string[] },
  thresholdDb: number,
  onProgress?: ProgressFn,
): { chosen: Int16Choice[]; missed: { tensor: string; snrDb: number } | null } {
  const producer = new Map<string, number>();
  for (const op of prepared.ops) for (const o of op.outputs) producer.set(prepared.tensors[o]!.name, op.index);
  const subset: SampleSet = { ...samples, samples: samples.samples.slice(0, MIXED_SEARCH_SAMPLES) };
  const chosen: Int16Choice[] = [];
  const isChosen = (op: number) => chosen.some((c) => c.op === op);
  for (let round = 0; round <= prepared.ops.length; round++) {
    onProgress?.({ stage: 'choosing int16 layers', done: Math.min(round, prepared.ops.length), total: prepared.ops.length });
    const { graph } = quantizeGraph(prepared, ranges, { ...base, activations: 'int8', int16Ops: new Set(chosen.map((c) => c.op)) });
    const report = evaluate([floatEngine('float', prepared), int8ReferenceEngine('int8', graph)], subset, {
      snrThresholdDb: thresholdDb,
      layerSamples: subset.samples.length,
    });
    const snr = (r: (typeof report.layers.rows)[number]) => r.engines['int8-reference']?.snrDb ?? Infinity;
    const rows = report.layers.rows.filter((r) => producer.has(r.referenceTensor));
    const below = rows.filter((r) => snr(r) < thresholdDb);
    if (below.length === 0) return { chosen, missed: null };
    const lastBelow = Math.max(...below.map((r) => producer.get(r.referenceTensor)!));
    const next =
      below.find((r) => !isChosen(producer.get(r.referenceTensor)!)) ??
      rows.find((r) => producer.get(r.referenceTensor)! < lastBelow && !isChosen(producer.get(r.referenceTensor)!));
    if (!next) {
      const worst = below.reduce((a, b) => (snr(b) < snr(a) ? b : a));
      return { chosen, missed: { tensor: worst.referenceTensor, snrDb: snr(worst) } };
    }
    const op = prepared.ops[producer.get(next.referenceTensor)!]!;
    chosen.push({ op: op.index, opType: op.type, node: op.source.name, tensor: next.referenceTensor, int8SnrDb: snr(next) });
  }
  return { chosen, missed: null };
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
  /** Edge type asked for; null: each edge in its activation type. */
  io: IoType | null;
  /** Activation precision asked for. */
  activations: ActivationType | 'mixed';
  /** Mixed precision: the ops kept in int16. */
  int16Ops: Int16Choice[];
  passes: string[];
  ops: number;
  quantized: { activations: number; activationsInt16: number; weights: number; biases: number; fixedBySpec: number; fromQdq: number };
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
  checkQuantizable(g, model);
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
    else if ((t.dtype === 'int32' || t.dtype === 'int64') && t.quant) weightRoles.biases++;
  }
  const origins = [...params.values()];
  return {
    model,
    output,
    calibration: { source: samples.source, samples: r.samples, calibrator: opts.calibrator },
    io: opts.io ?? null,
    activations: opts.activations ?? 'int8',
    int16Ops: r.int16Ops,
    passes: r.passes,
    ops: q.ops.length,
    quantized: {
      activations: q.tensors.filter((t) => !isConstant(t) && t.dtype === 'int8').length,
      activationsInt16: q.tensors.filter((t) => !isConstant(t) && !t.variable && t.dtype === 'int16').length,
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
