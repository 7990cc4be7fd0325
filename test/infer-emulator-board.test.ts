/**
 * `tinyml infer --engine emulator --board <id>` through the real binary: the firmware built for
 * the chosen emulated board runs in QEMU and its output bytes equal the TFLite Micro golden;
 * boards that do not exist or that QEMU cannot emulate are refused with a BoardError (exit 7).
 */
import { describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from './helpers/cli.ts';
import { GOLDEN, MODELS } from './helpers/shared.ts';
import { ExitCode } from '../src/errors.ts';

const KWS_INT8 = join(MODELS, 'mlperf-tiny', 'kws', 'kws_ref_model.tflite');
const KWS_CASE1 = join(GOLDEN, 'mlperf-tiny-kws', 'case_1');

function errorLine(stderr: string): string[] {
  return stderr.trim().split('\n').filter((l) => l !== '' && !l.startsWith('tinyml: warning:'));
}

describe('tinyml infer --engine emulator --board', () => {
  it('netduinoplus2: KWS golden case 1 output bytes equal the TFLite Micro golden', () => {
    const out = mkdtempSync(join(tmpdir(), 'tinyml-infer-emu-'));
    const r = runCli(['infer', KWS_INT8, '--engine', 'emulator', '--board', 'netduinoplus2', '--input', join(KWS_CASE1, 'input_0.bin'), '--out', out, '--json']);
    expect(errorLine(r.stderr)).toEqual([]);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).engine).toBe('emulator');
    const got = readFileSync(join(out, 'output_0.bin'));
    const want = readFileSync(join(KWS_CASE1, 'output_0.bin'));
    expect(got.length).toBe(want.length);
    expect([...got]).toEqual([...want]);
  });

  it('an unknown board is a BoardError (exit 7) with a suggestion', () => {
    const r = runCli(['infer', KWS_INT8, '--engine', 'emulator', '--board', 'netduinoplus', '--input', join(KWS_CASE1, 'input_0.bin')]);
    expect(r.code).toBe(ExitCode.BOARD);
    const lines = errorLine(r.stderr);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^tinyml: error: unknown board 'netduinoplus' \(did you mean 'netduinoplus2'\?\)/);
  });

  it('a board without an emulator is a BoardError (exit 7) naming the emulated boards', () => {
    const r = runCli(['infer', KWS_INT8, '--engine', 'emulator', '--board', 'pico', '--input', join(KWS_CASE1, 'input_0.bin')]);
    expect(r.code).toBe(ExitCode.BOARD);
    const lines = errorLine(r.stderr);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^tinyml: error: board pico has no emulator: .*mps2-an386 \(qemu\).*nano33ble \(renode\).*netduinoplus2 \(qemu\)/);
  });

  it('--board with another engine is a usage error (exit 2)', () => {
    const r = runCli(['infer', KWS_INT8, '--engine', 'reference', '--board', 'netduinoplus2', '--input', join(KWS_CASE1, 'input_0.bin')]);
    expect(r.code).toBe(ExitCode.USAGE);
    expect(errorLine(r.stderr)[0]).toMatch(/--board .*--engine emulator/);
  });
});
