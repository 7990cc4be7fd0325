/**
 * Op types the 'native-c' backend can run. Interpreter-free generated C (src/codegen).
 * Owned by that backend's engineers: the set lives beside the lowering that implements it
 * (src/codegen/native/ops.ts); `tinyml inspect` reads it through src/backends/support.ts.
 */
export { NATIVE_C_OPS as nativeCOps } from '../codegen/native/ops.ts';
