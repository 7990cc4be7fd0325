/**
 * Which op types each backend supports. Each backend keeps its own set in src/backends/ops-<id>.ts
 * (so its engineers edit one small file when a kernel lands); this registry gathers them for
 * `tinyml inspect` and for any stage that must refuse a model early, naming the missing op.
 */
import { referenceFloatOps } from './ops-reference-float.ts';
import { referenceInt8Ops } from './ops-reference-int8.ts';
import { nativeCOps } from './ops-native-c.ts';
import { tflmOps } from './ops-tflm.ts';

export type BackendId = 'reference-float' | 'reference-int8' | 'native-c' | 'tflm';

export interface BackendSupport {
  id: BackendId;
  name: string;
  supportedOps: ReadonlySet<string>;
}

export const BACKENDS: readonly BackendSupport[] = [
  { id: 'reference-float', name: 'TS reference (float32)', supportedOps: referenceFloatOps },
  { id: 'reference-int8', name: 'TS reference (int8)', supportedOps: referenceInt8Ops },
  { id: 'native-c', name: 'native C', supportedOps: nativeCOps },
  { id: 'tflm', name: 'TensorFlow Lite Micro', supportedOps: tflmOps },
];

export function getBackend(id: BackendId): BackendSupport {
  return BACKENDS.find((b) => b.id === id)!;
}

/** The op types of `opTypes` that `backend` cannot run, in first-seen order, without duplicates. */
export function unsupportedOps(backend: BackendSupport, opTypes: Iterable<string>): string[] {
  const missing: string[] = [];
  for (const t of opTypes) if (!backend.supportedOps.has(t) && !missing.includes(t)) missing.push(t);
  return missing;
}
