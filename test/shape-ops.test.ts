/**
 * Data movement, reductions, resize and BATCH_MATMUL beyond what ../shared/golden-ops covers
 * (golden-ops.test.ts checks those against TFLite Micro):
 * - the int8 reference on tiny cases worked out by hand from TFLM's reference kernels (negative
 *   strides, shrink masks, SLICE, SPLIT_V, batched GATHER, ties in ARG_MIN, half-pixel nearest
 *   resize, TFLite's own bilinear test vector, adj_x / adj_y with broadcasting, truncating MEAN);
 * - the native C (host, ASan+UBSan) against the int8 reference on every element of one
 *   many-op graph per dtype (int8, int16) with random inputs;
 * - the float engine: the same index geometry (pure movement reproduces the TFLM golden bytes
 *   of int8 models) and float SUM / REDUCE_MAX / RESIZE_BILINEAR values;
 * - refusals: a model TFLM rejects is refused by every engine with a typed error.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildHostRunner, runHostRunner } from '../src/build/host.ts';
import { generateNative } from '../src/codegen/native/generate.ts';
import { DataError, UnsupportedError } from '../src/errors.ts';
import { loadModel } from '../src/formats/load.ts';
import type { AttrValue, DType, Graph, Op, Tensor } from '../src/ir/graph.ts';
import { elementCount } from '../src/ir/graph.ts';
import { runFloat } from '../src/reference/float/run.ts';
import { decodeBytes } from '../src/reference/int8/common.ts';
import { runInt8 } from '../src/reference/int8/index.ts';
import type { TensorValue, TypedArray } from '../src/reference/tensor-value.ts';
import { GOLDEN_OP_IDS, goldenOp } from './helpers/golden-ops.ts';

process.env['TINYML_CACHE'] = mkdtempSync(join(tmpdir(), 'tinyml-shape-ops-cache-'));

/** A graph built op by op; constants are int32 unless given another dtype. */
class Builder {
  tensors: Tensor[] = [];
  ops: Op[] = [];
  inputs: number[] = [];
  outputs: number[] = [];

  tensor(shape: number[], dtype: DType, quant?: { scale: number; zp?: number }): number {
    const t: Tensor = { index: this.tensors.length, name: `t${this.tensors.length}`, shape, dtype };
    if (quant) t.quant = { scale: [quant.scale], zeroPoint: [quant.zp ?? 0], axis: 0 };
    this.tensors.push(t);
    return t.index;
  }

  input(shape: number[], dtype: DType, quant?: { scale: number; zp?: number }): number {
    const i = this.tensor(shape, dtype, quant);
    this.inputs.push(i);
    return i;
  }

  constant(values: number[], shape: number[] = [values.length], dtype: DType = 'int32', quant?: { scale: number; zp?: number }): number {
    const i = this.tensor(shape, dtype, quant);
    const arr = dtype === 'int8' ? Int8Array.from(values) : dtype === 'int16' ? Int16Array.from(values) : dtype === 'float32' ? Float32Array.from(values) : Int32Array.from(values);
    this.tensors[i]!.data = new Uint8Array(arr.buffer);
    return i;
  }

  op(type: string, inputs: number[], outputs: number[], attrs: Record<string, AttrValue> = {}, graphOutput = true): void {
    this.ops.push({ index: this.ops.length, type, version: 1, inputs, outputs, attrs, source: { format: 'tflite', opType: type, name: `${type.toLowerCase()}_${this.ops.length}` } });
    if (graphOutput) this.outputs.push(...outputs);
  }

  graph(): Graph {
    return {
      format: 'tflite',
      tensors: this.tensors,
      ops: this.ops,
      inputs: this.inputs.map((tensor) => ({ tensor })),
      outputs: this.outputs.map((tensor) => ({ tensor })),
      meta: {},
      warnings: [],
    };
  }
}

function typed(dtype: DType, data: number[]): TypedArray {
  return dtype === 'int8' ? Int8Array.from(data) : dtype === 'int16' ? Int16Array.from(data) : dtype === 'int32' ? Int32Array.from(data) : Float32Array.from(data);
}

function value(dtype: DType, shape: number[], data: number[]): TensorValue {
  return { dtype, shape, data: typed(dtype, data) };
}

const iota = (n: number, from = 0) => Array.from({ length: n }, (_, i) => from + i);

/** One op on one int8 input [shape] = 0, 1, 2, ...; returns output `k` as numbers. */
function one(type: string, shape: number[], outShapes: number[][], attrs: Record<string, AttrValue>, params: (b: Builder) => number[] = () => [], dtype: DType = 'int8', data?: number[]): number[][] {
  const b = new Builder();
  const q = { scale: 0.5, zp: 0 };
  const x = b.input(shape, dtype, q);
  const extra = params(b);
  const outs = outShapes.map((s) => b.tensor(s, type.startsWith('ARG_') ? 'int32' : dtype, q));
  b.op(type, type === 'SPLIT' ? [extra[0]!, x] : [x, ...extra], outs, attrs);
  const input = data ?? iota(elementCount(shape));
  return runInt8(b.graph(), [value(dtype, shape, input)]).outputs.map((o) => Array.from(o.data as ArrayLike<number>));
}

describe('int8 reference: TFLM semantics worked out by hand', () => {
  it('STRIDED_SLICE with a negative stride walks backwards from a negative begin (stop excluded)', () => {
    // begin -1 -> 4, end 0, stride -1: elements 4, 3, 2, 1 (TFLM StridedSliceStartForAxis/EndForAxis).
    const r = one('STRIDED_SLICE', [5], [[4]], { begin_mask: 0, end_mask: 0, shrink_axis_mask: 0 }, (b) => [b.constant([-1]), b.constant([0]), b.constant([-1])]);
    expect(r[0]).toEqual([4, 3, 2, 1]);
  });
  it('STRIDED_SLICE shrink_axis_mask takes one row and drops the axis; end_mask takes the rest', () => {
    // x [3,4] = 0..11; axis 0 shrunk at begin 1 -> row 1; axis 1 from 1 with end_mask -> [5, 6, 7].
    const r = one('STRIDED_SLICE', [3, 4], [[3]], { begin_mask: 0, end_mask: 2, shrink_axis_mask: 1 }, (b) => [b.constant([1, 1]), b.constant([2, 0]), b.constant([1, 1])]);
    expect(r[0]).toEqual([5, 6, 7]);
  });
  it('SLICE with size -1 runs to the end of the axis', () => {
    const r = one('SLICE', [2, 3], [[1, 2]], {}, (b) => [b.constant([1, 1]), b.constant([-1, -1])]);
    expect(r[0]).toEqual([4, 5]);
  });
  it('SPLIT_V with one size -1 gives that output the rest', () => {
    const r = one('SPLIT_V', [2, 5], [[2, 1], [2, 4]], { num_splits: 2 }, (b) => [b.constant([1, -1]), b.constant([1], [])]);
    expect(r).toEqual([[0, 5], [1, 2, 3, 4, 6, 7, 8, 9]]);
  });
  it('SPLIT takes its axis as input 0', () => {
    const r = one('SPLIT', [2, 4], [[2, 2], [2, 2]], { num_splits: 2 }, (b) => [b.constant([-1], [])]);
    expect(r).toEqual([[0, 1, 4, 5], [2, 3, 6, 7]]);
  });
  it('GATHER with batch_dims 1 picks per batch from its own coordinates', () => {
    // x [2,3] = [[0,1,2],[3,4,5]], coords [[2,0],[1,1]] -> [[2,0],[4,4]].
    const r = one('GATHER', [2, 3], [[2, 2]], { axis: 1, batch_dims: 1 }, (b) => [b.constant([2, 0, 1, 1], [2, 2])]);
    expect(r[0]).toEqual([2, 0, 4, 4]);
  });
  it('GATHER refuses a computed coordinate outside the axis (TFLM would read out of bounds)', () => {
    const b = new Builder();
    const x = b.input([3], 'int8', { scale: 1 });
    const c = b.input([1], 'int32');
    b.op('GATHER', [x, c], [b.tensor([1], 'int8', { scale: 1 })], { axis: 0, batch_dims: 0 });
    const g = b.graph();
    expect(runInt8(g, [value('int8', [3], [7, 8, 9]), value('int32', [1], [2])]).outputs[0]!.data[0]).toBe(9);
    expect(() => runInt8(g, [value('int8', [3], [7, 8, 9]), value('int32', [1], [3])])).toThrow(DataError);
  });
  it('ARG_MIN and ARG_MAX return the first index of a tie', () => {
    const data = [5, 1, 1, 5];
    expect(one('ARG_MIN', [1, 4], [[1]], { output_type: 2 }, (b) => [b.constant([1])], 'int8', data)[0]).toEqual([1]);
    expect(one('ARG_MAX', [1, 4], [[1]], { output_type: 2 }, (b) => [b.constant([-1])], 'int8', data)[0]).toEqual([0]);
  });
  it('PACK stacks along a new axis and UNPACK undoes it', () => {
    const b = new Builder();
    const q = { scale: 1 };
    const x0 = b.input([2, 2], 'int16', q);
    const x1 = b.input([2, 2], 'int16', q);
    const p = b.tensor([2, 2, 2], 'int16', q);
    b.op('PACK', [x0, x1], [p], { axis: 2, values_count: 2 });
    const u = [b.tensor([2, 2], 'int16', q), b.tensor([2, 2], 'int16', q)];
    b.op('UNPACK', [p], u, { axis: 2, num: 2 });
    const out = runInt8(b.graph(), [value('int16', [2, 2], [1, 2, 3, 4]), value('int16', [2, 2], [-1, -2, -3, -4])]).outputs.map((o) => Array.from(o.data as Int16Array));
    expect(out).toEqual([[1, -1, 2, -2, 3, -3, 4, -4], [1, 2, 3, 4], [-1, -2, -3, -4]]);
  });
  it('RESIZE_NEAREST_NEIGHBOR: half_pixel_centers and align_corners pick different source pixels', () => {
    // in 3 -> out 2: scale 1.5; plain floor(o * 1.5) = [0, 1]; half pixel floor((o + .5) * 1.5) = [0, 2];
    // align corners scale 2, round(o * 2) = [0, 2].
    const run = (align: boolean, half: boolean) =>
      one('RESIZE_NEAREST_NEIGHBOR', [1, 1, 3, 1], [[1, 1, 2, 1]], { align_corners: align, half_pixel_centers: half }, (b) => [b.constant([1, 2])])[0];
    expect(run(false, false)).toEqual([0, 1]);
    expect(run(false, true)).toEqual([0, 2]);
    expect(run(true, false)).toEqual([0, 2]);
  });
  it("RESIZE_BILINEAR reproduces TFLite's 2x2 -> 3x3 test vector in integers", () => {
    const r = one('RESIZE_BILINEAR', [1, 2, 2, 1], [[1, 3, 3, 1]], { align_corners: false, half_pixel_centers: false }, (b) => [b.constant([3, 3])], 'int8', [3, 6, 9, 12]);
    expect(r[0]).toEqual([3, 5, 6, 7, 9, 10, 9, 11, 12]);
  });
  it('MEAN with equal quantization truncates toward zero; SUM requantizes', () => {
    // [-3, -2]: sum -5, -5 / 2 truncates to -2 (C division), not -3.
    expect(one('MEAN', [1, 2], [[1, 1]], { axes: [1], keepDims: true }, (b) => [b.constant([1])], 'int8', [-3, -2])[0]).toEqual([-2]);
    // SUM of 1..4 = 10 with input scale = output scale: 10.
    expect(one('SUM', [4], [[]], { keep_dims: false }, (b) => [b.constant([0])], 'int8', [1, 2, 3, 4])[0]).toEqual([10]);
  });
  it('BATCH_MATMUL with adj_x, adj_y and a broadcast batch', () => {
    const b = new Builder();
    const q = { scale: 1 };
    // A [2, 2(K), 2(M)] stored transposed (adj_x); B [1, 3(N), 2(K)] stored transposed (adj_y), broadcast over batch.
    const a = b.input([2, 2, 2], 'int8', q);
    const bm = b.constant([1, 0, 0, 1, 1, 1], [1, 3, 2], 'int8', q);
    const y = b.tensor([2, 2, 3], 'int8', q);
    b.op('BATCH_MATMUL', [a, bm], [y], { adjX: true, adjY: true });
    // batch 0: A^T = [[1,3],[2,4]] (A stored [[1,2],[3,4]]); times B^T = [[1,0,1],[0,1,1]] -> [[1,3,4],[2,4,6]].
    const out = runInt8(b.graph(), [value('int8', [2, 2, 2], [1, 2, 3, 4, 0, 1, 1, 0])]).outputs[0]!;
    expect(Array.from(out.data as Int8Array)).toEqual([1, 3, 4, 2, 4, 6, 0, 1, 1, 1, 0, 1]);
  });
  it('PADV2 takes its pad value from a computed input', () => {
    const b = new Builder();
    const q = { scale: 1 };
    const x = b.input([2], 'int16', q);
    const v = b.input([], 'int16', q);
    b.op('PADV2', [x, b.constant([1, 2], [1, 2]), v], [b.tensor([5], 'int16', q)]);
    const out = runInt8(b.graph(), [value('int16', [2], [10, 20]), value('int16', [], [-7])]).outputs[0]!;
    expect(Array.from(out.data as Int16Array)).toEqual([-7, 10, 20, -7, -7]);
  });
});

/** A graph of many independent ops on random inputs, every output a graph output. */
function manyOps(dtype: 'int8' | 'int16'): Graph {
  const b = new Builder();
  const q = { scale: dtype === 'int8' ? 0.05 : 0.0004, zp: dtype === 'int8' ? 3 : 0 };
  const x = b.input([2, 5, 6, 7], dtype, q);
  const y = b.input([3, 4, 5], dtype, q);
  const out = (shape: number[], qq = q) => b.tensor(shape, dtype, qq);
  b.op('TRANSPOSE', [x, b.constant([3, 1, 0, 2])], [out([7, 5, 2, 6])], { perm: [3, 1, 0, 2] });
  b.op('STRIDED_SLICE', [x, b.constant([1, -1, 5, 0]), b.constant([0, 0, 0, 7]), b.constant([1, -2, -2, 3])], [out([2, 3, 3])], { begin_mask: 0, end_mask: 0, shrink_axis_mask: 1 });
  b.op('SLICE', [y, b.constant([1, 0, 2]), b.constant([2, -1, 2])], [out([2, 4, 2])]);
  b.op('SPLIT_V', [x, b.constant([2, -1, 3]), b.constant([3], [])], [out([2, 5, 6, 2]), out([2, 5, 6, 2]), out([2, 5, 6, 3])], { num_splits: 3 });
  b.op('UNPACK', [y], [out([3, 5]), out([3, 5]), out([3, 5]), out([3, 5])], { axis: 1, num: 4 });
  b.op('PACK', [y, y], [out([3, 4, 2, 5])], { axis: 2, values_count: 2 });
  b.op('CONCATENATION', [y, y, y], [out([3, 12, 5])], { axis: 1, fusedActivation: 'NONE' });
  b.op('PAD', [y, b.constant([1, 0, 0, 2, 3, 1], [3, 2])], [out([4, 6, 9])], { mode: 'CONSTANT', pads: [1, 0, 0, 2, 3, 1], constantValue: q.zp });
  b.op('PADV2', [x, b.constant([0, 1, 2, 0, 1, 1, 0, 0], [4, 2]), b.constant([-5], [], dtype, q)], [out([3, 7, 8, 7])]);
  b.op('GATHER', [x, b.constant([4, 0, 4, 2, 1, 1], [2, 3])], [out([2, 2, 3, 6, 7])], { axis: 1, batch_dims: 0 });
  b.op('EXPAND_DIMS', [y, b.constant([1])], [out([3, 1, 4, 5])]);
  b.op('MEAN', [x, b.constant([0, 2])], [out([5, 7], { scale: q.scale * 0.7, zp: -q.zp })], { axes: [0, 2], keepDims: false });
  b.op('MEAN', [y, b.constant([1])], [out([3, 1, 5])], { axes: [1], keepDims: true });
  b.op('SUM', [x, b.constant([1, 3])], [out([2, 1, 6, 1], { scale: q.scale * 9, zp: dtype === 'int8' ? 1 : 0 })], { keep_dims: true });
  b.op('REDUCE_MAX', [x, b.constant([3, 0])], [out([5, 6])], { keep_dims: false });
  b.op('ARG_MAX', [x, b.constant([2])], [b.tensor([2, 5, 7], 'int32')], { output_type: 2 });
  b.op('ARG_MIN', [y, b.constant([0])], [b.tensor([4, 5], 'int32')], { output_type: 2 });
  b.op('RESIZE_BILINEAR', [x, b.constant([9, 4])], [out([2, 9, 4, 7])], { align_corners: true, half_pixel_centers: false });
  b.op('RESIZE_BILINEAR', [x, b.constant([11, 13])], [out([2, 11, 13, 7])], { align_corners: false, half_pixel_centers: true });
  b.op('RESIZE_NEAREST_NEIGHBOR', [x, b.constant([3, 10])], [out([2, 3, 10, 7])], { align_corners: false, half_pixel_centers: true });
  const bq = { scale: dtype === 'int8' ? 0.02 : 0.0003, zp: dtype === 'int8' ? -4 : 0 };
  const rhs = b.constant(iota(2 * 5 * 3).map((i) => ((i * 37) % 51) - 25), [2, 5, 3], dtype, bq);
  // A [1,4,5] slice of y, so the batch broadcasts 1 -> 2 against the constant.
  const lhs = b.tensor([1, 4, 5], dtype, q);
  b.op('SLICE', [y, b.constant([2, 0, 0]), b.constant([1, 4, 5])], [lhs], {}, false);
  b.op('BATCH_MATMUL', [lhs, rhs], [out([2, 4, 3], { scale: dtype === 'int8' ? 0.05 : 0.002, zp: dtype === 'int8' ? 1 : 0 })], { adjX: false, adjY: false });
  return b.graph();
}

function random(dtype: 'int8' | 'int16', n: number, seed: number): TypedArray {
  let s = seed >>> 0;
  const next = () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s;
  };
  return dtype === 'int8' ? Int8Array.from({ length: n }, () => (next() & 0xff) - 128) : Int16Array.from({ length: n }, () => (next() & 0xffff) - 32768);
}

describe('native C (host, ASan+UBSan) equals the int8 reference', () => {
  for (const dtype of ['int8', 'int16'] as const) {
    it(`${dtype}: every element of every output of every op, 3 random inputs`, async () => {
      const graph = manyOps(dtype);
      const runner = await buildHostRunner(graph);
      const cases = [1, 2, 3].map((k) => graph.inputs.map((gi, i) => random(dtype, elementCount(graph.tensors[gi.tensor]!.shape), 0x1234567 * k + i)));
      const outs = await runHostRunner(runner, cases.map((c) => c.map((v) => new Uint8Array(v.buffer))));
      cases.forEach((c, k) => {
        const ref = runInt8(graph, c.map((v, i) => ({ dtype, shape: [...graph.tensors[graph.inputs[i]!.tensor]!.shape], data: v }))).outputs;
        expect(ref.length).toBe(graph.outputs.length);
        ref.forEach((r, j) => {
          const want = new Uint8Array(r.data.buffer, r.data.byteOffset, r.data.byteLength);
          expect(Array.from(outs[k]![j]!), `case ${k} output ${j} (${graph.ops.find((o) => o.outputs.includes(graph.outputs[j]!.tensor))!.type})`).toEqual(Array.from(want));
        });
      });
      // Outputs are not constant: a kernel that wrote nothing would be noticed.
      const resized = graph.outputs.findIndex((o) => graph.ops.find((op) => op.outputs.includes(o.tensor))!.type === 'RESIZE_BILINEAR');
      expect(new Set(outs[0]![resized]!).size).toBeGreaterThan(20);
    });
  }

  it('a computed GATHER coordinate out of range stops the generated C with an error, never a stray read', async () => {
    const b = new Builder();
    const x = b.input([4, 2], 'int8', { scale: 1 });
    const c = b.input([2], 'int32');
    b.op('GATHER', [x, c], [b.tensor([2, 2], 'int8', { scale: 1 })], { axis: 0, batch_dims: 0 });
    const runner = await buildHostRunner(b.graph());
    const xs = new Uint8Array(Int8Array.from(iota(8)).buffer);
    const ok = await runHostRunner(runner, [[xs, new Uint8Array(Int32Array.from([3, 0]).buffer)]]);
    expect(Array.from(ok[0]![0]!)).toEqual([6, 7, 0, 1]);
    await expect(runHostRunner(runner, [[xs, new Uint8Array(Int32Array.from([1, 4]).buffer)]])).rejects.toThrow(/failed at op 0/);
  });
});

describe('reshape-like ops cost nothing in the native C', () => {
  it('SQUEEZE and EXPAND_DIMS share their input buffer: no copy, no extra arena', () => {
    for (const id of ['squeeze', 'expand_dims']) {
      const graph = loadModel(goldenOp(id).modelPath);
      const gen = generateNative(graph);
      const invoke = gen.files['model.c']!.split('int tml_model_invoke(void)')[1]!.split('\n}')[0]!;
      expect(invoke, id).toContain('aliased');
      expect(invoke, id).not.toMatch(/memcpy|tml_copy_view/);
      expect(gen.arenaBytes, id).toBe(Math.ceil(elementCount(graph.tensors[graph.inputs[0]!.tensor]!.shape) / 4) * 4);
    }
  });
});

describe('float engine', () => {
  const PURE_MOVEMENT = ['arg_max', 'concat_axis3_same_scale', 'expand_dims', 'gather', 'i16_pad', 'i16_transpose', 'pack', 'pad', 'padv2', 'resize_nn', 'resize_nn_align', 'split', 'squeeze', 'strided_slice', 'transpose', 'unpack'];
  it('moves the values of int8/int16 models exactly as TFLite Micro does (golden bytes)', () => {
    for (const id of PURE_MOVEMENT) {
      expect(GOLDEN_OP_IDS).toContain(id);
      const g = goldenOp(id);
      const graph = loadModel(g.modelPath);
      g.cases.forEach((c, k) => {
        const inputs = graph.inputs.map((gi, i): TensorValue => {
          const t = graph.tensors[gi.tensor]!;
          return { dtype: t.dtype, shape: [...t.shape], data: decodeBytes(t.dtype, c.inputs[i]!, elementCount(t.shape)) };
        });
        runFloat(graph, inputs).outputs.forEach((o, j) => {
          expect(Array.from(new Uint8Array(o.data.buffer, o.data.byteOffset, o.data.byteLength)), `${id} case ${k} output ${j}`).toEqual(Array.from(c.outputs[j]!));
        });
      });
    }
  });
  it('computes SUM, REDUCE_MAX, ARG_MIN and RESIZE_BILINEAR on floats', () => {
    const b = new Builder();
    const x = b.input([1, 2, 2, 1], 'float32');
    b.op('SUM', [x, b.constant([1, 2])], [b.tensor([1, 1], 'float32')], { keep_dims: false });
    b.op('REDUCE_MAX', [x, b.constant([2])], [b.tensor([1, 2, 1, 1], 'float32')], { keep_dims: true });
    b.op('ARG_MIN', [x, b.constant([1])], [b.tensor([1, 2, 1], 'int32')], { output_type: 2 });
    b.op('RESIZE_BILINEAR', [x, b.constant([3, 3])], [b.tensor([1, 3, 3, 1], 'float32')], { align_corners: false, half_pixel_centers: false });
    const out = runFloat(b.graph(), [value('float32', [1, 2, 2, 1], [3, 6, 9, 12])]).outputs.map((o) => Array.from(o.data as ArrayLike<number>));
    expect(out[0]).toEqual([30]);
    expect(out[1]).toEqual([6, 12]);
    expect(out[2]).toEqual([0, 0]);
    // TFLite's float test vector for this resize.
    expect(out[3]!.map((v) => Math.round(v * 1e4) / 1e4)).toEqual([3, 5, 6, 7, 9, 10, 9, 11, 12]);
  });
});

describe('refusals: every engine refuses what TFLM rejects, naming the op', () => {
  const bad: [string, () => Graph][] = [
    [
      'STRIDED_SLICE with a zero stride',
      () => {
        const b = new Builder();
        const x = b.input([4], 'int8', { scale: 1 });
        b.op('STRIDED_SLICE', [x, b.constant([0]), b.constant([4]), b.constant([0])], [b.tensor([4], 'int8', { scale: 1 })], { begin_mask: 0, end_mask: 0, shrink_axis_mask: 0 });
        return b.graph();
      },
    ],
    [
      'RESIZE_BILINEAR with align_corners and half_pixel_centers',
      () => {
        const b = new Builder();
        const x = b.input([1, 2, 2, 1], 'int8', { scale: 1 });
        b.op('RESIZE_BILINEAR', [x, b.constant([4, 4])], [b.tensor([1, 4, 4, 1], 'int8', { scale: 1 })], { align_corners: true, half_pixel_centers: true });
        return b.graph();
      },
    ],
    [
      'TRANSPOSE whose output shape contradicts perm',
      () => {
        const b = new Builder();
        const x = b.input([2, 3], 'int8', { scale: 1 });
        b.op('TRANSPOSE', [x, b.constant([1, 0])], [b.tensor([2, 3], 'int8', { scale: 1 })], { perm: [1, 0] });
        return b.graph();
      },
    ],
    [
      'REDUCE_MAX that changes quantization',
      () => {
        const b = new Builder();
        const x = b.input([2, 3], 'int8', { scale: 1 });
        b.op('REDUCE_MAX', [x, b.constant([1])], [b.tensor([2], 'int8', { scale: 2 })], { keep_dims: false });
        return b.graph();
      },
    ],
  ];
  for (const [what, make] of bad) {
    it(what, async () => {
      const g = make();
      const op = g.ops[0]!;
      expect(() => runInt8(g, g.inputs.map((gi) => value('int8', g.tensors[gi.tensor]!.shape, new Array(elementCount(g.tensors[gi.tensor]!.shape)).fill(0))))).toThrow(UnsupportedError);
      await expect(buildHostRunner(g)).rejects.toThrow(new RegExp(`${op.type} \\(op #0, node "${op.source.name}"\\)`));
    });
  }
});
