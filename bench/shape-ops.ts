/**
 * Emulated cost of the data-movement, reduction, resize and BATCH_MATMUL kernels: every such
 * one-op model of ../shared/golden-ops built as native firmware (portable kernels, -O2) and run
 * on QEMU mps2-an386 with its golden case_0 input baked in, the same method as
 * bench/emulated.ts (-icount shift=0, SysTick = 40 instructions per tick, timer cost subtracted,
 * small models averaged over a batch). Each output must equal the TFLite Micro golden bytes.
 * ../shared/anchors has no per-op TFLite Micro figures, so the numbers stand alone: they are a
 * baseline for kernel work. Results -> bench/results/shape-ops.json. Instructions, not time.
 *
 *   node bin/run-ts.js bench/shape-ops.ts
 */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { runOnEmulator } from '../src/run/run.ts';
import { SHAPE_OPS } from '../src/codegen/native/ops.ts';
import { GOLDEN_OPS, GOLDEN_OP_IDS, goldenOp } from '../test/helpers/golden-ops.ts';

const ROOT = resolve(import.meta.dirname, '..');
const OUT = resolve(ROOT, 'bench/results/shape-ops.json');
const work = mkdtempSync(join(tmpdir(), 'tinyml-bench-shape-'));

const results: Record<string, unknown> = {};
for (const id of GOLDEN_OP_IDS) {
  const g = goldenOp(id);
  // One-op models of this family (the converter-style concatenations carry QUANTIZE ops too).
  if (!SHAPE_OPS.includes(g.meta.variant.op)) continue;
  const inputs = g.meta.cases[0]!.inputs.map((t) => join(GOLDEN_OPS, id, t.file));
  const r = await runOnEmulator({ model: g.modelPath, board: 'mps2-an386', runs: 3, inputs, optimize: '2', outDir: join(work, id), timeoutMs: 600_000 });
  const same = g.cases[0]!.outputs.every((want, j) => Buffer.from(r.outputs[j]!.hex, 'hex').equals(Buffer.from(want)));
  results[id] = {
    op: g.meta.variant.op,
    dtype: g.meta.variant.activation_dtype,
    params: g.meta.variant.params ?? {},
    instructions_per_inference: Math.round(r.perInference! * 10) / 10,
    arena_bytes: r.arenaBytes,
    code_bytes: r.build?.sizes.code ?? null,
    outputs_equal_tflm_golden: same,
  };
  console.log(`${id}: ${r.perInference!.toFixed(1)} instructions, arena ${r.arenaBytes} bytes, outputs ${same ? 'equal' : 'DIFFER from'} the TFLM golden`);
}

mkdirSync(resolve(ROOT, 'bench/results'), { recursive: true });
writeFileSync(
  OUT,
  JSON.stringify(
    {
      what: 'Instructions per inference of the native data-movement, reduction, resize and BATCH_MATMUL kernels (portable C, -O2) on QEMU mps2-an386, one-op models of ../shared/golden-ops with their case_0 input. No TFLite Micro per-op anchor exists.',
      method: 'qemu-system-arm -M mps2-an386 -icount shift=0,align=off,sleep=off; SysTick on the 25 MHz core clock = 40 instructions per tick; timer-read cost subtracted; small models averaged over a batch (src/run/run.ts). Instructions, not cycles or time.',
      host: { cpu: cpus()[0]?.model ?? 'unknown', cores: cpus().length, node: process.version },
      variants: results,
    },
    null,
    1,
  ) + '\n',
);
console.log(`wrote ${OUT}`);
