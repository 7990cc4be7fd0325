/**
 * Op types the 'reference-float' backend can run. The float32 TypeScript reference executor (src/reference).
 * Owned by that backend's engineers: add each canonical op type (src/ir/ops.ts) when its kernel
 * exists and is tested; `tinyml inspect` reads this set through src/backends/support.ts.
 */
export const referenceFloatOps: ReadonlySet<string> = new Set<string>([]);
