/**
 * The TFLite reader accepts what TensorFlow Lite Micro accepts. Each case below is a field TFLM
 * reads loosely or not at all (micro_allocator.cc InitializeTfLiteTensorFromFlatbuffer,
 * flatbuffer_conversions.cc, micro_interpreter.cc), and tinyml must read it the same way and
 * say so in graph.warnings; the checks TFLM does make (a buffer shorter than its shape, an
 * unknown tensor type, a custom op without a name, ...) still refuse the file.
 *
 * The headline case is TFLM's own person-detection defect, rebuilt from MLPerf Tiny KWS with
 * the project's TFLite writer (test/helpers/mismatched-qdim.ts): inspect, infer, build for the
 * emulated board and the TFLM sketch all work, and the int8 reference still equals TFLM's
 * golden outputs of the original model.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Builder } from 'flatbuffers';
import { beforeAll, describe, expect, it } from 'vitest';
import { InvalidModelError } from '../../src/errors.ts';
import { loadModel } from '../../src/formats/load.ts';
import { FlatbufferReader } from '../../src/formats/tflite/flatbuffer-reader.ts';
import { importTflite } from '../../src/formats/tflite/import.ts';
import { optionsUnionType } from '../../src/formats/tflite/tables.ts';
import { elementCount } from '../../src/ir/graph.ts';
import { decodeBytes } from '../../src/reference/int8/common.ts';
import { runInt8 } from '../../src/reference/int8/index.ts';
import { runCli } from '../helpers/cli.ts';
import { writeMismatchedQdimModel } from '../helpers/mismatched-qdim.ts';
import { GOLDEN } from '../helpers/shared.ts';

/** quantized_dimension (field 6 of QuantizationParameters) of tensor i, read from the raw bytes. */
function declaredQuantizedDimension(bytes: Uint8Array, tensor: number): number {
  const r = new FlatbufferReader(bytes, 'fixture');
  const t = r.root().tables(2).at(0).tables(0).at(tensor);
  return t.table(4)!.i32(6);
}

describe('a per-channel bias whose quantized_dimension does not fit its rank (TFLM person-detection model)', () => {
  let fixture: { path: string; biases: number[] };
  beforeAll(() => {
    fixture = writeMismatchedQdimModel();
  });

  it('the fixture really declares dimension 3 on rank-1 biases', () => {
    const bytes = new Uint8Array(readFileSync(fixture.path));
    for (const b of fixture.biases) expect(declaredQuantizedDimension(bytes, b)).toBe(3);
  });

  it('imports, reads the biases along dimension 0 and says so in one warning', () => {
    const g = loadModel(fixture.path);
    for (const b of fixture.biases) {
      expect(g.tensors[b]!.shape).toHaveLength(1);
      expect(g.tensors[b]!.quant!.axis).toBe(0);
    }
    const w = g.warnings.filter((x) => x.includes('quantized_dimension'));
    expect(w).toHaveLength(1);
    expect(w[0]).toContain(`tensors ${fixture.biases.join(', ')} declare a quantized_dimension that does not fit the shape`);
    expect(w[0]).toContain('dimension 3 of a rank-1 tensor, read along dimension 0');
  });

  it('the int8 reference still equals the TFLM golden outputs of the original model (TFLM never reads the field)', () => {
    const g = loadModel(fixture.path);
    const meta = JSON.parse(readFileSync(join(GOLDEN, 'mlperf-tiny-kws/meta.json'), 'utf8')) as { cases: unknown[] };
    expect(meta.cases.length).toBeGreaterThan(0);
    meta.cases.forEach((_, k) => {
      const dir = join(GOLDEN, 'mlperf-tiny-kws', `case_${k}`);
      const t = g.tensors[g.inputs[0]!.tensor]!;
      const input = decodeBytes(t.dtype, new Uint8Array(readFileSync(join(dir, 'input_0.bin'))), elementCount(t.shape));
      const out = runInt8(g, [{ dtype: t.dtype, shape: t.shape, data: input }]).outputs[0]!;
      expect(Buffer.from(out.data.buffer, out.data.byteOffset, out.data.byteLength).equals(readFileSync(join(dir, 'output_0.bin'))), `case ${k}`).toBe(true);
    });
  });

  it('tinyml inspect shows it, with the warning, exit 0', () => {
    const r = runCli(['inspect', fixture.path]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain('quantized_dimension');
    expect(r.stdout).toContain('DEPTHWISE_CONV_2D');
  });

  it('tinyml infer answers what TFLM answers for the golden input', () => {
    const out = join(fixture.path, '..', 'infer');
    const r = runCli(['infer', fixture.path, '--input', join(GOLDEN, 'mlperf-tiny-kws/case_0/input_0.bin'), '--out', out]);
    expect(r.code, r.stderr).toBe(0);
    expect(readFileSync(join(out, 'output_0.bin')).equals(readFileSync(join(GOLDEN, 'mlperf-tiny-kws/case_0/output_0.bin')))).toBe(true);
  });

  it('tinyml build --board mps2-an386 compiles the firmware', () => {
    const r = runCli(['build', fixture.path, '--board', 'mps2-an386', '--out', join(fixture.path, '..', 'fw')], { timeoutMs: 300_000 });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('firmware.elf');
  });

  it('tinyml build --board nano33ble --runtime tflm writes the TFLite Micro sketch', () => {
    const r = runCli(['build', fixture.path, '--board', 'nano33ble', '--runtime', 'tflm', '--out', join(fixture.path, '..', 'sketch')]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('DEPTHWISE_CONV_2D');
  });
});

// --- Hand-built one-op models (independent of tinyml's writer) for the other fields. ---------

interface QuantSpec {
  scale: number[];
  zeroPoint?: number[];
  dimension?: number;
  detailsType?: number;
}

interface TensorSpec {
  shape: number[];
  quant?: QuantSpec;
  data?: Uint8Array;
}

/**
 * One ADD (inputs tensors 0 and 1, output 2) over int8 tensors, plus any extra tensors.
 * `options`: the options table the op carries (AddOptions by default) and its activation code.
 */
function addModel(opts: { tensors?: TensorSpec[]; optionsTable?: string; activation?: number; identifier?: boolean } = {}): Uint8Array {
  const b = new Builder(1024);
  const q = { scale: [0.5], zeroPoint: [0] };
  const specs: TensorSpec[] = [{ shape: [1, 4], quant: q }, { shape: [1, 4], quant: q }, { shape: [1, 4], quant: q }, ...(opts.tensors ?? [])];
  const vecI32 = (v: number[]) => { b.startVector(4, v.length, 4); for (let i = v.length - 1; i >= 0; i--) b.addInt32(v[i]!); return b.endVector(); };
  const vecF32 = (v: number[]) => { b.startVector(4, v.length, 4); for (let i = v.length - 1; i >= 0; i--) b.addFloat32(v[i]!); return b.endVector(); };
  const vecI64 = (v: number[]) => { b.startVector(8, v.length, 8); for (let i = v.length - 1; i >= 0; i--) b.addInt64(BigInt(v[i]!)); return b.endVector(); };
  const buffers: number[] = [];
  b.startObject(1); buffers.push(b.endObject());
  const tensors = specs.map((t, i) => {
    let buffer = 0;
    if (t.data) {
      b.startVector(1, t.data.length, 16); for (let k = t.data.length - 1; k >= 0; k--) b.addInt8(t.data[k]!); const d = b.endVector();
      b.startObject(1); b.addFieldOffset(0, d, 0); buffers.push(b.endObject());
      buffer = buffers.length - 1;
    }
    let quant = 0;
    if (t.quant) {
      const scale = vecF32(t.quant.scale);
      const zp = t.quant.zeroPoint ? vecI64(t.quant.zeroPoint) : 0;
      let details = 0;
      if (t.quant.detailsType) { const custom = (() => { b.startVector(1, 1, 1); b.addInt8(7); return b.endVector(); })(); b.startObject(1); b.addFieldOffset(0, custom, 0); details = b.endObject(); }
      b.startObject(7);
      b.addFieldOffset(2, scale, 0);
      if (zp) b.addFieldOffset(3, zp, 0);
      if (t.quant.detailsType) { b.addFieldInt8(4, t.quant.detailsType, 0); b.addFieldOffset(5, details, 0); }
      b.addFieldInt32(6, t.quant.dimension ?? 0, 0);
      quant = b.endObject();
    }
    const shape = vecI32(t.shape);
    const name = b.createString(`t${i}`);
    b.startObject(5); b.addFieldOffset(0, shape, 0); b.addFieldInt8(1, 9, 0); b.addFieldInt32(2, buffer, 0); b.addFieldOffset(3, name, 0); if (quant) b.addFieldOffset(4, quant, 0);
    return b.endObject();
  });
  const table = opts.optionsTable ?? 'AddOptions';
  b.startObject(2); b.addFieldInt8(0, opts.activation ?? 0, 0); const options = b.endObject();
  const opIns = vecI32([0, 1]);
  const opOuts = vecI32([2]);
  b.startObject(5); b.addFieldInt32(0, 0, 0); b.addFieldOffset(1, opIns, 0); b.addFieldOffset(2, opOuts, 0); b.addFieldInt8(3, optionsUnionType(table), 0); b.addFieldOffset(4, options, 0); const op = b.endObject();
  b.startVector(4, tensors.length, 4); for (let i = tensors.length - 1; i >= 0; i--) b.addOffset(tensors[i]!); const tv = b.endVector();
  b.startVector(4, 1, 4); b.addOffset(op); const ops = b.endVector();
  const ins = vecI32([0, 1]);
  const outs = vecI32([2]);
  b.startObject(4); b.addFieldOffset(0, tv, 0); b.addFieldOffset(1, ins, 0); b.addFieldOffset(2, outs, 0); b.addFieldOffset(3, ops, 0); const sg = b.endObject();
  b.startVector(4, 1, 4); b.addOffset(sg); const sgs = b.endVector();
  b.startObject(4); b.addFieldInt8(0, 0, 0); b.addFieldInt32(2, 1, 1); b.addFieldInt32(3, 0, 0); const code = b.endObject();
  b.startVector(4, 1, 4); b.addOffset(code); const codes = b.endVector();
  b.startVector(4, buffers.length, 4); for (let i = buffers.length - 1; i >= 0; i--) b.addOffset(buffers[i]!); const bufs = b.endVector();
  b.startObject(5); b.addFieldInt32(0, 3, 0); b.addFieldOffset(1, codes, 0); b.addFieldOffset(2, sgs, 0); b.addFieldOffset(4, bufs, 0); const model = b.endObject();
  if (opts.identifier === false) b.finish(model);
  else b.finish(model, 'TFL3');
  return b.asUint8Array();
}

const constant = (shape: number[], quant: QuantSpec): TensorSpec => ({ shape, quant, data: new Uint8Array(elementCount(shape)) });

describe('other fields TFLite Micro reads loosely', () => {
  it('the hand-built ADD model imports cleanly (the fixture is valid)', () => {
    const g = importTflite(addModel(), 'add.tflite');
    expect(g.ops.map((o) => o.type)).toEqual(['ADD']);
    expect(g.warnings).toEqual([]);
  });

  it('a quantized_dimension outside the shape: the dimension the scale count fits', () => {
    const g = importTflite(addModel({ tensors: [constant([2, 3], { scale: [1, 2, 3], zeroPoint: [0, 0, 0], dimension: 5 })] }), 'qdim.tflite');
    expect(g.tensors[3]!.quant!.axis).toBe(1);
    expect(g.warnings.join('\n')).toContain('tensor 3 "t3" declares a quantized_dimension that does not fit the shape (dimension 5 of a rank-2 tensor, read along dimension 1)');
  });

  it('per-channel scales that fit no dimension are kept (TFLM reads them only where a kernel asks), with a warning', () => {
    const g = importTflite(addModel({ tensors: [constant([4], { scale: [1, 2, 3], zeroPoint: [0, 0, 0], dimension: 0 })] }), 'nofit.tflite');
    expect(g.tensors[3]!.quant!.scale).toHaveLength(3);
    expect(g.warnings.join('\n')).toContain('no dimension fits its scale count');
  });

  it('one zero point serves every channel silently; a list of the wrong length uses its first, with a warning', () => {
    const one = importTflite(addModel({ tensors: [constant([3], { scale: [1, 2, 3], zeroPoint: [5] })] }), 'zp.tflite');
    expect(one.tensors[3]!.quant!.zeroPoint).toEqual([5, 5, 5]);
    expect(one.warnings).toEqual([]);
    const two = importTflite(addModel({ tensors: [constant([3], { scale: [1, 2, 3], zeroPoint: [4, 9] })] }), 'zp2.tflite');
    expect(two.tensors[3]!.quant!.zeroPoint).toEqual([4, 4, 4]);
    expect(two.warnings.join('\n')).toContain('the first is used for every channel, as TFLite Micro does');
  });

  it('custom quantization details are ignored (TFLM reads scale and zero point only), with a warning', () => {
    const g = importTflite(addModel({ tensors: [constant([2], { scale: [0.25], zeroPoint: [1], detailsType: 1 })] }), 'details.tflite');
    expect(g.tensors[3]!.quant).toMatchObject({ scale: [0.25], zeroPoint: [1] });
    expect(g.warnings.join('\n')).toContain('custom quantization details, which TFLite Micro ignores');
  });

  it('a constant buffer longer than its shape is read from its start; a shorter one is refused (TFLM would read past it)', () => {
    const long = importTflite(addModel({ tensors: [{ shape: [2], data: Uint8Array.from([1, 2, 3, 4]) }] }), 'long.tflite');
    expect([...long.tensors[3]!.data!]).toEqual([1, 2]);
    expect(long.warnings.join('\n')).toContain('more constant bytes than their shape needs');
    expect(() => importTflite(addModel({ tensors: [{ shape: [4], data: Uint8Array.from([1, 2]) }] }), 'short.tflite')).toThrow(InvalidModelError);
  });

  it('an options table of the wrong kind is ignored, as TFLM parsers ask for their own table and find none', () => {
    const g = importTflite(addModel({ optionsTable: 'MulOptions', activation: 1 }), 'opts.tflite');
    expect(g.ops[0]!.attrs['fusedActivation']).toBe('NONE');
    expect(g.warnings.join('\n')).toContain('carries MulOptions instead of AddOptions; its options were ignored');
  });

  it('an unknown fused activation reads as NONE (TFLM ConvertActivation), with a warning', () => {
    const g = importTflite(addModel({ activation: 42 }), 'act.tflite');
    expect(g.ops[0]!.attrs['fusedActivation']).toBe('NONE');
    expect(g.warnings.join('\n')).toContain('unknown fused activation (42); read as NONE');
  });

  it('a model without the TFL3 file identifier imports (TFLM never checks it); random bytes still do not', () => {
    const g = importTflite(addModel({ identifier: false }), 'noid.tflite');
    expect(g.ops.map((o) => o.type)).toEqual(['ADD']);
    expect(g.warnings.join('\n')).toContain('has no TFL3 file identifier');
    expect(() => importTflite(new TextEncoder().encode('hello world, not a model at all'), 'x.tflite')).toThrow(/is not a TFLite model/);
  });
});
