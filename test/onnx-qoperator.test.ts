/**
 * QOperator ONNX models (onnxruntime quantize_static with QuantFormat.QOperator): QLinearConv and
 * QLinearMatMul between QuantizeLinear and DequantizeLinear. The float engine runs them with ONNX's
 * arithmetic (equal to onnxruntime); `tinyml convert` rewrites them to QDQ around float ops and
 * keeps the model's own activation parameters, so the int8 model's outputs are within 1 LSB of
 * onnxruntime's (TFLite's fixed-point requantization against ONNX's float one) and the native C
 * equals the int8 reference bit for bit.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildHostRunner, runHostRunner } from '../src/build/host.ts';
import { bytesOfTyped, encodeNpy } from '../src/data/npy.ts';
import { loadModel } from '../src/formats/load.ts';
import { convertModel, DEFAULT_QUANTIZE_OPTIONS } from '../src/quantize/convert.ts';
import { prepareInt8 } from '../src/reference/int8/index.ts';
import { inputToIr, outputFromIr } from '../src/reference/layout.ts';
import { agree, attr, build, input, node, ortRun, valueInfo, values } from './helpers/onnx-build.ts';

process.env['TINYML_CACHE_DIR'] ??= mkdtempSync(join(tmpdir(), 'tinyml-qop-cache-'));
const dir = mkdtempSync(join(tmpdir(), 'tinyml-qop-'));

const u8 = (name: string, v: number[], dims: number[] = []) => ({ name, dims, dataType: 2, rawData: Uint8Array.from(v) });
const i8 = (name: string, v: number[], dims: number[]) => ({ name, dims, dataType: 3, rawData: new Uint8Array(Int8Array.from(v).buffer) });
const f32 = (name: string, v: number[], dims: number[] = []) => ({ name, dims, dataType: 1, floatData: v });
const i32 = (name: string, v: number[], dims: number[]) => ({ name, dims, dataType: 6, int32Data: v });

const conv = build({
  opset: 13,
  nodes: [
    node('QuantizeLinear', ['x', 'xs', 'xz'], ['xq']),
    node('QLinearConv', ['xq', 'xs', 'xz', 'w', 'ws', 'wz', 'ys', 'yz', 'b'], ['yq'], [attr.ints('pads', [1, 1, 1, 1]), attr.ints('strides', [2, 2])]),
    node('DequantizeLinear', ['yq', 'ys', 'yz'], ['y']),
  ],
  inputs: [valueInfo('x', [1, 3, 8, 8])],
  outputs: [valueInfo('y', [1, 4, 4, 4])],
  initializers: [
    f32('xs', [0.02]), u8('xz', [128]),
    i8('w', values(4 * 3 * 9, 7).map((v) => Math.round(v * 127)), [4, 3, 3, 3]), f32('ws', [0.004, 0.006, 0.005, 0.003], [4]), i8('wz', [0, 0, 0, 0], [4]),
    f32('ys', [0.05]), u8('yz', [120]), i32('b', [100, -50, 20, 0], [4]),
  ],
});

const matmul = build({
  opset: 13,
  nodes: [
    node('QuantizeLinear', ['a', 'as', 'az'], ['aq']),
    node('QLinearMatMul', ['aq', 'as', 'az', 'b', 'bs', 'bz', 'ys', 'yz'], ['yq']),
    node('DequantizeLinear', ['yq', 'ys', 'yz'], ['y']),
  ],
  inputs: [valueInfo('a', [2, 6])],
  outputs: [valueInfo('y', [2, 4])],
  initializers: [f32('as', [0.01]), i8('az', [3], []), i8('b', values(24, 9).map((v) => Math.round(v * 120)), [6, 4]), f32('bs', [0.008]), i8('bz', [0], []), f32('ys', [0.03]), i8('yz', [-5], [])],
});

describe.each([
  ['QuantizeLinear -> QLinearConv (uint8, per-channel int8 weights, bias) -> DequantizeLinear', conv, 'x', [1, 3, 8, 8]],
  ['QuantizeLinear -> QLinearMatMul (int8) -> DequantizeLinear', matmul, 'a', [2, 6]],
])('%s', (_, bytes, inputName, shape) => {
  it('float engine equals onnxruntime', async () => {
    await agree(bytes as Uint8Array, { [inputName as string]: input(shape as number[], 3, 1.5) });
  });

  it('convert keeps the model\'s parameters; int8 within 1 LSB of onnxruntime, native C bit-identical', async () => {
    const model = join(dir, `${inputName}.onnx`);
    writeFileSync(model, bytes as Uint8Array);
    const sh = shape as number[];
    const n = sh.reduce((p, q) => p * q, 1);
    const calib = join(dir, `${inputName}.npy`);
    writeFileSync(calib, encodeNpy({ dtype: 'float32', shape: [8, ...sh], data: Float32Array.from(values(8 * n, 5), (v) => v * 1.5) }));
    const out = join(dir, `${inputName}.tflite`);
    const summary = convertModel(model, calib, { ...DEFAULT_QUANTIZE_OPTIONS, output: out });
    expect(summary.passes.join('\n')).toMatch(/\(QOperator\) as DEQUANTIZE/);
    const q = loadModel(out);
    const float = loadModel(model);
    // The int8 model's input takes the model's own QuantizeLinear parameters (uint8 128 -> int8 0).
    const inT = q.tensors[q.inputs[0]!.tensor]!;
    expect(inT.quant!.scale[0]).toBeCloseTo(inputName === 'x' ? 0.02 : 0.01, 7);
    expect(inT.quant!.zeroPoint[0]).toBe(inputName === 'x' ? 0 : 3);
    const feed = input(sh, 11, 1.5);
    const want = (await ortRun(bytes as Uint8Array, { [inputName as string]: feed }))[0]!;
    const xIr = inputToIr({ dtype: 'float32', shape: sh, data: feed.data as Float32Array }, float.inputs[0]!);
    const [s, z] = [inT.quant!.scale[0]!, inT.quant!.zeroPoint[0]!];
    const qin = { dtype: 'int8' as const, shape: [...inT.shape], data: Int8Array.from(xIr.data as Float32Array, (v) => Math.max(-128, Math.min(127, Math.round(v / s) + z))) };
    const ref = prepareInt8(q).run([qin]).outputs[0]!;
    const outT = q.tensors[q.outputs[0]!.tensor]!;
    const [os, oz] = [outT.quant!.scale[0]!, outT.quant!.zeroPoint[0]!];
    const real = outputFromIr({ dtype: 'float32', shape: ref.shape, data: Float32Array.from(ref.data as Int8Array, (v) => (v - oz) * os) }, float.outputs[0]!);
    for (let i = 0; i < real.data.length; i++) expect(Math.abs((real.data[i] as number) - Number(want.data[i])) / os, `element ${i}`).toBeLessThanOrEqual(1.01);
    const runner = await buildHostRunner(q);
    const [host] = await runHostRunner(runner, [[bytesOfTyped(qin.data)]]);
    expect(Buffer.from(host![0]!).equals(Buffer.from(bytesOfTyped(ref.data)))).toBe(true);
  });
});
