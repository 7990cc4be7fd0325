/**
 * Every ONNX backend node test in ../shared/models/onnx-node-tests (the pytorch-converted ones
 * included), the way a user would run them:
 *   - float: `tinyml infer --engine float` with test_data_set_0/input_N.pb as the inputs (the .pb
 *     files themselves), every output within 1e-5 of its range of output_N.pb (integer outputs
 *     exact). No exclusions.
 *   - int8: `tinyml convert` calibrated on the test data set; every model it takes runs in the
 *     int8 reference and in the native C compiled for the host with bit-identical outputs, within
 *     2 output LSB of output_N.pb. A model convert refuses must be in NOT_QUANTIZABLE (a form int8
 *     TFLite has no expression of, with the reason; also in docs/onnx.md) or in PENDING_INT8 (a
 *     kernel issue 10 adds); the refusal is one line naming the user's ONNX node.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildHostRunner, runHostRunner } from '../src/build/host.ts';
import { bytesOfTyped } from '../src/data/npy.ts';
import { parseTensorProto } from '../src/data/tensor-proto.ts';
import { UnsupportedError } from '../src/errors.ts';
import { loadModel } from '../src/formats/load.ts';
import { infer } from '../src/infer/infer.ts';
import { loadInput } from '../src/infer/inputs.ts';
import { convertModel, DEFAULT_QUANTIZE_OPTIONS } from '../src/quantize/convert.ts';
import { prepareInt8 } from '../src/reference/int8/index.ts';
import type { TensorValue } from '../src/reference/tensor-value.ts';
import { firstOutside, quantizeFloatInputs, worstErrorLsb } from './helpers/onnx-build.ts';
import { NOT_QUANTIZABLE } from './helpers/onnx-node-tests.ts';
import { MODELS } from './helpers/shared.ts';

process.env['TINYML_CACHE_DIR'] ??= mkdtempSync(join(tmpdir(), 'tinyml-node-tests-cache-'));

const ROOT = join(MODELS, 'onnx-node-tests');
const CASES = [
  ...readdirSync(ROOT).filter((d) => d.startsWith('test_')),
  ...readdirSync(join(ROOT, 'pytorch-converted')).map((d) => join('pytorch-converted', d)),
].sort();

/** Node tests whose int8 form waits on a kernel of issue 10 (the op convert names). */
const PENDING_INT8: Record<string, RegExp> = {
};

/** Native C not generated yet for the int8 model (op named). */
const PENDING_NATIVE: Record<string, RegExp> = {
};

const tmp = mkdtempSync(join(tmpdir(), 'tinyml-node-tests-'));

function files(name: string, prefix: 'input' | 'output'): string[] {
  const dir = join(ROOT, name, 'test_data_set_0');
  const out: string[] = [];
  for (let i = 0; existsSync(join(dir, `${prefix}_${i}.pb`)); i++) out.push(join(dir, `${prefix}_${i}.pb`));
  return out;
}

const expectedOf = (name: string): TensorValue[] => files(name, 'output').map((f) => parseTensorProto(new Uint8Array(readFileSync(f)), f));

it('finds the 71 node tests, and every listed name is one of them', () => {
  expect(CASES).toHaveLength(71);
  for (const n of [...Object.keys(NOT_QUANTIZABLE), ...Object.keys(PENDING_INT8), ...Object.keys(PENDING_NATIVE)]) expect(CASES).toContain(n);
});

describe.each(CASES)('%s', (name) => {
  const model = join(ROOT, name, 'model.onnx');

  it('float engine: tinyml infer on the .pb inputs equals output_N.pb within 1e-5 of the range', async () => {
    const r = await infer(model, { inputs: files(name, 'input'), engine: 'float' });
    const want = expectedOf(name);
    expect(r.outputs).toHaveLength(want.length);
    r.outputs.forEach((o, j) => {
      expect(o.shape, `output ${j} shape`).toEqual(want[j]!.shape);
      expect(o.dtype, `output ${j} dtype`).toBe(want[j]!.dtype);
      const bad = firstOutside(o.data, want[j]!.data, o.dtype.startsWith('float') ? 1e-5 : 0);
      expect(bad, bad >= 0 ? `output ${j} element ${bad}: got ${o.data[bad]}, want ${want[j]!.data[bad]}` : '').toBe(-1);
    });
  });

  const refusal = NOT_QUANTIZABLE[name] ?? PENDING_INT8[name];
  const out = join(tmp, `${name.replace('/', '_')}.tflite`);
  const calib = join(ROOT, name, 'test_data_set_0');
  if (refusal) {
    it(`int8: convert refuses in one line naming the node (${NOT_QUANTIZABLE[name] ? 'not expressible' : 'pending kernel'})`, () => {
      let err: unknown;
      try {
        convertModel(model, calib, { ...DEFAULT_QUANTIZE_OPTIONS, output: out });
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(UnsupportedError);
      expect((err as Error).message).toMatch(refusal);
      expect((err as Error).message).not.toContain('\n');
      // An already-quantized ONNX model has no int8 TFLite form as it is: the fix is its float model.
      if (/already quantized/.test((err as Error).message)) expect((err as Error).message).toMatch(/give convert the float ONNX model it was quantized from/);
    });
    return;
  }

  it('int8: convert, then reference and native C bit-identical, within 2 LSB of output_N.pb', async () => {
    convertModel(model, calib, { ...DEFAULT_QUANTIZE_OPTIONS, output: out });
    const float = loadModel(model);
    const q = loadModel(out);
    const inputs = quantizeFloatInputs(q, files(name, 'input').map((f, i) => loadInput(f, float, i).value));
    const ref = prepareInt8(q).run(inputs);
    const want = expectedOf(name);
    ref.outputs.forEach((o, j) => expect(worstErrorLsb(q, float, j, o, want[j]!.data), `output ${j}: worst error in output LSB`).toBeLessThanOrEqual(2));
    if (PENDING_NATIVE[name]) {
      await expect(buildHostRunner(q)).rejects.toThrow(PENDING_NATIVE[name]);
      return;
    }
    const runner = await buildHostRunner(q);
    const [host] = await runHostRunner(runner, [inputs.map((v) => bytesOfTyped(v.data))]);
    host!.forEach((b, j) => expect(Buffer.from(b).equals(Buffer.from(bytesOfTyped(ref.outputs[j]!.data))), `native C output ${j}`).toBe(true));
  });
});
