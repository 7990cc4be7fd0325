/**
 * Static memory plan for the native backend: which bytes of one arena each activation tensor
 * occupies, computed once at generation time.
 *
 * - Lifetimes are measured in op indices. A tensor produced by op i and last read by op j lives
 *   over [i, j]; graph inputs are live from before op 0, graph outputs until after the last op,
 *   and variable (state) tensors for the whole run (they keep their values between invokes).
 *   An op's inputs and outputs are live at the same instant, so by default no kernel runs in
 *   place.
 * - Ops that only reinterpret a tensor (RESHAPE) alias their output onto their input's buffer:
 *   the buffer's lifetime is the union of both tensors'.
 * - A PlanRequest (from the code generator, which knows what its kernels can do) adds:
 *   an execution order other than the graph's, in-place execution (an op's output takes over
 *   the buffer of an input that dies at that op), per-op scratch buffers (live only while the
 *   op runs), fused ops (an op whose work runs at another op's time) and elided tensors
 *   (consumed as they are produced, never stored). Times are then positions in that order.
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
  /** Set on a scratch buffer: the op index whose kernel uses it. */
  scratchFor?: number;
}

/** What the code generator's kernels can do, for planMemory() to use. */
export interface PlanRequest {
  /** Execution order (every op index once); default: graph order. Times are positions in it. */
  order?: readonly number[];
  /** Op index -> the op that does its work (fused ops run at that op's time). */
  fusedInto?: ReadonlyMap<number, number>;
  /** Tensors never stored: a fused op consumes them as they are produced. */
  elide?: ReadonlySet<number>;
  /**
   * In-place wishes, in any order: when op `op` runs, `output` may take over the buffer of
   * `input`. Granted when `input` (with its aliases) is last read then, `output` is first
   * written then, no other input read then shares the buffer, and neither is a state tensor.
   */
  inPlace?: readonly InPlace[];
  /** Op index -> scratch bytes its kernel needs while it runs. */
  scratch?: ReadonlyMap<number, number>;
}

export interface InPlace {
  op: number;
  input: number;
  output: number;
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
  /** Arena offset of each op's scratch buffer (ops with a scratch request). */
  scratchOffset: Map<number, number>;
  /** The in-place wishes that were granted (their input and output share a buffer). */
  inPlace: InPlace[];
}

function alignUp(n: number, a: number): number {
  return Math.ceil(n / a) * a;
}

/** Builds buffers (with aliasing, in-place grants and scratch) and their lifetimes; offsets are left at 0. */
export function bufferLifetimes(graph: Graph, request: PlanRequest = {}): PlannedBuffer[] {
  return lifetimes(graph, request).buffers;
}

function lifetimes(graph: Graph, request: PlanRequest): { buffers: PlannedBuffer[]; granted: InPlace[] } {
  const numOps = graph.ops.length;
  const elide = request.elide ?? new Set<number>();
  const position = new Map<number, number>();
  (request.order ?? graph.ops.map((_, i) => i)).forEach((op, k) => position.set(op, k));
  if (position.size !== numOps || [...position.keys()].some((i) => i < 0 || i >= numOps)) throw new Error('memory plan: the execution order must hold every op once');
  const timeOf = (i: number) => position.get(request.fusedInto?.get(i) ?? i)!;
  // Union-find over tensor indices for aliasing.
  const parent = new Map<number, number>();
  const find = (t: number): number => {
    let r = t;
    while (parent.has(r) && parent.get(r) !== r) r = parent.get(r)!;
    // Path compression: a long chain of RESHAPEs must not make every lookup walk it.
    for (let x = t; x !== r; ) {
      const next = parent.get(x)!;
      parent.set(x, r);
      x = next;
    }
    return r;
  };
  const isActivation = (t: number) => t >= 0 && !isConstant(graph.tensors[t]!) && !elide.has(t);
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
    for (const t of op.inputs) touch(t, timeOf(i));
    for (const t of op.outputs) touch(t, timeOf(i));
  });
  for (const out of graph.outputs) touch(out.tensor, numOps);

  // In-place grants, earliest op first: each union extends the surviving buffer's lifetime.
  const granted: InPlace[] = [];
  // The inputs read at each time (an op and the ops fused into it), built once.
  const readAt = new Map<number, number[]>();
  graph.ops.forEach((op, i) => {
    const time = timeOf(i);
    if (!readAt.has(time)) readAt.set(time, []);
    readAt.get(time)!.push(...op.inputs);
  });
  const inputsAt = (time: number) => readAt.get(time) ?? [];
  for (const w of [...(request.inPlace ?? [])].sort((a, b) => timeOf(a.op) - timeOf(b.op) || a.input - b.input)) {
    if (!isActivation(w.input) || !isActivation(w.output)) continue;
    if (graph.tensors[w.input]!.variable || graph.tensors[w.output]!.variable) continue;
    const time = timeOf(w.op);
    const ri = find(w.input);
    const ro = find(w.output);
    if (ri === ro || last.get(ri) !== time || first.get(ro) !== time) continue;
    // The input is read once at that time (an op reading it twice, or two fused ops, would see it overwritten).
    if (inputsAt(time).filter((t) => isActivation(t) && find(t) === ri).length !== 1) continue;
    parent.set(ro, ri);
    first.set(ri, Math.min(first.get(ri)!, first.get(ro)!));
    last.set(ri, Math.max(last.get(ri)!, last.get(ro)!));
    granted.push({ ...w });
  }

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
    const bytes = tensors.reduce((m, t) => Math.max(m, tensorBytes(graph.tensors[t]!)), 0);
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
  for (const [op, bytes] of [...(request.scratch ?? new Map<number, number>()).entries()].sort((a, b) => a[0] - b[0])) {
    const time = timeOf(op);
    if (bytes > 0) buffers.push({ id: buffers.length, tensors: [], bytes, first: time, last: time, offset: 0, persistent: false, scratchFor: op });
  }
  return { buffers, granted };
}

function overlapsInTime(a: PlannedBuffer, b: PlannedBuffer): boolean {
  return a.first <= b.last && b.first <= a.last;
}

/**
 * Buffers indexed by lifetime (a static centered interval tree), so "which placed buffers are
 * live at the same time as this one" costs O(log n + overlapping) instead of a scan of every
 * placed buffer: planning stays near-linear for models of 100,000 ops.
 */
class LifetimeIndex {
  private readonly root: LifetimeNode | null;

  constructor(buffers: readonly PlannedBuffer[]) {
    this.root = buildNode([...buffers]);
  }

  /** Calls `visit` for every indexed buffer whose lifetime overlaps [first, last]. */
  overlapping(first: number, last: number, visit: (b: PlannedBuffer) => void): void {
    const stack: LifetimeNode[] = this.root ? [this.root] : [];
    while (stack.length > 0) {
      const node = stack.pop()!;
      // byFirst is sorted by first, byLast by last (descending): stop at the first miss.
      if (last < node.center) {
        for (const b of node.byFirst) {
          if (b.first > last) break;
          visit(b);
        }
        if (node.left) stack.push(node.left);
      } else if (first > node.center) {
        for (const b of node.byLastDesc) {
          if (b.last < first) break;
          visit(b);
        }
        if (node.right) stack.push(node.right);
      } else {
        for (const b of node.byFirst) visit(b);
        if (node.left) stack.push(node.left);
        if (node.right) stack.push(node.right);
      }
    }
  }
}

interface LifetimeNode {
  center: number;
  byFirst: PlannedBuffer[];
  byLastDesc: PlannedBuffer[];
  left: LifetimeNode | null;
  right: LifetimeNode | null;
}

function buildNode(buffers: PlannedBuffer[]): LifetimeNode | null {
  if (buffers.length === 0) return null;
  const ends = buffers.flatMap((b) => [b.first, b.last]).sort((a, b) => a - b);
  const center = ends[ends.length >> 1]!;
  const left: PlannedBuffer[] = [];
  const right: PlannedBuffer[] = [];
  const here: PlannedBuffer[] = [];
  for (const b of buffers) {
    if (b.last < center) left.push(b);
    else if (b.first > center) right.push(b);
    else here.push(b);
  }
  return {
    center,
    byFirst: [...here].sort((a, b) => a.first - b.first),
    byLastDesc: [...here].sort((a, b) => b.last - a.last),
    left: buildNode(left),
    right: buildNode(right),
  };
}

/** Places buffers in `order` at the lowest non-conflicting offsets; returns the arena size. */
function placeGreedy(order: PlannedBuffer[], alignment: number, index: LifetimeIndex): number {
  const placed = new Set<PlannedBuffer>();
  let arena = 0;
  for (const buf of order) {
    const conflicts: PlannedBuffer[] = [];
    index.overlapping(buf.first, buf.last, (p) => {
      if (placed.has(p)) conflicts.push(p);
    });
    conflicts.sort((a, b) => a.offset - b.offset);
    let offset = 0;
    for (const c of conflicts) {
      if (offset + buf.bytes <= c.offset) break;
      offset = Math.max(offset, alignUp(c.offset + c.bytes, alignment));
    }
    buf.offset = offset;
    placed.add(buf);
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

/**
 * Plans the arena for `graph`. Without a request, no op runs in place and nothing is fused (the
 * layout TensorFlow Lite Micro's planner would also need); the native generator passes what its
 * kernels can do.
 */
export function planMemory(graph: Graph, alignment = ARENA_ALIGNMENT, request: PlanRequest = {}): MemoryPlan {
  let best: { arena: number; offsets: number[]; strategy: string } | undefined;
  const { buffers, granted } = lifetimes(graph, request);
  const index = new LifetimeIndex(buffers);
  for (const [name, cmp] of Object.entries(STRATEGIES)) {
    const arena = placeGreedy([...buffers].sort(cmp), alignment, index);
    if (!best || arena < best.arena) best = { arena, offsets: buffers.map((b) => b.offset), strategy: name };
  }
  buffers.forEach((b, i) => (b.offset = best ? best.offsets[i]! : 0));
  const tensorOffset = new Map<number, number>();
  const scratchOffset = new Map<number, number>();
  for (const b of buffers) {
    for (const t of b.tensors) tensorOffset.set(t, b.offset);
    if (b.scratchFor !== undefined) scratchOffset.set(b.scratchFor, b.offset);
  }
  let constantBytes = 0;
  for (const t of graph.tensors) if (isConstant(t)) constantBytes += t.data!.length;
  const plan: MemoryPlan = {
    arenaBytes: best?.arena ?? 0,
    buffers,
    tensorOffset,
    constantBytes,
    strategy: best?.strategy ?? 'empty',
    scratchOffset,
    inPlace: granted,
  };
  verifyPlan(plan, alignment);
  return plan;
}

/**
 * Throws if two buffers live at the same time share a byte, or a buffer leaves the arena.
 * A sweep over time: the buffers live at one instant are kept sorted by offset and must be
 * disjoint, so each newly live buffer only needs checking against its two neighbours.
 */
export function verifyPlan(plan: Pick<MemoryPlan, 'arenaBytes' | 'buffers'>, alignment = ARENA_ALIGNMENT): void {
  const bs = plan.buffers;
  for (const b of bs) {
    if (b.offset < 0 || b.offset + b.bytes > plan.arenaBytes) {
      throw new Error(`memory plan: buffer ${b.id} [${b.offset}, ${b.offset + b.bytes}) leaves the ${plan.arenaBytes}-byte arena`);
    }
    if (b.offset % alignment !== 0) throw new Error(`memory plan: buffer ${b.id} offset ${b.offset} is not ${alignment}-aligned`);
  }
  const position = new Map<PlannedBuffer, number>(bs.map((b, i) => [b, i]));
  const sized = bs.filter((b) => b.bytes > 0);
  const starts = [...sized].sort((a, b) => a.first - b.first || position.get(a)! - position.get(b)!);
  const ends = [...sized].sort((a, b) => a.last - b.last);
  const live: PlannedBuffer[] = []; // sorted by offset, pairwise disjoint
  const slot = (offset: number, b?: PlannedBuffer) => {
    let lo = 0;
    let hi = live.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      const m = live[mid]!;
      if (m.offset < offset || (b !== undefined && m.offset === offset && position.get(m)! < position.get(b)!)) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
  let e = 0;
  for (const b of starts) {
    while (e < ends.length && ends[e]!.last < b.first) {
      const gone = ends[e++]!;
      const at = live.indexOf(gone, slot(gone.offset));
      if (at >= 0) live.splice(at, 1);
    }
    const at = slot(b.offset, b);
    const neighbours = [live[at - 1], live[at]].filter((n): n is PlannedBuffer => n !== undefined);
    // Equal offsets sort together: look past the immediate neighbour for them too.
    for (let k = at + 1; k < live.length && live[k]!.offset < b.offset + b.bytes; k++) neighbours.push(live[k]!);
    for (const n of neighbours) {
      if (n.offset < b.offset + b.bytes && b.offset < n.offset + n.bytes) {
        const [x, y] = position.get(n)! < position.get(b)! ? [n, b] : [b, n];
        throw new Error(
          `memory plan: buffers ${x.id} (tensors ${x.tensors.join(',')}) and ${y.id} (tensors ${y.tensors.join(',')}) ` +
            `are live together (ops ${Math.max(x.first, y.first)}..${Math.min(x.last, y.last)}) and overlap in the arena`,
        );
      }
    }
    live.splice(at, 0, b);
  }
}
