/**
 * `--runtime tflm` through the binary, as a user or CI runs it: run (report, budgets, JUnit,
 * exit codes), build for an Arduino board (the arena measured, planned vs needed printed) and
 * for an emulated board, infer --engine emulator, eval --device, bench side by side with the
 * native runtime, the library looked for where users have it, and monitor --until-done on a
 * session that ended in an error. The pinned library is ../shared/third_party; every TFLM test
 * shares one build cache (helpers/tflm.ts).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TFLM_LIB_PARENT, TFLM_TEST_CACHE, useTflmCache } from './helpers/tflm.ts';
import { GOLDEN, sharedPath } from './helpers/shared.ts';
import { goldenModel } from './helpers/native-models.ts';
import { runCliAsync } from './fixtures/firmware/run-cli-async.ts';
import { findTflmLibrary } from '../src/arduino/tflm-library.ts';
import { ensureTflmArchive } from '../src/arduino/tflm-archive.ts';
import { cpuFlags } from '../src/build/firmware.ts';
import { getBoard } from '../src/boards/registry.ts';
import { encodeRecord } from '../src/device/protocol.ts';
import { ExitCode } from '../src/errors.ts';

useTflmCache();
const tmp = mkdtempSync(join(tmpdir(), 'tinyml-tflm-cli-'));
const HELLO = sharedPath('models/tflm-hello-world/hello_world_int8.tflite');
const KWS = sharedPath('models/mlperf-tiny/kws/kws_ref_model.tflite');
/** The CLI with the shared cache and no library in the environment (tests say where it is). */
const ENV = { TINYML_CACHE: TFLM_TEST_CACHE, TINYML_TFLM_LIB: '', HOME: tmp, ARDUINO_DIRECTORIES_USER: '' };
const cli = (args: string[], timeoutMs = 300_000, env: NodeJS.ProcessEnv = {}) => runCliAsync(args, timeoutMs, { ...ENV, ...env });
const errorLines = (stderr: string) => stderr.trim().split('\n').filter((l) => l.startsWith('tinyml: error:'));

beforeAll(async () => {
  await ensureTflmArchive({ lib: findTflmLibrary({ path: TFLM_LIB_PARENT }), cpuFlags: cpuFlags(getBoard('mps2-an386')), optimize: '2' });
}, 1_800_000);

describe('tinyml run --runtime tflm', () => {
  it('KWS: the report as JSON, the budgets (exit 13) and JUnit, outputs equal the golden', async () => {
    const junit = join(tmp, 'kws.xml');
    const r = await cli(['run', KWS, '--board', 'mps2-an386', '--runtime', 'tflm', '--tflm-lib', TFLM_LIB_PARENT, '--input', join(GOLDEN, 'mlperf-tiny-kws/case_0/input_0.bin'), '--json', '--junit', junit, '--max-instructions', '1000000', '--max-arena', '100000']);
    expect(r.code, r.stderr).toBe(ExitCode.BUDGET);
    const j = JSON.parse(r.stdout) as { runtime: string; unit: string; latency: { median: number }; arenaBytes: number; tflm: { library: string; arena: { source: string; arenaBytes: number }; arenaUsedBytes: number }; outputs: { hex: string }[]; budgets: { name: string; ok: boolean }[]; stackHighWaterBytes: number; flashBytes: number };
    expect(j.runtime).toBe('tflm');
    expect(j.unit).toBe('instructions');
    expect(j.tflm.library).toBe('Chirale_TensorFLowLite 2.0.0');
    expect(j.tflm.arena.source).toBe('measured');
    expect(j.arenaBytes).toBe(j.tflm.arena.arenaBytes);
    expect(j.tflm.arenaUsedBytes).toBeLessThanOrEqual(j.arenaBytes);
    expect(j.latency.median).toBeGreaterThan(1_000_000);
    expect(j.stackHighWaterBytes).toBeGreaterThan(0);
    expect(j.flashBytes).toBeGreaterThan(50_000);
    expect(j.outputs[0]!.hex).toBe(Buffer.from(readFileSync(join(GOLDEN, 'mlperf-tiny-kws/case_0/output_0.bin'))).toString('hex'));
    expect(j.budgets).toEqual([
      { name: 'instructions', option: '--max-instructions', limit: 1_000_000, actual: expect.any(Number), ok: false },
      { name: 'arena', option: '--max-arena', limit: 100_000, actual: j.arenaBytes, ok: true },
    ]);
    expect(errorLines(r.stderr)).toEqual([expect.stringMatching(/^tinyml: error: instructions \d+ exceeds --max-instructions 1000000/)]);
    expect(readFileSync(junit, 'utf8')).toMatch(/<failure[^>]*>instructions \d+ exceeds 1000000/);
  }, 600_000);

  it('option mistakes are usage errors (exit 2) before anything is built', async () => {
    const notAligned = await cli(['run', HELLO, '--board', 'mps2-an386', '--runtime', 'tflm', '--arena', '1000']);
    expect(notAligned.code).toBe(ExitCode.USAGE);
    expect(errorLines(notAligned.stderr)).toEqual(['tinyml: error: --arena 1000 is not a multiple of 16: TFLite Micro aligns the arena to 16 bytes, pass 1008']);
    const nativeArena = await cli(['run', HELLO, '--board', 'mps2-an386', '--arena', '1024']);
    expect(nativeArena.code).toBe(ExitCode.USAGE);
    expect(errorLines(nativeArena.stderr)).toEqual(['tinyml: error: --arena is for --runtime tflm: add --runtime tflm, or drop it']);
    const badRuntime = await cli(['bench', HELLO, '--runtime', 'tflm,cmsis']);
    expect(badRuntime.code).toBe(ExitCode.USAGE);
    expect(errorLines(badRuntime.stderr)).toEqual(["tinyml: error: --runtime takes native, tflm or both (tflm,native), not 'cmsis'"]);
  });

  it('without the library: exit 9, one line with the install command (nothing is compiled)', async () => {
    const r = await cli(['run', HELLO, '--board', 'mps2-an386', '--runtime', 'tflm']);
    expect(r.code).toBe(ExitCode.MISSING_TOOL);
    expect(errorLines(r.stderr)).toEqual([expect.stringMatching(/^tinyml: error: the TFLite Micro library Chirale_TensorFLowLite 2\.0\.0 was not found \(looked in .*\): run `arduino-cli lib install "Chirale_TensorFLowLite@2\.0\.0"`, or pass --tflm-lib <path> or set TINYML_TFLM_LIB$/)]);
  });

  it('another version of the library is refused with the pinned one\'s install line; TINYML_TFLM_LIB and the Arduino libraries folder are looked in', async () => {
    // arduino-cli's user folder: <user>/libraries/<library> (ARDUINO_DIRECTORIES_USER, else ~/Arduino).
    const user = join(tmp, 'user');
    const old = join(user, 'libraries', 'Chirale_TensorFLowLite');
    mkdirSync(join(old, 'src'), { recursive: true });
    writeFileSync(join(old, 'library.properties'), 'name=Chirale_TensorFLowLite\nversion=1.1.0\n');
    const viaEnv = await cli(['run', HELLO, '--board', 'mps2-an386', '--runtime', 'tflm'], 60_000, { TINYML_TFLM_LIB: join(user, 'libraries') });
    expect(viaEnv.code).toBe(ExitCode.MISSING_TOOL);
    expect(errorLines(viaEnv.stderr)).toEqual([expect.stringMatching(/found Chirale_TensorFLowLite 1\.1\.0 at .* but tinyml's TFLite Micro runtime needs 2\.0\.0: run `arduino-cli lib install "Chirale_TensorFLowLite@2\.0\.0"`/)]);
    const viaUserDir = await cli(['run', HELLO, '--board', 'mps2-an386', '--runtime', 'tflm'], 60_000, { ARDUINO_DIRECTORIES_USER: user });
    expect(errorLines(viaUserDir.stderr)[0]).toContain(`found Chirale_TensorFLowLite 1.1.0 at ${old}`);
    const home = join(tmp, 'home');
    mkdirSync(join(home, 'Arduino'), { recursive: true });
    const { symlinkSync } = await import('node:fs');
    symlinkSync(join(user, 'libraries'), join(home, 'Arduino', 'libraries'));
    const viaHome = await cli(['run', HELLO, '--board', 'mps2-an386', '--runtime', 'tflm'], 60_000, { HOME: home });
    expect(errorLines(viaHome.stderr)[0]).toContain(`found Chirale_TensorFLowLite 1.1.0 at ${join(home, 'Arduino', 'libraries', 'Chirale_TensorFLowLite')}`);
  });
});

describe('tinyml build --runtime tflm', () => {
  it('for the Nano 33 BLE: the arena is measured with the library and printed as planned vs needed; formula without it', async () => {
    const out = join(tmp, 'nano-hello');
    const r = await cli(['build', HELLO, '--board', 'nano33ble', '--runtime', 'tflm', '--tflm-lib', TFLM_LIB_PARENT, '--out', out, '--json']);
    expect(r.code, r.stderr).toBe(0);
    const j = JSON.parse(r.stdout) as { arenaBytes: number; arenaSource: string; neededArenaBytes: number; formulaArenaBytes: number; plannedArenaBytes: number };
    expect(j.arenaSource).toBe('measured');
    expect(j.arenaBytes).toBe(j.neededArenaBytes);
    expect(readFileSync(join(out, 'model_data.h'), 'utf8')).toContain(`#define TML_TFLM_ARENA_BYTES ${j.arenaBytes}u`);
    const text = await cli(['build', HELLO, '--board', 'nano33ble', '--runtime', 'tflm', '--tflm-lib', TFLM_LIB_PARENT, '--out', out]);
    expect(text.stdout).toMatch(new RegExp(`arena ${j.arenaBytes} bytes: measured, the smallest TFLite Micro accepts for this model \\(formula ${j.formulaArenaBytes}, tinyml's own plan ${j.plannedArenaBytes}\\)`));
    const none = await cli(['build', HELLO, '--board', 'nano33ble', '--runtime', 'tflm', '--out', join(tmp, 'nano-hello-formula')]);
    expect(none.code).toBe(0);
    expect(none.stdout).toMatch(/arena \d+ bytes: formula \(.*\); not measured: the TFLite Micro library Chirale_TensorFLowLite 2\.0\.0 was not found on this machine/);
  }, 600_000);

  it('for mps2-an386: the TFLite Micro firmware ELF, with the size summary', async () => {
    const out = join(tmp, 'mps2-hello');
    const r = await cli(['build', HELLO, '--board', 'mps2-an386', '--runtime', 'tflm', '--tflm-lib', TFLM_LIB_PARENT, '--out', out]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^built .*firmware\.elf for mps2-an386: TensorFlow Lite Micro \(Chirale_TensorFLowLite 2\.0\.0, CMSIS-NN\) on tinyml's bare-metal Arduino core/);
    expect(r.stdout).toMatch(/Flash:\s*\[/);
    expect(existsSync(join(out, 'firmware.elf'))).toBe(true);
    expect(existsSync(join(out, 'tflm_sketch', 'tflm_sketch.ino'))).toBe(true);
  }, 600_000);
});

describe('deploy --runtime tflm', () => {
  it('a float model with --calib: quantized for the pinned library (per-tensor FULLY_CONNECTED), run in QEMU, outputs byte-identical with the native runtime on the same int8 model', async () => {
    const calib = join(tmp, 'hello-calib.json');
    writeFileSync(calib, JSON.stringify(Array.from({ length: 16 }, (_, i) => [(i / 15) * 6.28])));
    const out = join(tmp, 'deploy-float');
    const r = await cli(['deploy', sharedPath('models/tflm-hello-world/hello_world_float.tflite'), '--calib', calib, '--board', 'mps2-an386', '--runtime', 'tflm', '--tflm-lib', TFLM_LIB_PARENT, '--runs', '1', '--out', out, '--json']);
    expect(r.code, r.stderr).toBe(0);
    const j = JSON.parse(r.stdout) as { runtime: string; int8Model: string; tflm: { library: string }; outputs: { hex: string }[] };
    expect(j.runtime).toBe('tflm');
    expect(j.tflm.library).toBe('Chirale_TensorFLowLite 2.0.0');
    expect(existsSync(j.int8Model)).toBe(true);
    const native = await cli(['run', j.int8Model, '--board', 'mps2-an386', '--runs', '1', '--json']);
    expect(native.code, native.stderr).toBe(0);
    expect((JSON.parse(native.stdout) as { outputs: { hex: string }[] }).outputs.map((o) => o.hex)).toEqual(j.outputs.map((o) => o.hex));
  }, 600_000);
});

describe('infer, eval and bench on TFLite Micro', () => {
  it('infer --engine emulator --runtime tflm: the golden hello_world output', async () => {
    const gm = goldenModel('tflm-hello-world');
    const input = join(GOLDEN, 'tflm-hello-world/case_1/input_0.bin');
    const r = await cli(['infer', HELLO, '--engine', 'emulator', '--runtime', 'tflm', '--tflm-lib', TFLM_LIB_PARENT, '--input', input, '--json']);
    expect(r.code, r.stderr).toBe(0);
    const j = JSON.parse(r.stdout) as { engine: string; outputs: { values: number[] }[] };
    expect(j.engine).toBe('emulator');
    expect(j.outputs[0]!.values).toEqual(Array.from(new Int8Array(gm.cases[1]!.outputs[0]!.buffer.slice(0))));
  }, 600_000);

  it('eval --device mps2-an386 --runtime tflm: every device output equals the int8 reference', async () => {
    const data = join(tmp, 'hello-x.json');
    writeFileSync(data, JSON.stringify([[0], [1.57], [3.14], [4.71], [0.5]]));
    const r = await cli(['eval', sharedPath('models/tflm-hello-world/hello_world_float.tflite'), '--quantized', HELLO, '--data', data, '--device', 'mps2-an386', '--runtime', 'tflm', '--tflm-lib', TFLM_LIB_PARENT, '--json']);
    expect(r.code, r.stderr).toBe(0);
    const j = JSON.parse(r.stdout) as { device: { id: string; runtime: string; samples: number; vsInt8Reference: { elements: number; differing: number } } };
    expect(j.device).toMatchObject({ id: 'device:mps2-an386:tflm', runtime: 'tflm', samples: 5 });
    expect(j.device.vsInt8Reference).toMatchObject({ elements: 5, differing: 0 });
  }, 600_000);

  it('bench --runtime tflm,native: both side by side, outputs byte-identical', async () => {
    const r = await cli(['bench', KWS, '--runtime', 'tflm,native', '--tflm-lib', TFLM_LIB_PARENT, '--runs', '1', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const j = JSON.parse(r.stdout) as { outputsIdentical: boolean; columns: { runtime: string; instructions: number; arenaBytes: number; flashBytes: number; label: string }[] };
    expect(j.columns.map((c) => c.runtime)).toEqual(['tflm', 'native']);
    expect(j.outputsIdentical).toBe(true);
    for (const c of j.columns) {
      expect(c.instructions).toBeGreaterThan(1_000_000);
      expect(c.arenaBytes).toBeGreaterThan(4_000);
      expect(c.flashBytes).toBeGreaterThan(10_000);
    }
    expect(j.columns[0]!.label).toBe('TensorFlow Lite Micro (Chirale_TensorFLowLite 2.0.0, CMSIS-NN)');
    const text = await cli(['bench', HELLO, '--runtime', 'tflm,native', '--tflm-lib', TFLM_LIB_PARENT, '--runs', '1']);
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toMatch(/instructions\/inference\s+[\d,]+\s+[\d,]+/);
    expect(text.stdout).toContain('outputs: byte-identical on every runtime (1 tensor(s))');
  }, 900_000);
});

describe('monitor --until-done on a session that ended in an error', () => {
  const children: ChildProcess[] = [];
  afterAll(() => children.forEach((c) => c.kill('SIGKILL')));

  it('exits 12 (device fault) with the device\'s error in one line', async () => {
    // The records a TFLM sketch sends when its arena is too small (as in the QEMU test above).
    const records = [
      { type: 'hello', protocol: 1, model_hash: 'a3bb1329c07126d3', board: 'nano33ble', clock_hz: 64000000, arena_bytes: 512, runtime: 'tflm', unit: 'cycles' },
      { type: 'error', code: 'allocate_failed', status: 1, arena_bytes: 512, requested_bytes: 624, available_bytes: 96, message: 'AllocateTensors() failed: the arena is too small for this model, regenerate the sketch with tinyml' },
      { type: 'done', status: 'error', runs: 0 },
    ];
    const stream = join(tmp, 'error-stream.bin');
    writeFileSync(stream, records.map((r) => encodeRecord(r)).join(''));
    const link = join(tmp, 'ttyACM-error');
    const child = spawn('python3', [resolve(import.meta.dirname, 'fixtures/arduino-cli-double/usb-serial-double.py'), link, stream], { stdio: ['ignore', 'pipe', 'inherit'] });
    children.push(child);
    await new Promise<void>((ok) => child.stdout!.once('data', () => ok()));
    const r = await cli(['monitor', '--port', link, '--until-done', '--no-reconnect'], 30_000);
    expect(r.code).toBe(ExitCode.DEVICE_FAULT);
    expect(errorLines(r.stderr)).toEqual([
      'tinyml: error: the device ended its session with status error: allocate_failed in a 512-byte arena: TensorFlow Lite Micro requested 624 bytes, 96 available (AllocateTensors() failed: the arena is too small for this model, regenerate the sketch with tinyml): see the records above (and --jsonl); a fault\'s pc names the function with addr2line',
    ]);
  }, 60_000);
});
