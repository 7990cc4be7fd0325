/**
 * The 'reference-int8' backend: the int8 TypeScript reference executor, the oracle for every C
 * backend (src/reference/int8). Its op types are the executor's kernel table; whether it runs a
 * given op (dtype, quantization, shapes) is its own Prepare step, so `tinyml inspect` (through
 * src/backends/support.ts) says exactly what `infer --engine reference` then does.
 */
import type { Graph } from '../ir/graph.ts';
import { INT8_REFERENCE_OPS, int8OpRefusal } from '../reference/int8/index.ts';

export { INT8_REFERENCE_OPS as referenceInt8Ops };

/** Op index -> why the int8 reference refuses it (the kernel's own Prepare reason). */
export function referenceInt8Refusals(graph: Graph): Map<number, string> {
  const refused = new Map<number, string>();
  for (const op of graph.ops) {
    const r = int8OpRefusal(graph, op);
    if (r !== null) refused.set(op.index, r.reason);
  }
  return refused;
}
