/**
 * `tinyml infer` through the real binary: exact int8 outputs against the TFLite Micro goldens,
 * float outputs against onnxruntime's logits and the ONNX node tests' expected data (which
 * exercises NCHW <-> NHWC conversion on the way in and out), and bad input as one-line errors
 * with the documented exit codes. The other refusals are checked in-process (infer.test.ts).
 */
import { describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from './helpers/cli.ts';
import { GOLDEN, MODELS } from './helpers/shared.ts';
import { encodeNpy, readNpz } from '../src/data/npy.ts';
import { ExitCode } from '../src/errors.ts';
import { firstMismatch, nodeTestData } from './reference/float-helpers.ts';

const KWS_INT8 = join(MODELS, 'mlperf-tiny', 'kws', 'kws_ref_model.tflite');
const KWS_FLOAT = join(MODELS, 'mlperf-tiny', 'kws', 'kws_ref_model_float32.tflite');
const MNIST = join(MODELS, 'onnx-mnist', 'mnist-8.onnx');
const tmp = (): string => mkdtempSync(join(tmpdir(), 'tinyml-infer-'));

function expectOneLineError(r: { code: number; stderr: string }, code: number, pattern: RegExp): void {
  expect(r.code).toBe(code);
  const lines = r.stderr.trim().split('\n').filter((l) => !l.startsWith('tinyml: warning:'));
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(/^tinyml: error: /);
  expect(lines[0]).toMatch(pattern);
}

describe('tinyml infer', () => {
  it.each([0])('KWS int8, golden case %i: output_0.bin equals the TFLite Micro output byte for byte', (k) => {
    const out = tmp();
    const r = runCli(['infer', KWS_INT8, '--input', join(GOLDEN, 'mlperf-tiny-kws', `case_${k}`, 'input_0.bin'), '--out', out, '--engine', 'reference']);
    expect(r.stderr).not.toMatch(/error/);
    expect(r.code).toBe(0);
    const got = readFileSync(join(out, 'output_0.bin'));
    const want = readFileSync(join(GOLDEN, 'mlperf-tiny-kws', `case_${k}`, 'output_0.bin'));
    expect([...got]).toEqual([...want]);
  });

  it('mnist-8 (float, .npy input in NCHW): --json logits match onnxruntime, argmax is the label, bytes written', () => {
    const dir = tmp();
    const ort = JSON.parse(readFileSync(join(MODELS, 'onnx-mnist', 'ort_reference_logits.json'), 'utf8')) as { results: { logits: number[]; argmax: number }[] };
    const arrays = readNpz(join(MODELS, 'onnx-mnist', 'test_data', 'test_data_0.npz'));
    const pixels = arrays.get('inputs')!.data as Int32Array;
    const label = (arrays.get('outputs')!.data as Int32Array).indexOf(1);
    const input = join(dir, 'digit.npy');
    writeFileSync(input, encodeNpy({ dtype: 'float32', shape: [1, 1, 28, 28], data: Float32Array.from(pixels) }));
    const r = runCli(['infer', MNIST, '--input', input, '--out', dir, '--json']);
    expect(r.code).toBe(0);
    const json = JSON.parse(r.stdout) as { engine: string; outputs: { values: number[]; argmax: number; shape: number[]; dtype: string; file: string }[] };
    expect(json.engine).toBe('float');
    const o = json.outputs[0]!;
    expect(o.shape).toEqual([1, 10]);
    expect(o.dtype).toBe('float32');
    expect(o.argmax).toBe(label);
    expect(firstMismatch(o.values, ort.results[0]!.logits, 1e-4, 1e-6)).toBe(-1);
    const bytes = readFileSync(o.file);
    expect(Array.from(new Float32Array(bytes.buffer, bytes.byteOffset, 10))).toEqual(o.values);
  });

  it('an ONNX NCHW model with 3 channels: .npy in NCHW in, output_0.bin in NCHW out, equal to the node test data', () => {
    const dir = tmp();
    const input = nodeTestData('pytorch-converted/test_Conv2d', 'input')[0]!;
    const want = nodeTestData('pytorch-converted/test_Conv2d', 'output')[0]!;
    expect(input.shape).toEqual([2, 3, 7, 5]);
    writeFileSync(join(dir, 'x.npy'), encodeNpy(input));
    const model = join(MODELS, 'onnx-node-tests', 'pytorch-converted', 'test_Conv2d', 'model.onnx');
    const r = runCli(['infer', model, '--input', join(dir, 'x.npy'), '--out', dir]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/output 0 .* float32 \[2,4,5,4\]/);
    const bytes = readFileSync(join(dir, 'output_0.bin'));
    const got = new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
    expect(got.length).toBe(want.data.length);
    expect(firstMismatch(got, want.data, 1e-3, 1e-5)).toBe(-1);
  });

  it('a raw input of the wrong size: exit 8, one line naming the expected byte count', () => {
    const dir = tmp();
    writeFileSync(join(dir, 'short.bin'), new Uint8Array(100));
    const r = runCli(['infer', KWS_INT8, '--input', join(dir, 'short.bin')]);
    expectOneLineError(r, ExitCode.BAD_DATA, /has 100 bytes but input 0 .* needs exactly 490 bytes of raw little-endian int8/);
  });

  it('--engine reference on a float model: exit 5, says to run tinyml convert first', () => {
    const r = runCli(['infer', KWS_FLOAT, '--engine', 'reference', '--input', join(GOLDEN, 'mlperf-tiny-kws', 'case_0', 'input_0.bin')]);
    expectOneLineError(r, ExitCode.UNSUPPORTED, /runs int8 models and this model is float: quantize it first with `tinyml convert/);
  });
});
