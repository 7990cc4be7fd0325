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
import { attr, build, floatInit, input, int8Agree, node, valueInfo } from './helpers/onnx-build.ts';

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
