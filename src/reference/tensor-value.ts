/**
 * A runtime tensor value, as executors take and return them. `data` is the typed array of the
 * dtype (Int8Array for int8, Float32Array for float32, ...), row-major in `shape` (NHWC for 4-D).
 */
import type { DType } from '../ir/graph.ts';

export type TypedArray =
  | Int8Array
  | Uint8Array
  | Int16Array
  | Uint16Array
  | Int32Array
  | Uint32Array
  | Float32Array
  | Float64Array
  | BigInt64Array
  | BigUint64Array;

export interface TensorValue {
  dtype: DType;
  shape: number[];
  data: TypedArray;
}

export interface RunOptions {
  /** Keep every computed tensor (by IR tensor index) in RunResult.tensors, for per-layer reports. */
  keepIntermediates?: boolean;
}

export interface RunResult {
  /** One value per Graph.outputs entry, in the IR layout. */
  outputs: TensorValue[];
  /** Every tensor computed, when RunOptions.keepIntermediates is set. */
  tensors?: Map<number, TensorValue>;
}
