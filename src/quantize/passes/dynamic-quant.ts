/**
 * Pass: models from onnxruntime's quantize_dynamic become float models again, which `convert`
 * then quantizes statically (TFLite int8 has no run-time activation ranges). The pattern
 * quantize_dynamic writes for each Conv / MatMul:
 *
 *   DynamicQuantizeLinear(x) -> xq, x_scale, x_zero_point
 *   ConvInteger / MatMulInteger(xq, wq, x_zero_point, w_zero_point) -> int32
 *   Cast(float) -> Mul(·, x_scale * w_scale) -> y            (then the float bias Add)
 *
 * computes y = conv(x, (wq - w_zero_point) * w_scale) with x rounded to its dynamic uint8 grid:
 * the chain becomes one float CONV_2D / DEPTHWISE_CONV_2D / FULLY_CONNECTED on x with those real
 * weights (per-tensor or per-output-channel scale and zero point), writing y. The x rounding is
 * what dynamic quantization adds; the static int8 model rounds x to its calibrated grid instead.
 * Chains of another shape (a constant x zero point, runtime weights, a 3-D MatMul B, other
 * readers of the int32 sums) are left, and convert refuses them naming the node.
 */
import type { Graph, Op } from '../../ir/graph.ts';
import { elementCount, isConstant } from '../../ir/graph.ts';
import { addTensor, constFloats, float32Bytes, isGraphOutput } from '../graph-edit.ts';

interface Chain {
  dql: Op;
  integer: Op;
  cast: Op;
  scaleMul: Op;
  /** RESHAPE / TRANSPOSE ops between the scale Mul and the Mul (the importer's layout of a runtime operand). */
  layout: Op[];
  mul: Op;
  /** Weight scale: one value or one per output channel. */
  wScale: Float32Array;
}

/** Every DynamicQuantizeLinear -> Integer -> Cast -> Mul chain of `g` this pass rewrites. */
export function dynamicChains(g: Graph): Chain[] {
  const producer = new Map<number, Op>();
  const readers = new Map<number, Op[]>();
  for (const op of g.ops) {
    for (const t of op.outputs) producer.set(t, op);
    for (const t of op.inputs) {
      if (t < 0) continue;
      const list = readers.get(t);
      if (list) list.push(op);
      else readers.set(t, [op]);
    }
  }
  const only = (t: number): Op | undefined => (readers.get(t)?.length === 1 && !isGraphOutput(g, t) ? readers.get(t)![0] : undefined);
  const chains: Chain[] = [];
  for (const integer of g.ops) {
    if (integer.type !== 'CONV_INTEGER' && integer.type !== 'MATMUL_INTEGER') continue;
    const dql = producer.get(integer.inputs[0]!);
    if (dql?.type !== 'DYNAMIC_QUANTIZE_LINEAR' || dql.outputs[0] !== integer.inputs[0]) continue;
    const xz = integer.inputs[2] ?? -1;
    if (xz >= 0 && xz !== dql.outputs[2]) continue;
    const w = g.tensors[integer.inputs[1]!]!;
    const wz = integer.inputs[3] ?? -1;
    if (!isConstant(w) || (wz >= 0 && !isConstant(g.tensors[wz]!))) continue;
    const cout = integer.type === 'CONV_INTEGER' ? w.shape[0]! : w.shape[1]!;
    if (integer.type === 'MATMUL_INTEGER' && w.shape.length !== 2) continue;
    const cast = only(integer.outputs[0]!);
    if (cast?.type !== 'CAST' || g.tensors[cast.outputs[0]!]!.dtype !== 'float32') continue;
    const mul = only(cast.outputs[0]!);
    if (mul?.type !== 'MUL' || (mul.attrs.fusedActivation ?? 'NONE') !== 'NONE') continue;
    let s = mul.inputs[0] === cast.outputs[0] ? mul.inputs[1]! : mul.inputs[0]!;
    // Reshapes and transposes of a tensor with at most one dimension that is not 1 keep the order.
    const layout: Op[] = [];
    const oneAxis = (t: number): boolean => g.tensors[t]!.shape.filter((d) => d !== 1).length <= 1;
    for (let p = producer.get(s); (p?.type === 'RESHAPE' || p?.type === 'TRANSPOSE') && oneAxis(s) && oneAxis(p.inputs[0]!) && only(s); p = producer.get(s)) {
      layout.push(p);
      s = p.inputs[0]!;
    }
    const scaleMul = producer.get(s);
    if (scaleMul?.type !== 'MUL' || !scaleMul.inputs.includes(dql.outputs[1]!)) continue;
    const ws = g.tensors[scaleMul.inputs[0] === dql.outputs[1] ? scaleMul.inputs[1]! : scaleMul.inputs[0]!]!;
    const n = elementCount(ws.shape);
    // One scale, or one per output channel (a single dimension that is not 1, in channel order).
    if (!isConstant(ws) || (n !== 1 && (n !== cout || ws.shape.filter((d) => d !== 1).length !== 1))) continue;
    if (elementCount(g.tensors[mul.outputs[0]!]!.shape) !== elementCount(g.tensors[integer.outputs[0]!]!.shape)) continue;
    chains.push({ dql, integer, cast, scaleMul, layout, mul, wScale: constFloats(ws) });
  }
  return chains;
}

/** Ops of `g` the pass removes (a DynamicQuantizeLinear or scale Mul only when nothing else reads it). */
export function dynamicChainOps(g: Graph): Set<Op> {
  const chains = dynamicChains(g);
  const removed = new Set<Op>(chains.flatMap((c) => [c.integer, c.cast, c.mul, ...c.layout]));
  for (let changed = true; changed; ) {
    changed = false;
    for (const op of new Set(chains.flatMap((c) => [c.scaleMul, c.dql]))) {
      if (removed.has(op)) continue;
      const read = op.outputs.some((t) => isGraphOutput(g, t) || g.ops.some((o) => !removed.has(o) && o.inputs.includes(t)));
      if (!read) {
        removed.add(op);
        changed = true;
      }
    }
  }
  return removed;
}

/** Real weights (wq - zero point) * scale, per tensor or per output channel along `outAxis`. */
function realWeights(g: Graph, integer: Op, wScale: Float32Array, outAxis: number): Float32Array {
  const w = g.tensors[integer.inputs[1]!]!;
  const wz = integer.inputs[3] ?? -1;
  const q = constFloats({ ...w, quant: undefined });
  const z = wz >= 0 ? constFloats({ ...g.tensors[wz]!, quant: undefined }) : Float32Array.of(0);
  const inner = w.shape.slice(outAxis + 1).reduce((a, b) => a * b, 1);
  const channels = w.shape[outAxis]!;
  return Float32Array.from(q, (v, i) => {
    const c = Math.floor(i / inner) % channels;
    return (v - z[z.length > 1 ? c : 0]!) * wScale[wScale.length > 1 ? c : 0]!;
  });
}

export function dynamicToFloat(g: Graph): { graph: Graph; log: string[] } {
  const chains = dynamicChains(g);
  if (chains.length === 0) return { graph: g, log: [] };
  const removed = dynamicChainOps(g);
  const replace = new Map<Op, Op>();
  const log: string[] = [];
  for (const { dql, integer, mul, wScale } of chains) {
    const x = dql.inputs[0]!;
    const y = mul.outputs[0]!;
    const w = g.tensors[integer.inputs[1]!]!;
    const base = { index: 0, version: 1, source: integer.source, outputs: [y] };
    const floats = (name: string, shape: number[], v: Float32Array): number => addTensor(g, { name, shape, dtype: 'float32', data: float32Bytes(v) });
    if (integer.type === 'CONV_INTEGER') {
      const [cout, kh, kw, cinG] = w.shape as [number, number, number, number];
      const cin = g.tensors[x]!.shape[3]!;
      const real = realWeights(g, integer, wScale, 0);
      const a = integer.attrs;
      const groups = Number(a.groups ?? 1);
      const geom = { strideH: a.strideH!, strideW: a.strideW!, dilationH: a.dilationH!, dilationW: a.dilationW!, padding: a.padding!, pads: a.pads!, fusedActivation: 'NONE' };
      if (groups === cin && cinG === 1 && groups > 1) {
        // Depthwise: [Cout, KH, KW, 1] -> [1, KH, KW, Cout].
        const dw = new Float32Array(real.length);
        for (let o = 0; o < cout; o++) for (let k = 0; k < kh * kw; k++) dw[k * cout + o] = real[o * kh * kw + k]!;
        replace.set(integer, { ...base, type: 'DEPTHWISE_CONV_2D', inputs: [x, floats(`${w.name}_real`, [1, kh, kw, cout], dw), -1], attrs: { ...geom, depthMultiplier: cout / cin } });
      } else {
        replace.set(integer, { ...base, type: 'CONV_2D', inputs: [x, floats(`${w.name}_real`, [cout, kh, kw, cinG], real), -1], attrs: { ...geom, groups } });
      }
    } else {
      // B [K, N] -> FULLY_CONNECTED weights [N, K].
      const [k, n] = w.shape as [number, number];
      const real = realWeights(g, integer, wScale, 1);
      const t = new Float32Array(n * k);
      for (let r = 0; r < n; r++) for (let j = 0; j < k; j++) t[r * k + j] = real[j * n + r]!;
      replace.set(integer, { ...base, type: 'FULLY_CONNECTED', inputs: [x, floats(`${w.name}_real`, [n, k], t), -1], attrs: { fusedActivation: 'NONE', keepNumDims: g.tensors[x]!.shape.length > 2 } });
    }
    log.push(`${integer.source.opType} '${integer.source.name}' (onnxruntime dynamic quantization) as a float ${replace.get(integer)!.type} with its weights dequantized, quantized statically`);
  }
  const ops = g.ops.flatMap((op) => (replace.has(op) ? [replace.get(op)!] : removed.has(op) ? [] : [op]));
  return { graph: { ...g, ops: ops.map((o, index) => ({ ...o, index })) }, log };
}

