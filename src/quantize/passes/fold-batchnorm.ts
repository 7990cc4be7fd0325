/**
 * Pass: folds a BatchNormalization that follows a CONV_2D, DEPTHWISE_CONV_2D or
 * FULLY_CONNECTED into that op's weights and bias:
 *   y = gamma * (conv(x) - mean) / sqrt(var + eps) + beta
 *     = conv_{w * k}(x) + (b - mean) * k + beta,   k = gamma / sqrt(var + eps) per channel.
 * The ONNX importer folds most of them already; this handles the ones it left as ops
 * (type BATCH_NORM, inputs [x, scale, bias, mean, variance], attributes epsilon and axis). A BN with no foldable producer becomes MUL + ADD by
 * per-channel constants, which int8 kernels implement.
 */
import type { Graph, Op } from '../../ir/graph.ts';
import { isConstant } from '../../ir/graph.ts';
import { addTensor, compact, constFloats, consumers, float32Bytes, isGraphOutput, producers, setConstFloat } from '../graph-edit.ts';

export const BATCH_NORM_TYPES = ['BATCH_NORM', 'BatchNormalization'];

/** Output-channel axis of each weighted op's filter. */
export const CHANNEL_AXIS: Record<string, number> = { CONV_2D: 0, DEPTHWISE_CONV_2D: 3, FULLY_CONNECTED: 0 };

export function foldBatchNorm(g: Graph): { graph: Graph; log: string[] } {
  const log: string[] = [];
  const removed = new Set<Op>();
  const made = producers(g);
  const readers = consumers(g);
  const extraOps: { after: Op; ops: Op[] }[] = [];
  for (const bn of g.ops) {
    if (!BATCH_NORM_TYPES.includes(bn.type)) continue;
    const [x, sc, bi, me, va] = bn.inputs;
    const params = [sc, bi, me, va].map((i) => (i !== undefined && i >= 0 ? g.tensors[i]! : undefined));
    if (params.some((t) => !t || !isConstant(t))) continue; // training-mode BN: left for the support check
    const [gamma, beta, mean, variance] = params.map((t) => constFloats(t!));
    const eps = typeof bn.attrs.epsilon === 'number' ? bn.attrs.epsilon : 1e-5;
    const channels = gamma!.length;
    const k = new Float32Array(channels);
    const shift = new Float32Array(channels);
    for (let c = 0; c < channels; c++) {
      k[c] = gamma![c]! / Math.sqrt(variance![c]! + eps);
      shift[c] = beta![c]! - mean![c]! * k[c]!;
    }
    const outShape = g.tensors[bn.outputs[0]!]!.shape;
    const axis = typeof bn.attrs.axis === 'number' ? bn.attrs.axis : outShape.length - 1;
    const prod = made.get(x!);
    const foldable =
      prod &&
      axis === outShape.length - 1 &&
      CHANNEL_AXIS[prod.type] !== undefined &&
      (readers.get(x!) ?? []).length === 1 &&
      !isGraphOutput(g, x!) &&
      isConstant(g.tensors[prod.inputs[1]!]!) &&
      (prod.inputs[2] === undefined || prod.inputs[2] < 0 || isConstant(g.tensors[prod.inputs[2]]!)) &&
      (prod.attrs.fusedActivation ?? 'NONE') === 'NONE';
    if (foldable) {
      const wT = g.tensors[prod.inputs[1]!]!;
      const w = constFloats(wT);
      const axis = CHANNEL_AXIS[prod.type]!;
      const inner = wT.shape.slice(axis + 1).reduce((a, b) => a * b, 1);
      const nch = wT.shape[axis]!;
      const wNew = new Float32Array(w.length);
      for (let i = 0; i < w.length; i++) wNew[i] = w[i]! * k[Math.floor(i / inner) % nch]!;
      setConstFloat(wT, wNew);
      const hasBias = prod.inputs[2] !== undefined && prod.inputs[2] >= 0;
      const b = hasBias ? constFloats(g.tensors[prod.inputs[2]!]!) : new Float32Array(channels);
      const bNew = new Float32Array(channels);
      for (let c = 0; c < channels; c++) bNew[c] = b[c]! * k[c]! + shift[c]!;
      if (hasBias) setConstFloat(g.tensors[prod.inputs[2]!]!, bNew);
      else prod.inputs[2] = addTensor(g, { name: `${g.tensors[bn.outputs[0]!]!.name}_bias`, shape: [channels], dtype: 'float32', data: float32Bytes(bNew) });
      prod.outputs[0] = bn.outputs[0]!;
      removed.add(bn);
      log.push(`folded BatchNormalization '${bn.source.name}' into ${prod.type} '${prod.source.name}'`);
    } else {
      // y = x * k + shift as two elementwise ops with per-channel constants shaped to broadcast
      // along the channel axis.
      const cShape = outShape.map((d, i) => (i === axis ? channels : 1));
      const kT = addTensor(g, { name: `${bn.source.name}_scale`, shape: cShape, dtype: 'float32', data: float32Bytes(k) });
      const sT = addTensor(g, { name: `${bn.source.name}_shift`, shape: cShape, dtype: 'float32', data: float32Bytes(shift) });
      const out = g.tensors[bn.outputs[0]!]!;
      const mid = addTensor(g, { name: `${out.name}_scaled`, shape: [...out.shape], dtype: 'float32' });
      const mul: Op = { ...bn, type: 'MUL', version: 1, inputs: [x!, kT], outputs: [mid], attrs: { fusedActivation: 'NONE' } };
      const add: Op = { ...bn, type: 'ADD', version: 1, inputs: [mid, sT], outputs: [bn.outputs[0]!], attrs: { fusedActivation: 'NONE' } };
      extraOps.push({ after: bn, ops: [mul, add] });
      removed.add(bn);
      log.push(`rewrote BatchNormalization '${bn.source.name}' as MUL + ADD (no conv before it to fold into)`);
    }
  }
  if (extraOps.length) {
    const ops: Op[] = [];
    for (const op of g.ops) {
      ops.push(op);
      const e = extraOps.find((x) => x.after === op);
      if (e) ops.push(...e.ops);
    }
    g = { ...g, ops };
  }
  return { graph: removed.size ? compact(g, removed) : g, log };
}
