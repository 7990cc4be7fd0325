/**
 * Checks every importer's graph for what no stage can run: an op that reads a tensor nothing
 * gives a value to. A tensor an op reads must be a graph input, the output of an earlier op, a
 * constant (it has data) or a state tensor (`variable`). The usual cause is a weight tensor that
 * lost its buffer (a truncated or corrupted file): without this check `inspect` said every
 * backend runs the model, `infer` failed with an internal error and `build` called the op
 * unsupported. It is an invalid model (exit 4), the same in every command.
 *
 * Linear in the size of the graph.
 */
import { InvalidModelError } from '../errors.ts';
import { elementCount, type Graph } from './graph.ts';

export function checkDataflow(graph: Graph, fileName: string): void {
  const hasValue = new Uint8Array(graph.tensors.length);
  for (const t of graph.tensors) if (t.data !== undefined || t.variable || elementCount(t.shape) === 0) hasValue[t.index] = 1;
  for (const i of graph.inputs) hasValue[i.tensor] = 1;
  for (const op of graph.ops) {
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
