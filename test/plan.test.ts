/**
 * The static memory planner on the real shared models and on hand-made graphs: lifetimes,
 * RESHAPE aliasing, state tensors, the overlap verifier, and arena bounds.
 */
import { describe, expect, it } from 'vitest';
import { loadModel } from '../src/formats/load.ts';
import { isConstant, tensorBytes, type Graph } from '../src/ir/graph.ts';
import { bufferLifetimes, planMemory, verifyPlan, type PlannedBuffer } from '../src/plan/memory.ts';
import { GOLDEN_IDS, goldenModel } from './helpers/native-models.ts';

/** The largest total of bytes live at any single op: no valid plan can use less. */
function peakLiveBytes(buffers: PlannedBuffer[], numOps: number): number {
  let peak = 0;
  for (let t = -1; t <= numOps; t++) {
    peak = Math.max(peak, buffers.filter((b) => b.first <= t && t <= b.last).reduce((s, b) => s + b.bytes, 0));
  }
  return peak;
}

describe.each(GOLDEN_IDS)('memory plan of %s', (id) => {
  const graph = loadModel(goldenModel(id).modelPath);
  const plan = planMemory(graph);

  it('passes the independent overlap check and stays between the live peak and the sum of all buffers', () => {
    expect(() => verifyPlan(plan)).not.toThrow();
    const peak = peakLiveBytes(plan.buffers, graph.ops.length);
    const sum = plan.buffers.reduce((s, b) => s + Math.ceil(b.bytes / 4) * 4, 0);
    expect(plan.arenaBytes).toBeGreaterThanOrEqual(peak);
    expect(plan.arenaBytes).toBeLessThanOrEqual(sum);
  });

  it('places every non-constant tensor an op touches, and no constant', () => {
    for (const op of graph.ops) {
      for (const t of [...op.inputs, ...op.outputs]) {
        if (t < 0) continue;
        const tensor = graph.tensors[t]!;
        expect(plan.tensorOffset.has(t), `tensor ${t}`).toBe(!isConstant(tensor));
      }
    }
  });

  it('keeps graph inputs live from the start and outputs until the end', () => {
    const numOps = graph.ops.length;
    for (const inp of graph.inputs) expect(plan.buffers.find((b) => b.tensors.includes(inp.tensor))!.first).toBe(-1);
    for (const out of graph.outputs) expect(plan.buffers.find((b) => b.tensors.includes(out.tensor))!.last).toBe(numOps);
  });
});

describe('aliasing and state', () => {
  it('a RESHAPE output shares its input\'s bytes (kws: the pooled features reshaped for the classifier)', () => {
    const graph = loadModel(goldenModel('mlperf-tiny-kws').modelPath);
    const plan = planMemory(graph);
    const reshape = graph.ops.find((o) => o.type === 'RESHAPE')!;
    expect(plan.tensorOffset.get(reshape.outputs[0]!)).toBe(plan.tensorOffset.get(reshape.inputs[0]!));
    const buf = plan.buffers.find((b) => b.tensors.includes(reshape.inputs[0]!))!;
    expect(buf.tensors).toContain(reshape.outputs[0]!);
  });

  it('SVDF state tensors live for the whole run in their own bytes (keyword_scrambled)', () => {
    const graph = loadModel(goldenModel('tflm-keyword-scrambled').modelPath);
    const plan = planMemory(graph);
    const states = plan.buffers.filter((b) => b.persistent);
    expect(states.map((b) => b.tensors[0])).toEqual(graph.tensors.filter((t) => t.variable).map((t) => t.index));
    for (const s of states) {
      expect([s.first, s.last]).toEqual([-1, graph.ops.length]);
      for (const other of plan.buffers) {
        if (other === s) continue;
        const overlap = s.offset < other.offset + other.bytes && other.offset < s.offset + s.bytes;
        expect(overlap, `state ${s.tensors} vs ${other.tensors}`).toBe(false);
      }
    }
  });

  it('an op\'s inputs and outputs never share bytes (no kernel runs in place)', () => {
    for (const id of GOLDEN_IDS) {
      const graph = loadModel(goldenModel(id).modelPath);
      const plan = planMemory(graph);
      for (const op of graph.ops) {
        if (op.type === 'RESHAPE') continue;
        for (const i of op.inputs.filter((t) => plan.tensorOffset.has(t))) {
          for (const o of op.outputs) {
            const a = plan.tensorOffset.get(i)!;
            const b = plan.tensorOffset.get(o)!;
            const overlap = a < b + tensorBytes(graph.tensors[o]!) && b < a + tensorBytes(graph.tensors[i]!);
            expect(overlap, `${id} op ${op.index}: tensor ${i} and ${o}`).toBe(false);
          }
        }
      }
    }
  });
});

/** A chain x -> op0 -> a -> op1 -> b -> op2 -> y of int8 tensors with the given byte sizes. */
function chain(sizes: number[]): Graph {
  return {
    format: 'tflite',
    tensors: sizes.map((n, i) => ({ index: i, name: `t${i}`, shape: [1, n], dtype: 'int8' as const })),
    ops: sizes.slice(1).map((_, i) => ({
      index: i,
      type: 'QUANTIZE',
      version: 1,
      inputs: [i],
      outputs: [i + 1],
      attrs: {},
      source: { format: 'tflite' as const, opType: 'QUANTIZE', name: `op${i}` },
    })),
    inputs: [{ tensor: 0 }],
    outputs: [{ tensor: sizes.length - 1 }],
    meta: {},
    warnings: [],
  };
}

describe('placement on hand-made graphs', () => {
  it('a chain reuses memory: the arena is the largest adjacent pair, not the sum', () => {
    const plan = planMemory(chain([100, 400, 100, 400, 20]));
    // At each op only its input and output are live; the output buffer of the last op must
    // also stay live to the end, so the best arena is max over ops of in + out.
    expect(plan.arenaBytes).toBe(500);
    expect(bufferLifetimes(chain([100, 400, 100, 400, 20])).map((b) => [b.first, b.last])).toEqual([
      [-1, 0],
      [0, 1],
      [1, 2],
      [2, 3],
      [3, 4],
    ]);
  });

  it('the verifier rejects two live buffers that share a byte, and one that leaves the arena', () => {
    const a: PlannedBuffer = { id: 0, tensors: [0], bytes: 16, first: 0, last: 2, offset: 0, persistent: false };
    const b: PlannedBuffer = { id: 1, tensors: [1], bytes: 16, first: 2, last: 3, offset: 12, persistent: false };
    expect(() => verifyPlan({ arenaBytes: 28, buffers: [a, b] })).toThrow(/buffers 0 \(tensors 0\) and 1 \(tensors 1\) are live together \(ops 2\.\.2\) and overlap/);
    // Same bytes at different times is fine.
    expect(() => verifyPlan({ arenaBytes: 28, buffers: [a, { ...b, first: 3 }] })).not.toThrow();
    expect(() => verifyPlan({ arenaBytes: 20, buffers: [a, { ...b, first: 3, offset: 8 }] })).toThrow(/leaves the 20-byte arena/);
  });

  it('is deterministic: the same graph gives the same offsets', () => {
    const g = loadModel(goldenModel('mlperf-tiny-ic').modelPath);
    const a = planMemory(g);
    const b = planMemory(g);
    expect(a.buffers.map((x) => x.offset)).toEqual(b.buffers.map((x) => x.offset));
    expect(a.arenaBytes).toBe(b.arenaBytes);
  });
});
