/**
 * Generation-time graph rewrite for the native backend: an average pool that excludes pads
 * which are not TFLite's SAME (ONNX AveragePool with ceil_mode or count_include_pad=0 and
 * padding) is written in the .tflite as TFLite can express it (src/quantize/passes/onnx-forms.ts
 * averagePoolRegions): one VALID AVERAGE_POOL_2D per region of equal clipped windows, each over a
 * STRIDED_SLICE of the input, joined by CONCATENATION along W and then H. The native pool kernel
 * averages over the taps inside the image with explicit pads (TFLM pooling.cc's filter_count),
 * so the whole structure is one AVERAGE_POOL_2D on the input: a window geometry (filter, pads)
 * whose clipped windows are exactly the regions' is searched for and checked region by region,
 * so each output averages the same taps, rounded once, as the regions do. No slices, no copies,
 * no arena for the pieces.
 *
 * New ops take the place of the structure's last op (the final CONCATENATION); tensor indices
 * are unchanged.
 */
import type { Graph, Op, Tensor } from '../../ir/graph.ts';
import { elementCount } from '../../ir/graph.ts';
import { windowSegments, type Segment } from '../../ir/window-segments.ts';

interface Leaf {
  slice: Op;
  pool: Op;
  x: number;
  start: [number, number];
  window: [number, number];
  count: [number, number];
}

function int32s(graph: Graph, t: number | undefined): number[] | undefined {
  const v = t === undefined || t < 0 ? undefined : graph.tensors[t];
  if (!v?.data || v.dtype !== 'int32') return undefined;
  return Array.from(new Int32Array(v.data.slice().buffer, 0, elementCount(v.shape)));
}

function sameQuant(a: Tensor, b: Tensor): boolean {
  return a.dtype === b.dtype && a.quant?.scale.length === 1 && a.quant.scale[0] === b.quant?.scale[0] && a.quant.zeroPoint[0] === b.quant?.zeroPoint[0];
}

/** A filter and leading pad whose clipped windows are exactly `want`, or undefined. */
function geometry(len: number, stride: number, want: Segment[]): { k: number; before: number } | undefined {
  const out = want.reduce((a, s) => a + s.count, 0);
  const kMin = Math.max(...want.map((s) => s.window));
  for (let k = kMin; k <= kMin + len; k++) {
    for (let before = 0; before < k; before++) {
      const got = windowSegments(len, out, k, stride, before);
      if (got && got.length === want.length && got.every((s, i) => s.start === want[i]!.start && s.window === want[i]!.window && s.count === want[i]!.count)) return { k, before };
    }
  }
  return undefined;
}

/**
 * The graph with every region-wise average pool merged back into one AVERAGE_POOL_2D, with each
 * op of the result's index in the input graph (`original[i]`). The input graph is not modified.
 */
export function mergePoolRegionsMapped(graph: Graph): { graph: Graph; original: number[] } {
  const producer = new Map<number, Op>();
  const readers = new Map<number, number>();
  const firstReader = new Map<number, Op>();
  for (const op of graph.ops) {
    for (const t of op.outputs) producer.set(t, op);
    for (const t of op.inputs) {
      if (t < 0) continue;
      readers.set(t, (readers.get(t) ?? 0) + 1);
      if (!firstReader.has(t)) firstReader.set(t, op);
    }
  }
  const outputs = new Set(graph.outputs.map((o) => o.tensor));
  const private_ = (t: number): boolean => readers.get(t) === 1 && !outputs.has(t);

  /** An AVERAGE_POOL_2D VALID over a unit-stride STRIDED_SLICE of a 4-D tensor, read once. */
  const leafOf = (t: number): Leaf | undefined => {
    const pool = producer.get(t);
    if (pool?.type !== 'AVERAGE_POOL_2D' || pool.attrs.padding !== 'VALID' || pool.attrs.countIncludePad === true) return undefined;
    const s = pool.inputs[0]!;
    const slice = producer.get(s);
    if (slice?.type !== 'STRIDED_SLICE' || !private_(s)) return undefined;
    const a = slice.attrs;
    if ([a.begin_mask, a.end_mask, a.ellipsis_mask, a.new_axis_mask, a.shrink_axis_mask].some((m) => Number(m ?? 0) !== 0) || a.offset === true) return undefined;
    const begin = int32s(graph, slice.inputs[1]), strides = int32s(graph, slice.inputs[3]);
    const x = graph.tensors[slice.inputs[0]!]!, st = graph.tensors[s]!, y = graph.tensors[t]!;
    if (!begin || !strides || strides.some((v) => v !== 1) || x.shape.length !== 4 || begin[0] !== 0 || begin[3] !== 0 || st.shape[0] !== x.shape[0] || st.shape[3] !== x.shape[3]) return undefined;
    if (!sameQuant(x, st) || !sameQuant(x, y)) return undefined;
    return { slice, pool, x: x.index, start: [begin[1]!, begin[2]!], window: [Number(pool.attrs.filterH), Number(pool.attrs.filterW)], count: [y.shape[1]!, y.shape[2]!] };
  };

  /** Tensor -> the grid of leaves it joins (rows of columns), with the CONCATENATION ops. */
  const gridOf = (t: number): { rows: Leaf[][]; concats: Op[] } | undefined => {
    const rowOf = (r: number): { leaves: Leaf[]; concat?: Op } | undefined => {
      const leaf = leafOf(r);
      if (leaf) return { leaves: [leaf] };
      const c = producer.get(r);
      if (c?.type !== 'CONCATENATION' || c.attrs.axis !== 2 || (c.attrs.fusedActivation ?? 'NONE') !== 'NONE') return undefined;
      const leaves = c.inputs.map((i) => (private_(i) ? leafOf(i) : undefined));
      return leaves.every((l) => l) ? { leaves: leaves as Leaf[], concat: c } : undefined;
    };
    const top = producer.get(t);
    if (top?.type === 'CONCATENATION' && top.attrs.axis === 1 && (top.attrs.fusedActivation ?? 'NONE') === 'NONE') {
      const rows = top.inputs.map((i) => (private_(i) ? rowOf(i) : undefined));
      if (!rows.every((r) => r)) return undefined;
      return { rows: rows.map((r) => r!.leaves), concats: [...rows.flatMap((r) => (r!.concat ? [r!.concat] : [])), top] };
    }
    const row = rowOf(t);
    return row && row.concat ? { rows: [row.leaves], concats: [row.concat] } : undefined;
  };

  const removed = new Set<Op>();
  const replaced = new Map<Op, Op>();
  for (const op of graph.ops) {
    if (op.type !== 'CONCATENATION' || removed.has(op)) continue;
    const yT = op.outputs[0]!;
    const grid = gridOf(yT);
    if (!grid) continue;
    // Only the outermost CONCATENATION of a grid (the row concats are taken with it).
    const reader = firstReader.get(yT);
    if (reader?.type === 'CONCATENATION' && gridOf(reader.outputs[0]!)) continue;
    const leaves = grid.rows.flat();
    const first = leaves[0]!.pool;
    const x = graph.tensors[leaves[0]!.x]!, y = graph.tensors[yT]!;
    const [sh, sw] = [Number(first.attrs.strideH ?? 1), Number(first.attrs.strideW ?? 1)];
    const act = first.attrs.fusedActivation ?? 'NONE';
    if (leaves.some((l) => l.x !== x.index || Number(l.pool.attrs.strideH ?? 1) !== sh || Number(l.pool.attrs.strideW ?? 1) !== sw || (l.pool.attrs.fusedActivation ?? 'NONE') !== act)) continue;
    if (!sameQuant(x, y) || y.shape[0] !== x.shape[0] || y.shape[3] !== x.shape[3]) continue;
    // Rows share H geometry along a row, columns W geometry down a column.
    const rowSegs = grid.rows.map((r) => ({ start: r[0]!.start[0], window: r[0]!.window[0], count: r[0]!.count[0] }));
    const colSegs = grid.rows[0]!.map((l) => ({ start: l.start[1], window: l.window[1], count: l.count[1] }));
    const consistent = grid.rows.every((r, ri) => r.length === colSegs.length && r.every((l, ci) =>
      l.start[0] === rowSegs[ri]!.start && l.window[0] === rowSegs[ri]!.window && l.count[0] === rowSegs[ri]!.count &&
      l.start[1] === colSegs[ci]!.start && l.window[1] === colSegs[ci]!.window && l.count[1] === colSegs[ci]!.count));
    if (!consistent) continue;
    const gh = geometry(x.shape[1]!, sh, rowSegs), gw = geometry(x.shape[2]!, sw, colSegs);
    if (!gh || !gw || rowSegs.reduce((a, s) => a + s.count, 0) !== y.shape[1] || colSegs.reduce((a, s) => a + s.count, 0) !== y.shape[2]) continue;
    const bottom = Math.max(0, (y.shape[1]! - 1) * sh + gh.k - gh.before - x.shape[1]!);
    const right = Math.max(0, (y.shape[2]! - 1) * sw + gw.k - gw.before - x.shape[2]!);
    const top = grid.concats[grid.concats.length - 1]!;
    replaced.set(top, {
      ...first,
      inputs: [x.index],
      outputs: [yT],
      attrs: { ...first.attrs, filterH: gh.k, filterW: gw.k, padding: 'EXPLICIT', pads: [gh.before, gw.before, bottom, right], countIncludePad: false },
    });
    for (const l of leaves) removed.add(l.slice).add(l.pool);
    for (const c of grid.concats) if (c !== top) removed.add(c);
  }
  if (replaced.size === 0) return { graph, original: graph.ops.map((o) => o.index) };
  const kept = graph.ops.filter((o) => !removed.has(o));
  return { graph: { ...graph, ops: kept.map((o, index) => ({ ...(replaced.get(o) ?? o), index })) }, original: kept.map((o) => o.index) };
}

/** mergePoolRegionsMapped without the op map. */
export function mergePoolRegions(graph: Graph): Graph {
  return mergePoolRegionsMapped(graph).graph;
}
