/**
 * ONNX exports through `tinyml convert` to int8, op by op, on small models built here: the int8
 * reference within 2 output LSB of onnxruntime, the native C bit-identical with it (or, for a
 * kernel the native C does not have yet, refusing it by name: `pendingNative`, to be removed as
 * the kernels land).
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { attr, build, dynamicQuantized, floatInit, input, int8Agree, node, valueInfo } from './helpers/onnx-build.ts';

process.env['TINYML_CACHE_DIR'] ??= mkdtempSync(join(tmpdir(), 'tinyml-onnx-int8-cache-'));

const types = (g: { ops: { type: string }[] }): string[] => g.ops.map((o) => o.type);
const out = (name: string) => ({ name, type: { tensorType: { elemType: 1 } } });

describe('convolutions with PyTorch padding', () => {
  it('Conv2d k3 s2 p1 on an even input: PAD + VALID CONV_2D (folded back in the native C)', async () => {
    const bytes = build({
      nodes: [node('Conv', ['x', 'w', 'b'], ['y'], [attr.ints('pads', [1, 1, 1, 1]), attr.ints('strides', [2, 2])])],
      inputs: [valueInfo('x', [1, 3, 10, 10])], outputs: [out('y')],
      initializers: [floatInit('w', [6, 3, 3, 3], 1), floatInit('b', [6], 2)],
    });
    expect(types(await int8Agree(bytes, { x: input([1, 3, 10, 10], 3) }))).toEqual(['PAD', 'CONV_2D']);
  });

  it('causal Conv1d (pads k-1, 0; dilation 2) -> Relu -> Conv1d', async () => {
    const bytes = build({
      nodes: [
        node('Conv', ['x', 'w', 'b'], ['c'], [attr.ints('pads', [4, 0]), attr.ints('dilations', [2])]),
        node('Relu', ['c'], ['r']),
        node('Conv', ['r', 'w2', 'b2'], ['y'], [attr.ints('pads', [2, 0])]),
      ],
      inputs: [valueInfo('x', [1, 4, 20])], outputs: [out('y')],
      initializers: [floatInit('w', [5, 4, 3], 4), floatInit('b', [5], 5), floatInit('w2', [3, 5, 3], 6), floatInit('b2', [3], 7)],
    });
    await int8Agree(bytes, { x: input([1, 4, 20], 8) });
  });

  it('ConvTranspose2d k4 s2 p1 (TFLite SAME)', async () => {
    const bytes = build({
      nodes: [node('ConvTranspose', ['x', 'w', 'b'], ['y'], [attr.ints('strides', [2, 2]), attr.ints('pads', [1, 1, 1, 1])])],
      inputs: [valueInfo('x', [1, 4, 5, 5])], outputs: [out('y')],
      initializers: [floatInit('w', [4, 3, 4, 4], 9), floatInit('b', [3], 10)],
    });
    expect(types(await int8Agree(bytes, { x: input([1, 4, 5, 5], 11) }))).toEqual(['TRANSPOSE_CONV']);
  });
});

describe('Keras / tf2onnx layout', () => {
  it('a model that transposes its NHWC input to NCHW (and the output back) quantizes with no TRANSPOSE left', async () => {
    const bytes = build({
      nodes: [
        node('Transpose', ['x'], ['t'], [attr.ints('perm', [0, 3, 1, 2])]),
        node('Conv', ['t', 'w', 'b'], ['c'], [attr.ints('pads', [1, 1, 1, 1])]),
        node('Relu', ['c'], ['r']),
        node('Transpose', ['r'], ['y'], [attr.ints('perm', [0, 2, 3, 1])]),
      ],
      inputs: [valueInfo('x', [1, 6, 5, 3])], outputs: [out('y')],
      initializers: [floatInit('w', [4, 3, 3, 3], 16), floatInit('b', [4], 17)],
    });
    expect(types(await int8Agree(bytes, { x: input([1, 6, 5, 3], 18) }))).toEqual(['CONV_2D']);
  });
});

describe('average pools that exclude pads which are not SAME', () => {
  it.each([
    ['k3 s2 pads 1, ceil_mode, count_include_pad=0', [attr.ints('kernel_shape', [3, 3]), attr.ints('strides', [2, 2]), attr.ints('pads', [1, 1, 1, 1]), attr.i('ceil_mode', 1)], ['STRIDED_SLICE', 'CONCATENATION']],
    ['k3 s1 asymmetric pads [2,0,1,1]', [attr.ints('kernel_shape', [3, 3]), attr.ints('pads', [2, 0, 1, 1])], ['STRIDED_SLICE', 'CONCATENATION']],
    ['k2 s2 ceil_mode, count_include_pad=1, no pads (PyTorch AvgPool2d(2, ceil_mode=True)): SAME', [attr.ints('kernel_shape', [2, 2]), attr.ints('strides', [2, 2]), attr.i('ceil_mode', 1), attr.i('count_include_pad', 1)], []],
    ['k3 s2 pads 1, ceil_mode, count_include_pad=1: PAD of the counted pads', [attr.ints('kernel_shape', [3, 3]), attr.ints('strides', [2, 2]), attr.ints('pads', [1, 1, 1, 1]), attr.i('ceil_mode', 1), attr.i('count_include_pad', 1)], ['PAD']],
  ] as const)('%s: int8 against onnxruntime, one AVERAGE_POOL_2D in the native C', async (_, attrs, extra) => {
    const { generateNative } = await import('../src/codegen/native/generate.ts');
    const bytes = build({
      nodes: [node('Conv', ['x', 'w'], ['c']), node('AveragePool', ['c'], ['y'], [...attrs])],
      inputs: [valueInfo('x', [1, 3, 8, 9])], outputs: [out('y')],
      initializers: [floatInit('w', [4, 3, 1, 1], 55)], opset: 19,
    });
    const q = await int8Agree(bytes, { x: input([1, 3, 8, 9], 56) });
    for (const t of extra) expect(types(q)).toContain(t);
    const native = generateNative(q).lowered.ops.map((o) => o.type);
    expect(native.filter((t) => t !== 'PAD')).toEqual(['CONV_2D', 'AVERAGE_POOL_2D']);
  });
});

describe('refusals name the user\'s node', () => {
  it('Elu with alpha other than 1 (TFLite\'s ELU is alpha 1)', async () => {
    const { convertModel, DEFAULT_QUANTIZE_OPTIONS } = await import('../src/quantize/convert.ts');
    const { writeFileSync } = await import('node:fs');
    const dir = mkdtempSync(join(tmpdir(), 'tinyml-elu-'));
    writeFileSync(join(dir, 'm.onnx'), build({ nodes: [node('Elu', ['x'], ['y'], [attr.f('alpha', 0.5)])], inputs: [valueInfo('x', [1, 4])], outputs: [valueInfo('y', [1, 4])] }));
    writeFileSync(join(dir, 'c.json'), JSON.stringify([[1, -2, 3, -4]]));
    expect(() => convertModel(join(dir, 'm.onnx'), join(dir, 'c.json'), { ...DEFAULT_QUANTIZE_OPTIONS, output: join(dir, 'm.tflite') })).toThrowError(
      /ONNX Elu node 'Elu_y' has alpha 0.5, and TFLite's ELU computes alpha 1, so the model cannot be quantized: use alpha=1.0/,
    );
  });
});

describe('activations and arithmetic', () => {
  it('HardSigmoid: MUL, ADD + RELU6, MUL', async () => {
    const bytes = build({
      nodes: [node('Conv', ['x', 'w'], ['c']), node('HardSigmoid', ['c'], ['y'], [attr.f('alpha', 0.2), attr.f('beta', 0.5)])],
      inputs: [valueInfo('x', [1, 2, 4, 4])], outputs: [out('y')],
      initializers: [floatInit('w', [3, 2, 1, 1], 12, (v) => 4 * v)],
    });
    await int8Agree(bytes, { x: input([1, 2, 4, 4], 13) });
  });

  it('Div by a constant: MUL by its reciprocal', async () => {
    const bytes = build({
      nodes: [node('Conv', ['x', 'w'], ['c']), node('Div', ['c', 'k'], ['y'])],
      inputs: [valueInfo('x', [1, 2, 4, 4])], outputs: [out('y')],
      initializers: [floatInit('w', [3, 2, 1, 1], 14), { name: 'k', dims: [], dataType: 1, floatData: [3] }],
    });
    expect(types(await int8Agree(bytes, { x: input([1, 2, 4, 4], 15) }))).toEqual(['CONV_2D', 'MUL']);
  });
});

describe('the ONNX op list of issue 11, int8 and native C', () => {
  const img = (nodes: ReturnType<typeof node>[], outputs: string[], inits: ReturnType<typeof floatInit>[] = [], opset = 13) =>
    build({ nodes: [node('Conv', ['x', 'w'], ['c']), ...nodes], inputs: [valueInfo('x', [1, 3, 6, 6])], outputs: outputs.map(out), initializers: [floatInit('w', [4, 3, 3, 3], 40), ...inits], opset });
  const feed = { x: input([1, 3, 6, 6], 41) };
  const ints = (name: string, v: number[]) => ({ name, dims: [v.length], dataType: 7, int64Data: v });
  const floats = (name: string, v: number[], dims = [v.length]) => ({ name, dims, dataType: 1, floatData: v });

  it.each([
    ['Elu (alpha 1)', [node('Elu', ['c'], ['y'])], [], 14],
    ['Sigmoid', [node('Sigmoid', ['c'], ['y'])], [], 13],
    ['Tanh', [node('Tanh', ['c'], ['y'])], [], 13],
    ['LeakyRelu', [node('LeakyRelu', ['c'], ['y'], [attr.f('alpha', 0.1)])], [], 13],
    ['HardSwish', [node('HardSwish', ['c'], ['y'])], [], 14],
    ['Clip(-0.5, 0.7) as MAXIMUM/MINIMUM', [node('Clip', ['c', 'lo', 'hi'], ['y'])], [floats('lo', [-0.5], []), floats('hi', [0.7], [])], 13],
    ['Sub and Mul by a channel constant', [node('Sub', ['c', 'k'], ['s']), node('Mul', ['s', 'k'], ['y'])], [floats('k', [0.5, -1, 2, 0.25], [4, 1, 1])], 13],
    ['GlobalMaxPool', [node('GlobalMaxPool', ['c'], ['y'])], [], 13],
    ['ReduceMax over H, W', [node('ReduceMax', ['c'], ['y'], [attr.ints('axes', [2, 3])])], [], 13],
    ['ReduceSum over H, W', [node('ReduceSum', ['c', 'ax'], ['y'])], [ints('ax', [2, 3])], 13],
    ['ReduceMean over H, W', [node('ReduceMean', ['c'], ['y'], [attr.ints('axes', [2, 3])])], [], 13],
    ['Softmax over channels (axis 1)', [node('Softmax', ['c'], ['y'], [attr.i('axis', 1)])], [], 13],
    ['Transpose NCHW -> NWHC (a real TRANSPOSE)', [node('Transpose', ['c'], ['y'], [attr.ints('perm', [0, 3, 2, 1])])], [], 13],
    ['Slice with steps', [node('Slice', ['c', 'st', 'en', 'ax', 'sp'], ['y'])], [ints('st', [0, 1]), ints('en', [6, 6]), ints('ax', [2, 3]), ints('sp', [2, 2])], 13],
    ['Split on channels', [node('Split', ['c', 'sz'], ['a', 'b'], [attr.i('axis', 1)]), node('Add', ['a', 'b'], ['y'])], [ints('sz', [2, 2])], 13],
    ['Gather of channels', [node('Gather', ['c', 'gi'], ['y'], [attr.i('axis', 1)])], [ints('gi', [3, 0])], 13],
    ['Resize nearest x2 (asymmetric, floor)', [node('Resize', ['c', '', 'sc'], ['y'], [attr.s('mode', 'nearest'), attr.s('coordinate_transformation_mode', 'asymmetric'), attr.s('nearest_mode', 'floor')])], [floats('sc', [1, 1, 2, 2])], 13],
    ['Upsample (opset 9) nearest x2', [node('Upsample', ['c', 'sc'], ['y'], [attr.s('mode', 'nearest')])], [floats('sc', [1, 1, 2, 2])], 9],
    ['Resize bilinear x2 (half_pixel)', [node('Resize', ['c', '', 'sc'], ['y'], [attr.s('mode', 'linear'), attr.s('coordinate_transformation_mode', 'half_pixel')])], [floats('sc', [1, 1, 2, 2])], 13],
    ['Resize bilinear (align_corners)', [node('Resize', ['c', '', '', 'sz'], ['y'], [attr.s('mode', 'linear'), attr.s('coordinate_transformation_mode', 'align_corners')])], [ints('sz', [1, 4, 9, 11])], 13],
    ['Concat of two branches + Flatten + Gemm', [node('Relu', ['c'], ['r']), node('Concat', ['c', 'r'], ['k'], [attr.i('axis', 1)]), node('Flatten', ['k'], ['f']), node('Gemm', ['f', 'gw', 'gb'], ['y'], [attr.i('transB', 1)])], [floatInit('gw', [5, 8 * 16], 42), floatInit('gb', [5], 43)], 13],
  ])('%s', async (name, nodes, inits, opset) => {
    // TANH (output scale 1/128), SOFTMAX (1/256) and HARD_SWISH (slope up to 1.5) see the input's
    // rounding, half an input LSB of the conv's wide range, as up to ~2 LSB of their finer output
    // scale: the bound is that plus the op's own rounding.
    const lsb = /^(Tanh|HardSwish|Softmax)/.test(name as string) ? 4 : 2;
    await int8Agree(img(nodes as ReturnType<typeof node>[], ['y'], inits as ReturnType<typeof floatInit>[], opset as number), feed, { lsb });
  });

  it('ConvTranspose2d k3 s2 p1 output_padding 1: VALID TRANSPOSE_CONV + STRIDED_SLICE crop', async () => {
    const bytes = build({
      nodes: [node('ConvTranspose', ['x', 'w', 'b'], ['y'], [attr.ints('strides', [2, 2]), attr.ints('pads', [1, 1, 1, 1]), attr.ints('output_padding', [1, 1])])],
      inputs: [valueInfo('x', [1, 4, 5, 5])], outputs: [out('y')],
      initializers: [floatInit('w', [4, 3, 3, 3], 44), floatInit('b', [3], 45)],
    });
    expect(types(await int8Agree(bytes, { x: input([1, 4, 5, 5], 46) }))).toEqual(['TRANSPOSE_CONV', 'STRIDED_SLICE']);
  });

  it.each([
    ['groups 2, stride 2, pads 1', 2, 6, [1, 1], [1, 1, 1, 1], 'SPLIT'],
    ['groups 4 (one input channel each), dilations 2', 4, 8, [2, 2], [0, 0, 0, 0], 'SPLIT'],
    ['dilations [2, 1], pads 1 (no groups)', 1, 6, [2, 1], [1, 1, 1, 1], 'TRANSPOSE_CONV'],
  ] as const)('ConvTranspose2d %s: TFLite ops only (SPLIT / TRANSPOSE_CONV per group / CONCATENATION, dilated filter)', async (_, group, cout, dil, pads, first) => {
    const bytes = build({
      nodes: [node('ConvTranspose', ['x', 'w', 'b'], ['y'], [attr.ints('strides', [2, 2]), attr.ints('pads', [...pads]), attr.ints('dilations', [...dil]), attr.i('group', group)])],
      inputs: [valueInfo('x', [1, 4, 5, 5])], outputs: [out('y')],
      initializers: [floatInit('w', [4, cout / group, 3, 3], 52), floatInit('b', [cout], 53)],
    });
    const q = await int8Agree(bytes, { x: input([1, 4, 5, 5], 54) });
    expect(types(q)[0]).toBe(first);
    expect(q.ops.every((o) => Number(o.attrs.groups ?? 1) === 1 && Number(o.attrs.dilationH ?? 1) === 1)).toBe(true);
  });

  it('MatMul of two runtime tensors (BATCH_MATMUL) and Gemm with every attribute', async () => {
    const mm = build({ nodes: [node('MatMul', ['a', 'b'], ['y'])], inputs: [valueInfo('a', [2, 3, 4]), valueInfo('b', [2, 4, 5])], outputs: [out('y')] });
    await int8Agree(mm, { a: input([2, 3, 4], 47), b: input([2, 4, 5], 48) });
    const gemm = build({
      nodes: [node('Gemm', ['a', 'bw', 'c'], ['y'], [attr.f('alpha', 0.5), attr.f('beta', 2), attr.i('transA', 1), attr.i('transB', 1)])],
      inputs: [valueInfo('a', [4, 3])], outputs: [out('y')],
      initializers: [floatInit('bw', [5, 4], 49), floatInit('c', [3, 5], 50)],
    });
    await int8Agree(gemm, { a: input([4, 3], 51) });
  });
});

describe('onnxruntime quantize_dynamic models (ConvInteger / MatMulInteger) quantized statically', () => {
  it.each([
    ['Conv', 'conv', false, ['CONV_2D']],
    ['Conv, per-channel weight scales', 'conv', true, ['CONV_2D']],
    ['MatMul', 'matmul', false, ['FULLY_CONNECTED']],
    ['MatMul, per-column weight scales', 'matmul', true, ['FULLY_CONNECTED']],
  ] as const)('%s: the chain is one float op, then int8 within 2 LSB of onnxruntime running the dynamic model', async (_, kind, perChannel, ops) => {
    const q = await int8Agree(dynamicQuantized(kind, perChannel), { x: input(kind === 'conv' ? [1, 3, 6, 6] : [2, 6], 64, 3) });
    expect(types(q)).toEqual(ops);
  });

  it('a chain of another shape (the x zero point a constant) is refused naming the user\'s node', async () => {
    const { convertModel, DEFAULT_QUANTIZE_OPTIONS } = await import('../src/quantize/convert.ts');
    const { writeFileSync } = await import('node:fs');
    const dir = mkdtempSync(join(tmpdir(), 'tinyml-dyn-'));
    const bytes = build({
      nodes: [node('DynamicQuantizeLinear', ['x'], ['xq', 'xs', 'xz']), node('MatMulInteger', ['xq', 'wq', 'k'], ['yi']), node('Cast', ['yi'], ['y'], [attr.i('to', 1)])],
      inputs: [valueInfo('x', [2, 3])], outputs: [out('y')],
      initializers: [{ name: 'wq', dims: [3, 2], dataType: 2, rawData: Uint8Array.of(1, 2, 3, 4, 5, 6) }, { name: 'k', dims: [], dataType: 2, rawData: Uint8Array.of(128) }],
    });
    writeFileSync(join(dir, 'm.onnx'), bytes);
    writeFileSync(join(dir, 'c.json'), JSON.stringify([[1, -2, 3, -4, 0.5, 2]]));
    expect(() => convertModel(join(dir, 'm.onnx'), join(dir, 'c.json'), { ...DEFAULT_QUANTIZE_OPTIONS, output: join(dir, 'm.tflite') })).toThrowError(/MatMulInteger 'MatMulInteger_yi'/);
  });
});
