/**
 * Op types the 'tflm' backend can run. TensorFlow Lite Micro firmware: the ops tinyml registers in the generated op resolver (src/codegen).
 * Owned by that backend's engineers: add each canonical op type (src/ir/ops.ts) when its kernel
 * exists and is tested; `tinyml inspect` reads this set through src/backends/support.ts.
 */
export const tflmOps: ReadonlySet<string> = new Set<string>([]);
