/**
 * Static memory plan for the native backend: which bytes of one arena each activation tensor
 * occupies, computed once at generation time.
 *
 * - Lifetimes are measured in op indices. A tensor produced by op i and last read by op j lives
 *   over [i, j]; graph inputs are live from before op 0, graph outputs until after the last op,
 *   and variable (state) tensors for the whole run (they keep their values between invokes).
 *   An op's inputs and outputs are live at the same instant, so no kernel runs in place.
 * - Ops that only reinterpret a tensor (RESHAPE) alias their output onto their input's buffer:
 *   the buffer's lifetime is the union of both tensors'.
 * - Offsets: several greedy orders (largest first, longest-lived first, earliest first) are
 *   tried; each places a buffer at the lowest aligned offset that does not overlap any placed
 *   buffer live at the same time. The smallest arena wins.
 * - verifyPlan() checks the result independently: no two simultaneously live buffers overlap.
 */
import { isConstant, tensorBytes, type Graph } from '../ir/graph.ts';

/** Ops whose output has exactly the bytes of their first input, so it can share its buffer. */
export const ALIAS_OPS: ReadonlySet<string> = new Set(['RESHAPE', 'SQUEEZE', 'EXPAND_DIMS']);

/** Every buffer offset is a multiple of this (int32 and float tensors need 4). */
export const ARENA_ALIGNMENT = 4;

export interface PlannedBuffer {
  id: number;
  /** IR tensor indices stored here (more than one when aliased). */
  tensors: number[];
  bytes: number;
  /** First and last op index during which the buffer must hold its data (inclusive). */
  first: number;
  last: number;
  offset: number;
  /** State tensors live for the whole run and are zeroed only by tml_model_init. */
  persistent: boolean;
}

export interface MemoryPlan {
  arenaBytes: number;
  buffers: PlannedBuffer[];
  /** Arena offset of every non-constant tensor the generated code touches. */
  tensorOffset: Map<number, number>;
  /** Bytes of the constant tensors in the model (weights, biases) before any transformation. */
  constantBytes: number;
  /** Which greedy order produced the plan. */
  strategy: string;
}

function alignUp(n: number, a: number): number {
  return Math.ceil(n / a) * a;
}

/** Builds buffers (with aliasing) and their lifetimes; offsets are left at 0. */
export function bufferLifetimes(graph: Graph): PlannedBuffer[] {
  const numOps = graph.ops.length;
  // Union-find over tensor indices for aliasing.
  const parent = new Map<number, number>();
  const find = (t: number): number => {
    let r = t;
    while (parent.has(r) && parent.get(r) !== r) r = parent.get(r)!;
    return r;
  };
  const isActivation = (t: number) => t >= 0 && !isConstant(graph.tensors[t]!);
  for (const op of graph.ops) {
    if (!ALIAS_OPS.has(op.type)) continue;
    const src = op.inputs[0]!;
    const dst = op.outputs[0]!;
    // Only alias activation into activation, never onto a state tensor (state must not change).
    if (isActivation(src) && isActivation(dst) && !graph.tensors[src]!.variable && !graph.tensors[dst]!.variable) {
      parent.set(find(dst), find(src));
    }
  }
  const first = new Map<number, number>();
  const last = new Map<number, number>();
  const touch = (t: number, time: number) => {
    if (!isActivation(t)) return;
    const r = find(t);
    first.set(r, Math.min(first.get(r) ?? time, time));
    last.set(r, Math.max(last.get(r) ?? time, time));
  };
  for (const inp of graph.inputs) touch(inp.tensor, -1);
  graph.ops.forEach((op, i) => {
    for (const t of op.inputs) touch(t, i);
    for (const t of op.outputs) touch(t, i);
  });
  for (const out of graph.outputs) touch(out.tensor, numOps);
  const members = new Map<number, number[]>();
  const persistent = new Set<number>();
  for (const t of graph.tensors) {
    if (!isActivation(t.index)) continue;
    const r = find(t.index);
    if (!first.has(r)) continue; // unused tensor: nothing to store
    if (!members.has(r)) members.set(r, []);
    members.get(r)!.push(t.index);
    if (t.variable) persistent.add(r);
  }
  const buffers: PlannedBuffer[] = [];
  for (const [root, tensors] of [...members.entries()].sort((a, b) => a[0] - b[0])) {
    const bytes = Math.max(...tensors.map((t) => tensorBytes(graph.tensors[t]!)));
    const p = persistent.has(root);
    buffers.push({
      id: buffers.length,
      tensors: tensors.sort((a, b) => a - b),
      bytes,
      first: p ? -1 : first.get(root)!,
      last: p ? numOps : last.get(root)!,
      offset: 0,
      persistent: p,
    });
  }
  return buffers;
}

function overlapsInTime(a: PlannedBuffer, b: PlannedBuffer): boolean {
  return a.first <= b.last && b.first <= a.last;
}

/** Places buffers in `order` at the lowest non-conflicting offsets; returns the arena size. */
function placeGreedy(order: PlannedBuffer[], alignment: number): number {
  const placed: PlannedBuffer[] = [];
  let arena = 0;
  for (const buf of order) {
    const conflicts = placed.filter((p) => overlapsInTime(p, buf)).sort((a, b) => a.offset - b.offset);
    let offset = 0;
    for (const c of conflicts) {
      if (offset + buf.bytes <= c.offset) break;
      offset = Math.max(offset, alignUp(c.offset + c.bytes, alignment));
    }
    buf.offset = offset;
    placed.push(buf);
    arena = Math.max(arena, offset + buf.bytes);
  }
  return alignUp(arena, alignment);
}

const STRATEGIES: Record<string, (a: PlannedBuffer, b: PlannedBuffer) => number> = {
  'largest-first': (a, b) => b.bytes - a.bytes || a.first - b.first || a.id - b.id,
  'longest-lived-first': (a, b) => b.last - b.first - (a.last - a.first) || b.bytes - a.bytes || a.id - b.id,
  'earliest-first': (a, b) => a.first - b.first || b.bytes - a.bytes || a.id - b.id,
  'largest-area-first': (a, b) => b.bytes * (b.last - b.first + 1) - a.bytes * (a.last - a.first + 1) || a.id - b.id,
};

export function planMemory(graph: Graph, alignment = ARENA_ALIGNMENT): MemoryPlan {
  let best: { arena: number; offsets: number[]; strategy: string } | undefined;
  const buffers = bufferLifetimes(graph);
  for (const [name, cmp] of Object.entries(STRATEGIES)) {
    const arena = placeGreedy([...buffers].sort(cmp), alignment);
    if (!best || arena < best.arena) best = { arena, offsets: buffers.map((b) => b.offset), strategy: name };
  }
  buffers.forEach((b, i) => (b.offset = best ? best.offsets[i]! : 0));
  const tensorOffset = new Map<number, number>();
  for (const b of buffers) for (const t of b.tensors) tensorOffset.set(t, b.offset);
  let constantBytes = 0;
  for (const t of graph.tensors) if (isConstant(t)) constantBytes += t.data!.length;
  const plan: MemoryPlan = {
    arenaBytes: best?.arena ?? 0,
    buffers,
    tensorOffset,
    constantBytes,
    strategy: best?.strategy ?? 'empty',
  };
  verifyPlan(plan, alignment);
  return plan;
}

/** Throws if two buffers live at the same time share a byte, or a buffer leaves the arena. */
export function verifyPlan(plan: Pick<MemoryPlan, 'arenaBytes' | 'buffers'>, alignment = ARENA_ALIGNMENT): void {
  const bs = plan.buffers;
  for (const b of bs) {
    if (b.offset < 0 || b.offset + b.bytes > plan.arenaBytes) {
      throw new Error(`memory plan: buffer ${b.id} [${b.offset}, ${b.offset + b.bytes}) leaves the ${plan.arenaBytes}-byte arena`);
    }
    if (b.offset % alignment !== 0) throw new Error(`memory plan: buffer ${b.id} offset ${b.offset} is not ${alignment}-aligned`);
  }
  for (let i = 0; i < bs.length; i++) {
    for (let j = i + 1; j < bs.length; j++) {
      const a = bs[i]!;
      const b = bs[j]!;
      if (!overlapsInTime(a, b) || a.bytes === 0 || b.bytes === 0) continue;
      if (a.offset < b.offset + b.bytes && b.offset < a.offset + a.bytes) {
        throw new Error(
          `memory plan: buffers ${a.id} (tensors ${a.tensors.join(',')}) and ${b.id} (tensors ${b.tensors.join(',')}) ` +
            `are live together (ops ${Math.max(a.first, b.first)}..${Math.min(a.last, b.last)}) and overlap in the arena`,
        );
      }
    }
  }
}
