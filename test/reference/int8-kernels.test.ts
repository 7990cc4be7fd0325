/**
 * Int8 kernels that the golden models do not exercise (MAX_POOL, MUL, LOGISTIC, TANH, float
 * QUANTIZE, requantize, DEQUANTIZE, CONCATENATION, PAD, MEAN, depth multiplier > 1) on tiny
 * graphs whose results are worked out by hand in the comments, plus the executor's refusals.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DataError, UnsupportedError } from '../../src/errors.ts';
import { importTflite } from '../../src/formats/tflite/import.ts';
import type { AttrValue, DType, Graph, Op, Tensor } from '../../src/ir/graph.ts';
import { INT8_REFERENCE_OPS, runInt8 } from '../../src/reference/int8/index.ts';
import type { TensorValue } from '../../src/reference/tensor-value.ts';
import { MODELS } from '../helpers/shared.ts';

interface T {
  shape: number[];
  dtype?: DType;
  scale?: number;
  zp?: number;
  data?: number[];
}

/** A one-op graph: tensor 0..k-1 are the op inputs, the last tensor its output. */
function oneOp(type: string, inputs: T[], out: T, attrs: Record<string, AttrValue> = {}): Graph {
  const all = [...inputs, out];
  const tensors: Tensor[] = all.map((t, index) => {
    const dtype = t.dtype ?? 'int8';
    const tensor: Tensor = { index, name: `t${index}`, shape: t.shape, dtype };
    if (t.scale !== undefined) tensor.quant = { scale: [t.scale], zeroPoint: [t.zp ?? 0], axis: 0 };
    if (t.data !== undefined) {
      const arr = dtype === 'int8' ? Int8Array.from(t.data) : dtype === 'int32' ? Int32Array.from(t.data) : Float32Array.from(t.data);
      tensor.data = new Uint8Array(arr.buffer);
    }
    return tensor;
  });
  const op: Op = {
    index: 0,
    type,
    version: 1,
    inputs: inputs.map((_, i) => i),
    outputs: [inputs.length],
    attrs,
    source: { format: 'tflite', opType: type, name: 'node0' },
  };
  const runtimeInputs = tensors.filter((t) => t.data === undefined && t.index < inputs.length);
  return {
    format: 'tflite',
    tensors,
    ops: [op],
    inputs: runtimeInputs.map((t) => ({ tensor: t.index })),
    outputs: [{ tensor: inputs.length }],
    meta: {},
    warnings: [],
  };
}

function value(dtype: DType, shape: number[], data: number[]): TensorValue {
  const arr = dtype === 'int8' ? Int8Array.from(data) : dtype === 'int16' ? Int16Array.from(data) : Float32Array.from(data);
  return { dtype, shape, data: arr };
}

function run1(g: Graph, ...inputs: TensorValue[]): number[] {
  return Array.from(runInt8(g, inputs).outputs[0]!.data as ArrayLike<number>);
}

/** 1 x filterW pooling attributes, stride 1. */
const pool = (filterW: number, pads: number[]) => ({
  filterH: 1, filterW, strideH: 1, strideW: 1, padding: 'EXPLICIT', pads, fusedActivation: 'NONE', countIncludePad: false,
});

describe('pooling', () => {
  it('MAX_POOL_2D takes the window maximum and clamps to the fused activation', () => {
    const attrs = { filterH: 2, filterW: 2, strideH: 2, strideW: 2, padding: 'VALID', pads: [0, 0, 0, 0], fusedActivation: 'NONE', countIncludePad: false };
    const g = oneOp('MAX_POOL_2D', [{ shape: [1, 2, 2, 1], scale: 1, zp: 10 }], { shape: [1, 1, 1, 1], scale: 1, zp: 10 }, attrs);
    expect(run1(g, value('int8', [1, 2, 2, 1], [1, -5, 7, 3]))).toEqual([7]);
    // RELU: quantized 0.0 is the zero point 10, so max(7, 10) = 10.
    const relu = oneOp('MAX_POOL_2D', [{ shape: [1, 2, 2, 1], scale: 1, zp: 10 }], { shape: [1, 1, 1, 1], scale: 1, zp: 10 }, { ...attrs, fusedActivation: 'RELU' });
    expect(run1(relu, value('int8', [1, 2, 2, 1], [1, -5, 7, 3]))).toEqual([10]);
  });
  it('AVERAGE_POOL_2D rounds half away from zero and ignores padded points', () => {
    const g = oneOp('AVERAGE_POOL_2D', [{ shape: [1, 1, 2, 1], scale: 1 }], { shape: [1, 1, 1, 1], scale: 1 }, pool(2, [0, 0, 0, 0]));
    // (-3 - 1) / 2 = -2 (C truncation); (3 + 1) / 2 = 2; (-1 - 1) / 2 = -1; (1 + 1) / 2 = 1
    expect([[-3, 0], [3, 0], [-1, 0], [1, 0]].map((d) => run1(g, value('int8', [1, 1, 2, 1], d))[0])).toEqual([-2, 2, -1, 1]);
    // SAME-style pads left 1 / right 1: windows {10,20}, {10,20,31}, {20,31}
    // -> (30+1)/2 = 15, (61+1)/3 = 20, (51+1)/2 = 26
    const same = oneOp('AVERAGE_POOL_2D', [{ shape: [1, 1, 3, 1], scale: 1 }], { shape: [1, 1, 3, 1], scale: 1 }, pool(3, [0, 1, 0, 1]));
    expect(run1(same, value('int8', [1, 1, 3, 1], [10, 20, 31]))).toEqual([15, 20, 26]);
  });
});

describe('MUL', () => {
  it('multiplies offsets and requantizes by s1*s2/sOut, broadcasting', () => {
    // M = 0.5 * 0.25 / 0.125 = 1: (3 - 0) * (5 - 1) = 12; (-4) * 4 = -16
    const g = oneOp('MUL', [{ shape: [1, 2], scale: 0.5 }, { shape: [1], scale: 0.25, zp: 1 }], { shape: [1, 2], scale: 0.125 }, { fusedActivation: 'NONE' });
    expect(run1(g, value('int8', [1, 2], [3, -4]), value('int8', [1], [5]))).toEqual([12, -16]);
  });
});

describe('LOGISTIC and TANH', () => {
  // Input scale 1/16: the Q4.27 multiplier is frexp(2^-4 * 2^27) = (0.5, 24), radius
  // floor(15 * 2^27 / 2^24) = 120.
  it('LOGISTIC: sigmoid * 256 - 128, saturating beyond the radius', () => {
    const g = oneOp('LOGISTIC', [{ shape: [5], scale: 1 / 16 }], { shape: [5], scale: 1 / 256, zp: -128 });
    // x = 0 -> 0.5 -> 128 - 128 = 0; x = 16 (1.0) -> 0.7310586 * 256 = 187.15 -> 59;
    // x = -16 -> 0.2689414 * 256 = 68.85 -> -59; +-127 are beyond the radius.
    expect(run1(g, value('int8', [5], [0, 16, -16, 127, -127]))).toEqual([0, 59, -59, 127, -128]);
  });
  it('TANH: tanh * 128 with output zero point 0', () => {
    const g = oneOp('TANH', [{ shape: [5], scale: 1 / 16 }], { shape: [5], scale: 1 / 128 });
    // tanh(1) * 128 = 97.48 -> 97; tanh(0.5) * 128 = 59.15 -> 59
    expect(run1(g, value('int8', [5], [0, 16, -16, 8, 127]))).toEqual([0, 97, -97, 59, 127]);
  });
});

describe('QUANTIZE and DEQUANTIZE', () => {
  const xs = [0.25, -0.25, 0.75, 100, -100, 1.0];
  it('float -> int8 rounds x/scale half away from zero (TFLite)', () => {
    const g = oneOp('QUANTIZE', [{ shape: [6], dtype: 'float32' }], { shape: [6], scale: 0.5, zp: -1 }, { rounding: 'HALF_AWAY' });
    // 0.5 -> 1 -> 0; -0.5 -> -1 -> -2; 1.5 -> 2 -> 1; 200 -> 127; -200 -> -128; 2 -> 1
    expect(run1(g, value('float32', [6], xs))).toEqual([0, -2, 1, 127, -128, 1]);
  });
  it('float -> int8 with half-to-even rounding for ONNX-imported ops', () => {
    const g = oneOp('QUANTIZE', [{ shape: [6], dtype: 'float32' }], { shape: [6], scale: 0.5, zp: -1 }, { rounding: 'HALF_EVEN' });
    // 0.5 -> 0 -> -1; -0.5 -> 0 -> -1; 1.5 -> 2 -> 1
    expect(run1(g, value('float32', [6], xs))).toEqual([-1, -1, 1, 127, -128, 1]);
  });
  it('int8 -> int8 requantizes with the fixed-point multiplier', () => {
    const g = oneOp('QUANTIZE', [{ shape: [4], scale: 1 }], { shape: [4], scale: 2, zp: 5 }, { rounding: 'HALF_AWAY' });
    // M = 0.5: 3 -> 1.5 -> 2 (+5 = 7); -3 -> -1.5 -> -1 (srdhm rounds half up) -> 4;
    // 127 -> 63.5 -> 64 -> 69; -128 -> -64 -> -59
    expect(run1(g, value('int8', [4], [3, -3, 127, -128]))).toEqual([7, 4, 69, -59]);
  });
  it('DEQUANTIZE gives scale * (q - zp)', () => {
    const g = oneOp('DEQUANTIZE', [{ shape: [3], scale: 0.5, zp: 3 }], { shape: [3], dtype: 'float32' }, { rounding: 'HALF_AWAY' });
    expect(run1(g, value('int8', [3], [3, 5, -128]))).toEqual([0, 1, -65.5]);
  });
});

describe('data movement and reduction', () => {
  it('CONCATENATION joins along the axis (same quantization required)', () => {
    const g = oneOp('CONCATENATION', [{ shape: [1, 2], scale: 0.5 }, { shape: [1, 1], scale: 0.5 }], { shape: [1, 3], scale: 0.5 }, { axis: 1, fusedActivation: 'NONE' });
    expect(run1(g, value('int8', [1, 2], [1, 2]), value('int8', [1, 1], [3]))).toEqual([1, 2, 3]);
    const mixed = oneOp('CONCATENATION', [{ shape: [1, 2], scale: 0.5 }, { shape: [1, 1], scale: 0.25 }], { shape: [1, 3], scale: 0.5 }, { axis: 1, fusedActivation: 'NONE' });
    expect(() => runInt8(mixed, [value('int8', [1, 2], [1, 2]), value('int8', [1, 1], [3])])).toThrow(UnsupportedError);
  });
  it('PAD fills with the constant value (the zero point)', () => {
    const g = oneOp('PAD', [{ shape: [1, 2], scale: 1, zp: -3 }], { shape: [1, 5], scale: 1, zp: -3 }, { mode: 'CONSTANT', pads: [0, 0, 1, 2], constantValue: -3 });
    expect(run1(g, value('int8', [1, 2], [5, 6]))).toEqual([-3, 5, 6, -3, -3]);
  });
  it('MEAN with equal quantization truncates the integer mean', () => {
    const g = oneOp('MEAN', [{ shape: [1, 2, 2, 1], scale: 1 }], { shape: [1, 1, 1, 1], scale: 1 }, { axes: [1, 2], keepDims: true });
    expect(run1(g, value('int8', [1, 2, 2, 1], [1, 2, 3, 5]))).toEqual([2]); // 11/4
    expect(run1(g, value('int8', [1, 2, 2, 1], [-1, -2, -3, -5]))).toEqual([-2]); // -11/4
  });
  it('MEAN with rescaling folds 1/count into the multiplier', () => {
    // M = 1 / 0.5 = 2 = (2^30, 2); count 4 -> shift 2, multiplier 2^30 << 2 / 4 = 2^30, shift 0;
    // srdhm(11, 2^30) = 5.5 -> 6
    const g = oneOp('MEAN', [{ shape: [1, 2, 2, 1], scale: 1 }], { shape: [1, 1, 1, 1], scale: 0.5 }, { axes: [1, 2], keepDims: true });
    expect(run1(g, value('int8', [1, 2, 2, 1], [1, 2, 3, 5]))).toEqual([6]);
  });
});

describe('DEPTHWISE_CONV_2D with depth multiplier 2', () => {
  it('output channel ic * 2 + m reads input channel ic', () => {
    const attrs = { strideH: 1, strideW: 1, dilationH: 1, dilationW: 1, padding: 'VALID', pads: [0, 0, 0, 0], fusedActivation: 'NONE', depthMultiplier: 2 };
    const g = oneOp(
      'DEPTHWISE_CONV_2D',
      [{ shape: [1, 1, 1, 2], scale: 1 }, { shape: [1, 1, 1, 4], scale: 1, data: [1, 2, 3, 4] }, { shape: [4], dtype: 'int32', data: [0, 0, 0, 100] }],
      { shape: [1, 1, 1, 4], scale: 1 },
      attrs,
    );
    // [1*1, 1*2, 2*3, 2*4 + 100]; M = 1 so no rounding
    expect(run1(g, value('int8', [1, 1, 1, 2], [1, 2]))).toEqual([1, 2, 6, 108]);
  });
});

describe('refusals', () => {
  const g = oneOp('TANH', [{ shape: [2], scale: 1 / 16 }], { shape: [2], scale: 1 / 128 });
  it('rejects a wrong number, dtype or size of inputs with a DataError', () => {
    expect(() => runInt8(g, [])).toThrow(DataError);
    expect(() => runInt8(g, [value('int16', [2], [0, 0])])).toThrow(/is int16 but the model expects int8/);
    expect(() => runInt8(g, [value('int8', [3], [0, 0, 0])])).toThrow(/has 3 values but the model expects 2/);
  });
  it('names an op type it has no kernel for, and the node', () => {
    const t = oneOp('HASHTABLE_LOOKUP', [{ shape: [2], scale: 1 }], { shape: [2], scale: 1 });
    expect(() => runInt8(t, [value('int8', [2], [1, 2])])).toThrow(/HASHTABLE_LOOKUP \(op #0, node 'node0'\) has no int8 kernel/);
  });
  it('refuses a float model, naming the op', () => {
    const path = join(MODELS, 'tflm-hello-world', 'hello_world_float.tflite');
    const float = importTflite(new Uint8Array(readFileSync(path)), path);
    expect(() => runInt8(float, [value('float32', [1, 1], [0])])).toThrow(UnsupportedError);
    expect(() => runInt8(float, [value('float32', [1, 1], [0])])).toThrow(/FULLY_CONNECTED .* float32/);
  });
  it('refuses quantization parameters TFLite rejects instead of crashing', () => {
    // ADD output multiplier 2 * 1 / (2^20 * 2^-20) = 2 is not below one, which TFLM checks.
    const add = oneOp('ADD', [{ shape: [1], scale: 1 }, { shape: [1], scale: 1 }], { shape: [1], scale: 2 ** -20 }, { fusedActivation: 'NONE' });
    expect(() => runInt8(add, [value('int8', [1], [1]), value('int8', [1], [1])])).toThrow(UnsupportedError);
  });
  it('lists the supported op types', () => {
    expect([...INT8_REFERENCE_OPS].sort()).toEqual([
      'ADD', 'ARG_MAX', 'ARG_MIN', 'AVERAGE_POOL_2D', 'BATCH_MATMUL', 'CONCATENATION', 'CONV_2D', 'DEPTHWISE_CONV_2D',
      'DEQUANTIZE', 'ELU', 'EXPAND_DIMS', 'FULLY_CONNECTED', 'GATHER', 'HARD_SWISH', 'L2_NORMALIZATION', 'LEAKY_RELU',
      'LOGISTIC', 'MAXIMUM', 'MAX_POOL_2D', 'MEAN', 'MINIMUM', 'MUL', 'PACK', 'PAD', 'PADV2', 'PRELU', 'QUANTIZE',
      'REDUCE_MAX', 'RELU', 'RELU6', 'RESHAPE', 'RESIZE_BILINEAR', 'RESIZE_NEAREST_NEIGHBOR', 'SLICE', 'SOFTMAX',
      'SPLIT', 'SPLIT_V', 'SQUARED_DIFFERENCE', 'SQUEEZE', 'STRIDED_SLICE', 'SUB', 'SUM', 'SVDF', 'TANH', 'TRANSPOSE',
      'TRANSPOSE_CONV', 'UNIDIRECTIONAL_SEQUENCE_LSTM', 'UNPACK',
    ]);
  });
});
