/**
 * QDQ ONNX: a model whose activations are wrapped in QuantizeLinear/DequantizeLinear pairs (as
 * onnxruntime's quantize_static writes them) is quantized with the model's own scales, not
 * calibrated ones. The model is built here with onnx-proto (the real ONNX schema).
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import onnxProto from 'onnx-proto';
import { describe, expect, it } from 'vitest';
import { encodeNpy } from '../src/data/npy.ts';
import { importTflite } from '../src/formats/tflite/import.ts';
import { runCli } from './helpers/cli.ts';

const { onnx } = onnxProto;
const FLOAT = 1;
const UINT8 = 2;
const INT8 = 3;

function tensor(name: string, dataType: number, dims: number[], values: number[]): onnxProto.onnx.ITensorProto {
  const t: onnxProto.onnx.ITensorProto = { name, dataType, dims };
  if (dataType === FLOAT) t.floatData = values;
  else t.int32Data = values;
  return t;
}

function valueInfo(name: string, dims: number[]): onnxProto.onnx.IValueInfoProto {
  return { name, type: { tensorType: { elemType: FLOAT, shape: { dim: dims.map((d) => ({ dimValue: d })) } } } };
}

/**
 * x [1,1,4,4] -> Q/DQ (scale 0.05, zp 10 uint8) -> Conv 3x3 (int8 weights through DQ, bias)
 * -> Q/DQ (scale 0.1, zp -20 int8) -> Relu -> y [1,2,2,2]
 */
function qdqModel(): Uint8Array {
  const w = Array.from({ length: 2 * 1 * 3 * 3 }, (_, i) => ((i * 37) % 41) - 20);
  const graph: onnxProto.onnx.IGraphProto = {
    name: 'qdq',
    input: [valueInfo('x', [1, 1, 4, 4])],
    output: [valueInfo('y', [1, 2, 2, 2])],
    initializer: [
      tensor('x_scale', FLOAT, [], [0.05]),
      tensor('x_zp', UINT8, [], [10]),
      tensor('w_q', INT8, [2, 1, 3, 3], w),
      tensor('w_scale', FLOAT, [], [0.01]),
      tensor('w_zp', INT8, [], [0]),
      tensor('b', FLOAT, [2], [0.1, -0.2]),
      tensor('c_scale', FLOAT, [], [0.1]),
      tensor('c_zp', INT8, [], [-20]),
    ],
    node: [
      { name: 'q_x', opType: 'QuantizeLinear', input: ['x', 'x_scale', 'x_zp'], output: ['x_q'] },
      { name: 'dq_x', opType: 'DequantizeLinear', input: ['x_q', 'x_scale', 'x_zp'], output: ['x_dq'] },
      { name: 'dq_w', opType: 'DequantizeLinear', input: ['w_q', 'w_scale', 'w_zp'], output: ['w'] },
      { name: 'conv', opType: 'Conv', input: ['x_dq', 'w', 'b'], output: ['c'], attribute: [{ name: 'kernel_shape', type: onnx.AttributeProto.AttributeType.INTS, ints: [3, 3] }] },
      { name: 'q_c', opType: 'QuantizeLinear', input: ['c', 'c_scale', 'c_zp'], output: ['c_q'] },
      { name: 'dq_c', opType: 'DequantizeLinear', input: ['c_q', 'c_scale', 'c_zp'], output: ['c_dq'] },
      { name: 'relu', opType: 'Relu', input: ['c_dq'], output: ['y'] },
    ],
  };
  return onnx.ModelProto.encode({ irVersion: 7, opsetImport: [{ domain: '', version: 13 }], producerName: 'tinyml-test', graph }).finish();
}

describe('QDQ ONNX models are quantized with their own scales', () => {
  it('takes the activation scales from the Q/DQ pairs (uint8 moved to int8) and writes a plain int8 conv', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tinyml-qdq-'));
    const model = join(dir, 'qdq.onnx');
    writeFileSync(model, qdqModel());
    const calib = join(dir, 'calib.npy');
    // Calibration data whose range differs from the QDQ scales: they must not be used.
    writeFileSync(calib, encodeNpy({ dtype: 'float32', shape: [4, 1, 1, 4, 4], data: Float32Array.from({ length: 64 }, (_, i) => 40 * Math.sin(i)) }));
    const out = join(dir, 'qdq_int8.tflite');
    const r = runCli(['convert', model, '--calib', calib, '-o', out, '--json']);
    expect(r.code, r.stderr).toBe(0);
    const s = JSON.parse(r.stdout);
    expect(s.quantized.fromQdq).toBeGreaterThanOrEqual(2);
    expect(s.inputs[0]).toMatchObject({ dtype: 'int8', scale: Math.fround(0.05), zeroPoint: 10 - 128 });
    const g = importTflite(new Uint8Array(readFileSync(out)), out);
    expect(g.ops.map((o) => `${o.type}:${o.attrs.fusedActivation ?? ''}`)).toEqual(['CONV_2D:RELU']);
    const conv = g.ops[0]!;
    // The conv output (fused ReLU) keeps the pair's scale 0.1 / zero point -20.
    const y = g.tensors[conv.outputs[0]!]!;
    expect(y.quant!.scale[0]).toBe(Math.fround(0.1));
    expect(y.quant!.zeroPoint[0]).toBe(-20);
    // Weights re-quantized per channel symmetric; the bias is int32 at x_scale * w_scale[c].
    const w = g.tensors[conv.inputs[1]!]!;
    expect(w.dtype).toBe('int8');
    expect(w.quant!.scale).toHaveLength(2);
    const b = g.tensors[conv.inputs[2]!]!;
    expect(b.dtype).toBe('int32');
    expect(b.quant!.scale[0]).toBeCloseTo(0.05 * w.quant!.scale[0]!, 9);
  });
});
