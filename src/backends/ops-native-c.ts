/**
 * The 'native-c' backend: interpreter-free generated C (src/codegen). Its op types are the
 * lowering's op list (src/codegen/native/ops.ts); whether it generates a given op is the
 * lowering's own per-op check, run on the model's real memory plan, so `tinyml inspect` (through
 * src/backends/support.ts) says exactly what `build` and `infer --engine native` then do.
 */
import type { Graph } from '../ir/graph.ts';
import { nativeOpRefusals } from '../codegen/native/lower.ts';
import { planMemory } from '../plan/memory.ts';
import { foldPaddingMapped } from '../codegen/native/fold-pad.ts';
import { mergePoolRegionsMapped } from '../codegen/native/merge-pool-regions.ts';
import { splitGroupedConvsMapped } from '../codegen/native/split-groups.ts';

export { NATIVE_C_OPS as nativeCOps } from '../codegen/native/ops.ts';

/** Op index -> why the native C backend cannot generate it. */
export function nativeCRefusals(graph: Graph): Map<number, string> {
  // The generator folds PAD/PADV2 into the conv or pool after it first (fold-pad.ts), merges
  // region-wise average pools (merge-pool-regions.ts) and splits grouped convs (split-groups.ts):
  // check what it generates, and report by the model's own op indices.
  const folded = foldPaddingMapped(graph);
  const merged = mergePoolRegionsMapped(folded.graph);
  const split = splitGroupedConvsMapped(merged.graph);
  const refusals = nativeOpRefusals(split.graph, planMemory(split.graph));
  return new Map([...refusals].map(([i, why]) => [folded.original[merged.original[split.original[i]!]!]!, why] as const));
}
