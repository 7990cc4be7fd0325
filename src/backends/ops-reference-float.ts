/**
 * The 'reference-float' backend: the float32 TypeScript reference executor (src/reference/float).
 * Its op types are the executor's own dispatch list; it runs them on float32 activations, and
 * the data-movement and (de)quantization ops on any dtype. Which ops of a model it refuses is the
 * executor's own check (unsupportedFloatOps), so `tinyml inspect` cannot disagree with it.
 */
import type { Graph } from '../ir/graph.ts';
import { ANY_DTYPE_OPS, FLOAT_REFERENCE_OPS, unsupportedFloatOps } from '../reference/float/index.ts';

export const referenceFloatOps: ReadonlySet<string> = new Set<string>(FLOAT_REFERENCE_OPS);

/** Ops the float engine also runs on integer tensors (data movement, QUANTIZE/DEQUANTIZE). */
export const referenceFloatAnyDtypeOps: ReadonlySet<string> = ANY_DTYPE_OPS;

/** Op index -> why the float engine refuses it. */
export function referenceFloatRefusals(graph: Graph): Map<number, string> {
  const refused = new Map<number, string>();
  for (const op of unsupportedFloatOps(graph)) {
    const x = graph.tensors[op.inputs[0] ?? -1];
    refused.set(op.index, referenceFloatOps.has(op.type) && x ? `computes on ${x.dtype} tensors and the float engine runs float32 ones` : 'has no float kernel');
  }
  return refused;
}
