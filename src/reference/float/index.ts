/** The float32 reference engine: runFloat and the set of ops it runs. */
export { runFloat, unsupportedFloatOps, FLOAT_REFERENCE_OPS, ANY_DTYPE_OPS } from './run.ts';
