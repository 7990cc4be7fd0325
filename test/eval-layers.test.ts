/**
 * Per-layer matching of `tinyml eval`: int8 tensors are paired with float tensors by name, or,
 * for int8 models whose names differ (made by another tool), by position among ops of the same
 * types with fused activations skipped.
 */
import { describe, expect, it } from 'vitest';
import { loadModel } from '../src/formats/load.ts';
import { matchLayers } from '../src/eval/eval.ts';
import { sharedPath } from './helpers/shared.ts';

describe('eval layer matching', () => {
  it('pairs the official MLPerf KWS int8 model with the float model op by op', () => {
    const f = loadModel(sharedPath('models/mlperf-tiny/kws/kws_ref_model_float32.tflite'));
    const q = loadModel(sharedPath('models/mlperf-tiny/kws/kws_ref_model.tflite'));
    const pairs = matchLayers(f, q);
    expect(pairs.map((p) => p.op)).toEqual(q.ops.filter((o) => o.type !== 'QUANTIZE' && o.type !== 'DEQUANTIZE').map((o) => o.type));
    // Each pair's float tensor is the output of a float op of the same type.
    for (const p of pairs) {
      const producer = f.ops.find((o) => o.outputs.some((t) => f.tensors[t]!.name === p.referenceTensor));
      expect(producer?.type, p.referenceTensor).toBe(p.op);
    }
  });

  it('falls back to position when every int8 tensor name differs', () => {
    const f = loadModel(sharedPath('models/mlperf-tiny/ad/ad01_fp32.tflite'));
    const q = loadModel(sharedPath('models/mlperf-tiny/ad/ad01_int8.tflite'));
    q.tensors.forEach((t, i) => (t.name = `renamed_${i}`));
    const pairs = matchLayers(f, q);
    expect(pairs).toHaveLength(10);
    expect(pairs.map((p) => p.referenceTensor)).toEqual(f.ops.map((o) => f.tensors[o.outputs[0]!]!.name));
  });
});
