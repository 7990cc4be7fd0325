/**
 * ONNX TensorProto files (`.pb`, the format of the ONNX test data sets: test_data_set_N/
 * input_K.pb) read as data arrays for infer, eval and calibration. The decoding is the ONNX
 * importer's (src/formats/onnx/tensor.ts); here a bad file is bad data (DataError, exit 8).
 */
import { DataError, TinymlError } from '../errors.ts';
import { readTensorProtoFile } from '../formats/onnx/tensor.ts';
import type { TensorValue } from '../reference/tensor-value.ts';
import { isNpyDType, typedFromBytes } from './npy.ts';

export function parseTensorProto(bytes: Uint8Array, what: string): TensorValue {
  let t;
  try {
    t = readTensorProtoFile(bytes, what);
  } catch (e) {
    if (e instanceof TinymlError) throw new DataError(e.message);
    throw e;
  }
  if (!isNpyDType(t.dtype)) {
    throw new DataError(`${what} holds ${t.dtype} values, which tinyml does not read as data: save float32 or integer values`);
  }
  return { dtype: t.dtype, shape: [...t.shape], data: typedFromBytes(t.dtype, t.data, what) };
}
