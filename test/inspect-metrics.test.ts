/**
 * The cost model on small graphs built by hand, where every figure is worked out in the comments
 * from the formulas, so the test does not depend on any importer.
 */
import { describe, it, expect } from 'vitest';
import type { DType, Graph, Op, Tensor } from '../src/ir/graph.ts';
import { activationEstimate, constantTotals, opMacs, opWeightBytes } from '../src/inspect/metrics.ts';
import { boardFit, describeQuant, inspectGraph } from '../src/inspect/inspect.ts';
import { BACKENDS, opDtype } from '../src/backends/support.ts';
import { getBoard } from '../src/boards/registry.ts';

function tensor(index: number, shape: number[], dtype: DType, constant = false): Tensor {
  const t: Tensor = { index, name: `t${index}`, shape, dtype };
  if (constant) t.data = new Uint8Array(shape.reduce((a, b) => a * b, 1) * (dtype === 'int32' || dtype === 'float32' ? 4 : 1));
  return t;
}

function op(index: number, type: string, inputs: number[], outputs: number[], attrs: Op['attrs'] = {}): Op {
  return { index, type, version: 1, inputs, outputs, attrs, source: { format: 'tflite', opType: type, name: `op${index}` } };
}

function graph(tensors: Tensor[], ops: Op[], inputs: number[], outputs: number[]): Graph {
  return { format: 'tflite', tensors, ops, inputs: inputs.map((t) => ({ tensor: t })), outputs: outputs.map((t) => ({ tensor: t })), meta: {}, warnings: [] };
}

describe('MACs', () => {
  it('conv: out_elems * KH * KW * Cin/groups; depthwise: out_elems * KH * KW; FC: batch * units * K', () => {
    const g = graph(
      [
        tensor(0, [1, 8, 8, 6], 'int8'),
        tensor(1, [4, 3, 3, 6], 'int8', true), // conv filter [Cout, KH, KW, Cin]
        tensor(2, [4], 'int32', true),
        tensor(3, [1, 6, 6, 4], 'int8'),
        tensor(4, [1, 5, 5, 4], 'int8', true), // depthwise filter [1, KH, KW, Cout]
        tensor(5, [1, 2, 2, 4], 'int8'),
        tensor(6, [3, 16], 'int8', true), // FC weights [units, K]
        tensor(7, [1, 3], 'int8'),
        tensor(8, [6, 3, 3, 2], 'int8', true), // grouped conv: Cin 6, groups 3 -> 2 per group
        tensor(9, [1, 6, 6, 6], 'int8'),
      ],
      [op(0, 'CONV_2D', [0, 1, 2], [3]), op(1, 'DEPTHWISE_CONV_2D', [3, 4, -1], [5]), op(2, 'FULLY_CONNECTED', [5, 6, -1], [7]), op(3, 'CONV_2D', [0, 8, -1], [9], { groups: 3 })],
      [0],
      [7, 9],
    );
    expect(opMacs(g, g.ops[0]!)).toBe(1 * 6 * 6 * 4 * (3 * 3 * 6)); // 144 outputs * 54
    expect(opMacs(g, g.ops[1]!)).toBe(1 * 2 * 2 * 4 * (5 * 5)); // 16 outputs * 25
    expect(opMacs(g, g.ops[2]!)).toBe(1 * 3 * 16);
    expect(opMacs(g, g.ops[3]!)).toBe(1 * 6 * 6 * 6 * (3 * 3 * 2));
    // Weight bytes per op: conv reads 4*3*3*6 int8 + 4 int32.
    expect(opWeightBytes(g, g.ops[0]!)).toBe(216 + 16);
    // Totals count each constant tensor once: 216 + 16 + 100 + 48 + 108 bytes; 216 + 4 + 100 + 48 + 108 elements.
    expect(constantTotals(g)).toEqual({ parameters: 476, weightBytes: 488 });
  });

  it('TRANSPOSE_CONV: in_elems * KH * KW * Cout; LSTM: out_elems * 4 gates * (I + S)', () => {
    const lstmInputs = new Array<number>(24).fill(-1);
    lstmInputs[0] = 4;
    const g = graph(
      [
        tensor(0, [4], 'int32', true), // output shape
        tensor(1, [5, 3, 2, 6], 'int8', true), // transpose conv filter [Cout, KH, KW, Cin]
        tensor(2, [2, 4, 4, 6], 'int8'),
        tensor(3, [2, 8, 8, 5], 'int8'),
        tensor(4, [2, 7, 10], 'int8'), // LSTM x [B, T, I]
        tensor(5, [2, 7, 16], 'int8'), // LSTM output [B, T, S]
      ],
      [op(0, 'TRANSPOSE_CONV', [0, 1, 2, -1], [3]), op(1, 'UNIDIRECTIONAL_SEQUENCE_LSTM', lstmInputs, [5])],
      [2, 4],
      [3, 5],
    );
    expect(opMacs(g, g.ops[0]!)).toBe(2 * 4 * 4 * 6 * (3 * 2 * 5)); // every input element meets KH*KW taps of Cout filters
    expect(opMacs(g, g.ops[1]!)).toBe(2 * 7 * 16 * 4 * (10 + 16)); // per step and unit: 4 gates of I + S products
  });

  it('element-wise ops and ops without a usable filter count 0 MACs', () => {
    const g = graph([tensor(0, [1, 4], 'int8'), tensor(1, [1, 4], 'int8'), tensor(2, [1, 4], 'int8')], [op(0, 'ADD', [0, 1], [2]), op(1, 'CONV_2D', [0, -1], [2])], [0, 1], [2]);
    expect(opMacs(g, g.ops[0]!)).toBe(0);
    expect(opMacs(g, g.ops[1]!)).toBe(0);
  });
});

describe('activation estimate (lifetime sweep)', () => {
  it('keeps a skip connection alive until its last reader', () => {
    // x(100 B) -> op0 -> a(200 B) -> op1 -> b(50 B); op2 = ADD(x, b) -> y(100 B).
    // Live at op0: x + a = 300; op1: x + a + b = 350; op2: x + b + y = 250. Peak 350 at op 1.
    const g = graph(
      [tensor(0, [100], 'int8'), tensor(1, [200], 'int8'), tensor(2, [50], 'int8'), tensor(3, [100], 'int8')],
      [op(0, 'RELU', [0], [1]), op(1, 'RELU', [1], [2]), op(2, 'ADD', [0, 2], [3])],
      [0],
      [3],
    );
    expect(activationEstimate(g)).toEqual({ peakBytes: 350, peakOp: 1, variableBytes: 0 });
  });

  it('frees a tensor after its last reader, ignores constants and counts variable state throughout', () => {
    // x(40 B int32 [10]) -> op0 -> a(10 B) -> op1 -> b(10 B) -> op2 -> c(10 B); w constant; s variable 8 B.
    // op0: x + a = 50; op1: a + b = 20; op2: b + c = 20; plus the 8 B state everywhere -> 58 at op 0.
    const state = tensor(5, [8], 'int8', true);
    state.variable = true;
    const g = graph(
      [tensor(0, [10], 'int32'), tensor(1, [10], 'int8'), tensor(2, [10], 'int8'), tensor(3, [10], 'int8'), tensor(4, [1000], 'int8', true), state],
      [op(0, 'FULLY_CONNECTED', [0, 4], [1]), op(1, 'SVDF', [1, 5], [2]), op(2, 'RELU', [2], [3])],
      [0],
      [3],
    );
    expect(activationEstimate(g)).toEqual({ peakBytes: 58, peakOp: 0, variableBytes: 8 });
    // The variable tensor is not a weight.
    expect(constantTotals(g)).toEqual({ parameters: 1000, weightBytes: 1000 });
  });

  it('is 0 for a graph without ops', () => {
    expect(activationEstimate(graph([tensor(0, [4], 'int8')], [], [0], [0])).peakBytes).toBe(0);
  });
});

describe('report', () => {
  it('names unknown ops and reads backend support from the backend registry', () => {
    const g = graph([tensor(0, [4], 'int8'), tensor(1, [4], 'int8'), tensor(2, [4], 'int8')], [op(0, 'RELU', [0], [1]), op(1, 'SignalWindow', [1], [2])], [0], [2]);
    const r = inspectGraph(g, { path: 'x.tflite' });
    expect(r.unknownOps).toEqual(['SignalWindow']);
    expect(r.opSet.map((e) => [e.type, e.known])).toEqual([
      ['RELU', true],
      ['SignalWindow', false],
    ]);
    for (const b of BACKENDS) {
      const refused = [...b.refusals(g).keys()].map((i) => g.ops[i]!);
      for (const entry of r.opSet) expect(entry.backends[b.id]).toBe(!refused.some((o) => o.type === entry.type && opDtype(g, o) === entry.dtype));
    }
  });

  it('describes per-tensor and per-channel quantization', () => {
    expect(describeQuant({ scale: [0.5], zeroPoint: [-128], axis: 0 })).toBe('scale=0.5 zp=-128');
    expect(describeQuant({ scale: [0.1, 0.2, 0.3], zeroPoint: [0, 0, 0], axis: 0 })).toBe('per-channel(3)');
    expect(describeQuant(undefined)).toBeNull();
  });

  it('board fit: bytes, percent and the excess against the usable memory', () => {
    const board = getBoard('nicla-sense-me');
    const fit = boardFit(board, board.usable.flash_bytes + 1000, board.usable.ram_bytes / 2);
    expect(fit.flash).toEqual({ usedBytes: board.usable.flash_bytes + 1000, availableBytes: board.usable.flash_bytes, percent: expect.any(Number), fits: false, excessBytes: 1000 });
    expect(fit.flash.percent).toBeGreaterThan(100);
    expect(fit.ram.fits).toBe(true);
    expect(fit.ram.percent).toBe(50);
    expect(fit.fits).toBe(false);
  });
});
