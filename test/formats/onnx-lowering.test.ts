/**
 * ONNX lowering paths the shared models do not reach, on small models built here with onnx-proto:
 * each is run by onnxruntime (the real runtime, the oracle) and by the float executor on our
 * imported IR, and the outputs must agree element by element (rtol 1e-4, atol 1e-5). Structural
 * facts (what was folded, which transposes exist) are checked alongside.
 */
import onnxProto from 'onnx-proto';
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { InvalidModelError, UnsupportedError } from '../../src/errors.ts';
import type { Graph } from '../../src/ir/graph.ts';
import { importOnnx } from '../../src/formats/onnx/import.ts';
import { runFloat } from '../../src/reference/float/index.ts';
import { transposeValue } from '../../src/reference/layout.ts';

const { onnx } = onnxProto;
type Attr = onnxProto.onnx.IAttributeProto;

// ---- a tiny model builder -------------------------------------------------------------------

const attr = {
  i: (name: string, v: number): Attr => ({ name, type: 2, i: v }),
  f: (name: string, v: number): Attr => ({ name, type: 1, f: v }),
  ints: (name: string, v: number[]): Attr => ({ name, type: 7, ints: v }),
  s: (name: string, v: string): Attr => ({ name, type: 3, s: new TextEncoder().encode(v) }),
};

function node(opType: string, input: string[], output: string[], attribute: Attr[] = [], domain = ''): onnxProto.onnx.INodeProto {
  return { opType, input, output, attribute, name: `${opType}_${output[0]}`, domain };
}

function valueInfo(name: string, dims: (number | string)[], elemType = 1): onnxProto.onnx.IValueInfoProto {
  return {
    name,
    type: { tensorType: { elemType, shape: { dim: dims.map((d) => (typeof d === 'string' ? { dimParam: d } : { dimValue: d })) } } },
  };
}

/** Deterministic pseudo-random floats in [-1, 1). */
function values(n: number, seed: number): number[] {
  let s = seed >>> 0;
  return Array.from({ length: n }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2147483648 - 1;
  });
}

function floatInit(name: string, dims: number[], seed: number, map: (v: number) => number = (v) => v): onnxProto.onnx.ITensorProto {
  return { name, dims, dataType: 1, floatData: values(dims.reduce((a, b) => a * b, 1), seed).map(map) };
}

function int8Init(name: string, dims: number[], seed: number): onnxProto.onnx.ITensorProto {
  return { name, dims, dataType: 3, int32Data: values(dims.reduce((a, b) => a * b, 1), seed).map((v) => Math.round(v * 127)) };
}

function intInit(name: string, v: number[]): onnxProto.onnx.ITensorProto {
  return { name, dims: [v.length], dataType: 7, int64Data: v };
}

interface Spec {
  nodes: onnxProto.onnx.INodeProto[];
  inputs: onnxProto.onnx.IValueInfoProto[];
  outputs: onnxProto.onnx.IValueInfoProto[];
  initializers?: onnxProto.onnx.ITensorProto[];
  opset?: number;
}

function build(spec: Spec): Uint8Array {
  const model = onnx.ModelProto.create({
    irVersion: 7,
    producerName: 'tinyml-test',
    opsetImport: [{ domain: '', version: spec.opset ?? 13 }],
    graph: { name: 'g', node: spec.nodes, input: spec.inputs, output: spec.outputs, initializer: spec.initializers ?? [] },
  });
  return onnx.ModelProto.encode(model).finish();
}

/** Runs the model in onnxruntime and through our importer + float executor; compares outputs. */
async function agree(bytes: Uint8Array, feeds: Record<string, { shape: number[]; data: Float32Array }>): Promise<Graph> {
  // Unoptimised: onnxruntime runs each node as written (no QDQ fusion into integer kernels).
  const session = await ort.InferenceSession.create(bytes, { graphOptimizationLevel: 'disabled' });
  const ortFeeds: Record<string, ort.Tensor> = {};
  for (const [k, v] of Object.entries(feeds)) ortFeeds[k] = new ort.Tensor('float32', v.data, v.shape);
  const expected = await session.run(ortFeeds);

  const g = importOnnx(bytes, 'synthetic.onnx');
  const inputs = g.inputs.map((gi) => {
    const name = g.tensors[gi.tensor]!.name;
    const f = feeds[name]!;
    const v = { dtype: 'float32' as const, shape: f.shape, data: f.data };
    return gi.sourceLayout ? transposeValue(v, gi.sourceLayout.perm) : v;
  });
  const result = runFloat(g, inputs);
  g.outputs.forEach((go, i) => {
    let got = result.outputs[i]!;
    if (go.sourceLayout) got = transposeValue(got, go.sourceLayout.perm.map((_, k) => go.sourceLayout!.perm.indexOf(k)));
    const exp = expected[session.outputNames[i]!]!;
    expect(got.shape, `output ${i} shape`).toEqual(exp.dims.map(Number));
    const e = exp.data as Float32Array;
    for (let k = 0; k < e.length; k++) {
      const err = Math.abs(Number(got.data[k]) - e[k]!);
      if (err > 1e-5 + 1e-4 * Math.abs(e[k]!)) expect.fail(`output ${i} element ${k}: ${Number(got.data[k])} vs onnxruntime ${e[k]}`);
    }
  });
  return g;
}

const input = (shape: number[], seed: number): { shape: number[]; data: Float32Array } => ({
  shape,
  data: Float32Array.from(values(shape.reduce((a, b) => a * b, 1), seed)),
});

// ---- the cases ------------------------------------------------------------------------------

describe('ONNX lowering agrees with onnxruntime', () => {
  it('Conv + BatchNormalization (folded) + Relu + MaxPool ceil_mode + Flatten + Gemm (weights folded, flatten order folded)', async () => {
    const bytes = build({
      opset: 11,
      nodes: [
        node('Conv', ['x', 'w', 'b'], ['c'], [attr.ints('pads', [1, 0, 2, 1]), attr.ints('strides', [2, 1])]),
        node('BatchNormalization', ['c', 'bn_s', 'bn_b', 'bn_m', 'bn_v'], ['bn'], [attr.f('epsilon', 1e-3)]),
        node('Relu', ['bn'], ['r']),
        node('MaxPool', ['r'], ['p'], [attr.ints('kernel_shape', [3, 3]), attr.ints('strides', [2, 2]), attr.i('ceil_mode', 1)]),
        node('Flatten', ['p'], ['f']),
        node('Gemm', ['f', 'gw', 'gc'], ['y'], [attr.i('transB', 1), attr.f('alpha', 0.5), attr.f('beta', 2)]),
      ],
      inputs: [valueInfo('x', [1, 3, 9, 9])],
      outputs: [valueInfo('y', [1, 5])],
      initializers: [
        floatInit('w', [6, 3, 3, 3], 1),
        floatInit('b', [6], 2),
        floatInit('bn_s', [6], 3),
        floatInit('bn_b', [6], 4),
        floatInit('bn_m', [6], 5),
        floatInit('bn_v', [6], 6, (v) => v + 1.5),
        floatInit('gw', [5, 6 * 2 * 4], 7), // ceil_mode: 4 columns where floor gives 3
        floatInit('gc', [5], 8),
      ],
    });
    const g = await agree(bytes, { x: input([1, 3, 9, 9], 11) });
    expect(g.ops.map((o) => o.type)).toEqual(['CONV_2D', 'RELU', 'MAX_POOL_2D', 'RESHAPE', 'FULLY_CONNECTED']);
  });

  it('Concat on the channel axis, Softmax opset 11 over C*H*W, GlobalAveragePool, Reshape to 2-D (transposed back to NCHW)', async () => {
    const bytes = build({
      opset: 11,
      nodes: [
        node('Conv', ['x', 'w'], ['c'], [attr.s('auto_pad', 'SAME_LOWER'), attr.ints('strides', [2, 2])]),
        node('MaxPool', ['x'], ['xp'], [attr.ints('kernel_shape', [2, 2]), attr.s('auto_pad', 'SAME_UPPER'), attr.ints('strides', [2, 2])]),
        node('Concat', ['xp', 'c'], ['cat'], [attr.i('axis', 1)]),
        node('Softmax', ['cat'], ['sm'], [attr.i('axis', 1)]),
        node('GlobalAveragePool', ['cat'], ['gap']),
        node('Reshape', ['cat', 'shape'], ['flat']),
      ],
      inputs: [valueInfo('x', [2, 2, 5, 7])],
      outputs: [valueInfo('sm', [2, 6, 3, 4]), valueInfo('gap', [2, 6, 1, 1]), valueInfo('flat', [2, 72])],
      initializers: [floatInit('w', [4, 2, 3, 3], 21), intInit('shape', [0, -1])],
    });
    const g = await agree(bytes, { x: input([2, 2, 5, 7], 22) });
    const concat = g.ops.find((o) => o.type === 'CONCATENATION')!;
    expect(concat.attrs.axis).toBe(3);
    const softmax = g.ops.find((o) => o.type === 'SOFTMAX')!;
    expect(softmax.attrs.coerce2d).toBe(true);
    expect(g.ops.filter((o) => o.type === 'TRANSPOSE')).toHaveLength(1);
  });

  it('depthwise Conv with multiplier, per-channel Mul constant, broadcast Sub of a runtime 1-D input, Transpose, Pad reflect, AveragePool count_include_pad', async () => {
    const bytes = build({
      opset: 13,
      nodes: [
        node('Conv', ['x', 'w', 'b'], ['c'], [attr.i('group', 3), attr.ints('pads', [1, 1, 1, 1]), attr.ints('dilations', [2, 1])]),
        node('Mul', ['c', 'scale'], ['m']),
        node('Sub', ['m', 'v'], ['s']),
        node('Pad', ['s', 'pads'], ['pd'], [attr.s('mode', 'reflect')]),
        node('AveragePool', ['pd'], ['ap'], [attr.ints('kernel_shape', [3, 2]), attr.ints('pads', [1, 1, 1, 1]), attr.i('count_include_pad', 1)]),
        node('Transpose', ['ap'], ['y'], [attr.ints('perm', [0, 3, 1, 2])]),
      ],
      inputs: [valueInfo('x', [1, 3, 7, 6]), valueInfo('v', [6])],
      outputs: [valueInfo('y', [1, 10, 6, 8])],
      initializers: [
        floatInit('w', [6, 1, 3, 3], 31),
        floatInit('b', [6], 32),
        floatInit('scale', [6, 1, 1], 33),
        intInit('pads', [0, 0, 1, 2, 0, 0, 2, 1]),
      ],
    });
    const g = await agree(bytes, { x: input([1, 3, 7, 6], 34), v: input([6], 35) });
    expect(g.ops.find((o) => o.type === 'DEPTHWISE_CONV_2D')!.attrs).toMatchObject({ depthMultiplier: 2, dilationH: 2, dilationW: 1 });
    // NCHW pads (H: 1,2 W: 2,1) land on NHWC axes 1 and 2.
    expect(g.ops.find((o) => o.type === 'PAD')!.attrs.pads).toEqual([0, 0, 1, 2, 2, 1, 0, 0]);
    expect(g.outputs[0]!.sourceLayout).toBeDefined();
  });

  it('Gemm with transA, constant B and a full [M,N] C; MatMul with 1-D operands; 3-D MatMul with constant B', async () => {
    const bytes = build({
      opset: 13,
      nodes: [
        node('Gemm', ['a', 'gb', 'gc'], ['g'], [attr.i('transA', 1), attr.f('alpha', 0.3), attr.f('beta', 0.7)]),
        node('MatMul', ['g', 'vec'], ['gv']),
        node('MatMul', ['v', 'mb'], ['vm']),
        node('MatMul', ['t', 'tb'], ['tm']),
        node('Add', ['tm', 'tbias'], ['tadd']),
      ],
      inputs: [valueInfo('a', [3, 4]), valueInfo('v', [4]), valueInfo('t', [2, 3, 4])],
      outputs: [valueInfo('gv', [4]), valueInfo('vm', [2]), valueInfo('tadd', [2, 3, 5])],
      initializers: [floatInit('gb', [3, 5], 41), floatInit('gc', [4, 5], 42), floatInit('vec', [5], 43), floatInit('mb', [4, 2], 44), floatInit('tb', [4, 5], 45), floatInit('tbias', [5], 46)],
    });
    const g = await agree(bytes, { a: input([3, 4], 47), v: input([4], 48), t: input([2, 3, 4], 49) });
    const fc3 = g.ops.filter((o) => o.type === 'FULLY_CONNECTED').find((o) => o.attrs.keepNumDims === true)!;
    expect(fc3.inputs[2]).toBeGreaterThanOrEqual(0); // the following Add became the bias
  });

  it('Clip (opset 13 constant inputs) becomes RELU6, LeakyRelu, Sigmoid, Tanh, Constant nodes, Unsqueeze/Squeeze', async () => {
    const bytes = build({
      opset: 13,
      nodes: [
        node('Constant', [], ['lo'], [{ name: 'value', type: 4, t: { dims: [], dataType: 1, floatData: [0] } }]),
        node('Constant', [], ['hi'], [{ name: 'value_float', type: 1, f: 6 }]),
        node('Constant', [], ['axes'], [{ name: 'value_ints', type: 7, ints: [0, 2] }]),
        node('Clip', ['x', 'lo', 'hi'], ['c']),
        node('LeakyRelu', ['x'], ['l'], [attr.f('alpha', 0.2)]),
        node('Sigmoid', ['l'], ['s']),
        node('Tanh', ['s'], ['t']),
        node('Add', ['c', 't'], ['sum']),
        node('Unsqueeze', ['sum', 'axes'], ['u']),
        node('Squeeze', ['u', 'axes'], ['y']),
      ],
      inputs: [valueInfo('x', [3, 4])],
      outputs: [valueInfo('y', [3, 4])],
    });
    const g = await agree(bytes, { x: { shape: [3, 4], data: Float32Array.from(values(12, 5).map((v) => v * 10)) } });
    expect(g.ops.map((o) => o.type)).toEqual(['RELU6', 'LEAKY_RELU', 'LOGISTIC', 'TANH', 'ADD', 'RESHAPE', 'RESHAPE']);
  });
});

describe('ReduceMean', () => {
  it('over NHWC tensors: axes remapped, kept dims in ONNX order (transposed back only when needed)', async () => {
    const bytes = build({
      opset: 13,
      nodes: [
        node('Conv', ['x', 'w'], ['c']),
        node('ReduceMean', ['c'], ['hw'], [attr.ints('axes', [2, 3])]),
        node('ReduceMean', ['c'], ['ch'], [attr.ints('axes', [1]), attr.i('keepdims', 0)]),
        node('ReduceMean', ['c'], ['h'], [attr.ints('axes', [-2]), attr.i('keepdims', 0)]),
        node('ReduceMean', ['c'], ['all'], [attr.i('keepdims', 0)]),
      ],
      inputs: [valueInfo('x', [2, 3, 5, 4])],
      outputs: [valueInfo('hw', [2, 4, 1, 1]), valueInfo('ch', [2, 3, 2]), valueInfo('h', [2, 4, 2]), valueInfo('all', [])],
      initializers: [floatInit('w', [4, 3, 3, 3], 91)],
    });
    const g = await agree(bytes, { x: input([2, 3, 5, 4], 92) });
    expect(g.ops.map((o) => o.type)).toEqual(['CONV_2D', 'MEAN', 'MEAN', 'TRANSPOSE', 'MEAN', 'MEAN']);
    expect(g.ops[1]!.attrs).toEqual({ axes: [1, 2], keepDims: true });
  });
});

describe('shape arithmetic is evaluated at import', () => {
  it('PyTorch x.view(x.size(0), -1): Shape -> Gather -> Unsqueeze -> Concat -> Reshape, plus Slice, Cast, ConstantOfShape', async () => {
    const bytes = build({
      opset: 13,
      nodes: [
        node('Conv', ['x', 'w'], ['c']),
        node('Shape', ['c'], ['s']),
        node('Gather', ['s', 'zero'], ['n'], [attr.i('axis', 0)]),
        node('Unsqueeze', ['n', 'axes0'], ['n1']),
        node('Concat', ['n1', 'minus1'], ['shp'], [attr.i('axis', 0)]),
        node('Reshape', ['c', 'shp'], ['f']),
        node('MatMul', ['f', 'mw'], ['y']),
        node('Slice', ['s', 'one', 'two'], ['ch']),
        node('Cast', ['ch'], ['chf'], [attr.i('to', 1)]),
        node('Add', ['y', 'chf'], ['y2']),
        node('ConstantOfShape', ['three'], ['twos'], [{ name: 'value', type: 4, t: { dims: [1], dataType: 1, floatData: [2] } }]),
        node('Mul', ['y2', 'twos'], ['out']),
      ],
      inputs: [valueInfo('x', [2, 3, 6, 6])],
      outputs: [valueInfo('out', [2, 3])],
      initializers: [
        floatInit('w', [4, 3, 3, 3], 71),
        floatInit('mw', [64, 3], 72),
        { name: 'zero', dims: [], dataType: 7, int64Data: [0] },
        intInit('axes0', [0]),
        intInit('minus1', [-1]),
        intInit('one', [1]),
        intInit('two', [2]),
        intInit('three', [3]),
      ],
    });
    const g = await agree(bytes, { x: input([2, 3, 6, 6], 73) });
    // No transpose back to NCHW: the constant Reshape target let the flatten order fold into the weights.
    expect(g.ops.map((o) => o.type)).toEqual(['CONV_2D', 'RESHAPE', 'FULLY_CONNECTED', 'ADD', 'MUL']);
  });
});

describe('QDQ models (QuantizeLinear/DequantizeLinear with constant parameters)', () => {
  it('DequantizeLinear weights are permuted at import with their per-channel quantization; activations keep their scales', async () => {
    const bytes = build({
      opset: 13,
      nodes: [
        node('QuantizeLinear', ['x', 'xs', 'xz'], ['xq']),
        node('DequantizeLinear', ['xq', 'xs', 'xz'], ['xd']),
        node('DequantizeLinear', ['wq', 'ws', 'wz'], ['wd'], [attr.i('axis', 0)]),
        node('Conv', ['xd', 'wd', 'b'], ['c'], [attr.ints('pads', [1, 1, 1, 1])]),
        node('Relu', ['c'], ['r']),
        node('Flatten', ['r'], ['f']),
        node('DequantizeLinear', ['mq', 'ms', 'mz'], ['md'], [attr.i('axis', 1)]),
        node('MatMul', ['f', 'md'], ['y']),
      ],
      inputs: [valueInfo('x', [1, 3, 4, 4])],
      outputs: [valueInfo('y', [1, 5])],
      initializers: [
        { name: 'xs', dims: [], dataType: 1, floatData: [0.01] },
        { name: 'xz', dims: [], dataType: 3, int32Data: [-3] },
        int8Init('wq', [4, 3, 3, 3], 61),
        floatInit('ws', [4], 62, (v) => 0.01 + Math.abs(v) * 0.02),
        { name: 'wz', dims: [4], dataType: 3, int32Data: [0, 0, 0, 0] },
        floatInit('b', [4], 63),
        int8Init('mq', [64, 5], 64),
        floatInit('ms', [5], 65, (v) => 0.005 + Math.abs(v) * 0.01),
        { name: 'mz', dims: [5], dataType: 3, int32Data: [0, 0, 0, 0, 0] },
      ],
    });
    const g = await agree(bytes, { x: input([1, 3, 4, 4], 66) });
    expect(g.ops.map((o) => o.type)).toEqual(['QUANTIZE', 'DEQUANTIZE', 'DEQUANTIZE', 'CONV_2D', 'RELU', 'TRANSPOSE', 'RESHAPE', 'DEQUANTIZE', 'FULLY_CONNECTED']);
    // The conv filter is DEQUANTIZE of an int8 constant already in [O, KH, KW, I], scales per O.
    const conv = g.ops[3]!;
    const deq = g.ops.find((o) => o.outputs[0] === conv.inputs[1])!;
    const wq = g.tensors[deq.inputs[0]!]!;
    expect(wq.dtype).toBe('int8');
    expect(wq.shape).toEqual([4, 3, 3, 3]);
    expect(wq.quant!.axis).toBe(0);
    expect(wq.quant!.scale).toHaveLength(4);
    // The activation's scale sits on the quantized tensor (QUANTIZE output, DEQUANTIZE input).
    expect(g.tensors[g.ops[0]!.outputs[0]!]!.quant).toMatchObject({ zeroPoint: [-3], axis: 0 });
    expect(g.tensors[g.ops[0]!.outputs[0]!]!.quant!.scale[0]).toBeCloseTo(0.01, 9);
    // The dense weights [N, K]: the per-column scales of B [K, N] are now per row.
    const fcW = g.tensors[g.ops[7]!.inputs[0]!]!;
    expect(fcW.shape).toEqual([5, 64]);
    expect(fcW.quant!.axis).toBe(0);
  });
});

describe('older opsets: attributes where newer opsets take inputs', () => {
  it('opset 10: Clip min/max, Pad pads/value, Softmax coerce-to-2-D on 3-D, Unsqueeze/Squeeze axes attributes', async () => {
    const bytes = build({
      opset: 10,
      nodes: [
        node('Clip', ['x'], ['c'], [attr.f('min', -0.5), attr.f('max', 0.25)]),
        node('Pad', ['c'], ['p'], [attr.ints('pads', [0, 1, 0, 0, 2, 1]), attr.f('value', 1.5)]),
        node('Softmax', ['p'], ['s']),
        node('Unsqueeze', ['s'], ['u'], [attr.ints('axes', [0])]),
        node('Squeeze', ['u'], ['q'], [attr.ints('axes', [0])]),
        node('Clip', ['q'], ['y'], [attr.f('min', 0)]),
      ],
      inputs: [valueInfo('x', [2, 3, 4])],
      outputs: [valueInfo('y', [2, 6, 5])],
    });
    const g = await agree(bytes, { x: input([2, 3, 4], 81) });
    expect(g.ops.map((o) => o.type)).toEqual(['CLIP', 'PAD', 'SOFTMAX', 'RESHAPE', 'RESHAPE', 'RELU']);
    expect(g.ops[0]!.attrs).toEqual({ min: -0.5, max: 0.25 });
    expect(g.ops[1]!.attrs).toEqual({ mode: 'CONSTANT', pads: [0, 0, 1, 2, 0, 1], constantValue: 1.5 });
    expect(g.ops[2]!.attrs).toEqual({ beta: 1, axis: 1, coerce2d: true });
  });
});

describe('ONNX import rules', () => {
  const convModel = (dims: (number | string)[], opset = 13): Uint8Array =>
    build({
      opset,
      nodes: [node('Conv', ['x', 'w'], ['y'], [attr.ints('kernel_shape', [1, 1])])],
      inputs: [valueInfo('x', dims)],
      outputs: [valueInfo('y', [dims[0]!, 2, 4, 4])],
      initializers: [floatInit('w', [2, 3, 1, 1], 1)],
    });

  it('a dynamic batch dimension is fixed to 1 with a warning', () => {
    const g = importOnnx(convModel(['N', 3, 4, 4]), 'dyn.onnx');
    expect(g.tensors[g.inputs[0]!.tensor]!.shape).toEqual([1, 4, 4, 3]);
    expect(g.warnings.join('\n')).toMatch(/input 'x': dynamic batch dimension 'N' fixed to 1/);
  });

  it('another dynamic dimension is UnsupportedError naming the input', () => {
    expect(() => importOnnx(convModel([1, 3, 'H', 4]), 'dyn.onnx')).toThrowError(UnsupportedError);
    expect(() => importOnnx(convModel([1, 3, 'H', 4]), 'dyn.onnx')).toThrowError(/input 'x' has a dynamic dimension 'H' at axis 2/);
  });

  it('opsets below 6 are UnsupportedError with the conversion to use', () => {
    expect(() => importOnnx(convModel([1, 3, 4, 4], 5), 'old.onnx')).toThrowError(/opset 5.*version_converter/);
  });

  it('graph inputs that are also initializers are constants, not inputs', () => {
    const bytes = build({
      nodes: [node('Conv', ['x', 'w'], ['y'])],
      inputs: [valueInfo('x', [1, 3, 4, 4]), valueInfo('w', [2, 3, 1, 1])],
      outputs: [valueInfo('y', [1, 2, 4, 4])],
      initializers: [floatInit('w', [2, 3, 1, 1], 1)],
    });
    const g = importOnnx(bytes, 'm.onnx');
    expect(g.inputs).toHaveLength(1);
    expect(g.ops.map((o) => o.type)).toEqual(['CONV_2D']);
  });

  it('an op of another domain imports as an unknown op with its domain, so inspect can name it', () => {
    const bytes = build({
      nodes: [node('Relu', ['x'], ['r']), node('FancyOp', ['r'], ['y'], [attr.i('k', 3)], 'com.example')],
      inputs: [valueInfo('x', [2, 3])],
      outputs: [valueInfo('y', [2, 3])],
    });
    const g = importOnnx(bytes, 'm.onnx');
    const op = g.ops[1]!;
    expect(op.type).toBe('FancyOp');
    expect(op.source).toEqual({ format: 'onnx', opType: 'FancyOp', name: 'FancyOp_y', domain: 'com.example' });
    expect(op.attrs.k).toBe(3);
  });

  it('a known op in a form we do not lower imports as an unsupported op when its shape is declared', () => {
    const conv3d = (declareOutput: boolean): Uint8Array =>
      build({
        nodes: [node('Conv', ['x', 'w'], ['y'])],
        inputs: [valueInfo('x', [1, 3, 4, 4, 4])],
        outputs: [declareOutput ? valueInfo('y', [1, 2, 2, 2, 2]) : { name: 'y', type: { tensorType: { elemType: 1 } } }],
        initializers: [floatInit('w', [2, 3, 3, 3, 3], 1)],
      });
    const g = importOnnx(conv3d(true), 'c3.onnx');
    expect(g.ops[0]!.type).toBe('Conv');
    expect(g.tensors[g.ops[0]!.outputs[0]!]!.shape).toEqual([1, 2, 2, 2, 2]);
    expect(g.warnings.join('\n')).toMatch(/Conv node 'Conv_y': input rank 5.*imported as an unsupported op/);
    expect(() => importOnnx(conv3d(false), 'c3.onnx')).toThrowError(/only 1-D and 2-D convolution/);
  });

  it('nodes without names get OpType_<index>; op version is the opset', () => {
    const bytes = build({ nodes: [{ opType: 'Relu', input: ['x'], output: ['y'] }], inputs: [valueInfo('x', [2])], outputs: [valueInfo('y', [2])], opset: 12 });
    const g = importOnnx(bytes, 'm.onnx');
    expect(g.ops[0]!.source.name).toBe('Relu_0');
    expect(g.ops[0]!.version).toBe(12);
  });

  it('a shape claiming more elements than memory can hold is InvalidModelError', () => {
    const bytes = build({ nodes: [node('Relu', ['x'], ['y'])], inputs: [valueInfo('x', [1, 100000, 100000, 100])], outputs: [valueInfo('y', [1, 100000, 100000, 100])] });
    expect(() => importOnnx(bytes, 'huge.onnx')).toThrowError(InvalidModelError);
    expect(() => importOnnx(bytes, 'huge.onnx')).toThrowError(/more elements than memory can hold/);
  });

  it('a protobuf that is a model header without a graph is InvalidModelError', () => {
    const bytes = onnx.ModelProto.encode(onnx.ModelProto.create({ irVersion: 7, opsetImport: [{ domain: '', version: 13 }] })).finish();
    expect(() => importOnnx(bytes, 'nograph.onnx')).toThrowError(InvalidModelError);
    expect(() => importOnnx(bytes, 'nograph.onnx')).toThrowError(/nograph\.onnx is not a valid ONNX model \(it has no graph\)/);
  });

  it('a node reading a value nobody produces is InvalidModelError', () => {
    const bytes = build({ nodes: [node('Relu', ['nope'], ['y'])], inputs: [valueInfo('x', [2])], outputs: [valueInfo('y', [2])] });
    expect(() => importOnnx(bytes, 'm.onnx')).toThrowError(InvalidModelError);
    expect(() => importOnnx(bytes, 'm.onnx')).toThrowError(/reads 'nope'/);
  });
});
