/** Shared by the float engine tests: the ONNX node-test cases, their .pb data, and tolerant comparison. */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { readTensorProtoFile, type DecodedTensor } from '../../src/formats/onnx/tensor.ts';
import { isNpyDType, typedFromBytes } from '../../src/data/npy.ts';
import type { TensorValue } from '../../src/reference/tensor-value.ts';
import { MODELS } from '../helpers/shared.ts';

export const NODE_TESTS_ROOT = join(MODELS, 'onnx-node-tests');

/** Every node test folder, relative to NODE_TESTS_ROOT (the pytorch-converted ones included). */
export const NODE_TEST_CASES: string[] = [
  ...readdirSync(NODE_TESTS_ROOT).filter((d) => d.startsWith('test_')),
  ...readdirSync(join(NODE_TESTS_ROOT, 'pytorch-converted')).map((d) => join('pytorch-converted', d)),
].sort();

export function toValue(t: DecodedTensor): TensorValue {
  if (!isNpyDType(t.dtype)) throw new Error(`test data dtype ${t.dtype} not handled`);
  return { dtype: t.dtype, shape: t.shape, data: typedFromBytes(t.dtype, t.data) };
}

/** input_N.pb or output_N.pb of test_data_set_0, as values in the ONNX (source) layout. */
export function nodeTestData(caseName: string, prefix: 'input' | 'output'): TensorValue[] {
  const dir = join(NODE_TESTS_ROOT, caseName, 'test_data_set_0');
  const out: TensorValue[] = [];
  for (let i = 0; existsSync(join(dir, `${prefix}_${i}.pb`)); i++) {
    const f = join(dir, `${prefix}_${i}.pb`);
    out.push(toValue(readTensorProtoFile(new Uint8Array(readFileSync(f)), f)));
  }
  return out;
}

/** Index of the first element with |got - want| > atol + rtol * |want|, or -1. */
export function firstMismatch(got: ArrayLike<number | bigint>, want: ArrayLike<number | bigint>, rtol: number, atol: number): number {
  if (got.length !== want.length) return Math.min(got.length, want.length);
  for (let i = 0; i < want.length; i++) {
    const g = Number(got[i]!);
    const w = Number(want[i]!);
    if (!(Math.abs(g - w) <= atol + rtol * Math.abs(w))) return i;
  }
  return -1;
}
