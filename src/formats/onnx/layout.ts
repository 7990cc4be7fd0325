/**
 * Pure helpers for shapes and constant data at import: transposing raw tensor bytes, the
 * NCHW <-> NHWC permutations, numpy broadcasting, and reading/writing constant values.
 */
import { InvalidModelError } from '../../errors.ts';
import { dtypeSize, elementCount, type DType } from '../../ir/graph.ts';

/** irShape[i] = nchwShape[NCHW_TO_NHWC[i]]. */
export const NCHW_TO_NHWC = [0, 2, 3, 1];
/** nchwShape[i] = irShape[NHWC_TO_NCHW[i]]. */
export const NHWC_TO_NCHW = [0, 3, 1, 2];

/** Where NCHW axis a sits in the NHWC layout. */
export function nhwcAxis(nchwAxis: number): number {
  return NCHW_TO_NHWC.indexOf(nchwAxis);
}

/**
 * Channels-last layout of image tensors in the IR, for ONNX ranks 4 (NCHW -> NHWC) and 3 (NCW,
 * a 1-D signal, held as NHWC with a unit height: [N, 1, W, C], so 1-D convolution and pooling
 * run as 2-D ones). Entry i is the ONNX axis the IR axis i holds, -1 for the inserted unit axis.
 */
export function channelsLastAxes(rank: number): number[] {
  if (rank === 4) return [0, 2, 3, 1];
  if (rank === 3) return [0, -1, 2, 1];
  throw new Error(`internal: no channels-last layout for rank ${rank}`);
}

/** Ranks that have a channels-last layout. */
export function hasChannelsLast(rank: number): boolean {
  return rank === 3 || rank === 4;
}

/** IR shape of a channels-last value of ONNX shape `shape`. */
export function channelsLastShape(shape: readonly number[]): number[] {
  return channelsLastAxes(shape.length).map((a) => (a < 0 ? 1 : shape[a]!));
}

/** The transpose taking ONNX data to channels-last data (before the unit axis is inserted). */
export function channelsLastPerm(rank: number): number[] {
  return channelsLastAxes(rank).filter((a) => a >= 0);
}

/** Where ONNX axis `axis` of a channels-last value of rank `rank` sits in its IR tensor. */
export function irAxis(axis: number, rank: number): number {
  return channelsLastAxes(rank).indexOf(axis);
}

/**
 * For every element of the IR tensor, in IR order, its row-major index in the ONNX (logical)
 * tensor; undefined when the tensor is too large to enumerate. Two values hold the same bytes
 * exactly when these orders are equal (used to turn reshapes and transposes into aliases).
 */
export function irElementOrder(shape: readonly number[], channelsLast: boolean, logical?: Int32Array): Int32Array | undefined {
  const n = elementCount(shape);
  if (n > 1 << 20) return undefined;
  let base = logical;
  if (!base) {
    base = new Int32Array(n);
    for (let i = 0; i < n; i++) base[i] = i;
  }
  if (!channelsLast) return base;
  const bytes = transposeBytes(new Uint8Array(base.buffer, base.byteOffset, n * 4), shape, channelsLastPerm(shape.length), 4);
  return new Int32Array(bytes.buffer, bytes.byteOffset, n);
}

/** Row-major indices of a tensor of `shape` after numpy.transpose(x, perm) (undefined if too large). */
export function transposedOrder(shape: readonly number[], perm: readonly number[]): Int32Array | undefined {
  const n = elementCount(shape);
  if (n > 1 << 20) return undefined;
  const iota = new Int32Array(n);
  for (let i = 0; i < n; i++) iota[i] = i;
  const bytes = transposeBytes(new Uint8Array(iota.buffer), shape, perm, 4);
  return new Int32Array(bytes.buffer, bytes.byteOffset, n);
}

export function sameOrder(a: Int32Array | undefined, b: Int32Array | undefined): boolean {
  if (!a || !b || a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

export function permute<T>(values: readonly T[], perm: readonly number[]): T[] {
  return perm.map((p) => values[p]!);
}

/** Transposes row-major raw bytes: out.shape[i] = shape[perm[i]]. */
export function transposeBytes(data: Uint8Array, shape: readonly number[], perm: readonly number[], elemSize: number): Uint8Array {
  const rank = shape.length;
  const outShape = permute(shape, perm);
  const count = elementCount(shape);
  const out = new Uint8Array(count * elemSize);
  if (count === 0) return out;
  // Move whole elements through typed views (element-aligned copies of the input when needed).
  const words = elemSize === 4 || elemSize === 2 || elemSize === 1;
  const aligned = data.byteOffset % elemSize === 0 ? data : data.slice();
  const view = (b: Uint8Array, n: number): Uint8Array | Uint16Array | Uint32Array =>
    elemSize === 4 ? new Uint32Array(b.buffer, b.byteOffset, n) : elemSize === 2 ? new Uint16Array(b.buffer, b.byteOffset, n) : b;
  const src32 = words ? view(aligned, count) : undefined;
  const dst32 = words ? view(out, count) : undefined;
  const inStrides = new Array<number>(rank);
  let s = 1;
  for (let i = rank - 1; i >= 0; i--) {
    inStrides[i] = s;
    s *= shape[i]!;
  }
  // Stride in the input of each output axis.
  const strideOfOut = perm.map((p) => inStrides[p]!);
  const idx = new Array<number>(rank).fill(0);
  let src = 0;
  for (let o = 0; o < count; o++) {
    if (dst32) dst32[o] = src32![src]!;
    else out.set(aligned.subarray(src * elemSize, src * elemSize + elemSize), o * elemSize);
    // Advance the output multi-index (row-major) and keep `src` in step.
    for (let a = rank - 1; a >= 0; a--) {
      idx[a]!++;
      src += strideOfOut[a]!;
      if (idx[a]! < outShape[a]!) break;
      src -= strideOfOut[a]! * outShape[a]!;
      idx[a] = 0;
    }
  }
  return out;
}

/** numpy broadcasting of two shapes, or undefined when they do not broadcast. */
export function broadcastShapes(a: readonly number[], b: readonly number[]): number[] | undefined {
  const rank = Math.max(a.length, b.length);
  const out: number[] = [];
  for (let i = 0; i < rank; i++) {
    const da = a[a.length - rank + i] ?? 1;
    const db = b[b.length - rank + i] ?? 1;
    if (da === db || db === 1) out.push(da);
    else if (da === 1) out.push(db);
    else return undefined;
  }
  return out;
}

/** Reads numeric constant data as float64 values (int64 via BigInt, exact below 2^53). */
export function readNumbers(data: Uint8Array, dtype: DType): number[] {
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const size = dtypeSize(dtype);
  const n = size ? data.byteLength / size : 0;
  const out = new Array<number>(n);
  for (let i = 0; i < n; i++) {
    switch (dtype) {
      case 'float32': out[i] = view.getFloat32(i * 4, true); break;
      case 'float64': out[i] = view.getFloat64(i * 8, true); break;
      case 'int8': out[i] = view.getInt8(i); break;
      case 'uint8': case 'bool': out[i] = view.getUint8(i); break;
      case 'int16': out[i] = view.getInt16(i * 2, true); break;
      case 'uint16': out[i] = view.getUint16(i * 2, true); break;
      case 'int32': out[i] = view.getInt32(i * 4, true); break;
      case 'uint32': out[i] = view.getUint32(i * 4, true); break;
      case 'int64': out[i] = Number(view.getBigInt64(i * 8, true)); break;
      case 'uint64': out[i] = Number(view.getBigUint64(i * 8, true)); break;
      default: throw new InvalidModelError(`cannot read a ${dtype} constant as numbers: use a numeric type`);
    }
  }
  return out;
}

export function float32Bytes(values: ArrayLike<number>): Uint8Array {
  return new Uint8Array(Float32Array.from(values).buffer);
}

export function int64Bytes(values: readonly number[]): Uint8Array {
  return new Uint8Array(BigInt64Array.from(values.map((v) => BigInt(v))).buffer);
}

/** Writes numbers as constant data of `dtype` (integers truncated toward zero, as a C cast does). */
export function numbersToBytes(values: readonly number[], dtype: DType): Uint8Array {
  const size = dtypeSize(dtype);
  if (!size) throw new InvalidModelError(`cannot write numbers as ${dtype}: use a numeric type`);
  const out = new Uint8Array(values.length * size);
  const view = new DataView(out.buffer);
  values.forEach((v, i) => {
    const t = Number.isFinite(v) ? Math.trunc(v) : 0;
    switch (dtype) {
      case 'float32': view.setFloat32(i * 4, v, true); break;
      case 'float64': view.setFloat64(i * 8, v, true); break;
      case 'bool': view.setUint8(i, v !== 0 ? 1 : 0); break;
      case 'int8': view.setInt8(i, t); break;
      case 'uint8': view.setUint8(i, t); break;
      case 'int16': view.setInt16(i * 2, t, true); break;
      case 'uint16': view.setUint16(i * 2, t, true); break;
      case 'int32': view.setInt32(i * 4, t, true); break;
      case 'uint32': view.setUint32(i * 4, t, true); break;
      case 'int64': view.setBigInt64(i * 8, BigInt(t), true); break;
      case 'uint64': view.setBigUint64(i * 8, BigInt.asUintN(64, BigInt(t)), true); break;
      default: throw new InvalidModelError(`cannot write numbers as ${dtype}: use a numeric type`);
    }
  });
  return out;
}

/** Concatenates row-major constant data along `axis` (shapes agree except on that axis). */
export function concatBytes(parts: { data: Uint8Array; shape: readonly number[] }[], axis: number, elemSize: number): Uint8Array {
  const outer = elementCount(parts[0]!.shape.slice(0, axis));
  const chunks = parts.map((p) => elementCount(p.shape.slice(axis)) * elemSize);
  const out = new Uint8Array(outer * chunks.reduce((a, b) => a + b, 0));
  let o = 0;
  for (let i = 0; i < outer; i++) {
    parts.forEach((p, k) => {
      out.set(p.data.subarray(i * chunks[k]!, (i + 1) * chunks[k]!), o);
      o += chunks[k]!;
    });
  }
  return out;
}
