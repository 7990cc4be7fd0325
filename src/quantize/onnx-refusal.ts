/**
 * How `convert` refuses an op it cannot quantize: named by the user's own op and node (for an
 * ONNX model, the ONNX op type and node name, never an op tinyml inserted such as a layout
 * TRANSPOSE or a PAD for explicit padding), with what is missing and a fix in the exporting
 * framework's terms (layers from src/formats/onnx/op-table.ts).
 */
import type { Op } from '../ir/graph.ts';
import { int8Fix, ONNX_OPS } from '../formats/onnx/op-table.ts';
import { describeOp } from './graph-edit.ts';

/** The one-line reason an op of the prepared graph has no int8 form. */
export function int8Refusal(op: Op): string {
  if (op.source.format !== 'onnx' || !op.source.opType || op.source.domain) {
    return `${describeOp(op)} has no int8 implementation, so the model cannot be quantized: replace or remove that op in the source model, or keep the model float`;
  }
  const onnxOp = op.source.opType;
  const entry = ONNX_OPS[onnxOp];
  const node = `ONNX ${onnxOp} node '${op.source.name}'`;
  const own = entry?.ir.includes(op.type) ?? false;
  const what = own || !entry
    ? `has no int8 kernel in tinyml yet (TFLite ${op.type})`
    : `needs a ${op.type} for its layout or form, which has no int8 kernel in tinyml yet`;
  const why = entry?.int8 === null && entry.note ? ` (${entry.note})` : '';
  return `${node} ${what}${why}, so the model cannot be quantized: ${int8Fix(onnxOp)}`;
}
