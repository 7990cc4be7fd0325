/**
 * Renode end to end (issue 16): the bare-metal native firmware of the Nano 33 BLE (nRF52840,
 * UARTE0 over EasyDMA) and of the STM32F4DISCOVERY run in the real Renode 1.15 of
 * ../shared/tools/renode (Mono from Debian, scripts/setup.sh), the report comes back through the
 * pty, and the outputs must equal TFLite Micro's goldens element by element. Instruction counts
 * are identical across two runs of the same ELF, the stale-ELF check and the errors behave as on
 * QEMU. Renode starts Mono for every run (~10 s), so the runs here are few and shared.
 */
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runOnEmulator, type RunResult } from '../src/run/run.ts';
import { findRenode, renodeCommandError, runRenode, vectorTableAddress, MONO_PACKAGES } from '../src/emulate/renode.ts';
import { emulatorFor } from '../src/emulate/runner.ts';
import { getBoard } from '../src/boards/registry.ts';
import { ExitCode, MismatchError, MissingToolError, ToolFailedError } from '../src/errors.ts';
import { GOLDEN, MODELS, PROJECT_ROOT } from './helpers/shared.ts';
import { runCli } from './helpers/cli.ts';

const out = mkdtempSync(join(tmpdir(), 'tinyml-renode-test-'));
const KWS = join(MODELS, 'mlperf-tiny/kws/kws_ref_model.tflite');
const SPEECH = join(MODELS, 'tflm-micro-speech/micro_speech_quantized.tflite');

function golden(dir: string, k: number): { input: string; output: Buffer } {
  const d = join(GOLDEN, dir, `case_${k}`);
  return { input: join(d, 'input_0.bin'), output: readFileSync(join(d, 'output_0.bin')) };
}

function differing(r: RunResult, want: Buffer): number[] {
  const got = Buffer.from(r.outputs[0]!.hex, 'hex');
  expect(got.length).toBe(want.length);
  return [...got].flatMap((b, i) => (b === want[i] ? [] : [i]));
}

const CASES = [
  { board: 'nano33ble', golden: 'mlperf-tiny-kws', model: KWS, k: 0 },
  { board: 'nano33ble', golden: 'tflm-micro-speech', model: SPEECH, k: 0 },
  { board: 'stm32f4-discovery', golden: 'mlperf-tiny-kws', model: KWS, k: 1 },
  { board: 'stm32f4-discovery', golden: 'tflm-micro-speech', model: SPEECH, k: 1 },
];
const results = new Map<string, RunResult>();

describe('Renode runs the firmware users flash: outputs equal the TFLite Micro goldens', () => {
  it.each(CASES)('$golden case $k on $board', async (c) => {
    const g = golden(c.golden, c.k);
    const r = await runOnEmulator({ model: c.model, board: c.board, inputs: [g.input], runs: 2, outDir: join(out, `${c.board}-${c.golden}`), timeoutMs: 120_000 });
    results.set(`${c.board}/${c.golden}`, r);
    expect(r.emulator).toBe('renode');
    expect(r.machine).toBe(getBoard(c.board).emulation.renode);
    expect(differing(r, g.output), 'indices whose element differs from the golden').toEqual([]);
    expect(r.unit).toBe('instructions');
    expect(r.deviceModelHash).toBe(r.expectedModelHash);
    // Two timed inferences of the same code in one run: the same instruction count, to Renode's
    // time quantum (1000 instructions at 1000 MIPS): where its boundaries fall depends on where
    // each inference starts. (Run to run, the counts are identical: tested below.)
    expect(r.device.inferences).toHaveLength(2);
    expect(Math.abs(r.device.inferences[0]! - r.device.inferences[1]!)).toBeLessThanOrEqual(1000);
    // Renode's own count of the whole run covers both timed inferences.
    expect(r.executedInstructions).not.toBeNull();
    expect(r.executedInstructions!).toBeGreaterThan(2 * r.latency!.max);
    expect(r.arenaBytes).toBeGreaterThan(0);
    expect(r.stackHighWaterBytes).toBeGreaterThan(0);
  });

  it('the same ELF run again gives the same instruction counts, to the instruction, and the same whole-run count', async () => {
    const first = results.get('nano33ble/mlperf-tiny-kws');
    expect(first, 'the KWS run on nano33ble ran first').toBeDefined();
    const again = await runOnEmulator({ model: KWS, elf: first!.elf!, board: 'nano33ble', timeoutMs: 120_000 });
    expect(again.device.inferences).toEqual(first!.device.inferences);
    expect(again.executedInstructions).toBe(first!.executedInstructions);
    expect(again.outputs[0]!.hex).toBe(first!.outputs[0]!.hex);
    // KWS is ~3.6 M instructions per inference whatever the board with the default (dsp)
    // kernels, ~17 M with the portable ones: same kernels, same compiler.
    expect(first!.latency!.median).toBeGreaterThan(2_000_000);
    expect(first!.latency!.median).toBeLessThan(25_000_000);
  });

  it('an ELF built for another model is refused as stale (MismatchError, exit 14 on the CLI)', async () => {
    const kwsElf = results.get('stm32f4-discovery/mlperf-tiny-kws')!.elf!;
    await expect(runOnEmulator({ model: SPEECH, elf: kwsElf, board: 'stm32f4-discovery', timeoutMs: 120_000 })).rejects.toBeInstanceOf(MismatchError);
  });
});

describe('the Renode runner: finding Renode, Mono, and errors', () => {
  it('finds ../shared/tools/renode (Mono build) when nothing else is given', () => {
    const found = findRenode(undefined, { PATH: process.env['PATH'] ?? '' });
    expect(found.source).toBe('../shared/tools/renode');
    expect(found.needsMono).toBe(true);
    expect(existsSync(join(found.root, 'platforms/boards/arduino_nano_33_ble.repl'))).toBe(true);
  });

  it('Renode missing is exit 9 with how to install it', () => {
    const r = runCli(['run', KWS, '--board', 'nano33ble', '--renode', join(out, 'no-renode-here')]);
    expect(r.code).toBe(ExitCode.MISSING_TOOL);
    expect(r.stderr).toMatch(/^tinyml: error: Renode not found at .*no-renode-here.*: install Renode 1\.15 or newer .*renode\/releases/m);
    expect(() => findRenode(undefined, { RENODE: '/nonexistent/renode', PATH: '' })).toThrow(MissingToolError);
  });

  it('Mono missing is exit 9 naming the Debian packages', () => {
    // A PATH without mono: the shared Renode is a Mono build.
    expect(() => findRenode(undefined, { PATH: '/nonexistent' })).toThrow(/needs Mono, which is not installed: sudo apt-get install mono-runtime /);
    const setup = readFileSync(join(PROJECT_ROOT, 'scripts/setup.sh'), 'utf8');
    for (const p of MONO_PACKAGES) expect(setup, `scripts/setup.sh installs ${p}`).toContain(p);
  });

  it('a platform Renode cannot load is exit 10 quoting Renode', async () => {
    const elf = results.get('nano33ble/mlperf-tiny-kws')?.elf;
    expect(elf).toBeDefined();
    const run = runRenode({ elfPath: elf!, platform: 'platforms/boards/no_such_board.repl', uart: 'sysbus.uart0', cpuHz: 64_000_000, name: 'nano33ble', timeoutMs: 60_000 });
    await expect(run).rejects.toBeInstanceOf(ToolFailedError);
    await expect(run).rejects.toThrow(/Renode failed on `machine LoadPlatformDescription @platforms\/boards\/no_such_board\.repl`: Could not find file/);
  });

  it('reads the error Renode prints after a failed command', () => {
    const text = "(dut) sysbus LoadELF @/etc/passwd\nThere was an error executing command 'sysbus LoadELF @/etc/passwd'\nError while loading ELF: Could not load ELF from path: /etc/passwd.\n(dut) ";
    expect(renodeCommandError(text)).toEqual({ command: 'sysbus LoadELF @/etc/passwd', message: 'Error while loading ELF: Could not load ELF from path: /etc/passwd.' });
    expect(renodeCommandError('(dut) start\n')).toBeNull();
  });

  it('picks the emulator from the board: QEMU where it has one, Renode otherwise; --emulator must fit the board', () => {
    expect(emulatorFor(getBoard('mps2-an386')).id).toBe('qemu');
    expect(emulatorFor(getBoard('nano33ble')).id).toBe('renode');
    expect(emulatorFor(getBoard('disco-f746ng')).machine).toBe('platforms/boards/stm32f7_discovery-bb.repl');
    expect(() => emulatorFor(getBoard('nano33ble'), { emulator: 'qemu' })).toThrow(/not emulated by QEMU: use --emulator renode/);
    expect(() => emulatorFor(getBoard('mps2-an386'), { emulator: 'bochs' })).toThrow(/--emulator must be qemu or renode/);
    expect(() => emulatorFor(getBoard('pico'))).toThrow(/board pico has no emulator/);
  });

  it('the Nano 33 BLE image sits behind the bootloader: vector table and firmware.bin at 0x10000', () => {
    const r = results.get('nano33ble/mlperf-tiny-kws')!;
    expect(vectorTableAddress(r.elf!)).toBe(0x10000);
    const bin = readFileSync(join(r.build!.outDir!, 'firmware.bin'));
    // The image starts with the vector table: initial SP in RAM, reset handler in the image (Thumb).
    expect(bin.readUInt32LE(0) >>> 28).toBe(0x2);
    const reset = bin.readUInt32LE(4);
    expect(reset & 1).toBe(1);
    expect(reset).toBeGreaterThan(0x10000);
    expect(reset).toBeLessThan(0x10000 + bin.length);
  });
});
