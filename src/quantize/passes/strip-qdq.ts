/**
 * Pass: QDQ ONNX models mark the tensors to quantize with QuantizeLinear -> DequantizeLinear
 * pairs around float ops. Each pair on an activation is removed here and its parameters are
 * kept on the float tensor it wrapped (`quant` on a float32 tensor, an in-pipeline marker that
 * quantizeGraph reads as "use these params instead of calibrated ones"). uint8 parameters are
 * moved to int8 (zero point - 128, same scale: the same real values). Pairs on constant
 * weights are already folded to float constants by constant folding before this runs.
 */
import type { Graph, Op, Quantization } from '../../ir/graph.ts';
import { compact, constFloats, consumers, producers, replaceUses } from '../graph-edit.ts';

/** The per-tensor int8 params a QUANTIZE op produces, or undefined when not per-tensor/known. */
function quantizeParams(g: Graph, q: Op): { scale: number; zeroPoint: number } | undefined {
  const out = g.tensors[q.outputs[0]!]!;
  let scale: number | undefined;
  let zp = 0;
  if (out.quant && out.quant.scale.length === 1) {
    scale = out.quant.scale[0]!;
    zp = out.quant.zeroPoint[0] ?? 0;
  } else if (!out.quant && q.inputs[1] !== undefined && q.inputs[1] >= 0) {
    const sT = g.tensors[q.inputs[1]]!;
    if (!sT.data || sT.shape.reduce((a, b) => a * b, 1) !== 1) return undefined;
    scale = constFloats(sT)[0]!;
    const zi = q.inputs[2];
    if (zi !== undefined && zi >= 0) {
      const zT = g.tensors[zi]!;
      if (!zT.data) return undefined;
      zp = constFloats({ ...zT, quant: undefined })[0]!;
    }
  }
  if (scale === undefined || !(scale > 0)) return undefined;
  if (out.dtype === 'uint8') zp -= 128;
  else if (out.dtype !== 'int8') return undefined;
  return { scale, zeroPoint: zp };
}

export function stripQdq(g: Graph): { graph: Graph; log: string[] } {
  const log: string[] = [];
  const removed = new Set<Op>();
  const made = producers(g);
  const readers = consumers(g);
  let pairs = 0;
  for (const dq of g.ops) {
    if (dq.type !== 'DEQUANTIZE') continue;
    const qT = dq.inputs[0]!;
    const q = made.get(qT);
    if (!q || q.type !== 'QUANTIZE') continue;
    const params = quantizeParams(g, q);
    if (!params) continue;
    const x = q.inputs[0]!;
    const xT = g.tensors[x]!;
    if (xT.dtype !== 'float32') continue;
    const quant: Quantization = { scale: [Math.fround(params.scale)], zeroPoint: [params.zeroPoint], axis: 0 };
    xT.quant = quant;
    replaceUses(g, dq.outputs[0]!, x);
    removed.add(dq);
    if ((readers.get(qT) ?? []).every((r) => removed.has(r))) removed.add(q);
    pairs++;
  }
  if (pairs) log.push(`took the scales of ${pairs} QuantizeLinear/DequantizeLinear pair(s) from the model (QDQ)`);
  return { graph: removed.size ? compact(g, removed) : g, log };
}
