/**
 * `tinyml run` end to end on real models (issue 5, Proof): the native backend builds the
 * firmware with arm-none-eabi-gcc, QEMU runs it, the report comes back through the pty, and the
 * outputs must equal TFLite Micro's golden outputs in ../shared/golden element by element.
 */
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runOnEmulator } from '../src/run/run.ts';
import { runQemu } from '../src/emulate/qemu.ts';
import { GOLDEN, MODELS, SHARED } from './helpers/shared.ts';
import { runCli } from './helpers/cli.ts';

const out = mkdtempSync(join(tmpdir(), 'tinyml-run-test-'));

interface Case {
  golden: string;
  model: string;
  case: number;
}

function goldenPaths(c: Case): { input: string; output: Buffer } {
  const dir = join(GOLDEN, c.golden, `case_${c.case}`);
  return { input: join(dir, 'input_0.bin'), output: readFileSync(join(dir, 'output_0.bin')) };
}

/** ELFs built by the golden tests, reused by the determinism test. */
const built = new Map<string, { elf: string; inferences: number[] }>();

const CASES: Case[] = [
  { golden: 'tflm-hello-world', model: 'tflm-hello-world/hello_world_int8.tflite', case: 1 },
  { golden: 'mlperf-tiny-kws', model: 'mlperf-tiny/kws/kws_ref_model.tflite', case: 0 },
  { golden: 'mlperf-tiny-ic', model: 'mlperf-tiny/ic/pretrainedResnet_quant.tflite', case: 1 },
  { golden: 'mlperf-tiny-ad', model: 'mlperf-tiny/ad/ad01_int8.tflite', case: 0 },
];

describe('tinyml run on mps2-an386: outputs equal the TFLite Micro goldens', () => {
  it.each(CASES)('$golden case $case', async (c) => {
    const g = goldenPaths(c);
    const r = await runOnEmulator({ model: join(MODELS, c.model), board: 'mps2-an386', inputs: [g.input], runs: 2, outDir: join(out, `${c.golden}-${c.case}`), timeoutMs: 120_000 });
    built.set(c.golden, { elf: r.elf!, inferences: r.device.inferences });
    expect(r.outputs).toHaveLength(1);
    const device = Buffer.from(r.outputs[0]!.hex, 'hex');
    expect(device.length).toBe(g.output.length);
    const differing = [...device].flatMap((b, i) => (b === g.output[i] ? [] : [i]));
    expect(differing, 'indices whose element differs from the golden').toEqual([]);
    expect(r.unit).toBe('instructions');
    expect(r.latency!.min).toBeGreaterThan(0);
    expect(r.deviceModelHash).toBe(r.expectedModelHash);
    expect(r.arenaBytes).toBeGreaterThan(0);
    expect(r.stackHighWaterBytes).toBeGreaterThan(0);
  });

  it('micro_speech: the "yes" features score yes, the "no" features score no, bytes equal the goldens', async () => {
    const labels = ['silence', 'unknown', 'yes', 'no'];
    for (const [k, word] of [[0, 'yes'], [1, 'no']] as const) {
      const g = goldenPaths({ golden: 'tflm-micro-speech', model: '', case: k });
      const r = await runOnEmulator({ model: join(MODELS, 'tflm-micro-speech/micro_speech_quantized.tflite'), board: 'mps2-an386', inputs: [g.input], outDir: join(out, `speech-${k}`) });
      const scores = r.outputs[0]!.values!;
      expect(r.outputs[0]!.dtype).toBe('int8');
      expect(labels[scores.indexOf(Math.max(...scores))]).toBe(word);
      expect(Buffer.from(r.outputs[0]!.hex, 'hex')).toEqual(g.output);
    }
  });
});

describe('tinyml run determinism and the second emulated board', () => {
  it('gives identical instruction counts on two runs of the same ELF (KWS, IC, AD)', async () => {
    for (const id of ['mlperf-tiny-kws', 'mlperf-tiny-ic', 'mlperf-tiny-ad']) {
      const first = built.get(id) ?? (await (async () => {
        // When run alone (-t), build the ELF here.
        const c = CASES.find((x) => x.golden === id)!;
        const r = await runOnEmulator({ model: join(MODELS, c.model), board: 'mps2-an386', runs: 2, outDir: join(out, `${id}-again`) });
        return { elf: r.elf!, inferences: r.device.inferences };
      })());
      const again = await runQemu({ elfPath: first.elf, machine: 'mps2-an386' });
      const costs = again.items.flatMap((i) => (i.kind === 'record' && i.record.type === 'inference' ? [i.record.instructions as number] : []));
      expect(costs, id).toHaveLength(2);
      expect(costs, id).toEqual(first.inferences);
    }
  });

  it('runs MLPerf KWS on netduinoplus2 with the golden outputs', async () => {
    const g = goldenPaths({ golden: 'mlperf-tiny-kws', model: '', case: 1 });
    const r = await runOnEmulator({ model: join(MODELS, 'mlperf-tiny/kws/kws_ref_model.tflite'), board: 'netduinoplus2', inputs: [g.input], outDir: join(out, 'kws-netduino') });
    expect(Buffer.from(r.outputs[0]!.hex, 'hex')).toEqual(g.output);
    expect(r.device.hello?.board).toBe('netduinoplus2');
  });

  it('prints the report from the command line, with MACs per instruction', () => {
    const g = goldenPaths({ golden: 'tflm-hello-world', model: '', case: 2 });
    const r = runCli(['run', join(MODELS, 'tflm-hello-world/hello_world_int8.tflite'), '--board', 'mps2-an386', '--input', g.input, '--runs', '3', '--out', join(out, 'cli')]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/latency\s+[\d,]+ instructions\/inference \(median of 3/);
    expect(r.stdout).toMatch(/MACs\s+288 {2}\(\d\.\d+ MACs per instruction\)/);
    expect(r.stdout).toContain(`output 0    ${new Int8Array(g.output.buffer, g.output.byteOffset, 1)[0]}`);
  });

  it('answers through `tinyml infer --engine emulator` with the golden outputs', () => {
    const g = goldenPaths({ golden: 'tflm-micro-speech', model: '', case: 1 });
    const r = runCli(['infer', join(MODELS, 'tflm-micro-speech/micro_speech_quantized.tflite'), '--engine', 'emulator', '--input', g.input, '--json']);
    expect(r.code).toBe(0);
    const json = JSON.parse(r.stdout) as { engine: string; outputs: { values: number[] }[] };
    expect(json.engine).toBe('emulator');
    expect(json.outputs[0]!.values).toEqual(Array.from(new Int8Array(g.output.buffer, g.output.byteOffset, g.output.length)));
  });

});

describe('tinyml deploy on an emulated board', () => {
  it('quantizes a float model with --calib, builds, runs, and the device equals the int8 reference', () => {
    const dir = join(out, 'deploy');
    mkdirSync(dir, { recursive: true });
    const calib = join(dir, 'calib.bin'); // 64 float32 x values over [0, 2*pi]
    writeFileSync(calib, Buffer.from(new Float32Array(Array.from({ length: 64 }, (_, i) => (i * 2 * Math.PI) / 63)).buffer));
    const input = join(dir, 'input.bin');
    writeFileSync(input, Buffer.from([0x10]));
    const r = runCli(['deploy', join(MODELS, 'tflm-hello-world/hello_world_float.tflite'), '--board', 'mps2-an386', '--calib', calib, '--input', input, '--out', dir, '--json']);
    expect(r.code).toBe(0);
    const json = JSON.parse(r.stdout) as { int8Model: string; outputs: { values: number[] }[] };
    expect(json.int8Model).toMatch(/_int8\.tflite$/);
    const ref = runCli(['infer', json.int8Model, '--engine', 'reference', '--input', input, '--json']);
    expect(ref.code).toBe(0);
    expect(json.outputs[0]!.values).toEqual((JSON.parse(ref.stdout) as { outputs: { values: number[] }[] }).outputs[0]!.values);
  });

  it('refuses a float model without --calib (exit 2)', () => {
    const float = runCli(['deploy', join(MODELS, 'tflm-hello-world/hello_world_float.tflite'), '--board', 'mps2-an386']);
    expect(float.code).toBe(2);
    expect(float.stderr).toContain('--calib');
  });
});

describe('tinyml run decodes each output with the model\'s dtype', () => {
  // One int16 model (int16 output) and one whose output is float32 (DEQUANTIZE), from golden-ops.
  it.each([
    ['i16_conv2d_3x3_same_s1_relu_c8', 'int16', (b: Buffer) => Array.from(new Int16Array(b.buffer, b.byteOffset, b.length / 2))],
    ['i16_dequantize_int16', 'float32', (b: Buffer) => Array.from(new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.length)))],
  ] as const)('%s: values and argmax as %s, equal to the TFLite Micro golden', (id, dtype, decode) => {
    const dir = join(SHARED, 'golden-ops', id, 'case_0');
    const model = join(MODELS, 'tflm-ops', `${id}.tflite`);
    const input = join(dir, 'input_0.bin');
    const want = decode(readFileSync(join(dir, 'output_0.bin')));
    const r = runCli(['run', model, '--board', 'mps2-an386', '--input', input, '--runs', '1', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const json = JSON.parse(r.stdout) as { elf: string | null; outputs: { dtype: string; values: number[]; argmax: number }[] };
    // Built in a temporary folder that is gone: the report names no firmware file.
    expect(json.elf).toBeNull();
    const o = json.outputs[0]!;
    expect(o.dtype).toBe(dtype);
    expect(o.values).toEqual(want);
    expect(o.argmax).toBe(want.indexOf(Math.max(...want)));
    const text = runCli(['run', model, '--board', 'mps2-an386', '--input', input, '--runs', '1']);
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toContain(`(${dtype}, argmax ${o.argmax})`);
  });
});
