/**
 * Int8 reference inference time of the MLPerf Tiny KWS model (DS-CNN, TFLite Micro golden
 * case_0 input): median of N runs after warm-up, prepare time separately. Also checks the
 * output against the golden bytes so a fast-but-wrong executor cannot post a number.
 *
 *   node bin/run-ts.js bench/reference-int8.ts [runs]
 *
 * Writes bench/results/reference-int8.json.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { importTflite } from '../src/formats/tflite/import.ts';
import { prepareInt8 } from '../src/reference/int8/index.ts';

const ROOT = resolve(import.meta.dirname, '..');
const SHARED = resolve(ROOT, '../shared');
const MODEL = 'models/mlperf-tiny/kws/kws_ref_model.tflite';
const CASE = join(SHARED, 'golden/mlperf-tiny-kws/case_0');
const runs = Number(process.argv[2] ?? 50);
const warmup = 5;

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

const graph = importTflite(new Uint8Array(readFileSync(join(SHARED, MODEL))), MODEL);
const input = new Int8Array(new Uint8Array(readFileSync(join(CASE, 'input_0.bin'))).buffer);
const golden = new Int8Array(new Uint8Array(readFileSync(join(CASE, 'output_0.bin'))).buffer);

const t0 = performance.now();
const program = prepareInt8(graph);
const prepareMs = performance.now() - t0;

const times: number[] = [];
let output: Int8Array | undefined;
for (let i = 0; i < warmup + runs; i++) {
  program.resetState();
  const start = performance.now();
  const result = program.run([{ dtype: 'int8', shape: [1, 49, 10, 1], data: input }]);
  const ms = performance.now() - start;
  if (i >= warmup) times.push(ms);
  output = result.outputs[0]!.data as Int8Array;
}
const exact = output !== undefined && output.length === golden.length && output.every((v, k) => v === golden[k]);
if (!exact) {
  console.error('reference-int8: KWS output differs from the TFLite Micro golden output; not recording a time');
  process.exit(1);
}

// Multiply-accumulates of the convolutions and the dense layer, from the graph shapes.
let macs = 0;
for (const op of graph.ops) {
  const out = graph.tensors[op.outputs[0]!]!;
  const w = graph.tensors[op.inputs[1] ?? -1];
  const outElems = out.shape.reduce((a, b) => a * b, 1);
  if (op.type === 'CONV_2D' && w) macs += outElems * w.shape[1]! * w.shape[2]! * w.shape[3]!;
  else if (op.type === 'DEPTHWISE_CONV_2D' && w) macs += outElems * w.shape[1]! * w.shape[2]!;
  else if (op.type === 'FULLY_CONNECTED' && w) macs += outElems * w.shape[1]!;
}

const medianMs = median(times);
const result = {
  benchmark: 'int8 reference inference, MLPerf Tiny KWS (DS-CNN)',
  model: MODEL,
  input: 'golden/mlperf-tiny-kws/case_0/input_0.bin',
  output_matches_tflm_golden: exact,
  runs,
  warmup_runs: warmup,
  prepare_ms: Number(prepareMs.toFixed(3)),
  median_ms: Number(medianMs.toFixed(3)),
  min_ms: Number(Math.min(...times).toFixed(3)),
  max_ms: Number(Math.max(...times).toFixed(3)),
  macs,
  mmacs_per_s: Number((macs / (medianMs / 1000) / 1e6).toFixed(1)),
  node: process.version,
  cpu: cpus()[0]?.model ?? 'unknown',
  cpu_count: cpus().length,
  // Other processes inflate the median; the load average says how busy the machine was.
  load_average_1m: Number(loadavg()[0]!.toFixed(2)),
  date: new Date().toISOString(),
};
const outPath = join(ROOT, 'bench/results/reference-int8.json');
mkdirSync(dirname(outPath), { recursive: true });
writeFileSync(outPath, JSON.stringify(result, null, 2) + '\n');
console.log(`int8 reference KWS: median ${result.median_ms} ms over ${runs} runs (${result.mmacs_per_s} MMAC/s), prepare ${result.prepare_ms} ms -> ${outPath}`);
