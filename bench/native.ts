/**
 * The native backend beside TensorFlow Lite Micro on the emulated Cortex-M4 (mps2-an386), per
 * shared int8 model: planned arena, const data (weights), code, whole-firmware text, generation
 * time, and instructions per inference under QEMU -icount (the anchors' method: inputs filled
 * with byte[j] = (j*37 + 11) & 0xFF, outputs checked against the anchors' `outputs_case`), for
 * the default build (the board's dsp kernels, -O2) and the portable kernels at -O2 and -Os (the
 * smallest flash: int8 weights, no packing).
 * TFLite Micro's numbers come from ../shared/anchors/tflm-cortex-m4.json.
 *
 *   node bin/run-ts.js bench/native.ts [--no-qemu]
 *
 * Writes bench/results/native.json and prints a table.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { loadModel, readModelBytes } from '../src/formats/load.ts';
import { tensorBytes } from '../src/ir/graph.ts';
import { generateNative } from '../src/codegen/native/generate.ts';
import { buildFirmware, type KernelSet, type OptLevel } from '../src/build/firmware.ts';

const ROOT = resolve(import.meta.dirname, '..');
const SHARED = resolve(ROOT, '../shared');
const anchors = JSON.parse(readFileSync(join(SHARED, 'anchors/tflm-cortex-m4.json'), 'utf8')) as {
  models: Record<string, { model: string; reference: Anchor; cmsis_nn: Anchor }>;
};
interface Anchor {
  instructions_per_inference: number;
  arena_used_bytes: number;
  text_bytes: number;
  model_bytes: number;
  outputs_case: string;
}
const withQemu = !process.argv.includes('--no-qemu');
const tmp = mkdtempSync(join(tmpdir(), 'tinyml-bench-native-'));

/** The anchors' input: byte j of every input = (j*37 + 11) & 0xFF. */
function anchorInput(bytes: number): Uint8Array {
  return Uint8Array.from({ length: bytes }, (_, j) => (j * 37 + 11) & 0xff);
}

function runQemu(elf: string): Promise<string> {
  return new Promise((res, rej) => {
    const q = spawn('qemu-system-arm', ['-M', 'mps2-an386', '-nographic', '-monitor', 'none', '-serial', 'stdio', '-icount', 'shift=0,align=off,sleep=off', '-kernel', elf]);
    let out = '';
    const timer = setTimeout(() => (q.kill('SIGKILL'), rej(new Error(`no done record from ${elf}`))), 300_000);
    q.stdout.on('data', (d: Buffer) => {
      out += d.toString('latin1');
      // Resolve on the whole done line: a chunk can end in the middle of it.
      if (/"type":"done"[^\n]*\n/.test(out)) {
        clearTimeout(timer);
        q.kill('SIGKILL');
        res(out);
      }
    });
  });
}

interface Run {
  instructions: number;
  outputs_first: string;
  outputs_match_anchor: boolean;
}

async function measure(model: string, inputs: Uint8Array[], optimize: OptLevel | undefined, kernels: KernelSet | undefined, expect: string) {
  const fw = buildFirmware({ modelPath: model, board: 'mps2-an386', outDir: join(tmp, `${model.split('/').pop()}-${optimize ?? 'default'}-${kernels ?? 'default'}`), inputs, optimize, kernels });
  let run: Run | undefined;
  if (withQemu) {
    const out = await runQemu(fw.elfPath);
    const instructions = Number(/"type":"inference"[^\n]*"instructions":(\d+)/.exec(out)?.[1]);
    const hex = /"type":"output"[^\n]*"hex":"([0-9a-f]*)"/.exec(out)?.[1] ?? '';
    const values = Array.from(Buffer.from(hex, 'hex'), (b) => (b << 24) >> 24);
    const first = values.slice(0, expect.split(' ').length).join(' ');
    run = { instructions, outputs_first: first, outputs_match_anchor: first === expect };
  }
  return { fw, run };
}

const results: Record<string, unknown> = {};
const rows: string[][] = [];
for (const [name, a] of Object.entries(anchors.models)) {
  const modelPath = join(SHARED, a.model);
  const graph = loadModel(modelPath);
  const bytes = readModelBytes(modelPath);
  // Generation time: plan + lowering + templates, median of 5.
  const times: number[] = [];
  for (let i = 0; i < 5; i++) {
    const t0 = performance.now();
    generateNative(graph, { modelBytes: bytes, kernels: 'dsp' });
    times.push(performance.now() - t0);
  }
  times.sort((x, y) => x - y);
  const inputs = graph.inputs.map((inp) => anchorInput(tensorBytes(graph.tensors[inp.tensor]!)));
  const dsp = await measure(modelPath, inputs, undefined, undefined, a.reference.outputs_case);
  const os = await measure(modelPath, inputs, 's', 'portable', a.reference.outputs_case);
  const o2 = await measure(modelPath, inputs, '2', 'portable', a.reference.outputs_case);
  const s = dsp.fw.sizes;
  const entry = {
    model: a.model,
    build: `default: ${dsp.fw.kernels} kernels, -O${dsp.fw.optimize}`,
    arena_bytes: s.arena,
    weights_bytes: s.weights,
    code_bytes: s.text - s.weights,
    code_bytes_note: 'ELF .text minus the model const arrays: kernels, runtime, startup, libc pieces, params and baked input',
    text_bytes: s.text,
    generation_ms: Number(times[2]!.toFixed(1)),
    sizes: s,
    sizes_Os_portable: os.fw.sizes,
    text_bytes_O2_portable: o2.fw.sizes.text,
    instructions_per_inference: withQemu
      ? { O2_dsp: dsp.run!.instructions, O2_portable: o2.run!.instructions, Os_portable: os.run!.instructions }
      : null,
    outputs_match_tflm_anchor: withQemu ? [os, o2, dsp].every((m) => m.run!.outputs_match_anchor) : null,
    tflm: {
      reference: { arena_used_bytes: a.reference.arena_used_bytes, text_bytes: a.reference.text_bytes, instructions_per_inference: a.reference.instructions_per_inference },
      cmsis_nn: { arena_used_bytes: a.cmsis_nn.arena_used_bytes, text_bytes: a.cmsis_nn.text_bytes, instructions_per_inference: a.cmsis_nn.instructions_per_inference },
    },
    vs_tflm_reference: {
      arena_bytes_saved: a.reference.arena_used_bytes - s.arena,
      arena_ratio: Number((s.arena / a.reference.arena_used_bytes).toFixed(3)),
      text_bytes_saved: a.reference.text_bytes - s.text,
      text_ratio: Number((s.text / a.reference.text_bytes).toFixed(3)),
    },
  };
  results[name] = entry;
  const ins = entry.instructions_per_inference;
  rows.push([
    name,
    `${s.arena} / ${a.reference.arena_used_bytes} (${(100 * (1 - s.arena / a.reference.arena_used_bytes)).toFixed(0)}% less)`,
    `${s.text} / ${a.reference.text_bytes} (${(100 * (1 - s.text / a.reference.text_bytes)).toFixed(0)}% less)`,
    String(s.weights),
    String(s.text - s.weights),
    ins ? `${ins.O2_dsp} / ${a.cmsis_nn.instructions_per_inference} cmsis, ${ins.O2_portable} / ${a.reference.instructions_per_inference} ref` : '-',
    String(entry.outputs_match_tflm_anchor),
  ]);
}

const header = ['model', 'arena ours/TFLM', 'text ours/TFLM (default build)', 'weights', 'code', 'instructions: ours dsp -O2 vs CMSIS-NN; ours portable -O2 vs reference', 'outputs = TFLM'];
const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
for (const r of [header, ...rows]) console.log(r.map((c, i) => c.padEnd(widths[i]!)).join('  '));

writeFileSync(
  join(ROOT, 'bench/results/native.json'),
  `${JSON.stringify(
    {
      what: 'native backend (tinyml build, mps2-an386) vs TensorFlow Lite Micro anchors (../shared/anchors/tflm-cortex-m4.json); sizes from arm-none-eabi-size -A of the default ELF (dsp kernels, -O2; sizes_Os_portable: the smallest build); instructions under qemu-system-arm -icount shift=0 (the anchors\' method and input pattern)',
      toolchain: 'arm-none-eabi-gcc 12.2.1, -mcpu=cortex-m4 -mthumb -mfloat-abi=hard -mfpu=fpv4-sp-d16',
      models: results,
    },
    null,
    2,
  )}\n`,
);
