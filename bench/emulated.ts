/**
 * Emulated cost of every shared int8 model on the Cortex-M4 (QEMU mps2-an386), measured exactly
 * the way ../shared/anchors/tflm-cortex-m4.json measured TensorFlow Lite Micro, so the numbers
 * compare one to one:
 *   - qemu-system-arm -M mps2-an386 -icount shift=0,align=off,sleep=off; SysTick on the 25 MHz
 *     core clock = exactly 40 instructions per tick;
 *   - the cost of one invoke in instructions, the timer-read cost subtracted;
 *   - the input (every byte j = (j*37 + 11) & 0xFF, the anchors' fill) refilled before each
 *     inference, outside the timed region;
 *   - small models (under 200,000 instructions) averaged over a batch of 64 (refill cost
 *     measured separately and taken off).
 * Firmware: the native backend, portable C kernels, -O2 (the anchors' TFLM build is release
 * -O2 too). Results -> bench/results/emulated.json, with TFLite Micro's figures beside ours.
 *
 *   node bin/run-ts.js bench/emulated.ts [--runs N]
 */
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir, cpus } from 'node:os';
import { join, resolve } from 'node:path';
import { runOnEmulator } from '../src/run/run.ts';
import { loadModel } from '../src/formats/load.ts';
import { tensorBytes } from '../src/ir/graph.ts';

const ROOT = resolve(import.meta.dirname, '..');
const SHARED = resolve(ROOT, '../shared');
const OUT = resolve(ROOT, 'bench/results/emulated.json');
const runsArg = process.argv.indexOf('--runs');
const RUNS = runsArg > 0 ? Number(process.argv[runsArg + 1]) : 3;

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
const work = mkdtempSync(join(tmpdir(), 'tinyml-bench-emulated-'));

function anchorInput(path: string, bytes: number): string {
  const data = new Uint8Array(bytes);
  for (let j = 0; j < bytes; j++) data[j] = (j * 37 + 11) & 0xff;
  writeFileSync(path, data);
  return path;
}

const results: Record<string, unknown> = {};
for (const [id, anchor] of Object.entries(anchors.models)) {
  const modelPath = join(SHARED, anchor.model);
  const graph = loadModel(modelPath);
  const inputs = graph.inputs.map((gi, i) => anchorInput(join(work, `${id}-input_${i}.bin`), tensorBytes(graph.tensors[gi.tensor]!)));
  const t0 = performance.now();
  const r = await runOnEmulator({ model: modelPath, board: 'mps2-an386', runs: RUNS, inputs, optimize: '2', outDir: join(work, id), timeoutMs: 600_000 });
  const wallMs = performance.now() - t0;
  const ours = r.perInference!;
  const firstOutputs = r.outputs[0]!.int8.slice(0, anchor.reference.outputs_case.split(' ').length).join(' ');
  results[id] = {
    model: anchor.model,
    macs: r.macs,
    tinyml: {
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
      emulated_run_wall_ms: Math.round(r.wallMs),
      build_and_run_wall_ms: Math.round(wallMs),
      outputs_case: firstOutputs,
    },
    tflm_reference: anchor.reference,
    tflm_cmsis_nn: anchor.cmsis_nn,
    vs_tflm_reference: {
      instructions_ratio: Number((ours / anchor.reference.instructions_per_inference).toFixed(4)),
      fewer_instructions: ours < anchor.reference.instructions_per_inference,
      same_outputs: firstOutputs === anchor.reference.outputs_case,
    },
    vs_tflm_cmsis_nn: { instructions_ratio: Number((ours / anchor.cmsis_nn.instructions_per_inference).toFixed(4)) },
  };
  console.log(`${id}: ${ours.toFixed(1)} instructions/inference (TFLM reference ${anchor.reference.instructions_per_inference}, CMSIS-NN ${anchor.cmsis_nn.instructions_per_inference}); outputs ${firstOutputs === anchor.reference.outputs_case ? 'match' : 'DIFFER from'} the anchor's`);
}

mkdirSync(resolve(ROOT, 'bench/results'), { recursive: true });
writeFileSync(
  OUT,
  JSON.stringify(
    {
      what: 'Instructions per inference of the native backend (portable C kernels, -O2) on QEMU mps2-an386, measured like ../shared/anchors/tflm-cortex-m4.json, beside TFLite Micro.',
      method: 'qemu-system-arm -M mps2-an386 -icount shift=0,align=off,sleep=off; SysTick on the 25 MHz core clock = 40 instructions per tick; timer-read cost subtracted; input byte j = (j*37+11)&0xFF refilled before each inference outside the timed region; models under 200000 instructions averaged over a batch of 64 (refill cost taken off). Instructions, not cycles or time.',
      runs: RUNS,
      host: { cpu: cpus()[0]?.model ?? 'unknown', cores: cpus().length, node: process.version },
      models: results,
    },
    null,
    1,
  ) + '\n',
);
console.log(`wrote ${OUT}`);
