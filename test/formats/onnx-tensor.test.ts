/**
 * TensorProto decoding: raw_data and every typed field ONNX uses (with its packing of narrow
 * types into int32_data), checked against values written here and encoded with onnx-proto, plus
 * the bounds checks (declared dims vs stored data).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import onnxProto from 'onnx-proto';
import { describe, expect, it } from 'vitest';
import { InvalidModelError, UnsupportedError } from '../../src/errors.ts';
import { readTensorProtoFile, tensorFromProto } from '../../src/formats/onnx/tensor.ts';
import { MODELS } from '../helpers/shared.ts';

const { onnx } = onnxProto;

/** Encodes and decodes through protobuf, as a file would be. */
function roundTrip(t: onnxProto.onnx.ITensorProto): Uint8Array {
  return onnx.TensorProto.encode(onnx.TensorProto.create(t)).finish();
}

describe('TensorProto -> IR bytes', () => {
  it('float_data', () => {
    const t = readTensorProtoFile(roundTrip({ name: 'f', dims: [2, 2], dataType: 1, floatData: [1.5, -2, 0.25, 3e38] }));
    expect(t).toMatchObject({ name: 'f', dtype: 'float32', shape: [2, 2] });
    expect(Array.from(new Float32Array(t.data.buffer))).toEqual([1.5, -2, 0.25, Math.fround(3e38)]);
  });

  it('raw_data is taken as little-endian bytes', () => {
    const raw = new Uint8Array(new Int16Array([1, -2, 300]).buffer);
    const t = readTensorProtoFile(roundTrip({ dims: [3], dataType: 5, rawData: raw }));
    expect(t.dtype).toBe('int16');
    expect(Array.from(new Int16Array(t.data.buffer))).toEqual([1, -2, 300]);
  });

  it('int8, uint8 and bool packed in int32_data', () => {
    const i8 = readTensorProtoFile(roundTrip({ dims: [4], dataType: 3, int32Data: [-128, -1, 0, 127] }));
    expect(Array.from(new Int8Array(i8.data.buffer))).toEqual([-128, -1, 0, 127]);
    const u8 = readTensorProtoFile(roundTrip({ dims: [3], dataType: 2, int32Data: [0, 128, 255] }));
    expect(Array.from(u8.data)).toEqual([0, 128, 255]);
    const b = readTensorProtoFile(roundTrip({ dims: [3], dataType: 9, int32Data: [1, 0, 1] }));
    expect(b.dtype).toBe('bool');
    expect(Array.from(b.data)).toEqual([1, 0, 1]);
  });

  it('int16, uint16 and float16 bit patterns in int32_data', () => {
    const i16 = readTensorProtoFile(roundTrip({ dims: [2], dataType: 5, int32Data: [-32768, 32767] }));
    expect(Array.from(new Int16Array(i16.data.buffer))).toEqual([-32768, 32767]);
    const f16 = readTensorProtoFile(roundTrip({ dims: [1], dataType: 10, int32Data: [0x3c00] }));
    expect(f16.dtype).toBe('float16');
    expect(Array.from(new Uint16Array(f16.data.buffer))).toEqual([0x3c00]);
  });

  it('int64_data (beyond 2^32 and negative), exact', () => {
    const t = readTensorProtoFile(roundTrip({ dims: [3], dataType: 7, int64Data: [-1, 5000000000, -9007199254740991] }));
    expect(Array.from(new BigInt64Array(t.data.buffer))).toEqual([-1n, 5000000000n, -9007199254740991n]);
  });

  it('int32, double_data, uint32/uint64 in uint64_data', () => {
    const i32 = readTensorProtoFile(roundTrip({ dims: [2], dataType: 6, int32Data: [-2147483648, 7] }));
    expect(Array.from(new Int32Array(i32.data.buffer))).toEqual([-2147483648, 7]);
    const f64 = readTensorProtoFile(roundTrip({ dims: [2], dataType: 11, doubleData: [0.1, -1e300] }));
    expect(Array.from(new Float64Array(f64.data.buffer))).toEqual([0.1, -1e300]);
    const u32 = readTensorProtoFile(roundTrip({ dims: [1], dataType: 12, uint64Data: [4294967295] }));
    expect(Array.from(new Uint32Array(u32.data.buffer))).toEqual([4294967295]);
    const u64 = readTensorProtoFile(roundTrip({ dims: [1], dataType: 13, uint64Data: [123456789012] }));
    expect(Array.from(new BigUint64Array(u64.data.buffer))).toEqual([123456789012n]);
  });

  it('a scalar (no dims) has one element', () => {
    const t = readTensorProtoFile(roundTrip({ dataType: 1, floatData: [4] }));
    expect(t.shape).toEqual([]);
    expect(t.data.length).toBe(4);
  });

  it('a node-test file: the values ONNX wrote', () => {
    const t = readTensorProtoFile(new Uint8Array(readFileSync(join(MODELS, 'onnx-node-tests', 'test_quantizelinear', 'test_data_set_0', 'output_0.pb'))));
    // onnx/backend/test/case/node/quantizelinear.py: x=[0,2,3,1000,-254,-1000], scale 2, zp 128.
    expect(t).toMatchObject({ dtype: 'uint8', shape: [6] });
    expect(Array.from(t.data)).toEqual([128, 129, 130, 255, 1, 0]);
  });
});

describe('TensorProto bounds checks', () => {
  const expectInvalid = (t: onnxProto.onnx.ITensorProto, pattern: RegExp): void => {
    let err: unknown;
    try {
      readTensorProtoFile(roundTrip(t), 'x.pb');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(InvalidModelError);
    expect((err as Error).message).toMatch(pattern);
  };

  it('raw_data shorter or longer than the dims claim', () => {
    expectInvalid({ dims: [2, 3], dataType: 1, rawData: new Uint8Array(20) }, /\[2,3\] \(24 bytes of float32\) but holds 20 bytes/);
    expectInvalid({ dims: [1], dataType: 1, rawData: new Uint8Array(8) }, /holds 8 bytes/);
  });

  it('a typed field with the wrong count', () => {
    expectInvalid({ dims: [5], dataType: 1, floatData: [1, 2] }, /5 elements.*float_data holds 2 values/);
    expectInvalid({ dims: [2], dataType: 3, int32Data: [1, 2, 3] }, /int32_data holds 3 values/);
  });

  it('dims claiming more elements than memory can hold, or negative dims', () => {
    expectInvalid({ dims: [100000, 100000, 100000], dataType: 1, rawData: new Uint8Array(4) }, /more than memory can hold/);
    expectInvalid({ dims: [-1], dataType: 1, rawData: new Uint8Array(4) }, /dimension -1/);
  });

  it('no data type, or not a TensorProto at all', () => {
    expect(() => readTensorProtoFile(roundTrip({ dims: [1], floatData: [1] }), 'x.pb')).toThrowError(InvalidModelError);
    expect(() => readTensorProtoFile(new Uint8Array([0xff, 0xff, 0xff, 0xff, 0x0f]), 'x.pb')).toThrowError(InvalidModelError);
    expect(() => readTensorProtoFile(new Uint8Array(0), 'x.pb')).toThrowError(/empty/);
  });

  it('strings and external data are UnsupportedError with a fix', () => {
    expect(() => tensorFromProto({ dims: [1], dataType: 8, stringData: [new Uint8Array([65])] })).toThrowError(UnsupportedError);
    expect(() => tensorFromProto({ name: 'w', dims: [1], dataType: 1, dataLocation: 1, externalData: [{ key: 'location', value: 'w.bin' }] })).toThrowError(
      /external file.*save_as_external_data=False/,
    );
  });
});
