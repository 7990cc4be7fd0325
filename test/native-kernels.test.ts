/**
 * Kernel paths the shared models do not reach, on a hand-built int8 graph run by both the
 * generated C (host, ASan+UBSan) and the TS int8 reference: dilated convolution with padding
 * on every side and stride 2, depthwise with depth multiplier 2 and dilation, max and average
 * pooling with padding, ADD broadcasting a constant, per-channel FULLY_CONNECTED and SOFTMAX.
 * Every output element must be equal.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Graph, Op, Tensor } from '../src/ir/graph.ts';
import { runInt8 } from '../src/reference/int8/index.ts';
import { buildHostRunner, runHostRunner } from '../src/build/host.ts';
import { chooseNative, KERNEL_SETS } from '../src/codegen/native/dsp.ts';
import { ARENA_ALIGNMENT, planMemory } from '../src/plan/memory.ts';
import { fastRequant } from '../src/codegen/native/pack.ts';
import { KERNEL_INCLUDE_DIR } from '../src/build/paths.ts';
import { inferOnEmulator } from '../src/run/emulator-engine.ts';
import type { TensorValue } from '../src/reference/tensor-value.ts';

process.env['TINYML_CACHE'] = mkdtempSync(join(tmpdir(), 'tinyml-kernels-cache-'));

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

describe.each(KERNEL_SETS)('kernel paths beyond the shared models (%s kernels)', (kernels) => {
  it('the generated C equals the int8 reference on every element of both outputs, for 8 random inputs', async () => {
    const graph = graphUnderTest();
    const runner = await buildHostRunner(graph, { kernels });
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

/**
 * A graph for the dsp set's generation-time decisions: a 1x1 convolution narrowing 16 -> 8
 * channels in place, a 5x5 depthwise in place (two rows above each window: the line buffer
 * shifts), a 1x1 convolution fused into the ADD after it (whose other input is the depthwise
 * output, overwritten in place), a strided 3x3 convolution streamed row by row into a
 * FULLY_CONNECTED through a RESHAPE, and a padded 3x3 average pool (SIMD sums, clipped windows).
 */
function dspGraph(): Graph {
  const next = rng(0x1234567);
  const int8s = (n: number) => Int8Array.from({ length: n }, () => (next() % 255) - 127);
  const int32s = (n: number, mag: number) => Int32Array.from({ length: n }, () => (next() % (2 * mag + 1)) - mag);
  const bytes = (a: Int8Array | Int32Array) => new Uint8Array(a.buffer.slice(0));
  const tensors: Tensor[] = [];
  const t = (shape: number[], scale: number[], zp: number[], data?: Uint8Array, dtype: Tensor['dtype'] = 'int8', axis = 0): number => {
    tensors.push({ index: tensors.length, name: `t${tensors.length}`, shape, dtype, quant: { scale, zeroPoint: zp, axis }, data });
    return tensors.length - 1;
  };
  const pc = (n: number, base: number) => Array.from({ length: n }, (_, i) => base * (1 + 0.07 * i));
  const z = (n: number) => new Array<number>(n).fill(0);
  const conv = (inC: number, outC: number, k: number, s: number) => [
    t([outC, k, k, inC], pc(outC, 0.004), z(outC), bytes(int8s(outC * k * k * inC))),
    t([outC], pc(outC, 0.0002), z(outC), bytes(int32s(outC, 4000)), 'int32'),
  ];
  const x = t([1, 8, 6, 16], [0.05], [-3]);
  const [w0, b0] = conv(16, 8, 1, 1);
  const a = t([1, 8, 6, 8], [0.09], [-128]);
  const w1 = t([1, 5, 5, 8], pc(8, 0.006), z(8), bytes(int8s(200)), 'int8', 3);
  const b1 = t([8], pc(8, 0.0005), z(8), bytes(int32s(8, 3000)), 'int32');
  const bb = t([1, 8, 6, 8], [0.1], [5]);
  const [w2, b2] = conv(8, 12, 3, 1);
  const c = t([1, 8, 6, 12], [0.08], [-128]);
  const [w3, b3] = conv(12, 8, 1, 1);
  const d = t([1, 8, 6, 8], [0.12], [3]);
  const e = t([1, 8, 6, 8], [0.15], [-7]);
  const [w5, b5] = conv(8, 6, 3, 2);
  const f = t([1, 3, 2, 6], [0.1], [-128]);
  const flat = t([1, 36], [0.1], [-128]);
  const w7 = t([5, 36], pc(5, 0.003), z(5), bytes(int8s(180)));
  const b7 = t([5], pc(5, 0.0003), z(5), bytes(int32s(5, 2000)), 'int32');
  const g = t([1, 5], [0.2], [2]);
  const pooled = t([1, 8, 6, 8], [0.15], [-7]);
  const op = (type: string, inputs: number[], outputs: number[], attrs: Op['attrs']): Op => ({
    index: 0, type, version: 1, inputs, outputs, attrs, source: { format: 'tflite', opType: type, name: type.toLowerCase() },
  });
  const same = (p: number) => ({ strideH: 1, strideW: 1, dilationH: 1, dilationW: 1, padding: 'SAME', pads: [p, p, p, p], fusedActivation: 'NONE' });
  const ops = [
    op('CONV_2D', [x, w0, b0], [a], same(0)),
    op('DEPTHWISE_CONV_2D', [a, w1, b1], [bb], { ...same(2), depthMultiplier: 1 }),
    op('CONV_2D', [bb, w2, b2], [c], { ...same(1), fusedActivation: 'RELU' }),
    op('CONV_2D', [c, w3, b3], [d], same(0)),
    op('ADD', [bb, d], [e], { fusedActivation: 'NONE' }),
    op('CONV_2D', [e, w5, b5], [f], { strideH: 2, strideW: 2, dilationH: 1, dilationW: 1, padding: 'VALID', pads: [0, 0, 0, 0], fusedActivation: 'RELU' }),
    op('RESHAPE', [f], [flat], { newShape: [1, 36] }),
    op('FULLY_CONNECTED', [flat, w7, b7], [g], { fusedActivation: 'NONE', keepNumDims: false }),
    op('AVERAGE_POOL_2D', [e], [pooled], { filterH: 3, filterW: 3, strideH: 1, strideW: 1, padding: 'SAME', pads: [1, 1, 1, 1], fusedActivation: 'RELU6', countIncludePad: false }),
  ];
  ops.forEach((o, i) => (o.index = i));
  return { format: 'tflite', tensors, ops, inputs: [{ tensor: x }], outputs: [{ tensor: g }, { tensor: e }, { tensor: pooled }], meta: {}, warnings: [] };
}

describe('the dsp set\'s fusion, in-place execution and streaming', () => {
  it('are all chosen for the graph built to need them', () => {
    const graph = dspGraph();
    const s = chooseNative(graph, { kernels: 'dsp' });
    const plan = planMemory(graph, ARENA_ALIGNMENT, s.request);
    expect(plan.inPlace.map((p) => p.op).sort()).toEqual([0, 1, 3]); // 1x1, depthwise, conv+ADD over the depthwise output
    expect(s.choices.get(4)).toEqual({ kind: 'fused', into: 3 });
    expect([6, 7].map((i) => s.choices.get(i))).toEqual([{ kind: 'fused', into: 5 }, { kind: 'fused', into: 5 }]);
    expect(s.choices.get(8)).toEqual({ kind: 'avgpool' });
  });

  it.each([['all dsp', undefined], ['some ops back to int8 weights by the flash budget', 3500]] as const)(
    'the generated C equals the int8 reference on every element, 8 random inputs (%s)',
    async (_what, constBudget) => {
      const graph = dspGraph();
      if (constBudget) expect(chooseNative(graph, { kernels: 'dsp', constBudget }).choices.size).toBeLessThan(chooseNative(graph, { kernels: 'dsp' }).choices.size);
      const runner = await buildHostRunner(graph, { kernels: 'dsp', constBudget });
      const next = rng(0xabcdef);
      const inputs = Array.from({ length: 8 }, () => Int8Array.from({ length: 768 }, () => (next() & 0xff) - 128));
      const outs = await runHostRunner(runner, inputs.map((v) => [new Uint8Array(v.buffer)]));
      inputs.forEach((v, k) => {
        const ref = runInt8(graph, [{ dtype: 'int8', shape: [1, 8, 6, 16], data: v }]).outputs;
        ref.forEach((r, j) => {
          const got = new Int8Array(outs[k]![j]!.buffer, outs[k]![j]!.byteOffset, outs[k]![j]!.length);
          expect(Array.from(got), `input ${k} output ${j}`).toEqual(Array.from(r.data as Int8Array));
        });
      });
      expect(new Set(new Int8Array(outs[0]![1]!.buffer)).size).toBeGreaterThan(5);
    },
  );
});

describe('the dsp set\'s fusion, in-place execution and streaming on QEMU mps2-an386 (the assembly loops)', () => {
  it('the firmware\'s outputs equal the int8 reference on every element', async () => {
    const graph = dspGraph();
    const next = rng(0x5151);
    const v = Int8Array.from({ length: 768 }, () => (next() & 0xff) - 128);
    const input: TensorValue = { dtype: 'int8', shape: [1, 8, 6, 16], data: v };
    const got = (await inferOnEmulator(graph, [input], 'mps2-an386', 'dsp')).outputs;
    runInt8(graph, [input]).outputs.forEach((r, j) => expect(Array.from(got[j]!.data as Int8Array), `output ${j}`).toEqual(Array.from(r.data as Int8Array)));
  });
});

describe('the five-instruction requantization (tml_requant.h)', () => {
  it('equals TFLite\'s MultiplyByQuantizedMultiplier on 2 million accumulators, multipliers, shifts and zero points', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tinyml-requant-'));
    writeFileSync(
      join(dir, 'rq.c'),
      `#include <stdio.h>
#include "tml_requant.h"
static unsigned long long s = 88172645463325252ull;
static unsigned long long rnd(void) { s ^= s << 13; s ^= s >> 7; s ^= s << 17; return s; }
int main(void) {
  long n = 0, bad = 0, i;
  for (i = 0; i < 2000000L; ++i) {
    const int32_t e = 1 + (int32_t)(rnd() % 30), zp = (int32_t)(rnd() % 256) - 128;
    const int32_t m = (rnd() % 8 == 0) ? (1 << 30) : (int32_t)((1u << 30) + (uint32_t)(rnd() % (1u << 30)));
    int32_t acc;
    switch (rnd() % 4) {
      case 0: acc = (int32_t)(rnd() % 2001) - 1000; break;
      case 1: acc = (int32_t)(rnd() % 2147483647u) - 1073741823; break;
      case 2: acc = (int32_t)(rnd() % 65) - 32; break;
      default: acc = (int32_t)(rnd() % 400001) - 200000;
    }
    if (acc <= -(1 << 30) || acc >= (1 << 30)) continue;
    if ((double)(acc < 0 ? -(double)acc : acc) + 2 + (double)(1u << (e - 1)) + (zp < 0 ? -zp : zp) * (double)(1u << e) >= 2147483648.0) continue;
    ++n;
    if (tml_rq_apply(2 * acc, m, (int32_t)((1 << (e - 1)) + zp * (int64_t)(1LL << e)), e) != tml_mbqm(acc, m, -e) + zp) ++bad;
  }
  printf("%ld %ld\\n", n, bad);
  return 0;
}
`,
    );
    execFileSync('gcc', ['-std=c99', '-O1', '-Wall', '-Wextra', '-Werror', '-fsanitize=undefined', '-fno-sanitize-recover=all', `-I${KERNEL_INCLUDE_DIR}`, join(dir, 'rq.c'), '-o', join(dir, 'rq')]);
    const [n, bad] = execFileSync(join(dir, 'rq'), { encoding: 'utf8' }).trim().split(' ').map(Number);
    expect(n).toBeGreaterThan(1_000_000);
    expect(bad).toBe(0);
  });

  it('is only generated where it is exact: a right shift of 1..30, a multiplier in [2^30, 2^31), intermediates in int32', () => {
    const m = Int32Array.of(1 << 30);
    expect(fastRequant(m, Int32Array.of(-7), -128, 1000)).toEqual(Int32Array.of(1 << 30, 64 - 128 * 128, 7));
    expect(fastRequant(m, Int32Array.of(0), 0, 1000)).toBeUndefined(); // no right shift
    expect(fastRequant(m, Int32Array.of(2), 0, 1000)).toBeUndefined(); // a left shift
    expect(fastRequant(Int32Array.of(0), Int32Array.of(-3), 0, 1000)).toBeUndefined(); // zero multiplier
    expect(fastRequant(m, Int32Array.of(-3), 0, 2 ** 30)).toBeUndefined(); // |acc| may reach 2^30
    expect(fastRequant(m, Int32Array.of(-24), 127, 1000)).toBeDefined(); // 2^23 + 127 * 2^24 + 1002 < 2^31
    expect(fastRequant(m, Int32Array.of(-25), 127, 1000)).toBeUndefined(); // 127 * 2^25 leaves int32
  });
});
