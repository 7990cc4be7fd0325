/**
 * The float engine on small ONNX models built here to reach what the node tests do not:
 * dilated, grouped, strided convolutions with asymmetric pads, count_include_pad with strides,
 * opset-11 softmax (coerce to 2-D), broadcasting MatMul, per-channel QLinearConv with padding
 * (pads carry the zero point), QuantizeLinear ties and saturation, Gemm attributes with
 * constant weights, channel concat and bias broadcasting in NCHW image graphs. Each model goes
 * through the real ONNX importer and is compared with onnxruntime-node on the same inputs.
 */
import { describe, expect, it } from 'vitest';
import * as ort from 'onnxruntime-node';
import onnxProto from 'onnx-proto';
import { importModel } from '../../src/formats/load.ts';
import { runFloat } from '../../src/reference/float/index.ts';
import { inputToIr, outputFromIr } from '../../src/reference/layout.ts';
import type { TensorValue } from '../../src/reference/tensor-value.ts';
import { bytesOfTyped } from '../../src/data/npy.ts';
import { firstMismatch } from './float-helpers.ts';

const { onnx } = onnxProto;
const ONNX_TYPE: Record<string, number> = { float32: 1, uint8: 2, int8: 3, int32: 6, int64: 7 };

interface Init { name: string; value: TensorValue }
interface NodeSpec { op: string; inputs: string[]; outputs: string[]; attrs?: Record<string, number | number[] | string> }
interface ModelSpec {
  opset: number;
  inputs: { name: string; value: TensorValue }[];
  outputs: { name: string; dtype: string; shape: number[] }[];
  inits?: Init[];
  nodes: NodeSpec[];
}

function attribute(name: string, v: number | number[] | string): onnxProto.onnx.IAttributeProto {
  const T = onnx.AttributeProto.AttributeType;
  if (typeof v === 'string') return { name, type: T.STRING, s: new TextEncoder().encode(v) };
  if (Array.isArray(v)) return { name, type: T.INTS, ints: v };
  return Number.isInteger(v) && !name.match(/alpha|beta|epsilon/) ? { name, type: T.INT, i: v } : { name, type: T.FLOAT, f: v };
}

function valueInfo(name: string, dtype: string, shape: number[]): onnxProto.onnx.IValueInfoProto {
  return { name, type: { tensorType: { elemType: ONNX_TYPE[dtype], shape: { dim: shape.map((d) => ({ dimValue: d })) } } } };
}

function buildModel(spec: ModelSpec): Uint8Array {
  const model = onnx.ModelProto.create({
    irVersion: 8,
    opsetImport: [{ domain: '', version: spec.opset }],
    producerName: 'tinyml-test',
    graph: {
      name: 'g',
      node: spec.nodes.map((n, i) => ({ opType: n.op, name: `n${i}`, input: n.inputs, output: n.outputs, attribute: Object.entries(n.attrs ?? {}).map(([k, v]) => attribute(k, v)) })),
      input: spec.inputs.map((i) => valueInfo(i.name, i.value.dtype, i.value.shape)),
      output: spec.outputs.map((o) => valueInfo(o.name, o.dtype, o.shape)),
      initializer: (spec.inits ?? []).map((t) => ({ name: t.name, dims: t.value.shape, dataType: ONNX_TYPE[t.value.dtype], rawData: bytesOfTyped(t.value.data).slice() })),
    },
  });
  return onnx.ModelProto.encode(model).finish();
}

/** Deterministic pseudo-random numbers in [lo, hi). */
function rand(n: number, seed: number, lo = -1, hi = 1): Float32Array {
  let s = seed >>> 0 || 1;
  return Float32Array.from({ length: n }, () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return lo + ((s >>> 8) / 2 ** 24) * (hi - lo);
  });
}

const f32 = (shape: number[], seed: number, lo = -1, hi = 1): TensorValue => ({ dtype: 'float32', shape, data: rand(shape.reduce((a, b) => a * b, 1), seed, lo, hi) });
const ints = (dtype: 'int8' | 'uint8' | 'int32' | 'int64', shape: number[], values: number[]): TensorValue => ({
  dtype,
  shape,
  data: dtype === 'int8' ? Int8Array.from(values) : dtype === 'uint8' ? Uint8Array.from(values) : dtype === 'int32' ? Int32Array.from(values) : BigInt64Array.from(values.map(BigInt)),
});
const intRand = (dtype: 'int8' | 'uint8', shape: number[], seed: number, lo = dtype === 'int8' ? -128 : 0, hi = dtype === 'int8' ? 128 : 256): TensorValue => {
  const n = shape.reduce((a, b) => a * b, 1);
  const r = rand(n, seed, lo, hi);
  return ints(dtype, shape, Array.from(r, Math.floor));
};

async function compareWithOrt(spec: ModelSpec): Promise<void> {
  const bytes = buildModel(spec);
  const graph = importModel(bytes, 'generated.onnx');
  const ours = runFloat(graph, graph.inputs.map((gi, i) => inputToIr(spec.inputs[i]!.value, gi))).outputs.map((v, j) => outputFromIr(v, graph.outputs[j]!));
  const session = await ort.InferenceSession.create(bytes, { logSeverityLevel: 3 });
  const feeds: Record<string, ort.Tensor> = {};
  for (const i of spec.inputs) feeds[i.name] = new ort.Tensor(i.value.dtype as 'float32', i.value.data as Float32Array, i.value.shape);
  const theirs = await session.run(feeds);
  spec.outputs.forEach((o, j) => {
    const t = theirs[o.name]!;
    expect(ours[j]!.shape).toEqual([...t.dims]);
    const isFloat = o.dtype === 'float32';
    const bad = firstMismatch(ours[j]!.data, t.data as Float32Array, isFloat ? 1e-4 : 0, isFloat ? 1e-6 : 0);
    expect(bad, bad >= 0 ? `output ${j} element ${bad}: ours ${ours[j]!.data[bad]}, onnxruntime ${(t.data as Float32Array)[bad]}` : '').toBe(-1);
  });
  await session.release();
}

describe('generated ONNX models: float engine vs onnxruntime', () => {
  it('Conv: groups 2, dilations 2x3, strides 2x1, asymmetric pads, bias, then Relu', () =>
    compareWithOrt({
      opset: 13,
      inputs: [{ name: 'x', value: f32([1, 4, 11, 10], 1) }],
      inits: [
        { name: 'w', value: f32([6, 2, 3, 3], 2) },
        { name: 'b', value: f32([6], 3) },
      ],
      nodes: [
        { op: 'Conv', inputs: ['x', 'w', 'b'], outputs: ['c'], attrs: { group: 2, dilations: [2, 3], strides: [2, 1], pads: [1, 2, 0, 1], kernel_shape: [3, 3] } },
        { op: 'Relu', inputs: ['c'], outputs: ['y'] },
      ],
      outputs: [{ name: 'y', dtype: 'float32', shape: [1, 6, 4, 6] }],
    }));

  it('Conv with auto_pad SAME_UPPER, stride 2, then Clip(0, 6) and Conv depthwise (group = C)', () =>
    compareWithOrt({
      opset: 13,
      inputs: [{ name: 'x', value: f32([1, 3, 9, 8], 4, -3, 3) }],
      inits: [
        { name: 'w', value: f32([4, 3, 3, 3], 5) },
        { name: 'lo', value: { dtype: 'float32', shape: [], data: Float32Array.of(0) } },
        { name: 'hi', value: { dtype: 'float32', shape: [], data: Float32Array.of(6) } },
        { name: 'dw', value: f32([4, 1, 3, 3], 6) },
      ],
      nodes: [
        { op: 'Conv', inputs: ['x', 'w'], outputs: ['c'], attrs: { auto_pad: 'SAME_UPPER', strides: [2, 2], kernel_shape: [3, 3] } },
        { op: 'Clip', inputs: ['c', 'lo', 'hi'], outputs: ['r'] },
        { op: 'Conv', inputs: ['r', 'dw'], outputs: ['y'], attrs: { group: 4, pads: [1, 1, 1, 1], kernel_shape: [3, 3] } },
      ],
      outputs: [{ name: 'y', dtype: 'float32', shape: [1, 4, 5, 4] }],
    }));

  it('AveragePool count_include_pad=1 with strides and pads; MaxPool with asymmetric pads; channel Concat', () =>
    compareWithOrt({
      opset: 13,
      inputs: [{ name: 'x', value: f32([1, 3, 8, 7], 7) }],
      nodes: [
        { op: 'AveragePool', inputs: ['x'], outputs: ['a'], attrs: { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1], count_include_pad: 1 } },
        { op: 'MaxPool', inputs: ['x'], outputs: ['m'], attrs: { kernel_shape: [2, 3], strides: [2, 2], pads: [1, 1, 0, 1] } },
        { op: 'Concat', inputs: ['a', 'm'], outputs: ['y'], attrs: { axis: 1 } },
      ],
      outputs: [{ name: 'y', dtype: 'float32', shape: [1, 6, 4, 4] }],
    }));

  it('Softmax opset 11 on a 3-D tensor (normalises over axis 1 and 2 together)', () =>
    compareWithOrt({
      opset: 11,
      inputs: [{ name: 'x', value: f32([2, 3, 4], 8, -4, 4) }],
      nodes: [{ op: 'Softmax', inputs: ['x'], outputs: ['y'], attrs: { axis: 1 } }],
      outputs: [{ name: 'y', dtype: 'float32', shape: [2, 3, 4] }],
    }));

  it('MatMul broadcasting a batch of matrices against one matrix, then Sigmoid and Tanh', () =>
    compareWithOrt({
      opset: 13,
      inputs: [
        { name: 'a', value: f32([2, 3, 4, 5], 9) },
        { name: 'b', value: f32([5, 6], 10) },
      ],
      nodes: [
        { op: 'MatMul', inputs: ['a', 'b'], outputs: ['m'] },
        { op: 'Sigmoid', inputs: ['m'], outputs: ['s'] },
        { op: 'Tanh', inputs: ['m'], outputs: ['t'] },
        { op: 'Sub', inputs: ['s', 't'], outputs: ['y'] },
      ],
      outputs: [{ name: 'y', dtype: 'float32', shape: [2, 3, 4, 6] }],
    }));

  it('Gemm with alpha, beta, transA, transB and constant B and C', () =>
    compareWithOrt({
      opset: 13,
      inputs: [{ name: 'a', value: f32([7, 3], 11) }],
      inits: [
        { name: 'b', value: f32([5, 7], 12) },
        { name: 'c', value: f32([5], 13) },
      ],
      nodes: [{ op: 'Gemm', inputs: ['a', 'b', 'c'], outputs: ['y'], attrs: { alpha: 0.75, beta: 1.5, transA: 1, transB: 1 } }],
      outputs: [{ name: 'y', dtype: 'float32', shape: [3, 5] }],
    }));

  it('QLinearConv: uint8 input with zero point 128, padding, per-channel int8 weights, int32 bias, stride 2', () =>
    compareWithOrt({
      opset: 13,
      inputs: [{ name: 'x', value: intRand('uint8', [1, 3, 7, 6], 14) }],
      inits: [
        { name: 'xs', value: { dtype: 'float32', shape: [], data: Float32Array.of(0.02) } },
        { name: 'xz', value: ints('uint8', [], [128]) },
        // 7-bit weights: onnxruntime's x86 u8s8 kernels sum pairs of products in int16 with
        // saturation, so full-range weights would make the oracle itself inexact.
        { name: 'w', value: intRand('int8', [4, 3, 3, 3], 15, -64, 64) },
        { name: 'ws', value: { dtype: 'float32', shape: [4], data: Float32Array.of(0.003, 0.004, 0.0025, 0.005) } },
        { name: 'wz', value: ints('int8', [4], [0, 0, 0, 0]) },
        { name: 'ys', value: { dtype: 'float32', shape: [], data: Float32Array.of(0.05) } },
        { name: 'yz', value: ints('uint8', [], [100]) },
        { name: 'b', value: ints('int32', [4], [1000, -2000, 300, 0]) },
      ],
      nodes: [{ op: 'QLinearConv', inputs: ['x', 'xs', 'xz', 'w', 'ws', 'wz', 'ys', 'yz', 'b'], outputs: ['y'], attrs: { pads: [1, 1, 1, 1], strides: [2, 2], kernel_shape: [3, 3] } }],
      outputs: [{ name: 'y', dtype: 'uint8', shape: [1, 4, 4, 3] }],
    }));

  it('QuantizeLinear rounds ties to even and saturates; DequantizeLinear back', () =>
    compareWithOrt({
      opset: 13,
      inputs: [{ name: 'x', value: { dtype: 'float32', shape: [12], data: Float32Array.of(0.5, 1.5, 2.5, -0.5, -1.5, -2.5, 300, -300, 126.5, -128.5, 0.25, 3.75) } }],
      inits: [
        { name: 's', value: { dtype: 'float32', shape: [], data: Float32Array.of(1) } },
        { name: 'z', value: ints('int8', [], [0]) },
        { name: 's2', value: { dtype: 'float32', shape: [], data: Float32Array.of(0.5) } },
        { name: 'z2', value: ints('uint8', [], [10]) },
      ],
      nodes: [
        { op: 'QuantizeLinear', inputs: ['x', 's', 'z'], outputs: ['q'] },
        { op: 'QuantizeLinear', inputs: ['x', 's2', 'z2'], outputs: ['q2'] },
        { op: 'DequantizeLinear', inputs: ['q2', 's2', 'z2'], outputs: ['d'] },
      ],
      outputs: [
        { name: 'q', dtype: 'int8', shape: [12] },
        { name: 'q2', dtype: 'uint8', shape: [12] },
        { name: 'd', dtype: 'float32', shape: [12] },
      ],
    }));

  it('Pad: reflect and edge on an image-sized tensor, constant pad on the channel axis too', () =>
    compareWithOrt({
      opset: 13,
      inputs: [{ name: 'x', value: f32([1, 2, 5, 4], 16) }],
      inits: [
        { name: 'p1', value: ints('int64', [8], [0, 0, 2, 3, 0, 0, 1, 3]) },
        { name: 'p2', value: ints('int64', [8], [0, 1, 1, 2, 0, 0, 2, 1]) },
        { name: 'cv', value: { dtype: 'float32', shape: [], data: Float32Array.of(-7) } },
      ],
      nodes: [
        { op: 'Pad', inputs: ['x', 'p1'], outputs: ['r'], attrs: { mode: 'reflect' } },
        { op: 'Pad', inputs: ['x', 'p1'], outputs: ['e'], attrs: { mode: 'edge' } },
        { op: 'Pad', inputs: ['x', 'p2', 'cv'], outputs: ['c'], attrs: { mode: 'constant' } },
      ],
      outputs: [
        { name: 'r', dtype: 'float32', shape: [1, 2, 8, 10] },
        { name: 'e', dtype: 'float32', shape: [1, 2, 8, 10] },
        { name: 'c', dtype: 'float32', shape: [1, 3, 10, 7] },
      ],
    }));

  it('Conv then Add of a [C,1,1] bias and Mul by a scalar, GlobalAveragePool, Flatten, Gemm (an image classifier head)', () =>
    compareWithOrt({
      opset: 13,
      inputs: [{ name: 'x', value: f32([1, 3, 6, 6], 17) }],
      inits: [
        { name: 'w', value: f32([5, 3, 3, 3], 18) },
        { name: 'bias', value: f32([5, 1, 1], 19) },
        { name: 'k', value: { dtype: 'float32', shape: [], data: Float32Array.of(1.5) } },
        { name: 'fw', value: f32([5, 4], 20) },
      ],
      nodes: [
        { op: 'Conv', inputs: ['x', 'w'], outputs: ['c'], attrs: { kernel_shape: [3, 3] } },
        { op: 'Add', inputs: ['c', 'bias'], outputs: ['a'] },
        { op: 'Mul', inputs: ['a', 'k'], outputs: ['m'] },
        { op: 'GlobalAveragePool', inputs: ['m'], outputs: ['g'] },
        { op: 'Flatten', inputs: ['g'], outputs: ['f'] },
        { op: 'Gemm', inputs: ['f', 'fw'], outputs: ['y'] },
      ],
      outputs: [{ name: 'y', dtype: 'float32', shape: [1, 4] }],
    }));
});
