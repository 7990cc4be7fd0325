/** The shared int8 models with TFLite Micro golden outputs, as the native backend tests use them. */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { GOLDEN, SHARED } from './shared.ts';

export interface GoldenModel {
  id: string;
  modelPath: string;
  /** cases[k] = { inputs: raw bytes per model input, outputs: raw bytes per model output } */
  cases: { inputs: Uint8Array[]; outputs: Uint8Array[] }[];
}

function files(dir: string, prefix: string): Uint8Array[] {
  return readdirSync(dir)
    .filter((f) => f.startsWith(prefix) && f.endsWith('.bin'))
    .sort((a, b) => Number(a.slice(prefix.length, -4)) - Number(b.slice(prefix.length, -4)))
    .map((f) => new Uint8Array(readFileSync(join(dir, f))));
}

export const GOLDEN_IDS = readdirSync(GOLDEN, { withFileTypes: true })
  .filter((d) => d.isDirectory())
  .map((d) => d.name)
  .sort();

export function goldenModel(id: string): GoldenModel {
  const meta = JSON.parse(readFileSync(join(GOLDEN, id, 'meta.json'), 'utf8')) as { model: string; cases: unknown[] };
  const cases = meta.cases.map((_, k) => {
    const dir = join(GOLDEN, id, `case_${k}`);
    return { inputs: files(dir, 'input_'), outputs: files(dir, 'output_') };
  });
  return { id, modelPath: join(SHARED, meta.model), cases };
}
