/**
 * Op types the 'native-c' backend can run. Interpreter-free generated C (src/codegen).
 * Owned by that backend's engineers: add each canonical op type (src/ir/ops.ts) when its kernel
 * exists and is tested; `tinyml inspect` reads this set through src/backends/support.ts.
 */
export const nativeCOps: ReadonlySet<string> = new Set<string>([]);
