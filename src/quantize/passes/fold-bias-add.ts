/**
 * Pass: an ADD (or SUB) of a per-channel constant right after a CONV_2D, DEPTHWISE_CONV_2D or
 * FULLY_CONNECTED is that op's bias (ONNX exporters such as CNTK write Conv + Add, MatMul +
 * Add). Moving it into the int32 bias removes an int8 rounding step and an op.
 */
import type { Graph, Op } from '../../ir/graph.ts';
import { isConstant } from '../../ir/graph.ts';
import { addTensor, compact, constFloats, consumers, float32Bytes, isGraphOutput, producers, setConstFloat } from '../graph-edit.ts';
import { CHANNEL_AXIS } from './fold-batchnorm.ts';

export function foldBiasAdd(g: Graph): { graph: Graph; log: string[] } {
  const log: string[] = [];
  const removed = new Set<Op>();
  const made = producers(g);
  const readers = consumers(g);
  for (const op of g.ops) {
    if ((op.type !== 'ADD' && op.type !== 'SUB') || op.inputs.length !== 2) continue;
    if ((op.attrs.fusedActivation ?? 'NONE') !== 'NONE') continue;
    // ADD is commutative: the constant may be either operand. SUB: only x - c.
    const order = op.type === 'ADD' ? [0, 1] : [0];
    for (const xi of order) {
      const x = op.inputs[xi]!;
      const c = op.inputs[1 - xi]!;
      const cT = g.tensors[c]!;
      const prod = made.get(x);
      if (!prod || removed.has(prod) || CHANNEL_AXIS[prod.type] === undefined || !isConstant(cT)) continue;
      if ((prod.attrs.fusedActivation ?? 'NONE') !== 'NONE') continue;
      if ((readers.get(x) ?? []).length !== 1 || isGraphOutput(g, x)) continue;
      const channels = g.tensors[prod.inputs[1]!]!.shape[CHANNEL_AXIS[prod.type]!]!;
      // The constant must vary at most along the last (channel) axis of the NHWC output.
      const cShape = cT.shape;
      const nonUnit = cShape.filter((d) => d !== 1);
      const perChannel = cShape.length === 0 || (nonUnit.length <= 1 && (nonUnit.length === 0 || cShape[cShape.length - 1] === channels));
      if (!perChannel) continue;
      const outShape = g.tensors[op.outputs[0]!]!.shape;
      if (outShape.join(',') !== g.tensors[x]!.shape.join(',')) continue; // the add would broadcast x
      const cv = constFloats(cT);
      const add = new Float32Array(channels);
      for (let k = 0; k < channels; k++) add[k] = (op.type === 'SUB' ? -1 : 1) * cv[cv.length === 1 ? 0 : k]!;
      const hasBias = prod.inputs[2] !== undefined && prod.inputs[2] >= 0;
      if (hasBias) {
        const bT = g.tensors[prod.inputs[2]!]!;
        const b = constFloats(bT);
        // A bias shared with another op must not change under it: give this op its own copy.
        const shared = (readers.get(bT.index) ?? []).length > 1;
        const nb = new Float32Array(channels);
        for (let k = 0; k < channels; k++) nb[k] = b[k]! + add[k]!;
        if (shared) prod.inputs[2] = addTensor(g, { name: `${bT.name}_folded`, shape: [channels], dtype: 'float32', data: float32Bytes(nb) });
        else setConstFloat(bT, nb, [channels]);
      } else {
        prod.inputs[2] = addTensor(g, { name: `${cT.name}_bias`, shape: [channels], dtype: 'float32', data: float32Bytes(add) });
      }
      prod.outputs[0] = op.outputs[0]!;
      removed.add(op);
      log.push(`folded ${op.type} '${op.source.name}' into the bias of ${prod.type} '${prod.source.name}'`);
      break;
    }
  }
  return { graph: removed.size ? compact(g, removed) : g, log };
}
