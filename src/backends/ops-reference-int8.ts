/**
 * Op types the 'reference-int8' backend can run. The int8 TypeScript reference executor, the oracle for every C backend (src/reference).
 * Owned by that backend's engineers: add each canonical op type (src/ir/ops.ts) when its kernel
 * exists and is tested; `tinyml inspect` reads this set through src/backends/support.ts.
 */
export const referenceInt8Ops: ReadonlySet<string> = new Set<string>([]);
