/**
 * Kernel paths the shared models do not reach, on a hand-built int8 graph run by both the
 * generated C (host, ASan+UBSan) and the TS int8 reference: dilated convolution with padding
 * on every side and stride 2, depthwise with depth multiplier 2 and dilation, max and average
 * pooling with padding, ADD broadcasting a constant, per-channel FULLY_CONNECTED and SOFTMAX.
 * Every output element must be equal.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Graph, Op, Tensor } from '../src/ir/graph.ts';
import { runInt8 } from '../src/reference/int8/index.ts';
import { buildHostRunner, runHostRunner } from '../src/build/host.ts';

process.env['TINYML_CACHE_DIR'] = mkdtempSync(join(tmpdir(), 'tinyml-kernels-cache-'));

/** xorshift32, as the golden random inputs use it. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s;
  };
}

function graphUnderTest(): Graph {
  const next = rng(0x2545f491);
  const int8s = (n: number, lo = -127, hi = 127) => Int8Array.from({ length: n }, () => lo + (next() % (hi - lo + 1)));
  const int32s = (n: number, mag: number) => Int32Array.from({ length: n }, () => (next() % (2 * mag + 1)) - mag);
  const bytes = (a: Int8Array | Int32Array) => new Uint8Array(a.buffer.slice(0));
  const tensors: Tensor[] = [];
  const t = (shape: number[], dtype: Tensor['dtype'], scale: number[], zp: number[], data?: Uint8Array, axis = 0): number => {
    tensors.push({ index: tensors.length, name: `t${tensors.length}`, shape, dtype, quant: { scale, zeroPoint: zp, axis }, data });
    return tensors.length - 1;
  };
  const perChannel = (n: number, base: number) => Array.from({ length: n }, (_, i) => base * (1 + 0.1 * i));
  const zeros = (n: number) => new Array<number>(n).fill(0);

  const x = t([1, 9, 9, 4], 'int8', [0.05], [-3]);
  const w1 = t([6, 3, 3, 4], 'int8', perChannel(6, 0.004), zeros(6), bytes(int8s(6 * 36)));
  const b1 = t([6], 'int32', perChannel(6, 0.0002), zeros(6), bytes(int32s(6, 3000)));
  const y1 = t([1, 5, 5, 6], 'int8', [0.12], [4]);
  const w2 = t([1, 3, 3, 12], 'int8', perChannel(12, 0.006), zeros(12), bytes(int8s(108)), 3);
  const b2 = t([12], 'int32', perChannel(12, 0.0007), zeros(12), bytes(int32s(12, 2000)));
  const y2 = t([1, 5, 5, 12], 'int8', [0.1], [-6]);
  const y3 = t([1, 3, 3, 12], 'int8', [0.1], [-6]);
  const y4 = t([1, 3, 3, 12], 'int8', [0.1], [-6]);
  const c5 = t([1, 1, 1, 12], 'int8', [0.03], [7], bytes(int8s(12)));
  const y5 = t([1, 3, 3, 12], 'int8', [0.11], [-2]);
  const w6 = t([7, 108], 'int8', perChannel(7, 0.003), zeros(7), bytes(int8s(7 * 108)));
  const b6 = t([7], 'int32', perChannel(7, 0.00033), zeros(7), bytes(int32s(7, 5000)));
  const y6 = t([1, 7], 'int8', [0.15], [1]);
  const y7 = t([1, 7], 'int8', [1 / 256], [-128]);

  const op = (type: string, inputs: number[], outputs: number[], attrs: Op['attrs']): Op => ({
    index: 0,
    type,
    version: 1,
    inputs,
    outputs,
    attrs,
    source: { format: 'tflite', opType: type, name: type.toLowerCase() },
  });
  const ops = [
    op('CONV_2D', [x, w1, b1], [y1], { strideH: 2, strideW: 2, dilationH: 2, dilationW: 2, padding: 'EXPLICIT', pads: [2, 1, 2, 3], fusedActivation: 'RELU' }),
    op('DEPTHWISE_CONV_2D', [y1, w2, b2], [y2], { strideH: 1, strideW: 1, dilationH: 2, dilationW: 2, padding: 'SAME', pads: [2, 2, 2, 2], fusedActivation: 'NONE', depthMultiplier: 2 }),
    op('MAX_POOL_2D', [y2], [y3], { filterH: 3, filterW: 3, strideH: 2, strideW: 2, padding: 'SAME', pads: [1, 1, 1, 1], fusedActivation: 'NONE', countIncludePad: false }),
    op('AVERAGE_POOL_2D', [y3], [y4], { filterH: 2, filterW: 2, strideH: 1, strideW: 1, padding: 'SAME', pads: [0, 0, 1, 1], fusedActivation: 'RELU6', countIncludePad: false }),
    op('ADD', [y4, c5], [y5], { fusedActivation: 'NONE' }),
    op('RESHAPE', [y5], [tensors.length], { newShape: [1, 108] }),
  ];
  const flat = t([1, 108], 'int8', [0.11], [-2]);
  ops[5]!.outputs = [flat];
  ops.push(op('FULLY_CONNECTED', [flat, w6, b6], [y6], { fusedActivation: 'NONE', keepNumDims: false }));
  ops.push(op('SOFTMAX', [y6], [y7], { beta: 1, axis: 1, coerce2d: false }));
  ops.forEach((o, i) => (o.index = i));
  return { format: 'tflite', tensors, ops, inputs: [{ tensor: x }], outputs: [{ tensor: y7 }, { tensor: y2 }], meta: {}, warnings: [] };
}

describe('kernel paths beyond the shared models', () => {
  it('the generated C equals the int8 reference on every element of both outputs, for 8 random inputs', async () => {
    const graph = graphUnderTest();
    const runner = await buildHostRunner(graph);
    const next = rng(0x9e3779b9);
    const inputs = Array.from({ length: 8 }, () => Int8Array.from({ length: 324 }, () => (next() & 0xff) - 128));
    const outs = await runHostRunner(runner, inputs.map((v) => [new Uint8Array(v.buffer)]));
    inputs.forEach((v, k) => {
      const ref = runInt8(graph, [{ dtype: 'int8', shape: [1, 9, 9, 4], data: v }]).outputs;
      ref.forEach((r, j) => {
        const got = new Int8Array(outs[k]![j]!.buffer, outs[k]![j]!.byteOffset, outs[k]![j]!.length);
        expect(Array.from(got), `input ${k} output ${j}`).toEqual(Array.from(r.data as Int8Array));
      });
    });
    // The middle output is not constant: the test would notice a kernel that wrote nothing.
    const mid = new Int8Array(outs[0]![1]!.buffer);
    expect(new Set(mid).size).toBeGreaterThan(5);
  });
});
