/**
 * Small ONNX models built in tests with onnx-proto, and the oracle check: onnxruntime (the real
 * runtime) against tinyml's import + float engine, element by element.
 */
import onnxProto from 'onnx-proto';
import * as ort from 'onnxruntime-node';
import { expect } from 'vitest';
import type { Graph } from '../../src/ir/graph.ts';
import { importOnnx } from '../../src/formats/onnx/import.ts';
import { runFloat } from '../../src/reference/float/index.ts';
import { inputToIr, outputFromIr } from '../../src/reference/layout.ts';

const { onnx } = onnxProto;
export type Attr = onnxProto.onnx.IAttributeProto;
export type NodeProto = onnxProto.onnx.INodeProto;

export const attr = {
  i: (name: string, v: number): Attr => ({ name, type: 2, i: v }),
  f: (name: string, v: number): Attr => ({ name, type: 1, f: v }),
  ints: (name: string, v: number[]): Attr => ({ name, type: 7, ints: v }),
  floats: (name: string, v: number[]): Attr => ({ name, type: 6, floats: v }),
  s: (name: string, v: string): Attr => ({ name, type: 3, s: new TextEncoder().encode(v) }),
};

export function node(opType: string, input: string[], output: string[], attribute: Attr[] = [], domain = ''): NodeProto {
  return { opType, input, output, attribute, name: `${opType}_${output[0]}`, domain };
}

export function valueInfo(name: string, dims: (number | string)[], elemType = 1): onnxProto.onnx.IValueInfoProto {
  return {
    name,
    type: { tensorType: { elemType, shape: { dim: dims.map((d) => (typeof d === 'string' ? { dimParam: d } : { dimValue: d })) } } },
  };
}

/** Deterministic pseudo-random floats in [-1, 1). */
export function values(n: number, seed: number): number[] {
  let s = seed >>> 0;
  return Array.from({ length: n }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2147483648 - 1;
  });
}

export function floatInit(name: string, dims: number[], seed: number, map: (v: number) => number = (v) => v): onnxProto.onnx.ITensorProto {
  return { name, dims, dataType: 1, floatData: values(dims.reduce((a, b) => a * b, 1), seed).map(map) };
}

export function floatConst(name: string, dims: number[], data: number[]): onnxProto.onnx.ITensorProto {
  return { name, dims, dataType: 1, floatData: data };
}

export function intInit(name: string, v: number[], dims = [v.length]): onnxProto.onnx.ITensorProto {
  return { name, dims, dataType: 7, int64Data: v };
}

export interface Spec {
  nodes: NodeProto[];
  inputs: onnxProto.onnx.IValueInfoProto[];
  outputs: onnxProto.onnx.IValueInfoProto[];
  initializers?: onnxProto.onnx.ITensorProto[];
  opset?: number;
}

export function build(spec: Spec): Uint8Array {
  const model = onnx.ModelProto.create({
    irVersion: 8,
    producerName: 'tinyml-test',
    opsetImport: [{ domain: '', version: spec.opset ?? 13 }],
    graph: { name: 'g', node: spec.nodes, input: spec.inputs, output: spec.outputs, initializer: spec.initializers ?? [] },
  });
  return onnx.ModelProto.encode(model).finish();
}

export type Feed = { shape: number[]; data: Float32Array | Int32Array | BigInt64Array | Uint8Array | Int8Array };

export function input(shape: number[], seed: number, scale = 1): Feed {
  return { shape, data: Float32Array.from(values(shape.reduce((a, b) => a * b, 1), seed), (v) => v * scale) };
}

const ORT_TYPE = (d: Feed['data']): ort.Tensor.Type =>
  d instanceof Float32Array ? 'float32' : d instanceof Int32Array ? 'int32' : d instanceof BigInt64Array ? 'int64' : d instanceof Uint8Array ? 'uint8' : 'int8';
const DTYPE = { float32: 'float32', int32: 'int32', int64: 'int64', uint8: 'uint8', int8: 'int8' } as const;

/** onnxruntime's outputs (unoptimised: each node runs as written). */
export async function ortRun(bytes: Uint8Array, feeds: Record<string, Feed>): Promise<{ name: string; dims: number[]; data: ArrayLike<number | bigint> }[]> {
  const session = await ort.InferenceSession.create(bytes, { graphOptimizationLevel: 'disabled' });
  const ortFeeds: Record<string, ort.Tensor> = {};
  for (const [k, v] of Object.entries(feeds)) ortFeeds[k] = new ort.Tensor(ORT_TYPE(v.data), v.data, v.shape);
  const out = await session.run(ortFeeds);
  return session.outputNames.map((n) => ({ name: n, dims: out[n]!.dims.map(Number), data: out[n]!.data as ArrayLike<number | bigint> }));
}

/**
 * Index of the first element outside 1e-5 relative to the output's largest magnitude (float
 * outputs; exact for integers), or -1. The float engine accumulates in float64, onnxruntime in
 * float32, so cancellation makes small outputs differ relative to themselves, never to the range.
 */
export function firstOutside(got: ArrayLike<number | bigint>, want: ArrayLike<number | bigint>, rel = 1e-5): number {
  if (got.length !== want.length) return Math.min(got.length, want.length);
  let max = 0;
  for (let i = 0; i < want.length; i++) max = Math.max(max, Math.abs(Number(want[i]!)));
  const tol = rel * max;
  for (let i = 0; i < want.length; i++) {
    const g = Number(got[i]!), w = Number(want[i]!);
    if (!(Math.abs(g - w) <= tol) && !(Number.isNaN(g) && Number.isNaN(w))) return i;
  }
  return -1;
}

/** Runs onnxruntime and the float engine on the same feeds; every output must agree. Returns the IR. */
export async function agree(bytes: Uint8Array, feeds: Record<string, Feed>): Promise<Graph> {
  const expected = await ortRun(bytes, feeds);
  const g = importOnnx(bytes, 'synthetic.onnx');
  const inputs = g.inputs.map((gi) => {
    const f = feeds[g.tensors[gi.tensor]!.name]!;
    const dtype = DTYPE[ORT_TYPE(f.data) as keyof typeof DTYPE];
    return inputToIr({ dtype, shape: f.shape, data: f.data }, gi);
  });
  const result = runFloat(g, inputs);
  g.outputs.forEach((go, i) => {
    const got = outputFromIr(result.outputs[i]!, go);
    const exp = expected[i]!;
    expect(got.shape, `output ${i} shape`).toEqual(exp.dims);
    const bad = firstOutside(got.data as ArrayLike<number>, exp.data);
    if (bad >= 0) expect.fail(`output ${i} element ${bad}: ${Number(got.data[bad])} vs onnxruntime ${Number(exp.data[bad])}`);
  });
  return g;
}
