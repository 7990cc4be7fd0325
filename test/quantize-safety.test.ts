/**
 * Quantization never gives a silent wrong answer: a bias that would saturate its int32 widens
 * its channel's weight scale (and says so), calibration data that cannot be right is warned
 * about (exit 8 with --strict, nothing written), the entropy calibrator clips outliers, and
 * convert reports how close the int8 model is to the float one.
 *
 * ../shared/cases/08-bias-overflow-bn-fold (a nearly dead BatchNorm channel folded into a
 * conv): the int8 model is within 2 output LSB of onnxruntime on the int8 reference, the native
 * C (host) and the emulated Cortex-M4, which are bit-identical to each other.
 */
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildHostRunner, runHostRunner } from '../src/build/host.ts';
import { encodeNpy } from '../src/data/npy.ts';
import { ExitCode } from '../src/errors.ts';
import { feed, realOf } from '../src/eval/engines.ts';
import { loadModel } from '../src/formats/load.ts';
import type { Graph, Tensor } from '../src/ir/graph.ts';
import { runFloat } from '../src/reference/float/index.ts';
import { runInt8 } from '../src/reference/int8/index.ts';
import type { TensorValue } from '../src/reference/tensor-value.ts';
import { inferOnEmulator } from '../src/run/emulator-engine.ts';
import { loadSamples, type SampleSet } from '../src/quantize/calib-data.ts';
import { entropyRange } from '../src/quantize/calibrate.ts';
import { quantizeFloatGraph } from '../src/quantize/convert.ts';
import { BIAS_LIMIT, fitWeightScalesToBias } from '../src/quantize/params.ts';
import { runCli } from './helpers/cli.ts';
import { sharedPath } from './helpers/shared.ts';

process.env['TINYML_CACHE_DIR'] = mkdtempSync(join(tmpdir(), 'tinyml-qsafety-cache-'));

const CASE_08 = sharedPath('cases/08-bias-overflow-bn-fold');
const OPTS = { calibrator: 'minmax', io: 'int8', fcPerChannel: true } as const;

function bytesOf(v: TensorValue): Uint8Array {
  return new Uint8Array(v.data.buffer, v.data.byteOffset, v.data.byteLength);
}

/** onnxruntime's output ({dims, data}, NCHW) as NHWC, the IR layout of the int8 model. */
function ortNhwc(dir: string): Float32Array {
  const [o] = JSON.parse(readFileSync(join(dir, 'expected_ort.json'), 'utf8')) as { dims: number[]; data: number[] }[];
  const [n, c, h, w] = o!.dims as [number, number, number, number];
  const out = new Float32Array(n * c * h * w);
  for (let ch = 0; ch < c; ch++) for (let i = 0; i < h * w; i++) out[i * c + ch] = o!.data[ch * h * w + i]!;
  return out;
}

// a: gamma 1e-4 still fits int32; b and c saturate it without widening.
describe.each([
  ['a-gamma-1e-4', []],
  ['b-gamma-1e-6', [1]],
  ['c-gamma-1e-8', [1]],
])('case 08 %s: a bias that would saturate int32', (id, widenedChannels) => {
  const dir = join(CASE_08, id);
  const float = loadModel(join(dir, 'model.onnx'));
  const r = quantizeFloatGraph(float, loadSamples(join(dir, 'calib.npy'), float), OPTS);
  const x = loadSamples(join(dir, 'input_0.npy'), float).samples[0]!;
  const inputs = feed(r.graph, x, id);
  const ref = runInt8(r.graph, inputs).outputs[0]!;

  it('widens the weight scale of the dead channel only where its bias would not fit, and warns, naming the op', () => {
    expect(r.widened.flatMap((w) => w.channels.map((c) => c.channel))).toEqual(widenedChannels);
    const w = r.warnings.find((x) => x.kind === 'widened-weight-scale');
    if (widenedChannels.length === 0) expect(w).toBeUndefined();
    else expect(w?.message).toMatch(/^CONV_2D "Conv_c" \(op #0\): the weight scale of channel 1 was widened/);
    const bias = r.graph.tensors.find((t) => t.dtype === 'int32' && t.data)!;
    const q = new Int32Array(bias.data!.slice().buffer);
    for (const v of q) expect(Math.abs(v)).toBeLessThanOrEqual(BIAS_LIMIT.int32);
  });

  it('int8 reference within 2 output LSB of onnxruntime on every element', () => {
    const y = r.graph.tensors[r.graph.outputs[0]!.tensor]!;
    const real = realOf(ref, r.graph, y.index);
    const want = ortNhwc(dir);
    const lsb = y.quant!.scale[0]!;
    let worst = 0;
    for (let i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs(real[i]! - want[i]!) / lsb);
    expect(worst).toBeLessThanOrEqual(2);
  });

  it('native C (host, ASan+UBSan) and the emulated Cortex-M4 equal the int8 reference bit for bit', async () => {
    const host = await buildHostRunner(r.graph);
    const [hostOut] = await runHostRunner(host, [inputs.map(bytesOf)]);
    expect([...hostOut![0]!]).toEqual([...bytesOf(ref)]);
    const emu = await inferOnEmulator(r.graph, inputs);
    expect([...bytesOf(emu.outputs[0]!)]).toEqual([...bytesOf(ref)]);
  });
});

/** A float model built here: x [1,8] -> FULLY_CONNECTED (4 units, channel 2 tiny with a large bias). */
function tinyChannelModel(): Graph {
  const units = 4;
  const depth = 8;
  const w = new Float32Array(units * depth);
  for (let u = 0; u < units; u++) for (let k = 0; k < depth; k++) w[u * depth + k] = (u === 2 ? 1e-9 : 0.3) * Math.sin(u * 7 + k);
  const bias = Float32Array.from([0.1, -0.2, 0.75, 0.05]);
  const t = (index: number, name: string, shape: number[], data?: Float32Array): Tensor => ({
    index,
    name,
    shape,
    dtype: 'float32',
    ...(data ? { data: new Uint8Array(data.buffer) } : {}),
  });
  return {
    format: 'onnx',
    tensors: [t(0, 'x', [1, depth]), t(1, 'w', [units, depth], w), t(2, 'b', [units], bias), t(3, 'y', [1, units])],
    ops: [{ index: 0, type: 'FULLY_CONNECTED', version: 1, inputs: [0, 1, 2], outputs: [3], attrs: { fusedActivation: 'NONE', keepNumDims: false }, source: { format: 'onnx', opType: 'Gemm', name: 'dense_tiny' } }],
    inputs: [{ tensor: 0 }],
    outputs: [{ tensor: 3 }],
    meta: {},
    warnings: [],
  };
}

function samplesOf(g: Graph, values: Float32Array[]): SampleSet {
  const t = g.tensors[g.inputs[0]!.tensor]!;
  return { inputs: [{ name: t.name, tensor: t.index, sourceShape: [...t.shape], irShape: [...t.shape] }], samples: values.map((v) => [v]), source: 'test' };
}

describe('a channel whose weights are tiny next to its bias (built here)', () => {
  it('is widened, and the int8 model is within 2 output LSB of float on every element of 40 inputs', () => {
    const g = tinyChannelModel();
    const xs = Array.from({ length: 40 }, (_, k) => Float32Array.from({ length: 8 }, (_, i) => Math.cos(k * 1.3 + i * 0.7)));
    const r = quantizeFloatGraph(g, samplesOf(g, xs), OPTS);
    expect(r.widened.map((w) => w.channels.map((c) => c.channel))).toEqual([[2]]);
    const y = r.graph.tensors[r.graph.outputs[0]!.tensor]!;
    for (const x of xs) {
      const want = runFloat(g, [{ dtype: 'float32', shape: [1, 8], data: x }]).outputs[0]!.data as Float32Array;
      const got = realOf(runInt8(r.graph, feed(r.graph, [x], 'x')).outputs[0]!, r.graph, y.index);
      for (let i = 0; i < 4; i++) expect(Math.abs(got[i]! - want[i]!) / y.quant!.scale[0]!).toBeLessThanOrEqual(2);
    }
  });

  it('fitWeightScalesToBias leaves scales alone when every bias fits, and widens per-tensor scales by the widest channel', () => {
    expect(fitWeightScalesToBias([0.01, 0.02], Float32Array.from([1, -2]), 0.05).widened).toEqual([]);
    const r = fitWeightScalesToBias([1e-12], Float32Array.from([0.5, -3]), 0.01);
    expect(r.widened).toHaveLength(1);
    expect(Math.fround(0.01 * r.scales[0]!) * BIAS_LIMIT.int32).toBeGreaterThanOrEqual(3);
  });
});

describe('warnings a user sees', () => {
  const work = mkdtempSync(join(tmpdir(), 'tinyml-qsafety-'));
  const zeros = join(work, 'zeros.npy');
  writeFileSync(zeros, encodeNpy({ dtype: 'float32', shape: [10, 1, 1, 28, 28], data: new Float32Array(10 * 784) }));
  const mnist = sharedPath('models/onnx-mnist/mnist-8.onnx');

  it('all-zero calibration data: a warning naming the input and the zero-range tensors, exit 0, a file written', () => {
    const out = join(work, 'z.tflite');
    const r = runCli(['convert', mnist, '--calib', zeros, '-o', out, '--no-quality']);
    expect(r.code).toBe(0);
    const warnings = r.stderr.split('\n').filter((l) => l.startsWith('tinyml: warning:'));
    expect(warnings.some((l) => /input "Input3": every calibration value is 0/.test(l))).toBe(true);
    expect(warnings.some((l) => /saw only 0 during calibration \("Input3"/.test(l))).toBe(true);
    expect(existsSync(out)).toBe(true);
  });

  it('--strict turns them into exit 8 and writes nothing; --json carries the warnings array', () => {
    const out = join(work, 'strict.tflite');
    const r = runCli(['convert', mnist, '--calib', zeros, '-o', out, '--strict']);
    expect(r.code).toBe(ExitCode.BAD_DATA);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/^tinyml: error: --strict: input "Input3": every calibration value is 0.*nothing was written/);
    expect(existsSync(out)).toBe(false);
    const j = runCli(['convert', mnist, '--calib', zeros, '-o', join(work, 'j.tflite'), '--json', '--no-quality']);
    expect(j.code).toBe(0);
    const kinds = (JSON.parse(j.stdout) as { warnings: { kind: string; tensors: string[] }[] }).warnings.map((w) => w.kind);
    expect(kinds).toEqual(expect.arrayContaining(['constant-input', 'zero-range']));
    expect(j.stderr).toBe('');
  });

  it('a calibration set too small for the calibrator is named', () => {
    const g = tinyChannelModel();
    const xs = Array.from({ length: 5 }, (_, k) => Float32Array.from({ length: 8 }, (_, i) => Math.sin(k + i)));
    const r = quantizeFloatGraph(g, samplesOf(g, xs), { ...OPTS, calibrator: 'entropy' });
    expect(r.warnings.find((w) => w.kind === 'few-samples')?.message).toMatch(/^5 calibration samples are too few for the entropy calibrator \(want at least 50\)/);
  });

  it('an activation range stretched by a few outliers is named under minmax', () => {
    const g = tinyChannelModel();
    // 400 samples of small inputs and one value of 50: the input tensor's min-max range is outlier-dominated.
    const xs = Array.from({ length: 400 }, (_, k) => Float32Array.from({ length: 8 }, (_, i) => 0.01 * Math.sin(k * 3.1 + i)));
    xs[7]![3] = 50;
    const r = quantizeFloatGraph(g, samplesOf(g, xs), OPTS);
    expect(r.warnings.find((w) => w.kind === 'outlier-range')?.tensors).toContain('x');
  });
});

describe('the entropy calibrator', () => {
  it('clips a long tail that min-max would keep, and keeps a compact distribution whole', () => {
    const bins = 2048;
    const r = { min: -100, max: 100 };
    const h = new Float64Array(bins);
    // A unit Gaussian around 0 (the bins near the middle) plus 5 outliers at +-100.
    for (let b = 0; b < bins; b++) {
      const x = r.min + ((b + 0.5) * (r.max - r.min)) / bins;
      h[b] = Math.round(1e6 * Math.exp(-x * x / 2));
    }
    h[0] = 5;
    h[bins - 1] = 5;
    const clipped = entropyRange(h, r);
    expect(clipped.max).toBeLessThan(20);
    expect(clipped.max).toBeGreaterThan(2);
    expect(clipped.min).toBeCloseTo(-clipped.max, 6);
    const flat = new Float64Array(bins).fill(100);
    expect(entropyRange(flat, r).max).toBeGreaterThan(90);
  });
});

describe('the quality report of convert', () => {
  it('mnist-8 from 40 real digits: top-1 agreement and SNR per output, the worst layers, in text and --json', async () => {
    const { createRequire } = await import('node:module');
    const mnist = createRequire(import.meta.url)('mnist') as { get(i: number): number[] }[];
    const work = mkdtempSync(join(tmpdir(), 'tinyml-quality-'));
    const calib = new Float32Array(40 * 784);
    for (let i = 0; i < 40; i++) calib.set(mnist[i % 10]!.get(Math.floor(i / 10)).map((v) => v * 255), i * 784);
    writeFileSync(join(work, 'calib.npy'), encodeNpy({ dtype: 'float32', shape: [40, 1, 1, 28, 28], data: calib }));
    const r = runCli(['convert', sharedPath('models/onnx-mnist/mnist-8.onnx'), '--calib', join(work, 'calib.npy'), '-o', join(work, 'm.tflite'), '--json']);
    expect(r.code).toBe(0);
    const s = JSON.parse(r.stdout) as { quality: { samples: number; outputs: { top1Agreement: number; snrDb: number }[]; worstLayers: { op: string; snrDb: number }[] } };
    expect(s.quality.samples).toBe(40);
    expect(s.quality.outputs[0]!.top1Agreement).toBeGreaterThanOrEqual(0.95);
    expect(s.quality.outputs[0]!.snrDb).toBeGreaterThan(20);
    expect(s.quality.worstLayers.length).toBe(3);
    expect(s.quality.worstLayers[0]!.snrDb).toBeLessThanOrEqual(s.quality.worstLayers[2]!.snrDb);
    const t = runCli(['convert', sharedPath('models/onnx-mnist/mnist-8.onnx'), '--calib', join(work, 'calib.npy'), '-o', join(work, 'm2.tflite')]);
    expect(t.stdout).toMatch(/quality: float vs int8 \(int8 reference executor\) on the calibration set \(40 samples\)/);
    expect(t.stdout).toMatch(/output Plus214_Output_0: top-1 agreement \d+\.\d\d%, SNR \d+\.\d dB/);
    // Not a terminal: no progress bar reaches stderr.
    expect(t.stderr).toBe('');
  });
});
