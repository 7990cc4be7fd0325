/**
 * Checks every importer's graph for what no stage can run: a known op without the inputs or
 * output it needs, and an op that reads a tensor nothing gives a value to. A tensor an op reads must be a graph input, the output of an earlier op, a
 * constant (it has data) or a state tensor (`variable`). The usual cause is a weight tensor that
 * lost its buffer (a truncated or corrupted file): without this check `inspect` said every
 * backend runs the model, `infer` failed with an internal error and `build` called the op
 * unsupported. It is an invalid model (exit 4), the same in every command.
 *
 * Linear in the size of the graph.
 */
import { InvalidModelError } from '../errors.ts';
import { elementCount, type Graph, type Op } from './graph.ts';
import { isKnownOp } from './ops.ts';

/**
 * Inputs a known op cannot run without (positions; src/ir/ops.ts gives the layouts). Any other
 * known op needs its input 0. Unknown and custom ops are not checked: their arity is theirs.
 */
const REQUIRED_INPUTS: Record<string, number[]> = {
  CONV_2D: [0, 1],
  DEPTHWISE_CONV_2D: [0, 1],
  FULLY_CONNECTED: [0, 1],
  TRANSPOSE_CONV: [0, 1, 2],
  ADD: [0, 1],
  SUB: [0, 1],
  MUL: [0, 1],
  DIV: [0, 1],
  BATCH_MATMUL: [0, 1],
  SVDF: [0, 1, 2, 4],
  BATCH_NORM: [0, 1, 2, 3, 4],
  QLINEAR_CONV: [0, 1, 2, 3, 4, 5, 6, 7],
  QLINEAR_MATMUL: [0, 1, 2, 3, 4, 5, 6, 7],
};
/** Known ops that legitimately take no input. */
const NO_INPUT_OPS = new Set(['VAR_HANDLE']);

function where(op: Op, fileName: string): string {
  return `${fileName}: ${op.source.opType} (op #${op.index}, node ${JSON.stringify(op.source.name)})`;
}

/** A known op whose required inputs or outputs are missing (a corrupted operator table). */
function checkArity(op: Op, fileName: string): void {
  if (!isKnownOp(op.type)) return;
  if (op.outputs.length === 0 || op.outputs.some((o) => o < 0)) {
    throw new InvalidModelError(`${where(op, fileName)} has no output tensor: the file is corrupt, re-export or re-download the model`);
  }
  if (NO_INPUT_OPS.has(op.type)) return;
  for (const k of REQUIRED_INPUTS[op.type] ?? [0]) {
    if (op.inputs[k] === undefined || op.inputs[k]! < 0) {
      throw new InvalidModelError(`${where(op, fileName)} has no input ${k} (it has ${op.inputs.length}), which it cannot run without: the file is corrupt, re-export or re-download the model`);
    }
  }
}

export function checkDataflow(graph: Graph, fileName: string): void {
  const hasValue = new Uint8Array(graph.tensors.length);
  for (const t of graph.tensors) if (t.data !== undefined || t.variable || elementCount(t.shape) === 0) hasValue[t.index] = 1;
  for (const i of graph.inputs) hasValue[i.tensor] = 1;
  for (const op of graph.ops) {
    checkArity(op, fileName);
    for (let k = 0; k < op.inputs.length; k++) {
      const ti = op.inputs[k]!;
      if (ti < 0 || hasValue[ti]) continue;
      const t = graph.tensors[ti]!;
      const name = t.name ? ` ${JSON.stringify(t.name.length > 80 ? `${t.name.slice(0, 80)}...` : t.name)}` : '';
      throw new InvalidModelError(
        `${fileName}: ${op.source.opType} (op #${op.index}, node ${JSON.stringify(op.source.name)}) reads tensor #${ti}${name} as input ${k}, ` +
          `but it has no data and no earlier op computes it (a weight that lost its buffer?): the file is corrupt, re-export or re-download the model`,
      );
    }
    for (const o of op.outputs) if (o >= 0) hasValue[o] = 1;
  }
}
