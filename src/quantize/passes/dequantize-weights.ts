/**
 * Pass: hybrid (dynamic-range) models keep int8 weights with a scale next to float activations
 * (MLPerf Tiny's kws_ref_model_float32). PTQ re-derives every weight's int8 form itself, so
 * quantized integer constants that feed float ops become plain float32 constants here.
 * Constants read by QUANTIZE/DEQUANTIZE are left to constant folding.
 */
import type { Graph } from '../../ir/graph.ts';
import { constFloats, consumers, setConstFloat } from '../graph-edit.ts';

export function dequantizeWeights(g: Graph): string[] {
  const log: string[] = [];
  const readers = consumers(g);
  for (const t of g.tensors) {
    if (!t.data || t.variable || !t.quant || t.quant.scale.length === 0) continue;
    if (t.dtype !== 'int8' && t.dtype !== 'uint8' && t.dtype !== 'int16') continue;
    const ops = readers.get(t.index) ?? [];
    if (ops.length === 0 || ops.some((o) => o.type === 'QUANTIZE' || o.type === 'DEQUANTIZE')) continue;
    setConstFloat(t, constFloats(t));
    log.push(`dequantized hybrid weight '${t.name}' to float32`);
  }
  return log;
}
