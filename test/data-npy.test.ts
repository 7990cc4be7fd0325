/**
 * .npy / .npz reading and writing. Files written by real NumPy (2.x, np.save / np.savez /
 * np.savez_compressed / np.lib.format.write_array, embedded below as base64) and the real
 * onnx-mnist test_data archives are the external check; round trips through our own writer
 * cover every dtype; malformed files must fail with a one-line DataError.
 */
import { describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DataError, ExitCode, FileError } from '../src/errors.ts';
import { crc32, encodeNpy, encodeNpz, parseNpy, parseNpz, readNpy, readNpz, writeNpy, writeNpz, type NpyDType } from '../src/data/npy.ts';
import { sharedPath } from './helpers/shared.ts';
import type { TensorValue } from '../src/reference/tensor-value.ts';

const b64 = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'base64'));

// np.save(buf, np.array([[1.5,-2.25,3.0],[4.0,5.0,-6.5]], dtype='>f8'))
const NUMPY_BIG_ENDIAN_F8 =
  'k05VTVBZAQB2AHsnZGVzY3InOiAnPmY4JywgJ2ZvcnRyYW5fb3JkZXInOiBGYWxzZSwgJ3NoYXBlJzogKDIsIDMpLCB9ICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgIAo/+AAAAAAAAMACAAAAAAAAQAgAAAAAAABAEAAAAAAAAEAUAAAAAAAAwBoAAAAAAAA=';
// np.savez_compressed(buf, a=np.arange(12,dtype=np.int16).reshape(3,4)-5, flags=np.array([True,False,True]))
const NUMPY_SAVEZ_COMPRESSED =
  'UEsDBC0AAAAIAAAAIQCApUcL//////////8FABQAYS5ucHkBABAAmAAAAAAAAABfAAAAAAAAAJvsF+obEMnIUMZQrZ6SWpxcpG6loG6TaaSuo6Cell9UUpSYF59flJIKEndLzClOBYoXZyQWpAL5GsY6CiaaOgq1CmQDrt////z/+//f////GRgYGZgYmBlYGFgZ2BgAUEsDBC0AAAAIAAAAIQAWk4y7//////////8JABQAZmxhZ3MubnB5AQAQAIMAAAAAAAAARwAAAAAAAACb7BfqGxDJyFDGUK2eklqcXKRupaBek2SorqOgnpZfVFKUmBefX5SSChJ3S8wpTgWKF2ckFqQC+RrGOpo6CrUKFAAuRgZGAFBLAQItAy0AAAAIAAAAIQCApUcLXwAAAJgAAAAFAAAAAAAAAAAAAACAAQAAAABhLm5weVBLAQItAy0AAAAIAAAAIQAWk4y7RwAAAIMAAAAJAAAAAAAAAAAAAACAAZYAAABmbGFncy5ucHlQSwUGAAAAAAIAAgBqAAAAGAEAAAAA';
// np.savez(buf, x=np.array(3.5, dtype=np.float32))  (0-d array, stored entry, zip64 local header)
const NUMPY_SAVEZ_SCALAR =
  'UEsDBC0AAAAAAAAAIQBhw1sz//////////8FABQAeC5ucHkBABAAhAAAAAAAAACEAAAAAAAAAJNOVU1QWQEAdgB7J2Rlc2NyJzogJzxmNCcsICdmb3J0cmFuX29yZGVyJzogRmFsc2UsICdzaGFwZSc6ICgpLCB9ICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAKAABgQFBLAQItAy0AAAAAAAAAIQBhw1szhAAAAIQAAAAFAAAAAAAAAAAAAACAAQAAAAB4Lm5weVBLBQYAAAAAAQABADMAAAC7AAAAAAA=';
// np.lib.format.write_array(buf, np.array([7,-8,9], dtype='<i8'), version=(2,0))
const NUMPY_V2_I8 =
  'k05VTVBZAgB0AAAAeydkZXNjcic6ICc8aTgnLCAnZm9ydHJhbl9vcmRlcic6IEZhbHNlLCAnc2hhcGUnOiAoMywpLCB9ICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgIAoHAAAAAAAAAPj/////////CQAAAAAAAAA=';
// np.lib.format.write_array(buf, np.array([1,2,3], dtype='<u4'), version=(3,0))
const NUMPY_V3_U4 =
  'k05VTVBZAwB0AAAAeydkZXNjcic6ICc8dTQnLCAnZm9ydHJhbl9vcmRlcic6IEZhbHNlLCAnc2hhcGUnOiAoMywpLCB9ICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgIAoBAAAAAgAAAAMAAAA=';
// np.save(buf, np.asfortranarray(np.ones((2,3), dtype='<f4')))
const NUMPY_FORTRAN =
  'k05VTVBZAQB2AHsnZGVzY3InOiAnPGY0JywgJ2ZvcnRyYW5fb3JkZXInOiBUcnVlLCAnc2hhcGUnOiAoMiwgMyksIH0gICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgIAoAAIA/AACAPwAAgD8AAIA/AACAPwAAgD8=';
// np.save(buf, np.array([1+2j], dtype='<c8'))
const NUMPY_COMPLEX =
  'k05VTVBZAQB2AHsnZGVzY3InOiAnPGM4JywgJ2ZvcnRyYW5fb3JkZXInOiBGYWxzZSwgJ3NoYXBlJzogKDEsKSwgfSAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgIAoAAIA/AAAAQA==';

function expectDataError(fn: () => unknown, pattern: RegExp): void {
  let err: unknown;
  try {
    fn();
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(DataError);
  expect((err as DataError).exitCode).toBe(ExitCode.BAD_DATA);
  expect((err as Error).message).not.toContain('\n');
  expect((err as Error).message).toMatch(pattern);
}

describe('reading files NumPy wrote', () => {
  it('big-endian float64 is byte-swapped to the right values', () => {
    const v = parseNpy(b64(NUMPY_BIG_ENDIAN_F8));
    expect(v.dtype).toBe('float64');
    expect(v.shape).toEqual([2, 3]);
    expect([...v.data]).toEqual([1.5, -2.25, 3.0, 4.0, 5.0, -6.5]);
  });

  it('format version 2.0 (int64) and 3.0 (uint32) headers', () => {
    const v2 = parseNpy(b64(NUMPY_V2_I8));
    expect(v2.dtype).toBe('int64');
    expect([...v2.data]).toEqual([7n, -8n, 9n]);
    const v3 = parseNpy(b64(NUMPY_V3_U4));
    expect(v3.dtype).toBe('uint32');
    expect(v3.shape).toEqual([3]);
    expect([...v3.data]).toEqual([1, 2, 3]);
  });

  it('savez_compressed archive: deflated entries, zip64 headers, int16 and bool arrays', () => {
    const arrays = parseNpz(b64(NUMPY_SAVEZ_COMPRESSED));
    expect([...arrays.keys()]).toEqual(['a', 'flags']);
    const a = arrays.get('a')!;
    expect(a.dtype).toBe('int16');
    expect(a.shape).toEqual([3, 4]);
    expect([...a.data]).toEqual([-5, -4, -3, -2, -1, 0, 1, 2, 3, 4, 5, 6]);
    const flags = arrays.get('flags')!;
    expect(flags.dtype).toBe('bool');
    expect([...flags.data]).toEqual([1, 0, 1]);
  });

  it('savez archive with a 0-d array (stored entry)', () => {
    const x = parseNpz(b64(NUMPY_SAVEZ_SCALAR)).get('x')!;
    expect(x.shape).toEqual([]);
    expect(x.dtype).toBe('float32');
    expect([...x.data]).toEqual([3.5]);
  });

  it('the onnx-mnist test_data archives: int32 pixels [1,784] and a one-hot label for 5, 0, 4', () => {
    const labels = [5, 0, 4];
    for (let k = 0; k < 3; k++) {
      const arrays = readNpz(sharedPath('models', 'onnx-mnist', 'test_data', `test_data_${k}.npz`));
      const inputs = arrays.get('inputs')!;
      const outputs = arrays.get('outputs')!;
      expect(inputs.dtype).toBe('int32');
      expect(inputs.shape).toEqual([1, 784]);
      const pixels = [...(inputs.data as Int32Array)];
      expect(Math.min(...pixels)).toBeGreaterThanOrEqual(0);
      expect(Math.max(...pixels)).toBeLessThanOrEqual(255);
      expect(pixels.filter((p) => p > 0).length).toBeGreaterThan(50); // a drawn digit, not a blank image
      expect(outputs.shape).toEqual([1, 10]);
      const oneHot = [...(outputs.data as Int32Array)];
      expect(oneHot.reduce((s, x) => s + x, 0)).toBe(1);
      expect(oneHot.indexOf(1)).toBe(labels[k]);
    }
  });
});

describe('round trips through our writer', () => {
  const samples: Record<NpyDType, number[] | bigint[]> = {
    float32: [0, -1.5, 3.25, 1e-30, -Infinity],
    float64: [Math.PI, -1e300, 0.1],
    int8: [-128, 0, 127],
    uint8: [0, 200, 255],
    int16: [-32768, 5, 32767],
    uint16: [0, 65535],
    int32: [-2147483648, 7, 2147483647],
    uint32: [0, 4294967295],
    int64: [-(2n ** 63n), 0n, 2n ** 63n - 1n],
    uint64: [0n, 2n ** 64n - 1n],
    bool: [1, 0, 1, 1],
  };
  const make = (dtype: NpyDType, values: number[] | bigint[]): TensorValue => {
    const ctor = {
      float32: Float32Array, float64: Float64Array, int8: Int8Array, uint8: Uint8Array, int16: Int16Array, uint16: Uint16Array,
      int32: Int32Array, uint32: Uint32Array, int64: BigInt64Array, uint64: BigUint64Array, bool: Uint8Array,
    }[dtype] as unknown as { from(v: unknown[]): TensorValue['data'] };
    return { dtype, shape: [values.length], data: ctor.from(values) };
  };

  it.each(Object.keys(samples) as NpyDType[])('%s through .npy', (dtype) => {
    const v = make(dtype, samples[dtype]);
    const back = parseNpy(encodeNpy(v));
    expect(back.dtype).toBe(dtype);
    expect(back.shape).toEqual(v.shape);
    expect([...back.data]).toEqual([...v.data]);
  });

  it('header is 64-byte aligned and version 1.0, as NumPy writes it', () => {
    const bytes = encodeNpy({ dtype: 'float32', shape: [2, 3], data: new Float32Array(6) });
    expect(bytes[6]).toBe(1);
    const headerLen = bytes[8]! | (bytes[9]! << 8);
    expect((10 + headerLen) % 64).toBe(0);
    expect(bytes[10 + headerLen - 1]).toBe(0x0a);
    expect(new TextDecoder().decode(bytes.subarray(10, 10 + headerLen))).toContain("'shape': (2, 3)");
  });

  it('.npz stored and deflated, via files on disk', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tinyml-npz-'));
    const arrays = { x: make('float32', samples.float32), y: { dtype: 'int8' as const, shape: [2, 2], data: Int8Array.from([1, -2, 3, -4]) } };
    for (const compress of [false, true]) {
      const path = join(dir, `a${compress ? 'c' : 's'}.npz`);
      writeNpz(path, arrays, { compress });
      const back = readNpz(path);
      expect([...back.keys()]).toEqual(['x', 'y']);
      expect([...back.get('x')!.data]).toEqual([...arrays.x.data]);
      expect(back.get('y')!.shape).toEqual([2, 2]);
      expect([...back.get('y')!.data]).toEqual([1, -2, 3, -4]);
    }
    const p = join(dir, 'one.npy');
    writeNpy(p, arrays.y);
    expect([...readNpy(p).data]).toEqual([1, -2, 3, -4]);
  });

  it('crc32 matches the standard check value', () => {
    expect(crc32(new TextEncoder().encode('123456789'))).toBe(0xcbf43926);
  });
});

describe('malformed files fail with one line', () => {
  it('Fortran order', () => expectDataError(() => parseNpy(b64(NUMPY_FORTRAN)), /Fortran .*ascontiguousarray/));
  it('unsupported dtype (complex64)', () => expectDataError(() => parseNpy(b64(NUMPY_COMPLEX)), /dtype '<c8'.*astype/));
  it('no magic', () => expectDataError(() => parseNpy(new TextEncoder().encode('hello world, not numpy')), /not a NumPy \.npy file/));
  it('truncated data', () => {
    const good = encodeNpy({ dtype: 'float32', shape: [4], data: new Float32Array(4) });
    expectDataError(() => parseNpy(good.subarray(0, good.length - 3)), /16 bytes of data but holds 13.*truncated/);
  });
  it('truncated header', () => {
    const good = encodeNpy({ dtype: 'float32', shape: [4], data: new Float32Array(4) });
    expectDataError(() => parseNpy(good.subarray(0, 30)), /truncated inside its \.npy header/);
  });
  it('unknown format version', () => {
    const bad = encodeNpy({ dtype: 'uint8', shape: [1], data: new Uint8Array(1) });
    bad[6] = 9;
    expectDataError(() => parseNpy(bad), /format version 9/);
  });
  it('header without a shape', () => {
    const bad = encodeNpy({ dtype: 'uint8', shape: [1], data: new Uint8Array(1) });
    const text = new TextDecoder().decode(bad);
    const at = text.indexOf("'shape'");
    bad.set(new TextEncoder().encode("'shapX'"), at);
    expectDataError(() => parseNpy(bad), /malformed \.npy header \(no 'shape'\)/);
  });
  it('not a zip', () => expectDataError(() => parseNpz(new Uint8Array(100).fill(7)), /not a valid \.npz .*end of central directory/));
  it('zip entry with a bad CRC', () => {
    const z = encodeNpz({ x: { dtype: 'uint8', shape: [3], data: Uint8Array.from([1, 2, 3]) } });
    z[z.indexOf(0x93) + 128] ^= 0xff; // flip a data byte inside the stored .npy
    expectDataError(() => parseNpz(z), /entry 'x\.npy' fails its CRC-32 check/);
  });
  it('deflated entry that does not inflate', () => {
    const z = encodeNpz({ x: { dtype: 'float32', shape: [64], data: new Float32Array(64) } }, { compress: true });
    for (let i = 40; i < 50; i++) z[i] = 0xff;
    expectDataError(() => parseNpz(z), /entry 'x\.npy' (does not inflate|fails its CRC|holds)/);
  });
  it('missing file is a FileError', () => {
    let err: unknown;
    try {
      readNpy(join(tmpdir(), 'definitely-not-here.npy'));
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(FileError);
    expect((err as Error).message).toMatch(/not found/);
  });
  it('a file on disk with garbage names the path', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tinyml-npy-'));
    const p = join(dir, 'bad.npy');
    writeFileSync(p, 'garbage');
    expectDataError(() => readNpy(p), new RegExp(`${p.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')} is not a NumPy`));
  });
});
