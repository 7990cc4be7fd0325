/**
 * Op types the 'reference-int8' backend can run: the int8 TypeScript reference executor, the
 * oracle for every C backend (src/reference/int8). The set is the executor's kernel table's
 * keys, so `tinyml inspect` (through src/backends/support.ts) reports exactly what it runs.
 */
export { INT8_REFERENCE_OPS as referenceInt8Ops } from '../reference/int8/index.ts';
