/**
 * Reads the data a user passes with --input for one model input: raw .bin bytes in the model's
 * input dtype, a .npy array, a .npz archive, or an ONNX TensorProto .pb (ONNX test data). Data is in the source model's layout (NCHW for
 * an ONNX image model) and is converted to the IR layout here.
 */
import { extname } from 'node:path';
import { DataError, UnsupportedError } from '../errors.ts';
import { dtypeSize, elementCount, type Graph, type Quantization } from '../ir/graph.ts';
import { allocTyped, isNpyDType, parseNpy, parseNpz, readDataFile, typedFromBytes } from '../data/npy.ts';
import { parseTensorProto } from '../data/tensor-proto.ts';
import { inputToIr, userInputShape } from '../reference/layout.ts';
import type { TensorValue, TypedArray } from '../reference/tensor-value.ts';

export interface LoadedInput {
  /** Value in the IR layout and the model input's dtype, ready for an engine. */
  value: TensorValue;
  /** Shape the user supplied data for (the source layout). */
  userShape: number[];
  /** Conversions applied (dtype widening/narrowing), for the user to see. */
  notes: string[];
}

const sameDims = (a: readonly number[], b: readonly number[]): boolean => a.length === b.length && a.every((d, i) => d === b[i]);
const squeeze = (s: readonly number[]): number[] => s.filter((d) => d !== 1);

/** Loads the data file for graph input `index`. */
export function loadInput(path: string, graph: Graph, index: number): LoadedInput {
  const gi = graph.inputs[index]!;
  const t = graph.tensors[gi.tensor]!;
  const shape = userInputShape(t.shape, gi);
  const label = `input ${index} ('${t.name}', ${t.dtype} [${shape.join(',')}])`;
  if (!isNpyDType(t.dtype)) throw new UnsupportedError(`${label}: tinyml cannot feed ${t.dtype} inputs yet: export the model with a float32 or int8 input`);
  const ext = extname(path).toLowerCase();
  // Structured files would otherwise be taken as raw bytes whenever their size happens to match.
  if (ext === '.json') {
    throw new DataError(`${path}: ${ext} inputs are not read (only raw .bin, .npy, .npz or an ONNX TensorProto .pb): save the array with numpy.save as a .npy`);
  }
  const bytes = readDataFile(path);
  const notes: string[] = [];
  let user: TensorValue;
  if (ext === '.npy' || ext === '.npz' || ext === '.pb') {
    const arr = ext === '.npy' ? parseNpy(bytes, path) : ext === '.pb' ? parseTensorProto(bytes, path) : pickNpzArray(parseNpz(bytes, path), path, t.name);
    if (!sameDims(arr.shape, shape) && !sameDims(squeeze(arr.shape), squeeze(shape))) {
      throw new DataError(
        `${path} holds shape (${arr.shape.join(', ')}) but ${label} needs [${shape.join(',')}]: reshape the array (numpy.reshape) in the model's own layout`,
      );
    }
    user = { dtype: t.dtype, shape, data: convertDType(arr, t.dtype, path, label, notes, t.quant) };
  } else {
    const size = dtypeSize(t.dtype);
    const expected = elementCount(shape) * size;
    if (bytes.length !== expected) {
      throw new DataError(
        `${path} has ${bytes.length} bytes but ${label} needs exactly ${expected} bytes of raw little-endian ${t.dtype}: pass a file of that size, or a .npy`,
      );
    }
    user = { dtype: t.dtype, shape, data: typedFromBytes(t.dtype, bytes, path) };
  }
  const value = inputToIr(user, gi);
  return { value: { dtype: value.dtype, shape: [...t.shape], data: value.data }, userShape: shape, notes };
}

/** The array of a .npz meant for the input: named after it, or 'input'/'inputs', or the only one. */
function pickNpzArray(arrays: Map<string, TensorValue>, path: string, inputName: string): TensorValue {
  for (const key of [inputName, 'input', 'inputs', 'x']) {
    const v = arrays.get(key);
    if (v) return v;
  }
  if (arrays.size === 1) return [...arrays.values()][0]!;
  throw new DataError(`${path} holds arrays ${[...arrays.keys()].join(', ')} and none is named '${inputName}' or 'inputs': pass a .npy, or save the array under that name`);
}

const INT_RANGES: Record<string, [number, number]> = {
  int8: [-128, 127],
  uint8: [0, 255],
  int16: [-32768, 32767],
  uint16: [0, 65535],
  int32: [-2147483648, 2147483647],
  uint32: [0, 4294967295],
  bool: [0, 1],
};

/**
 * Converts array data to the model input's dtype where no information is lost in a way the
 * user would not expect: any number to float32/float64 (float64 data rounds to float32, as
 * numpy's astype does), integers to another integer type when every value fits.
 */
function convertDType(arr: TensorValue, target: string, path: string, label: string, notes: string[], quant?: Quantization): TypedArray {
  if (arr.dtype === target) return arr.data;
  const isFloat = (d: string): boolean => d === 'float32' || d === 'float64';
  const values: ArrayLike<number> =
    arr.data instanceof BigInt64Array || arr.data instanceof BigUint64Array ? Array.from(arr.data, Number) : (arr.data as ArrayLike<number>);
  const range = INT_RANGES[target];
  if (isFloat(arr.dtype) && range && quant && quant.scale.length === 1) {
    // Real values for a quantized input: quantized as the model's own QUANTIZE would (TFLite:
    // round half away from zero), never cast.
    const scale = quant.scale[0]!;
    const zp = quant.zeroPoint[0] ?? 0;
    const out = allocTyped(target as 'int8', values.length);
    let clamped = 0;
    for (let i = 0; i < values.length; i++) {
      const v = values[i]!;
      if (!Number.isFinite(v)) throw new DataError(`${path} holds ${v} at element ${i}: ${label} needs finite real values`);
      const r = Math.fround(v / scale);
      const q = (r < 0 ? -Math.round(-r) : Math.round(r)) + zp;
      if (q < range[0] || q > range[1]) clamped++;
      (out as Int8Array)[i] = Math.min(Math.max(q, range[0]), range[1]);
    }
    notes.push(
      `${path}: ${arr.dtype} data quantized to ${target} with the model's input scale ${scale} and zero point ${zp} (q = round(x / scale) + zero_point)` +
        (clamped > 0 ? `; ${clamped} value(s) outside the input's range were clamped` : ''),
    );
    return out;
  }
  if (target === 'float32' || target === 'float64') {
    notes.push(`${path}: ${arr.dtype} data converted to ${target}`);
    const out = allocTyped(target, values.length) as Float32Array;
    for (let i = 0; i < values.length; i++) out[i] = values[i]!;
    return out;
  }
  if (!range || isFloat(arr.dtype)) {
    const how = range ? `quantize it with the input's scale and zero point (numpy: np.round(a / scale) + zero_point, then .astype(numpy.${target}))` : `convert it (a.astype(numpy.${target}))`;
    throw new DataError(`${path} holds ${arr.dtype} data but ${label} takes ${target} and has no quantization parameters: ${how} and save again`);
  }
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (v < range[0] || v > range[1]) {
      throw new DataError(`${path} holds ${arr.dtype} value ${v} at element ${i}, outside ${target} [${range[0]}, ${range[1]}] that ${label} takes: pass ${target} data`);
    }
  }
  notes.push(`${path}: ${arr.dtype} data converted to ${target}`);
  const out = allocTyped(target as 'int8', values.length);
  for (let i = 0; i < values.length; i++) (out as Int8Array)[i] = values[i]!;
  return out;
}
