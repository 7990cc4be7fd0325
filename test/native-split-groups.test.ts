/**
 * The native backend runs a grouped CONV_2D (filter channels < input channels, PyTorch's
 * Conv2d(groups=g)) as SPLIT -> one CONV_2D per group -> CONCATENATION, generated from the same
 * int8 model: outputs bit-identical with the int8 reference running the grouped conv as one op,
 * with per-channel and per-tensor filters, a fused activation, and explicit padding folded in.
 * The Arduino TensorFlow Lite Micro library (CMSIS-NN conv) cannot compute it: inspect says so
 * and the TFLM sketch generator refuses it naming the node, never a wrong answer on the board.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { resolverEntries } from '../src/arduino/tflm-ops.ts';
import { nativeCRefusals } from '../src/backends/ops-native-c.ts';
import { tflmRefusals } from '../src/backends/ops-tflm.ts';
import { buildHostRunner, runHostRunner } from '../src/build/host.ts';
import { generateNative } from '../src/codegen/native/generate.ts';
import { splitGroupedConvs } from '../src/codegen/native/split-groups.ts';
import { bytesOfTyped } from '../src/data/npy.ts';
import type { Graph, Op, Tensor } from '../src/ir/graph.ts';
import { elementCount } from '../src/ir/graph.ts';
import { prepareInt8 } from '../src/reference/int8/index.ts';
import type { TensorValue } from '../src/reference/tensor-value.ts';

process.env['TINYML_CACHE_DIR'] ??= mkdtempSync(join(tmpdir(), 'tinyml-groups-cache-'));

function rand(n: number, seed: number, lo: number, hi: number): number[] {
  let s = seed >>> 0;
  return Array.from({ length: n }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return lo + (s % (hi - lo + 1));
  });
}

/** x [1,7,6,cin] int8 -> (PAD 1 all round ->) CONV_2D k3, `groups` groups, cout outputs -> y. */
function grouped(cin: number, cout: number, groups: number, o: { perChannel: boolean; act: string; pad: boolean; stride: number }): Graph {
  const q = (scale: number, zp: number) => ({ scale: [scale], zeroPoint: [zp], axis: 0 });
  const tensors: Tensor[] = [];
  const add = (t: Omit<Tensor, 'index'>): number => tensors.push({ ...t, index: tensors.length }) - 1;
  const [h, w, k] = [7, 6, 3];
  const ph = h + (o.pad ? 2 : 0), pw = w + (o.pad ? 2 : 0);
  const oh = Math.floor((ph - k) / o.stride) + 1, ow = Math.floor((pw - k) / o.stride) + 1;
  const x = add({ name: 'x', shape: [1, h, w, cin], dtype: 'int8', quant: q(0.05, -3) });
  const p = o.pad ? add({ name: 'x_padded', shape: [1, ph, pw, cin], dtype: 'int8', quant: q(0.05, -3) }) : x;
  const y = add({ name: 'y', shape: [1, oh, ow, cout], dtype: 'int8', quant: q(0.15, 5) });
  const wShape = [cout, k, k, cin / groups];
  const scales = o.perChannel ? Array.from({ length: cout }, (_, i) => 0.004 + 0.001 * i) : [0.006];
  const wt = add({ name: 'w', shape: wShape, dtype: 'int8', data: new Uint8Array(Int8Array.from(rand(elementCount(wShape), 3, -127, 127)).buffer), quant: { scale: scales, zeroPoint: scales.map(() => 0), axis: 0 } });
  const bias = add({ name: 'b', shape: [cout], dtype: 'int32', data: new Uint8Array(Int32Array.from(rand(cout, 5, -900, 900)).buffer), quant: { scale: scales.map((s) => 0.05 * s), zeroPoint: scales.map(() => 0), axis: 0 } });
  const source = { format: 'onnx' as const, opType: 'Conv', name: 'grouped_conv' };
  const ops: Op[] = [];
  if (o.pad) ops.push({ index: 0, type: 'PAD', version: 2, inputs: [x], outputs: [p], attrs: { mode: 'CONSTANT', pads: [0, 0, 1, 1, 1, 1, 0, 0], constantValue: -3 }, source });
  ops.push({
    index: ops.length, type: 'CONV_2D', version: 3, inputs: [p, wt, bias], outputs: [y], source,
    attrs: { strideH: o.stride, strideW: o.stride, padding: 'VALID', pads: [0, 0, 0, 0], fusedActivation: o.act, dilationH: 1, dilationW: 1, groups },
  });
  return { format: 'onnx', tensors, ops, inputs: [{ tensor: x }], outputs: [{ tensor: y }], meta: {}, warnings: [] };
}

describe('grouped CONV_2D in the native C', () => {
  it.each([
    ['2 groups, per-channel filter', grouped(4, 6, 2, { perChannel: true, act: 'NONE', pad: false, stride: 1 })],
    ['4 groups, per-tensor filter, fused RELU, stride 2', grouped(8, 4, 4, { perChannel: false, act: 'RELU', pad: false, stride: 2 })],
    ['3 groups after an explicit PAD (folded), 2 outputs per group', grouped(6, 6, 3, { perChannel: true, act: 'RELU6', pad: true, stride: 1 })],
  ])('%s: SPLIT, a CONV_2D per group, CONCATENATION; bit-identical with the reference', async (_, g) => {
    const groups = Number(g.ops.at(-1)!.attrs.groups);
    expect(splitGroupedConvs(g).ops.filter((o) => o.type !== 'PAD').map((o) => o.type)).toEqual(['SPLIT', ...new Array<string>(groups).fill('CONV_2D'), 'CONCATENATION']);
    expect(generateNative(g).lowered.ops.map((o) => o.type)).toEqual(['SPLIT', ...new Array<string>(groups).fill('CONV_2D'), 'CONCATENATION']);
    expect(nativeCRefusals(g).size).toBe(0);
    const x = g.tensors[g.inputs[0]!.tensor]!;
    const cases = [1, 2, 3].map((seed): TensorValue => ({ dtype: 'int8', shape: [...x.shape], data: Int8Array.from(rand(elementCount(x.shape), seed, -128, 127)) }));
    const program = prepareInt8(g);
    const got = await runHostRunner(await buildHostRunner(g), cases.map((c) => [bytesOfTyped(c.data)]));
    cases.forEach((c, k) => {
      const want = bytesOfTyped(program.run([c]).outputs[0]!.data);
      expect(Buffer.from(got[k]![0]!).equals(Buffer.from(want)), `case ${k}`).toBe(true);
    });
  });

  it('leaves the model itself alone (an ungrouped conv, and the input graph, unchanged)', () => {
    const g = grouped(4, 6, 2, { perChannel: true, act: 'NONE', pad: false, stride: 1 });
    const before = JSON.stringify(g.ops);
    splitGroupedConvs(g);
    expect(JSON.stringify(g.ops)).toBe(before);
    const plain = grouped(3, 5, 1, { perChannel: true, act: 'NONE', pad: false, stride: 1 });
    expect(splitGroupedConvs(plain)).toBe(plain);
  });

  it('TensorFlow Lite Micro (Arduino, CMSIS-NN conv) refuses it: inspect and the sketch generator name the node', () => {
    const g = grouped(4, 6, 2, { perChannel: true, act: 'NONE', pad: false, stride: 1 });
    expect(tflmRefusals(g).get(0)).toMatch(/grouped convolution \(filter \[6,3,3,2\] on 4 input channels\)/);
    expect(() => resolverEntries(g)).toThrowError(/CONV_2D \(op #0, node "grouped_conv"\): .*cmsis_nn\/conv\.cpp does not compute a grouped convolution/);
    const plain = grouped(3, 5, 1, { perChannel: true, act: 'NONE', pad: false, stride: 1 });
    expect(tflmRefusals(plain).size).toBe(0);
  });
});
