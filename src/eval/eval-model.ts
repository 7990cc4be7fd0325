/**
 * Loads what `tinyml eval` compares: the float model, the int8 model (given, or quantized on
 * the fly from calibration data), the evaluation samples and labels; then evaluates.
 */
import { UsageError } from '../errors.ts';
import { loadModel } from '../formats/load.ts';
import { loadModelFile, type LoadedModel } from '../load/model.ts';
import { progress } from '../progress.ts';
import type { Graph } from '../ir/graph.ts';
import { int8Runner } from '../quantize/engines.ts';
import { emulatedBoard } from '../run/run.ts';
import { compareWithReference, DEFAULT_DEVICE_SAMPLES, runSamplesOnEmulator, type DeviceComparison } from './device.ts';
import { ErrorAccumulator, argmax } from './metrics.ts';
import { loadSamples } from '../quantize/calib-data.ts';
import type { Calibrator } from '../quantize/calibrate.ts';
import { checkFloatModel, quantizeFloatGraph, quantizedActivation, DEFAULT_QUANTIZE_OPTIONS } from '../quantize/convert.ts';
import { feed, floatEngine, int8ReferenceEngine, realOf, type Engine } from './engines.ts';
import { DEFAULT_EVAL_OPTIONS, evaluate, type EvalReport } from './eval.ts';
import { loadLabels } from './labels.ts';
import type { Runtime } from '../arduino/tflm-emulated.ts';

export interface EvalModelOptions {
  data: string;
  labels?: string;
  quantized?: string;
  calib?: string;
  calibrator?: Calibrator;
  maxSamples?: number;
  layerSamples?: number;
  snrThresholdDb?: number;
  /** An emulated board: the int8 model's firmware runs there as a third column. */
  device?: string;
  /** Samples run on the device (the first N); default DEFAULT_DEVICE_SAMPLES. */
  deviceSamples?: number;
  /** What the device runs: tinyml's native C (default) or TFLite Micro, and --tflm-lib. */
  runtime?: Runtime;
  tflmLib?: string;
}

/** The device column: the int8 model's firmware on an emulated board vs the TS int8 reference. */
export interface DeviceColumnReport {
  /** Column id, 'device:<board>' ('device:<board>:tflm' for TFLite Micro). */
  id: string;
  board: string;
  /** 'QEMU' or 'Renode'. */
  emulator: string;
  runtime: Runtime;
  machine: string;
  /** Samples run on the device (the first ones), out of `of` evaluated. */
  samples: number;
  of: number;
  builds: number;
  buildMs: number;
  emulatorMs: number;
  /** Exact comparison of raw output integers with the int8 reference on those samples. */
  vsInt8Reference: DeviceComparison;
}

export interface EvalModelReport extends EvalReport {
  model: string;
  data: string;
  /** How the int8 model came to be: a file, or quantized here from calibration data. */
  int8: { source: 'file'; path: string } | { source: 'quantized'; calib: string; calibrator: Calibrator; samples: number };
  /** Present with --device. */
  device?: DeviceColumnReport;
}

export async function evalModel(model: string, opts: EvalModelOptions): Promise<EvalModelReport> {
  if (opts.device !== undefined) emulatedBoard(opts.device); // a wrong board fails before any work
  if (opts.device === undefined && (opts.runtime !== undefined || opts.tflmLib !== undefined)) {
    throw new UsageError('--runtime and --tflm-lib choose what the --device firmware runs: add --device <board>, or drop them');
  }
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
  let int8File: LoadedModel | undefined;
  let int8: EvalModelReport['int8'];
  if (opts.quantized) {
    int8File = loadModelFile(opts.quantized);
    int8Graph = int8File.graph;
    if (!quantizedActivation(int8Graph)) {
      throw new UsageError(`--quantized ${opts.quantized} is a float model: pass the int8 model (from tinyml convert) or use --calib to quantize here`);
    }
    int8 = { source: 'file', path: opts.quantized };
  } else if (opts.calib) {
    const calibrator = opts.calibrator ?? DEFAULT_QUANTIZE_OPTIONS.calibrator;
    const calib = loadSamples(opts.calib, g);
    // The TFLM runtime's FULLY_CONNECTED is per-tensor only (src/arduino/tflm-ops.ts).
    const r = quantizeFloatGraph(g, calib, { ...DEFAULT_QUANTIZE_OPTIONS, calibrator, fcPerChannel: opts.runtime !== 'tflm' });
    int8Graph = r.graph;
    int8 = { source: 'quantized', calib: opts.calib, calibrator, samples: r.samples };
  } else {
    throw new UsageError('eval needs an int8 model to compare: pass --quantized <int8 .tflite> or --calib <data> to quantize the float model here');
  }
  const int8Name = opts.quantized ?? `${model} (quantized here)`;
  const engines = [floatEngine(model, g), int8ReferenceEngine(int8Name, int8Graph)];
  const report: EvalModelReport = {
    model,
    data: opts.data,
    int8,
    ...evaluate(engines, data, {
      snrThresholdDb: opts.snrThresholdDb ?? DEFAULT_EVAL_OPTIONS.snrThresholdDb,
      layerSamples: opts.layerSamples ?? DEFAULT_EVAL_OPTIONS.layerSamples,
      labels,
      onSample: (done, total) => progress({ stage: 'evaluating float vs int8', done, total }),
    }),
  };
  if (opts.device !== undefined) {
    const modelBytes = int8File?.bytes;
    await addDeviceColumn(report, engines[0]!, int8Graph, int8Name, data.samples.slice(0, opts.deviceSamples ?? DEFAULT_DEVICE_SAMPLES), opts.device, modelBytes, labels, { runtime: opts.runtime ?? 'native', tflmLib: opts.tflmLib });
  }
  return report;
}

/**
 * Runs the first samples on the emulated board and adds the device as a third column: its
 * outputs compared exactly with the int8 reference (vsInt8Reference) and, dequantized, with
 * float like the other candidates (outputs[].engines['device:<board>'], over its samples).
 */
async function addDeviceColumn(
  report: EvalModelReport,
  float: Engine,
  int8Graph: Graph,
  int8Name: string,
  samples: Float32Array[][],
  board: string,
  modelBytes: Uint8Array | undefined,
  labels: number[] | undefined,
  target: { runtime: Runtime; tflmLib?: string },
): Promise<void> {
  const runInt8 = int8Runner(int8Graph);
  const fed = samples.map((s) => feed(int8Graph, s, int8Name));
  const reference = fed.map((inputs) => runInt8(inputs, false).outputs);
  const runs = await runSamplesOnEmulator(int8Graph, fed, board, modelBytes, undefined, target);
  const id = target.runtime === 'tflm' ? `device:${board}:tflm` : `device:${board}`;

  const outTensors = int8Graph.outputs.map((o) => o.tensor);
  const acc = outTensors.map(() => new ErrorAccumulator());
  const agree = outTensors.map(() => 0);
  let correct = 0;
  samples.forEach((s, k) => {
    const f = float.run(s, false).outputs;
    runs.outputs[k]!.forEach((v, j) => {
      const real = realOf(v, int8Graph, outTensors[j]!);
      acc[j]!.add(f[j]!, real);
      if (argmax(real) === argmax(f[j]!)) agree[j]!++;
      if (j === 0 && labels && argmax(real) === labels[k]) correct++;
    });
  });
  // Accuracy of output 0 against the labels, over the samples the device ran (the first ones).
  if (report.accuracy && samples.length > 0) report.accuracy[id] = correct / samples.length;
  report.outputs.forEach((o, j) => {
    if (acc[j]) o.engines[id] = { ...acc[j]!.result(), top1Agreement: samples.length ? agree[j]! / samples.length : 0 };
  });
  report.columns.push({ id, model: `${int8Name} on ${board}${target.runtime === 'tflm' ? ' with TensorFlow Lite Micro' : ''} (${runs.machine} in ${runs.emulator})`, role: 'device' });
  report.device = {
    id,
    board,
    emulator: runs.emulator,
    runtime: target.runtime,
    machine: runs.machine,
    samples: samples.length,
    of: report.samples,
    builds: runs.builds,
    buildMs: runs.buildMs,
    emulatorMs: runs.emulatorMs,
    vsInt8Reference: compareWithReference(reference, runs.outputs),
  };
}
