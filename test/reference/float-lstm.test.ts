/**
 * The float engine's UNIDIRECTIONAL_SEQUENCE_LSTM against onnxruntime's LSTM on the same
 * weights: ONNX packs the gates as [input, output, forget, cell] with separate input and
 * recurrent biases, TFLite keeps one tensor per gate with one bias; the test builds both from
 * the same random values. Covers initial states, peepholes (ONNX P), time-major and batch-major
 * inputs. TFLite's coupled input/forget gates (CIFG) and cell clip, which ONNX expresses
 * differently, are checked on a one-unit sequence computed by hand.
 */
import { describe, expect, it } from 'vitest';
import * as ort from 'onnxruntime-node';
import onnxProto from 'onnx-proto';
import type { Graph, Tensor } from '../../src/ir/graph.ts';
import { runFloat } from '../../src/reference/float/index.ts';
import { firstMismatch } from './float-helpers.ts';

const { onnx } = onnxProto;

function rand(n: number, seed: number, lo = -1, hi = 1): Float32Array {
  let s = seed >>> 0 || 1;
  return Float32Array.from({ length: n }, () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return lo + ((s >>> 8) / 2 ** 24) * (hi - lo);
  });
}

interface Case {
  T: number;
  B: number;
  I: number;
  S: number;
  peephole: boolean;
  cifg: boolean;
  timeMajor: boolean;
  seed: number;
}

/** Per-gate float arrays, TFLite gate names. */
interface Weights {
  W: Record<string, Float32Array>; // [S, I]
  R: Record<string, Float32Array>; // [S, S]
  Wb: Record<string, Float32Array>; // [S]
  Rb: Record<string, Float32Array>; // [S]
  P: Record<string, Float32Array>; // [S] (input, forget, output)
  h0: Float32Array; // [B, S]
  c0: Float32Array;
}

function weights(c: Case): Weights {
  let seed = c.seed;
  const r = (n: number, scale = 0.6) => rand(n, seed++, -scale, scale);
  const gates = ['input', 'forget', 'cell', 'output'];
  const per = (n: number) => Object.fromEntries(gates.map((g) => [g, r(n)]));
  return { W: per(c.S * c.I), R: per(c.S * c.S), Wb: per(c.S), Rb: per(c.S), P: per(c.S), h0: r(c.B * c.S, 0.9), c0: r(c.B * c.S, 1.5) };
}

const f32 = (shape: number[], data: Float32Array) => ({ dims: shape, dataType: 1, rawData: new Uint8Array(data.buffer.slice(0)) });
const cat = (...parts: Float32Array[]) => {
  const out = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
};

/** ONNX LSTM (layout 0: X [T, B, I], Y [T, 1, B, S]) with the same weights. */
function onnxModel(c: Case, w: Weights): Uint8Array {
  const order = ['input', 'output', 'forget', 'cell'];
  const T = onnx.AttributeProto.AttributeType;
  const inits = [
    { name: 'W', ...f32([1, 4 * c.S, c.I], cat(...order.map((g) => w.W[g]!))) },
    { name: 'R', ...f32([1, 4 * c.S, c.S], cat(...order.map((g) => w.R[g]!))) },
    { name: 'B', ...f32([1, 8 * c.S], cat(...order.map((g) => w.Wb[g]!), ...order.map((g) => w.Rb[g]!))) },
    { name: 'h0', ...f32([1, c.B, c.S], w.h0) },
    { name: 'c0', ...f32([1, c.B, c.S], w.c0) },
    ...(c.peephole ? [{ name: 'P', ...f32([1, 3 * c.S], cat(w.P['input']!, w.P['output']!, w.P['forget']!)) }] : []),
  ];
  const model = onnx.ModelProto.create({
    irVersion: 8,
    opsetImport: [{ domain: '', version: 14 }],
    graph: {
      name: 'lstm',
      node: [
        {
          opType: 'LSTM',
          name: 'lstm',
          input: ['x', 'W', 'R', 'B', '', 'h0', 'c0', c.peephole ? 'P' : ''],
          output: ['y'],
          attribute: [
            { name: 'hidden_size', type: T.INT, i: c.S },
            ...(c.cifg ? [{ name: 'input_forget', type: T.INT, i: 1 }] : []),
          ],
        },
      ],
      input: [{ name: 'x', type: { tensorType: { elemType: 1, shape: { dim: [c.T, c.B, c.I].map((d) => ({ dimValue: d })) } } } }],
      output: [{ name: 'y', type: { tensorType: { elemType: 1, shape: { dim: [c.T, 1, c.B, c.S].map((d) => ({ dimValue: d })) } } } }],
      initializer: inits,
    },
  });
  return onnx.ModelProto.encode(model).finish();
}

/** The TFLite-form graph: x [T,B,I] (time-major) or [B,T,I], 24 inputs, states as variables. */
function tfliteGraph(c: Case, w: Weights, cellClip = 0): Graph {
  const tensors: Tensor[] = [];
  const t = (name: string, shape: number[], data?: Float32Array, variable = false): number => {
    tensors.push({ index: tensors.length, name, shape, dtype: 'float32', data: data ? new Uint8Array(data.buffer.slice(0)) : undefined, ...(variable ? { variable } : {}) });
    return tensors.length - 1;
  };
  const xShape = c.timeMajor ? [c.T, c.B, c.I] : [c.B, c.T, c.I];
  const x = t('x', xShape);
  const inputs = new Array<number>(24).fill(-1);
  inputs[0] = x;
  const gateIndex = { input: 0, forget: 1, cell: 2, output: 3 } as Record<string, number>;
  for (const [g, k] of Object.entries(gateIndex)) {
    if (c.cifg && g === 'input') continue;
    inputs[1 + k] = t(`W_${g}`, [c.S, c.I], w.W[g]);
    inputs[5 + k] = t(`R_${g}`, [c.S, c.S], w.R[g]);
    inputs[12 + k] = t(`b_${g}`, [c.S], Float32Array.from(w.Wb[g]!, (v, j) => v + w.Rb[g]![j]!));
  }
  if (c.peephole) {
    if (!c.cifg) inputs[9] = t('p_input', [c.S], w.P['input']);
    inputs[10] = t('p_forget', [c.S], w.P['forget']);
    inputs[11] = t('p_output', [c.S], w.P['output']);
  }
  inputs[18] = t('h', [c.B, c.S], w.h0, true);
  inputs[19] = t('c', [c.B, c.S], w.c0, true);
  const y = t('y', c.timeMajor ? [c.T, c.B, c.S] : [c.B, c.T, c.S]);
  return {
    format: 'tflite',
    tensors,
    ops: [
      {
        index: 0,
        type: 'UNIDIRECTIONAL_SEQUENCE_LSTM',
        version: 1,
        inputs,
        outputs: [y],
        attrs: { fusedActivation: 'TANH', cellClip, projClip: 0, timeMajor: c.timeMajor, asymmetricQuantizeInputs: false, diagonalRecurrentTensors: false },
        source: { format: 'tflite', opType: 'UNIDIRECTIONAL_SEQUENCE_LSTM', name: 'lstm' },
      },
    ],
    inputs: [{ tensor: x }],
    outputs: [{ tensor: y }],
    meta: {},
    warnings: [],
  };
}

/** [T, B, F] <-> [B, T, F]. */
function swap01(data: Float32Array, d0: number, d1: number, f: number): Float32Array {
  const out = new Float32Array(data.length);
  for (let a = 0; a < d0; a++) for (let b = 0; b < d1; b++) out.set(data.subarray((a * d1 + b) * f, (a * d1 + b + 1) * f), (b * d0 + a) * f);
  return out;
}

async function compare(c: Case): Promise<void> {
  const w = weights(c);
  const xTime = rand(c.T * c.B * c.I, c.seed + 100, -2, 2); // [T, B, I]
  const session = await ort.InferenceSession.create(onnxModel(c, w), { logSeverityLevel: 3 });
  const theirs = (await session.run({ x: new ort.Tensor('float32', xTime, [c.T, c.B, c.I]) }))['y']!.data as Float32Array; // [T,1,B,S] = [T,B,S]
  await session.release();
  const x = c.timeMajor ? xTime : swap01(xTime, c.T, c.B, c.I);
  const graph = tfliteGraph(c, w);
  const ours = runFloat(graph, [{ dtype: 'float32', shape: graph.tensors[0]!.shape, data: x }]).outputs[0]!.data as Float32Array;
  const want = c.timeMajor ? theirs : swap01(theirs, c.T, c.B, c.S);
  const bad = firstMismatch(ours, want, 1e-4, 1e-5);
  expect(bad, bad >= 0 ? `element ${bad}: ours ${ours[bad]}, onnxruntime ${want[bad]}` : '').toBe(-1);
}

describe('float UNIDIRECTIONAL_SEQUENCE_LSTM vs onnxruntime LSTM', () => {
  it('time-major, 2 batches x 5 steps, initial states', () => compare({ T: 5, B: 2, I: 3, S: 4, peephole: false, cifg: false, timeMajor: true, seed: 11 }));
  it('batch-major (TFLite default), 3 batches x 4 steps', () => compare({ T: 4, B: 3, I: 5, S: 3, peephole: false, cifg: false, timeMajor: false, seed: 23 }));
  it('peephole connections', () => compare({ T: 4, B: 2, I: 3, S: 5, peephole: true, cifg: false, timeMajor: true, seed: 37 }));

  // ONNX's input_forget couples the other way round (onnxruntime derives the forget gate from
  // the input gate), and its clip bounds pre-activations: TFLite's CIFG and cell clip are
  // checked on a one-unit sequence computed by hand instead.
  const oneUnit = (cifg: boolean, clip: number, x: number[]) => {
    const c: Case = { T: x.length, B: 1, I: 1, S: 1, peephole: true, cifg, timeMajor: false, seed: 5 };
    const w = weights(c);
    const set = (g: string, W: number, R: number, b: number, p: number) => {
      w.W[g] = Float32Array.of(W);
      w.R[g] = Float32Array.of(R);
      w.Wb[g] = Float32Array.of(b);
      w.Rb[g] = Float32Array.of(0);
      w.P[g] = Float32Array.of(p);
    };
    set('input', 1.5, -0.5, 0.25, 0.5);
    set('forget', 2, 0.5, 0.25, -0.75);
    set('cell', 1.75, 0.25, -0.5, 0);
    set('output', -1, 1.25, 0.5, 0.375);
    w.h0 = Float32Array.of(0.25);
    w.c0 = Float32Array.of(0.9);
    const ours = runFloat(tfliteGraph(c, w, clip), [{ dtype: 'float32', shape: [1, x.length, 1], data: Float32Array.from(x) }]).outputs[0]!.data as Float32Array;
    const sig = (v: number) => 1 / (1 + Math.exp(-v));
    let h = 0.25;
    let cell = 0.9;
    let clipped = 0;
    const want = x.map((xv) => {
      const f = sig(2 * xv + 0.5 * h + 0.25 - 0.75 * cell);
      const i = cifg ? 1 - f : sig(1.5 * xv - 0.5 * h + 0.25 + 0.5 * cell);
      const g = Math.tanh(1.75 * xv + 0.25 * h - 0.5);
      const next = f * cell + i * g;
      if (clip > 0 && Math.abs(next) > clip) clipped++;
      cell = clip > 0 ? Math.min(Math.max(next, -clip), clip) : next;
      h = sig(-xv + 1.25 * h + 0.5 + 0.375 * cell) * Math.tanh(cell);
      return h;
    });
    return { ours, want, clipped };
  };

  it('coupled input and forget gates (CIFG: input = 1 - forget) with peepholes, by hand', () => {
    const r = oneUnit(true, 0, [1.5, -0.4, 0.8, 2]);
    expect(firstMismatch(r.ours, r.want, 1e-6, 1e-7)).toBe(-1);
    // Not the uncoupled result: the input gate's own weights are not used.
    expect(firstMismatch(oneUnit(false, 0, [1.5, -0.4, 0.8, 2]).ours, r.want, 1e-6, 1e-7)).not.toBe(-1);
  });

  it('cell clip bounds the cell state, by hand', () => {
    const r = oneUnit(false, 0.6, [1.5, 1.8, 2.2, -0.7]);
    expect(r.clipped).toBeGreaterThan(0); // the sequence reaches the clip
    expect(firstMismatch(r.ours, r.want, 1e-6, 1e-7)).toBe(-1);
  });
});
