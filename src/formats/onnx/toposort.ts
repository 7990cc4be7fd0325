/**
 * Topological order of an ONNX graph's nodes. The ONNX spec requires nodes to be listed in
 * topological order, but exporters (keras2onnx, hand-edited graphs) do not always do it and
 * onnxruntime sorts them itself; so does tinyml. The sort is stable: a graph already in order
 * keeps its order, otherwise each node comes as early as its inputs allow (Kahn's algorithm,
 * smallest original index first).
 *
 * Only a value that nothing produces (not a graph input, initializer or node output) or a true
 * cycle is an error: InvalidModelError (exit 4) naming the value and the node that reads it.
 */
import { InvalidModelError } from '../../errors.ts';
import type { NodeProto } from './decode.ts';

/** A binary min-heap of node indices. */
class MinHeap {
  private readonly a: number[] = [];
  get size(): number {
    return this.a.length;
  }
  push(v: number): void {
    const a = this.a;
    a.push(v);
    for (let i = a.length - 1; i > 0; ) {
      const p = (i - 1) >> 1;
      if (a[p]! <= a[i]!) break;
      [a[p], a[i]] = [a[i]!, a[p]!];
      i = p;
    }
  }
  pop(): number {
    const a = this.a;
    const top = a[0]!;
    const last = a.pop()!;
    if (a.length > 0) {
      a[0] = last;
      for (let i = 0; ; ) {
        const l = 2 * i + 1, r = l + 1;
        let m = i;
        if (l < a.length && a[l]! < a[m]!) m = l;
        if (r < a.length && a[r]! < a[m]!) m = r;
        if (m === i) break;
        [a[m], a[i]] = [a[i]!, a[m]!];
        i = m;
      }
    }
    return top;
  }
}

/**
 * Returns node indices in execution order. `available` holds the names of values that exist
 * before any node runs (graph inputs and initializers).
 */
export function topologicalOrder(nodes: readonly NodeProto[], available: ReadonlySet<string>, modelName: string): number[] {
  const label = (i: number): string => {
    const n = nodes[i]!;
    return `${n.opType} node '${n.name || `${n.opType}_${i}`}'`;
  };
  const producer = new Map<string, number>();
  nodes.forEach((n, i) => {
    for (const o of n.output ?? []) if (o && !producer.has(o)) producer.set(o, i);
  });
  const waiting = new Array<number>(nodes.length).fill(0);
  const dependents = new Map<number, number[]>();
  nodes.forEach((n, i) => {
    const seen = new Set<number>();
    for (const inp of n.input ?? []) {
      if (!inp || available.has(inp)) continue;
      const p = producer.get(inp);
      if (p === undefined) {
        throw new InvalidModelError(
          `${modelName}: ${label(i)} reads '${inp}', which no graph input, initializer or node produces: the model is corrupt, re-export it`,
        );
      }
      if (p === i) throw new InvalidModelError(`${modelName}: ${label(i)} reads its own output '${inp}' (a cycle): the model is corrupt, re-export it`);
      if (seen.has(p)) continue;
      seen.add(p);
      waiting[i]!++;
      const list = dependents.get(p);
      if (list) list.push(i);
      else dependents.set(p, [i]);
    }
  });
  const ready = new MinHeap();
  waiting.forEach((w, i) => {
    if (w === 0) ready.push(i);
  });
  const order: number[] = [];
  while (ready.size > 0) {
    const i = ready.pop();
    order.push(i);
    for (const d of dependents.get(i) ?? []) if (--waiting[d]! === 0) ready.push(d);
  }
  if (order.length < nodes.length) {
    // Walk back from a node left over through producers that are left over too until a node
    // repeats: that loop is the cycle, and the value it reads from the loop is named.
    const unplaced = (v: string): boolean => !!v && !available.has(v) && waiting[producer.get(v)!]! > 0;
    let at = waiting.findIndex((w) => w > 0);
    const visited = new Set<number>();
    let value = '';
    while (!visited.has(at)) {
      visited.add(at);
      value = (nodes[at]!.input ?? []).find(unplaced)!;
      at = producer.get(value)!;
    }
    // `at` is on the cycle; name the value it reads from the cycle.
    value = (nodes[at]!.input ?? []).find(unplaced)!;
    throw new InvalidModelError(
      `${modelName}: the graph has a cycle through '${value}' (read by ${label(at)}, produced by ${label(producer.get(value)!)}): the model is corrupt, re-export it`,
    );
  }
  return order;
}
