/**
 * Field case ../shared/cases/11-int16-activations: hand-written 16x8 TFLite models (int16
 * activations, int8 weights, int64 bias) with one input and the real-valued result of the
 * layer. Every model in the folder (the test fails when there is none) must
 *   - run on the int8 reference and on the native C (host, ASan+UBSan), bit-identical;
 *   - equal, within 1 output LSB, the same layer computed in float64 from the model's own
 *     dequantized input, weights and bias (the float engine on the dequantized graph): the
 *     integer arithmetic means what the model says;
 *   - stay within the weights' rounding error of the expected real result (expected.json): the
 *     only difference from the float layer is the quantization of its weights.
 * The bit-exact oracle for the int16 kernels themselves is ../shared/golden-ops (golden-ops.test.ts).
 */
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildHostRunner, runHostRunner } from '../src/build/host.ts';
import { loadModel } from '../src/formats/load.ts';
import { elementCount, type Graph } from '../src/ir/graph.ts';
import { runFloat } from '../src/reference/float/index.ts';
import { decodeBytes } from '../src/reference/int8/common.ts';
import { runInt8 } from '../src/reference/int8/index.ts';
import { sharedPath } from './helpers/shared.ts';

process.env['TINYML_CACHE'] = mkdtempSync(join(tmpdir(), 'tinyml-case11-cache-'));

const CASE = sharedPath('cases', '11-int16-activations');
const MODELS = readdirSync(CASE, { withFileTypes: true })
  .filter((d) => d.isDirectory())
  .map((d) => d.name)
  .sort();

/** The graph with a float32 input and output: the float engine dequantizes the int8/int64 constants. */
function dequantizedGraph(g: Graph): Graph {
  const io = new Set([...g.inputs.map((i) => i.tensor), ...g.outputs.map((o) => o.tensor)]);
  return { ...g, tensors: g.tensors.map((t) => (io.has(t.index) ? { ...t, dtype: 'float32', quant: undefined } : t)) };
}

it('the case folder holds 16x8 models', () => {
  expect(MODELS.length).toBeGreaterThan(0);
});

describe.each(MODELS)('11-int16-activations/%s', (name) => {
  it('int8 reference = native C bit for bit; both mean the model and its expected result', async () => {
    const dir = join(CASE, name);
    const graph = loadModel(join(dir, 'model_16x8.tflite'));
    const expected = JSON.parse(readFileSync(join(dir, 'expected.json'), 'utf8')) as { real: number[]; int16: number[] };
    const x = graph.tensors[graph.inputs[0]!.tensor]!;
    const y = graph.tensors[graph.outputs[0]!.tensor]!;
    expect([x.dtype, y.dtype]).toEqual(['int16', 'int16']);
    const bytes = new Uint8Array(readFileSync(join(dir, 'input_int16.bin')));
    const input = decodeBytes('int16', bytes, elementCount(x.shape)) as Int16Array;

    const ref = runInt8(graph, [{ dtype: 'int16', shape: [...x.shape], data: input }]).outputs[0]!.data as Int16Array;
    const runner = await buildHostRunner(graph);
    const [[native]] = await runHostRunner(runner, [[bytes]]);
    expect(Array.from(new Int16Array(native!.buffer, native!.byteOffset, native!.length / 2))).toEqual(Array.from(ref));

    const xs = x.quant!.scale[0]!;
    const ys = y.quant!.scale[0]!;
    const real = Float32Array.from(input, (q) => q * xs);
    const float = runFloat(dequantizedGraph(graph), [{ dtype: 'float32', shape: [...x.shape], data: real }]).outputs[0]!.data as Float32Array;
    expect(ref.length).toBe(expected.real.length);
    // Rounding bound of the weights: each output sums |x| * (weight scale / 2) over its inputs.
    const op = graph.ops[0]!;
    const w = graph.tensors[op.inputs[1]!]!;
    const channels = y.shape[y.shape.length - 1]!;
    const perOutput = elementCount(w.shape) / channels; // weights per output channel
    const maxAbsX = Math.max(...Array.from(real, Math.abs));
    ref.forEach((q, i) => {
      expect(Math.abs(q * ys - float[i]!), `output ${i} vs the dequantized float layer`).toBeLessThanOrEqual(ys);
      const c = i % channels;
      const wScale = w.quant!.scale.length > 1 ? w.quant!.scale[c]! : w.quant!.scale[0]!;
      const bound = perOutput * maxAbsX * (wScale / 2) + ys;
      expect(Math.abs(q * ys - expected.real[i]!), `output ${i} vs expected.json`).toBeLessThanOrEqual(bound);
    });
  });
});
