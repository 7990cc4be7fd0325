/**
 * Op types the 'reference-float' backend can run: the float32 TypeScript reference executor
 * (src/reference/float). The set is the executor's own list of the ops it dispatches, so
 * `tinyml inspect` (through src/backends/support.ts) can never claim more or less than it runs.
 */
import { FLOAT_REFERENCE_OPS } from '../reference/float/index.ts';

export const referenceFloatOps: ReadonlySet<string> = new Set<string>(FLOAT_REFERENCE_OPS);
