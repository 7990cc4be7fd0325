/**
 * The static memory planner on the real shared models and on hand-made graphs: lifetimes,
 * RESHAPE aliasing, state tensors, the overlap verifier, arena bounds, and what the code
 * generator may request (in-place execution, scratch, an execution order, fused ops).
 */
import { describe, expect, it } from 'vitest';
import { loadModel } from '../src/formats/load.ts';
import { isConstant, tensorBytes, type Graph } from '../src/ir/graph.ts';
import { bufferLifetimes, planMemory, verifyPlan, type PlannedBuffer } from '../src/plan/memory.ts';
import { GOLDEN_IDS, goldenModel } from './helpers/native-models.ts';
import { chooseNative } from '../src/codegen/native/dsp.ts';

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

/** Two independent branches x -> op0 -> a, x -> op1 -> b, then op2 = ADD(a, b) -> y. */
function diamond(sizes: { x: number; a: number; b: number; y: number }): Graph {
  const g = chain([sizes.x, sizes.a]);
  const t = (i: number, n: number) => ({ index: i, name: `t${i}`, shape: [1, n], dtype: 'int8' as const });
  const op = (index: number, type: string, inputs: number[], outputs: number[]) => ({
    index, type, version: 1, inputs, outputs, attrs: {}, source: { format: 'tflite' as const, opType: type, name: `op${index}` },
  });
  return {
    ...g,
    tensors: [t(0, sizes.x), t(1, sizes.a), t(2, sizes.b), t(3, sizes.y)],
    ops: [op(0, 'QUANTIZE', [0], [1]), op(1, 'QUANTIZE', [0], [2]), op(2, 'ADD', [1, 2], [3])],
    outputs: [{ tensor: 3 }],
  };
}

describe('requests from the code generator: in place, scratch, execution order, fusion', () => {
  it('an in-place wish is granted when the input dies at that op: input and output share one buffer', () => {
    const g = chain([100, 400, 400, 20]);
    const plain = planMemory(g);
    const plan = planMemory(g, 4, { inPlace: [{ op: 1, input: 1, output: 2 }] });
    expect(plan.inPlace).toEqual([{ op: 1, input: 1, output: 2 }]);
    expect(plan.tensorOffset.get(1)).toBe(plan.tensorOffset.get(2));
    expect(plan.arenaBytes).toBe(500); // x + the shared 400 bytes, instead of 800 at op 1
    expect(plain.arenaBytes).toBe(800);
    expect(() => verifyPlan(plan)).not.toThrow();
  });

  it('an in-place wish is refused when the input is read later, read twice by the op, or a state tensor', () => {
    // ADD(a, b) at op 2 reads a and b: a wish at op 0 (x -> a) must be refused, x is read again by op 1.
    const d = diamond({ x: 64, a: 64, b: 64, y: 64 });
    expect(planMemory(d, 4, { inPlace: [{ op: 0, input: 0, output: 1 }] }).inPlace).toEqual([]);
    expect(planMemory(d, 4, { inPlace: [{ op: 1, input: 0, output: 2 }] }).inPlace).toEqual([{ op: 1, input: 0, output: 2 }]);
    const twice: Graph = { ...d, ops: d.ops.map((o) => (o.index === 2 ? { ...o, inputs: [1, 1] } : o)) };
    expect(planMemory(twice, 4, { inPlace: [{ op: 2, input: 1, output: 3 }] }).inPlace).toEqual([]);
    const state: Graph = { ...d, tensors: d.tensors.map((t) => (t.index === 2 ? { ...t, variable: true } : t)) };
    expect(planMemory(state, 4, { inPlace: [{ op: 2, input: 2, output: 3 }] }).inPlace).toEqual([]);
  });

  it('scratch lives only while its op runs, and its offset is reported', () => {
    const g = chain([100, 400, 100, 20]);
    const plan = planMemory(g, 4, { scratch: new Map([[0, 96]]) });
    const s = plan.buffers.find((b) => b.scratchFor === 0)!;
    expect([s.first, s.last, s.bytes]).toEqual([0, 0, 96]);
    expect(plan.scratchOffset.get(0)).toBe(s.offset);
    expect(plan.arenaBytes).toBe(596); // op 0: x + a + scratch
    expect(() => verifyPlan(plan)).not.toThrow();
  });

  it('an execution order is a timeline: running the ADD\'s inputs back to back changes which buffers meet', () => {
    const d = diamond({ x: 100, a: 10, b: 10, y: 10 });
    const lives = (order?: number[]) => Object.fromEntries(bufferLifetimes(d, order ? { order } : {}).map((b) => [b.tensors[0], [b.first, b.last]]));
    expect(lives()).toEqual({ 0: [-1, 1], 1: [0, 2], 2: [1, 2], 3: [2, 3] });
    expect(lives([1, 0, 2])).toEqual({ 0: [-1, 1], 1: [1, 2], 2: [0, 2], 3: [2, 3] });
    expect(() => planMemory(d, 4, { order: [0, 2] })).toThrow(/every op once/);
  });

  it('a fused op runs at its host\'s time, and an elided tensor takes no bytes', () => {
    const d = diamond({ x: 100, a: 10, b: 50, y: 50 });
    // op 1 (x -> b) fused into op 2 (the ADD): b is never stored, the ADD's operands are read at time 1.
    const plan = planMemory(d, 4, { order: [0, 1, 2], fusedInto: new Map([[2, 1]]), elide: new Set([2]), inPlace: [{ op: 1, input: 1, output: 3 }] });
    expect(plan.tensorOffset.has(2)).toBe(false);
    expect(plan.inPlace).toEqual([{ op: 1, input: 1, output: 3 }]);
    expect(plan.arenaBytes).toBe(152); // x + the shared a/y buffer (50 bytes, aligned to 52)
    expect(() => verifyPlan(plan)).not.toThrow();
  });
});

describe.each(GOLDEN_IDS)('the dsp kernel set\'s plan of %s', (id) => {
  const graph = loadModel(goldenModel(id).modelPath);
  const strategy = chooseNative(graph, { kernels: 'dsp' });
  const plan = planMemory(graph, 4, strategy.request);

  it('passes the overlap check; every granted in-place pair shares an offset; nothing elided is placed', () => {
    expect(() => verifyPlan(plan)).not.toThrow();
    for (const g of plan.inPlace) expect(plan.tensorOffset.get(g.input), `op ${g.op}`).toBe(plan.tensorOffset.get(g.output));
    for (const t of strategy.request.elide ?? []) expect(plan.tensorOffset.has(t)).toBe(false);
    expect([...(strategy.request.order ?? [])].sort((a, b) => a - b)).toEqual(graph.ops.map((_, i) => i));
  });

  it('is no larger than the plan without in-place execution or fusion', () => {
    expect(plan.arenaBytes).toBeLessThanOrEqual(planMemory(graph).arenaBytes);
  });
});
