/**
 * Cortex-M firmware builds of the native backend with the real arm-none-eabi-gcc (-Werror),
 * the size report, every golden model run in the real QEMU with each kernel set (case 0 must
 * print TFLite Micro's golden output), determinism, and every bad input of `tinyml build`
 * through the real binary: one line, the documented exit code, nothing written.
 */
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { BoardError, DoesNotFitError, ExitCode } from '../src/errors.ts';
import { loadModel } from '../src/formats/load.ts';
import { writeTflite } from '../src/formats/tflite/write.ts';
import type { Graph } from '../src/ir/graph.ts';
import { ARENA_ALIGNMENT, planMemory } from '../src/plan/memory.ts';
import { chooseNative, KERNEL_SETS } from '../src/codegen/native/dsp.ts';
import { buildFirmware, checkFit, sizeSummary, usageLine, type FirmwareBuild } from '../src/build/firmware.ts';
import { getBoard } from '../src/boards/registry.ts';
import { runCli } from './helpers/cli.ts';
import { encodeNpy } from '../src/data/npy.ts';
import { sharedPath } from './helpers/shared.ts';
import { GOLDEN_IDS, goldenModel } from './helpers/native-models.ts';

const tmp = mkdtempSync(join(tmpdir(), 'tinyml-native-fw-'));

// The builds block the worker for seconds each (synchronous compiler runs, as `tinyml build`
// does them); give vitest's RPC a turn of the event loop between tests.
afterEach(() => new Promise<void>((r) => setImmediate(r)));

describe.each(GOLDEN_IDS)('Cortex-M4 firmware for %s (mps2-an386, defaults: dsp kernels, -O2)', (id) => {
  const gm = goldenModel(id);
  let graph: Graph;
  let fw: FirmwareBuild;

  beforeAll(() => {
    graph = loadModel(gm.modelPath);
    fw = buildFirmware({ modelPath: gm.modelPath, board: 'mps2-an386', outDir: join(tmp, id), inputs: gm.cases[0]!.inputs });
  });

  it('compiles and links with -Werror, the board\'s FPU flags and its default kernel set and level', () => {
    expect(existsSync(fw.elfPath)).toBe(true);
    expect(fw.kernels).toBe('dsp');
    expect(fw.optimize).toBe('2');
    expect(fw.command).toEqual(expect.arrayContaining(['-Werror', '-Wall', '-Wextra', '-mcpu=cortex-m4', '-mthumb', '-mfloat-abi=hard', '-mfpu=fpv4-sp-d16', '-O2', '-DTML_KERNELS_DSP']));
    expect(fw.kernelCommand).toEqual(expect.arrayContaining(['-Werror', '-O2', '-DTML_KERNELS_DSP', '-c']));
    const magic = readFileSync(fw.elfPath).subarray(0, 4);
    expect(Buffer.from(magic).toString('latin1')).toBe('\x7fELF');
  });

  it('writes a size report whose numbers agree with the plan and the link', () => {
    const report = JSON.parse(readFileSync(join(fw.outDir, 'size.json'), 'utf8'));
    expect(report).toEqual(fw.sizes);
    const s = fw.sizes;
    expect(s.arena).toBe(planMemory(graph, ARENA_ALIGNMENT, chooseNative(graph, { kernels: 'dsp' }).request).arenaBytes);
    expect(s.weights).toBe(fw.weightBytes);
    // The const arrays are read-only data inside .text, and the rest of .text is code.
    expect(s.rodata).toBeGreaterThanOrEqual(s.weights + s.inputs);
    expect(s.code).toBe(s.text - s.rodata);
    expect(s.code).toBeGreaterThan(1000);
    expect(s.flashUsed).toBeGreaterThanOrEqual(s.text + s.data);
    expect(s.bss).toBeGreaterThanOrEqual(s.arena);
    expect(s.stackReserve).toBe(65536);
    expect(s.ramUsed).toBe(s.data + s.bss + s.stackReserve);
    expect(s.flashTotal).toBe(getBoard('mps2-an386').usable.flash_bytes);
  });

  it.each(KERNEL_SETS)('case 0 runs in QEMU with the %s kernels and prints the TFLite Micro golden output', async (kernels) => {
    const elf = kernels === fw.kernels ? fw.elfPath : buildFirmware({ modelPath: gm.modelPath, board: 'mps2-an386', outDir: join(tmp, `${id}-${kernels}`), inputs: gm.cases[0]!.inputs, kernels }).elfPath;
    const stdout = await runQemuUntilDone(elf);
    expect(stdout).toContain(`"kernels":"${kernels}"`);
    const hexes = [...stdout.matchAll(/"type":"output"[^\n]*"hex":"([0-9a-f]+)"/g)].map((m) => m[1]);
    expect(hexes.join(''), stdout).toBe(gm.cases[0]!.outputs.map((o) => Buffer.from(o).toString('hex')).join(''));
    expect(stdout).toContain('"type":"done","status":"ok"');
  });
});

describe('an -Os build', () => {
  it('hello_world case 1 at -Os with the portable kernels: the output over the UART equals the golden bytes', async () => {
    const gm = goldenModel('tflm-hello-world');
    const fw = buildFirmware({ modelPath: gm.modelPath, board: 'mps2-an386', outDir: join(tmp, 'hello-os'), inputs: gm.cases[1]!.inputs, optimize: 's', kernels: 'portable' });
    expect(fw.command).toEqual(expect.arrayContaining(['-Os']));
    expect(fw.command).not.toContain('-DTML_KERNELS_DSP');
    const stdout = await runQemuUntilDone(fw.elfPath);
    const output = stdout.split('\n').find((l) => l.includes('"type":"output"'));
    expect(output, stdout).toBeDefined();
    const hex = /"hex":"([0-9a-f]+)"/.exec(output!)![1]!;
    expect(hex).toBe(Buffer.from(gm.cases[1]!.outputs[0]!).toString('hex'));
  });
});

/** Runs an mps2-an386 ELF in QEMU until the firmware's `done` record (the firmware then idles). */
function runQemuUntilDone(elf: string): Promise<string> {
  return new Promise((resolveRun, reject) => {
    const q = spawn('qemu-system-arm', ['-M', 'mps2-an386', '-nographic', '-monitor', 'none', '-serial', 'stdio', '-icount', 'shift=0,align=off,sleep=off', '-kernel', elf]);
    let out = '';
    const timer = setTimeout(() => {
      q.kill('SIGKILL');
      reject(new Error(`QEMU gave no done record in 45 s:\n${out}`));
    }, 45_000);
    q.stdout.on('data', (d: Buffer) => {
      out += d.toString('latin1');
      // Resolve on the whole done line: a chunk can end in the middle of it.
      if (/"type":"done"[^\n]*\n/.test(out)) {
        clearTimeout(timer);
        q.kill('SIGKILL');
        resolveRun(out);
      }
    });
    q.on('error', reject);
  });
}

describe('other boards and options', () => {
  it('builds for netduinoplus2 at -O2 against its own linker script and memory', () => {
    const fw = buildFirmware({ modelPath: sharedPath('models/tflm-micro-speech/micro_speech_quantized.tflite'), board: 'netduinoplus2', outDir: join(tmp, 'nd'), optimize: '2' });
    expect(fw.command).toEqual(expect.arrayContaining(['-O2', '-mfpu=fpv4-sp-d16']));
    expect(fw.sizes.stackReserve).toBe(16384);
    expect(fw.sizes.ramTotal).toBe(131072);
  });

  it('gives byte-identical generated files and ELF for the same model and options', () => {
    const model = sharedPath('models/tflm-hello-world/hello_world_int8.tflite');
    const a = buildFirmware({ modelPath: model, board: 'mps2-an386', outDir: join(tmp, 'det-a') });
    const b = buildFirmware({ modelPath: model, board: 'mps2-an386', outDir: join(tmp, 'det-b') });
    for (const f of ['model.h', 'model.c', 'tml_input.h', 'tml_input.c', 'tml_build_info.h', 'firmware.elf']) {
      expect(readFileSync(join(a.outDir, f)).equals(readFileSync(join(b.outDir, f))), f).toBe(true);
    }
    expect(a.buildId).toBe(b.buildId);
    const c = buildFirmware({ modelPath: model, board: 'mps2-an386', outDir: join(tmp, 'det-c'), optimize: 's' });
    expect(c.buildId).not.toBe(a.buildId);
  });

  it('quantizes a float model on the way with --calib and builds it (CLI, --json)', () => {
    const calib = join(tmp, 'sine-calib.npy');
    const xs = Float32Array.from({ length: 64 }, (_, i) => (i / 63) * 2 * Math.PI);
    writeFileSync(calib, encodeNpy({ dtype: 'float32', shape: [64, 1], data: xs }));
    const out = join(tmp, 'float-calib');
    const r = runCli(['build', sharedPath('models/tflm-hello-world/hello_world_float.tflite'), '--board', 'mps2-an386', '--calib', calib, '--out', out, '--json']);
    expect(r.code, r.stderr).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j.quantizedWithCalib).toBe(true);
    expect(existsSync(j.elf)).toBe(true);
    expect(j.sizes.weights).toBeGreaterThan(0);
    expect(readFileSync(join(out, 'model.h'), 'utf8')).toMatch(/#define TML_INPUT0_DTYPE +"int8"/);
  });

  it('prints the PlatformIO-style summary with the arena listed separately', () => {
    expect(usageLine('Flash:', 123, 1000)).toBe('Flash:[=         ]  12.3% (used 123 bytes from 1000 bytes)');
    expect(usageLine('RAM:', 1000, 1000)).toBe('RAM:  [==========] 100.0% (used 1000 bytes from 1000 bytes)');
    const lines = sizeSummary({ text: 10, rodata: 4, code: 6, data: 2, bss: 50, weights: 3, inputs: 1, arena: 40, stackReserve: 8, flashUsed: 12, flashTotal: 100, ramUsed: 60, ramTotal: 100 });
    expect(lines[0]).toMatch(/^RAM: {2}\[====== {4}\] {2}60\.0% \(used 60 bytes from 100 bytes\)$/);
    expect(lines[1]).toMatch(/^Flash:\[= {9}\] {2}12\.0%/);
    expect(lines[2]).toBe('Arena: 40 bytes (inside RAM), stack reserve 8 bytes');
  });
});

/** A valid int8 model too big for netduinoplus2: one FULLY_CONNECTED with 1.25 MiB of weights. */
function hugeModel(): Uint8Array {
  const K = 2048;
  const U = 640;
  const q = (s: number, zp = 0) => ({ scale: [s], zeroPoint: [zp], axis: 0 });
  const g: Graph = {
    format: 'tflite',
    tensors: [
      { index: 0, name: 'x', shape: [1, K], dtype: 'int8', quant: q(0.05, -3) },
      { index: 1, name: 'w', shape: [U, K], dtype: 'int8', quant: q(0.01), data: new Uint8Array(U * K).fill(1) },
      { index: 2, name: 'b', shape: [U], dtype: 'int32', quant: q(0.0005), data: new Uint8Array(U * 4) },
      { index: 3, name: 'y', shape: [1, U], dtype: 'int8', quant: q(0.2, 4) },
    ],
    ops: [
      {
        index: 0,
        type: 'FULLY_CONNECTED',
        version: 4,
        inputs: [0, 1, 2],
        outputs: [3],
        attrs: { fusedActivation: 'NONE', keepNumDims: false },
        source: { format: 'tflite', opType: 'FULLY_CONNECTED', name: 'y' },
      },
    ],
    inputs: [{ tensor: 0 }],
    outputs: [{ tensor: 3 }],
    meta: {},
    warnings: [],
  };
  return writeTflite(g);
}

describe('bad input to tinyml build: one line, the documented exit code, nothing written', () => {
  const hello = sharedPath('models/tflm-hello-world/hello_world_int8.tflite');

  function expectOneLineError(r: { code: number; stdout: string; stderr: string }, code: number, pattern: RegExp): void {
    expect(r.code, r.stderr).toBe(code);
    const lines = r.stderr.trim().split('\n').filter((l) => !l.includes('warning'));
    expect(lines, r.stderr).toHaveLength(1);
    expect(lines[0]).toMatch(pattern);
    expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
  }

  it('an op the native backend cannot generate: names the op, its dtype and node, counts the others, points only at backends that run it, writes nothing', () => {
    const g = loadModel(hello);
    g.ops[0]!.type = 'ABS';
    g.ops[0]!.inputs = [g.ops[0]!.inputs[0]!];
    g.ops[0]!.attrs = {};
    g.ops[2]!.type = 'RSQRT';
    g.ops[2]!.inputs = [g.ops[2]!.inputs[0]!];
    g.ops[2]!.attrs = {};
    const model = join(tmp, 'unsupported.tflite');
    writeFileSync(model, writeTflite(g));
    const out = join(tmp, 'unsupported-out');
    const r = runCli(['build', model, '--board', 'mps2-an386', '--out', out]);
    // TFLite Micro runs ABS and RSQRT on int8 (its SIN and EXP are float32 only); no other backend has them.
    expectOneLineError(
      r,
      ExitCode.UNSUPPORTED,
      /the native C backend cannot run ABS int8 \(op #0, node "sequential\/dense\/MatMul[^"]*"\): has no native C kernel \(and 1 more op: RSQRT int8\); TensorFlow Lite Micro \(add --runtime tflm to build, run or deploy\) runs every op of this model$/,
    );
    expect(existsSync(out)).toBe(false);
  });

  it('a real model full of ops no tinyml backend runs (the micro_speech audio preprocessor): the first named, the others counted, no backend suggested', () => {
    const out = join(tmp, 'audio-out');
    const r = runCli(['build', sharedPath('models/tflm-micro-speech/audio_preprocessor_int8.tflite'), '--board', 'mps2-an386', '--out', out]);
    expectOneLineError(r, ExitCode.UNSUPPORTED, /cannot run SignalWindow int16 \(op #0, node "signal_window"\): has no native C kernel \(and 18 more ops: .*\); no tinyml backend runs SignalWindow on int16 yet: replace it in the model$/);
    expect(existsSync(out)).toBe(false);
  });

  it('a float model without --calib: says to pass --calib', () => {
    const out = join(tmp, 'float-out');
    const r = runCli(['build', sharedPath('models/tflm-hello-world/hello_world_float.tflite'), '--board', 'mps2-an386', '--out', out]);
    expectOneLineError(r, ExitCode.USAGE, /float model.*pass --calib <data>/);
    expect(existsSync(out)).toBe(false);
  });

  // Arduino boards go to the sketch builder at the CLI (src/arduino), so these two board
  // refusals of the native firmware build are checked on buildFirmware itself.
  it('the dsp kernel set on a board without DSP instructions is a BoardError (exit 7)', () => {
    const build = () => buildFirmware({ modelPath: hello, board: 'pico', kernels: 'dsp', outDir: join(tmp, 'pico-out') });
    expect(build).toThrow(BoardError);
    expect(build).toThrow(/dsp kernel set needs the Armv7E-M DSP instructions and pico \(cortex-m0plus\) has none: build with --kernels portable/);
    expect(new BoardError('x').exitCode).toBe(ExitCode.BOARD);
    expect(existsSync(join(tmp, 'pico-out'))).toBe(false);
  });

  it('a board with no bare-metal platform is a BoardError naming the boards that have one', () => {
    const build = () => buildFirmware({ modelPath: hello, board: 'portenta-h7-m7', outDir: join(tmp, 'portenta-out') });
    expect(build).toThrow(BoardError);
    expect(build).toThrow(/no bare-metal platform for the native backend .*build for disco-f746ng or mps2-an386 or nano33ble or netduinoplus2 or stm32f4-discovery/);
    expect(existsSync(join(tmp, 'portenta-out'))).toBe(false);
  });

  it('an output folder that cannot be written', () => {
    const file = join(tmp, 'a-file');
    writeFileSync(file, 'not a folder');
    const r = runCli(['build', hello, '--board', 'mps2-an386', '--out', join(file, 'sub')]);
    expectOneLineError(r, ExitCode.FILE, /cannot write to the output folder .*a-file\/sub: choose a writable folder with --out/);
  });

  it('a missing cross compiler: the exact apt-get line; the sources and a Makefile are written to build later', () => {
    const out = join(tmp, 'nocc-out');
    const r = runCli(['build', hello, '--board', 'mps2-an386', '--out', out], { env: { PATH: join(tmp, 'empty-path') } });
    expectOneLineError(r, ExitCode.MISSING_TOOL, /arm-none-eabi-gcc not found on PATH: install it with `sudo apt-get install gcc-arm-none-eabi libnewlib-arm-none-eabi`.*Makefile/);
    expect(existsSync(join(out, 'Makefile'))).toBe(true);
    expect(existsSync(join(out, 'firmware.elf'))).toBe(false);
  });

  it('a model that does not fit the board: refused before compiling, with the numbers', () => {
    const model = join(tmp, 'huge.tflite');
    writeFileSync(model, hugeModel());
    const out = join(tmp, 'huge-out');
    const r = runCli(['build', model, '--board', 'netduinoplus2', '--out', out]);
    // Const data: 640x2048 int8 weights + 640 int32 folded biases + one multiplier and shift.
    const weights = 640 * 2048 + 640 * 4 + 8;
    // + the baked input + the code estimate + the op's call (24) and its 7 requantization values (2 each)
    const need = weights + 2048 + 16384 + 38;
    expectOneLineError(
      r,
      ExitCode.DOES_NOT_FIT,
      new RegExp(`does not fit netduinoplus2: flash: needs about ${need} bytes \\(weights ${weights} \\+ inputs 2048 \\+ code ~16384 \\+ code of 1 op ~38\\) but netduinoplus2 has 1048576, ${need - 1048576} bytes too many`),
    );
    expect(existsSync(out)).toBe(false);
  });

  it('checkFit reports RAM overflow with the arena and stack', () => {
    const board = getBoard('netduinoplus2');
    expect(() => checkFit(board, { weights: 1000, inputs: 0, arena: 200_000, stack: 16384 })).toThrow(DoesNotFitError);
    expect(() => checkFit(board, { weights: 1000, inputs: 0, arena: 200_000, stack: 16384 })).toThrow(/RAM: needs about 218432 bytes \(arena 200000 \+ stack 16384/);
    expect(() => checkFit(board, { weights: 1000, inputs: 0, arena: 1000, stack: 16384 })).not.toThrow();
  });
});
