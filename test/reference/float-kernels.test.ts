/**
 * Float engine semantics that neither the ONNX node tests nor onnxruntime reach (TFLite rules:
 * round half away from zero, SYMMETRIC padding, fused activations, depth multipliers, hybrid
 * per-channel weights, float16 constants), each on a tiny graph with values worked out by hand.
 * Also the refusals: wrong input data, ops it does not run.
 */
import { describe, expect, it } from 'vitest';
import type { AttrValue, DType, Graph, Quantization, Tensor } from '../../src/ir/graph.ts';
import { DataError, UnsupportedError } from '../../src/errors.ts';
import { runFloat } from '../../src/reference/float/index.ts';
import type { TensorValue } from '../../src/reference/tensor-value.ts';
import { bytesOfTyped } from '../../src/data/npy.ts';

interface TensorSpec {
  shape: number[];
  dtype?: DType;
  data?: ArrayLike<number>;
  quant?: Quantization;
}

/** One-op graph: tensor 0.. are the op inputs (constants where data is given), the last is the output. */
function oneOp(type: string, attrs: Record<string, AttrValue>, ins: TensorSpec[], out: TensorSpec): Graph {
  const tensors: Tensor[] = [...ins, out].map((s, index) => {
    const dtype = s.dtype ?? 'float32';
    const t: Tensor = { index, name: `t${index}`, shape: s.shape, dtype };
    if (s.quant) t.quant = s.quant;
    if (s.data && index < ins.length) {
      const typed = dtype === 'int8' ? Int8Array.from(s.data) : dtype === 'uint16' || dtype === 'float16' ? Uint16Array.from(s.data) : dtype === 'int32' ? Int32Array.from(s.data) : Float32Array.from(s.data);
      t.data = bytesOfTyped(typed).slice();
    }
    return t;
  });
  return {
    format: 'tflite',
    tensors,
    ops: [{ index: 0, type, version: 1, inputs: ins.map((_, i) => i), outputs: [ins.length], attrs, source: { format: 'tflite', opType: type, name: 'op' } }],
    inputs: ins.map((s, i) => (s.data ? -1 : i)).filter((i) => i >= 0).map((tensor) => ({ tensor })),
    outputs: [{ tensor: ins.length }],
    meta: {},
    warnings: [],
  };
}

const f = (shape: number[], data: number[]): TensorValue => ({ dtype: 'float32', shape, data: Float32Array.from(data) });
const run = (g: Graph, ...inputs: TensorValue[]): number[] => Array.from(runFloat(g, inputs).outputs[0]!.data as ArrayLike<number>);
const q1 = (scale: number, zeroPoint: number): Quantization => ({ scale: [scale], zeroPoint: [zeroPoint], axis: 0 });

describe('quantization rules', () => {
  const x = [0.5, 1.5, 2.5, -0.5, -2.5, 200, -200];
  it('QUANTIZE HALF_AWAY (TFLite): ties go away from zero, then saturate', () => {
    const g = oneOp('QUANTIZE', { rounding: 'HALF_AWAY' }, [{ shape: [7] }], { shape: [7], dtype: 'int8', quant: q1(1, 0) });
    expect(run(g, f([7], x))).toEqual([1, 2, 3, -1, -3, 127, -128]);
  });
  it('QUANTIZE HALF_EVEN (ONNX): ties go to even', () => {
    const g = oneOp('QUANTIZE', { rounding: 'HALF_EVEN' }, [{ shape: [7] }], { shape: [7], dtype: 'int8', quant: q1(1, 0) });
    expect(run(g, f([7], x))).toEqual([0, 2, 2, -0, -2, 127, -128].map((v) => v + 0));
  });
  it('QUANTIZE per-axis: scale and zero point per column', () => {
    const g = oneOp('QUANTIZE', { rounding: 'HALF_AWAY', axis: 1 }, [{ shape: [2, 2] }], { shape: [2, 2], dtype: 'int8', quant: { scale: [1, 0.5], zeroPoint: [0, 10], axis: 1 } });
    // column 0: x / 1; column 1: x / 0.5 + 10
    expect(run(g, f([2, 2], [1, 1, -3, -3]))).toEqual([1, 12, -3, 4]);
  });
  it('QUANTIZE int8 -> int8 requantizes through the real value', () => {
    const g = oneOp('QUANTIZE', { rounding: 'HALF_AWAY' }, [{ shape: [3], dtype: 'int8', quant: q1(0.5, 0) }], { shape: [3], dtype: 'int8', quant: q1(1, 10) });
    // real 1.5, -1.5, 2.0 -> round away 2, -2, 2 -> + 10
    expect(run(g, { dtype: 'int8', shape: [3], data: Int8Array.of(3, -3, 4) })).toEqual([12, 8, 12]);
  });
  it('DEQUANTIZE float16 constants to float32', () => {
    const g: Graph = oneOp('DEQUANTIZE', {}, [{ shape: [3], dtype: 'float16', data: [0x3c00, 0xc000, 13653] }], { shape: [3] });
    const out = run(g);
    expect(out[0]).toBe(1);
    expect(out[1]).toBe(-2);
    expect(out[2]).toBeCloseTo(1 / 3, 3);
  });
  it('DEQUANTIZE int8 per tensor: (q - zp) * scale', () => {
    const g = oneOp('DEQUANTIZE', {}, [{ shape: [3], dtype: 'int8', quant: q1(0.25, -1) }], { shape: [3] });
    expect(run(g, { dtype: 'int8', shape: [3], data: Int8Array.of(-1, 3, -128) })).toEqual([0, 1, -31.75]);
  });
});

describe('padding and shape ops', () => {
  it('PAD SYMMETRIC repeats the edge, REFLECT does not (numpy semantics, pads wider than the data)', () => {
    const sym = oneOp('PAD', { mode: 'SYMMETRIC', pads: [4, 4], constantValue: 0 }, [{ shape: [3] }], { shape: [11] });
    expect(run(sym, f([3], [1, 2, 3]))).toEqual([3, 3, 2, 1, 1, 2, 3, 3, 2, 1, 1]);
    const refl = oneOp('PAD', { mode: 'REFLECT', pads: [3, 3], constantValue: 0 }, [{ shape: [3] }], { shape: [9] });
    expect(run(refl, f([3], [1, 2, 3]))).toEqual([2, 3, 2, 1, 2, 3, 2, 1, 2]);
  });
  it('PAD CONSTANT on int8 uses the quantized constant', () => {
    const g = oneOp('PAD', { mode: 'CONSTANT', pads: [1, 0, 0, 1], constantValue: -128 }, [{ shape: [1, 2], dtype: 'int8' }], { shape: [2, 3], dtype: 'int8' });
    expect(run(g, { dtype: 'int8', shape: [1, 2], data: Int8Array.of(5, 6) })).toEqual([-128, -128, -128, 5, 6, -128]);
  });
  it('MEAN over H and W without keepDims', () => {
    const g = oneOp('MEAN', { axes: [1, 2], keepDims: false }, [{ shape: [1, 2, 2, 2] }], { shape: [1, 2] });
    // channel 0: 1,3,5,7 -> 4; channel 1: 2,4,6,8 -> 5
    expect(run(g, f([1, 2, 2, 2], [1, 2, 3, 4, 5, 6, 7, 8]))).toEqual([4, 5]);
  });
  it('TRANSPOSE NHWC -> NCHW', () => {
    const g = oneOp('TRANSPOSE', { perm: [0, 3, 1, 2] }, [{ shape: [1, 2, 2, 2] }], { shape: [1, 2, 2, 2] });
    expect(run(g, f([1, 2, 2, 2], [1, 2, 3, 4, 5, 6, 7, 8]))).toEqual([1, 3, 5, 7, 2, 4, 6, 8]);
  });
});

describe('arithmetic', () => {
  it('ADD with fused RELU6, RELU_N1_TO_1 and TANH', () => {
    const a = f([4], [-3, 0.5, 2, 9]);
    const b = f([1], [0]);
    const add = (act: string): number[] => run(oneOp('ADD', { fusedActivation: act }, [{ shape: [4] }, { shape: [1] }], { shape: [4] }), a, b);
    expect(add('RELU6')).toEqual([0, 0.5, 2, 6]);
    expect(add('RELU_N1_TO_1')).toEqual([-1, 0.5, 1, 1]);
    expect(add('TANH')).toEqual([-3, 0.5, 2, 9].map((v) => Math.fround(Math.tanh(v))));
  });
  it('MUL broadcasts [2,1] x [3]', () => {
    const g = oneOp('MUL', { fusedActivation: 'NONE' }, [{ shape: [2, 1] }, { shape: [3] }], { shape: [2, 3] });
    expect(run(g, f([2, 1], [2, -1]), f([3], [1, 2, 3]))).toEqual([2, 4, 6, -1, -2, -3]);
  });
  it('SOFTMAX with beta 2', () => {
    const g = oneOp('SOFTMAX', { beta: 2, axis: 1, coerce2d: false }, [{ shape: [1, 2] }], { shape: [1, 2] });
    const out = run(g, f([1, 2], [0, Math.log(3) / 2]));
    expect(out[0]).toBeCloseTo(0.25, 6);
    expect(out[1]).toBeCloseTo(0.75, 6);
  });
  it('DEPTHWISE_CONV_2D with depth multiplier 2: output channel c reads input channel floor(c / 2)', () => {
    const g = oneOp(
      'DEPTHWISE_CONV_2D',
      { strideH: 1, strideW: 1, dilationH: 1, dilationW: 1, padding: 'VALID', pads: [0, 0, 0, 0], fusedActivation: 'NONE', depthMultiplier: 2 },
      [{ shape: [1, 1, 1, 2] }, { shape: [1, 1, 1, 4], data: [1, 2, 3, 4] }, { shape: [4], data: [0.5, 0, 0, -10] }],
      { shape: [1, 1, 1, 4] },
    );
    expect(run(g, f([1, 1, 1, 2], [1, 2]))).toEqual([1.5, 2, 6, -2]);
  });
  it('CONV_2D with dilation 2 and SAME-style pads reads every other pixel', () => {
    // 1x3x3x1 input 1..9, 2x2 filter of ones dilated by 2 (a 3x3 footprint), pads [1,1,0,0].
    const g = oneOp(
      'CONV_2D',
      { strideH: 1, strideW: 1, dilationH: 2, dilationW: 2, padding: 'EXPLICIT', pads: [1, 1, 0, 0], fusedActivation: 'NONE' },
      [{ shape: [1, 3, 3, 1] }, { shape: [1, 2, 2, 1], data: [1, 1, 1, 1] }],
      { shape: [1, 2, 2, 1] },
    );
    // out(0,0): taps (-1,-1),(-1,1),(1,-1),(1,1) -> only (1,1)=5; out(0,1): (1,0)=4,(1,2)=6 -> 10;
    // out(1,0): (0,1)=2,(2,1)=8 -> 10; out(1,1): (0,0)=1,(0,2)=3,(2,0)=7,(2,2)=9 -> 20
    expect(run(g, f([1, 3, 3, 1], [1, 2, 3, 4, 5, 6, 7, 8, 9]))).toEqual([5, 10, 10, 20]);
  });
  it('FULLY_CONNECTED with hybrid per-channel int8 weights (dequantized) and keepNumDims', () => {
    const g = oneOp(
      'FULLY_CONNECTED',
      { fusedActivation: 'NONE', keepNumDims: true },
      [{ shape: [2, 1, 2] }, { shape: [2, 2], dtype: 'int8', data: [2, 4, -1, 3], quant: { scale: [0.5, 2], zeroPoint: [0, 0], axis: 0 } }],
      { shape: [2, 1, 2] },
    );
    // weights real: row 0 [1, 2], row 1 [-2, 6]
    expect(run(g, f([2, 1, 2], [1, 1, 2, -1]))).toEqual([3, 4, 0, -10]);
  });
  it('BATCH_MATMUL with adjX and adjY, batch broadcast', () => {
    const g = oneOp('BATCH_MATMUL', { adjX: true, adjY: true }, [{ shape: [2, 2, 1] }, { shape: [1, 1, 2] }], { shape: [2, 1, 1] });
    // a^T per batch: [1,2] and [3,4]; b^T: [[5],[6]] -> 17 and 39
    expect(run(g, f([2, 2, 1], [1, 2, 3, 4]), f([1, 1, 2], [5, 6]))).toEqual([17, 39]);
  });
});

describe('refusals', () => {
  const relu = oneOp('RELU', {}, [{ shape: [2] }], { shape: [2] });
  it('wrong input dtype is a DataError', () => {
    expect(() => runFloat(relu, [{ dtype: 'int8', shape: [2], data: Int8Array.of(1, 2) }])).toThrow(DataError);
  });
  it('wrong input size is a DataError naming the shape', () => {
    expect(() => runFloat(relu, [f([3], [1, 2, 3])])).toThrow(/must have shape \[2\]/);
  });
  it('an op it does not run is an UnsupportedError naming it', () => {
    const g = oneOp('LSTM', {}, [{ shape: [2] }], { shape: [2] });
    expect(() => runFloat(g, [f([2], [1, 2])])).toThrow(UnsupportedError);
    expect(() => runFloat(g, [f([2], [1, 2])])).toThrow(/op 0 \(LSTM 'op', LSTM\) is not supported/);
  });
  it('an int8 conv is refused with a pointer to the int8 engine', () => {
    const g = oneOp(
      'CONV_2D',
      { strideH: 1, strideW: 1, dilationH: 1, dilationW: 1, padding: 'VALID', pads: [0, 0, 0, 0], fusedActivation: 'NONE' },
      [{ shape: [1, 1, 1, 1], dtype: 'int8', quant: q1(1, 0) }, { shape: [1, 1, 1, 1], dtype: 'int8', data: [1], quant: q1(1, 0) }],
      { shape: [1, 1, 1, 1], dtype: 'int8', quant: q1(1, 0) },
    );
    expect(() => runFloat(g, [{ dtype: 'int8', shape: [1, 1, 1, 1], data: Int8Array.of(1) }])).toThrow(/--engine reference/);
  });
});
