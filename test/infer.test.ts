/**
 * infer() in-process: input conversions and every refusal, as typed errors with the documented
 * exit codes and one-line messages (the CLI test covers the same path through the binary).
 */
import { describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { infer } from '../src/infer/infer.ts';
import { DEFAULT_ENGINE_FOR, ENGINES, getEngine, isQuantizedGraph } from '../src/infer/engines.ts';
import { loadModel } from '../src/formats/load.ts';
import { encodeNpy, encodeNpz } from '../src/data/npy.ts';
import { ExitCode, TinymlError } from '../src/errors.ts';
import { GOLDEN, MODELS } from './helpers/shared.ts';

const KWS_INT8 = join(MODELS, 'mlperf-tiny', 'kws', 'kws_ref_model.tflite');
const KWS_FLOAT = join(MODELS, 'mlperf-tiny', 'kws', 'kws_ref_model_float32.tflite');
const HELLO_FLOAT = join(MODELS, 'tflm-hello-world', 'hello_world_float.tflite');
const MNIST = join(MODELS, 'onnx-mnist', 'mnist-8.onnx');
const KWS_INPUT = join(GOLDEN, 'mlperf-tiny-kws', 'case_0', 'input_0.bin');
const tmp = (): string => mkdtempSync(join(tmpdir(), 'tinyml-infer-'));

async function expectError(p: Promise<unknown>, code: number, pattern: RegExp): Promise<void> {
  let err: unknown;
  try {
    await p;
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(TinymlError);
  expect((err as TinymlError).exitCode).toBe(code);
  expect((err as Error).message).not.toContain('\n');
  expect((err as Error).message).toMatch(pattern);
}

describe('infer()', () => {
  it('the engine registry has float and reference, and picks by model kind', () => {
    expect(ENGINES.map((e) => e.id).slice(0, 2)).toEqual(['float', 'reference']);
    expect(isQuantizedGraph(loadModel(KWS_INT8))).toBe(true);
    expect(isQuantizedGraph(loadModel(KWS_FLOAT))).toBe(false); // hybrid: int8 weights, float activations
    expect(DEFAULT_ENGINE_FOR(loadModel(KWS_INT8))).toBe('reference');
    expect(DEFAULT_ENGINE_FOR(loadModel(KWS_FLOAT))).toBe('float');
    // ONNX QLinearConv has integer activations but ONNX (float requantize) arithmetic: the float engine runs it.
    expect(DEFAULT_ENGINE_FOR(loadModel(join(MODELS, 'onnx-node-tests', 'test_qlinearconv', 'model.onnx')))).toBe('float');
  });

  it('KWS int8 on the reference engine: every golden case equals the TFLite Micro output', async () => {
    const { readFileSync } = await import('node:fs');
    for (let k = 0; k < 4; k++) {
      const r = await infer(KWS_INT8, { inputs: [join(GOLDEN, 'mlperf-tiny-kws', `case_${k}`, 'input_0.bin')] });
      expect(r.engine).toBe('reference');
      expect(Array.from(r.outputs[0]!.data as Int8Array)).toEqual(Array.from(new Int8Array(readFileSync(join(GOLDEN, 'mlperf-tiny-kws', `case_${k}`, 'output_0.bin')))));
    }
  });

  it('float64 .npz data for a float32 input is converted and said so; hello_world gives sin(x)', async () => {
    const dir = tmp();
    writeFileSync(join(dir, 'x.npz'), encodeNpz({ x: { dtype: 'float64', shape: [1, 1], data: Float64Array.of(1.0) } }));
    const r = await infer(HELLO_FLOAT, { inputs: [join(dir, 'x.npz')] });
    expect(r.engine).toBe('float');
    expect(Math.abs((r.outputs[0]!.data[0] as number) - Math.sin(1))).toBeLessThan(0.1);
    expect(r.notes.join(' ')).toMatch(/float64 data converted to float32/);
  });

  it('int32 .npy values in range are accepted for an int8 input; size-1 dims may be dropped', async () => {
    const dir = tmp();
    const { readFileSync } = await import('node:fs');
    const q = new Int8Array(readFileSync(KWS_INPUT));
    writeFileSync(join(dir, 'x.npy'), encodeNpy({ dtype: 'int32', shape: [49, 10], data: Int32Array.from(q) }));
    const viaNpy = await infer(KWS_INT8, { inputs: [join(dir, 'x.npy')] });
    const viaBin = await infer(KWS_INT8, { inputs: [KWS_INPUT] });
    expect(Array.from(viaNpy.outputs[0]!.data as Int8Array)).toEqual(Array.from(viaBin.outputs[0]!.data as Int8Array));
  });

  it('a .npy of the wrong shape: DataError naming both shapes', async () => {
    const dir = tmp();
    writeFileSync(join(dir, 'x.npy'), encodeNpy({ dtype: 'float32', shape: [1, 784], data: new Float32Array(784) }));
    await expectError(infer(MNIST, { inputs: [join(dir, 'x.npy')] }), ExitCode.BAD_DATA, /holds shape \(1, 784\) but input 0 .* needs \[1,1,28,28\]/);
  });

  it('float data for an int8 input is quantized with the input scale and zero point (not cast), and the notes say so', async () => {
    const dir = tmp();
    const g = loadModel(KWS_INT8);
    const q = g.tensors[g.inputs[0]!.tensor]!.quant!;
    const [scale, zp] = [q.scale[0]!, q.zeroPoint[0]!];
    // Values on rounding halves (both signs), ordinary ones, and two beyond the int8 range.
    const real = Float32Array.from({ length: 490 }, (_, i) => (i % 7 === 0 ? (i % 2 ? 0.5 : -1.5) * scale : Math.sin(i) * 40 * scale));
    real[1] = 1000 * scale;
    real[2] = -1000 * scale;
    writeFileSync(join(dir, 'x.npy'), encodeNpy({ dtype: 'float32', shape: [1, 49, 10, 1], data: real }));
    writeFileSync(join(dir, 'q.npy'), encodeNpy({ dtype: 'int8', shape: [1, 49, 10, 1], data: Int8Array.from(real, (v) => {
      const r = Math.fround(v / scale);
      return Math.min(127, Math.max(-128, (r < 0 ? -Math.round(-r) : Math.round(r)) + zp));
    }) }));
    const fromFloat = await infer(KWS_INT8, { inputs: [join(dir, 'x.npy')] });
    const fromInt8 = await infer(KWS_INT8, { inputs: [join(dir, 'q.npy')] });
    expect(Array.from(fromFloat.outputs[0]!.data as Int8Array)).toEqual(Array.from(fromInt8.outputs[0]!.data as Int8Array));
    expect(fromFloat.notes.join('\n')).toMatch(new RegExp(`float32 data quantized to int8 with the model's input scale ${scale} and zero point ${zp}.*2 value\\(s\\) outside the input's range were clamped`));
  });

  it('int values outside the int8 range: DataError naming the value', async () => {
    const dir = tmp();
    const data = new Int32Array(490);
    data[7] = 300;
    writeFileSync(join(dir, 'x.npy'), encodeNpy({ dtype: 'int32', shape: [1, 49, 10, 1], data }));
    await expectError(infer(KWS_INT8, { inputs: [join(dir, 'x.npy')] }), ExitCode.BAD_DATA, /value 300 at element 7, outside int8/);
  });

  it('a malformed .npy input: DataError', async () => {
    const dir = tmp();
    writeFileSync(join(dir, 'x.npy'), 'not numpy');
    await expectError(infer(KWS_INT8, { inputs: [join(dir, 'x.npy')] }), ExitCode.BAD_DATA, /not a NumPy \.npy file/);
  });

  it('--engine float on an int8 model: UnsupportedError naming the op, its dtype, and --engine reference', async () => {
    await expectError(infer(KWS_INT8, { inputs: [KWS_INPUT], engine: 'float' }), ExitCode.UNSUPPORTED, /float reference cannot run CONV_2D int8 \(op #0, node .*computes on int8 tensors.*--engine reference.* every op of this model/);
  });

  it('an unknown engine: UsageError listing the engines', async () => {
    expect(() => getEngine('gpu')).toThrow(/unknown engine 'gpu': use one of float, reference/);
    await expectError(infer(KWS_INT8, { inputs: [KWS_INPUT], engine: 'gpu' }), ExitCode.USAGE, /unknown engine/);
  });

  it('a missing input file: FileError', async () => {
    await expectError(infer(KWS_INT8, { inputs: [join(tmp(), 'nope.bin')] }), ExitCode.FILE, /nope\.bin not found/);
  });

  it('two inputs for a one-input model: DataError', async () => {
    await expectError(infer(KWS_INT8, { inputs: [KWS_INPUT, KWS_INPUT] }), ExitCode.BAD_DATA, /has 1 input\(s\) .* but 2 --input file\(s\) were given/);
  });

  it('an output folder that cannot be created: FileError', async () => {
    const dir = tmp();
    writeFileSync(join(dir, 'file'), 'x');
    await expectError(infer(KWS_INT8, { inputs: [KWS_INPUT], out: join(dir, 'file', 'sub') }), ExitCode.FILE, /cannot write to the output folder .*--out/);
  });
});
