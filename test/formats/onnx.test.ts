/**
 * ONNX import against facts stated independently of our code: the ONNX backend node tests'
 * expected outputs (their shapes), the original mnist-8 initializers (read straight from the
 * protobuf with onnx-proto, element by element against the permuted IR weights), onnxruntime as
 * the float oracle for mnist-8, and corrupt inputs.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import onnxProto from 'onnx-proto';
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { InvalidModelError, TinymlError } from '../../src/errors.ts';
import type { Graph, Tensor } from '../../src/ir/graph.ts';
import { importOnnx } from '../../src/formats/onnx/import.ts';
import { readTensorProtoFile } from '../../src/formats/onnx/tensor.ts';
import { runFloat } from '../../src/reference/float/index.ts';
import { transposeValue } from '../../src/reference/layout.ts';
import { MODELS } from '../helpers/shared.ts';

const { onnx } = onnxProto;
const NODE_TESTS = join(MODELS, 'onnx-node-tests');
const MNIST = join(MODELS, 'onnx-mnist', 'mnist-8.onnx');

function findModels(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir)) {
    const p = join(dir, e);
    if (statSync(p).isDirectory()) out.push(...findModels(p));
    else if (e === 'model.onnx') out.push(p);
  }
  return out.sort();
}

const load = (path: string): Graph => importOnnx(new Uint8Array(readFileSync(path)), path);

/** The source-layout shape of an IR tensor: invert irShape[i] = sourceShape[perm[i]]. */
function sourceShape(g: Graph, io: { tensor: number; sourceLayout?: { shape: number[]; perm: number[] } }): number[] {
  const ir = g.tensors[io.tensor]!.shape;
  if (!io.sourceLayout) return ir;
  const src = new Array<number>(ir.length);
  io.sourceLayout.perm.forEach((p, i) => (src[p] = ir[i]!));
  expect(src).toEqual(io.sourceLayout.shape);
  return src;
}

function floats(t: Tensor): Float32Array {
  return new Float32Array(new Uint8Array(t.data!).buffer);
}

/** Raw float32 contents of an ONNX initializer, decoded here without our tensor code. */
function onnxInitializer(model: onnxProto.onnx.ModelProto, name: string): { dims: number[]; values: Float32Array } {
  const t = (model.graph!.initializer ?? []).find((i) => i.name === name)!;
  const dims = (t.dims ?? []).map((d) => Number(d));
  // Copy first: a Buffer's slice() is a view into the whole file.
  const values = t.rawData?.length ? new Float32Array(new Uint8Array(t.rawData).buffer) : Float32Array.from(t.floatData ?? []);
  return { dims, values };
}

describe('ONNX backend node tests', () => {
  const models = findModels(NODE_TESTS);

  it('the shared set is present (node tests and pytorch-converted)', () => {
    expect(models.length).toBeGreaterThanOrEqual(70);
    expect(models.some((m) => m.includes('pytorch-converted'))).toBe(true);
  });

  for (const path of models) {
    const rel = relative(NODE_TESTS, join(path, '..'));
    it(`${rel}: imports; inputs and outputs have the test data's shapes`, () => {
      const g = load(path);
      const data = join(path, '..', 'test_data_set_0');
      g.inputs.forEach((gi, i) => {
        const expected = readTensorProtoFile(new Uint8Array(readFileSync(join(data, `input_${i}.pb`))));
        expect(sourceShape(g, gi), `input ${i}`).toEqual(expected.shape);
        expect(g.tensors[gi.tensor]!.dtype).toBe(expected.dtype);
      });
      g.outputs.forEach((go, i) => {
        const expected = readTensorProtoFile(new Uint8Array(readFileSync(join(data, `output_${i}.pb`))));
        expect(sourceShape(g, go), `output ${i}`).toEqual(expected.shape);
        expect(g.tensors[go.tensor]!.dtype).toBe(expected.dtype);
      });
      // Every op is a canonical IR op with static shapes and the ONNX node as its source.
      for (const op of g.ops) {
        expect(op.type).toMatch(/^[A-Z0-9_]+$/);
        expect(op.source.format).toBe('onnx');
        expect(op.source.name.length).toBeGreaterThan(0);
        for (const t of [...op.inputs, ...op.outputs]) if (t >= 0) expect(g.tensors[t]!.shape.every((d) => Number.isInteger(d) && d >= 0)).toBe(true);
      }
    });
  }

  it('image graphs are NHWC with sourceLayout; non-image graphs keep their layout', () => {
    const conv = load(join(NODE_TESTS, 'test_basic_conv_with_padding', 'model.onnx'));
    expect(conv.inputs[0]!.sourceLayout).toEqual({ shape: [1, 1, 5, 5], perm: [0, 2, 3, 1] });
    expect(conv.outputs[0]!.sourceLayout).toEqual({ shape: [1, 1, 5, 5], perm: [0, 2, 3, 1] });
    // The node test passes W as a graph input: a runtime TRANSPOSE to [O, KH, KW, I].
    expect(conv.ops.map((o) => o.type)).toEqual(['TRANSPOSE', 'CONV_2D']);
    expect(conv.ops[0]!.attrs.perm).toEqual([0, 2, 3, 1]);

    const softmax = load(join(NODE_TESTS, 'test_softmax_axis_1', 'model.onnx'));
    expect(softmax.inputs[0]!.sourceLayout).toBeUndefined();
    expect(softmax.ops[0]!.attrs).toEqual({ beta: 1, axis: 1, coerce2d: false });
    const concat = load(join(NODE_TESTS, 'test_concat_3d_axis_1', 'model.onnx'));
    expect(concat.ops[0]!.attrs.axis).toBe(1);
  });

  it('grouped and depthwise convolutions (pytorch-converted) map onto CONV_2D groups / DEPTHWISE_CONV_2D', () => {
    const groups = load(join(NODE_TESTS, 'pytorch-converted', 'test_Conv2d_groups', 'model.onnx'));
    expect(groups.ops[0]!.type).toBe('CONV_2D');
    expect(groups.ops[0]!.attrs.groups).toBe(2);
    expect(groups.tensors[groups.ops[0]!.inputs[1]!]!.shape).toEqual([6, 3, 2, 2]);
    const dw = load(join(NODE_TESTS, 'pytorch-converted', 'test_Conv2d_depthwise_with_multiplier', 'model.onnx'));
    expect(dw.ops[0]!.type).toBe('DEPTHWISE_CONV_2D');
    expect(dw.ops[0]!.attrs.depthMultiplier).toBe(2);
    // ONNX W [8, 1, 3, 3] -> IR filter [1, 3, 3, 8]: filter[0, kh, kw, o] = W[o, 0, kh, kw].
    const model = onnx.ModelProto.decode(readFileSync(join(NODE_TESTS, 'pytorch-converted', 'test_Conv2d_depthwise_with_multiplier', 'model.onnx')));
    const w = onnxInitializer(model, '1');
    const filter = dw.tensors[dw.ops[0]!.inputs[1]!]!;
    expect(filter.shape).toEqual([1, 3, 3, 8]);
    const f = floats(filter);
    for (let o = 0; o < 8; o++) for (let kh = 0; kh < 3; kh++) for (let kw = 0; kw < 3; kw++) {
      expect(f[(kh * 3 + kw) * 8 + o]).toBe(w.values[o * 9 + kh * 3 + kw]);
    }
  });

  it('QuantizeLinear with runtime scale/zero point keeps them as op inputs; QLinearConv keeps the ONNX input list', () => {
    const q = load(join(NODE_TESTS, 'test_quantizelinear_axis', 'model.onnx'));
    expect(q.ops[0]!.type).toBe('QUANTIZE');
    expect(q.ops[0]!.inputs).toHaveLength(3);
    expect(q.ops[0]!.attrs).toEqual({ rounding: 'HALF_EVEN', axis: 1 });
    const qc = load(join(NODE_TESTS, 'test_qlinearconv', 'model.onnx'));
    const op = qc.ops.find((o) => o.type === 'QLINEAR_CONV')!;
    expect(op.inputs).toHaveLength(9);
    expect(op.inputs[8]).toBe(-1);
  });
});

describe('mnist-8 (NCHW image graph converted to NHWC)', () => {
  const bytes = new Uint8Array(readFileSync(MNIST));
  const model = onnx.ModelProto.decode(bytes);
  const g = importOnnx(bytes, MNIST);

  it('input and output keep their ONNX layout in sourceLayout', () => {
    expect(g.inputs).toHaveLength(1);
    expect(g.inputs[0]!.sourceLayout).toEqual({ shape: [1, 1, 28, 28], perm: [0, 2, 3, 1] });
    expect(g.tensors[g.inputs[0]!.tensor]!.shape).toEqual([1, 28, 28, 1]);
    expect(g.outputs[0]!.sourceLayout).toBeUndefined();
    expect(g.tensors[g.outputs[0]!.tensor]!.shape).toEqual([1, 10]);
    expect(g.tensors[g.outputs[0]!.tensor]!.name).toBe('Plus214_Output_0');
  });

  it('lowers to canonical ops with no runtime transposes (bias Adds folded)', () => {
    expect(g.ops.map((o) => o.type)).toEqual(['CONV_2D', 'RELU', 'MAX_POOL_2D', 'CONV_2D', 'RELU', 'MAX_POOL_2D', 'RESHAPE', 'FULLY_CONNECTED']);
    expect(g.ops[0]!.attrs).toMatchObject({ padding: 'SAME', pads: [2, 2, 2, 2], strideH: 1, strideW: 1, groups: 1 });
    expect(g.ops[5]!.attrs).toMatchObject({ filterH: 3, filterW: 3, strideH: 3, strideW: 3, padding: 'VALID' });
    expect(g.ops.every((o) => o.source.format === 'onnx' && o.version === 8)).toBe(true);
  });

  it('conv filters are the ONNX initializers permuted [O,I,KH,KW] -> [O,KH,KW,I], element by element', () => {
    for (const [opIndex, name] of [[0, 'Parameter5'], [3, 'Parameter87']] as const) {
      const w = onnxInitializer(model, name);
      const [O, I, KH, KW] = w.dims as [number, number, number, number];
      const filter = g.tensors[g.ops[opIndex]!.inputs[1]!]!;
      expect(filter.shape).toEqual([O, KH, KW, I]);
      const f = floats(filter);
      let checked = 0;
      for (let o = 0; o < O; o++) for (let kh = 0; kh < KH; kh++) for (let kw = 0; kw < KW; kw++) for (let i = 0; i < I; i++) {
        expect(f[((o * KH + kh) * KW + kw) * I + i]).toBe(w.values[((o * I + i) * KH + kh) * KW + kw]);
        checked++;
      }
      expect(checked).toBe(w.values.length);
      // The following Add's [O,1,1] constant became the conv bias.
      const bias = floats(g.tensors[g.ops[opIndex]!.inputs[2]!]!);
      expect(Array.from(bias)).toEqual(Array.from(onnxInitializer(model, name === 'Parameter5' ? 'Parameter6' : 'Parameter88').values));
    }
  });

  it('the NCHW flatten order is folded into the dense weight rows (Reshape [1,256] then MatMul)', () => {
    // ONNX: Parameter193 [16,4,4,10] reshaped to [256,10]; MatMul row k = c*16 + h*4 + w.
    const w = onnxInitializer(model, 'Parameter193');
    const fc = g.tensors[g.ops[7]!.inputs[1]!]!;
    expect(fc.shape).toEqual([10, 256]);
    const f = floats(fc);
    // IR input column j = (h*4 + w)*16 + c (NHWC flattening of [1,4,4,16]).
    for (let n = 0; n < 10; n++) for (let h = 0; h < 4; h++) for (let x = 0; x < 4; x++) for (let c = 0; c < 16; c++) {
      expect(f[n * 256 + (h * 4 + x) * 16 + c]).toBe(w.values[(c * 16 + h * 4 + x) * 10 + n]);
    }
    expect(Array.from(floats(g.tensors[g.ops[7]!.inputs[2]!]!))).toEqual(Array.from(onnxInitializer(model, 'Parameter194').values));
  });

  it('computes what onnxruntime computes (float executor on the imported graph)', async () => {
    const session = await ort.InferenceSession.create(MNIST);
    for (let seed = 1; seed <= 3; seed++) {
      const x = Float32Array.from({ length: 784 }, (_, i) => ((i * 37 * seed + seed * 11) % 256) / 255);
      const res = await session.run({ Input3: new ort.Tensor('float32', x, [1, 1, 28, 28]) });
      const expected = res[session.outputNames[0]!]!.data as Float32Array;
      const input = transposeValue({ dtype: 'float32', shape: [1, 1, 28, 28], data: x }, g.inputs[0]!.sourceLayout!.perm);
      const got = runFloat(g, [input]).outputs[0]!.data as Float32Array;
      for (let i = 0; i < 10; i++) expect(Math.abs(got[i]! - expected[i]!)).toBeLessThanOrEqual(1e-4 * Math.max(1, Math.abs(expected[i]!)));
    }
  });
});

describe('corrupt and wrong files are InvalidModelError', () => {
  const mnist = new Uint8Array(readFileSync(MNIST));
  const expectInvalid = (bytes: Uint8Array, pattern?: RegExp): void => {
    let err: unknown;
    try {
      importOnnx(bytes, 'bad.onnx');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(InvalidModelError);
    const msg = (err as Error).message;
    expect(msg.split('\n')).toHaveLength(1);
    expect(msg).toContain('bad.onnx');
    if (pattern) expect(msg).toMatch(pattern);
  };

  it('random bytes (seeded, many lengths)', () => {
    let s = 12345;
    const rnd = (): number => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0) >>> 16) & 0xff;
    for (const len of [1, 7, 64, 300, 4096]) {
      for (let k = 0; k < 5; k++) expectInvalid(Uint8Array.from({ length: len }, rnd));
    }
  });

  it('a truncated model', () => {
    for (const cut of [1, 10, 100, 1000, mnist.length / 2, mnist.length - 1]) expectInvalid(mnist.subarray(0, Math.floor(cut)));
  });

  it('a TensorProto (.pb test data) passed as a model names what it is: every .pb file of the node tests', () => {
    const pbs = findModels(NODE_TESTS).flatMap((m) => {
      const dir = join(m, '..', 'test_data_set_0');
      return readdirSync(dir).map((f) => join(dir, f));
    });
    expect(pbs.length).toBeGreaterThan(200);
    for (const pb of pbs) expectInvalid(new Uint8Array(readFileSync(pb)), /TensorProto.*not a model.*model\.onnx/);
  });

  it('a model whose initializer claims more data than it holds', () => {
    const model = onnx.ModelProto.decode(mnist);
    const init = (model.graph!.initializer ?? []).find((t) => t.name === 'Parameter87')!;
    init.dims = [16, 8, 5, 6];
    const bytes = onnx.ModelProto.encode(model).finish();
    let err: unknown;
    try {
      importOnnx(bytes, 'bad.onnx');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(InvalidModelError);
    expect((err as Error).message).toMatch(/Parameter87.*\[16,8,5,6\]/);
  });

  it('every failure is one of our typed errors (never a raw exception)', () => {
    // Byte flips across the whole mnist file: each import either succeeds or throws TinymlError.
    let s = 99;
    const rnd = (n: number): number => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0) >>> 8) % n;
    for (let k = 0; k < 200; k++) {
      const m = mnist.slice();
      for (let j = 0; j < 4; j++) m[rnd(m.length)] = rnd(256);
      try {
        importOnnx(m, 'mutant.onnx');
      } catch (e) {
        expect(e).toBeInstanceOf(TinymlError);
      }
    }
  });
});
