/**
 * Generation-time graph rewrite for the native backend: an explicit PAD / PADV2 that feeds a
 * convolution or pooling op is folded into that op's padding, so the padded tensor is never
 * materialised (no copy, no arena bytes). This is how TFLite expresses padding that is neither
 * SAME nor VALID (PyTorch's `padding=1` with stride 2, causal 1-D convolutions, ceil_mode
 * pooling): PAD, or PADV2 with the int8 minimum before a max pool, then a VALID op. The native
 * conv and pool kernels take explicit pad_top / pad_left with the output size given, and
 *
 *   - CONV_2D / DEPTHWISE_CONV_2D: a padded tap holds the input zero point, (q - zp) * w = 0,
 *     exactly what the kernel's skipped taps contribute; so a PAD whose value is the input's
 *     zero point (real 0) folds.
 *   - MAX_POOL_2D: the kernel takes the largest tap inside the image; a padded value no larger
 *     than the pool's activation minimum (the int8 minimum -128 always is) can never win after
 *     the clamp, provided every window keeps at least one tap inside the image.
 *   - AVERAGE_POOL_2D: TFLite counts padded taps in the average and the kernel does not: not
 *     folded (the PAD runs as its own op).
 *
 * The folded op's pads grow by the PAD's, its padding becomes EXPLICIT, and the PAD op is
 * removed. Tensor indices are unchanged (tracing and reports keep their numbering); op indices
 * after a removed PAD shift down by one. Semantics: TFLite Micro pad.cc, conv.cc, pooling.cc.
 */
import type { Graph, Op, Tensor } from '../../ir/graph.ts';
import { elementCount } from '../../ir/graph.ts';
import { activationRangeQuantized } from '../../reference/fixedpoint.ts';

const FOLDS_INTO = new Set(['CONV_2D', 'DEPTHWISE_CONV_2D', 'MAX_POOL_2D']);

/** The PAD's constant value in the quantized domain (attribute, or PADV2's third input). */
function padValue(graph: Graph, op: Op): number | undefined {
  if (typeof op.attrs.constantValue === 'number') return op.attrs.constantValue;
  const vi = op.inputs[2];
  if (op.type === 'PADV2' && vi !== undefined && vi >= 0) {
    const t = graph.tensors[vi]!;
    if (!t.data || elementCount(t.shape) !== 1) return undefined;
    const view = new DataView(t.data.buffer, t.data.byteOffset, t.data.byteLength);
    if (t.dtype === 'int8') return view.getInt8(0);
    if (t.dtype === 'int16') return view.getInt16(0, true);
    return undefined;
  }
  // TFLite PAD without a value pads with the zero point (real 0).
  if (op.type === 'PAD') return graph.tensors[op.outputs[0]!]?.quant?.zeroPoint[0] ?? 0;
  return undefined;
}

/** [top, bottom, left, right] of a rank-4 PAD that pads only H and W, else undefined. */
function spatialPads(graph: Graph, op: Op): number[] | undefined {
  if (op.attrs.mode !== undefined && op.attrs.mode !== 'CONSTANT') return undefined;
  let pads = Array.isArray(op.attrs.pads) ? (op.attrs.pads as number[]) : undefined;
  if (!pads) {
    // PADV2 as TFLite stores it: paddings [rank, 2] int32 in input 1.
    const t = graph.tensors[op.inputs[1] ?? -1];
    if (!t?.data || t.dtype !== 'int32') return undefined;
    pads = Array.from(new Int32Array(t.data.slice().buffer, 0, elementCount(t.shape)));
  }
  if (pads.length !== 8 || pads.some((p) => p < 0)) return undefined;
  const [n0, n1, h0, h1, w0, w1, c0, c1] = pads as [number, number, number, number, number, number, number, number];
  if (n0 || n1 || c0 || c1) return undefined;
  return [h0, h1, w0, w1];
}

function sameQuant(a: Tensor, b: Tensor): boolean {
  return a.dtype === b.dtype && a.quant?.scale[0] === b.quant?.scale[0] && (a.quant?.zeroPoint[0] ?? 0) === (b.quant?.zeroPoint[0] ?? 0);
}

/** Every window of a pool keeps at least one tap inside the image along one axis. */
function windowsTouchImage(inLen: number, outLen: number, k: number, stride: number, before: number): boolean {
  for (let o = 0; o < outLen; o++) {
    const start = o * stride - before;
    if (start + k <= 0 || start >= inLen) return false;
  }
  return true;
}

/** Whether PAD `pad` can fold into its reader `op` (see the module comment). */
function foldable(graph: Graph, pad: Op, op: Op, hw: number[]): boolean {
  const x = graph.tensors[pad.inputs[0]!]!;
  const p = graph.tensors[pad.outputs[0]!]!;
  const y = graph.tensors[op.outputs[0]!]!;
  if (x.shape.length !== 4 || !sameQuant(x, p) || (x.dtype !== 'int8' && x.dtype !== 'int16')) return false;
  const value = padValue(graph, pad);
  if (value === undefined) return false;
  if (op.type === 'MAX_POOL_2D') {
    const act = typeof op.attrs.fusedActivation === 'string' ? op.attrs.fusedActivation : 'NONE';
    const [lo, hi] = x.dtype === 'int8' ? [-128, 127] : [-32768, 32767];
    const range = activationRangeQuantized(act, Math.fround(y.quant?.scale[0] ?? 1), y.quant?.zeroPoint[0] ?? 0, lo, hi);
    if (value > range.min) return false;
    const pads = Array.isArray(op.attrs.pads) ? (op.attrs.pads as number[]) : [0, 0, 0, 0];
    const k = [Number(op.attrs.filterH), Number(op.attrs.filterW)];
    const s = [Number(op.attrs.strideH ?? 1), Number(op.attrs.strideW ?? 1)];
    return (
      windowsTouchImage(x.shape[1]!, y.shape[1]!, k[0]!, s[0]!, pads[0]! + hw[0]!) &&
      windowsTouchImage(x.shape[2]!, y.shape[2]!, k[1]!, s[1]!, pads[1]! + hw[2]!)
    );
  }
  return value === (x.quant?.zeroPoint[0] ?? 0);
}

/**
 * The graph with every foldable PAD/PADV2 folded into the conv or pool that reads it; the
 * input graph is not modified (it is returned as is when nothing folds).
 */
export function foldPadding(graph: Graph): Graph {
  return foldPaddingMapped(graph).graph;
}

/** foldPadding, with each op of the result's index in the input graph (`original[i]`). */
export function foldPaddingMapped(graph: Graph): { graph: Graph; original: number[] } {
  const readers = new Map<number, Op[]>();
  for (const op of graph.ops) {
    for (const t of op.inputs) {
      if (t < 0) continue;
      const list = readers.get(t);
      if (list) list.push(op);
      else readers.set(t, [op]);
    }
  }
  const outputs = new Set(graph.outputs.map((o) => o.tensor));
  const removed = new Set<Op>();
  const rewritten = new Map<Op, Op>();
  for (const pad of graph.ops) {
    if (pad.type !== 'PAD' && pad.type !== 'PADV2') continue;
    const out = pad.outputs[0]!;
    const r = readers.get(out) ?? [];
    if (r.length !== 1 || outputs.has(out)) continue;
    const op = r[0]!;
    if (!FOLDS_INTO.has(op.type) || op.inputs[0] !== out || op.inputs.slice(1).includes(out) || rewritten.has(op)) continue;
    const hw = spatialPads(graph, pad);
    if (!hw || !foldable(graph, pad, op, hw)) continue;
    const pads = Array.isArray(op.attrs.pads) ? (op.attrs.pads as number[]) : [0, 0, 0, 0];
    rewritten.set(op, {
      ...op,
      inputs: [pad.inputs[0]!, ...op.inputs.slice(1)],
      attrs: { ...op.attrs, padding: 'EXPLICIT', pads: [pads[0]! + hw[0]!, pads[1]! + hw[2]!, pads[2]! + hw[1]!, pads[3]! + hw[3]!] },
    });
    removed.add(pad);
  }
  if (removed.size === 0) return { graph, original: graph.ops.map((o) => o.index) };
  const kept = graph.ops.filter((o) => !removed.has(o));
  const ops = kept.map((o, index) => ({ ...(rewritten.get(o) ?? o), index }));
  return { graph: { ...graph, ops }, original: kept.map((o) => o.index) };
}
