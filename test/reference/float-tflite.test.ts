/**
 * The float engine on the shared float TFLite models, checked against facts that do not come
 * from our own code: hello_world approximates sin(x); the official int8 models, run by the real
 * TFLite Micro (../shared/golden), agree with the float models on the real inputs once those are
 * dequantized (same argmax for KWS and IC, close reconstruction for the AD autoencoder).
 */
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { importTflite } from '../../src/formats/tflite/import.ts';
import type { Graph } from '../../src/ir/graph.ts';
import { runFloat, FLOAT_REFERENCE_OPS } from '../../src/reference/float/index.ts';
import { GOLDEN, readShared } from '../helpers/shared.ts';
import { resolve } from 'node:path';

interface GoldenMeta {
  inputs: { scale: number; zero_point: number; shape: number[] }[];
  outputs: { scale: number; zero_point: number }[];
}

function load(path: string): Graph {
  return importTflite(readShared('models', path), path);
}

function golden(id: string): GoldenMeta {
  return JSON.parse(readFileSync(resolve(GOLDEN, id, 'meta.json'), 'utf8')) as GoldenMeta;
}

function goldenInt8(id: string, file: string): Int8Array {
  const b = readFileSync(resolve(GOLDEN, id, file));
  return new Int8Array(b.buffer, b.byteOffset, b.byteLength).slice();
}

/** Runs the float model on a golden case's int8 input dequantized; returns float out and dequantized golden out. */
function floatVsGolden(id: string, model: string, k: number): { float: Float32Array; int8: number[] } {
  const meta = golden(id);
  const g = load(model);
  const inq = meta.inputs[0]!;
  const outq = meta.outputs[0]!;
  const x = Float32Array.from(goldenInt8(id, `case_${k}/input_0.bin`), (q) => (q - inq.zero_point) * inq.scale);
  const t = g.tensors[g.inputs[0]!.tensor]!;
  const out = runFloat(g, [{ dtype: 'float32', shape: t.shape, data: x }]).outputs[0]!;
  expect(out.dtype).toBe('float32');
  const int8 = Array.from(goldenInt8(id, `case_${k}/output_0.bin`), (q) => (q - outq.zero_point) * outq.scale);
  return { float: out.data as Float32Array, int8 };
}

const argmax = (a: ArrayLike<number>): number => {
  let best = 0;
  for (let i = 1; i < a.length; i++) if (a[i]! > a[best]!) best = i;
  return best;
};

describe('float TFLite models', () => {
  it('hello_world_float approximates sin(x) over [0, 2pi]', () => {
    const g = load('tflm-hello-world/hello_world_float.tflite');
    for (let i = 0; i <= 20; i++) {
      const x = (i / 20) * 2 * Math.PI;
      const y = runFloat(g, [{ dtype: 'float32', shape: [1, 1], data: Float32Array.of(x) }]).outputs[0]!.data[0] as number;
      expect(Math.abs(y - Math.sin(x))).toBeLessThan(0.1);
    }
  });

  it('hello_world float and int8 (TFLM golden) agree within a few output steps on the four x values', () => {
    for (let k = 0; k < 4; k++) {
      const { float, int8 } = floatVsGolden('tflm-hello-world', 'tflm-hello-world/hello_world_float.tflite', k);
      expect(Math.abs(float[0]! - int8[0]!)).toBeLessThan(0.1);
    }
  });

  it('KWS hybrid model (int8 weights, float activations) picks the same word as the int8 model on the real input', () => {
    const g = load('mlperf-tiny/kws/kws_ref_model_float32.tflite');
    // It really is hybrid: float activations with int8 quantized weights.
    expect(g.tensors.some((t) => t.data && t.dtype === 'int8' && t.quant)).toBe(true);
    const { float, int8 } = floatVsGolden('mlperf-tiny-kws', 'mlperf-tiny/kws/kws_ref_model_float32.tflite', 0);
    expect(argmax(float)).toBe(argmax(int8));
    expect(float.reduce((s, v) => s + v, 0)).toBeCloseTo(1, 4); // softmax output
    for (let i = 0; i < float.length; i++) expect(Math.abs(float[i]! - int8[i]!)).toBeLessThan(0.02);
  });

  it('IC ResNet-8 picks the same class as the int8 model on every golden input', () => {
    for (let k = 0; k < 4; k++) {
      const { float, int8 } = floatVsGolden('mlperf-tiny-ic', 'mlperf-tiny/ic/pretrainedResnet.tflite', k);
      expect(argmax(float), `case ${k}`).toBe(argmax(int8));
    }
  });

  it('AD autoencoder reconstructs the real clip windows like the int8 model (RMS difference < 5% of the signal; int8 noise alone is ~1-2%)', () => {
    for (const k of [0, 1]) {
      const { float, int8 } = floatVsGolden('mlperf-tiny-ad', 'mlperf-tiny/ad/ad01_fp32.tflite', k);
      let diff = 0;
      let sig = 0;
      for (let i = 0; i < float.length; i++) {
        diff += (float[i]! - int8[i]!) ** 2;
        sig += int8[i]! ** 2;
      }
      expect(Math.sqrt(diff / sig)).toBeLessThan(0.05);
    }
  });

  it('runs every op of the shared float TFLite models', () => {
    for (const m of ['mlperf-tiny/kws/kws_ref_model_float32.tflite', 'mlperf-tiny/ad/ad01_fp32.tflite', 'mlperf-tiny/ic/pretrainedResnet.tflite', 'tflm-hello-world/hello_world_float.tflite']) {
      for (const op of load(m).ops) expect(FLOAT_REFERENCE_OPS, `${m}: ${op.type}`).toContain(op.type);
    }
  });

  it('keepIntermediates returns every activation tensor, and the output is the last one', () => {
    const g = load('tflm-hello-world/hello_world_float.tflite');
    const r = runFloat(g, [{ dtype: 'float32', shape: [1, 1], data: Float32Array.of(1) }], { keepIntermediates: true });
    const activations = g.tensors.filter((t) => !t.data).map((t) => t.index);
    expect([...r.tensors!.keys()].sort()).toEqual(activations.sort());
    expect(r.tensors!.get(g.outputs[0]!.tensor)!.data).toEqual(r.outputs[0]!.data);
  });
});
