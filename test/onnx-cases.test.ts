/**
 * The field cases of ../shared/cases that issue 11 owns (03, 04, 05, 06, 15, 17: PyTorch and
 * Keras exports), each right in the sense of ../shared/cases/README.md:
 *   - the float engine, fed input_N.npy through `tinyml infer`'s loader, equals onnxruntime's
 *     expected_ort.json within 1e-5 of the output's range;
 *   - the int8 model `tinyml convert` writes (calibrated on calib.npy / calib.json) runs in the
 *     int8 reference, in the native C compiled for the host and in the native firmware on QEMU
 *     with bit-identical outputs, each within 2 output LSB of onnxruntime.
 * No variant is skipped: the folders must hold the variants this file knows. A variant whose int8
 * form waits on a kernel another issue adds is listed in PENDING_INT8 with that kernel, and must
 * be refused by convert with an UnsupportedError naming the user's ONNX node (never a wrong
 * answer); the list must end empty. Three padded variants also go through the 16x8 scheme
 * (convert --activations int16): PAD / PADV2 at the int16 minimum, native C equal to the reference.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildHostRunner, runHostRunner } from '../src/build/host.ts';
import { bytesOfTyped } from '../src/data/npy.ts';
import { UnsupportedError } from '../src/errors.ts';
import { loadModel } from '../src/formats/load.ts';
import { infer } from '../src/infer/infer.ts';
import { loadInput } from '../src/infer/inputs.ts';
import type { Graph } from '../src/ir/graph.ts';
import { convertModel, DEFAULT_QUANTIZE_OPTIONS } from '../src/quantize/convert.ts';
import { prepareInt8 } from '../src/reference/int8/index.ts';
import type { TensorValue } from '../src/reference/tensor-value.ts';
import { inferOnEmulator } from '../src/run/emulator-engine.ts';
import { firstOutside, quantizeFloatInputs, worstErrorLsb } from './helpers/onnx-build.ts';
import { sharedPath } from './helpers/shared.ts';

process.env['TINYML_CACHE_DIR'] ??= mkdtempSync(join(tmpdir(), 'tinyml-cases-cache-'));

const ROOT = sharedPath('cases');
const FAMILIES = ['03-pool-ceil-mode', '04-flatten-concat-gemm', '05-conv1d-tcn-arena', '06-activations-leaky-hardswish-prelu', '15-pytorch-stride2-pad1', '17-resize-upsample'];
const VARIANTS = FAMILIES.flatMap((f) => readdirSync(join(ROOT, f)).sort().map((v) => `${f}/${v}`));

/** Variants whose int8 form waits on a kernel of issue 10 (the missing op, as convert names it). */
const PENDING_INT8: Record<string, RegExp> = {
};

/** Variants whose int8 model the reference runs but the native C cannot generate yet (op named). */
const PENDING_NATIVE: Record<string, RegExp> = {
};

const tmp = mkdtempSync(join(tmpdir(), 'tinyml-cases-'));

interface Expected {
  name: string;
  dims: number[];
  data: number[];
}

function inputFiles(dir: string): string[] {
  const files: string[] = [];
  for (let i = 0; existsSync(join(dir, `input_${i}.npy`)); i++) files.push(join(dir, `input_${i}.npy`));
  return files;
}

/** Quantizes the variant's float inputs (IR layout) with the int8 model's input parameters. */
const quantizedInputs = (float: Graph, q: Graph, files: string[]): TensorValue[] => quantizeFloatInputs(q, files.map((f, i) => loadInput(f, float, i).value));

it('the case folders hold the 23 variants this file knows, and every pending name is one of them', () => {
  expect(VARIANTS).toHaveLength(23);
  for (const v of [...Object.keys(PENDING_INT8), ...Object.keys(PENDING_NATIVE)]) expect(VARIANTS).toContain(v);
});

describe.each(VARIANTS)('%s', (variant) => {
  const dir = join(ROOT, variant);
  const model = join(dir, 'model.onnx');
  const expected = (): Expected[] => JSON.parse(readFileSync(join(dir, 'expected_ort.json'), 'utf8')) as Expected[];

  it('float engine: tinyml infer equals onnxruntime within 1e-5 of the output range', async () => {
    const r = await infer(model, { inputs: inputFiles(dir), engine: 'float' });
    const want = expected();
    expect(r.outputs).toHaveLength(want.length);
    r.outputs.forEach((o, j) => {
      expect(o.shape, `output ${j} shape`).toEqual(want[j]!.dims);
      const bad = firstOutside(o.data as Float32Array, want[j]!.data);
      expect(bad, bad >= 0 ? `output ${j} element ${bad}: ${o.data[bad]} vs onnxruntime ${want[j]!.data[bad]}` : '').toBe(-1);
    });
  });

  const calib = existsSync(join(dir, 'calib.npy')) ? join(dir, 'calib.npy') : join(dir, 'calib.json');
  const out = join(tmp, `${variant.replace('/', '_')}.tflite`);
  const pending = PENDING_INT8[variant];
  if (pending) {
    it('int8: convert refuses, naming the user\'s ONNX node (pending kernel)', () => {
      let err: unknown;
      try {
        convertModel(model, calib, { ...DEFAULT_QUANTIZE_OPTIONS, output: out });
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(UnsupportedError);
      expect((err as Error).message).toMatch(pending);
      expect((err as Error).message.split('\n')).toHaveLength(1);
    });
    return;
  }

  it('int8: convert, then reference, native C and QEMU bit-identical and within 2 LSB of onnxruntime', async () => {
    convertModel(model, calib, { ...DEFAULT_QUANTIZE_OPTIONS, output: out });
    const float = loadModel(model);
    const q = loadModel(out);
    const inputs = quantizedInputs(float, q, inputFiles(dir));
    const ref = prepareInt8(q).run(inputs);
    const want = expected();
    ref.outputs.forEach((o, j) => expect(worstErrorLsb(q, float, j, o, want[j]!.data), `output ${j}: worst error in output LSB`).toBeLessThanOrEqual(2));
    const refBytes = ref.outputs.map((o) => Buffer.from(bytesOfTyped(o.data)));
    const pendingNative = PENDING_NATIVE[variant];
    if (pendingNative) {
      await expect(buildHostRunner(q)).rejects.toThrow(pendingNative);
      return;
    }
    const runner = await buildHostRunner(q);
    const [host] = await runHostRunner(runner, [inputs.map((v) => bytesOfTyped(v.data))]);
    host!.forEach((b, j) => expect(Buffer.from(b).equals(refBytes[j]!), `native C output ${j} equals the reference`).toBe(true));
    const emu = await inferOnEmulator(q, inputs);
    emu.outputs.forEach((o, j) => expect(Buffer.from(bytesOfTyped(o.data)).equals(refBytes[j]!), `QEMU output ${j} equals the reference`).toBe(true));
  });
});

describe('16x8 (convert --activations int16): the padding of every kind at int16', () => {
  it.each(['03-pool-ceil-mode/e-pad-neginf-then-maxpool', '15-pytorch-stride2-pad1/b-dw-k3s2p1-16x16', '05-conv1d-tcn-arena/c-4d-input-causal-conv'])(
    '%s: PAD / PADV2 (int16 minimum) on int16 tensors; native C bit-identical with the reference',
    async (variant) => {
      const dir = join(ROOT, variant);
      const calib = existsSync(join(dir, 'calib.npy')) ? join(dir, 'calib.npy') : join(dir, 'calib.json');
      const out = join(tmp, `${variant.replace('/', '_')}_16x8.tflite`);
      convertModel(join(dir, 'model.onnx'), calib, { ...DEFAULT_QUANTIZE_OPTIONS, activations: 'int16', output: out });
      const q = loadModel(out);
      const pads = q.ops.filter((o) => o.type === 'PAD' || o.type === 'PADV2');
      expect(pads.length).toBeGreaterThan(0);
      for (const p of pads) {
        expect(q.tensors[p.inputs[0]!]!.dtype).toBe('int16');
        if (p.type === 'PADV2') expect(new Int16Array(q.tensors[p.inputs[2]!]!.data!.slice().buffer)[0]).toBe(-32768);
      }
      const inputs = quantizedInputs(loadModel(join(dir, 'model.onnx')), q, inputFiles(dir));
      const ref = prepareInt8(q).run(inputs);
      const [host] = await runHostRunner(await buildHostRunner(q), [inputs.map((v) => bytesOfTyped(v.data))]);
      host!.forEach((b, j) => expect(Buffer.from(b).equals(Buffer.from(bytesOfTyped(ref.outputs[j]!.data))), `native C output ${j}`).toBe(true));
    },
  );
});
