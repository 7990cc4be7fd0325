/**
 * The 'tflm' backend: TensorFlow Lite Micro firmware (the Arduino sketch). Its op types are the
 * keys of the op-resolver method table the sketch generator registers ops from
 * (src/arduino/tflm-ops.ts); an op is refused when the generated MicroMutableOpResolver cannot
 * register it, exactly as the sketch generator refuses it. (That table is per op type: the dtypes
 * TFLite Micro's kernels take are not checked here yet.)
 */
import type { Graph } from '../ir/graph.ts';
import { TFLM_RESOLVER_METHODS, tflmKernelRefusal } from '../arduino/tflm-ops.ts';

export const tflmOps: ReadonlySet<string> = new Set<string>(Object.keys(TFLM_RESOLVER_METHODS));

/** Op index -> why the TFLite Micro sketch cannot run it. */
export function tflmRefusals(graph: Graph): Map<number, string> {
  const refused = new Map<number, string>();
  for (const op of graph.ops) {
    if (!tflmOps.has(op.type)) refused.set(op.index, 'has no TFLite Micro op-resolver registration');
    else {
      const why = tflmKernelRefusal(graph, op);
      if (why) refused.set(op.index, why);
    }
  }
  return refused;
}
