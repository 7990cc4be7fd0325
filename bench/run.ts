/**
 * `npm run bench [-- <name>...]`: runs the benchmark scripts (all of them, or those named), each
 * in its own process as the README lists them, and stops at the first that fails. Every script
 * writes its committed result file in bench/results/.
 */
import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';

const ROOT = resolve(import.meta.dirname, '..');

const BENCHMARKS: { name: string; script: string; args?: string[]; result: string }[] = [
  { name: 'startup', script: 'bench/startup.ts', result: 'bench/results/startup.json' },
  { name: 'import', script: 'bench/import.ts', result: 'bench/results/import.json' },
  { name: 'reference-int8', script: 'bench/reference-int8.ts', result: 'bench/results/reference-int8.json' },
  { name: 'ptq', script: 'bench/ptq.ts', args: ['ptq'], result: 'bench/results/ptq.json' },
  { name: 'quality', script: 'bench/ptq.ts', args: ['quality'], result: 'bench/results/quality.json' },
  { name: 'native', script: 'bench/native.ts', result: 'bench/results/native.json' },
  { name: 'emulated', script: 'bench/emulated.ts', result: 'bench/results/emulated.json' },
  { name: 'onnx-cases', script: 'bench/onnx-cases.ts', result: 'bench/results/onnx-cases.json' },
];

const wanted = process.argv.slice(2);
const unknown = wanted.filter((w) => !BENCHMARKS.some((b) => b.name === w));
if (unknown.length > 0) {
  process.stderr.write(`bench: unknown benchmark ${unknown.join(', ')}: choose from ${BENCHMARKS.map((b) => b.name).join(', ')}\n`);
  process.exit(2);
}
for (const b of BENCHMARKS.filter((x) => wanted.length === 0 || wanted.includes(x.name))) {
  process.stdout.write(`bench: ${b.name} (${b.script}) -> ${b.result}\n`);
  const r = spawnSync(process.execPath, [resolve(ROOT, 'bin/run-ts.js'), b.script, ...(b.args ?? [])], { cwd: ROOT, stdio: ['ignore', 'ignore', 'inherit'] });
  if (r.status !== 0) {
    process.stderr.write(`bench: ${b.name} failed (exit ${r.status})\n`);
    process.exit(r.status ?? 1);
  }
}
