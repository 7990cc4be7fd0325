/**
 * What PyTorch and Keras exports contain, on small models built here: each is run by
 * onnxruntime (the oracle) and by tinyml's import + float engine, and must agree within 1e-5 of
 * the output's range. Structural facts are checked alongside: node order, no runtime TRANSPOSE
 * where the data order allows none.
 */
import { describe, expect, it } from 'vitest';
import { InvalidModelError } from '../../src/errors.ts';
import { importOnnx } from '../../src/formats/onnx/import.ts';
import { agree, attr, build, dynamicQuantized, floatConst, floatInit, input, intInit, node, valueInfo, type Feed } from '../helpers/onnx-build.ts';

const types = (g: { ops: { type: string }[] }): string[] => g.ops.map((o) => o.type);

describe('graph order', () => {
  const spec = (order: number[]) => {
    const nodes = [node('Relu', ['x'], ['a']), node('Sigmoid', ['a'], ['b']), node('Add', ['a', 'b'], ['y'])];
    return build({ nodes: order.map((i) => nodes[i]!), inputs: [valueInfo('x', [2, 3])], outputs: [valueInfo('y', [2, 3])] });
  };

  it('nodes listed out of order (keras2onnx) are sorted as onnxruntime sorts them', async () => {
    const g = await agree(spec([2, 1, 0]), { x: input([2, 3], 1) });
    expect(types(g)).toEqual(['RELU', 'LOGISTIC', 'ADD']);
  });

  it('a model already in order keeps its order', () => {
    expect(types(importOnnx(spec([0, 1, 2]), 'm.onnx'))).toEqual(['RELU', 'LOGISTIC', 'ADD']);
  });

  it('a true cycle is InvalidModelError naming a value on the cycle', () => {
    const bytes = build({
      nodes: [node('Add', ['x', 'c'], ['a']), node('Relu', ['a'], ['b']), node('Sigmoid', ['b'], ['c']), node('Relu', ['a'], ['y'])],
      inputs: [valueInfo('x', [2])],
      outputs: [valueInfo('y', [2])],
    });
    expect(() => importOnnx(bytes, 'cyc.onnx')).toThrowError(InvalidModelError);
    expect(() => importOnnx(bytes, 'cyc.onnx')).toThrowError(/cycle through '(a|b|c)'/);
  });

  it('a value nothing produces is InvalidModelError naming it and its reader', () => {
    const bytes = build({ nodes: [node('Add', ['x', 'ghost'], ['y'])], inputs: [valueInfo('x', [2])], outputs: [valueInfo('y', [2])] });
    expect(() => importOnnx(bytes, 'm.onnx')).toThrowError(/Add node 'Add_y' reads 'ghost', which no graph input, initializer or node produces/);
  });
});

describe('1-D convolution and pooling (Conv1d, TCNs) run as 2-D with a unit height', () => {
  const conv1d = (attrs: ReturnType<typeof attr.i>[], inShape = [1, 4, 16], k = 3, cout = 6, group = 1) =>
    build({
      nodes: [node('Conv', ['x', 'w', 'b'], ['c'], [...attrs, attr.i('group', group)]), node('Relu', ['c'], ['y'])],
      inputs: [valueInfo('x', inShape)],
      outputs: [{ name: 'y', type: { tensorType: { elemType: 1 } } }],
      initializers: [floatInit('w', [cout, inShape[1]! / group, k], 3), floatInit('b', [cout], 4)],
    });

  it.each([
    ['no padding', [] as ReturnType<typeof attr.i>[]],
    ['symmetric pads, stride 2', [attr.ints('pads', [1, 1]), attr.ints('strides', [2])]],
    ['causal pads (k-1, 0), dilation 2', [attr.ints('pads', [4, 0]), attr.ints('dilations', [2])]],
    ['SAME_LOWER', [attr.s('auto_pad', 'SAME_LOWER'), attr.ints('strides', [2])]],
  ])('Conv1d %s', async (_, attrs) => {
    const g = await agree(conv1d(attrs), { x: input([1, 4, 16], 5) });
    expect(types(g)).not.toContain('TRANSPOSE');
    const conv = g.ops.find((o) => o.type === 'CONV_2D')!;
    expect(g.tensors[conv.inputs[0]!]!.shape).toEqual([1, 1, 16, 4]);
  });

  it('depthwise Conv1d', async () => {
    const g = await agree(conv1d([attr.ints('pads', [1, 1])], [1, 4, 10], 3, 4, 4), { x: input([1, 4, 10], 6) });
    expect(types(g)).toEqual(['RESHAPE', 'DEPTHWISE_CONV_2D', 'RELU', 'RESHAPE']);
  });

  it('MaxPool1d / AvgPool1d / GlobalAveragePool on NCW', async () => {
    const bytes = build({
      nodes: [
        node('MaxPool', ['x'], ['m'], [attr.ints('kernel_shape', [3]), attr.ints('strides', [2]), attr.ints('pads', [1, 1])]),
        node('AveragePool', ['m'], ['a'], [attr.ints('kernel_shape', [2]), attr.i('ceil_mode', 1)]),
        node('GlobalAveragePool', ['a'], ['y']),
      ],
      inputs: [valueInfo('x', [1, 3, 15])],
      outputs: [{ name: 'y', type: { tensorType: { elemType: 1 } } }],
    });
    const g = await agree(bytes, { x: input([1, 3, 15], 7) });
    expect(types(g)).not.toContain('TRANSPOSE');
  });

  it('Unsqueeze -> Conv2d (1 x k) -> Squeeze moves no data', async () => {
    const bytes = build({
      nodes: [
        node('Unsqueeze', ['x', 'ax'], ['x4']),
        node('Conv', ['x4', 'w', 'b'], ['c'], [attr.ints('pads', [0, 2, 0, 0])]),
        node('Squeeze', ['c', 'ax'], ['y']),
      ],
      inputs: [valueInfo('x', [1, 4, 12])],
      outputs: [{ name: 'y', type: { tensorType: { elemType: 1 } } }],
      initializers: [intInit('ax', [2]), floatInit('w', [5, 4, 1, 3], 8), floatInit('b', [5], 9)],
    });
    const g = await agree(bytes, { x: input([1, 4, 12], 10) });
    expect(types(g)).toEqual(['RESHAPE', 'CONV_2D', 'RESHAPE']);
  });
});

describe('layout: no runtime TRANSPOSE where the data order allows none', () => {
  it('a Keras/tf2onnx model that transposes its NHWC input to NCHW and back', async () => {
    const bytes = build({
      nodes: [
        node('Transpose', ['x'], ['t'], [attr.ints('perm', [0, 3, 1, 2])]),
        node('Conv', ['t', 'w'], ['c'], [attr.ints('pads', [1, 1, 1, 1])]),
        node('Transpose', ['c'], ['y'], [attr.ints('perm', [0, 2, 3, 1])]),
      ],
      inputs: [valueInfo('x', [1, 6, 5, 3])],
      outputs: [{ name: 'y', type: { tensorType: { elemType: 1 } } }],
      initializers: [floatInit('w', [4, 3, 3, 3], 11)],
    });
    const g = await agree(bytes, { x: input([1, 6, 5, 3], 12) });
    expect(types(g)).toEqual(['CONV_2D']);
    expect(g.inputs[0]!.sourceLayout).toBeUndefined();
    expect(g.outputs[0]!.sourceLayout).toBeUndefined();
  });

  it('LeNet head: channel Concat, Flatten, Concat with a second input, Relu, Gemm', async () => {
    const bytes = build({
      nodes: [
        node('Conv', ['img', 'w'], ['c']),
        node('Flatten', ['c'], ['f']),
        node('Concat', ['f', 'feat'], ['cat'], [attr.i('axis', 1)]),
        node('Relu', ['cat'], ['r']),
        node('Gemm', ['r', 'gw', 'gb'], ['y'], [attr.i('transB', 1)]),
      ],
      inputs: [valueInfo('img', [1, 3, 4, 6]), valueInfo('feat', [1, 5])],
      outputs: [valueInfo('y', [1, 3])],
      initializers: [floatInit('w', [4, 3, 2, 2], 13), floatInit('gw', [3, 4 * 3 * 5 + 5], 14), floatInit('gb', [3], 15)],
    });
    const g = await agree(bytes, { img: input([1, 3, 4, 6], 16), feat: input([1, 5], 17) });
    expect(types(g)).toEqual(['CONV_2D', 'RESHAPE', 'CONCATENATION', 'RELU', 'FULLY_CONNECTED']);
  });
});

describe('activations and arithmetic', () => {
  const unary = (op: string, attrs: ReturnType<typeof attr.i>[] = [], opset = 14) =>
    build({ nodes: [node('Conv', ['x', 'w'], ['c']), node(op, ['c'], ['y'], attrs)], inputs: [valueInfo('x', [1, 2, 5, 5])], outputs: [valueInfo('y', [1, 3, 5, 5])], initializers: [floatInit('w', [3, 2, 1, 1], 20, (v) => 4 * v)], opset });

  it.each([
    ['HardSwish', [], 'HARD_SWISH'],
    ['HardSigmoid', [attr.f('alpha', 0.3), attr.f('beta', 0.4)], 'HARD_SIGMOID'],
    ['Elu', [attr.f('alpha', 0.7)], 'ELU'],
    ['LeakyRelu', [attr.f('alpha', 0.2)], 'LEAKY_RELU'],
  ])('%s', async (op, attrs, irType) => {
    const g = await agree(unary(op, attrs as ReturnType<typeof attr.i>[]), { x: input([1, 2, 5, 5], 21) });
    expect(types(g)).toEqual(['CONV_2D', irType]);
  });

  it('PRelu with a per-channel slope [C,1,1] on an NHWC tensor', async () => {
    const bytes = build({
      nodes: [node('Conv', ['x', 'w'], ['c']), node('PRelu', ['c', 's'], ['y'])],
      inputs: [valueInfo('x', [1, 2, 4, 4])],
      outputs: [valueInfo('y', [1, 3, 4, 4])],
      initializers: [floatInit('w', [3, 2, 1, 1], 22), floatInit('s', [3, 1, 1], 23)],
    });
    expect(types(await agree(bytes, { x: input([1, 2, 4, 4], 24) }))).toEqual(['CONV_2D', 'PRELU']);
  });

  it('Div by a constant and by a tensor', async () => {
    const bytes = build({
      nodes: [node('Div', ['x', 'six'], ['a']), node('Div', ['a', 'z'], ['y'])],
      inputs: [valueInfo('x', [2, 3]), valueInfo('z', [3])],
      outputs: [valueInfo('y', [2, 3])],
      initializers: [floatConst('six', [], [6])],
    });
    await agree(bytes, { x: input([2, 3], 25), z: { shape: [3], data: Float32Array.from([0.5, -2, 3]) } });
  });

  it.each(['Add', 'Sub', 'Mul', 'Div'])('integer %s (int32, truncating division)', async (op) => {
    const bytes = build({ nodes: [node(op, ['a', 'b'], ['y'])], inputs: [valueInfo('a', [5], 6), valueInfo('b', [5], 6)], outputs: [valueInfo('y', [5], 6)] });
    const feeds: Record<string, Feed> = { a: { shape: [5], data: Int32Array.from([7, -7, 2147483647, 100, -9]) }, b: { shape: [5], data: Int32Array.from([2, 2, 1, -3, 4]) } };
    await agree(bytes, feeds);
  });

  it.each([['ReduceSum', 13], ['ReduceMax', 18], ['ReduceMin', 18], ['ReduceMean', 18]])('%s over H,W of an image tensor and over C without keepdims', async (op, opset) => {
    const bytes = build({
      nodes: [node('Conv', ['x', 'w'], ['c']), node(op as string, ['c', 'hw'], ['s']), node(op as string, ['c', 'ch'], ['y'], [attr.i('keepdims', 0)])],
      inputs: [valueInfo('x', [1, 2, 3, 4])],
      outputs: [valueInfo('s', [1, 3, 1, 1]), valueInfo('y', [1, 3, 4])],
      initializers: [floatInit('w', [3, 2, 1, 1], 26), intInit('hw', [2, 3]), intInit('ch', [1])],
      opset: opset as number,
    });
    await agree(bytes, { x: input([1, 2, 3, 4], 27) });
  });
});

describe('Resize / Upsample', () => {
  const resize = (mode: string, coord: string, nearest: string, scales: number[] | null, sizes: number[] | null, opset = 13) =>
    build({
      nodes: [node('Conv', ['x', 'w'], ['c']), node('Resize', ['c', '', scales ? 'scales' : '', sizes ? 'sizes' : ''], ['y'], [attr.s('mode', mode), attr.s('coordinate_transformation_mode', coord), attr.s('nearest_mode', nearest)])],
      inputs: [valueInfo('x', [1, 2, 4, 5])],
      outputs: [{ name: 'y', type: { tensorType: { elemType: 1 } } }],
      initializers: [floatInit('w', [3, 2, 1, 1], 30), ...(scales ? [floatConst('scales', [4], scales)] : []), ...(sizes ? [intInit('sizes', sizes)] : [])],
      opset,
    });

  it.each([
    ['nearest', 'asymmetric', 'floor', [1, 1, 2, 2], null],
    ['nearest', 'half_pixel', 'round_prefer_floor', [1, 1, 2, 3], null],
    ['nearest', 'half_pixel', 'round_prefer_ceil', null, [1, 3, 7, 9]],
    ['nearest', 'align_corners', 'round_prefer_ceil', null, [1, 3, 7, 3]],
    ['nearest', 'tf_half_pixel_for_nn', 'floor', [1, 1, 1.5, 2], null],
    ['nearest', 'asymmetric', 'ceil', null, [1, 3, 3, 4]],
    ['linear', 'asymmetric', 'floor', [1, 1, 2, 2], null],
    ['linear', 'half_pixel', 'floor', null, [1, 3, 7, 9]],
    ['linear', 'pytorch_half_pixel', 'floor', [1, 1, 2, 2], null],
    ['linear', 'align_corners', 'floor', null, [1, 3, 8, 11]],
  ])('%s, %s, %s', async (mode, coord, nearest, scales, sizes) => {
    const g = await agree(resize(mode, coord, nearest, scales, sizes), { x: input([1, 2, 4, 5], 31) });
    expect(types(g)).toEqual(['CONV_2D', 'RESIZE']);
  });

  it('Upsample (opset 9) nearest x2', async () => {
    const bytes = build({
      nodes: [node('Conv', ['x', 'w'], ['c']), node('Upsample', ['c', 'scales'], ['y'], [attr.s('mode', 'nearest')])],
      inputs: [valueInfo('x', [1, 2, 3, 3])],
      outputs: [{ name: 'y', type: { tensorType: { elemType: 1 } } }],
      initializers: [floatInit('w', [3, 2, 1, 1], 32), floatConst('scales', [4], [1, 1, 2, 2])],
      opset: 9,
    });
    await agree(bytes, { x: input([1, 2, 3, 3], 33) });
  });
});

describe('Slice, Split, Gather of runtime tensors', () => {
  it('Slice with steps (negative too) of an image tensor', async () => {
    const bytes = build({
      nodes: [node('Conv', ['x', 'w'], ['c']), node('Slice', ['c', 'st', 'en', 'ax', 'sp'], ['y'])],
      inputs: [valueInfo('x', [1, 2, 6, 7])],
      outputs: [{ name: 'y', type: { tensorType: { elemType: 1 } } }],
      initializers: [floatInit('w', [4, 2, 1, 1], 34), intInit('st', [1, -1, 5]), intInit('en', [4, -100, 0]), intInit('ax', [1, 2, 3]), intInit('sp', [2, -2, -1])],
    });
    await agree(bytes, { x: input([1, 2, 6, 7], 35) });
  });

  it('Split (opset 13, unequal) and Split (opset 18, num_outputs)', async () => {
    for (const opset of [13, 18]) {
      const bytes = build({
        nodes: [node('Split', opset === 13 ? ['x', 'sizes'] : ['x'], ['a', 'b'], [attr.i('axis', 1), ...(opset === 18 ? [attr.i('num_outputs', 2)] : [])]), node('Mul', ['a', 'a'], ['y'])],
        inputs: [valueInfo('x', [2, 5])],
        outputs: [{ name: 'y', type: { tensorType: { elemType: 1 } } }, { name: 'b', type: { tensorType: { elemType: 1 } } }],
        initializers: opset === 13 ? [intInit('sizes', [2, 3])] : [],
        opset,
      });
      await agree(bytes, { x: input([2, 5], 36) });
    }
  });

  it('Gather with constant indices (scalar and list, negative)', async () => {
    const bytes = build({
      nodes: [node('Gather', ['x', 'i'], ['a'], [attr.i('axis', 1)]), node('Gather', ['x', 'j'], ['y'], [attr.i('axis', 0)])],
      inputs: [valueInfo('x', [3, 4])],
      outputs: [{ name: 'a', type: { tensorType: { elemType: 1 } } }, { name: 'y', type: { tensorType: { elemType: 1 } } }],
      initializers: [intInit('i', [2, -1, 0]), { name: 'j', dims: [], dataType: 7, int64Data: [-1] }],
    });
    await agree(bytes, { x: input([3, 4], 37) });
  });
});

describe('ConvTranspose, ConvInteger, MatMulInteger, pooling forms', () => {
  it.each([
    ['k4 s2 p1 (PyTorch upsampling)', [attr.ints('strides', [2, 2]), attr.ints('pads', [1, 1, 1, 1])], 1],
    ['k3 s2 p1 output_padding 1', [attr.ints('strides', [2, 2]), attr.ints('pads', [1, 1, 1, 1]), attr.ints('output_padding', [1, 1])], 1],
    ['SAME_UPPER', [attr.ints('strides', [2, 2]), attr.s('auto_pad', 'SAME_UPPER')], 1],
    ['groups 2, dilation 2', [attr.ints('dilations', [2, 2]), attr.i('group', 2)], 2],
  ])('ConvTranspose %s', async (_, attrs, group) => {
    const k = _.startsWith('k3') ? 3 : 4;
    const bytes = build({
      nodes: [node('ConvTranspose', ['x', 'w', 'b'], ['y'], attrs as ReturnType<typeof attr.i>[])],
      inputs: [valueInfo('x', [1, 4, 3, 5])],
      outputs: [{ name: 'y', type: { tensorType: { elemType: 1 } } }],
      initializers: [floatInit('w', [4, 6 / (group as number), k, k], 38), floatInit('b', [6], 39)],
    });
    const g = await agree(bytes, { x: input([1, 4, 3, 5], 40) });
    expect(types(g)).toEqual(['TRANSPOSE_CONV']);
  });

  it('ConvInteger and MatMulInteger (uint8 with zero points)', async () => {
    const conv = build({
      nodes: [node('ConvInteger', ['x', 'w', 'xz', 'wz'], ['y'], [attr.ints('pads', [1, 1, 1, 1])])],
      inputs: [valueInfo('x', [1, 2, 4, 4], 2)],
      outputs: [{ name: 'y', type: { tensorType: { elemType: 6 } } }],
      initializers: [
        { name: 'w', dims: [3, 2, 3, 3], dataType: 2, rawData: Uint8Array.from({ length: 54 }, (_, i) => (i * 37) % 256) },
        { name: 'xz', dims: [], dataType: 2, rawData: Uint8Array.from([120]) },
        { name: 'wz', dims: [], dataType: 2, rawData: Uint8Array.from([128]) },
      ],
      opset: 10,
    });
    await agree(conv, { x: { shape: [1, 2, 4, 4], data: Uint8Array.from({ length: 32 }, (_, i) => (i * 53) % 256) } });
    const mm = build({
      nodes: [node('MatMulInteger', ['a', 'b', 'az', 'bz'], ['y'])],
      inputs: [valueInfo('a', [3, 4], 3)],
      outputs: [{ name: 'y', type: { tensorType: { elemType: 6 } } }],
      initializers: [
        { name: 'b', dims: [4, 2], dataType: 3, rawData: Int8Array.from([1, -2, 3, -4, 5, -6, 7, -128]) as unknown as Uint8Array },
        { name: 'az', dims: [], dataType: 3, rawData: Uint8Array.from([5]) },
        { name: 'bz', dims: [2], dataType: 3, rawData: Uint8Array.from([1, 255]) },
      ],
      opset: 10,
    });
    await agree(mm, { a: { shape: [3, 4], data: Int8Array.from([1, 2, 3, 4, -5, -6, -7, -8, 127, -128, 0, 9]) } });
  });

  it.each([
    ['Conv', 'conv', false],
    ['Conv, per-channel weight scales', 'conv', true],
    ['MatMul', 'matmul', false],
    ['MatMul, per-column weight scales', 'matmul', true],
  ] as const)('onnxruntime quantize_dynamic output: DynamicQuantizeLinear, %s (Integer), Cast, Mul, Add', async (_, kind, perChannel) => {
    await agree(dynamicQuantized(kind, perChannel), { x: input(kind === 'conv' ? [1, 3, 6, 6] : [2, 6], 64, 3) });
  });

  it.each([
    ['MaxPool dilations 2', 'MaxPool', [attr.ints('kernel_shape', [2, 2]), attr.ints('dilations', [2, 2])]],
    ['MaxPool ceil_mode with pads', 'MaxPool', [attr.ints('kernel_shape', [3, 3]), attr.ints('strides', [3, 3]), attr.ints('pads', [1, 1, 1, 1]), attr.i('ceil_mode', 1)]],
    ['AveragePool ceil_mode + count_include_pad', 'AveragePool', [attr.ints('kernel_shape', [3, 3]), attr.ints('strides', [2, 2]), attr.ints('pads', [1, 1, 1, 1]), attr.i('ceil_mode', 1), attr.i('count_include_pad', 1)]],
    ['AveragePool SAME_LOWER', 'AveragePool', [attr.ints('kernel_shape', [2, 3]), attr.s('auto_pad', 'SAME_LOWER')]],
  ])('%s', async (_, op, attrs) => {
    const bytes = build({ nodes: [node(op as string, ['x'], ['y'], attrs as ReturnType<typeof attr.i>[])], inputs: [valueInfo('x', [1, 2, 8, 7])], outputs: [{ name: 'y', type: { tensorType: { elemType: 1 } } }], opset: 19 });
    await agree(bytes, { x: input([1, 2, 8, 7], 41) });
  });
});

describe('inspect shows what the model declares', () => {
  it('NCHW / NCW inputs and outputs: the declared shape and layout, with the NHWC the IR runs beside it', async () => {
    const { inspectGraph } = await import('../../src/inspect/inspect.ts');
    const bytes = build({
      nodes: [node('Conv', ['x', 'w'], ['y'])],
      inputs: [valueInfo('x', [1, 3, 12])],
      outputs: [valueInfo('y', [1, 2, 10])],
      initializers: [floatInit('w', [2, 3, 3], 1)],
    });
    const r = inspectGraph(importOnnx(bytes, 'c1.onnx'), { path: 'c1.onnx' });
    expect(r.inputs[0]).toMatchObject({ name: 'x', shape: [1, 12, 3], declared: { shape: [1, 3, 12], layout: 'NCW', irLayout: 'NWC' } });
    expect(r.outputs[0]).toMatchObject({ name: 'y', shape: [1, 10, 2], declared: { shape: [1, 2, 10], layout: 'NCW', irLayout: 'NWC' } });
    const img = build({ nodes: [node('Conv', ['x', 'w'], ['y'])], inputs: [valueInfo('x', [1, 3, 5, 6])], outputs: [valueInfo('y', [1, 2, 3, 4])], initializers: [floatInit('w', [2, 3, 3, 3], 1)] });
    const r4 = inspectGraph(importOnnx(img, 'c2.onnx'), { path: 'c2.onnx' });
    expect(r4.inputs[0]).toMatchObject({ shape: [1, 5, 6, 3], declared: { shape: [1, 3, 5, 6], layout: 'NCHW', irLayout: 'NHWC' } });
  });
});
