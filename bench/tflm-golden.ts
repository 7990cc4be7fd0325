/**
 * Every ../shared/golden and ../shared/golden-ops model through the pinned TensorFlow Lite Micro
 * library (Chirale_TensorFLowLite 2.0.0, CMSIS-NN kernels) in QEMU mps2-an386, with tinyml's
 * bare-metal Arduino core: the evidence behind the capability table (src/arduino/tflm-ops.ts)
 * and the arena formula (src/arduino/arena.ts).
 *
 * Per model, one firmware: the model's TFLM sketch built as the arena measurement variant
 * (-DTML_TFLM_MEASURE_ARENA) with case_0's inputs baked in, run from reset once per probed arena
 * size (src/arduino/arena-measure.ts: the smallest arena whose run passes), then every further
 * case with exactly that arena, by rewriting the baked input in the ELF. A model the table refuses is built anyway (ignoreCapabilities) to
 * record what the real library does with it. Outputs are compared byte for byte with the
 * goldens.
 *
 *   TINYML_TFLM_LIB=../shared/third_party node bin/run-ts.js bench/tflm-golden.ts [id...]
 *
 * -> bench/results/tflm-golden.json (test/tflm-capabilities.test.ts and test/tflm-arena.test.ts
 *    check the table and the formula against it).
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { loadModel, readModelBytes } from '../src/formats/load.ts';
import { findTflmLibrary } from '../src/arduino/tflm-library.ts';
import { buildTflmFirmware } from '../src/arduino/tflm-firmware.ts';
import { formulaArena, tflmModelOf } from '../src/arduino/sketch-tflm.ts';
import { tflmArenaBytes } from '../src/arduino/arena.ts';
import { TFLM_KERNELS, tflmRefusal } from '../src/arduino/tflm-ops.ts';
import { cpuClassFlags, probeArena, searchArena } from '../src/arduino/arena-measure.ts';
import { sha256Hex, type Int8Model } from '../src/arduino/sketch-common.ts';
import { planMemory } from '../src/plan/memory.ts';

const ROOT = resolve(import.meta.dirname, '..');
const SHARED = resolve(ROOT, '../shared');
const OUT = resolve(ROOT, 'bench/results/tflm-golden.json');
const MAX_ARENA = 1024 * 1024;

interface Entry {
  id: string;
  set: 'golden' | 'golden-ops';
  model: string;
  tflite_sha256: string;
  /** The capability table's verdict: null = runs, else why not. */
  table_refusal: string | null;
  outcome: 'identical' | 'differs' | 'invoke_failed' | 'allocate_failed' | 'no_kernel' | 'error';
  /** TFLite Micro's log lines when it failed. */
  log?: string[];
  cases: number;
  cases_identical: number;
  needed_arena_bytes: number | null;
  refused_arena_bytes: number | null;
  refused_by?: 'run' | 'arena_used_bytes';
  probes?: number;
  arena_used_bytes: number | null;
  instructions: number | null;
  formula: ReturnType<typeof tflmArenaBytes>;
}

function cases(dir: string, n: number): { inputs: Uint8Array[]; outputs: Uint8Array[] }[] {
  const out = [];
  for (let k = 0; k < n; k++) {
    const c = join(dir, `case_${k}`);
    const list = (p: string) =>
      readdirSync(c)
        .filter((f) => f.startsWith(p) && f.endsWith('.bin'))
        .sort((a, b) => Number(a.slice(p.length, -4)) - Number(b.slice(p.length, -4)))
        .map((f) => new Uint8Array(readFileSync(join(c, f))));
    out.push({ inputs: list('input_'), outputs: list('output_') });
  }
  return out;
}

const models: { id: string; set: Entry['set']; dir: string }[] = [];
for (const set of ['golden', 'golden-ops'] as const) {
  for (const d of readdirSync(join(SHARED, set), { withFileTypes: true })) if (d.isDirectory()) models.push({ id: d.name, set, dir: join(SHARED, set, d.name) });
}
const only = process.argv.slice(2);
const lib = findTflmLibrary();
const previous: Entry[] = existsSync(OUT) ? (JSON.parse(readFileSync(OUT, 'utf8')) as { models: Entry[] }).models : [];
const results = new Map(previous.map((e) => [e.id, e]));
const work = mkdtempSync(join(tmpdir(), 'tinyml-bench-tflm-'));
const started = Date.now();

for (const m of models) {
  if (only.length > 0 && !only.includes(m.id)) continue;
  const meta = JSON.parse(readFileSync(join(m.dir, 'meta.json'), 'utf8')) as { model: string; cases: unknown[] };
  const modelPath = join(SHARED, meta.model);
  const bytes = readModelBytes(modelPath);
  const graph = loadModel(modelPath);
  const model: Int8Model = { graph, modelBytes: bytes, modelHash: sha256Hex(bytes).slice(0, 16), quantized: false, label: meta.model.split('/').pop()! };
  const { tflite, graph: g } = tflmModelOf(model);
  const refusals = g.ops.map((op) => tflmRefusal(g, op)).filter((r): r is string => r !== null);
  const golden = cases(m.dir, meta.cases.length);
  const entry: Entry = {
    id: m.id,
    set: m.set,
    model: meta.model,
    tflite_sha256: sha256Hex(tflite),
    table_refusal: refusals[0] ?? null,
    outcome: 'error',
    cases: golden.length,
    cases_identical: 0,
    needed_arena_bytes: null,
    refused_arena_bytes: null,
    arena_used_bytes: null,
    instructions: null,
    formula: tflmArenaBytes(g, planMemory(g).arenaBytes),
  };
  const t0 = Date.now();
  try {
    if (g.ops.some((op) => TFLM_KERNELS[op.type] === undefined)) {
      // No resolver method at all: there is nothing to build (the sketch would register nothing).
      entry.outcome = 'no_kernel';
      entry.log = [entry.table_refusal ?? ''];
    } else {
      const build = await buildTflmFirmware({
        model,
        board: 'mps2-an386',
        outDir: join(work, m.id),
        inputs: golden[0]!.inputs,
        runs: 1,
        lib,
        arena: formulaArena(g, 'measurement build'),
        cpuFlags: cpuClassFlags('armv7e-m'),
        measureArenaMax: MAX_ARENA,
        ignoreCapabilities: true,
        onProgress: (msg) => process.stderr.write(`${msg}\n`),
      });
      const s = await searchArena(build.elfPath, MAX_ARENA, join(work, m.id), m.id);
      entry.needed_arena_bytes = s.needed;
      entry.refused_arena_bytes = s.refused;
      entry.refused_by = s.refusedBy;
      entry.arena_used_bytes = s.verified.usedBytes;
      entry.probes = s.probes;
      entry.instructions = s.verified.report.inferences[0] ?? null;
      const elf = new Uint8Array(readFileSync(build.elfPath));
      for (const [k, c] of golden.entries()) {
        const rep = k === 0 ? s.verified.report : (await probeArena(elf, s.needed, join(work, m.id, `case_${k}.elf`), c.inputs)).report;
        if (rep.errors.length > 0 || rep.done?.['status'] !== 'ok') throw new Error(`case ${k} failed with the measured arena`);
        if (c.outputs.every((want, j) => rep.outputs[j] !== undefined && Buffer.from(rep.outputs[j]!).equals(Buffer.from(want)))) entry.cases_identical++;
      }
      entry.outcome = entry.cases_identical === entry.cases ? 'identical' : 'differs';
    }
  } catch (e) {
    const msg = (e as Error).message;
    entry.outcome = /fails to run/.test(msg) ? 'invoke_failed' : /cannot allocate/.test(msg) ? 'allocate_failed' : 'error';
    entry.log = [msg];
  }
  results.set(m.id, entry);
  process.stderr.write(`${m.id}: ${entry.outcome} (${entry.cases_identical}/${entry.cases}) needed ${entry.needed_arena_bytes} formula ${entry.formula.arenaBytes} table ${entry.table_refusal ? 'refuses' : 'runs'} ${Date.now() - t0} ms\n`);
  rmSync(join(work, m.id), { recursive: true, force: true });
  writeFileSync(
    OUT,
    `${JSON.stringify({ what: 'Every golden and golden-ops model on TensorFlow Lite Micro (the pinned Arduino library, CMSIS-NN) in QEMU mps2-an386 with tinyml\'s bare-metal Arduino core: outcome vs the goldens, the smallest arena AllocateTensors() accepts (bisection, then a run with exactly it), arena_used_bytes(), and the capability table\'s verdict. bench/tflm-golden.ts', library: `${lib.name} ${lib.version}`, library_sha256: lib.contentHash, models: [...results.values()].sort((x, y) => (x.set + x.id < y.set + y.id ? -1 : 1)) }, null, 1)}\n`,
  );
}
process.stderr.write(`done in ${Math.round((Date.now() - started) / 1000)} s\n`);
rmSync(work, { recursive: true, force: true });
