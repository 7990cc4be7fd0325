/**
 * Import-time benchmark: every shared .tflite/.onnx model is imported N times (after a few
 * warm-up runs, so the JIT has settled) from bytes already in memory; the median, min and max
 * wall time per model go to bench/results/import.json, with the largest model called out.
 *
 *   node bin/run-ts.js bench/import.ts [--runs N]
 */
import { readdirSync, readFileSync, statSync, writeFileSync, mkdirSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { importModel } from '../src/formats/load.ts';
import { benchHost } from './host.ts';

const ROOT = resolve(import.meta.dirname, '..');
const MODELS = resolve(ROOT, '../shared/models');
const OUT = resolve(ROOT, 'bench/results/import.json');
const runsArg = process.argv.indexOf('--runs');
const RUNS = runsArg > 0 ? Number(process.argv[runsArg + 1]) : 21;
const WARMUP = 3;

function findModels(dir: string): string[] {
  return readdirSync(dir)
    .flatMap((entry) => {
      const p = join(dir, entry);
      if (statSync(p).isDirectory()) return findModels(p);
      return entry.endsWith('.tflite') || entry.endsWith('.onnx') ? [p] : [];
    })
    .sort();
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

const round = (ms: number) => Math.round(ms * 1000) / 1000;

const results = findModels(MODELS).map((path) => {
  const bytes = new Uint8Array(readFileSync(path));
  const name = relative(MODELS, path);
  let ops = 0;
  for (let i = 0; i < WARMUP; i++) ops = importModel(bytes, path).ops.length;
  const times: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const t0 = performance.now();
    importModel(bytes, path);
    times.push(performance.now() - t0);
  }
  return { model: name, bytes: bytes.length, ops, medianMs: round(median(times)), minMs: round(Math.min(...times)), maxMs: round(Math.max(...times)) };
});

const largest = results.reduce((a, b) => (b.bytes > a.bytes ? b : a));
const report = {
  benchmark: 'import',
  what: 'importModel(bytes) wall time, model bytes already in memory; median of the runs after warm-up',
  ...benchHost(),
  runs: RUNS,
  warmup: WARMUP,
  largest: { model: largest.model, bytes: largest.bytes, medianMs: largest.medianMs },
  models: results,
};
mkdirSync(resolve(ROOT, 'bench/results'), { recursive: true });
writeFileSync(OUT, JSON.stringify(report, null, 2) + '\n');
console.log(`largest model ${largest.model} (${largest.bytes} bytes): median ${largest.medianMs} ms over ${RUNS} runs`);
const slowest = [...results].sort((a, b) => b.medianMs - a.medianMs).slice(0, 5);
for (const r of slowest) console.log(`  ${r.model}: ${r.medianMs} ms (${r.bytes} bytes, ${r.ops} ops)`);
console.log(`${results.length} models; written to ${relative(ROOT, OUT)}`);
