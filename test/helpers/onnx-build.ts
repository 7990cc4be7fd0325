/**
 * Small ONNX models built in tests with onnx-proto, and the oracle check: onnxruntime (the real
 * runtime) against tinyml's import + float engine, element by element.
 */
import onnxProto from 'onnx-proto';
import * as ort from 'onnxruntime-node';
import { expect } from 'vitest';
import type { Graph } from '../../src/ir/graph.ts';
import type { TensorValue } from '../../src/reference/tensor-value.ts';
import { importOnnx } from '../../src/formats/onnx/import.ts';
import { runFloat } from '../../src/reference/float/index.ts';
import { inputToIr, outputFromIr } from '../../src/reference/layout.ts';

const { onnx } = onnxProto;
export type Attr = onnxProto.onnx.IAttributeProto;
export type NodeProto = onnxProto.onnx.INodeProto;

export const attr = {
  i: (name: string, v: number): Attr => ({ name, type: 2, i: v }),
  f: (name: string, v: number): Attr => ({ name, type: 1, f: v }),
  ints: (name: string, v: number[]): Attr => ({ name, type: 7, ints: v }),
  floats: (name: string, v: number[]): Attr => ({ name, type: 6, floats: v }),
  s: (name: string, v: string): Attr => ({ name, type: 3, s: new TextEncoder().encode(v) }),
};

export function node(opType: string, input: string[], output: string[], attribute: Attr[] = [], domain = ''): NodeProto {
  return { opType, input, output, attribute, name: `${opType}_${output[0]}`, domain };
}

export function valueInfo(name: string, dims: (number | string)[], elemType = 1): onnxProto.onnx.IValueInfoProto {
  return {
    name,
    type: { tensorType: { elemType, shape: { dim: dims.map((d) => (typeof d === 'string' ? { dimParam: d } : { dimValue: d })) } } },
  };
}

/** Deterministic pseudo-random floats in [-1, 1). */
export function values(n: number, seed: number): number[] {
  let s = seed >>> 0;
  return Array.from({ length: n }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2147483648 - 1;
  });
}

export function floatInit(name: string, dims: number[], seed: number, map: (v: number) => number = (v) => v): onnxProto.onnx.ITensorProto {
  return { name, dims, dataType: 1, floatData: values(dims.reduce((a, b) => a * b, 1), seed).map(map) };
}

export function floatConst(name: string, dims: number[], data: number[]): onnxProto.onnx.ITensorProto {
  return { name, dims, dataType: 1, floatData: data };
}

export function intInit(name: string, v: number[], dims = [v.length]): onnxProto.onnx.ITensorProto {
  return { name, dims, dataType: 7, int64Data: v };
}

export interface Spec {
  nodes: NodeProto[];
  inputs: onnxProto.onnx.IValueInfoProto[];
  outputs: onnxProto.onnx.IValueInfoProto[];
  initializers?: onnxProto.onnx.ITensorProto[];
  opset?: number;
}

export function build(spec: Spec): Uint8Array {
  const model = onnx.ModelProto.create({
    irVersion: 8,
    producerName: 'tinyml-test',
    opsetImport: [{ domain: '', version: spec.opset ?? 13 }],
    graph: { name: 'g', node: spec.nodes, input: spec.inputs, output: spec.outputs, initializer: spec.initializers ?? [] },
  });
  return onnx.ModelProto.encode(model).finish();
}

export type Feed = { shape: number[]; data: Float32Array | Int32Array | BigInt64Array | Uint8Array | Int8Array };

export function input(shape: number[], seed: number, scale = 1): Feed {
  return { shape, data: Float32Array.from(values(shape.reduce((a, b) => a * b, 1), seed), (v) => v * scale) };
}

const ORT_TYPE = (d: Feed['data']): ort.Tensor.Type =>
  d instanceof Float32Array ? 'float32' : d instanceof Int32Array ? 'int32' : d instanceof BigInt64Array ? 'int64' : d instanceof Uint8Array ? 'uint8' : 'int8';
const DTYPE = { float32: 'float32', int32: 'int32', int64: 'int64', uint8: 'uint8', int8: 'int8' } as const;

/** onnxruntime's outputs (unoptimised: each node runs as written). */
export async function ortRun(bytes: Uint8Array, feeds: Record<string, Feed>): Promise<{ name: string; dims: number[]; data: ArrayLike<number | bigint> }[]> {
  const session = await ort.InferenceSession.create(bytes, { graphOptimizationLevel: 'disabled' });
  const ortFeeds: Record<string, ort.Tensor> = {};
  for (const [k, v] of Object.entries(feeds)) ortFeeds[k] = new ort.Tensor(ORT_TYPE(v.data), v.data, v.shape);
  const out = await session.run(ortFeeds);
  return session.outputNames.map((n) => ({ name: n, dims: out[n]!.dims.map(Number), data: out[n]!.data as ArrayLike<number | bigint> }));
}

/**
 * Index of the first element outside 1e-5 relative to the output's largest magnitude (float
 * outputs; exact for integers), or -1. The float engine accumulates in float64, onnxruntime in
 * float32, so cancellation makes small outputs differ relative to themselves, never to the range.
 */
export function firstOutside(got: ArrayLike<number | bigint>, want: ArrayLike<number | bigint>, rel = 1e-5): number {
  if (got.length !== want.length) return Math.min(got.length, want.length);
  let max = 0;
  for (let i = 0; i < want.length; i++) max = Math.max(max, Math.abs(Number(want[i]!)));
  const tol = rel * max;
  for (let i = 0; i < want.length; i++) {
    const g = Number(got[i]!), w = Number(want[i]!);
    if (!(Math.abs(g - w) <= tol) && !(Number.isNaN(g) && Number.isNaN(w))) return i;
  }
  return -1;
}

/** Runs onnxruntime and the float engine on the same feeds; every output must agree. Returns the IR. */
export async function agree(bytes: Uint8Array, feeds: Record<string, Feed>): Promise<Graph> {
  const expected = await ortRun(bytes, feeds);
  const g = importOnnx(bytes, 'synthetic.onnx');
  const inputs = g.inputs.map((gi) => {
    const f = feeds[g.tensors[gi.tensor]!.name]!;
    const dtype = DTYPE[ORT_TYPE(f.data) as keyof typeof DTYPE];
    return inputToIr({ dtype, shape: f.shape, data: f.data }, gi);
  });
  const result = runFloat(g, inputs);
  g.outputs.forEach((go, i) => {
    const got = outputFromIr(result.outputs[i]!, go);
    const exp = expected[i]!;
    expect(got.shape, `output ${i} shape`).toEqual(exp.dims);
    const bad = firstOutside(got.data as ArrayLike<number>, exp.data);
    if (bad >= 0) expect.fail(`output ${i} element ${bad}: ${Number(got.data[bad])} vs onnxruntime ${Number(exp.data[bad])}`);
  });
  return g;
}

/**
 * Float inputs in IR layout (`values[i]` for input i of `float`) quantized with the int8 model's
 * input parameters, q = clamp(round_half_away(x / scale) + zero_point), in float32 as TFLite's
 * reference quantize does: what a device is fed.
 */
export function quantizeFloatInputs(q: Graph, values: TensorValue[]): TensorValue[] {
  return values.map((v, i) => {
    const t = q.tensors[q.inputs[i]!.tensor]!;
    const [s, z] = [t.quant!.scale[0]!, t.quant!.zeroPoint[0]!];
    return { dtype: 'int8', shape: [...t.shape], data: Int8Array.from(v.data as Float32Array, (x) => {
      const r = Math.fround(x / s);
      return Math.max(-128, Math.min(127, (r < 0 ? -Math.round(-r) : Math.round(r)) + z));
    }) };
  });
}

/**
 * The int8 model's output `j` dequantized back to the float model's declared layout, and its
 * worst distance from `want` (onnxruntime's output, same layout) in output LSB (output scales).
 */
export function worstErrorLsb(q: Graph, float: Graph, j: number, out: TensorValue, want: ArrayLike<number | bigint>): number {
  const t = q.tensors[q.outputs[j]!.tensor]!;
  const [s, z] = [t.quant!.scale[0]!, t.quant!.zeroPoint[0]!];
  const real = outputFromIr({ dtype: 'float32', shape: out.shape, data: Float32Array.from(out.data as Int8Array, (v) => (v - z) * s) }, float.outputs[j]!);
  let worst = 0;
  for (let i = 0; i < real.data.length; i++) worst = Math.max(worst, Math.abs((real.data[i] as number) - Number(want[i]!)) / s);
  return worst;
}

/**
 * The int8 path of a small model: `convert` (calibrated on the feeds plus `extra` random samples
 * in the same range), the int8 reference within `lsb` output LSB of onnxruntime, and the native C
 * compiled for the host bit-identical with the reference. Returns the int8 graph.
 */
export async function int8Agree(bytes: Uint8Array, feeds: Record<string, Feed>, opts: { lsb?: number; extra?: number; pendingNative?: RegExp } = {}): Promise<Graph> {
  const lsb = opts.lsb ?? 2;
  const extra = opts.extra ?? 7;
  const { mkdtempSync, writeFileSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const { convertModel, DEFAULT_QUANTIZE_OPTIONS } = await import('../../src/quantize/convert.ts');
  const { loadModel } = await import('../../src/formats/load.ts');
  const { prepareInt8 } = await import('../../src/reference/int8/index.ts');
  const { buildHostRunner, runHostRunner } = await import('../../src/build/host.ts');
  const { bytesOfTyped } = await import('../../src/data/npy.ts');
  const dir = mkdtempSync(join(tmpdir(), 'tinyml-int8agree-'));
  const model = join(dir, 'm.onnx');
  writeFileSync(model, bytes);
  const float = importOnnx(bytes, 'm.onnx');
  const names = float.inputs.map((gi) => float.tensors[gi.tensor]!.name);
  const calib: Record<string, number[][]> = {};
  names.forEach((n, k) => {
    const f = feeds[n]!;
    const range = Math.max(...Array.from(f.data as Float32Array, (v) => Math.abs(v)));
    calib[n] = [Array.from(f.data as Float32Array), ...Array.from({ length: extra }, (_, s) => values(f.data.length, 100 + 7 * s + k).map((v) => v * range))];
  });
  writeFileSync(join(dir, 'calib.json'), JSON.stringify(calib));
  convertModel(model, join(dir, 'calib.json'), { ...DEFAULT_QUANTIZE_OPTIONS, output: join(dir, 'm.tflite') });
  const q = loadModel(join(dir, 'm.tflite'));
  const inputs = quantizeFloatInputs(q, names.map((n, i) => inputToIr({ dtype: 'float32', shape: feeds[n]!.shape, data: feeds[n]!.data }, float.inputs[i]!)));
  const ref = prepareInt8(q).run(inputs);
  const want = await ortRun(bytes, feeds);
  ref.outputs.forEach((o, j) => expect(worstErrorLsb(q, float, j, o, want[j]!.data), `output ${j}: worst int8 error in output LSB`).toBeLessThanOrEqual(lsb));
  if (opts.pendingNative) {
    // A kernel the native C does not have yet: refused naming it, never a wrong answer.
    await expect(buildHostRunner(q)).rejects.toThrow(opts.pendingNative);
    return q;
  }
  const runner = await buildHostRunner(q);
  const [host] = await runHostRunner(runner, [inputs.map((v) => bytesOfTyped(v.data))]);
  host!.forEach((b, j) => expect(Buffer.from(b).equals(Buffer.from(bytesOfTyped(ref.outputs[j]!.data))), `native C output ${j} equals the int8 reference`).toBe(true));
  return q;
}

/**
 * A model as onnxruntime's quantize_dynamic writes it (uint8 activations, int8 weights):
 * DynamicQuantizeLinear(x) -> ConvInteger / MatMulInteger -> Cast(float) -> Mul(x_scale * w_scale)
 * -> Add(bias); the weights' zero point is 3. `kind` 'conv': x [1,3,6,6], 3x3 conv with pads 1 to 4 channels (bias [4,1,1]);
 * 'matmul': x [2,6] times [6,5] (bias [5]). `perChannel` gives the weights one scale per output.
 */
export function dynamicQuantized(kind: 'conv' | 'matmul', perChannel = false): Uint8Array {
  const cout = kind === 'conv' ? 4 : 5;
  const wDims = kind === 'conv' ? [4, 3, 3, 3] : [6, 5];
  const count = wDims.reduce((a, b) => a * b, 1);
  const wq = Int8Array.from(values(count, 61), (v) => Math.round(v * 127));
  const scales = perChannel ? values(cout, 62).map((v) => 0.004 + 0.002 * Math.abs(v)) : [0.005];
  const sDims = perChannel ? (kind === 'conv' ? [cout, 1, 1] : [cout]) : [];
  const integer = kind === 'conv'
    ? node('ConvInteger', ['xq', 'wq', 'xz', 'wz'], ['yi'], [attr.ints('pads', [1, 1, 1, 1])])
    : node('MatMulInteger', ['xq', 'wq', 'xz', 'wz'], ['yi']);
  return build({
    nodes: [
      node('DynamicQuantizeLinear', ['x'], ['xq', 'xs', 'xz']),
      integer,
      node('Cast', ['yi'], ['yf'], [attr.i('to', 1)]),
      node('Mul', ['xs', 'ws'], ['sc']),
      node('Mul', ['yf', 'sc'], ['ym']),
      node('Add', ['ym', 'b'], ['y']),
    ],
    inputs: [valueInfo('x', kind === 'conv' ? [1, 3, 6, 6] : [2, 6])],
    outputs: [{ name: 'y', type: { tensorType: { elemType: 1 } } }],
    initializers: [
      { name: 'wq', dims: wDims, dataType: 3, rawData: new Uint8Array(wq.buffer) },
      { name: 'wz', dims: [], dataType: 3, rawData: Uint8Array.of(3) },
      { name: 'ws', dims: sDims, dataType: 1, floatData: scales },
      floatInit('b', kind === 'conv' ? [cout, 1, 1] : [cout], 63, (v) => 0.3 * v),
    ],
    opset: 13,
  });
}
