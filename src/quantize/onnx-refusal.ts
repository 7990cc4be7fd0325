/**
 * How `convert` refuses an op it cannot quantize: named by the user's own op and node (for an
 * ONNX model, the ONNX op type and node name, never an op tinyml inserted such as a layout
 * TRANSPOSE or a PAD for explicit padding), with what is missing and a fix in the exporting
 * framework's terms (layers from src/formats/onnx/op-table.ts).
 */
import type { Graph, Op } from '../ir/graph.ts';
import { isConstant } from '../ir/graph.ts';
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
  const own = !!entry && (entry.ir.includes(op.type) || (entry.int8 ?? []).includes(op.type));
  const what = own || !entry
    ? `has no int8 kernel in tinyml yet (TFLite ${op.type})`
    : `needs a ${op.type} for its layout or form, which has no int8 kernel in tinyml yet`;
  const why = entry?.int8 === null && entry.note ? ` (${entry.note})` : '';
  return `${node} ${what}${why}, so the model cannot be quantized: ${int8Fix(onnxOp)}`;
}

/**
 * Inputs that int8 kernels need as constants, per op type: [input index, what it is]. ONNX lets
 * models (and the ONNX node tests) feed these as graph inputs; TFLite int8 cannot.
 */
const CONSTANT_INPUTS: Record<string, [number, string][]> = {
  CONV_2D: [[1, 'weights'], [2, 'bias']],
  DEPTHWISE_CONV_2D: [[1, 'weights'], [2, 'bias']],
  FULLY_CONNECTED: [[1, 'weights'], [2, 'bias']],
  TRANSPOSE_CONV: [[1, 'weights'], [3, 'bias']],
  BATCH_NORM: [[1, 'scale'], [2, 'bias'], [3, 'mean'], [4, 'variance']],
  CLIP: [[1, 'min bound'], [2, 'max bound']],
  RESHAPE: [[1, 'target shape']],
  PAD: [[1, 'pads'], [2, 'pad value']],
  QUANTIZE: [[1, 'scale'], [2, 'zero point']],
  DEQUANTIZE: [[1, 'scale'], [2, 'zero point']],
};

/** The graph input a tensor comes from through data-movement ops, if it does. */
function inputOrigin(g: Graph, tensor: number): string | undefined {
  const made = new Map<number, Op>();
  for (const op of g.ops) for (const o of op.outputs) made.set(o, op);
  let t = tensor;
  for (let hops = 0; hops < 8; hops++) {
    if (g.inputs.some((i) => i.tensor === t)) return g.tensors[t]!.name;
    const p = made.get(t);
    if (!p || !['TRANSPOSE', 'RESHAPE', 'DEQUANTIZE'].includes(p.type)) return undefined;
    t = p.inputs[0]!;
  }
  return undefined;
}

/**
 * The refusal for an op whose parameters come from the model's inputs at run time (weights,
 * pads, shapes, bounds), which int8 kernels need as constants; undefined when there is none.
 */
export function runtimeParameterRefusal(g: Graph, op: Op): string | undefined {
  for (const [i, what] of CONSTANT_INPUTS[op.type] ?? []) {
    const t = op.inputs[i];
    if (t === undefined || t < 0 || isConstant(g.tensors[t]!)) continue;
    const origin = inputOrigin(g, t);
    const node = op.source.format === 'onnx' ? `ONNX ${op.source.opType} node '${op.source.name}'` : describeOp(op);
    return `${node} takes its ${what} from ${origin ? `the model input '${origin}'` : 'a tensor computed at run time'}, which int8 kernels need as a constant, so the model cannot be quantized: export it as a constant (an initializer: a module parameter or buffer, not a graph input)`;
  }
  return undefined;
}

/**
 * The refusal for an op whose attributes TFLite's int8 op cannot honour (it would compute
 * something else, silently); undefined when there is none.
 */
export function tfliteFormRefusal(op: Op): string | undefined {
  const node = op.source.format === 'onnx' ? `ONNX ${op.source.opType} node '${op.source.name}'` : describeOp(op);
  if (op.type === 'ELU' && typeof op.attrs.alpha === 'number' && op.attrs.alpha !== 1) {
    return `${node} has alpha ${op.attrs.alpha}, and TFLite's ELU computes alpha 1, so the model cannot be quantized: use alpha=1.0 (PyTorch nn.ELU(alpha=1.0), Keras layers.ELU(alpha=1.0))`;
  }
  return undefined;
}
