/**
 * Emulated cost of the PyTorch/Keras export forms of issue 11: every variant of the field cases
 * 03, 04, 05, 06, 15 and 17 (../shared/cases) and the grouped-conv ONNX node test, converted to
 * int8 with `tinyml convert` (calibrated on the case's own calibration data), built as native
 * firmware for mps2-an386 (the board's default kernel set, dsp, -O2) with the case's input quantized
 * and baked in, and run on QEMU. Per variant: the ops of the int8 .tflite, the ops the native C
 * runs (explicit pads folded into the conv/pool, average-pool regions merged, grouped convs split), instructions per
 * inference, the arena, and the arena the same planning gives the ops as the .tflite writes them
 * where the native C runs fewer (what folding PADs and merging average-pool regions saves), and whether the firmware's outputs equal the int8 reference. Method as
 * bench/emulated.ts (-icount shift=0, SysTick = 40 instructions per tick, timer cost
 * subtracted). ../shared/anchors has no TFLite Micro figure for these models: the numbers stand
 * alone. Results -> bench/results/onnx-cases.json. Instructions, not time.
 *
 *   node bin/run-ts.js bench/onnx-cases.ts
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { chooseNative } from '../src/codegen/native/dsp.ts';
import { generateNative } from '../src/codegen/native/generate.ts';
import { bytesOfTyped } from '../src/data/npy.ts';
import { loadModel } from '../src/formats/load.ts';
import type { Graph } from '../src/ir/graph.ts';
import { loadInput } from '../src/infer/inputs.ts';
import { ARENA_ALIGNMENT, planMemory } from '../src/plan/memory.ts';
import { convertModel, DEFAULT_QUANTIZE_OPTIONS } from '../src/quantize/convert.ts';
import { prepareInt8 } from '../src/reference/int8/index.ts';
import type { TensorValue } from '../src/reference/tensor-value.ts';
import { runOnEmulator } from '../src/run/run.ts';
import { benchHost } from './host.ts';

const ROOT = resolve(import.meta.dirname, '..');
const SHARED = resolve(ROOT, '../shared');
const OUT = resolve(ROOT, 'bench/results/onnx-cases.json');
const BOARD = 'mps2-an386';
const work = mkdtempSync(join(tmpdir(), 'tinyml-bench-onnx-'));

/** Float inputs (IR layout) quantized with the int8 model's input parameters (round half away). */
function quantized(q: Graph, values: TensorValue[]): TensorValue[] {
  return values.map((v, i) => {
    const t = q.tensors[q.inputs[i]!.tensor]!;
    const [s, z] = [t.quant!.scale[0]!, t.quant!.zeroPoint[0]!];
    const data = Int8Array.from(v.data as Float32Array, (x) => {
      const r = Math.fround(x / s);
      return Math.max(-128, Math.min(127, (r < 0 ? -Math.round(-r) : Math.round(r)) + z));
    });
    return { dtype: 'int8', shape: [...t.shape], data };
  });
}

interface Variant {
  id: string;
  model: string;
  calib: string;
  inputs: string[];
}

const variants: Variant[] = [];
for (const family of ['03-pool-ceil-mode', '04-flatten-concat-gemm', '05-conv1d-tcn-arena', '06-activations-leaky-hardswish-prelu', '15-pytorch-stride2-pad1', '17-resize-upsample']) {
  for (const v of readdirSync(join(SHARED, 'cases', family)).sort()) {
    const dir = join(SHARED, 'cases', family, v);
    const inputs: string[] = [];
    for (let i = 0; existsSync(join(dir, `input_${i}.npy`)); i++) inputs.push(join(dir, `input_${i}.npy`));
    variants.push({ id: `${family}/${v}`, model: join(dir, 'model.onnx'), calib: existsSync(join(dir, 'calib.npy')) ? join(dir, 'calib.npy') : join(dir, 'calib.json'), inputs });
  }
}
{
  const dir = join(SHARED, 'models/onnx-node-tests/pytorch-converted/test_Conv2d_groups');
  variants.push({ id: 'onnx-node-tests/test_Conv2d_groups', model: join(dir, 'model.onnx'), calib: join(dir, 'test_data_set_0'), inputs: [join(dir, 'test_data_set_0/input_0.pb')] });
}

const results: Record<string, unknown> = {};
for (const v of variants) {
  const tag = v.id.replace(/\//g, '_');
  const tflite = join(work, `${tag}.tflite`);
  convertModel(v.model, v.calib, { ...DEFAULT_QUANTIZE_OPTIONS, output: tflite, quality: false });
  const float = loadModel(v.model);
  const q = loadModel(tflite);
  const inputs = quantized(q, v.inputs.map((f, i) => loadInput(f, float, i).value));
  const files = inputs.map((x, i) => {
    const f = join(work, `${tag}_input_${i}.bin`);
    writeFileSync(f, bytesOfTyped(x.data));
    return f;
  });
  const want = prepareInt8(q).run(inputs).outputs;
  const r = await runOnEmulator({ model: tflite, board: BOARD, runs: 3, inputs: files, optimize: '2', outDir: join(work, tag), timeoutMs: 600_000 });
  const same = want.every((o, j) => Buffer.from(r.outputs[j]!.hex, 'hex').equals(Buffer.from(bytesOfTyped(o.data))));
  const gen = generateNative(q, { kernels: 'dsp' });
  // The same planning (dsp kernel set, its plan requests) for the ops as the .tflite writes them,
  // where the native C runs fewer (PADs folded, average-pool regions merged).
  const unfolded = gen.lowered.ops.length < q.ops.length ? planMemory(q, ARENA_ALIGNMENT, chooseNative(q, { kernels: 'dsp' }).request).arenaBytes : null;
  results[v.id] = {
    int8_ops: q.ops.map((o) => o.type),
    native_ops: gen.lowered.ops.map((o) => o.type),
    instructions_per_inference: Math.round(r.perInference! * 10) / 10,
    arena_bytes: r.arenaBytes,
    arena_bytes_ops_as_written: unfolded,
    outputs_equal_int8_reference: same,
  };
  console.log(`${v.id}: ${q.ops.length} int8 ops, ${gen.lowered.ops.length} native; ${r.perInference!.toFixed(1)} instructions, arena ${r.arenaBytes} bytes${unfolded === null ? '' : ` (ops as written: ${unfolded})`}; outputs ${same ? 'equal' : 'DIFFER from'} the int8 reference`);
}

mkdirSync(resolve(ROOT, 'bench/results'), { recursive: true });
writeFileSync(
  OUT,
  JSON.stringify(
    {
      what: 'PyTorch/Keras export forms (../shared/cases 03, 04, 05, 06, 15, 17 and the grouped-conv ONNX node test) through tinyml convert (int8) and the native C on QEMU mps2-an386 (default kernel set, -O2), with the case input quantized and baked in. arena_bytes_ops_as_written: the arena the same planning (dsp kernel set) gives the int8 model\'s ops as the .tflite writes them (PADs as ops, average-pool regions as slices, pools and concatenations), where the native C runs fewer; else null. No TFLite Micro anchor exists for these models.',
      method: 'qemu-system-arm -M mps2-an386 -icount shift=0,align=off,sleep=off; SysTick on the 25 MHz core clock = 40 instructions per tick; timer-read cost subtracted; small models averaged over a batch (src/run/run.ts). Instructions, not cycles or time.',
      host: benchHost(),
      variants: results,
    },
    null,
    1,
  ) + '\n',
);
console.log(`wrote ${OUT}`);
