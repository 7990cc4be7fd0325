/**
 * Emulated cost of every shared int8 model on the Cortex-M4 (QEMU mps2-an386), measured exactly
 * the way ../shared/anchors/tflm-cortex-m4.json measured TensorFlow Lite Micro, so the numbers
 * compare one to one:
 *   - qemu-system-arm -M mps2-an386 -icount shift=0,align=off,sleep=off; SysTick on the 25 MHz
 *     core clock = exactly 40 instructions per tick; every retired instruction counts 1,
 *     whatever its cycle cost;
 *   - the cost of one invoke in instructions, the timer-read cost subtracted;
 *   - the input (every byte j = (j*37 + 11) & 0xFF, the anchors' fill) refilled before each
 *     inference, outside the timed region;
 *   - small models (under 200,000 instructions) averaged over a batch of 64 (refill cost
 *     measured separately and taken off).
 * Firmware: the native backend at -O2 (every tinyml build's level; the anchors' TFLM build is
 * release -O2 too), once per kernel set the board runs: dsp (the board's default) and portable.
 * Each set is run twice: plain for the total, and with --profile for the cost per op (summed per
 * op type, beside the op type's MACs and the SMLAD bound of 2 MACs per instruction).
 * The arena is also planned without the generator's techniques, to show what each one saves.
 *
 * Results -> bench/results/emulated.json, beside TFLite Micro's figures (reference and CMSIS-NN
 * kernels) and their ratios. Keys this script does not write (other columns) are kept.
 *
 * TFLite Micro measured here too (tflm_cmsis_nn_measured): the model's TFLM sketch with the
 * pinned Arduino library (Chirale_TensorFLowLite 2.0.0, CMSIS-NN kernels; $TINYML_TFLM_LIB, else
 * ../shared/third_party) on tinyml's bare-metal Arduino core, -O2, same inputs and timer; the
 * anchors' cmsis_nn figures become a cross-check (vs_tflm_cmsis_nn_anchor: how close).
 *
 *   node bin/run-ts.js bench/emulated.ts [--runs N]
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir, cpus } from 'node:os';
import { join, resolve } from 'node:path';
import { runOnEmulator, type RunResult } from '../src/run/run.ts';
import { loadModel } from '../src/formats/load.ts';
import { tensorBytes, type Graph } from '../src/ir/graph.ts';
import { opMacs } from '../src/inspect/metrics.ts';
import { planMemory } from '../src/plan/memory.ts';
import { generateNative } from '../src/codegen/native/generate.ts';
import type { KernelSet } from '../src/codegen/native/dsp.ts';
import { defaultKernels, DEFAULT_OPT } from '../src/build/firmware.ts';
import { getBoard } from '../src/boards/registry.ts';

const TFLM_LIB = process.env['TINYML_TFLM_LIB'] ?? resolve(import.meta.dirname, '../../shared/third_party');

const ROOT = resolve(import.meta.dirname, '..');
const SHARED = resolve(ROOT, '../shared');
const OUT = resolve(ROOT, 'bench/results/emulated.json');
const BOARD = 'mps2-an386';
const runsArg = process.argv.indexOf('--runs');
const RUNS = runsArg > 0 ? Number(process.argv[runsArg + 1]) : 3;
const DEFAULT_SET = defaultKernels(getBoard(BOARD));
const SETS: KernelSet[] = [DEFAULT_SET, ...(['dsp', 'portable'] as KernelSet[]).filter((k) => k !== DEFAULT_SET)];

interface AnchorSet {
  instructions_per_inference: number;
  arena_used_bytes: number;
  text_bytes: number;
  outputs_case: string;
}
interface Anchor {
  model: string;
  macs: number;
  reference: AnchorSet;
  cmsis_nn: AnchorSet;
}

const anchors = JSON.parse(readFileSync(join(SHARED, 'anchors/tflm-cortex-m4.json'), 'utf8')) as { models: Record<string, Anchor> };
const previous = existsSync(OUT) ? (JSON.parse(readFileSync(OUT, 'utf8')) as { models?: Record<string, Record<string, unknown>> }) : {};
const work = mkdtempSync(join(tmpdir(), 'tinyml-bench-emulated-'));

function anchorInput(path: string, bytes: number): string {
  const data = new Uint8Array(bytes);
  for (let j = 0; j < bytes; j++) data[j] = (j * 37 + 11) & 0xff;
  writeFileSync(path, data);
  return path;
}

const ratio = (a: number, b: number) => Number((a / b).toFixed(4));

/** Instructions and MACs per op type, from a profiled run (ops fused into another cost 0 there). */
function perOpType(graph: Graph, r: RunResult): Record<string, { ops: number; instructions: number; macs: number; instructions_per_mac: number | null; smlad_bound_instructions: number }> {
  const out: Record<string, { ops: number; instructions: number; macs: number; instructions_per_mac: number | null; smlad_bound_instructions: number }> = {};
  for (const o of r.ops) {
    const op = graph.ops[o.index]!;
    const e = (out[op.type] ??= { ops: 0, instructions: 0, macs: 0, instructions_per_mac: null, smlad_bound_instructions: 0 });
    e.ops++;
    e.instructions += o.cost;
    e.macs += opMacs(graph, op);
  }
  for (const e of Object.values(out)) {
    e.instructions_per_mac = e.macs > 0 ? Number((e.instructions / e.macs).toFixed(3)) : null;
    e.smlad_bound_instructions = Math.ceil(e.macs / 2);
  }
  return out;
}

const results: Record<string, unknown> = {};
for (const [id, anchor] of Object.entries(anchors.models)) {
  const modelPath = join(SHARED, anchor.model);
  const graph = loadModel(modelPath);
  const inputs = graph.inputs.map((gi, i) => anchorInput(join(work, `${id}-input_${i}.bin`), tensorBytes(graph.tensors[gi.tensor]!)));
  const nOut = anchor.reference.outputs_case.split(' ').length;
  const sets: Record<string, Record<string, unknown>> = {};
  let headline: Record<string, unknown> | undefined;
  let headlineRun: RunResult | undefined;
  for (const kernels of SETS) {
    const t0 = performance.now();
    const r = await runOnEmulator({ model: modelPath, board: BOARD, runs: RUNS, inputs, kernels, outDir: join(work, `${id}-${kernels}`), timeoutMs: 600_000 });
    const wallMs = performance.now() - t0;
    const p = await runOnEmulator({ model: modelPath, board: BOARD, runs: 1, inputs, kernels, profile: true, outDir: join(work, `${id}-${kernels}-profile`), timeoutMs: 600_000 });
    const ours = r.perInference!;
    const outputsCase = r.outputs[0]!.values!.slice(0, nOut).join(' ');
    const entry = {
      kernels,
      optimize: DEFAULT_OPT,
      instructions_per_inference: Math.round(ours * 10) / 10,
      instructions_min: r.latency!.min,
      instructions_median: r.latency!.median,
      instructions_max: r.latency!.max,
      measured_as: r.batchPerInference !== null ? `mean of a batch of ${r.device.batch!.inferences}` : `median of ${r.latency!.runs} inferences`,
      macs_per_instruction: r.macsPerUnit !== null ? Number(r.macsPerUnit.toFixed(4)) : null,
      arena_bytes: r.arenaBytes,
      stack_high_water_bytes: r.stackHighWaterBytes,
      static_ram_bytes: r.staticRamBytes,
      flash_bytes: r.flashBytes,
      text_bytes: r.build?.sizes.text ?? null,
      weights_bytes: r.build?.sizes.weights ?? null,
      emulated_run_wall_ms: Math.round(r.wallMs),
      build_and_run_wall_ms: Math.round(wallMs),
      outputs_case: outputsCase,
      same_outputs_as_tflm: outputsCase === anchor.reference.outputs_case,
      per_op_type: perOpType(graph, p),
      vs_tflm_reference: {
        instructions_ratio: ratio(ours, anchor.reference.instructions_per_inference),
        arena_ratio: r.arenaBytes !== null ? ratio(r.arenaBytes, anchor.reference.arena_used_bytes) : null,
      },
      vs_tflm_cmsis_nn: {
        instructions_ratio: ratio(ours, anchor.cmsis_nn.instructions_per_inference),
        arena_ratio: r.arenaBytes !== null ? ratio(r.arenaBytes, anchor.cmsis_nn.arena_used_bytes) : null,
      },
    };
    sets[kernels] = entry;
    if (kernels === DEFAULT_SET) {
      headline = entry;
      headlineRun = r;
    }
    console.log(
      `${id} [${kernels}]: ${ours.toFixed(1)} instructions/inference, ${entry.vs_tflm_cmsis_nn.instructions_ratio}x TFLM+CMSIS-NN (${anchor.cmsis_nn.instructions_per_inference}); ` +
        `arena ${r.arenaBytes} = ${entry.vs_tflm_cmsis_nn.arena_ratio}x; outputs ${entry.same_outputs_as_tflm ? 'match' : 'DIFFER from'} the anchor's`,
    );
  }
  const h = headline!;
  results[id] = {
    ...(previous.models?.[id] ?? {}),
    model: anchor.model,
    macs: graph.ops.reduce((n, op) => n + opMacs(graph, op), 0),
    tinyml: h,
    tinyml_kernel_sets: sets,
    arena_by_technique: {
      'no in-place execution, no fusion (the plan TFLite Micro also needs)': planMemory(graph).arenaBytes,
      'dsp kernels in place (pointwise, depthwise, ADD), scratch included, no fusion': generateNative(graph, { kernels: 'dsp', fuse: false }).arenaBytes,
      'and fusion (conv + ADD, conv streamed into FULLY_CONNECTED): the default': generateNative(graph, { kernels: 'dsp' }).arenaBytes,
    },
    tflm_reference: anchor.reference,
    tflm_cmsis_nn: anchor.cmsis_nn,
    vs_tflm_reference: { ...(h['vs_tflm_reference'] as object), fewer_instructions: (h['vs_tflm_reference'] as { instructions_ratio: number }).instructions_ratio < 1, same_outputs: h['same_outputs_as_tflm'] },
    vs_tflm_cmsis_nn: h['vs_tflm_cmsis_nn'],
  };
  // TFLite Micro + CMSIS-NN measured by tinyml itself, the anchor as a cross-check.
  const t = await runOnEmulator({ model: modelPath, board: 'mps2-an386', runs: RUNS, inputs, optimize: '2', outDir: join(work, `${id}-tflm`), timeoutMs: 600_000, runtime: 'tflm', tflmLib: TFLM_LIB });
  const tflm = t.perInference!;
  const tflmOutputs = t.outputs[0]!.values!.slice(0, anchor.cmsis_nn.outputs_case.split(' ').length).join(' ');
  const deviation = tflm / anchor.cmsis_nn.instructions_per_inference - 1;
  Object.assign(results[id] as object, {
    tflm_cmsis_nn_measured: {
      runtime: `${t.tflm!.library}, CMSIS-NN kernels, tinyml's bare-metal Arduino core, -O2`,
      instructions_per_inference: tflm,
      instructions_min: t.latency!.min,
      instructions_max: t.latency!.max,
      measured_as: `median of ${t.latency!.runs} inferences`,
      arena_bytes: t.arenaBytes,
      arena_used_bytes: t.tflm!.arenaUsedBytes,
      arena_source: t.tflm!.arena.source,
      flash_bytes: t.flashBytes,
      outputs_case: tflmOutputs,
      same_outputs_as_tinyml: t.outputs.every((o, j) => o.hex === headlineRun!.outputs[j]?.hex),
    },
    vs_tflm_cmsis_nn_anchor: {
      instructions_deviation_percent: Number((deviation * 100).toFixed(2)),
      same_outputs: tflmOutputs === anchor.cmsis_nn.outputs_case,
      note: 'not the same TFLM: the anchor is tflite-micro 90b983c with CMSIS-NN 99f736a6, built with its own Makefile (cortex_m_generic, TF_LITE_STATIC_MEMORY); the measured column is the pinned Arduino library (its TFLM snapshot with CMSIS-NN V.11.0.0 of 2022-09-30) built as the Arduino cores build it. Same outputs; the instruction counts differ by what the two versions do differently (convolution kernels above all)',
    },
    tinyml_vs_tflm_cmsis_nn_measured: { instructions_ratio: ratio(headlineRun!.perInference!, tflm) },
  });
  console.log(`${id}: TFLite Micro + CMSIS-NN measured ${tflm} instructions/inference, ${deviation >= 0 ? '+' : ''}${(deviation * 100).toFixed(2)}% from the anchor's ${anchor.cmsis_nn.instructions_per_inference} (another TFLM and CMSIS-NN version)`);
}

mkdirSync(resolve(ROOT, 'bench/results'), { recursive: true });
writeFileSync(
  OUT,
  JSON.stringify(
    {
      ...previous,
      what: `Instructions per inference of the native backend on QEMU mps2-an386 (emulated instructions, not cycles or time), measured like ../shared/anchors/tflm-cortex-m4.json, beside TFLite Micro with its reference kernels and with CMSIS-NN (the anchors), and TFLite Micro + CMSIS-NN measured here with the pinned Arduino library (tflm_cmsis_nn_measured). "tinyml" is the default build (${DEFAULT_SET} kernels, -O${DEFAULT_OPT}); tinyml_kernel_sets has every kernel set, with instructions per op type.`,
      method: 'qemu-system-arm -M mps2-an386 -icount shift=0,align=off,sleep=off; SysTick on the 25 MHz core clock = 40 instructions per tick; every retired instruction counts 1 whatever its cycle cost; timer-read cost subtracted; input byte j = (j*37+11)&0xFF refilled before each inference outside the timed region; models under 200000 instructions averaged over a batch of 64 (refill cost taken off); per-op costs from a second, profiled build. Instructions, not cycles or time.',
      command: 'node bin/run-ts.js bench/emulated.ts',
      runs: RUNS,
      default_kernels: DEFAULT_SET,
      optimize: DEFAULT_OPT,
      host: { cpu: cpus()[0]?.model ?? 'unknown', cores: cpus().length, node: process.version },
      models: results,
    },
    null,
    1,
  ) + '\n',
);
console.log(`wrote ${OUT}`);
