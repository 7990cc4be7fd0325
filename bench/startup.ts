/**
 * Start-up and rebuild benchmark.
 *
 * Start-up: wall time of `tinyml --version` and `tinyml inspect <small model>` (the compiled
 * JavaScript in dist/, what bin/tinyml.js runs) beside bare `node -e 0`, and beside the same
 * --version run through the tsx transpiler (how tinyml started before dist/). The commands are
 * run interleaved, RUNS times each after a warm-up, on a machine that may be shared, so the
 * medians and minimums are reported.
 *
 * Rebuild: `tinyml build` of the same model twice into a fresh cache folder: the first compiles
 * the kernels, runtime and platform objects, the second links them from the cache.
 *
 *   node bin/run-ts.js bench/startup.ts [--runs N]
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, mkdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { benchHost } from './host.ts';

const ROOT = resolve(import.meta.dirname, '..');
const OUT = resolve(ROOT, 'bench/results/startup.json');
const runsArg = process.argv.indexOf('--runs');
const RUNS = runsArg > 0 ? Number(process.argv[runsArg + 1]) : 21;
const SMALL = resolve(ROOT, '../shared/models/tflm-hello-world/hello_world_int8.tflite');
const BUILD_MODEL = resolve(ROOT, 'examples/kws/kws_ref_model.tflite');
const TINYML = resolve(ROOT, 'bin/tinyml.js');

// tsx, as bin/tinyml.js ran before dist/: register the loader, import the TypeScript sources.
const tsxScript = join(mkdtempSync(join(tmpdir(), 'tinyml-bench-')), 'tsx-start.mjs');
writeFileSync(
  tsxScript,
  `import { register } from ${JSON.stringify(resolve(ROOT, 'node_modules/tsx/dist/esm/api/index.mjs'))};\nregister();\nconst { main } = await import(${JSON.stringify(resolve(ROOT, 'src/cli/main.ts'))});\nprocess.exitCode = await main(process.argv);\n`,
);

const cases: { name: string; args: string[] }[] = [
  { name: 'node -e 0', args: ['-e', '0'] },
  { name: 'tinyml --version', args: [TINYML, '--version'] },
  { name: 'tinyml inspect hello_world_int8.tflite', args: [TINYML, 'inspect', SMALL] },
  { name: 'tinyml --version through tsx (before dist/)', args: [tsxScript, '--version'] },
];

function timeOnce(args: string[], env: NodeJS.ProcessEnv = process.env): number {
  const t0 = performance.now();
  const r = spawnSync(process.execPath, args, { cwd: ROOT, encoding: 'utf8', env });
  const ms = performance.now() - t0;
  if (r.status !== 0) throw new Error(`${args.join(' ')} failed: ${r.stderr}`);
  return ms;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

const round = (ms: number) => Math.round(ms * 10) / 10;

for (const c of cases) timeOnce(c.args); // warm-up: file cache, dist/ built
const times = new Map(cases.map((c) => [c.name, [] as number[]]));
for (let i = 0; i < RUNS; i++) for (const c of cases) times.get(c.name)!.push(timeOnce(c.args));
const startup = cases.map((c) => {
  const t = times.get(c.name)!;
  return { command: c.name, medianMs: round(median(t)), minMs: round(Math.min(...t)) };
});
const nodeMedian = startup[0]!.medianMs;
const versionMedian = startup[1]!.medianMs;

// Rebuild with a cold, then a warm cache.
const cache = mkdtempSync(join(tmpdir(), 'tinyml-bench-cache-'));
const outs = mkdtempSync(join(tmpdir(), 'tinyml-bench-build-'));
const env = { ...process.env, TINYML_CACHE: cache };
const build = (k: number) => {
  const t0 = performance.now();
  const r = spawnSync(process.execPath, [TINYML, 'build', BUILD_MODEL, '--board', 'mps2-an386', '--out', join(outs, String(k)), '--json'], { cwd: ROOT, encoding: 'utf8', env });
  const ms = performance.now() - t0;
  if (r.status !== 0) throw new Error(`build failed: ${r.stderr}`);
  return { ms: round(ms), cachedObjects: (JSON.parse(r.stdout) as { cachedObjects: boolean }).cachedObjects, bin: readFileSync(join(outs, String(k), 'firmware.bin')) };
};
const cold = build(1);
const warm = build(2);
rmSync(cache, { recursive: true, force: true });
rmSync(outs, { recursive: true, force: true });
rmSync(join(tsxScript, '..'), { recursive: true, force: true });

const report = {
  benchmark: 'startup',
  what: 'wall time of whole processes (spawn to exit), median and minimum of interleaved runs after a warm-up; time, not emulated instructions',
  ...benchHost(),
  runs: RUNS,
  startup,
  versionOverNode: Math.round((versionMedian / nodeMedian) * 100) / 100,
  rebuild: {
    command: 'tinyml build examples/kws/kws_ref_model.tflite --board mps2-an386 (same model twice, fresh TINYML_CACHE)',
    firstMs: cold.ms,
    firstCachedObjects: cold.cachedObjects,
    secondMs: warm.ms,
    secondCachedObjects: warm.cachedObjects,
    sameFirmware: cold.bin.equals(warm.bin),
  },
};
mkdirSync(resolve(ROOT, 'bench/results'), { recursive: true });
writeFileSync(OUT, `${JSON.stringify(report, null, 2)}\n`);
process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
