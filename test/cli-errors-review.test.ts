/**
 * Bad input found in review: an output path under /proc (where Node's recursive mkdir spins
 * forever instead of failing) must be a one-line FILE error (exit 3) naming the flag to change,
 * not a hang. Each run has a short wall-clock limit so a regression fails instead of hanging.
 */
import { describe, it, expect, beforeAll } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ExitCode } from '../src/errors.ts';
import { runCli, type CliResult } from './helpers/cli.ts';
import { sharedPath } from './helpers/shared.ts';

const HELLO_INT8 = sharedPath('models/tflm-hello-world/hello_world_int8.tflite');
const HELLO_FLOAT = sharedPath('models/tflm-hello-world/hello_world_float.tflite');
let dir: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'tinyml-cli-review-'));
  writeFileSync(join(dir, 'x.bin'), new Int8Array([5])); // the hello-world int8 input is [1,1] int8
  writeFileSync(join(dir, 'calib.bin'), new Uint8Array(new Float32Array([0.1, 1, 2, 3]).buffer)); // 4 float samples
});

function expectOneLineError(r: CliResult, code: number, pattern: RegExp): void {
  expect(r.code).toBe(code);
  const lines = r.stderr.split('\n').filter((l) => l.length > 0 && !l.startsWith('tinyml: warning:'));
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(/^tinyml: error: /);
  expect(lines[0]).toMatch(pattern);
  expect(r.stderr).not.toMatch(/^\s+at /m);
  expect(r.stderr).not.toContain('internal error');
}

const LIMIT = { timeoutMs: 30_000 };

describe('an unwritable output path under /proc is a FILE error, not a hang', () => {
  it('infer -o /proc/x', () => {
    const r = runCli(['infer', HELLO_INT8, '-i', join(dir, 'x.bin'), '-o', '/proc/tinyml-x'], LIMIT);
    expectOneLineError(r, ExitCode.FILE, /\/proc\/tinyml-x.*--out/);
  });

  it('monitor --jsonl /proc/x/log.jsonl (checked before the port is opened)', () => {
    const r = runCli(['monitor', '--port', '/dev/nonexistent', '--jsonl', '/proc/tinyml-x/log.jsonl'], LIMIT);
    expectOneLineError(r, ExitCode.FILE, /\/proc\/tinyml-x.*--jsonl/);
  });

  it('deploy of a float model with -o /proc/x', () => {
    const r = runCli(['deploy', HELLO_FLOAT, '--calib', join(dir, 'calib.bin'), '--board', 'mps2-an386', '-o', '/proc/tinyml-x'], LIMIT);
    expectOneLineError(r, ExitCode.FILE, /\/proc\/tinyml-x.*--out/);
  });
});

describe('the same commands still write to a writable folder', () => {
  it('infer -o <new nested folder> writes output_0.bin', () => {
    const out = join(dir, 'a', 'b');
    const r = runCli(['infer', HELLO_INT8, '-i', join(dir, 'x.bin'), '-o', out], LIMIT);
    expect(r.code).toBe(ExitCode.OK);
    expect(r.stdout).toContain(join(out, 'output_0.bin'));
  });
});

describe('a folder or a non-serial file where a file or port is expected', () => {
  it('run --elf <folder>: exit 3 naming the folder, not an internal error', () => {
    const r = runCli(['run', '--board', 'mps2-an386', '--elf', dir], LIMIT);
    expectOneLineError(r, ExitCode.FILE, /is a folder.*firmware\.elf/);
  });

  it('monitor --port /dev/null (not a serial port): exit 11 with what to do', () => {
    const r = runCli(['monitor', '--port', '/dev/null', '--duration', '1'], LIMIT);
    expectOneLineError(r, ExitCode.DEVICE, /\/dev\/null.*--port auto/);
  });
});

describe('command-line mistakes caught by the option parser look like every other error', () => {
  it('an unknown option: exit 2, one "tinyml: error:" line naming the option', () => {
    expectOneLineError(runCli(['inspect', HELLO_INT8, '--frobnicate'], LIMIT), ExitCode.USAGE, /unknown option '--frobnicate'/);
  });

  it('with --json, a missing required option is also a JSON error object on stdout', () => {
    const r = runCli(['infer', HELLO_INT8, '--json'], LIMIT);
    expectOneLineError(r, ExitCode.USAGE, /required option '-i, --input/);
    expect(JSON.parse(r.stdout).error).toEqual({ kind: 'usage', message: "required option '-i, --input <file...>' not specified", exitCode: ExitCode.USAGE });
  });
});

describe('a misspelt option', () => {
  it('--jsn: one line with the suggestion, exit 2', () => {
    expectOneLineError(runCli(['boards', '--jsn'], LIMIT), ExitCode.USAGE, /unknown option '--jsn'.*Did you mean --json\?/);
  });
});

describe('monitor checks its options before opening the port (a typo must not cost a session)', () => {
  it('--model <missing file>: exit 3 naming the file, before any port error', () => {
    const r = runCli(['monitor', '--port', '/dev/nonexistent', '--model', join(dir, 'missing.tflite')], LIMIT);
    expectOneLineError(r, ExitCode.FILE, /missing\.tflite not found/);
  });

  it('--max-latency-ms -5: exit 2 naming the option', () => {
    const r = runCli(['monitor', '--port', '/dev/nonexistent', '--max-latency-ms', '-5'], LIMIT);
    expectOneLineError(r, ExitCode.USAGE, /--max-latency-ms '-5'/);
  });
});

describe('an input in a format infer does not read is named, not read as raw bytes', () => {
  it('an ONNX TensorProto .pb that is not one: exit 8 naming the file', () => {
    const pb = join(dir, 'not-a-tensor.pb');
    writeFileSync(pb, Uint8Array.from([0xff, 0xff, 0xff, 0xff, 0x0f]));
    const model = sharedPath('models/onnx-node-tests/test_transpose_all_permutations_0/model.onnx');
    expectOneLineError(runCli(['infer', model, '-i', pb], LIMIT), ExitCode.BAD_DATA, /not-a-tensor\.pb is not a serialized ONNX TensorProto/);
  });
});

describe('deploy --runtime on an emulated board', () => {
  it('tflm runs TensorFlow Lite Micro, never silently the native runtime: without the library, exit 9 and one line with its install command', () => {
    // No library anywhere tinyml looks (TINYML_TFLM_LIB, the Arduino libraries folder under HOME).
    const home = mkdtempSync(join(tmpdir(), 'tinyml-no-tflm-'));
    const r = runCli(['deploy', 'examples/kws/kws_ref_model.tflite', '--board', 'mps2-an386', '--runtime', 'tflm'], { env: { TINYML_TFLM_LIB: '', HOME: home, ARDUINO_DIRECTORIES_USER: '' } });
    expect(r.code).toBe(ExitCode.MISSING_TOOL);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toContain('arduino-cli lib install "Chirale_TensorFLowLite@2.0.0"');
    expect(r.stdout).toBe('');
  });
});

describe('build --calib on an already-int8 model', () => {
  it('builds with the model\'s own scales and says --calib was ignored', () => {
    const out = mkdtempSync(join(tmpdir(), 'tinyml-calib-ignored-'));
    const r = runCli(['build', 'examples/kws/kws_ref_model.tflite', '--board', 'mps2-an386', '--calib', 'examples/kws/kws_input_0_int8.bin', '--out', out]);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain('--calib ignored');
  });
});
