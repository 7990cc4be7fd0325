/**
 * `tinyml eval --device <emulated board>`: the int8 model's firmware runs in QEMU as a third
 * column and must equal the TS int8 reference element for element.
 *
 * - The emulator runs of several samples come from ONE firmware build (each sample swapped into
 *   the ELF's baked input) and equal the TFLite Micro golden outputs of each case byte for byte.
 * - Through the binary, KWS float vs int8 vs device on the golden inputs: zero differing elements.
 * - A real device cannot honestly be made to disagree, so mismatch detection is proved on the
 *   comparison function (one flipped element of a real reference output, and a listing cap)
 *   and on the command's exit path (exit 14 with the first difference named).
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from './helpers/cli.ts';
import { GOLDEN, MODELS } from './helpers/shared.ts';
import { encodeNpy } from '../src/data/npy.ts';
import { ExitCode } from '../src/errors.ts';
import { loadModel } from '../src/formats/load.ts';
import type { TensorValue } from '../src/reference/tensor-value.ts';
import { runInt8 } from '../src/reference/int8/index.ts';
import { compareWithReference, DIFFERENCES_LISTED, runSamplesOnEmulator } from '../src/eval/device.ts';
import { failOnDeviceMismatch } from '../src/cli/commands/eval.ts';
import type { EvalModelReport } from '../src/eval/eval-model.ts';

const KWS_INT8 = join(MODELS, 'mlperf-tiny', 'kws', 'kws_ref_model.tflite');
const KWS_FLOAT = join(MODELS, 'mlperf-tiny', 'kws', 'kws_ref_model_float32.tflite');
const KWS_GOLDEN = join(GOLDEN, 'mlperf-tiny-kws');
const CASES = [0, 1, 2, 3];
const meta = JSON.parse(readFileSync(join(KWS_GOLDEN, 'meta.json'), 'utf8')) as { inputs: { scale: number; zero_point: number; shape: number[] }[] };
const goldenInput = (k: number) => new Int8Array(readFileSync(join(KWS_GOLDEN, `case_${k}`, 'input_0.bin')));
const goldenOutput = (k: number) => [...new Int8Array(readFileSync(join(KWS_GOLDEN, `case_${k}`, 'output_0.bin')))];
const int8Value = (data: Int8Array): TensorValue => ({ dtype: 'int8', shape: [...meta.inputs[0]!.shape], data });

describe('device runs on the emulator', () => {
  it('KWS on mps2-an386: one build, each of 4 golden cases equals its TFLite Micro output byte for byte', async () => {
    const wants = CASES.map(goldenOutput);
    // Cases 1..3 differ from case 0, so a firmware that kept the first baked input would fail.
    for (const w of wants.slice(1)) expect(w).not.toEqual(wants[0]);
    const graph = loadModel(KWS_INT8);
    const runs = await runSamplesOnEmulator(graph, CASES.map((k) => [int8Value(goldenInput(k))]), 'mps2-an386');
    expect(runs.builds).toBe(1);
    expect(runs.outputs.map((o) => [...(o[0]!.data as Int8Array)])).toEqual(wants);
  });
});

describe('compareWithReference', () => {
  const graph = loadModel(KWS_INT8);
  const reference = CASES.slice(0, 2).map((k) => runInt8(graph, [int8Value(goldenInput(k))]).outputs);
  const copy = (outs: TensorValue[][]): TensorValue[][] => outs.map((o) => o.map((v) => ({ ...v, data: new Int8Array(v.data as Int8Array) })));

  it('equal outputs: every element compared, none differs', () => {
    const r = compareWithReference(reference, copy(reference));
    expect(r).toEqual({ samples: 2, elements: 24, differing: 0, differences: [] });
  });

  it('one flipped element is found and named: sample, output, index, device and reference values', () => {
    const device = copy(reference);
    const d = device[1]![0]!.data as Int8Array;
    const was = d[7]!;
    d[7] = was === 127 ? 126 : was + 1;
    const r = compareWithReference(reference, device);
    expect(r.differing).toBe(1);
    expect(r.differences).toEqual([{ sample: 1, output: 0, index: 7, device: d[7], reference: was }]);
  });

  it(`more than ${DIFFERENCES_LISTED} differences: all counted, the first ${DIFFERENCES_LISTED} listed; missing elements count too`, () => {
    const device = copy(reference);
    for (const s of [0, 1]) (device[s]![0]!.data as Int8Array).forEach((v, i, a) => (a[i] = v === 0 ? 1 : 0));
    device[1]![0] = { ...device[1]![0]!, data: (device[1]![0]!.data as Int8Array).slice(0, 10) };
    const r = compareWithReference(reference, device);
    expect(r.differing).toBe(24);
    expect(r.differences).toHaveLength(DIFFERENCES_LISTED);
    expect(r.differences[0]).toMatchObject({ sample: 0, output: 0, index: 0 });
    const all = compareWithReference(reference, device, 100).differences;
    expect(all.filter((x) => x.device === null).map((x) => x.index)).toEqual([10, 11]);
  });
});

describe('tinyml eval --device through the binary', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tinyml-eval-device-'));
  // The golden int8 inputs as float samples (dequantized), which eval quantizes back exactly.
  const { scale, zero_point: zp, shape } = meta.inputs[0]!;
  const per = shape.reduce((a, b) => a * b, 1);
  const data = new Float32Array(CASES.length * per);
  CASES.forEach((k) => goldenInput(k).forEach((q, i) => (data[k * per + i] = scale * (q - zp))));
  const samples = join(dir, 'kws-golden.npy');
  writeFileSync(samples, encodeNpy({ dtype: 'float32', shape: [CASES.length, ...shape.slice(1)], data }));
  // Labels: the golden (TFLite Micro) top-1 class of each case, the third one deliberately wrong.
  const argmax = (xs: number[]) => xs.indexOf(Math.max(...xs));
  const labelValues = CASES.map((k) => argmax(goldenOutput(k)));
  labelValues[2] = (labelValues[2]! + 1) % 12;
  const labels = join(dir, 'labels.npy');
  writeFileSync(labels, encodeNpy({ dtype: 'int32', shape: [CASES.length], data: Int32Array.from(labelValues) }));

  it('KWS float, int8 reference and mps2-an386 firmware: 3 samples on the device, zero differing elements, an accuracy per column, exit 0', () => {
    const r = runCli(['eval', KWS_FLOAT, '--data', samples, '--quantized', KWS_INT8, '--labels', labels, '--device', 'mps2-an386', '--device-samples', '3', '--json']);
    expect(r.stderr).not.toMatch(/error/);
    expect(r.code).toBe(0);
    const rep = JSON.parse(r.stdout) as EvalModelReport;
    expect(rep.columns.map((c) => [c.id, c.role])).toEqual([
      ['float', 'reference'],
      ['int8-reference', 'candidate'],
      ['device:mps2-an386', 'device'],
    ]);
    expect(rep.device).toMatchObject({ board: 'mps2-an386', samples: 3, of: 4, builds: 1 });
    expect(rep.device!.vsInt8Reference).toEqual({ samples: 3, elements: 36, differing: 0, differences: [] });
    expect(rep.outputs[0]!.engines['device:mps2-an386']!.count).toBe(36);
    // The device equals the int8 reference, which equals TFLite Micro: 3 of 4 labels right
    // overall, 2 of the 3 samples the device ran (never NaN).
    expect(rep.accuracy!['int8-reference']).toBe(3 / 4);
    expect(rep.accuracy!['device:mps2-an386']).toBe(2 / 3);
  });

  it('the text report says how many samples ran on the device and that every element is equal', () => {
    const r = runCli(['eval', KWS_FLOAT, '--data', samples, '--quantized', KWS_INT8, '--labels', labels, '--device', 'netduinoplus2', '--device-samples', '1']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^accuracy \(top-1 vs labels\): .*int8-reference 75\.00%, device:netduinoplus2 100\.00% \(first 1 sample\)$/m);
    expect(r.stdout).not.toMatch(/NaN/);
    expect(r.stdout).toMatch(/device:netduinoplus2: ran 1 of 4 samples in QEMU/);
    expect(r.stdout).toMatch(/device:netduinoplus2 vs int8-reference: all 12 output elements equal/);
  });

  it('a board without an emulator is exit 7, a bad --device-samples exit 2, before any build', () => {
    const board = runCli(['eval', KWS_FLOAT, '--data', samples, '--quantized', KWS_INT8, '--device', 'pico']);
    expect(board.code).toBe(ExitCode.BOARD);
    expect(board.stderr).toMatch(/^tinyml: error: board pico has no emulator: .*mps2-an386/m);
    const n = runCli(['eval', KWS_FLOAT, '--data', samples, '--quantized', KWS_INT8, '--device', 'mps2-an386', '--device-samples', '0']);
    expect(n.code).toBe(ExitCode.USAGE);
    expect(n.stderr).toMatch(/--device-samples must be a positive integer/);
  });
});

describe('the eval command on a device mismatch', () => {
  afterEach(() => {
    process.exitCode = undefined;
    vi.restoreAllMocks();
  });

  it('sets exit code 14 (MismatchError) and names the count and the first differing element', () => {
    const written: string[] = [];
    vi.spyOn(process.stderr, 'write').mockImplementation((s: string | Uint8Array) => (written.push(String(s)), true));
    const device = { id: 'device:mps2-an386', vsInt8Reference: { samples: 2, elements: 24, differing: 1, differences: [{ sample: 1, output: 0, index: 7, device: -127, reference: -128 }] } };
    failOnDeviceMismatch({ device } as unknown as EvalModelReport);
    expect(process.exitCode).toBe(ExitCode.MISMATCH);
    expect(written).toHaveLength(1);
    expect(written[0]).toMatch(/^tinyml: error: device:mps2-an386 differs from the int8 reference in 1 of 24 output elements \(first: sample 1 output 0 index 7: device -127, reference -128\)/);
  });

  it('no differing element: the exit code is left alone', () => {
    const device = { id: 'device:mps2-an386', vsInt8Reference: { samples: 2, elements: 24, differing: 0, differences: [] } };
    failOnDeviceMismatch({ device } as unknown as EvalModelReport);
    expect(process.exitCode).toBeUndefined();
  });
});
