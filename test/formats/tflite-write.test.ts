/**
 * writeTflite: every shared .tflite model survives read -> write -> read unchanged (tensors,
 * shapes, dtypes, quantization, data bytes, ops, attributes, graph inputs/outputs), the
 * written file has the structure TFLite Micro expects, and graphs from other sources (ONNX:
 * explicit pads, parameters held in attributes) are written or refused as documented.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { ByteBuffer } from 'flatbuffers';
import { describe, expect, it } from 'vitest';
import { UnsupportedError } from '../../src/errors.ts';
import type { Graph, Op, Tensor } from '../../src/ir/graph.ts';
import { importTflite } from '../../src/formats/tflite/import.ts';
import { writeTflite } from '../../src/formats/tflite/write.ts';
import { BuiltinOperator, BuiltinOptionsUnion } from '../../src/formats/tflite/schema-tables.ts';
import { optionsTableOf } from '../../src/formats/tflite/tables.ts';
import { MODELS } from '../helpers/shared.ts';

function findTflite(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir)) {
    const p = join(dir, e);
    if (statSync(p).isDirectory()) out.push(...findTflite(p));
    else if (p.endsWith('.tflite')) out.push(p);
  }
  return out.sort();
}

/** The parts of a graph that must survive a round trip (meta and warnings are informative). */
function essence(g: Graph) {
  return {
    tensors: g.tensors.map((t) => ({ ...t, data: t.data ? Buffer.from(t.data).toString('base64') : undefined })),
    ops: g.ops.map((o) => ({ index: o.index, type: o.type, version: o.version, inputs: o.inputs, outputs: o.outputs, attrs: o.attrs, source: o.source })),
    inputs: g.inputs,
    outputs: g.outputs,
  };
}

/** Raw structural facts read straight from the flatbuffer with ByteBuffer, no importer. */
function rawFacts(bytes: Uint8Array) {
  const bb = new ByteBuffer(bytes);
  const table = (pos: number) => ({
    pos,
    field(id: number): number {
      const vt = pos - bb.readInt32(pos);
      const slot = 4 + 2 * id;
      return slot < bb.readUint16(vt) ? bb.readUint16(vt + slot) : 0;
    },
  });
  const deref = (p: number) => p + bb.readUint32(p);
  const vector = (t: ReturnType<typeof table>, id: number) => {
    const at = deref(t.pos + t.field(id));
    return { start: at + 4, length: bb.readUint32(at) };
  };
  const model = table(deref(0));
  const buffers = vector(model, 4);
  const bufferTables = Array.from({ length: buffers.length }, (_, i) => table(deref(buffers.start + 4 * i)));
  const codes = vector(model, 1);
  const codeTables = Array.from({ length: codes.length }, (_, i) => table(deref(codes.start + 4 * i)));
  return {
    identifier: bb.getBufferIdentifier(),
    version: bb.readUint32(model.pos + model.field(0)),
    buffer0HasData: bufferTables[0]!.field(0) !== 0,
    dataStarts: bufferTables.slice(1).filter((t) => t.field(0) !== 0).map((t) => vector(t, 0).start),
    codes: codeTables.map((t) => ({
      deprecated: t.field(0) ? bb.readInt8(t.pos + t.field(0)) : 0,
      builtin: t.field(3) ? bb.readInt32(t.pos + t.field(3)) : 0,
    })),
  };
}

describe('read -> write -> read of every shared .tflite model', () => {
  for (const path of findTflite(MODELS)) {
    it(`${relative(MODELS, path)} round-trips to the same graph`, () => {
      const g = importTflite(new Uint8Array(readFileSync(path)), path);
      const bytes = writeTflite(g);
      const back = importTflite(bytes, 'written.tflite');
      expect(essence(back)).toEqual(essence(g));
      const raw = rawFacts(bytes);
      expect(raw.identifier).toBe('TFL3');
      expect(raw.version).toBe(3);
      expect(raw.buffer0HasData).toBe(false);
      // Constant data is 16-byte aligned (schema force_align), as TFLM's loaders assume.
      for (const start of raw.dataStarts) expect(start % 16).toBe(0);
      for (const c of raw.codes) expect(c.deprecated).toBe(Math.min(c.builtin, 127));
      // Writing is deterministic.
      expect(Buffer.from(writeTflite(g)).equals(Buffer.from(bytes))).toBe(true);
    });
  }
});

// A small NHWC graph as the ONNX importer or the quantizer would hand it over.
function tensor(index: number, name: string, shape: number[], extra: Partial<Tensor> = {}): Tensor {
  return { index, name, shape, dtype: 'float32', ...extra };
}

function convGraph(pads: number[], padding: string, outHW: [number, number], stride = 1): Graph {
  const w = new Uint8Array(2 * 3 * 3 * 1 * 4);
  const op: Op = {
    index: 0, type: 'CONV_2D', version: 11, inputs: [0, 1, -1], outputs: [2],
    attrs: { strideH: stride, strideW: stride, dilationH: 1, dilationW: 1, padding, pads, fusedActivation: 'RELU' },
    source: { format: 'onnx', opType: 'Conv', name: 'conv1' },
  };
  return {
    format: 'onnx',
    tensors: [tensor(0, 'x', [1, 5, 5, 1]), tensor(1, 'w', [2, 3, 3, 1], { data: w }), tensor(2, 'y', [1, outHW[0], outHW[1], 2])],
    ops: [op], inputs: [{ tensor: 0 }], outputs: [{ tensor: 2 }], meta: {}, warnings: [],
  };
}

describe('graphs from other sources', () => {
  it('EXPLICIT pads equal to SAME are written as SAME', () => {
    const back = importTflite(writeTflite(convGraph([1, 1, 1, 1], 'EXPLICIT', [5, 5])), 'w.tflite');
    expect(back.ops[0]!.attrs).toMatchObject({ padding: 'SAME', pads: [1, 1, 1, 1], fusedActivation: 'RELU' });
    // An ONNX opset is not a TFLite op version: float ops are written as version 1.
    expect(back.ops[0]!.version).toBe(1);
  });

  it('EXPLICIT zero pads are written as VALID', () => {
    const back = importTflite(writeTflite(convGraph([0, 0, 0, 0], 'EXPLICIT', [3, 3])), 'w.tflite');
    expect(back.ops[0]!.attrs).toMatchObject({ padding: 'VALID', pads: [0, 0, 0, 0] });
  });

  it('EXPLICIT asymmetric SAME pads (stride 2) follow TFLite: the extra pixel goes after', () => {
    // in 5, k 3, stride 2: out 3, total = 2*2+3-5 = 2 -> [1,1]; with in 6: total 1 -> [0,1]
    const g = convGraph([0, 0, 1, 1], 'EXPLICIT', [3, 3], 2);
    g.tensors[0]!.shape = [1, 6, 6, 1];
    const back = importTflite(writeTflite(g), 'w.tflite');
    expect(back.ops[0]!.attrs).toMatchObject({ padding: 'SAME', pads: [0, 0, 1, 1] });
  });

  it('EXPLICIT pads TFLite cannot express are refused, naming the op', () => {
    expect(() => writeTflite(convGraph([2, 2, 2, 2], 'EXPLICIT', [7, 7]))).toThrow(UnsupportedError);
    expect(() => writeTflite(convGraph([2, 2, 2, 2], 'EXPLICIT', [7, 7]))).toThrow(/op 0 \(CONV_2D "conv1"\) has explicit pads \[2,2,2,2\]/);
    // SAME-looking pads but before/after swapped (ONNX SAME_LOWER) is not TFLite SAME.
    const g = convGraph([1, 1, 0, 0], 'EXPLICIT', [3, 3], 2);
    g.tensors[0]!.shape = [1, 6, 6, 1];
    expect(() => writeTflite(g)).toThrow(UnsupportedError);
  });

  it('MEAN and TRANSPOSE parameters held only in attributes become int32 constants', () => {
    const g: Graph = {
      format: 'onnx',
      tensors: [tensor(0, 'x', [1, 4, 4, 3]), tensor(1, 'm', [1, 1, 1, 3]), tensor(2, 't', [1, 3, 1, 1])],
      ops: [
        { index: 0, type: 'MEAN', version: 13, inputs: [0], outputs: [1], attrs: { axes: [1, 2], keepDims: true }, source: { format: 'onnx', opType: 'GlobalAveragePool', name: 'gap' } },
        { index: 1, type: 'TRANSPOSE', version: 13, inputs: [1], outputs: [2], attrs: { perm: [0, 3, 1, 2] }, source: { format: 'onnx', opType: 'Transpose', name: 'tr' } },
      ],
      inputs: [{ tensor: 0 }], outputs: [{ tensor: 2 }], meta: {}, warnings: [],
    };
    const back = importTflite(writeTflite(g), 'w.tflite');
    expect(back.ops[0]!.attrs).toEqual({ axes: [1, 2], keepDims: true });
    expect(back.ops[1]!.attrs).toEqual({ perm: [0, 3, 1, 2] });
    const axes = back.tensors[back.ops[0]!.inputs[1]!]!;
    expect(axes).toMatchObject({ dtype: 'int32', shape: [2], name: 'gap/axis' });
    expect(Array.from(new Int32Array(axes.data!.slice().buffer))).toEqual([1, 2]);
  });

  it('int8 per-channel quantization and a custom op are written with quantized_dimension and options', () => {
    const g: Graph = {
      format: 'onnx',
      tensors: [
        tensor(0, 'x', [1, 2, 2, 3], { dtype: 'int8', quant: { scale: [0.5], zeroPoint: [-3], axis: 0 } }),
        tensor(1, 'w', [1, 1, 1, 3], { dtype: 'int8', data: new Uint8Array([1, 2, 3]), quant: { scale: [0.1, 0.2, 0.3], zeroPoint: [0, 0, 0], axis: 3 } }),
        tensor(2, 'y', [1, 2, 2, 3], { dtype: 'int8', quant: { scale: [0.25], zeroPoint: [1], axis: 0 } }),
        tensor(3, 'z', [1, 2, 2, 3], { dtype: 'int8' }),
      ],
      ops: [
        { index: 0, type: 'DEPTHWISE_CONV_2D', version: 1, inputs: [0, 1, -1], outputs: [2], attrs: { strideH: 1, strideW: 1, dilationH: 1, dilationW: 1, padding: 'VALID', pads: [0, 0, 0, 0], fusedActivation: 'NONE', depthMultiplier: 1 }, source: { format: 'onnx', opType: 'Conv', name: 'dw' } },
        { index: 1, type: 'MyOp', version: 1, inputs: [2], outputs: [3], attrs: { customOptions: [1, 2, 3, 250] }, source: { format: 'tflite', opType: 'MyOp', name: 'z', domain: 'custom' } },
      ],
      inputs: [{ tensor: 0 }], outputs: [{ tensor: 3 }], meta: {}, warnings: [],
    };
    const back = importTflite(writeTflite(g), 'w.tflite');
    expect(back.tensors[1]!.quant).toEqual({ scale: [0.1, 0.2, 0.3].map(Math.fround), zeroPoint: [0, 0, 0], axis: 3 });
    expect(back.ops[0]!.version).toBe(3); // the int8 kernel's version
    expect(back.ops[1]).toMatchObject({ type: 'MyOp', attrs: { customOptions: [1, 2, 3, 250] }, source: { domain: 'custom' } });
  });

  it('a builtin above code 127 keeps 127 in the int8 field and its code in builtin_code; its raw options survive', () => {
    const g: Graph = {
      format: 'tflite',
      tensors: [tensor(0, 'x', [1, 8]), tensor(1, 'y', [1, 8])],
      ops: [{ index: 0, type: 'GELU', version: 2, inputs: [0], outputs: [1], attrs: { approximate: true }, source: { format: 'tflite', opType: 'GELU', name: 'y' } }],
      inputs: [{ tensor: 0 }], outputs: [{ tensor: 1 }], meta: {}, warnings: [],
    };
    const bytes = writeTflite(g);
    expect(rawFacts(bytes).codes).toEqual([{ deprecated: 127, builtin: 150 }]);
    const back = importTflite(bytes, 'w.tflite');
    expect(back.ops[0]).toMatchObject({ type: 'GELU', version: 2, attrs: { approximate: true } });
  });

  it('Clip(0,6) becomes RELU6; a grouped CONV_2D keeps its groups through TFLite shapes', () => {
    const g = convGraph([1, 1, 1, 1], 'SAME', [5, 5]);
    // 4 input channels, 2 groups: the filter holds 2 input channels per output channel.
    g.tensors[0]!.shape = [1, 5, 5, 4];
    g.tensors[1] = tensor(1, 'w', [2, 3, 3, 2], { data: new Uint8Array(2 * 3 * 3 * 2 * 4) });
    g.ops[0]!.attrs.groups = 2;
    g.tensors.push(tensor(3, 'r', [1, 5, 5, 2]));
    g.ops.push({ index: 1, type: 'CLIP', version: 13, inputs: [2], outputs: [3], attrs: { min: 0, max: 6 }, source: { format: 'onnx', opType: 'Clip', name: 'clip' } });
    g.outputs = [{ tensor: 3 }];
    const back = importTflite(writeTflite(g), 'w.tflite');
    expect(back.ops[0]!.attrs.groups).toBe(2);
    expect(back.ops[1]!.type).toBe('RELU6');
  });

  it('PAD: ONNX int64 paddings become an int32 constant; REFLECT is written as MIRROR_PAD', () => {
    const pads = [0, 0, 1, 2, 1, 2, 0, 0];
    const int64 = new Uint8Array(8 * 8);
    pads.forEach((p, i) => new DataView(int64.buffer).setBigInt64(i * 8, BigInt(p), true));
    const g: Graph = {
      format: 'onnx',
      tensors: [tensor(0, 'x', [1, 2, 2, 1]), tensor(1, 'p', [8], { dtype: 'int64', data: int64 }), tensor(2, 'y', [1, 5, 5, 1])],
      ops: [{ index: 0, type: 'PAD', version: 13, inputs: [0, 1], outputs: [2], attrs: { mode: 'CONSTANT', pads, constantValue: 0 }, source: { format: 'onnx', opType: 'Pad', name: 'pad' } }],
      inputs: [{ tensor: 0 }], outputs: [{ tensor: 2 }], meta: {}, warnings: [],
    };
    const back = importTflite(writeTflite(g), 'w.tflite');
    expect(back.ops[0]).toMatchObject({ type: 'PAD', attrs: { mode: 'CONSTANT', pads, constantValue: 0 } });
    expect(back.tensors[back.ops[0]!.inputs[1]!]).toMatchObject({ dtype: 'int32', shape: [4, 2] });
    g.ops[0]!.attrs.mode = 'REFLECT';
    const mirror = importTflite(writeTflite(g), 'w.tflite');
    expect(mirror.ops[0]).toMatchObject({ type: 'MIRROR_PAD', attrs: { mode: 0 } });
    g.ops[0]!.attrs.mode = 'EDGE';
    expect(() => writeTflite(g)).toThrow(/op 0 \(PAD "pad"\) pads in EDGE mode/);
  });

  it('ONNX-only ops and softmax over a non-last axis are refused, naming the op', () => {
    const g: Graph = {
      format: 'onnx',
      tensors: [tensor(0, 'x', [1, 4, 3]), tensor(1, 'y', [1, 4, 3])],
      ops: [{ index: 0, type: 'SOFTMAX', version: 11, inputs: [0], outputs: [1], attrs: { beta: 1, axis: 1, coerce2d: false }, source: { format: 'onnx', opType: 'Softmax', name: 'sm' } }],
      inputs: [{ tensor: 0 }], outputs: [{ tensor: 1 }], meta: {}, warnings: [],
    };
    expect(() => writeTflite(g)).toThrow(/op 0 \(SOFTMAX "sm"\) normalises along axis 1/);
    g.ops[0] = { ...g.ops[0]!, type: 'CLIP', attrs: { min: 0, max: 1 } };
    expect(() => writeTflite(g)).toThrow(UnsupportedError);
  });
});

describe('the op -> options table map', () => {
  it('reaches every options table of the schema, so no builtin op loses its options on write', () => {
    const reached = new Set<string>();
    for (const name of Object.values(BuiltinOperator)) {
      const t = optionsTableOf(name);
      if (t !== undefined) reached.add(t);
    }
    expect(BuiltinOptionsUnion.filter((t) => t !== 'NONE' && !reached.has(t))).toEqual([]);
    expect(optionsTableOf('L2_NORMALIZATION')).toBe('L2NormOptions');
    expect(optionsTableOf('BATCH_TO_SPACE_ND')).toBe('BatchToSpaceNDOptions');
  });
});
