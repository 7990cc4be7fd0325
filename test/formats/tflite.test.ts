/**
 * TFLite import against facts stated independently of our code: the models' README.md
 * dumps (made with flatc --json) and the golden meta.json files (written by the TFLite Micro
 * harness that produced the golden outputs), plus bad-input cases.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { Builder } from 'flatbuffers';
import { describe, expect, it } from 'vitest';
import { InvalidModelError, TinymlError, UnsupportedError } from '../../src/errors.ts';
import { elementCount, type Graph } from '../../src/ir/graph.ts';
import { importTflite } from '../../src/formats/tflite/import.ts';
import { GOLDEN, MODELS, SHARED } from '../helpers/shared.ts';

function findTflite(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir)) {
    const p = join(dir, e);
    if (statSync(p).isDirectory()) out.push(...findTflite(p));
    else if (p.endsWith('.tflite')) out.push(p);
  }
  return out.sort();
}

const MODEL_FILES = findTflite(MODELS);
const load = (path: string): Graph => importTflite(new Uint8Array(readFileSync(path)), path);

/** The "### file" sections of a models README: inputs, outputs, params, operator list. */
interface ReadmeFacts {
  params: number;
  opCount: number;
  opTypes: string[];
  inputs: string;
  outputs: string;
  quantization: string;
}

function readmeFacts(modelPath: string): ReadmeFacts | undefined {
  const folder = relative(MODELS, modelPath).split('/')[0]!;
  const file = relative(join(MODELS, folder), modelPath);
  const text = readFileSync(join(MODELS, folder, 'README.md'), 'utf8');
  const section = text.split(/^### /m).find((s) => s.startsWith(`${file}\n`));
  if (!section) return undefined;
  const line = (key: string) => section.split('\n').find((l) => l.startsWith(`- ${key}:`))!.slice(key.length + 3).trim();
  const m = /params \(constant tensor elements\): (\d+); operators \((\d+) nodes\): (.*)$/.exec(line('size'))!;
  return { params: Number(m[1]), opCount: Number(m[2]), opTypes: m[3]!.split(', '), inputs: line('inputs'), outputs: line('outputs'), quantization: line('quantization') };
}

/** "name [1,49,10,1] int8 (scale=0.584703 zp=83)" -> its parts. */
function parseIo(text: string): { shape: number[]; dtype: string; scale?: number; zp?: number } {
  const m = /\[([\d,]*)\] (\w+)(?: \(scale=([\d.e+-]+) zp=(-?\d+)\))?$/.exec(text)!;
  return { shape: m[1]!.split(',').map(Number), dtype: m[2]!, ...(m[3] ? { scale: Number(m[3]), zp: Number(m[4]) } : {}) };
}

describe('importTflite on every shared .tflite model', () => {
  it('finds the shared models', () => {
    expect(MODEL_FILES.length).toBeGreaterThanOrEqual(11);
  });

  for (const path of MODEL_FILES) {
    const name = relative(SHARED, path);
    it(`${name} matches its README dump`, () => {
      const g = load(path);
      const facts = readmeFacts(path);
      expect(facts, `README section for ${name}`).toBeDefined();
      const f = facts!;
      expect(g.format).toBe('tflite');
      expect(g.ops.length).toBe(f.opCount);
      const params = g.tensors.filter((t) => t.data && !t.variable).reduce((n, t) => n + elementCount(t.shape), 0);
      expect(params).toBe(f.params);
      // README lists the distinct op types in first-use order, custom ops as CUSTOM:<code>.
      const distinct: string[] = [];
      for (const op of g.ops) {
        const label = op.source.domain === 'custom' ? `CUSTOM:${op.type}` : op.type;
        if (!distinct.includes(label)) distinct.push(label);
      }
      expect(distinct).toEqual(f.opTypes);
      const input = parseIo(f.inputs);
      const output = parseIo(f.outputs);
      const gi = g.tensors[g.inputs[0]!.tensor]!;
      const go = g.tensors[g.outputs[0]!.tensor]!;
      expect(gi.shape).toEqual(input.shape);
      expect(gi.dtype).toBe(input.dtype);
      expect(go.shape).toEqual(output.shape);
      expect(go.dtype).toBe(output.dtype);
      for (const [t, io] of [[gi, input], [go, output]] as const) {
        if (io.scale === undefined) continue;
        // The README prints scales with 6 digits after the point: compare to that precision.
        expect(Math.abs(t.quant!.scale[0]! - io.scale)).toBeLessThan(6e-6);
        expect(t.quant!.zeroPoint[0]).toBe(io.zp);
      }
      const perChannel = g.tensors.filter((t) => (t.quant?.scale.length ?? 0) > 1);
      if (f.quantization.includes('per-channel')) expect(perChannel.length).toBeGreaterThan(0);
      else expect(perChannel.length).toBe(0);
    });
  }
});

describe('importTflite against the golden meta.json of TFLite Micro runs', () => {
  for (const id of readdirSync(GOLDEN).filter((d) => statSync(join(GOLDEN, d)).isDirectory())) {
    it(`${id}: inputs, outputs and operators in order`, () => {
      const meta = JSON.parse(readFileSync(join(GOLDEN, id, 'meta.json'), 'utf8'));
      const g = load(join(SHARED, meta.model));
      type Io = { tensor_index: number; shape: number[]; dtype: string; scale: number; zero_point: number };
      const check = (list: Io[], ours: { tensor: number }[]) => {
        expect(ours.map((x) => x.tensor)).toEqual(list.map((x) => x.tensor_index));
        for (const io of list) {
          const t = g.tensors[io.tensor_index]!;
          expect(t.shape).toEqual(io.shape);
          expect(t.dtype).toBe(io.dtype);
          // meta.json prints 9 significant digits, which round-trips float32.
          expect(Math.fround(io.scale)).toBe(t.quant!.scale[0]);
          expect(t.quant!.zeroPoint[0]).toBe(io.zero_point);
        }
      };
      check(meta.inputs, g.inputs);
      check(meta.outputs, g.outputs);
      const ops = meta.operators as { index: number; type: string; inputs: number[]; outputs: number[] }[];
      expect(g.ops.map((o) => ({ index: o.index, type: o.type, inputs: o.inputs, outputs: o.outputs }))).toEqual(
        ops.map((o) => ({ index: o.index, type: o.type, inputs: o.inputs, outputs: o.outputs })),
      );
      // Every intermediate the harness dumped has the shape, dtype and quantization we read.
      const dumped = meta.intermediates.tensors as { tensor_index: number; shape: number[]; dtype: string; scale: number | null; zero_point: number; producer_op_index: number; role: string }[];
      expect(dumped.length).toBeGreaterThan(0);
      for (const t of dumped) {
        const ours = g.tensors[t.tensor_index]!;
        expect(ours.shape).toEqual(t.shape);
        expect(ours.dtype).toBe(t.dtype);
        if (t.producer_op_index >= 0) expect(g.ops[t.producer_op_index]!.outputs).toContain(t.tensor_index);
        if (t.scale !== undefined && t.scale !== null) {
          expect(ours.quant!.scale[0]).toBe(Math.fround(t.scale));
          expect(ours.quant!.zeroPoint[0]).toBe(t.zero_point);
        }
        if (t.role?.includes('variable')) expect(ours.variable).toBe(true);
      }
    });
  }
});

describe('normalised attributes', () => {
  it('KWS conv 0: SAME padding resolved as TFLite does (10x4 filter, stride 2 on 49x10)', () => {
    const g = load(join(MODELS, 'mlperf-tiny/kws/kws_ref_model.tflite'));
    const conv = g.ops[0]!;
    expect(conv.type).toBe('CONV_2D');
    // out = ceil(49/2)=25, total = 24*2+10-49 = 9 -> 4 before, 5 after; W: 4*2+4-10 = 2 -> 1, 1
    expect(conv.attrs).toMatchObject({ strideH: 2, strideW: 2, dilationH: 1, dilationW: 1, padding: 'SAME', pads: [4, 1, 5, 1], fusedActivation: 'RELU' });
    const dw = g.ops[1]!;
    expect(dw.attrs).toMatchObject({ padding: 'SAME', pads: [1, 1, 1, 1], depthMultiplier: 1 });
    const pool = g.ops[9]!;
    expect(pool.attrs).toEqual({ filterH: 25, filterW: 5, strideH: 25, strideW: 5, padding: 'VALID', pads: [0, 0, 0, 0], fusedActivation: 'NONE', countIncludePad: false });
    expect(g.ops[10]!.attrs).toEqual({ newShape: [1, 64] });
    expect(g.ops[12]!.attrs).toEqual({ beta: 1, axis: 1, coerce2d: false });
    expect(g.ops[11]!.attrs).toEqual({ fusedActivation: 'NONE', keepNumDims: false });
  });

  it('per-channel quantization: conv filters along dim 0, depthwise filters along dim 3', () => {
    const g = load(join(MODELS, 'mlperf-tiny/kws/kws_ref_model.tflite'));
    for (const op of g.ops.filter((o) => o.type === 'CONV_2D' || o.type === 'DEPTHWISE_CONV_2D')) {
      const w = g.tensors[op.inputs[1]!]!;
      const axis = op.type === 'CONV_2D' ? 0 : 3;
      expect(w.quant!.axis).toBe(axis);
      expect(w.quant!.scale.length).toBe(w.shape[axis]);
      expect(w.quant!.zeroPoint.every((z) => z === 0)).toBe(true);
      expect(w.data!.length).toBe(elementCount(w.shape));
      const bias = g.tensors[op.inputs[2]!]!;
      expect(bias.dtype).toBe('int32');
      expect(bias.quant!.scale.length).toBe(w.shape[axis]);
    }
  });

  it('SVDF, QUANTIZE and variable state tensors of the keyword benchmark', () => {
    const g = load(join(MODELS, 'tflm-benchmarks/keyword_scrambled.tflite'));
    const svdf = g.ops[1]!;
    expect(svdf.type).toBe('SVDF');
    expect(svdf.attrs).toEqual({ rank: 1, fusedActivation: 'RELU', asymmetricQuantizeInputs: false });
    expect(g.tensors[svdf.inputs[4]!]!.variable).toBe(true);
    expect(g.ops[0]!.attrs).toEqual({ rounding: 'HALF_AWAY' });
    expect(g.ops[0]!.version).toBeGreaterThanOrEqual(1);
  });

  it('custom ops keep their code as type, domain custom, and their options bytes', () => {
    const g = load(join(MODELS, 'tflm-micro-speech/audio_preprocessor_int8.tflite'));
    const w = g.ops[0]!;
    expect(w.type).toBe('SignalWindow');
    expect(w.source.domain).toBe('custom');
    expect(Array.isArray(w.attrs.customOptions)).toBe(true);
    // Builtins the IR does not know keep their TFLite name.
    expect(g.ops.some((o) => o.type === 'STRIDED_SLICE' && o.source.domain === undefined)).toBe(true);
  });

  it('op source names are the first output tensor name', () => {
    const g = load(join(MODELS, 'mlperf-tiny/kws/kws_ref_model.tflite'));
    expect(g.ops[12]!.source).toEqual({ format: 'tflite', opType: 'SOFTMAX', name: 'Identity' });
  });

  it('a dynamic batch dimension is fixed to 1 with a warning', () => {
    const g = load(join(MODELS, 'mlperf-tiny/kws/kws_ref_model.tflite'));
    expect(g.tensors[0]!.shape[0]).toBe(1);
    expect(g.warnings.some((w) => w.includes('dynamic batch'))).toBe(true);
  });
});

/**
 * A minimal TFLite model built directly with the flatbuffers Builder (independent of our
 * writer): one subgraph, one tensor, optionally with a constant buffer; no ops.
 */
function tinyModel(opts: { shape: number[]; type?: number; data?: Uint8Array; deprecatedCode?: number; builtinCode?: number }): Uint8Array {
  const b = new Builder(256);
  const bufData = opts.data ? (() => { b.startVector(1, opts.data.length, 16); for (let i = opts.data.length - 1; i >= 0; i--) b.addInt8(opts.data[i]!); return b.endVector(); })() : 0;
  const buffers: number[] = [];
  b.startObject(3); buffers.push(b.endObject()); // sentinel
  if (opts.data) { b.startObject(3); b.addFieldOffset(0, bufData, 0); buffers.push(b.endObject()); }
  const name = b.createString('t');
  b.startVector(4, opts.shape.length, 4); for (let i = opts.shape.length - 1; i >= 0; i--) b.addInt32(opts.shape[i]!); const shape = b.endVector();
  b.startObject(11); b.addFieldOffset(0, shape, 0); b.addFieldInt8(1, opts.type ?? 9, 0); b.addFieldInt32(2, opts.data ? 1 : 0, 0); b.addFieldOffset(3, name, 0); const tensor = b.endObject();
  b.startVector(4, 1, 4); b.addOffset(tensor); const tensors = b.endVector();
  b.startVector(4, 1, 4); b.addInt32(0); const io = b.endVector();
  b.startObject(6); b.addFieldOffset(0, tensors, 0); b.addFieldOffset(1, io, 0); b.addFieldOffset(2, io, 0); const sg = b.endObject();
  b.startVector(4, 1, 4); b.addOffset(sg); const sgs = b.endVector();
  b.startObject(4); b.addFieldInt8(0, opts.deprecatedCode ?? 0, 0); b.addFieldInt32(2, 1, 1); b.addFieldInt32(3, opts.builtinCode ?? 0, 0); const code = b.endObject();
  b.startVector(4, 1, 4); b.addOffset(code); const codes = b.endVector();
  b.startVector(4, buffers.length, 4); for (let i = buffers.length - 1; i >= 0; i--) b.addOffset(buffers[i]!); const bufs = b.endVector();
  b.startObject(5); b.addFieldInt32(0, 3, 0); b.addFieldOffset(1, codes, 0); b.addFieldOffset(2, sgs, 0); b.addFieldOffset(4, bufs, 0); const model = b.endObject();
  b.finish(model, 'TFL3');
  return b.asUint8Array();
}

/**
 * A hostile model: `count` buffers all pointing at one data vector of `bytes` bytes and `count`
 * tensors each using its own buffer, so naive decoding would copy count x bytes.
 */
function sharedDataModel(count: number, bytes: number): Uint8Array {
  const b = new Builder(bytes + count * 64);
  b.startVector(1, bytes, 16); for (let i = 0; i < bytes; i++) b.addInt8(0); const data = b.endVector();
  const buffers: number[] = [];
  b.startObject(3); buffers.push(b.endObject());
  for (let i = 0; i < count; i++) { b.startObject(3); b.addFieldOffset(0, data, 0); buffers.push(b.endObject()); }
  b.startVector(4, 1, 4); b.addInt32(bytes); const shape = b.endVector();
  const tensors: number[] = [];
  for (let i = 0; i < count; i++) { b.startObject(4); b.addFieldOffset(0, shape, 0); b.addFieldInt8(1, 9, 0); b.addFieldInt32(2, i + 1, 0); tensors.push(b.endObject()); }
  b.startVector(4, count, 4); for (let i = count - 1; i >= 0; i--) b.addOffset(tensors[i]!); const tv = b.endVector();
  b.startObject(4); b.addFieldOffset(0, tv, 0); const sg = b.endObject();
  b.startVector(4, 1, 4); b.addOffset(sg); const sgs = b.endVector();
  b.startVector(4, buffers.length, 4); for (let i = buffers.length - 1; i >= 0; i--) b.addOffset(buffers[i]!); const bufs = b.endVector();
  b.startObject(5); b.addFieldInt32(0, 3, 0); b.addFieldOffset(2, sgs, 0); b.addFieldOffset(4, bufs, 0); const model = b.endObject();
  b.finish(model, 'TFL3');
  return b.asUint8Array();
}

function errorOf(f: () => unknown): unknown {
  try {
    f();
  } catch (e) {
    return e;
  }
  return undefined;
}

describe('bad input', () => {
  it('a hand-built minimal model imports (the fixture itself is valid)', () => {
    const g = importTflite(tinyModel({ shape: [2, 3], data: new Uint8Array(6) }), 'tiny.tflite');
    expect(g.tensors[0]).toMatchObject({ shape: [2, 3], dtype: 'int8', name: 't' });
    expect(g.tensors[0]!.data!.length).toBe(6);
  });

  it('a shape claiming more elements than memory can hold names the tensor', () => {
    const e = errorOf(() => importTflite(tinyModel({ shape: [65536, 65536, 4] }), 'huge.tflite'));
    expect(e).toBeInstanceOf(InvalidModelError);
    expect((e as Error).message).toMatch(/huge\.tflite: tensor 0 "t" claims shape \[65536,65536,4\].*more than memory can hold/);
  });

  it('many tensors sharing one data vector cannot multiply the file in memory', () => {
    // Few sharers import normally: the fixture is a valid model.
    expect(importTflite(sharedDataModel(4, 65536), 'shared.tflite').tensors.length).toBe(4);
    const bytes = sharedDataModel(4000, 65536);
    expect(bytes.length).toBeLessThan(400_000);
    const e = errorOf(() => importTflite(bytes, 'shared.tflite'));
    expect(e).toBeInstanceOf(InvalidModelError);
    expect((e as Error).message).toContain('decode to far more data than it holds');
  });

  it('constant data whose size does not match shape x dtype is rejected', () => {
    const e = errorOf(() => importTflite(tinyModel({ shape: [2, 3], type: 0, data: new Uint8Array(6) }), 'short.tflite'));
    expect(e).toBeInstanceOf(InvalidModelError);
    expect((e as Error).message).toContain('has 6 bytes of data, but shape [2,3] of float32 needs 24');
  });

  it('an unknown tensor type is rejected', () => {
    const e = errorOf(() => importTflite(tinyModel({ shape: [1], type: 99 }), 'type.tflite'));
    expect(e).toBeInstanceOf(InvalidModelError);
    expect((e as Error).message).toContain('unknown element type (99)');
  });

  it('a dynamic non-batch dimension is unsupported, with the fix', () => {
    const e = errorOf(() => importTflite(tinyModel({ shape: [1, -1] }), 'dyn.tflite'));
    expect(e).toBeInstanceOf(UnsupportedError);
    expect((e as Error).message).toContain('re-export the model with a fixed input shape');
  });

  it('empty, tiny and non-TFL3 buffers are rejected with a one-line message', () => {
    for (const bytes of [new Uint8Array(0), new Uint8Array(7), new TextEncoder().encode('hello world, not a model')]) {
      const e = errorOf(() => importTflite(bytes, 'x.tflite'));
      expect(e).toBeInstanceOf(InvalidModelError);
      expect((e as Error).message).not.toContain('\n');
    }
  });

  for (const model of ['mlperf-tiny/kws/kws_ref_model.tflite', 'tflm-hello-world/hello_world_int8.tflite', 'tflm-micro-speech/audio_preprocessor_int8.tflite']) {
    it(`${model} truncated at many points gives InvalidModelError naming the truncation`, () => {
      const bytes = new Uint8Array(readFileSync(join(MODELS, model)));
      // Flatbuffers are written back to front: the root and the tables sit near the start and
      // point at data further on, so every cut below removes something the model refers to.
      for (const frac of [0.05, 0.1, 0.25, 0.5, 0.75, 0.9]) {
        const cut = bytes.subarray(0, Math.floor(bytes.length * frac));
        const e = errorOf(() => importTflite(cut, 'model.tflite'));
        expect(e, `cut at ${frac}`).toBeInstanceOf(InvalidModelError);
        expect((e as Error).message).toMatch(/^model\.tflite is (truncated: the flatbuffer points past its end at byte \d+|not a valid TFLite model: .*); re-export or re-download the model$/);
      }
    });
  }

  it('random bytes, with and without a TFL3 identifier, never escape as anything but a typed error', () => {
    let s = 0x2545f491;
    const next = () => { s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0; return s; };
    let rejected = 0;
    for (let k = 0; k < 300; k++) {
      const bytes = new Uint8Array(16 + (next() % 4096));
      for (let i = 0; i < bytes.length; i++) bytes[i] = next() & 0xff;
      if (k % 2 === 0) {
        bytes.set([0x54, 0x46, 0x4c, 0x33], 4); // TFL3
        // A root offset inside the buffer so the parser really walks random tables.
        new DataView(bytes.buffer).setUint32(0, 8 + (next() % (bytes.length - 8)), true);
      }
      const e = errorOf(() => importTflite(bytes, 'random.tflite'));
      if (e !== undefined) {
        expect(e).toBeInstanceOf(TinymlError);
        rejected++;
      }
    }
    expect(rejected).toBeGreaterThan(290);
  });
});
