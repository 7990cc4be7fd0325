/**
 * The float engine against onnxruntime-node (the real runtime, the float oracle): mnist-8 on its
 * three labelled test_data inputs, and every ONNX node-test model on its test inputs. Float
 * outputs must agree within 1e-4 relative (plus 1e-6 absolute for values near zero), integer
 * outputs exactly.
 */
import { describe, expect, it } from 'vitest';
import * as ort from 'onnxruntime-node';
import { join } from 'node:path';
import { loadModel } from '../../src/formats/load.ts';
import { readNpz } from '../../src/data/npy.ts';
import { runFloat } from '../../src/reference/float/index.ts';
import { inputToIr, outputFromIr } from '../../src/reference/layout.ts';
import type { TensorValue } from '../../src/reference/tensor-value.ts';
import { MODELS } from '../helpers/shared.ts';
import { firstMismatch, NODE_TEST_CASES, NODE_TESTS_ROOT, nodeTestData } from './float-helpers.ts';

const ORT_TYPES: Record<string, ort.Tensor.Type> = {
  float32: 'float32', float64: 'float64', int8: 'int8', uint8: 'uint8', int16: 'int16', uint16: 'uint16',
  int32: 'int32', uint32: 'uint32', int64: 'int64', uint64: 'uint64', bool: 'bool',
};

async function runOrt(modelPath: string, inputs: TensorValue[]): Promise<TensorValue[]> {
  const session = await ort.InferenceSession.create(modelPath, { logSeverityLevel: 3 });
  const feeds: Record<string, ort.Tensor> = {};
  session.inputNames.forEach((name, i) => {
    const v = inputs[i]!;
    feeds[name] = new ort.Tensor(ORT_TYPES[v.dtype]!, v.data as Float32Array, v.shape);
  });
  const out = await session.run(feeds);
  const values = session.outputNames.map((name) => {
    const t = out[name]!;
    return { dtype: t.type === 'bool' ? 'bool' : (t.type as TensorValue['dtype']), shape: [...t.dims], data: t.data as TensorValue['data'] };
  });
  await session.release();
  return values;
}

function compare(ours: TensorValue[], theirs: TensorValue[]): void {
  expect(ours.length).toBe(theirs.length);
  ours.forEach((o, j) => {
    const t = theirs[j]!;
    expect(o.shape, `output ${j} shape`).toEqual(t.shape);
    const isFloat = o.dtype.startsWith('float');
    const bad = isFloat ? firstMismatch(o.data, t.data, 1e-4, 1e-6) : firstMismatch(o.data, t.data, 0, 0);
    expect(bad, bad >= 0 ? `output ${j} element ${bad}: ours ${o.data[bad]}, onnxruntime ${t.data[bad]}` : '').toBe(-1);
  });
}

function runOurs(modelPath: string, userInputs: TensorValue[]): TensorValue[] {
  const graph = loadModel(modelPath);
  const r = runFloat(graph, graph.inputs.map((gi, i) => inputToIr(userInputs[i]!, gi)));
  return r.outputs.map((v, j) => outputFromIr(v, graph.outputs[j]!));
}

describe('float engine vs onnxruntime-node', () => {
  const mnist = join(MODELS, 'onnx-mnist', 'mnist-8.onnx');
  it.each([0, 1, 2])('mnist-8 on test_data_%i: same logits, argmax = the labelled digit', async (k) => {
    const arrays = readNpz(join(MODELS, 'onnx-mnist', 'test_data', `test_data_${k}.npz`));
    const pixels = arrays.get('inputs')!.data as Int32Array;
    const label = (arrays.get('outputs')!.data as Int32Array).indexOf(1);
    const x: TensorValue = { dtype: 'float32', shape: [1, 1, 28, 28], data: Float32Array.from(pixels) };
    const ours = runOurs(mnist, [x]);
    compare(ours, await runOrt(mnist, [x]));
    const logits = ours[0]!.data as Float32Array;
    expect(logits.indexOf(Math.max(...logits))).toBe(label);
  });

  // onnxruntime has no kernels for these old-opset (6) nodes; the node tests' own expected
  // outputs check them (float-onnx-node.test.ts). The test below fails if onnxruntime gains them.
  const ORT_CANNOT_RUN = ['pytorch-converted/test_AvgPool2d', 'pytorch-converted/test_BatchNorm2d_eval', 'pytorch-converted/test_Linear'];
  it.each(ORT_CANNOT_RUN)('onnxruntime still refuses %s (so it is compared with the node test data only)', async (name) => {
    const model = join(NODE_TESTS_ROOT, name, 'model.onnx');
    await expect(runOrt(model, nodeTestData(name, 'input'))).rejects.toThrow(/Could not find an implementation/);
  });

  it.each(NODE_TEST_CASES.filter((c) => !ORT_CANNOT_RUN.includes(c)))('%s', async (name) => {
    const model = join(NODE_TESTS_ROOT, name, 'model.onnx');
    const inputs = nodeTestData(name, 'input');
    compare(runOurs(model, inputs), await runOrt(model, inputs));
  });
});
