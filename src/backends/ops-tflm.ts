/**
 * The 'tflm' backend: TensorFlow Lite Micro firmware (the Arduino sketch, or the same sketch on
 * the emulated boards), with the pinned library. Its op types are the keys of the capability
 * table the sketch generator registers ops from (src/arduino/tflm-ops.ts), and an op is refused
 * exactly when the generator refuses it: no resolver method, a dtype its kernel does not run, or
 * a case the library computes wrong (tflmRefusalReason).
 */
import type { Graph } from '../ir/graph.ts';
import { TFLM_KERNELS, tflmRefusalReason } from '../arduino/tflm-ops.ts';

export const tflmOps: ReadonlySet<string> = new Set<string>(Object.keys(TFLM_KERNELS));

/** Op index -> why the TFLite Micro sketch cannot run it. */
export function tflmRefusals(graph: Graph): Map<number, string> {
  const refused = new Map<number, string>();
  for (const op of graph.ops) {
    const why = tflmRefusalReason(graph, op);
    if (why !== null) refused.set(op.index, why);
  }
  return refused;
}
