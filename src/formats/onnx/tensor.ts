/**
 * ONNX TensorProto -> raw little-endian bytes in the IR's dtype.
 *
 * ONNX stores tensor contents either in `raw_data` (little-endian bytes) or in one of the typed
 * repeated fields, with narrow types widened (int8/uint8/int16/uint16/bool/float16 live in
 * `int32_data`, uint32 in `uint64_data`, ...). Everything is normalised here to the IR's
 * representation: `data` holds exactly elementCount(shape) * dtypeSize(dtype) bytes.
 * Every count is checked against the declared dims, so a corrupt file fails with a typed error
 * instead of an out-of-bounds read or a huge allocation.
 */
import onnxProto from 'onnx-proto';
import { InvalidModelError, UnsupportedError } from '../../errors.ts';
import { dtypeSize, type DType } from '../../ir/graph.ts';

const { onnx } = onnxProto;

export type TensorProto = onnxProto.onnx.ITensorProto;

export interface DecodedTensor {
  name: string;
  dtype: DType;
  shape: number[];
  /** Little-endian raw bytes, row-major in `shape`. */
  data: Uint8Array;
}

/** Largest constant we accept: far beyond any microcontroller model, small enough to allocate. */
export const MAX_TENSOR_BYTES = 1 << 30;

/** A protobuf int64 as protobufjs hands it: a number, or a Long when the `long` package is present. */
export interface LongLike {
  low: number;
  high: number;
  unsigned?: boolean;
}

export function isLongLike(v: unknown): v is LongLike {
  return typeof v === 'object' && v !== null && typeof (v as LongLike).low === 'number' && typeof (v as LongLike).high === 'number';
}

/** int64 -> JS number; values beyond 2^53 lose precision (only used for dims, attributes, versions). */
export function int64ToNumber(v: number | LongLike | null | undefined): number {
  if (v === null || v === undefined) return 0;
  if (typeof v === 'number') return v;
  if (isLongLike(v)) {
    const high = v.unsigned ? v.high >>> 0 : v.high | 0;
    return high * 4294967296 + (v.low >>> 0);
  }
  return Number(v);
}

/** int64 -> BigInt, exact. */
export function int64ToBigInt(v: number | LongLike | null | undefined): bigint {
  if (v === null || v === undefined) return 0n;
  if (typeof v === 'number') return BigInt(Math.trunc(v));
  if (isLongLike(v)) {
    const high = v.unsigned ? BigInt(v.high >>> 0) : BigInt(v.high | 0);
    return (high << 32n) | BigInt(v.low >>> 0);
  }
  return BigInt(v as never);
}

/** ONNX TensorProto.DataType -> IR dtype (ONNX numbering, onnx.proto). */
export function onnxDataTypeToDType(t: number): DType {
  switch (t) {
    case 1: return 'float32';
    case 2: return 'uint8';
    case 3: return 'int8';
    case 4: return 'uint16';
    case 5: return 'int16';
    case 6: return 'int32';
    case 7: return 'int64';
    case 8: return 'string';
    case 9: return 'bool';
    case 10: return 'float16';
    case 11: return 'float64';
    case 12: return 'uint32';
    case 13: return 'uint64';
    case 14: return 'complex64';
    case 15: return 'complex128';
    case 16: return 'bfloat16';
    case 22: return 'int4';
    default: return 'unknown';
  }
}

/**
 * Checks a list of declared dims and returns them as numbers. `what` names the tensor in messages.
 * Throws InvalidModelError for negative or non-integer dims and for shapes larger than memory.
 */
export function checkedShape(dims: readonly (number | LongLike)[], what: string, elementBytes: number): number[] {
  const shape: number[] = [];
  let count = 1;
  for (const d of dims) {
    const n = int64ToNumber(d);
    if (!Number.isSafeInteger(n) || n < 0) {
      throw new InvalidModelError(`${what} declares dimension ${n} in its shape: the model is corrupt, re-export it`);
    }
    shape.push(n);
    count *= n;
  }
  if (count * Math.max(elementBytes, 1) > MAX_TENSOR_BYTES) {
    throw new InvalidModelError(
      `${what} claims shape [${shape.join(',')}] (${count} elements), more than memory can hold: the model is corrupt or not for a microcontroller`,
    );
  }
  return shape;
}

/**
 * Converts a decoded TensorProto to IR bytes. `what` names the tensor in messages (defaults to
 * its name). Throws InvalidModelError when the data does not match the declared shape and
 * UnsupportedError for dtypes or storage the IR does not take (strings, external data).
 */
export function tensorFromProto(t: TensorProto, what?: string): DecodedTensor {
  const name = typeof t.name === 'string' ? t.name : '';
  const label = what ?? `tensor '${name}'`;
  const dataType = t.dataType ?? 0;
  if (dataType === 0) {
    throw new InvalidModelError(`${label} has no data type (UNDEFINED): the model is corrupt, re-export it`);
  }
  const dtype = onnxDataTypeToDType(dataType);
  if (dtype === 'unknown' || dtype === 'string' || dtype === 'int4') {
    throw new UnsupportedError(`${label} has ONNX data type ${dataType} (${dtype}), which tinyml cannot hold as a constant: use a numeric type`);
  }
  if (t.dataLocation === onnx.TensorProto.DataLocation.EXTERNAL || (t.externalData?.length ?? 0) > 0) {
    throw new UnsupportedError(
      `${label} keeps its data in an external file: save the model with the data inside (onnx.save(model, path, save_as_external_data=False))`,
    );
  }
  if (t.segment) {
    throw new UnsupportedError(`${label} is a segment of a larger tensor: re-export the model without segmented tensors`);
  }
  const size = dtypeSize(dtype);
  const shape = checkedShape(t.dims ?? [], label, size);
  const count = shape.reduce((a, b) => a * b, 1);
  const byteLength = count * size;

  const raw = t.rawData;
  if (raw && raw.length > 0) {
    if (raw.length !== byteLength) {
      throw new InvalidModelError(
        `${label} declares shape [${shape.join(',')}] (${byteLength} bytes of ${dtype}) but holds ${raw.length} bytes: the model is corrupt, re-export it`,
      );
    }
    return { name, dtype, shape, data: new Uint8Array(raw) };
  }

  const data = new Uint8Array(byteLength);
  const view = new DataView(data.buffer);
  const checkCount = (field: string, n: number): void => {
    if (n !== count) {
      throw new InvalidModelError(
        `${label} declares shape [${shape.join(',')}] (${count} elements) but its ${field} holds ${n} values: the model is corrupt, re-export it`,
      );
    }
  };
  switch (dtype) {
    case 'float32': {
      const v = t.floatData ?? [];
      checkCount('float_data', v.length);
      for (let i = 0; i < count; i++) view.setFloat32(i * 4, v[i]!, true);
      break;
    }
    case 'complex64': {
      const v = t.floatData ?? [];
      checkCount('float_data', v.length / 2);
      for (let i = 0; i < count * 2; i++) view.setFloat32(i * 4, v[i]!, true);
      break;
    }
    case 'float64': {
      const v = t.doubleData ?? [];
      checkCount('double_data', v.length);
      for (let i = 0; i < count; i++) view.setFloat64(i * 8, v[i]!, true);
      break;
    }
    case 'complex128': {
      const v = t.doubleData ?? [];
      checkCount('double_data', v.length / 2);
      for (let i = 0; i < count * 2; i++) view.setFloat64(i * 8, v[i]!, true);
      break;
    }
    case 'int32': {
      const v = t.int32Data ?? [];
      checkCount('int32_data', v.length);
      for (let i = 0; i < count; i++) view.setInt32(i * 4, v[i]!, true);
      break;
    }
    case 'int8':
    case 'uint8':
    case 'bool': {
      // Narrow types are widened to int32 in int32_data; keep the low byte (bool: 0 or 1).
      const v = t.int32Data ?? [];
      checkCount('int32_data', v.length);
      for (let i = 0; i < count; i++) data[i] = dtype === 'bool' ? (v[i] ? 1 : 0) : v[i]! & 0xff;
      break;
    }
    case 'int16':
    case 'uint16':
    case 'float16':
    case 'bfloat16': {
      // float16/bfloat16 are stored as their 16-bit patterns in int32_data.
      const v = t.int32Data ?? [];
      checkCount('int32_data', v.length);
      for (let i = 0; i < count; i++) view.setUint16(i * 2, v[i]! & 0xffff, true);
      break;
    }
    case 'int64': {
      const v = t.int64Data ?? [];
      checkCount('int64_data', v.length);
      for (let i = 0; i < count; i++) view.setBigInt64(i * 8, BigInt.asIntN(64, int64ToBigInt(v[i])), true);
      break;
    }
    case 'uint32': {
      const v = t.uint64Data ?? [];
      checkCount('uint64_data', v.length);
      for (let i = 0; i < count; i++) view.setUint32(i * 4, Number(BigInt.asUintN(32, int64ToBigInt(v[i]))), true);
      break;
    }
    case 'uint64': {
      const v = t.uint64Data ?? [];
      checkCount('uint64_data', v.length);
      for (let i = 0; i < count; i++) view.setBigUint64(i * 8, BigInt.asUintN(64, int64ToBigInt(v[i])), true);
      break;
    }
    default:
      throw new UnsupportedError(`${label} has data type ${dtype}, which tinyml cannot hold as a constant: use a numeric type`);
  }
  return { name, dtype, shape, data };
}

/**
 * Reads a serialized TensorProto, as the ONNX backend tests store inputs and expected outputs
 * (test_data_set_N/input_K.pb, output_K.pb). `what` names the file in messages.
 */
export function readTensorProtoFile(bytes: Uint8Array, what = 'tensor file'): DecodedTensor {
  if (bytes.length === 0) throw new InvalidModelError(`${what} is empty (0 bytes): pass a serialized ONNX TensorProto (.pb)`);
  let t: onnxProto.onnx.TensorProto;
  try {
    t = onnx.TensorProto.decode(bytes);
  } catch (e) {
    throw new InvalidModelError(`${what} is not a serialized ONNX TensorProto (${(e as Error).message}): pass a .pb tensor file`);
  }
  if (!t.dataType) {
    throw new InvalidModelError(`${what} is not a serialized ONNX TensorProto (no data type): pass a .pb tensor file`);
  }
  return tensorFromProto(t, `${what}${t.name ? ` (tensor '${t.name}')` : ''}`);
}
