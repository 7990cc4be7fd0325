/**
 * Robustness benchmark (issue 14): hostile models, hostile devices, huge models. Run by hand:
 *
 *   node bin/run-ts.js bench/robustness.ts [--mutants 1000] [--records 100000] [--only mutation|decoder|scale]
 *   node bin/run-ts.js bench/robustness.ts --mutant <model under ../shared/models> <index> <out file>
 *
 * Writes bench/results/robustness.json with three sections:
 *
 * - mutation: every small shared model is mutated --mutants times (bit flips, truncations,
 *   duplicated ranges, interesting 32-bit words, random bytes; a seeded PRNG, so each mutant is
 *   reproducible from its index) and each mutant goes through what the commands do, in order:
 *   `inspect`, `infer` on the default engine (zero-point inputs), then `build` up to the
 *   compiler for int8 models (plan, lowering, the fit check, C generation) or `convert` for
 *   float ones. The exit code each mutant would give (TinymlError's code, 1 for anything else)
 *   is counted; internal errors (exit 1) must be 0 and are listed with the mutation; a mutant
 *   that takes more than 60 s in one stage is a hang (must be 0; the worker is restarted).
 *   Peak memory is the worker's VmHWM.
 * - decoder: --records report records through the protocol decoder and the report collector
 *   (and JSON.stringify, the JSONL log): valid records of every type (fast-check arbitraries of
 *   test/helpers/record-arbitraries.ts) interleaved with hostile valid-CRC records and random
 *   garbage, the stream split at random. Crashes must be 0 and every valid record kept.
 * - scale: generated chains of int8 ADD ops sharing one constant: import time of 100k ops
 *   (TFLite and ONNX), plan + lowering + C generation time and size, the build's refusal of
 *   100k ops (before the compiler), and the wall time and peak memory of real firmware builds
 *   with grouped dispatch (arm-none-eabi-gcc -Os).
 *
 * Each section runs in its own child process (the mutation one per model), so peak memory is
 * per section and a crash or hang is caught and counted instead of ending the benchmark.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { extname, join, relative, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { benchHost } from './host.ts';
import { mutateWith, prng } from '../test/helpers/model-mutations.ts';

const ROOT = resolve(import.meta.dirname, '..');
const SHARED = resolve(ROOT, '../shared/models');
const OUT = resolve(ROOT, 'bench/results/robustness.json');
const SELF = resolve(import.meta.dirname, 'robustness.ts');
const RUN_TS = resolve(ROOT, 'bin/run-ts.js');

/** The small shared models every mutant is made from. */
const MODELS = [
  'tflm-hello-world/hello_world_int8.tflite',
  'tflm-hello-world/hello_world_float.tflite',
  'tflm-micro-speech/micro_speech_quantized.tflite',
  'tflm-benchmarks/keyword_scrambled.tflite',
  'mlperf-tiny/kws/kws_ref_model.tflite',
  'onnx-mnist/mnist-8.onnx',
];
const HANG_MS = 60_000;

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(name);
  return i > 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1]! : fallback;
}

/** Peak resident memory of this process (VmHWM), bytes. */
function peakRss(): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'));
  return m ? Number(m[1]) * 1024 : process.memoryUsage().rss;
}

// ---- mutation worker ----------------------------------------------------------------------------

/** Mutant number `index` of `src`: the same index always gives the same bytes. */
function mutate(src: Uint8Array, seed: number, index: number): { bytes: Uint8Array; how: string } {
  return mutateWith(src, prng((seed ^ Math.imul(index + 1, 0x9e3779b1)) >>> 0));
}

/** Stable per-model seed (FNV-1a of its path under ../shared/models). */
function seedOf(model: string): number {
  return [...relative(SHARED, model)].reduce((h, c) => Math.imul(h ^ c.charCodeAt(0), 16777619), 2166136261) >>> 0;
}

interface MutantOutcome {
  i: number;
  how: string;
  /** The exit code the CLI would give: of the first stage that failed, or 0. */
  code: number;
  /** The stage that decided the code ('all' when every stage passed). */
  stage: string;
  ms: number;
  error?: string;
}

async function mutationWorker(model: string, seed: number, from: number, count: number): Promise<void> {
  const { TinymlError } = await import('../src/errors.ts');
  const { inspectModel } = await import('../src/inspect/inspect.ts');
  const { infer } = await import('../src/infer/infer.ts');
  const { loadModel } = await import('../src/formats/load.ts');
  const { convertModel } = await import('../src/quantize/convert.ts');
  const { generateNative } = await import('../src/codegen/native/generate.ts');
  const { checkFit, isFloatGraph, opCodeEstimate, stackReserve } = await import('../src/build/firmware.ts');
  const { getBoard } = await import('../src/boards/registry.ts');
  const { PLATFORM_DIR } = await import('../src/build/paths.ts');
  const { elementCount, dtypeSize } = await import('../src/ir/graph.ts');

  const board = getBoard('mps2-an386');
  const stack = stackReserve(join(PLATFORM_DIR, board.id, 'linker.ld'));
  const src = new Uint8Array(readFileSync(model));
  const dir = mkdtempSync(join(tmpdir(), 'tinyml-robust-'));
  const ext = extname(model);

  const codeOf = (e: unknown) => (e instanceof TinymlError ? e.exitCode : 1);
  const describe = (e: unknown) => {
    const err = e instanceof Error ? e : new Error(String(e));
    return `${err.constructor.name}: ${err.message.slice(0, 300)} @ ${(err.stack ?? '').split('\n').slice(1, 3).map((s) => s.trim()).join(' < ')}`;
  };

  for (let i = from; i < from + count; i++) {
    const { bytes, how } = mutate(src, seed, i);
    const path = join(dir, `mutant${ext}`);
    writeFileSync(path, bytes);
    process.stdout.write(`${JSON.stringify({ begin: i })}\n`);
    const t0 = performance.now();
    let stage = 'inspect';
    const done = (code: number, error?: unknown) => {
      const o: MutantOutcome = { i, how, code, stage: code === 0 ? 'all' : stage, ms: Math.round(performance.now() - t0) };
      if (code === 1) o.error = describe(error);
      process.stdout.write(`${JSON.stringify(o)}\n`);
    };
    try {
      inspectModel(path);
      stage = 'infer';
      const graph = loadModel(path);
      const inputs = graph.inputs.map((gi, k) => {
        const t = graph.tensors[gi.tensor]!;
        const n = elementCount(gi.sourceLayout?.shape ?? t.shape) * Math.max(1, dtypeSize(t.dtype));
        const f = join(dir, `input${k}.bin`);
        // A mutant may claim a huge input: give it one byte, which the loader must refuse.
        writeFileSync(f, new Uint8Array(n <= 16 * 1024 * 1024 ? n : 1));
        return f;
      });
      await infer(path, { inputs });
      if (isFloatGraph(graph)) {
        stage = 'convert';
        if (graph.inputs.length === 1) {
          convertModel(path, inputs[0]!, { calibrator: 'minmax', percentile: 99.99, io: 'int8', fcPerChannel: true, output: join(dir, 'converted.tflite') });
        }
      } else {
        stage = 'build';
        const inputBytes = graph.inputs.reduce((s, gi) => s + elementCount(graph.tensors[gi.tensor]!.shape) * dtypeSize(graph.tensors[gi.tensor]!.dtype), 0);
        generateNative(graph, {
          modelBytes: bytes,
          board: { id: board.id, clockHz: board.f_cpu, flashBytes: board.usable.flash_bytes, ramBytes: board.usable.ram_bytes },
          beforeRender: (lowered, plan) => checkFit(board, { weights: lowered.constBytes, inputs: inputBytes, arena: plan.arenaBytes, stack, code: opCodeEstimate(lowered) }),
        });
      }
      done(0);
    } catch (e) {
      done(codeOf(e), e);
    }
  }
  rmSync(dir, { recursive: true, force: true });
  process.stdout.write(`${JSON.stringify({ peakRss: peakRss() })}\n`);
}

/** Runs `count` mutants of one model in workers; a worker that hangs or dies is counted and replaced. */
function runMutation(model: string, count: number): Promise<unknown> {
  const seed = seedOf(model);
  const outcomes: MutantOutcome[] = [];
  const hangs: { i: number; how?: string; why: string }[] = [];
  let peak = 0;
  const started = performance.now();
  const runFrom = (from: number): Promise<void> =>
    new Promise((done) => {
      const child = spawn(process.execPath, ['--max-old-space-size=4096', RUN_TS, SELF, '--worker', 'mutation', model, String(seed), String(from), String(count - from)], {
        cwd: ROOT,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let current: number | null = null;
      let pending = '';
      let stderr = '';
      let timer: NodeJS.Timeout | undefined;
      const arm = () => {
        clearTimeout(timer);
        timer = setTimeout(() => child.kill('SIGKILL'), HANG_MS);
      };
      arm();
      child.stdout.on('data', (d: Buffer) => {
        pending += d.toString();
        for (let nl = pending.indexOf('\n'); nl >= 0; nl = pending.indexOf('\n')) {
          const line = pending.slice(0, nl);
          pending = pending.slice(nl + 1);
          if (!line.startsWith('{')) continue;
          const msg = JSON.parse(line) as { begin?: number; peakRss?: number } & MutantOutcome;
          if (msg.begin !== undefined) {
            current = msg.begin;
            arm();
          } else if (msg.peakRss !== undefined) peak = Math.max(peak, msg.peakRss);
          else {
            outcomes.push(msg);
            current = null;
          }
        }
      });
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      child.on('close', (code, signal) => {
        clearTimeout(timer);
        if (current !== null) {
          hangs.push({ i: current, why: signal === 'SIGKILL' ? `no answer in ${HANG_MS / 1000} s` : `worker died (${signal ?? code}): ${stderr.trim().split('\n').slice(-2).join(' | ')}` });
          done(runFrom(current + 1));
        } else if (code !== 0 && outcomes.length + hangs.length < count) {
          hangs.push({ i: outcomes.length + hangs.length, why: `worker exited ${signal ?? code}: ${stderr.trim().split('\n').slice(-2).join(' | ')}` });
          done(runFrom(outcomes.length + hangs.length));
        } else done();
      });
    });
  return runFrom(0).then(() => {
    const exitCodes: Record<string, number> = {};
    const byStage: Record<string, Record<string, number>> = {};
    for (const o of outcomes) {
      exitCodes[o.code] = (exitCodes[o.code] ?? 0) + 1;
      (byStage[o.stage] ??= {})[o.code] = (byStage[o.stage]![o.code] ?? 0) + 1;
    }
    const internal = outcomes.filter((o) => o.code === 1);
    const slowest = outcomes.reduce((a, b) => (b.ms > a.ms ? b : a), outcomes[0]!);
    return {
      model: relative(SHARED, model),
      mutants: outcomes.length + hangs.length,
      exitCodes,
      decidedAt: byStage,
      passedEveryStage: outcomes.filter((o) => o.code === 0).length,
      internalErrors: internal.length,
      internalErrorExamples: internal.slice(0, 10).map((o) => ({ mutant: o.i, how: o.how, stage: o.stage, error: o.error })),
      hangs: hangs.length,
      hangExamples: hangs.slice(0, 10),
      slowestMutant: slowest ? { mutant: slowest.i, how: slowest.how, stage: slowest.stage, ms: slowest.ms } : null,
      peakRssBytes: peak,
      wallSeconds: Math.round((performance.now() - started) / 100) / 10,
    };
  });
}

// ---- decoder worker -----------------------------------------------------------------------------

async function decoderWorker(total: number): Promise<void> {
  const fc = (await import('fast-check')).default;
  const { ReportDecoder } = await import('../src/device/protocol.ts');
  const { ReportCollector } = await import('../src/report/device-report.ts');
  const { frameJson, frameLine, hostileJson, hostileRecord, RECORD_TYPES, validRecord } = await import('../test/helpers/record-arbitraries.ts');

  const started = performance.now();
  const rand = prng(14);
  const BATCH = 1000;
  let sent = 0;
  let validSent = 0;
  let validKept = 0;
  let hostileSent = 0;
  let garbageBytes = 0;
  let crashes = 0;
  const crashExamples: string[] = [];
  const lost: string[] = [];
  const validByType: Record<string, number> = {};
  const rejectReasons: Record<string, number> = {};
  const stats = { records: 0, rejected: 0, logLines: 0, overlongLines: 0 };
  for (let batch = 0; sent < total; batch++) {
    const valid = fc.sample(validRecord, { numRuns: BATCH * 0.6, seed: 1000 + batch });
    const hostile = fc.sample(hostileRecord, { numRuns: BATCH * 0.4, seed: 5000 + batch });
    const decoder = new ReportDecoder();
    const collector = new ReportCollector();
    let wire = '';
    let h = 0;
    for (const r of valid) {
      wire += frameLine(r);
      validByType[RECORD_TYPES.includes(r.type) ? r.type : 'unknown'] = (validByType[RECORD_TYPES.includes(r.type) ? r.type : 'unknown'] ?? 0) + 1;
      if (rand() < 0.67 && h < hostile.length) wire += frameJson(hostileJson(hostile[h++]));
      if (rand() < 0.2) {
        const n = 1 + Math.floor(rand() * 120);
        let g = '';
        for (let k = 0; k < n; k++) g += String.fromCharCode(Math.floor(rand() * 256));
        wire += rand() < 0.5 ? `${g}\n` : g; // garbage alone on a line, or in front of the next record
        garbageBytes += n;
      }
    }
    validSent += valid.length;
    hostileSent += h;
    sent += valid.length + h;
    const kept: string[] = [];
    try {
      for (let at = 0; at < wire.length; ) {
        const step = 1 + Math.floor(rand() * 700);
        const items = decoder.push(Buffer.from(wire.slice(at, at + step), 'latin1'));
        at += step;
        for (const item of items) {
          collector.add(item);
          JSON.stringify(item); // the JSONL log
          if (item.kind === 'record') kept.push(JSON.stringify(item.record));
          if (item.kind === 'rejected') {
            const reason = item.reason.replace(/'[^']*'|\d+/g, '_').slice(0, 80);
            rejectReasons[reason] = (rejectReasons[reason] ?? 0) + 1;
          }
        }
      }
      for (const item of decoder.end()) if (item.kind === 'record') kept.push(JSON.stringify(item.record));
    } catch (e) {
      crashes++;
      if (crashExamples.length < 5) crashExamples.push(String((e as Error).stack ?? e).slice(0, 400));
    }
    for (const k of Object.keys(stats) as (keyof typeof stats)[]) stats[k] += decoder.stats[k];
    // Every valid record must come out, in order (hostile ones that are valid records are kept too).
    let k = 0;
    for (const r of valid) {
      const want = JSON.stringify(r);
      while (k < kept.length && kept[k] !== want) k++;
      if (k < kept.length) {
        validKept++;
        k++;
      } else if (lost.length < 5) lost.push(want.slice(0, 300));
    }
  }
  const report = {
    records: sent,
    validRecords: validSent,
    validRecordsKept: validKept,
    hostileRecords: hostileSent,
    garbageBytes,
    crashes,
    crashExamples,
    lostExamples: lost,
    decoderStats: stats,
    validByType,
    topRejectReasons: Object.fromEntries(Object.entries(rejectReasons).sort((a, b) => b[1] - a[1]).slice(0, 15)),
    peakRssBytes: peakRss(),
    wallSeconds: Math.round((performance.now() - started) / 100) / 10,
  };
  process.stdout.write(`${JSON.stringify(report)}\n`);
}

// ---- scale worker -------------------------------------------------------------------------------

async function scaleWorker(): Promise<void> {
  const onnxProto = (await import('onnx-proto')).default;
  const { importModel } = await import('../src/formats/load.ts');
  const { writeTflite } = await import('../src/formats/tflite/write.ts');
  const { planMemory } = await import('../src/plan/memory.ts');
  const { generateNative } = await import('../src/codegen/native/generate.ts');
  const { buildFirmware } = await import('../src/build/firmware.ts');
  type Graph = import('../src/ir/graph.ts').Graph;

  const chain = (n: number): Graph => {
    const q = { scale: [0.05], zeroPoint: [0], axis: 0 };
    const tensors: Graph['tensors'] = [
      { index: 0, name: 'c', shape: [1, 4], dtype: 'int8', quant: q, data: new Uint8Array([1, 2, 3, 4]) },
      { index: 1, name: 'x', shape: [1, 4], dtype: 'int8', quant: q },
    ];
    const ops: Graph['ops'] = [];
    let prev = 1;
    for (let i = 0; i < n; i++) {
      const t = tensors.push({ index: tensors.length, name: `y${i}`, shape: [1, 4], dtype: 'int8', quant: q }) - 1;
      ops.push({ index: i, type: 'ADD', version: 2, inputs: [prev, 0], outputs: [t], attrs: { fusedActivation: 'NONE' }, source: { format: 'tflite', opType: 'ADD', name: `y${i}` } });
      prev = t;
    }
    return { format: 'tflite', tensors, ops, inputs: [{ tensor: 1 }], outputs: [{ tensor: prev }], meta: {}, warnings: [] };
  };
  const onnxChain = (n: number): Uint8Array => {
    const node = Array.from({ length: n }, (_, i) => ({ opType: 'Add', input: [i === 0 ? 'x' : `y${i - 1}`, 'c'], output: [`y${i}`], name: `add${i}` }));
    const vi = (name: string) => ({ name, type: { tensorType: { elemType: 1, shape: { dim: [{ dimValue: 1 }, { dimValue: 4 }] } } } });
    return onnxProto.onnx.ModelProto.encode({
      irVersion: 8,
      opsetImport: [{ domain: '', version: 13 }],
      graph: { name: 'chain', node, input: [vi('x')], output: [vi(`y${n - 1}`)], initializer: [{ name: 'c', dims: [1, 4], dataType: 1, floatData: [1, 2, 3, 4] }] },
    }).finish();
  };
  const time = <T>(f: () => T): [T, number] => {
    const t0 = performance.now();
    const r = f();
    return [r, Math.round(performance.now() - t0)];
  };

  const dir = mkdtempSync(join(tmpdir(), 'tinyml-scale-'));
  const imports: unknown[] = [];
  for (const n of [10_000, 100_000]) {
    const tfl = writeTflite(chain(n));
    const [, tfliteMs] = time(() => importModel(tfl, 'chain.tflite'));
    const onnx = onnxChain(n);
    const [, onnxMs] = time(() => importModel(onnx, 'chain.onnx'));
    imports.push({ ops: n, tfliteBytes: tfl.length, tfliteImportMs: tfliteMs, onnxBytes: onnx.length, onnxImportMs: onnxMs });
  }
  const generation: unknown[] = [];
  for (const n of [2_000, 20_000, 100_000]) {
    const g = chain(n);
    const [, planMs] = time(() => planMemory(g));
    const [gen, generateMs] = time(() => generateNative(g));
    generation.push({ ops: n, planMs, planLowerGenerateMs: generateMs, modelCBytes: gen.files['model.c']!.length, bytesPerOp: Math.round(gen.files['model.c']!.length / n), weightBytes: gen.weightBytes });
  }
  const big = join(dir, 'chain100k.tflite');
  writeFileSync(big, writeTflite(chain(100_000)));
  let refusal = '';
  const [, refusalMs] = time(() => {
    try {
      buildFirmware({ modelPath: big, board: 'mps2-an386', outDir: join(dir, 'refused') });
    } catch (e) {
      refusal = `${(e as { exitCode?: number }).exitCode ?? '?'}: ${(e as Error).message}`;
    }
  });
  // Real firmware builds through the CLI; the compiler's peak memory from getrusage(RUSAGE_CHILDREN).
  const builds: unknown[] = [];
  for (const n of [1_000, 5_000, 20_000]) {
    const model = join(dir, `chain${n}.tflite`);
    writeFileSync(model, writeTflite(chain(n)));
    const py = 'import resource,subprocess,sys,time; t=time.time(); r=subprocess.run(sys.argv[1:], capture_output=True); u=resource.getrusage(resource.RUSAGE_CHILDREN); print(r.returncode, round(time.time()-t, 1), u.ru_maxrss)';
    const r = spawnSync('python3', ['-c', py, process.execPath, resolve(ROOT, 'bin/tinyml.js'), 'build', model, '--board', 'mps2-an386', '--out', join(dir, `b${n}`), '--json'], { encoding: 'utf8' });
    const [code, seconds, maxRssKb] = r.stdout.trim().split(' ').map(Number);
    let flash: number | null = null;
    try {
      flash = (JSON.parse(readFileSync(join(dir, `b${n}`, 'size.json'), 'utf8')) as { flash_used: number }).flash_used;
    } catch {
      // build failed
    }
    builds.push({ ops: n, exitCode: code, wallSeconds: seconds, peakRssBytes: (maxRssKb ?? 0) * 1024, flashUsedBytes: flash, flashBytesPerOp: flash !== null ? Math.round(flash / n) : null });
  }
  rmSync(dir, { recursive: true, force: true });
  process.stdout.write(`${JSON.stringify({ model: 'chain of int8 ADD [1,4] ops, all reading one shared constant', imports, generation, refusal100k: { ms: refusalMs, error: refusal }, firmwareBuilds: builds, peakRssBytes: peakRss() })}\n`);
}

// ---- parent ---------------------------------------------------------------------------------------

function runWorker(args: string[]): Promise<unknown> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, ['--max-old-space-size=4096', RUN_TS, SELF, '--worker', ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.on('close', (code) => {
      const last = out.trim().split('\n').pop() ?? '';
      if (code === 0 && last.startsWith('{')) done(JSON.parse(last));
      else fail(new Error(`worker ${args[0]} exited ${code}: ${out.slice(-500)}`));
    });
  });
}

async function main(): Promise<void> {
  const mutants = Number(arg('--mutants', '1000'));
  const records = Number(arg('--records', '100000'));
  const only = arg('--only', '');
  let previous: Record<string, unknown> = {};
  try {
    previous = JSON.parse(readFileSync(OUT, 'utf8')) as Record<string, unknown>;
  } catch {
    // first run
  }
  const report: Record<string, unknown> = {
    benchmark: 'robustness',
    what: 'hostile models (mutated files through inspect, infer, build/convert), hostile devices (fuzzed report records), huge models (100k ops)',
    command: `node bin/run-ts.js bench/robustness.ts${process.argv.slice(2).length ? ` ${process.argv.slice(2).join(' ')}` : ''}`,
    ...benchHost(),
    mutation: previous.mutation,
    decoder: previous.decoder,
    scale: previous.scale,
  };
  if (!only || only === 'mutation') {
    const perModel: unknown[] = [];
    for (const m of MODELS) {
      const r = await runMutation(resolve(SHARED, m), mutants);
      console.error(`mutation ${m}: ${JSON.stringify(r).slice(0, 300)}`);
      perModel.push(r);
    }
    const sum = (k: string) => perModel.reduce((s: number, r) => s + ((r as Record<string, number>)[k] ?? 0), 0);
    report.mutation = {
      mutantsPerModel: mutants,
      stages: 'inspect -> infer (default engine, zero-point inputs) -> build up to the compiler (int8) | convert (float)',
      totals: { mutants: sum('mutants'), internalErrors: sum('internalErrors'), hangs: sum('hangs'), passedEveryStage: sum('passedEveryStage') },
      models: perModel,
    };
  }
  if (!only || only === 'decoder') {
    report.decoder = await runWorker(['decoder', String(records)]);
    console.error(`decoder: ${JSON.stringify(report.decoder).slice(0, 300)}`);
  }
  if (!only || only === 'scale') {
    report.scale = await runWorker(['scale']);
    console.error(`scale: ${JSON.stringify(report.scale).slice(0, 300)}`);
  }
  mkdirSync(resolve(ROOT, 'bench/results'), { recursive: true });
  writeFileSync(OUT, `${JSON.stringify(report, null, 2)}\n`);
  console.error(`wrote ${relative(ROOT, OUT)}`);
}

const w = process.argv.indexOf('--worker');
const dump = process.argv.indexOf('--mutant');
if (dump > 0) {
  // Writes one mutant to a file, to reproduce a reported case: --mutant <shared model> <index> <out>
  const [model, index, out] = process.argv.slice(dump + 1);
  const path = resolve(SHARED, model!);
  const seed = seedOf(path);
  const m = mutate(new Uint8Array(readFileSync(path)), seed, Number(index));
  writeFileSync(out!, m.bytes);
  console.error(`mutant ${index} of ${model} (${m.how}) -> ${out}`);
} else if (w > 0) {
  const [kind, ...rest] = process.argv.slice(w + 1);
  if (kind === 'mutation') await mutationWorker(rest[0]!, Number(rest[1]), Number(rest[2]), Number(rest[3]));
  else if (kind === 'decoder') await decoderWorker(Number(rest[0]));
  else if (kind === 'scale') await scaleWorker();
} else {
  await main();
}

