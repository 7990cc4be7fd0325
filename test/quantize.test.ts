/**
 * PTQ building blocks: TFLite int8 parameter arithmetic, the calibration data loader (every
 * accepted format and every refused one), and the graph passes, each checked by running the
 * float executor before and after (a pass must not change what the model computes).
 */
import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DataError } from '../src/errors.ts';
import type { Graph, Op, Tensor } from '../src/ir/graph.ts';
import { encodeNpy, encodeNpz } from '../src/data/npy.ts';
import { runFloat } from '../src/reference/float/index.ts';
import { asymmetricParams, quantizeWeightsPerChannel, quantizeBias } from '../src/quantize/params.ts';
import { loadSamples } from '../src/quantize/calib-data.ts';
import { runPasses } from '../src/quantize/passes/index.ts';
import { percentileRange, mseRange } from '../src/quantize/calibrate.ts';
import { quantizeFloatGraph } from '../src/quantize/convert.ts';
import { loadModel } from '../src/formats/load.ts';
import { sharedPath } from './helpers/shared.ts';

const f32 = (a: number[]) => new Uint8Array(Float32Array.from(a).buffer);

/** A tiny graph builder for synthetic pass tests. */
function graph(tensors: Omit<Tensor, 'index'>[], ops: Omit<Op, 'index' | 'version' | 'source'>[], inputs: number[], outputs: number[]): Graph {
  return {
    format: 'onnx',
    tensors: tensors.map((t, index) => ({ ...t, index })),
    ops: ops.map((o, index) => ({ ...o, index, version: 1, source: { format: 'onnx', opType: o.type, name: `${o.type.toLowerCase()}_${index}` } })),
    inputs: inputs.map((tensor) => ({ tensor })),
    outputs: outputs.map((tensor) => ({ tensor })),
    meta: {},
    warnings: [],
  };
}

function rand(n: number, seed: number, lo = -1, hi = 1): Float32Array {
  let s = seed >>> 0 || 1;
  return Float32Array.from({ length: n }, () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return lo + ((s % 100000) / 100000) * (hi - lo);
  });
}

describe('int8 parameter arithmetic (TFLite spec)', () => {
  it('widens the range to hold 0 and makes 0 exactly representable', () => {
    for (const r of [{ min: 0.5, max: 3 }, { min: -4, max: -1 }, { min: -1.3, max: 7.9 }, { min: 0, max: 6 }]) {
      const { scale, zeroPoint } = asymmetricParams(r);
      expect(Number.isInteger(zeroPoint)).toBe(true);
      expect(zeroPoint).toBeGreaterThanOrEqual(-128);
      expect(zeroPoint).toBeLessThanOrEqual(127);
      // Both ends of the widened range are within half a step of an int8 code.
      const lo = Math.min(r.min, 0);
      const hi = Math.max(r.max, 0);
      expect(scale).toBeCloseTo((hi - lo) / 255, 6);
      expect(lo / scale + zeroPoint).toBeGreaterThanOrEqual(-128.5);
      expect(hi / scale + zeroPoint).toBeLessThanOrEqual(127.5);
    }
    // A ReLU output [0, x] puts zero at the bottom code.
    expect(asymmetricParams({ min: 0, max: 6 }).zeroPoint).toBe(-128);
  });

  it('quantizes weights symmetrically per output channel in [-127, 127] and biases with input_scale * weight_scale', () => {
    // Two channels on axis 0 with very different magnitudes: each gets its own scale.
    const w = Float32Array.from([0.5, -1, 0.25, 100, -50, 25]);
    const r = quantizeWeightsPerChannel(w, [2, 3], 0);
    expect(r.scales[0]).toBeCloseTo(1 / 127, 7);
    expect(r.scales[1]).toBeCloseTo(100 / 127, 5);
    expect(Array.from(r.data)).toEqual([64, -127, 32, 127, -64, 32]);
    const b = quantizeBias(Float32Array.from([1, 1]), 0.5, r.scales);
    expect(b.data[0]).toBe(Math.round(1 / (0.5 * r.scales[0]!)));
    expect(b.scales[1]).toBeCloseTo(0.5 * r.scales[1]!, 6);
  });

  it('percentile and MSE calibrators clip a lone outlier that min/max keeps', () => {
    const h = new Float64Array(2048);
    h[0] = 100000; // the bulk of the values near the minimum
    for (let i = 1; i < 100; i++) h[i] = 1000;
    h[2047] = 1; // one outlier at the maximum
    const r = { min: 0, max: 100 };
    expect(percentileRange(h, r, 99.99).max).toBeLessThan(10);
    expect(mseRange(h, r).max).toBeLessThan(100);
  });
});

describe('calibration data loader', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tinyml-calib-'));
  // A single-input NCHW model as the ONNX importer presents it: IR NHWC [1,2,2,3], source [1,3,2,2].
  const g = graph(
    [
      { name: 'x', shape: [1, 2, 2, 3], dtype: 'float32' },
      { name: 'y', shape: [1, 2, 2, 3], dtype: 'float32' },
    ],
    [{ type: 'RELU', inputs: [0], outputs: [1], attrs: {} }],
    [0],
    [1],
  );
  g.inputs[0]!.sourceLayout = { shape: [1, 3, 2, 2], perm: [0, 2, 3, 1] };
  const nchw = Float32Array.from({ length: 24 }, (_, i) => i); // two samples, values = NCHW position

  it('reads .npy, .npz, raw .bin, JSON and folders, and transposes NCHW samples to NHWC', () => {
    writeFileSync(join(dir, 'a.npy'), encodeNpy({ dtype: 'float32', shape: [2, 1, 3, 2, 2], data: nchw }));
    writeFileSync(join(dir, 'b.npz'), encodeNpz({ x: { dtype: 'float32', shape: [2, 3, 2, 2], data: nchw } }));
    writeFileSync(join(dir, 'c.bin'), new Uint8Array(nchw.buffer));
    writeFileSync(join(dir, 'd.json'), JSON.stringify([Array.from(nchw.slice(0, 12)), Array.from(nchw.slice(12))]));
    const folder = join(dir, 'folder');
    mkdirSync(folder);
    writeFileSync(join(folder, 's1.bin'), new Uint8Array(nchw.slice(0, 12).buffer));
    writeFileSync(join(folder, 's2.npy'), encodeNpy({ dtype: 'float64', shape: [1, 3, 2, 2], data: Float64Array.from(nchw.slice(12)) }));
    for (const f of ['a.npy', 'b.npz', 'c.bin', 'd.json', 'folder']) {
      const s = loadSamples(join(dir, f), g);
      expect(s.samples.length, f).toBe(2);
      // NHWC element (h=0, w=1, c=2) of sample 1 is NCHW element c*4 + h*2 + w = 9, + 12.
      expect(s.samples[1]![0]![(0 * 2 + 1) * 3 + 2], f).toBe(21);
    }
  });

  const refused = (path: string, pattern: RegExp): void => {
    let err: unknown;
    try {
      loadSamples(path, g);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(DataError);
    expect((err as Error).message).toMatch(pattern);
    expect((err as Error).message).not.toContain('\n');
  };

  it('refuses wrong shapes, integer data, NaN and Inf (naming sample and element) and empty folders', () => {
    writeFileSync(join(dir, 'shape.npy'), encodeNpy({ dtype: 'float32', shape: [2, 5], data: new Float32Array(10) }));
    refused(join(dir, 'shape.npy'), /shape\.npy has shape \[2,5\] but input 'x' takes samples of shape \[1,3,2,2\]/);
    writeFileSync(join(dir, 'int.npy'), encodeNpy({ dtype: 'int32', shape: [1, 3, 2, 2], data: new Int32Array(12) }));
    refused(join(dir, 'int.npy'), /int\.npy holds int32 values .*astype\(np\.float32\)/);
    const bad = new Float32Array(nchw);
    bad[12 + 7] = NaN;
    writeFileSync(join(dir, 'nan.npy'), encodeNpy({ dtype: 'float32', shape: [2, 3, 2, 2], data: bad }));
    refused(join(dir, 'nan.npy'), /sample 1 element 7 is NaN/);
    writeFileSync(join(dir, 'inf.json'), '[[1,2,3,4,5,6,7,8,9,10,11,Infinity]]');
    refused(join(dir, 'inf.json'), /sample 0 element 11 is Infinity/);
    writeFileSync(join(dir, 'short.bin'), new Uint8Array(44));
    refused(join(dir, 'short.bin'), /44 bytes, not a whole number of samples/);
    mkdirSync(join(dir, 'empty'));
    writeFileSync(join(dir, 'empty', 'notes.txt'), 'no samples here');
    refused(join(dir, 'empty'), /holds no \.npy, \.bin or \.pb files/);
  });
});

describe('graph passes keep the float function', () => {
  it('folds BATCH_NORM into the conv and fuses the ReLU (one op left, same outputs)', () => {
    const w = rand(3 * 1 * 1 * 2, 1);
    const g = graph(
      [
        { name: 'x', shape: [1, 4, 4, 2], dtype: 'float32' },
        { name: 'w', shape: [3, 1, 1, 2], dtype: 'float32', data: f32(Array.from(w)) },
        { name: 'b', shape: [3], dtype: 'float32', data: f32([0.1, -0.2, 0.3]) },
        { name: 'conv', shape: [1, 4, 4, 3], dtype: 'float32' },
        { name: 'gamma', shape: [3], dtype: 'float32', data: f32([1.5, 0.5, -2]) },
        { name: 'beta', shape: [3], dtype: 'float32', data: f32([0.2, 0, -0.1]) },
        { name: 'mean', shape: [3], dtype: 'float32', data: f32([0.3, -0.1, 0]) },
        { name: 'var', shape: [3], dtype: 'float32', data: f32([0.9, 1.2, 0.25]) },
        { name: 'bn', shape: [1, 4, 4, 3], dtype: 'float32' },
        { name: 'y', shape: [1, 4, 4, 3], dtype: 'float32' },
      ],
      [
        { type: 'CONV_2D', inputs: [0, 1, 2], outputs: [3], attrs: { strideH: 1, strideW: 1, dilationH: 1, dilationW: 1, padding: 'VALID', pads: [0, 0, 0, 0], fusedActivation: 'NONE' } },
        { type: 'BATCH_NORM', inputs: [3, 4, 5, 6, 7], outputs: [8], attrs: { epsilon: 1e-3, axis: 3 } },
        { type: 'RELU', inputs: [8], outputs: [9], attrs: {} },
      ],
      [0],
      [9],
    );
    const { graph: p, log } = runPasses(g);
    expect(p.ops.map((o) => o.type)).toEqual(['CONV_2D']);
    expect(p.ops[0]!.attrs.fusedActivation).toBe('RELU');
    expect(log.join('\n')).toMatch(/folded BatchNormalization/);
    const x = { dtype: 'float32' as const, shape: [1, 4, 4, 2], data: rand(32, 7, -2, 2) };
    const a = runFloat(g, [x]).outputs[0]!.data;
    const b = runFloat(p, [x]).outputs[0]!.data;
    for (let i = 0; i < a.length; i++) expect(b[i]).toBeCloseTo(a[i] as number, 5);
  });

  it('rewrites a BatchNormalization with no conv before it as MUL + ADD (ONNX pytorch-converted test_BatchNorm2d_eval)', () => {
    const g = loadModel(sharedPath('models/onnx-node-tests/pytorch-converted/test_BatchNorm2d_eval/model.onnx'));
    const { graph: p } = runPasses(g);
    expect(p.ops.map((o) => o.type)).toEqual(['MUL', 'ADD']);
    const t = g.tensors[g.inputs[0]!.tensor]!;
    const x = { dtype: 'float32' as const, shape: [...t.shape], data: rand(t.shape.reduce((m, d) => m * d, 1), 3, -3, 3) };
    const a = runFloat(g, [x]).outputs[0]!.data;
    const b = runFloat(p, [x]).outputs[0]!.data;
    for (let i = 0; i < a.length; i++) expect(b[i]).toBeCloseTo(a[i] as number, 4);
  });

  it('fuses CLIP(0,6) as RELU6 and CLIP(-1,1) as RELU_N1_TO_1; CLIP(0,3) is a fused RELU and MINIMUM, CLIP(-2,3) MAXIMUM and MINIMUM', () => {
    const mk = (min: number, max: number) =>
      graph(
        [
          { name: 'x', shape: [1, 3], dtype: 'float32' },
          { name: 'w', shape: [2, 3], dtype: 'float32', data: f32([1, 2, 3, -1, -2, -3]) },
          { name: 'fc', shape: [1, 2], dtype: 'float32' },
          { name: 'y', shape: [1, 2], dtype: 'float32' },
        ],
        [
          { type: 'FULLY_CONNECTED', inputs: [0, 1, -1], outputs: [2], attrs: { fusedActivation: 'NONE', keepNumDims: false } },
          { type: 'CLIP', inputs: [2], outputs: [3], attrs: { min, max } },
        ],
        [0],
        [3],
      );
    expect(runPasses(mk(0, 6)).graph.ops.map((o) => `${o.type}:${o.attrs.fusedActivation}`)).toEqual(['FULLY_CONNECTED:RELU6']);
    expect(runPasses(mk(-1, 1)).graph.ops.map((o) => `${o.type}:${o.attrs.fusedActivation}`)).toEqual(['FULLY_CONNECTED:RELU_N1_TO_1']);
    expect(runPasses(mk(0, 3)).graph.ops.map((o) => `${o.type}:${o.attrs.fusedActivation ?? ''}`)).toEqual(['FULLY_CONNECTED:RELU', 'MINIMUM:']);
    expect(runPasses(mk(-2, 3)).graph.ops.map((o) => o.type)).toEqual(['FULLY_CONNECTED', 'MAXIMUM', 'MINIMUM']);
  });
});

describe('QDQ models keep their own scales', () => {
  for (const qdtype of ['int8', 'uint8'] as const) {
    it(`uses a ${qdtype} QuantizeLinear/DequantizeLinear pair's scale instead of the calibrated one`, () => {
      const zp = qdtype === 'int8' ? 5 : 133; // both mean int8 zero point 5
      const g = graph(
        [
          { name: 'x', shape: [1, 4], dtype: 'float32' },
          { name: 'xq', shape: [1, 4], dtype: qdtype, quant: { scale: [0.02], zeroPoint: [zp], axis: 0 } },
          { name: 'xdq', shape: [1, 4], dtype: 'float32' },
          { name: 'w', shape: [3, 4], dtype: 'float32', data: f32(Array.from(rand(12, 5))) },
          { name: 'y', shape: [1, 3], dtype: 'float32' },
        ],
        [
          { type: 'QUANTIZE', inputs: [0], outputs: [1], attrs: { rounding: 'HALF_EVEN' } },
          { type: 'DEQUANTIZE', inputs: [1], outputs: [2], attrs: { rounding: 'HALF_EVEN' } },
          { type: 'FULLY_CONNECTED', inputs: [2, 3, -1], outputs: [4], attrs: { fusedActivation: 'NONE', keepNumDims: false } },
        ],
        [0],
        [4],
      );
      const samples = { inputs: [{ name: 'x', tensor: 0, sourceShape: [1, 4], irShape: [1, 4] }], samples: [[rand(4, 9, -5, 5)], [rand(4, 11, -5, 5)]], source: 'test' };
      const q = quantizeFloatGraph(g, samples, { calibrator: 'minmax', io: 'int8', fcPerChannel: true }).graph;
      expect(q.ops.map((o) => o.type)).toEqual(['FULLY_CONNECTED']);
      const input = q.tensors[q.inputs[0]!.tensor]!;
      expect(input.dtype).toBe('int8');
      expect(input.quant!.scale[0]).toBe(Math.fround(0.02));
      expect(input.quant!.zeroPoint[0]).toBe(5);
    });
  }
});

describe('calibrators are wired through quantization', () => {
  it('percentile and mse give narrower activation ranges than minmax on real AD data', () => {
    const g = loadModel(sharedPath('models/mlperf-tiny/ad/ad01_fp32.tflite'));
    const raw = loadSamples(sharedPath('models/mlperf-tiny/ad/normal_id_01_00000000_hist_librosa.bin'), g);
    const scales = (calibrator: 'minmax' | 'percentile' | 'mse') => {
      // 99th percentile: with 40 x 128 values per tensor, 99.99 would clip less than one value.
      const q = quantizeFloatGraph(g, raw, { calibrator, percentile: 99, io: 'int8', fcPerChannel: true }).graph;
      return q.ops.map((o) => q.tensors[o.outputs[0]!]!.quant!.scale[0]!);
    };
    const mm = scales('minmax');
    for (const c of ['percentile', 'mse'] as const) {
      const s = scales(c);
      s.forEach((x, i) => expect(x).toBeLessThanOrEqual(mm[i]! * 1.0001));
      expect(s.some((x, i) => x < mm[i]! * 0.99), c).toBe(true);
    }
  });
});
