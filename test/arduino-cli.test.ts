/**
 * arduino-cli orchestration against a TEST DOUBLE of arduino-cli (arduino-cli cannot be
 * installed on the test machines): test/fixtures/arduino-cli-double/arduino-cli-double.mjs,
 * put on PATH as `arduino-cli`, answers with arduino-cli 1.x's documented --json outputs and
 * exit codes. The board's USB serial port is a pty pair (usb-serial-double.py, also a double)
 * replaying a report stream recorded from the generated sketch's own C code.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join, resolve } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { GOLDEN, sharedPath } from './helpers/shared.ts';
import { getBoard } from '../src/boards/registry.ts';
import { DeviceError, MissingToolError, TimeoutError, ToolFailedError } from '../src/errors.ts';
import { compileSketch, detectArduinoCli, findBoardPort, listBoardPorts, parseBoardList, uploadSketch, waitForSketchPort } from '../src/arduino/cli.ts';
import { loadInt8Model, writeSketch } from '../src/arduino/sketch-common.ts';
import { generateNativeSketch } from '../src/arduino/sketch-native.ts';
import { generateTflmSketch } from '../src/arduino/sketch-tflm.ts';
import { runCliAsync } from './fixtures/firmware/run-cli-async.ts';

const DOUBLE_DIR = resolve(import.meta.dirname, 'fixtures/arduino-cli-double');
const DOUBLE_BIN = join(DOUBLE_DIR, 'bin');
const tmp = mkdtempSync(join(tmpdir(), 'tinyml-arduino-cli-'));
const nano = getBoard('nano33ble');
const HELLO = 'models/tflm-hello-world/hello_world_int8.tflite';
const children: ChildProcess[] = [];
afterEach(() => {
  for (const c of children.splice(0)) c.kill('SIGKILL');
});

/** An environment with the arduino-cli double first on PATH and a fresh state folder. */
function doubleEnv(scenario: string, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const state = mkdtempSync(join(tmp, 'state-'));
  return { ...process.env, PATH: `${DOUBLE_BIN}${delimiter}${process.env['PATH'] ?? ''}`, ARDUINO_CLI_DOUBLE_STATE: state, ARDUINO_CLI_DOUBLE_SCENARIO: scenario, ...extra };
}
function calls(env: NodeJS.ProcessEnv): string[][] {
  return readFileSync(join(env['ARDUINO_CLI_DOUBLE_STATE']!, 'calls.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as string[]);
}

let sketchCount = 0;
function tflmSketch(): { dir: string; profile: string } {
  const dir = join(tmp, `sketch${sketchCount++}`);
  const s = generateTflmSketch(loadInt8Model(sharedPath(HELLO)), { board: 'nano33ble', outDir: dir });
  writeSketch(dir, s.files);
  return { dir, profile: s.config.profile };
}

describe('arduino-cli detection', () => {
  it('reads the version from `version --json`', async () => {
    const env = doubleEnv('ok');
    const cli = await detectArduinoCli(env);
    expect(cli.version).toBe('1.1.1');
    expect(cli.path).toBe(join(DOUBLE_BIN, 'arduino-cli'));
    expect(calls(env)).toEqual([['version', '--json']]);
  });

  it('missing arduino-cli is a MissingToolError with the install line', async () => {
    const err = await detectArduinoCli({ PATH: '/nonexistent' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MissingToolError);
    expect((err as Error).message).toMatch(/^arduino-cli not found on PATH: install it with curl -fsSL .*install\.sh/);
  });
});

describe('compile --profile --json', () => {
  it('success: sizes from builder_result.executable_sections_size, warnings from the compiler output', async () => {
    const env = doubleEnv('ok');
    const cli = await detectArduinoCli(env);
    const { dir, profile } = tflmSketch();
    const r = await compileSketch(cli, { sketchDir: dir, profile, platform: 'arduino:mbed_nano' }, env);
    expect(r.flashBytes).toBe(187364);
    expect(r.ramBytes).toBe(69872);
    expect(r.sections).toEqual([
      { name: 'text', size: 187364, max: 983040 },
      { name: 'data', size: 69872, max: 262144 },
    ]);
    expect(r.warnings).toHaveLength(1);
    expect(r.warnings[0]).toContain("warning: unused variable 'x'");
    expect(calls(env)[1]).toEqual(['compile', '--profile', 'nano33ble-tflm', '--json', dir]);
  });

  it('a compiler error is a ToolFailedError quoting the error line', async () => {
    const env = doubleEnv('compile-error');
    const { dir, profile } = tflmSketch();
    const err = await compileSketch(await detectArduinoCli(env), { sketchDir: dir, profile, platform: 'arduino:mbed_nano' }, env).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ToolFailedError);
    expect((err as Error).message).toMatch(/^arduino-cli compile failed: .*model\.c:12:3: error: 'tml_arena' undeclared/);
  });

  it('a missing core says the core install line', async () => {
    const env = doubleEnv('core-missing');
    const { dir, profile } = tflmSketch();
    const err = await compileSketch(await detectArduinoCli(env), { sketchDir: dir, profile, platform: 'arduino:mbed_nano' }, env).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MissingToolError);
    expect((err as Error).message).toBe('the Arduino core arduino:mbed_nano is not installed: run `arduino-cli core install arduino:mbed_nano@4.2.1`');
  });

  it('a missing TFLite Micro library says the library install line', async () => {
    const env = doubleEnv('lib-missing');
    const { dir, profile } = tflmSketch();
    const err = await compileSketch(await detectArduinoCli(env), { sketchDir: dir, profile, platform: 'arduino:mbed_nano' }, env).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MissingToolError);
    expect((err as Error).message).toBe('the TFLite Micro library Chirale_TensorFLowLite is not installed: run `arduino-cli lib install "Chirale_TensorFLowLite@2.0.0"`');
  });

  it('a sketch whose profile is not in sketch.yaml fails like arduino-cli does', async () => {
    const env = doubleEnv('ok');
    const { dir } = tflmSketch();
    const err = await compileSketch(await detectArduinoCli(env), { sketchDir: dir, profile: 'nope', platform: 'arduino:mbed_nano' }, env).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ToolFailedError);
    expect((err as Error).message).toContain("profile 'nope' not found");
  });
});

describe('board list, upload and the port after upload', () => {
  it('parses detected_ports (1.x) and the bare array (0.x)', () => {
    const port = { address: '/dev/ttyACM0', protocol: 'serial', properties: { vid: '0x2341', pid: '0x805A', serialNumber: 'X' } };
    const one = parseBoardList(JSON.stringify({ detected_ports: [{ port, matching_boards: [{ name: 'Arduino Nano 33 BLE', fqbn: 'arduino:mbed_nano:nano33ble' }] }] }));
    const zero = parseBoardList(JSON.stringify([{ port, matching_boards: [] }]));
    expect(one[0]).toEqual({ address: '/dev/ttyACM0', protocol: 'serial', vid: '0x2341', pid: '0x805a', serialNumber: 'X', matchingBoards: [{ name: 'Arduino Nano 33 BLE', fqbn: 'arduino:mbed_nano:nano33ble' }] });
    expect(zero[0]!.pid).toBe('0x805a');
  });

  it('finds the board by VID:PID, uploads, follows the changed port and waits for the sketch id', async () => {
    const env = doubleEnv('ok', { ARDUINO_CLI_DOUBLE_PORT: '/dev/ttyACM0', ARDUINO_CLI_DOUBLE_NEW_PORT: '/dev/ttyACM2', ARDUINO_CLI_DOUBLE_ABSENT_POLLS: '3' });
    const cli = await detectArduinoCli(env);
    const ports = await listBoardPorts(cli, env);
    expect(ports.map((p) => p.address)).toEqual(['/dev/ttyS0', '/dev/ttyACM0']);
    const port = await findBoardPort(cli, nano, env);
    expect(port).toBe('/dev/ttyACM0');
    const { dir, profile } = tflmSketch();
    const up = await uploadSketch(cli, { sketchDir: dir, profile, port }, env);
    expect(up).toMatchObject({ port: '/dev/ttyACM2', portChanged: true });
    const back = await waitForSketchPort(cli, nano, { expected: up.port, pollMs: 10 }, env);
    expect(back).toBe('/dev/ttyACM2');
    const listCalls = calls(env).filter((c) => c[0] === 'board');
    // 2 lookups before the upload, then bootloader id, 2 empty polls, and the sketch.
    expect(listCalls).toHaveLength(2 + 4);
    expect(calls(env).find((c) => c[0] === 'upload')).toEqual(['upload', '--profile', 'nano33ble-tflm', '-p', '/dev/ttyACM0', '--json', dir]);
  });

  it('gives up after the wait limit when the board does not come back', async () => {
    const env = doubleEnv('ok', { ARDUINO_CLI_DOUBLE_ABSENT_POLLS: '100000' });
    const cli = await detectArduinoCli(env);
    const { dir, profile } = tflmSketch();
    await uploadSketch(cli, { sketchDir: dir, profile, port: '/dev/ttyACM0' }, env);
    const err = await waitForSketchPort(cli, nano, { timeoutMs: 300, pollMs: 20 }, env).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TimeoutError);
    expect((err as Error).message).toMatch(/did not come back on USB with its sketch id \(0x2341:0x005a\) within 0 s after upload: press reset once/);
  });

  it('an upload failure says to double-tap reset; a permission error names the dialout group', async () => {
    const { dir, profile } = tflmSketch();
    let env = doubleEnv('upload-fail');
    let err = await uploadSketch(await detectArduinoCli(env), { sketchDir: dir, profile, port: '/dev/ttyACM0' }, env).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ToolFailedError);
    expect((err as Error).message).toMatch(/^upload to \/dev\/ttyACM0 failed \(.*\): double-tap the board's reset button/);
    env = doubleEnv('upload-permission');
    err = await uploadSketch(await detectArduinoCli(env), { sketchDir: dir, profile, port: '/dev/ttyACM0' }, env).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DeviceError);
    expect((err as Error).message).toBe('permission denied on /dev/ttyACM0: add your user to the dialout group (sudo usermod -aG dialout $USER) and log in again');
  });
});

/** Starts the USB serial double replaying `stream` behind `link`. */
function startUsbDouble(link: string, stream: string): Promise<void> {
  const child = spawn('python3', [join(DOUBLE_DIR, 'usb-serial-double.py'), link, stream], { stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(child);
  return new Promise((ok, fail) => {
    child.stdout!.once('data', (d: Buffer) => (d.toString().startsWith('READY') ? ok() : fail(new Error(d.toString()))));
    child.once('exit', (code) => fail(new Error(`usb serial double exited ${code}`)));
  });
}

/** The report stream the generated native sketch sends, recorded by running its C on the host. */
function recordStream(dir: string, inputs: string[]): string {
  const s = generateNativeSketch(loadInt8Model(sharedPath(HELLO)), { board: 'nano33ble', outDir: dir, inputs });
  writeSketch(dir, s.files);
  const src = join(dir, 'src');
  const exe = join(tmp, 'hello-standin');
  // tml_stack.c is Cortex-M code (it reads SP, programs the MPU): not for the host.
  const cfiles = readdirSync(src).filter((f) => f.endsWith('.c') && f !== 'tml_stack.c').map((f) => join(src, f));
  execFileSync('gcc', ['-std=gnu11', '-O1', `-I${src}`, ...cfiles, join(DOUBLE_DIR, 'arduino-glue-standin.c'), '-o', exe]);
  const streamFile = join(tmp, 'hello-stream.bin');
  writeFileSync(streamFile, execFileSync(exe));
  return streamFile;
}

describe('tinyml flash <model> through the binary (arduino-cli double + USB serial double)', () => {
  it('generates, compiles, uploads, follows the new port and prints the board report', async () => {
    const input = join(GOLDEN, 'tflm-hello-world/case_1/input_0.bin');
    const stream = recordStream(join(tmp, 'record', 'hello-native'), [input]);
    const link = join(tmp, 'ttyACM-new');
    await startUsbDouble(link, stream);
    const env = doubleEnv('ok', { ARDUINO_CLI_DOUBLE_NEW_PORT: link, ARDUINO_CLI_DOUBLE_ABSENT_POLLS: '1' });
    const out = join(tmp, 'deploy', 'hello-native');
    const r = await runCliAsync(['flash', sharedPath(HELLO), '--board', 'nano33ble', '--runtime', 'native', '--out', out, '--input', input, '--json'], 60_000, env);
    expect(r.stderr).toContain('[upload] uploading to /dev/ttyACM0');
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout) as { flash: { port: string; uploadPort: string }; report: { outputs: string[]; done: { status: string }; hello: { board: string } } };
    expect(j.flash.uploadPort).toBe('/dev/ttyACM0');
    expect(j.flash.port).toBe(link);
    expect(j.report.hello.board).toBe('nano33ble');
    expect(j.report.done.status).toBe('ok');
    expect(j.report.outputs[0]).toBe(readFileSync(join(GOLDEN, 'tflm-hello-world/case_1/output_0.bin')).toString('hex'));
    // After the upload: the bootloader id first (skipped), then the sketch on the new port.
    expect(calls(env).map((c) => c[0])).toEqual(['version', 'compile', 'board', 'upload', 'board', 'board']);
  });

  it('tinyml deploy --board nano33ble takes the same path and prints the final report', async () => {
    const input = join(GOLDEN, 'tflm-hello-world/case_2/input_0.bin');
    const stream = recordStream(join(tmp, 'record2', 'hello-native'), [input]);
    const link = join(tmp, 'ttyACM-deploy');
    await startUsbDouble(link, stream);
    const env = doubleEnv('ok', { ARDUINO_CLI_DOUBLE_NEW_PORT: link });
    const out = join(tmp, 'deploy2', 'hello-native');
    const r = await runCliAsync(['deploy', sharedPath(HELLO), '--board', 'nano33ble', '--runtime', 'native', '--out', out, '--input', input], 60_000, env);
    expect(r.code).toBe(0);
    for (const step of ['generate', 'detect', 'compile', 'port', 'upload', 'wait', 'monitor']) expect(r.stderr).toContain(`tinyml: [${step}]`);
    expect(r.stdout).toContain(`deployed ${sharedPath(HELLO)} to nano33ble on ${link} (native runtime`);
    expect(r.stdout).toContain('flash: 187364 bytes, static RAM: 69872 bytes (arduino-cli)');
    expect(r.stdout).toContain('device: boot: arduino glue stand-in');
    const golden = new Int8Array(readFileSync(join(GOLDEN, 'tflm-hello-world/case_2/output_0.bin')));
    expect(r.stdout).toContain(`output 0 (int8): ${Array.from(golden).join(' ')}`);
  });

  it('without arduino-cli: one error line with the install hint, exit 9', async () => {
    const r = await runCliAsync(['flash', '--board', 'nano33ble', '--sketch', tflmSketch().dir], 30_000, { PATH: `${resolve(process.execPath, '..')}` });
    expect(r.code).toBe(9);
    const errors = r.stderr.trim().split('\n').filter((l) => l.startsWith('tinyml: error:'));
    expect(errors).toHaveLength(1);
    expect(errors[0]).toContain('arduino-cli not found on PATH: install it with');
  });

  it('upload failure: exit 10 and the double-tap hint', async () => {
    const r = await runCliAsync(['flash', '--board', 'nano33ble', '--sketch', tflmSketch().dir], 30_000, doubleEnv('upload-fail'));
    expect(r.code).toBe(10);
    expect(r.stderr.trim().split('\n').pop()).toMatch(/^tinyml: error: upload to \/dev\/ttyACM0 failed .*double-tap/);
  });

  it('an emulated-only board is refused with what to use instead', async () => {
    const r = await runCliAsync(['flash', '--board', 'mps2-an386'], 30_000, doubleEnv('ok'));
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/not an Arduino board \(no FQBN\)/);
  });
});
