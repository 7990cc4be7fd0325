/**
 * Robust parsing (issue 2 item 5): every shared .tflite and .onnx model is mutated at least 1,000
 * times (bit flips, truncations, duplicated ranges, overwritten 32-bit words; a seeded PRNG, so a
 * failure names a reproducible mutation) and fed to importModel. Each mutant must import or be
 * rejected with InvalidModelError/UnsupportedError; nothing else may escape, no single import may
 * take 2 s, and memory must stay bounded.
 *
 * Each model runs in its own child process with a capped V8 heap, so a crash, an endless loop or
 * a runaway allocation shows up as this test failing with the model's name instead of killing the
 * test runner.
 */
import { describe, it, expect } from 'vitest';
import { spawn } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { MODELS, PROJECT_ROOT } from './helpers/shared.ts';

const MUTANTS_PER_MODEL = 1000;
const MAX_IMPORT_MS = 2000;
/** Growth of V8 heap + ArrayBuffers over the run of one model. */
const MAX_MEMORY_GROWTH_BYTES = 1024 * 1024 * 1024;
/** A child that runs longer than this is stuck (all 1,000 mutants of the largest model take ~10 s). */
const CHILD_TIMEOUT_MS = 120_000;
const PARALLEL_CHILDREN = 2;

function findModels(dir: string): string[] {
  const found: string[] = [];
  for (const entry of readdirSync(dir)) {
    const p = join(dir, entry);
    if (statSync(p).isDirectory()) found.push(...findModels(p));
    else if (entry.endsWith('.tflite') || entry.endsWith('.onnx')) found.push(p);
  }
  return found.sort();
}

/**
 * The child: ESM evaluated by node with tsx registered, args [projectRoot, count, JSON [[model, seed], ...]].
 * Prints a `start` line before each model and one JSON result line after it.
 */
const WORKER = String.raw`
import { readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { pathToFileURL } from 'node:url';

const [root, countArg, jobsArg] = process.argv.slice(1);
const { importModel } = await import(pathToFileURL(join(root, 'src/formats/load.ts')).href);
const { TinymlError } = await import(pathToFileURL(join(root, 'src/errors.ts')).href);

const { prng, mutateWith: mutate } = await import(pathToFileURL(join(root, 'test/helpers/model-mutations.ts')).href);

const memory = () => { const m = process.memoryUsage(); return m.heapUsed + m.arrayBuffers; };
const count = Number(countArg);
for (const [modelPath, seed] of JSON.parse(jobsArg)) {
  const original = new Uint8Array(readFileSync(modelPath));
  const name = basename(modelPath);
  const rand = prng(seed);
  const baseline = memory();
  let peakMemory = baseline;
  const result = { model: modelPath, imported: 0, rejected: 0, escaped: [], slowest: { ms: 0, index: -1, how: '' }, memoryGrowthBytes: 0 };
  // Announce the model first: if the process dies, the parent knows which model killed it.
  process.stdout.write(JSON.stringify({ start: modelPath }) + '\n');
  for (let i = 0; i < count; i++) {
    const { bytes, how } = mutate(original, rand);
    const t0 = performance.now();
    try {
      importModel(bytes, name);
      result.imported++;
    } catch (e) {
      if (e instanceof TinymlError && (e.kind === 'invalid-model' || e.kind === 'unsupported')) result.rejected++;
      else if (result.escaped.length < 5) {
        const err = e instanceof Error ? e : new Error(String(e));
        result.escaped.push({ index: i, how, error: err.constructor.name + ': ' + err.message, at: (err.stack || '').split('\n').slice(1, 3).map((s) => s.trim().replace(/^at /, '')).join(' < ') });
      } else result.escaped.push({ index: i, how, error: 'more' });
    }
    const ms = performance.now() - t0;
    if (ms > result.slowest.ms) result.slowest = { ms, index: i, how };
    if ((i & 15) === 0) peakMemory = Math.max(peakMemory, memory());
  }
  peakMemory = Math.max(peakMemory, memory());
  result.memoryGrowthBytes = peakMemory - baseline;
  process.stdout.write(JSON.stringify(result) + '\n');
}
`;

interface FuzzResult {
  model: string;
  imported: number;
  rejected: number;
  escaped: { index: number; how: string; error: string; at?: string }[];
  slowest: { ms: number; index: number; how: string };
  memoryGrowthBytes: number;
}

/** Stable per-model seed, so the same file always gets the same mutants. */
function seedFor(path: string): number {
  let h = 2166136261;
  for (const c of relative(MODELS, path)) h = Math.imul(h ^ c.charCodeAt(0), 16777619);
  return h >>> 0;
}

type Outcome = { result?: FuzzResult; failure?: string };

/**
 * Fuzzes `batch` in one child. Returns the outcome of every model the child finished and, if it
 * died or hung, a failure for the model it was on; the caller restarts the rest in a new child.
 */
function fuzzInChild(batch: string[]): Promise<Map<string, Outcome>> {
  return new Promise((resolveRun) => {
    const jobs = JSON.stringify(batch.map((m) => [m, seedFor(m)]));
    const child = spawn(process.execPath, ['--max-old-space-size=1536', '--import', 'tsx', '--input-type=module', '-e', WORKER, PROJECT_ROOT, String(MUTANTS_PER_MODEL), jobs], {
      cwd: PROJECT_ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const outcomes = new Map<string, Outcome>();
    let current: string | null = null;
    let pending = '';
    let stderr = '';
    let timer: NodeJS.Timeout | undefined;
    const arm = () => {
      clearTimeout(timer);
      timer = setTimeout(() => child.kill('SIGKILL'), CHILD_TIMEOUT_MS);
    };
    arm();
    child.stdout.on('data', (d: Buffer) => {
      pending += d.toString();
      let nl: number;
      while ((nl = pending.indexOf('\n')) >= 0) {
        const line = pending.slice(0, nl);
        pending = pending.slice(nl + 1);
        if (!line.startsWith('{')) continue;
        const msg = JSON.parse(line) as { start?: string } & FuzzResult & { model?: string };
        if (msg.start) {
          current = msg.start;
          arm();
        } else if (msg.model) {
          outcomes.set(msg.model, { result: msg });
          current = null;
        }
      }
    });
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (current !== null || code !== 0) {
        const why = signal === 'SIGKILL' ? `stuck for ${CHILD_TIMEOUT_MS} ms` : `child exited with ${signal ?? `code ${code}`}`;
        outcomes.set(current ?? batch.find((m) => !outcomes.has(m)) ?? '(unknown)', { failure: `${why}: ${stderr.trim().split('\n').slice(-3).join(' | ')}` });
      }
      resolveRun(outcomes);
    });
  });
}

/** Runs every model, PARALLEL_CHILDREN children at a time, restarting after a crash. */
async function fuzzAll(models: string[]): Promise<Map<string, Outcome>> {
  const all = new Map<string, Outcome>();
  const lanes = Array.from({ length: PARALLEL_CHILDREN }, (_, lane) => models.filter((_, i) => i % PARALLEL_CHILDREN === lane));
  await Promise.all(
    lanes.map(async (lane) => {
      let rest = lane;
      while (rest.length > 0) {
        const done = await fuzzInChild(rest);
        for (const [m, o] of done) all.set(m, o);
        const next = rest.filter((m) => !done.has(m));
        if (next.length === rest.length) break; // the child could not start at all
        rest = next;
      }
    }),
  );
  return all;
}

const models = findModels(MODELS);

describe('importers survive mutated models', () => {
  it('finds the shared .tflite and .onnx models', () => {
    expect(models.some((m) => m.endsWith('.tflite'))).toBe(true);
    expect(models.some((m) => m.endsWith('.onnx'))).toBe(true);
  });

  it(
    `every one of ${MUTANTS_PER_MODEL} mutants per model imports or fails with our typed error, each under ${MAX_IMPORT_MS} ms, memory bounded`,
    async () => {
      const outcomes = await fuzzAll(models);

      const problems: string[] = [];
      for (const model of models) {
        const name = relative(MODELS, model);
        const o = outcomes.get(model);
        if (!o) {
          problems.push(`${name}: not run (its child could not start)`);
          continue;
        }
        if (o.failure) {
          problems.push(`${name}: ${o.failure}`);
          continue;
        }
        const r = o.result!;
        if (r.imported + r.rejected + r.escaped.length !== MUTANTS_PER_MODEL) problems.push(`${name}: ran ${r.imported + r.rejected + r.escaped.length} mutants`);
        for (const e of r.escaped.slice(0, 3)) problems.push(`${name} (seed ${seedFor(model)}, mutant ${e.index}: ${e.how}): ${e.error}${e.at ? ` at ${e.at}` : ''}`);
        if (r.escaped.length > 3) problems.push(`${name}: ${r.escaped.length - 3} more mutants escaped with untyped errors`);
        if (r.slowest.ms > MAX_IMPORT_MS) problems.push(`${name} (seed ${seedFor(model)}, mutant ${r.slowest.index}: ${r.slowest.how}): import took ${Math.round(r.slowest.ms)} ms`);
        if (r.memoryGrowthBytes > MAX_MEMORY_GROWTH_BYTES) problems.push(`${name}: memory grew by ${r.memoryGrowthBytes} bytes`);
      }
      // One line for the log: how many mutants imported vs were rejected, per format.
      const tally = { tflite: { imported: 0, rejected: 0 }, onnx: { imported: 0, rejected: 0 } };
      for (const o of outcomes.values()) {
        if (!o.result) continue;
        const t = o.result.model.endsWith('.onnx') ? tally.onnx : tally.tflite;
        t.imported += o.result.imported;
        t.rejected += o.result.rejected;
      }
      console.log(`fuzz: ${models.length} models x ${MUTANTS_PER_MODEL}: tflite ${tally.tflite.imported} imported / ${tally.tflite.rejected} rejected; onnx ${tally.onnx.imported} imported / ${tally.onnx.rejected} rejected`);
      expect(problems).toEqual([]);
    },
    600_000,
  );
});
