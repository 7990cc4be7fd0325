/**
 * The one-op conformance models of ../shared/models/tflm-ops with their TFLite Micro reference
 * goldens (../shared/golden-ops, layout as ../shared/golden): ids, meta, case bytes.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SHARED } from './shared.ts';

export const GOLDEN_OPS = join(SHARED, 'golden-ops');

export interface GoldenOpMeta {
  model: string;
  variant: { op: string; activation_dtype: string; params?: Record<string, unknown> };
  cases: { case: string; inputs: { file: string; dtype: string; shape: number[] }[]; outputs: { file: string; dtype: string; shape: number[] }[] }[];
}

export interface GoldenOpCase {
  inputs: Uint8Array[];
  outputs: Uint8Array[];
}

export interface GoldenOp {
  id: string;
  meta: GoldenOpMeta;
  modelPath: string;
  cases: GoldenOpCase[];
}

/** Every variant folder, sorted. */
export const GOLDEN_OP_IDS: string[] = readdirSync(GOLDEN_OPS, { withFileTypes: true })
  .filter((d) => d.isDirectory())
  .map((d) => d.name)
  .sort();

export function goldenOp(id: string): GoldenOp {
  const meta = JSON.parse(readFileSync(join(GOLDEN_OPS, id, 'meta.json'), 'utf8')) as GoldenOpMeta;
  const read = (f: string) => new Uint8Array(readFileSync(join(GOLDEN_OPS, id, f)));
  const cases = meta.cases.map((c) => ({ inputs: c.inputs.map((t) => read(t.file)), outputs: c.outputs.map((t) => read(t.file)) }));
  return { id, meta, modelPath: join(SHARED, meta.model), cases };
}

/** Differing byte positions as "byte k: got a want b" (at most 5), empty when equal. */
export function byteDiff(got: Uint8Array, want: Uint8Array): string[] {
  if (got.length !== want.length) return [`length ${got.length} vs ${want.length}`];
  const out: string[] = [];
  let count = 0;
  for (let k = 0; k < want.length; k++) {
    if (got[k] !== want[k]) {
      count++;
      if (out.length < 5) out.push(`byte ${k}: got ${got[k]} want ${want[k]}`);
    }
  }
  if (count > 5) out.push(`... ${count} of ${want.length} bytes differ`);
  return out;
}
