/**
 * The int8 reference executor against TFLite Micro itself: every output of every golden case,
 * and every intermediate tensor of case_0, must equal the bytes the real TFLM reference
 * kernels produced (../shared/golden, see its README). No tolerance.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { importTflite } from '../../src/formats/tflite/import.ts';
import type { Graph } from '../../src/ir/graph.ts';
import { prepareInt8, runInt8, type Int8Program } from '../../src/reference/int8/index.ts';
import type { TensorValue, TypedArray } from '../../src/reference/tensor-value.ts';
import { GOLDEN, SHARED } from '../helpers/shared.ts';

interface GoldenTensor {
  tensor_index: number;
  name: string;
  shape: number[];
  dtype: string;
  file: string;
  producer_op_type?: string | null;
  producer_op_index?: number;
}
interface GoldenCase {
  case: string;
  inputs: GoldenTensor[];
  outputs: GoldenTensor[];
}
interface GoldenMeta {
  model: string;
  outputs: { tensor_index: number }[];
  cases: GoldenCase[];
  intermediates?: { tensors: GoldenTensor[] };
}

function typed(dtype: string, bytes: Uint8Array): TypedArray {
  const buf = bytes.slice().buffer;
  switch (dtype) {
    case 'int8':
      return new Int8Array(buf);
    case 'uint8':
      return new Uint8Array(buf);
    case 'int16':
      return new Int16Array(buf);
    case 'int32':
      return new Int32Array(buf);
    case 'float32':
      return new Float32Array(buf);
    default:
      throw new Error(`golden dtype ${dtype} not handled by this test`);
  }
}

function readGolden(modelId: string, t: GoldenTensor): TypedArray {
  return typed(t.dtype, new Uint8Array(readFileSync(join(GOLDEN, modelId, t.file))));
}

/** Differing elements as "index: got vs want" (at most 5), empty when equal. */
function mismatches(got: TypedArray, want: TypedArray): string[] {
  const out: string[] = [];
  if (got.length !== want.length) return [`length ${got.length} vs ${want.length}`];
  let count = 0;
  for (let k = 0; k < want.length; k++) {
    if (got[k] !== want[k]) {
      count++;
      if (out.length < 5) out.push(`[${k}]: got ${got[k]} want ${want[k]}`);
    }
  }
  if (count > 5) out.push(`... ${count} of ${want.length} differ`);
  return out;
}

const modelIds = readdirSync(GOLDEN, { withFileTypes: true })
  .filter((d) => d.isDirectory())
  .map((d) => d.name)
  .sort();

it('finds the six golden models', () => {
  expect(modelIds).toEqual([
    'mlperf-tiny-ad',
    'mlperf-tiny-ic',
    'mlperf-tiny-kws',
    'tflm-hello-world',
    'tflm-keyword-scrambled',
    'tflm-micro-speech',
  ]);
});

for (const id of modelIds) {
  describe(id, () => {
    const meta = JSON.parse(readFileSync(join(GOLDEN, id, 'meta.json'), 'utf8')) as GoldenMeta;
    let graph: Graph | undefined;
    const load = (): Graph => (graph ??= importTflite(new Uint8Array(readFileSync(join(SHARED, meta.model))), meta.model));
    const inputsOf = (c: GoldenCase): TensorValue[] =>
      c.inputs.map((i) => ({ dtype: i.dtype as TensorValue['dtype'], shape: i.shape, data: readGolden(id, i) }));

    for (const c of meta.cases) {
      it(`${c.case}: every output element equals TFLite Micro's`, () => {
        const result = runInt8(load(), inputsOf(c));
        expect(result.outputs).toHaveLength(c.outputs.length);
        c.outputs.forEach((o, j) => {
          const got = result.outputs[j]!;
          expect(got.dtype).toBe(o.dtype);
          expect(mismatches(got.data, readGolden(id, o)), `output ${j} (tensor ${o.tensor_index})`).toEqual([]);
        });
      });
    }

    const case0 = meta.cases.find((c) => c.case === 'case_0');
    if (meta.intermediates !== undefined && case0 !== undefined) {
      it('case_0: every intermediate tensor equals TFLite Micro\'s', () => {
        const result = runInt8(load(), inputsOf(case0), { keepIntermediates: true });
        const failures: Record<string, string[]> = {};
        for (const t of meta.intermediates!.tensors) {
          const got = result.tensors?.get(t.tensor_index);
          const diff = got === undefined ? ['not computed'] : mismatches(got.data, readGolden(id, t));
          if (diff.length > 0) failures[`t${t.tensor_index} (${t.producer_op_type ?? 'input/state'})`] = diff;
        }
        expect(failures).toEqual({});
      });
    }
  });
}

describe('state across invocations', () => {
  it('keeps the SVDF state between runs of one program and resets it on request', () => {
    const meta = JSON.parse(readFileSync(join(GOLDEN, 'tflm-keyword-scrambled', 'meta.json'), 'utf8')) as GoldenMeta;
    const graph = importTflite(new Uint8Array(readFileSync(join(SHARED, meta.model))), meta.model);
    const c = meta.cases[0]!;
    const inputs = c.inputs.map((i) => ({ dtype: 'int16' as const, shape: i.shape, data: readGolden('tflm-keyword-scrambled', i) }));
    const program: Int8Program = prepareInt8(graph);
    const stateTensor = meta.intermediates!.tensors.find((t) => t.producer_op_index === -1 && t.dtype === 'int16' && t.tensor_index !== 52);
    const first = program.run(inputs, { keepIntermediates: true }).tensors!.get(stateTensor!.tensor_index)!.data;
    expect(mismatches(first, readGolden('tflm-keyword-scrambled', stateTensor!))).toEqual([]);
    const second = program.run(inputs, { keepIntermediates: true }).tensors!.get(stateTensor!.tensor_index)!.data;
    expect(mismatches(second, first)).not.toEqual([]);
    program.resetState();
    const again = program.run(inputs, { keepIntermediates: true }).tensors!.get(stateTensor!.tensor_index)!.data;
    expect(mismatches(again, first)).toEqual([]);
  });
});
