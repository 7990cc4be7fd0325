/**
 * The native backend folds explicit padding (PAD / PADV2 before a conv or pool, as TFLite
 * expresses pads that are neither SAME nor VALID) into the kernels' own pad_top / pad_left at
 * generation time: the generated C has no pad op, the padded tensor takes no arena bytes, and
 * the outputs are bit-identical with the int8 reference running the PAD as written. Forms that
 * must not fold (a conv padded with a value that is not real 0, an average pool, a PAD read by two
 * ops) are left as they are.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildHostRunner, runHostRunner } from '../src/build/host.ts';
import { foldPadding } from '../src/codegen/native/fold-pad.ts';
import { generateNative } from '../src/codegen/native/generate.ts';
import { bytesOfTyped } from '../src/data/npy.ts';
import type { AttrValue, Graph, Op, Tensor } from '../src/ir/graph.ts';
import { elementCount } from '../src/ir/graph.ts';
import { planMemory } from '../src/plan/memory.ts';
import { prepareInt8 } from '../src/reference/int8/index.ts';
import type { TensorValue } from '../src/reference/tensor-value.ts';

process.env['TINYML_CACHE_DIR'] ??= mkdtempSync(join(tmpdir(), 'tinyml-foldpad-cache-'));

function rand(n: number, seed: number, lo: number, hi: number): number[] {
  let s = seed >>> 0;
  return Array.from({ length: n }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return lo + (s % (hi - lo + 1));
  });
}

/** x [1,H,W,C] int8 -> PAD(value, [top,bottom,left,right]) -> `op` -> y. */
function padded(kind: 'conv' | 'dw' | 'max' | 'avg', h: number, w: number, c: number, pads: number[], value: number, stride: number, k: number, act = 'NONE'): Graph {
  const q = (scale: number, zp: number) => ({ scale: [scale], zeroPoint: [zp], axis: 0 });
  const tensors: Tensor[] = [];
  const add = (t: Omit<Tensor, 'index'>): number => tensors.push({ ...t, index: tensors.length }) - 1;
  const [top, bottom, left, right] = pads as [number, number, number, number];
  const ph = h + top + bottom, pw = w + left + right;
  const oh = Math.floor((ph - k) / stride) + 1, ow = Math.floor((pw - k) / stride) + 1;
  const pool = kind === 'max' || kind === 'avg';
  const cout = kind === 'conv' ? 5 : c;
  const x = add({ name: 'x', shape: [1, h, w, c], dtype: 'int8', quant: q(0.05, -3) });
  const p = add({ name: 'x_padded', shape: [1, ph, pw, c], dtype: 'int8', quant: q(0.05, -3) });
  const y = add({ name: 'y', shape: [1, oh, ow, cout], dtype: 'int8', quant: pool ? q(0.05, -3) : q(0.2, 7) });
  const ops: Op[] = [];
  const source = { format: 'onnx' as const, opType: 'Conv', name: 'n' };
  ops.push({ index: 0, type: 'PAD', version: 2, inputs: [x], outputs: [p], attrs: { mode: 'CONSTANT', pads: [0, 0, top, bottom, left, right, 0, 0], constantValue: value }, source });
  const geom: Record<string, AttrValue> = { strideH: stride, strideW: stride, padding: 'VALID', pads: [0, 0, 0, 0], fusedActivation: act };
  if (pool) {
    ops.push({ index: 1, type: kind === 'max' ? 'MAX_POOL_2D' : 'AVERAGE_POOL_2D', version: 2, inputs: [p], outputs: [y], attrs: { ...geom, filterH: k, filterW: k, countIncludePad: false }, source });
  } else {
    const wShape = kind === 'conv' ? [cout, k, k, c] : [1, k, k, cout];
    const wt = add({ name: 'w', shape: wShape, dtype: 'int8', data: new Uint8Array(Int8Array.from(rand(elementCount(wShape), 3, -127, 127)).buffer), quant: { scale: Array.from({ length: cout }, (_, i) => 0.01 + 0.002 * i), zeroPoint: new Array(cout).fill(0), axis: kind === 'conv' ? 0 : 3 } });
    const bias = add({ name: 'b', shape: [cout], dtype: 'int32', data: new Uint8Array(Int32Array.from(rand(cout, 5, -500, 500)).buffer), quant: { scale: Array.from({ length: cout }, (_, i) => 0.05 * (0.01 + 0.002 * i)), zeroPoint: new Array(cout).fill(0), axis: 0 } });
    ops.push({ index: 1, type: kind === 'conv' ? 'CONV_2D' : 'DEPTHWISE_CONV_2D', version: 3, inputs: [p, wt, bias], outputs: [y], attrs: { ...geom, dilationH: 1, dilationW: 1, ...(kind === 'dw' ? { depthMultiplier: 1 } : { groups: 1 }) }, source });
  }
  return { format: 'onnx', tensors, ops, inputs: [{ tensor: x }], outputs: [{ tensor: y }], meta: {}, warnings: [] };
}

async function nativeEqualsReference(g: Graph): Promise<void> {
  const x = g.tensors[g.inputs[0]!.tensor]!;
  const cases = [1, 2].map((seed): TensorValue => ({ dtype: 'int8', shape: [...x.shape], data: Int8Array.from(rand(elementCount(x.shape), seed, -128, 127)) }));
  const program = prepareInt8(g);
  const runner = await buildHostRunner(g);
  const got = await runHostRunner(runner, cases.map((c) => [bytesOfTyped(c.data)]));
  cases.forEach((c, k) => {
    const want = bytesOfTyped(program.run([c]).outputs[0]!.data);
    expect(Buffer.from(got[k]![0]!).equals(Buffer.from(want)), `case ${k}`).toBe(true);
  });
}

describe('PAD folded into the following conv or pool', () => {
  it.each([
    ['CONV_2D, PyTorch k3 s2 p1 on an even input (pads trimmed to [1,0,1,0])', padded('conv', 8, 8, 3, [1, 0, 1, 0], -3, 2, 3)],
    ['CONV_2D, causal (k-1 on the left only)', padded('conv', 3, 12, 4, [0, 0, 2, 0], -3, 1, 3)],
    ['DEPTHWISE_CONV_2D, asymmetric pads', padded('dw', 7, 6, 4, [2, 1, 0, 1], -3, 1, 3)],
    ['MAX_POOL_2D after a pad with the int8 minimum (ceil_mode)', padded('max', 6, 5, 2, [1, 2, 1, 1], -128, 3, 3)],
    ['MAX_POOL_2D with a fused RELU after a pad below the activation minimum', padded('max', 5, 5, 2, [1, 1, 1, 1], -100, 2, 3, 'RELU')],
  ])('%s: no pad op, no arena for the padded tensor, bit-identical with the reference', async (_, g) => {
    const folded = foldPadding(g);
    expect(folded.ops.map((o) => o.type)).not.toContain('PAD');
    expect(folded.ops).toHaveLength(1);
    const gen = generateNative(g);
    expect(gen.lowered.ops.map((o) => o.type)).not.toContain('PAD');
    expect(gen.plan.tensorOffset.has(1)).toBe(false); // the padded tensor
    const ioBytes = elementCount(g.tensors[0]!.shape) + elementCount(g.tensors[2]!.shape);
    expect(gen.arenaBytes).toBeLessThanOrEqual(Math.ceil(ioBytes / 4) * 4 + 4);
    expect(gen.arenaBytes).toBeLessThan(planMemory(g).arenaBytes);
    await nativeEqualsReference(g);
  });

  it.each([
    ['a conv padded with a value that is not real 0', padded('conv', 6, 6, 2, [1, 1, 1, 1], 5, 1, 3)],
    ['a max pool padded with a value that can win', padded('max', 6, 6, 2, [1, 1, 1, 1], 0, 1, 3)],
    ['an average pool (TFLite counts the padded taps)', padded('avg', 6, 6, 2, [1, 1, 1, 1], -3, 1, 3)],
  ])('not folded: %s', (_, g) => {
    expect(foldPadding(g).ops.map((o) => o.type)[0]).toBe('PAD');
  });

  it('not folded: a PAD read by two ops', () => {
    const g = padded('conv', 6, 6, 2, [1, 1, 1, 1], -3, 1, 3);
    const extra = g.tensors.length;
    g.tensors.push({ ...g.tensors[1]!, index: extra, name: 'copy' });
    g.ops.push({ index: 2, type: 'RESHAPE', version: 1, inputs: [1], outputs: [extra], attrs: { newShape: [...g.tensors[1]!.shape] }, source: g.ops[0]!.source });
    g.outputs.push({ tensor: extra });
    expect(foldPadding(g).ops.map((o) => o.type)).toEqual(['PAD', 'CONV_2D', 'RESHAPE']);
  });
});
