/**
 * Every ONNX backend node test in ../shared/models/onnx-node-tests (including the
 * pytorch-converted ones): import model.onnx, feed test_data_set_0/input_N.pb converted to the
 * IR layout, run the float engine, convert the outputs back and compare with output_N.pb
 * element-wise at ONNX's own float32 tolerance (|got - want| <= 1e-5 + 1e-3 * |want|).
 */
import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { loadModel } from '../../src/formats/load.ts';
import { runFloat } from '../../src/reference/float/index.ts';
import { inputToIr, outputFromIr } from '../../src/reference/layout.ts';
import { firstMismatch, NODE_TEST_CASES, NODE_TESTS_ROOT, nodeTestData } from './float-helpers.ts';

describe('ONNX node tests on the float engine', () => {
  it('finds the node tests', () => {
    expect(NODE_TEST_CASES.length).toBeGreaterThanOrEqual(70);
  });

  it.each(NODE_TEST_CASES)('%s', (name) => {
    const graph = loadModel(join(NODE_TESTS_ROOT, name, 'model.onnx'));
    const inputs = nodeTestData(name, 'input');
    const expected = nodeTestData(name, 'output');
    expect(graph.inputs.length).toBe(inputs.length);
    const result = runFloat(graph, graph.inputs.map((gi, i) => inputToIr(inputs[i]!, gi)));
    expect(result.outputs.length).toBe(expected.length);
    result.outputs.forEach((irOut, j) => {
      const got = outputFromIr(irOut, graph.outputs[j]!);
      const want = expected[j]!;
      expect(got.shape, `output ${j} shape`).toEqual(want.shape);
      expect(got.dtype, `output ${j} dtype`).toBe(want.dtype);
      const bad = firstMismatch(got.data, want.data, 1e-3, 1e-5);
      expect(bad, bad >= 0 ? `output ${j} element ${bad}: got ${got.data[bad]}, want ${want.data[bad]}` : '').toBe(-1);
    });
  });
});
