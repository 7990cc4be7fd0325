/**
 * NumPy .npy and .npz files: read and write, no Python needed.
 *
 * .npy (format versions 1.0, 2.0 and 3.0): the magic `\x93NUMPY`, a version, a header length
 * (uint16 for v1, uint32 for v2/v3), a Python dict literal `{'descr': '<f4', 'fortran_order':
 * False, 'shape': (1, 784), }` and the raw elements. We take the numeric dtypes f4 f8 i1 u1 i2 u2
 * i4 u4 i8 u8 and b1 in either byte order, C order only. Values come back as a TensorValue in
 * native (little-endian) typed arrays; we always write little-endian, version 1.0 when the header
 * fits, 64-byte aligned like NumPy.
 *
 * .npz is a zip archive of .npy entries (`np.savez` stores them, `np.savez_compressed` deflates
 * them). The zip central directory is parsed here, including the zip64 extra fields NumPy writes,
 * and each entry's CRC-32 is checked.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { inflateRawSync, deflateRawSync } from 'node:zlib';
import { DataError, FileError } from '../errors.ts';
import type { DType } from '../ir/graph.ts';
import type { TensorValue, TypedArray } from '../reference/tensor-value.ts';

/** The dtypes .npy files may hold here. */
export type NpyDType = 'float32' | 'float64' | 'int8' | 'uint8' | 'int16' | 'uint16' | 'int32' | 'uint32' | 'int64' | 'uint64' | 'bool';

const DESCR_TO_DTYPE: Record<string, NpyDType> = {
  f4: 'float32',
  f8: 'float64',
  i1: 'int8',
  u1: 'uint8',
  i2: 'int16',
  u2: 'uint16',
  i4: 'int32',
  u4: 'uint32',
  i8: 'int64',
  u8: 'uint64',
  b1: 'bool',
};

const DTYPE_TO_DESCR: Record<NpyDType, string> = {
  float32: '<f4',
  float64: '<f8',
  int8: '|i1',
  uint8: '|u1',
  int16: '<i2',
  uint16: '<u2',
  int32: '<i4',
  uint32: '<u4',
  int64: '<i8',
  uint64: '<u8',
  bool: '|b1',
};

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY

/** Largest array we accept from a file, so a corrupt header cannot ask for a huge allocation. */
export const MAX_ARRAY_BYTES = 1 << 30;

export function isNpyDType(d: DType): d is NpyDType {
  return d in DTYPE_TO_DESCR;
}

export function npyElementSize(d: NpyDType): number {
  return Number(DTYPE_TO_DESCR[d].slice(2));
}

/** A zeroed typed array of the dtype (bool as Uint8Array of 0/1). */
export function allocTyped(dtype: NpyDType, count: number): TypedArray {
  switch (dtype) {
    case 'float32': return new Float32Array(count);
    case 'float64': return new Float64Array(count);
    case 'int8': return new Int8Array(count);
    case 'uint8': case 'bool': return new Uint8Array(count);
    case 'int16': return new Int16Array(count);
    case 'uint16': return new Uint16Array(count);
    case 'int32': return new Int32Array(count);
    case 'uint32': return new Uint32Array(count);
    case 'int64': return new BigInt64Array(count);
    case 'uint64': return new BigUint64Array(count);
  }
}

/**
 * Typed array of `dtype` over little-endian raw bytes (copied, so alignment never matters).
 * Throws DataError when the byte count is not `count * size`.
 */
export function typedFromBytes(dtype: NpyDType, bytes: Uint8Array, what = 'data'): TypedArray {
  const size = npyElementSize(dtype);
  if (bytes.length % size !== 0) throw new DataError(`${what}: ${bytes.length} bytes is not a whole number of ${dtype} elements (${size} bytes each)`);
  const out = allocTyped(dtype, bytes.length / size);
  new Uint8Array(out.buffer).set(bytes);
  return out;
}

/** The raw little-endian bytes of a typed array (a view, not a copy). */
export function bytesOfTyped(data: TypedArray): Uint8Array {
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

// ---------------------------------------------------------------------------------------------
// .npy

/** Parses the bytes of a .npy file. `what` names the file in messages. */
export function parseNpy(bytes: Uint8Array, what = '.npy data'): TensorValue {
  if (bytes.length < 10 || MAGIC.some((b, i) => bytes[i] !== b)) {
    throw new DataError(`${what} is not a NumPy .npy file (no \\x93NUMPY magic): save it with numpy.save()`);
  }
  const major = bytes[6]!;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let headerLen: number;
  let headerStart: number;
  if (major === 1) {
    headerLen = view.getUint16(8, true);
    headerStart = 10;
  } else if (major === 2 || major === 3) {
    if (bytes.length < 12) throw new DataError(`${what} is truncated inside its .npy header: the file is incomplete, save it again`);
    headerLen = view.getUint32(8, true);
    headerStart = 12;
  } else {
    throw new DataError(`${what} is .npy format version ${major}.${bytes[7]}, which tinyml does not read: save it with numpy.save() (format 1.0-3.0)`);
  }
  const dataStart = headerStart + headerLen;
  if (dataStart > bytes.length) throw new DataError(`${what} is truncated inside its .npy header: the file is incomplete, save it again`);
  const header = new TextDecoder(major === 3 ? 'utf-8' : 'latin1').decode(bytes.subarray(headerStart, dataStart));
  const { dtype, littleEndian, fortran, shape } = parseHeader(header, what);
  if (fortran) {
    throw new DataError(`${what} is stored in Fortran (column-major) order: save a C-ordered array (numpy.save(path, numpy.ascontiguousarray(a)))`);
  }
  const size = npyElementSize(dtype);
  const count = shape.reduce((a, b) => a * b, 1);
  const expected = count * size;
  if (expected > MAX_ARRAY_BYTES) throw new DataError(`${what} declares shape (${shape.join(', ')}) (${expected} bytes), too large to load: the file is corrupt or not input data`);
  const available = bytes.length - dataStart;
  if (available !== expected) {
    throw new DataError(
      `${what} declares ${dtype} shape (${shape.join(', ')}) = ${expected} bytes of data but holds ${available}: the file is ${available < expected ? 'truncated' : 'corrupt'}, save it again`,
    );
  }
  const raw = bytes.slice(dataStart, dataStart + expected);
  if (!littleEndian && size > 1) {
    for (let i = 0; i < raw.length; i += size) raw.subarray(i, i + size).reverse();
  }
  const data = allocTyped(dtype, count);
  new Uint8Array(data.buffer).set(raw);
  return { dtype, shape, data };
}

interface NpyHeader {
  dtype: NpyDType;
  littleEndian: boolean;
  fortran: boolean;
  shape: number[];
}

function parseHeader(header: string, what: string): NpyHeader {
  const bad = (detail: string): DataError => new DataError(`${what} has a malformed .npy header (${detail}): save it again with numpy.save()`);
  const descrMatch = /['"]descr['"]\s*:\s*(['"])([^'"]*)\1/.exec(header);
  if (!descrMatch) {
    if (/['"]descr['"]\s*:\s*\[/.test(header)) throw new DataError(`${what} holds a structured (record) array: save a plain numeric array`);
    throw bad("no 'descr'");
  }
  const fortranMatch = /['"]fortran_order['"]\s*:\s*(True|False)/.exec(header);
  if (!fortranMatch) throw bad("no 'fortran_order'");
  const shapeMatch = /['"]shape['"]\s*:\s*\(([^)]*)\)/.exec(header);
  if (!shapeMatch) throw bad("no 'shape'");

  const descr = descrMatch[2]!;
  const order = descr[0]!;
  const code = '<>|='.includes(order) ? descr.slice(1) : descr;
  const dtype = DESCR_TO_DTYPE[code];
  if (!dtype) {
    throw new DataError(`${what} has dtype '${descr}', which tinyml does not read: convert it (a.astype(numpy.float32)) and save again`);
  }
  const shape: number[] = [];
  for (const part of shapeMatch[1]!.split(',')) {
    const s = part.trim().replace(/L$/, '');
    if (s === '') continue;
    if (!/^\d+$/.test(s)) throw bad(`shape entry '${s}'`);
    shape.push(Number(s));
  }
  return { dtype, littleEndian: order !== '>', fortran: fortranMatch[1] === 'True', shape };
}

function checkWritable(value: TensorValue, what: string): NpyDType {
  if (!isNpyDType(value.dtype)) throw new DataError(`${what}: dtype ${value.dtype} cannot be written to .npy by tinyml`);
  const count = value.shape.reduce((a, b) => a * b, 1);
  if (value.data.length !== count) throw new DataError(`${what}: ${value.data.length} elements do not fill shape [${value.shape.join(',')}]`);
  return value.dtype;
}

/** Encodes a value as a .npy file (little-endian, C order). */
export function encodeNpy(value: TensorValue): Uint8Array {
  const dtype = checkWritable(value, 'array');
  const shapeText = value.shape.length === 1 ? `(${value.shape[0]},)` : `(${value.shape.join(', ')})`;
  const dict = `{'descr': '${DTYPE_TO_DESCR[dtype]}', 'fortran_order': False, 'shape': ${shapeText}, }`;
  // Pad with spaces and a final newline so the data starts on a 64-byte boundary, as NumPy does.
  let version = 1;
  let prefix = 10;
  let total = Math.ceil((prefix + dict.length + 1) / 64) * 64;
  if (total - prefix > 0xffff) {
    version = 2;
    prefix = 12;
    total = Math.ceil((prefix + dict.length + 1) / 64) * 64;
  }
  const headerLen = total - prefix;
  const header = dict.padEnd(headerLen - 1, ' ') + '\n';
  const body = bytesOfTyped(value.data);
  const out = new Uint8Array(total + body.length);
  out.set(MAGIC, 0);
  out[6] = version;
  out[7] = 0;
  const view = new DataView(out.buffer);
  if (version === 1) view.setUint16(8, headerLen, true);
  else view.setUint32(8, headerLen, true);
  for (let i = 0; i < header.length; i++) out[prefix + i] = header.charCodeAt(i);
  out.set(body, total);
  return out;
}

export function readNpy(path: string): TensorValue {
  return parseNpy(readDataFile(path), path);
}

export function writeNpy(path: string, value: TensorValue): void {
  writeDataFile(path, encodeNpy(value));
}

// ---------------------------------------------------------------------------------------------
// .npz (zip)

const SIG_LOCAL = 0x04034b50;
const SIG_CENTRAL = 0x02014b50;
const SIG_EOCD = 0x06054b50;
const SIG_ZIP64_EOCD = 0x06064b50;
const SIG_ZIP64_LOCATOR = 0x07064b50;

interface ZipEntry {
  name: string;
  method: number;
  flags: number;
  crc: number;
  compressedSize: number;
  size: number;
  localOffset: number;
}

/** Entries of a zip archive, from its central directory. */
function readCentralDirectory(bytes: Uint8Array, what: string): ZipEntry[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const corrupt = (detail: string): DataError => new DataError(`${what} is not a valid .npz (zip) archive (${detail}): save it again with numpy.savez()`);
  // The end-of-central-directory record is in the last 22 + 65535 (comment) bytes.
  let eocd = -1;
  for (let i = bytes.length - 22; i >= Math.max(0, bytes.length - 22 - 0xffff); i--) {
    if (view.getUint32(i, true) === SIG_EOCD) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) throw corrupt('no end of central directory');
  let count = view.getUint16(eocd + 10, true);
  let cdSize = view.getUint32(eocd + 12, true);
  let cdOffset = view.getUint32(eocd + 16, true);
  if (count === 0xffff || cdSize === 0xffffffff || cdOffset === 0xffffffff) {
    const loc = eocd - 20;
    if (loc < 0 || view.getUint32(loc, true) !== SIG_ZIP64_LOCATOR) throw corrupt('zip64 locator missing');
    const z64 = Number(view.getBigUint64(loc + 8, true));
    if (z64 + 56 > bytes.length || view.getUint32(z64, true) !== SIG_ZIP64_EOCD) throw corrupt('zip64 end record missing');
    count = Number(view.getBigUint64(z64 + 32, true));
    cdSize = Number(view.getBigUint64(z64 + 40, true));
    cdOffset = Number(view.getBigUint64(z64 + 48, true));
  }
  if (cdOffset + cdSize > bytes.length) throw corrupt('central directory beyond the end of the file');
  const entries: ZipEntry[] = [];
  let p = cdOffset;
  for (let k = 0; k < count; k++) {
    if (p + 46 > bytes.length || view.getUint32(p, true) !== SIG_CENTRAL) throw corrupt(`central directory entry ${k} is damaged`);
    const flags = view.getUint16(p + 8, true);
    const method = view.getUint16(p + 10, true);
    const crc = view.getUint32(p + 16, true);
    let compressedSize = view.getUint32(p + 20, true);
    let size = view.getUint32(p + 24, true);
    const nameLen = view.getUint16(p + 28, true);
    const extraLen = view.getUint16(p + 30, true);
    const commentLen = view.getUint16(p + 32, true);
    let localOffset = view.getUint32(p + 42, true);
    if (p + 46 + nameLen + extraLen > bytes.length) throw corrupt(`central directory entry ${k} is damaged`);
    const name = new TextDecoder('utf-8').decode(bytes.subarray(p + 46, p + 46 + nameLen));
    // zip64 extra field: the 64-bit values for whichever 32-bit fields are saturated, in order.
    let e = p + 46 + nameLen;
    const extraEnd = e + extraLen;
    while (e + 4 <= extraEnd) {
      const id = view.getUint16(e, true);
      const len = view.getUint16(e + 2, true);
      if (id === 0x0001) {
        let q = e + 4;
        const next = (): number => {
          if (q + 8 > e + 4 + len) throw corrupt(`zip64 field of '${name}' is short`);
          const v = Number(view.getBigUint64(q, true));
          q += 8;
          return v;
        };
        if (size === 0xffffffff) size = next();
        if (compressedSize === 0xffffffff) compressedSize = next();
        if (localOffset === 0xffffffff) localOffset = next();
      }
      e += 4 + len;
    }
    entries.push({ name, method, flags, crc, compressedSize, size, localOffset });
    p = extraEnd + commentLen;
  }
  return entries;
}

function entryBytes(bytes: Uint8Array, entry: ZipEntry, what: string): Uint8Array {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const label = `${what} entry '${entry.name}'`;
  if (entry.flags & 1) throw new DataError(`${label} is encrypted: save the arrays without a password`);
  const lo = entry.localOffset;
  if (lo + 30 > bytes.length || view.getUint32(lo, true) !== SIG_LOCAL) {
    throw new DataError(`${label} has a damaged local header: the archive is corrupt, save it again`);
  }
  const start = lo + 30 + view.getUint16(lo + 26, true) + view.getUint16(lo + 28, true);
  if (start + entry.compressedSize > bytes.length) throw new DataError(`${label} is truncated: the archive is incomplete, save it again`);
  if (entry.size > MAX_ARRAY_BYTES) throw new DataError(`${label} claims ${entry.size} bytes, too large to load: the archive is corrupt`);
  const stored = bytes.subarray(start, start + entry.compressedSize);
  let data: Uint8Array;
  if (entry.method === 0) {
    data = stored;
  } else if (entry.method === 8) {
    try {
      data = new Uint8Array(inflateRawSync(stored, { maxOutputLength: Math.max(entry.size, 1) }));
    } catch (e) {
      throw new DataError(`${label} does not inflate (${(e as Error).message}): the archive is corrupt, save it again`);
    }
  } else {
    throw new DataError(`${label} uses zip compression method ${entry.method}: save with numpy.savez() or numpy.savez_compressed() (stored or deflate)`);
  }
  if (data.length !== entry.size) throw new DataError(`${label} holds ${data.length} bytes, its directory says ${entry.size}: the archive is corrupt, save it again`);
  if (crc32(data) !== entry.crc) throw new DataError(`${label} fails its CRC-32 check: the archive is corrupt, save it again`);
  return data;
}

/**
 * Parses a .npz archive. Keys are the array names as `np.savez` gives them (the entry name
 * without `.npy`), in archive order.
 */
export function parseNpz(bytes: Uint8Array, what = '.npz data'): Map<string, TensorValue> {
  if (bytes.length < 22) throw new DataError(`${what} is not a .npz archive (${bytes.length} bytes, too short for a zip): save it with numpy.savez()`);
  const out = new Map<string, TensorValue>();
  for (const entry of readCentralDirectory(bytes, what)) {
    if (entry.name.endsWith('/')) continue;
    const key = entry.name.endsWith('.npy') ? entry.name.slice(0, -4) : entry.name;
    out.set(key, parseNpy(entryBytes(bytes, entry, what), `${what} entry '${entry.name}'`));
  }
  if (out.size === 0) throw new DataError(`${what} holds no arrays: save at least one array with numpy.savez()`);
  return out;
}

/** Encodes arrays as a .npz archive; `compress` deflates entries like numpy.savez_compressed. */
export function encodeNpz(arrays: Map<string, TensorValue> | Record<string, TensorValue>, opts: { compress?: boolean } = {}): Uint8Array {
  const list = arrays instanceof Map ? [...arrays] : Object.entries(arrays);
  const locals: Uint8Array[] = [];
  const centrals: Uint8Array[] = [];
  let offset = 0;
  for (const [key, value] of list) {
    const name = new TextEncoder().encode(`${key}.npy`);
    const raw = encodeNpy(value);
    const body = opts.compress ? new Uint8Array(deflateRawSync(raw)) : raw;
    const crc = crc32(raw);
    const method = opts.compress ? 8 : 0;
    const local = new Uint8Array(30 + name.length + body.length);
    const lv = new DataView(local.buffer);
    lv.setUint32(0, SIG_LOCAL, true);
    lv.setUint16(4, 20, true);
    lv.setUint16(8, method, true);
    lv.setUint32(14, crc, true);
    lv.setUint32(18, body.length, true);
    lv.setUint32(22, raw.length, true);
    lv.setUint16(26, name.length, true);
    local.set(name, 30);
    local.set(body, 30 + name.length);
    const central = new Uint8Array(46 + name.length);
    const cv = new DataView(central.buffer);
    cv.setUint32(0, SIG_CENTRAL, true);
    cv.setUint16(4, 20, true);
    cv.setUint16(6, 20, true);
    cv.setUint16(10, method, true);
    cv.setUint32(16, crc, true);
    cv.setUint32(20, body.length, true);
    cv.setUint32(24, raw.length, true);
    cv.setUint16(28, name.length, true);
    cv.setUint32(42, offset, true);
    central.set(name, 46);
    locals.push(local);
    centrals.push(central);
    offset += local.length;
  }
  const cdSize = centrals.reduce((a, c) => a + c.length, 0);
  const eocd = new Uint8Array(22);
  const ev = new DataView(eocd.buffer);
  ev.setUint32(0, SIG_EOCD, true);
  ev.setUint16(8, list.length, true);
  ev.setUint16(10, list.length, true);
  ev.setUint32(12, cdSize, true);
  ev.setUint32(16, offset, true);
  const out = new Uint8Array(offset + cdSize + 22);
  let p = 0;
  for (const part of [...locals, ...centrals, eocd]) {
    out.set(part, p);
    p += part.length;
  }
  return out;
}

export function readNpz(path: string): Map<string, TensorValue> {
  return parseNpz(readDataFile(path), path);
}

export function writeNpz(path: string, arrays: Map<string, TensorValue> | Record<string, TensorValue>, opts: { compress?: boolean } = {}): void {
  writeDataFile(path, encodeNpz(arrays, opts));
}

// ---------------------------------------------------------------------------------------------

let crcTable: Uint32Array | undefined;

/** CRC-32 (IEEE 802.3, the zip checksum). */
export function crc32(bytes: Uint8Array): number {
  if (!crcTable) {
    crcTable = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      crcTable[n] = c >>> 0;
    }
  }
  let crc = 0xffffffff;
  for (let i = 0; i < bytes.length; i++) crc = crcTable[(crc ^ bytes[i]!) & 0xff]! ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

/** Reads a whole data file; FileError (one line) when it is missing, a folder or unreadable. */
export function readDataFile(path: string): Uint8Array {
  try {
    return new Uint8Array(readFileSync(path));
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new FileError(`data file ${path} not found: check the path`);
    if (code === 'EISDIR') throw new FileError(`${path} is a folder: pass a data file (.npy, .npz or .bin)`);
    throw new FileError(`cannot read ${path} (${code ?? 'error'}): check its permissions`);
  }
}

export function writeDataFile(path: string, bytes: Uint8Array): void {
  try {
    writeFileSync(path, bytes);
  } catch (e) {
    throw new FileError(`cannot write ${path} (${(e as NodeJS.ErrnoException).code ?? 'error'}): check that its folder exists and is writable`);
  }
}
