/**
 * Paths of the 16x8 convolution family, TRANSPOSE_CONV and the integer LSTM that the one-op
 * goldens (golden-ops.test.ts) do not reach, on hand-built graphs run by the generated C (host,
 * ASan+UBSan) and by the int8 reference: every output element must be equal.
 *   16x8 chain: grouped CONV_2D with an int32 bias (int32 accumulator), stride 2, RELU6;
 *     DEPTHWISE_CONV_2D without bias, dilation 2, depth multiplier 2; AVERAGE/MAX_POOL_2D;
 *     FULLY_CONNECTED with per-tensor weights and no bias (int64 path), then per-channel with an
 *     int32 bias; SOFTMAX int16 with beta 2 on a 4-D tensor.
 *   TRANSPOSE_CONV: SAME stride 2 with per-tensor weights, bias and RELU; VALID with strides
 *     (1, 3), per-channel weights, no bias; batch 2.
 *   LSTM: time-major with 2 batch rows, a non-zero hidden zero point, cell scale 2^-11 and an
 *     active cell clip; batch-major with 3 rows; both over consecutive invocations whose hidden
 *     and cell states carry over (the host runner keeps the model's state between cases).
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildHostRunner, runHostRunner } from '../src/build/host.ts';
import { resolvePads } from '../src/formats/tflite/options.ts';
import type { DType, Graph, Op, Tensor } from '../src/ir/graph.ts';
import { prepareInt8 } from '../src/reference/int8/index.ts';
import type { TypedArray } from '../src/reference/tensor-value.ts';

process.env['TINYML_CACHE'] = mkdtempSync(join(tmpdir(), 'tinyml-conv16-cache-'));

/** xorshift32. */
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

class Builder {
  tensors: Tensor[] = [];
  ops: Op[] = [];
  next: () => number;
  constructor(seed: number) {
    this.next = rng(seed);
  }
  ints(n: number, lo: number, hi: number): number[] {
    return Array.from({ length: n }, () => lo + (this.next() % (hi - lo + 1)));
  }
  tensor(shape: number[], dtype: DType, scale: number[], zp: number[], values?: number[], extra: Partial<Tensor> = {}): number {
    let data: Uint8Array | undefined;
    if (values) {
      const typed =
        dtype === 'int8' ? Int8Array.from(values) : dtype === 'int16' ? Int16Array.from(values) : dtype === 'int32' ? Int32Array.from(values) : BigInt64Array.from(values.map(BigInt));
      data = new Uint8Array(typed.buffer.slice(0));
    }
    this.tensors.push({ index: this.tensors.length, name: `t${this.tensors.length}`, shape, dtype, quant: { scale, zeroPoint: zp, axis: extra.quant?.axis ?? 0 }, data, ...extra });
    return this.tensors.length - 1;
  }
  op(type: string, inputs: number[], outputs: number[], attrs: Op['attrs']): void {
    this.ops.push({ index: this.ops.length, type, version: 1, inputs, outputs, attrs, source: { format: 'tflite', opType: type, name: `op${this.ops.length}` } });
  }
  graph(inputs: number[], outputs: number[]): Graph {
    return { format: 'tflite', tensors: this.tensors, ops: this.ops, inputs: inputs.map((tensor) => ({ tensor })), outputs: outputs.map((tensor) => ({ tensor })), meta: {}, warnings: [] };
  }
}

const bytesOf = (a: TypedArray) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);

/** Runs the cases as consecutive invocations in both engines; returns the reference outputs. */
async function compare(graph: Graph, cases: TypedArray[][], keepState: boolean): Promise<TypedArray[][]> {
  const program = prepareInt8(graph);
  const ref = cases.map((inputs) => {
    if (!keepState) program.resetState();
    return program.run(graph.inputs.map((gi, i) => ({ dtype: graph.tensors[gi.tensor]!.dtype, shape: [...graph.tensors[gi.tensor]!.shape], data: inputs[i]! }))).outputs.map((o) => o.data);
  });
  const runner = await buildHostRunner(graph);
  const native = await runHostRunner(runner, cases.map((inputs) => inputs.map(bytesOf)), { keepState });
  native.forEach((outs, k) => outs.forEach((bytes, j) => expect(Array.from(bytes), `case ${k} output ${j}`).toEqual(Array.from(bytesOf(ref[k]![j]!)))));
  return ref;
}

/** Most values strictly inside the dtype range: the test exercises arithmetic, not saturation. */
function expectMostlyUnsaturated(v: TypedArray, lo: number, hi: number): void {
  const inside = Array.from(v as ArrayLike<number>).filter((x) => x > lo && x < hi).length;
  expect(inside / v.length).toBeGreaterThan(0.5);
}

const perChannel = (n: number, base: number) => Array.from({ length: n }, (_, i) => base * (1 + 0.07 * i));
const zeros = (n: number) => new Array<number>(n).fill(0);

describe('16x8 chain: grouped conv (int32 bias), dilated depthwise, pools, FC (no bias, int32 bias), softmax', () => {
  it('native C equals the int8 reference on every element', async () => {
    const b = new Builder(0x16a8);
    const sx = 3e-4;
    const x = b.tensor([2, 7, 8, 6], 'int16', [sx], [0]);
    // Grouped conv: 2 groups of 3 input channels, 8 outputs; int32 bias at scale sx * sw.
    const w0s = perChannel(8, 0.004);
    const w0 = b.tensor([8, 3, 3, 3], 'int8', w0s, zeros(8), b.ints(8 * 27, -127, 127));
    const b0 = b.tensor([8], 'int32', w0s.map((s) => s * sx), zeros(8), b.ints(8, -40000, 40000));
    const y0 = b.tensor([2, 4, 4, 8], 'int16', [4.5e-4], [0]);
    b.op('CONV_2D', [x, w0, b0], [y0], { strideH: 2, strideW: 2, dilationH: 1, dilationW: 1, padding: 'SAME', pads: [1, 1, 1, 1], fusedActivation: 'RELU6', groups: 2 });
    const w1s = perChannel(16, 0.006);
    const w1 = b.tensor([1, 3, 3, 16], 'int8', w1s, zeros(16), b.ints(144, -127, 127), { quant: { scale: w1s, zeroPoint: zeros(16), axis: 3 } });
    const y1 = b.tensor([2, 4, 4, 16], 'int16', [2.5e-4], [0]);
    b.op('DEPTHWISE_CONV_2D', [y0, w1, -1], [y1], { strideH: 1, strideW: 1, dilationH: 2, dilationW: 2, padding: 'SAME', pads: [2, 2, 2, 2], fusedActivation: 'NONE', depthMultiplier: 2 });
    const y2 = b.tensor([2, 2, 2, 16], 'int16', [2.5e-4], [0]);
    b.op('AVERAGE_POOL_2D', [y1], [y2], { filterH: 3, filterW: 3, strideH: 2, strideW: 2, padding: 'SAME', pads: [0, 0, 1, 1], fusedActivation: 'NONE', countIncludePad: false });
    const y3 = b.tensor([2, 2, 2, 16], 'int16', [2.5e-4], [0]);
    b.op('MAX_POOL_2D', [y2], [y3], { filterH: 2, filterW: 2, strideH: 1, strideW: 1, padding: 'SAME', pads: [0, 0, 1, 1], fusedActivation: 'RELU', countIncludePad: false });
    // FC over the 16 channels of every position (8 rows): per-tensor weights, no bias.
    const w4 = b.tensor([10, 16], 'int8', [0.005], [0], b.ints(160, -127, 127));
    const y4 = b.tensor([8, 10], 'int16', [2e-4], [0]);
    b.op('FULLY_CONNECTED', [y3, w4, -1], [y4], { fusedActivation: 'NONE', keepNumDims: false });
    const w5s = perChannel(7, 0.004);
    const w5 = b.tensor([7, 10], 'int8', w5s, zeros(7), b.ints(70, -127, 127));
    const b5 = b.tensor([7], 'int32', w5s.map((s) => s * 2e-4), zeros(7), b.ints(7, -3000, 3000));
    const y5 = b.tensor([2, 2, 2, 7], 'int16', [1.2e-4], [0]);
    b.op('FULLY_CONNECTED', [y4, w5, b5], [y5], { fusedActivation: 'NONE', keepNumDims: true });
    const y6 = b.tensor([2, 2, 2, 7], 'int16', [1 / 32768], [0]);
    b.op('SOFTMAX', [y5], [y6], { beta: 2, axis: 3, coerce2d: false });
    const graph = b.graph([x], [y0, y4, y6]);
    const cases = [0, 1].map(() => [Int16Array.from(b.ints(2 * 7 * 8 * 6, -20000, 20000))]);
    const ref = await compare(graph, cases, false);
    expectMostlyUnsaturated(ref[0]![0]!, -32768, 32767);
    expectMostlyUnsaturated(ref[0]![1]!, -32768, 32767);
  });
});

describe('TRANSPOSE_CONV', () => {
  it('SAME stride 2 (per-tensor weights, bias, RELU) then VALID strides (1, 3) (per-channel, no bias), batch 2', async () => {
    const b = new Builder(0x7c0);
    const sx = 0.04;
    const x = b.tensor([2, 5, 6, 3], 'int8', [sx], [-9]);
    const s0 = b.tensor([4], 'int32', [1], [0], [2, 10, 12, 4]);
    const w0 = b.tensor([4, 3, 3, 3], 'int8', [0.01], [0], b.ints(108, -127, 127));
    const b0 = b.tensor([4], 'int32', [sx * 0.01], [0], b.ints(4, -500, 500));
    const y0 = b.tensor([2, 10, 12, 4], 'int8', [0.05], [-128]);
    b.op('TRANSPOSE_CONV', [s0, w0, x, b0], [y0], { strideH: 2, strideW: 2, padding: 'SAME', pads: resolvePads('SAME', 10, 12, 3, 3, 2, 2, 1, 1), fusedActivation: 'RELU' });
    const s1 = b.tensor([4], 'int32', [1], [0], [2, 11, 38, 5]);
    const w1s = perChannel(5, 0.008);
    const w1 = b.tensor([5, 2, 5, 4], 'int8', w1s, zeros(5), b.ints(200, -127, 127));
    const y1 = b.tensor([2, 11, 38, 5], 'int8', [0.2], [3]);
    b.op('TRANSPOSE_CONV', [s1, w1, y0, -1], [y1], { strideH: 1, strideW: 3, padding: 'VALID', pads: resolvePads('VALID', 11, 38, 2, 5, 1, 3, 1, 1), fusedActivation: 'NONE' });
    const graph = b.graph([x], [y0, y1]);
    const cases = [0, 1].map(() => [Int8Array.from(b.ints(2 * 5 * 6 * 3, -128, 127))]);
    const ref = await compare(graph, cases, false);
    expectMostlyUnsaturated(ref[0]![1]!, -128, 127);
  });
});

/** An integer LSTM as the converter lays it out (24 inputs; states are variable tensors). */
function lstmGraph(seed: number, o: { timeMajor: boolean; B: number; T: number; I: number; S: number; hiddenZp: number; cellScale: number; cellClip: number }): Graph {
  const b = new Builder(seed);
  const sx = 0.03;
  const sh = 1 / 128;
  const xShape = o.timeMajor ? [o.T, o.B, o.I] : [o.B, o.T, o.I];
  const x = b.tensor(xShape, 'int8', [sx], [5]);
  const inputs = new Array<number>(24).fill(-1);
  inputs[0] = x;
  for (let g = 0; g < 4; g++) {
    const ws = 0.004 + 0.001 * g;
    const rs = 0.005 + 0.001 * g;
    inputs[1 + g] = b.tensor([o.S, o.I], 'int8', [ws], [0], b.ints(o.S * o.I, -127, 127));
    inputs[5 + g] = b.tensor([o.S, o.S], 'int8', [rs], [0], b.ints(o.S * o.S, -127, 127));
    inputs[12 + g] = b.tensor([o.S], 'int32', [sx * ws], [0], b.ints(o.S, -4000, 4000));
  }
  inputs[18] = b.tensor([o.B, o.S], 'int8', [sh], [o.hiddenZp], undefined, { variable: true });
  inputs[19] = b.tensor([o.B, o.S], 'int16', [o.cellScale], [0], undefined, { variable: true });
  const y = b.tensor(o.timeMajor ? [o.T, o.B, o.S] : [o.B, o.T, o.S], 'int8', [sh], [o.hiddenZp]);
  b.op('UNIDIRECTIONAL_SEQUENCE_LSTM', inputs, [y], { fusedActivation: 'TANH', cellClip: o.cellClip, projClip: 0, timeMajor: o.timeMajor, asymmetricQuantizeInputs: false, diagonalRecurrentTensors: false });
  return b.graph([x], [y]);
}

describe('UNIDIRECTIONAL_SEQUENCE_LSTM over consecutive invocations (state carried over)', () => {
  it('time-major, 2 rows, hidden zero point 7, cell scale 2^-11, cell clip reached', async () => {
    const o = { timeMajor: true, B: 2, T: 4, I: 5, S: 6, hiddenZp: 7, cellScale: 2 ** -11, cellClip: 0.75 };
    const graph = lstmGraph(0x157, o);
    const next = rng(99);
    const cases = [0, 1, 2].map(() => [Int8Array.from({ length: o.T * o.B * o.I }, () => (next() % 256) - 128)]);
    const ref = await compare(graph, cases, true);
    // The clip is reached: some cell state sits at +-round_toward_zero(0.75 / 2^-11).
    const program = prepareInt8(graph);
    let atClip = 0;
    for (const c of cases) {
      const r = program.run([{ dtype: 'int8', shape: [...graph.tensors[0]!.shape], data: c[0]! }], { keepIntermediates: true });
      atClip += Array.from(r.tensors!.get(graph.ops[0]!.inputs[19]!)!.data as Int16Array).filter((v) => Math.abs(v) === 1536).length;
    }
    expect(atClip).toBeGreaterThan(0);
    // The state matters: the same input gives another output once the state has moved.
    const again = await compare(graph, [cases[0]!, cases[0]!], true);
    expect(Array.from(again[1]![0]! as Int8Array)).not.toEqual(Array.from(again[0]![0]! as Int8Array));
    expectMostlyUnsaturated(ref[2]![0]!, -128, 127);
  });

  it('batch-major, 3 rows, hidden zero point -5, cell scale 2^-12, no clip', async () => {
    const o = { timeMajor: false, B: 3, T: 3, I: 4, S: 5, hiddenZp: -5, cellScale: 2 ** -12, cellClip: 0 };
    const graph = lstmGraph(0x2b5, o);
    const next = rng(7);
    const cases = [0, 1, 2].map(() => [Int8Array.from({ length: o.T * o.B * o.I }, () => (next() % 256) - 128)]);
    const ref = await compare(graph, cases, true);
    expectMostlyUnsaturated(ref[1]![0]!, -128, 127);
  });
});

