/**
 * Hardware-in-the-loop: a real Arduino Nano 33 BLE on USB, with arduino-cli installed. Runs only
 * when TINYML_HIL_PORT names the board's port (e.g. /dev/ttyACM0); otherwise vitest reports these
 * tests as skipped. TINYML_HIL_RUNTIME picks tflm (default) or native.
 *
 *   TINYML_HIL_PORT=/dev/ttyACM0 npx vitest run test/arduino-hil.test.ts
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { GOLDEN, sharedPath } from './helpers/shared.ts';
import { runCliAsync } from './fixtures/firmware/run-cli-async.ts';

const PORT = process.env['TINYML_HIL_PORT'];
const RUNTIME = process.env['TINYML_HIL_RUNTIME'] ?? 'tflm';

describe('Nano 33 BLE on USB (hardware in the loop)', () => {
  it.runIf(PORT !== undefined)(`deploys micro_speech (${RUNTIME}) and the board's output for "yes" equals the TFLite Micro golden`, async () => {
    const out = join(mkdtempSync(join(tmpdir(), 'tinyml-hil-')), `hil-${RUNTIME}`);
    const input = join(GOLDEN, 'tflm-micro-speech/case_0/input_0.bin');
    const r = await runCliAsync(
      ['deploy', sharedPath('models/tflm-micro-speech/micro_speech_quantized.tflite'), '--board', 'nano33ble', '--runtime', RUNTIME, '--port', PORT!, '--input', input, '--runs', '5', '--out', out, '--json'],
      600_000,
    );
    expect(r.code, r.stderr).toBe(0);
    const j = JSON.parse(r.stdout) as {
      report: { hello: Record<string, unknown>; mem: Record<string, number>; inferences: number[]; outputs: string[]; done: { status: string } };
    };
    expect(j.report.hello['board']).toBe('nano33ble');
    expect(j.report.hello['timer']).toBe('dwt');
    expect(j.report.done.status).toBe('ok');
    expect(j.report.inferences).toHaveLength(5);
    for (const c of j.report.inferences) expect(c).toBeGreaterThan(0);
    expect(j.report.outputs[0]).toBe(readFileSync(join(GOLDEN, 'tflm-micro-speech/case_0/output_0.bin')).toString('hex'));
    if (RUNTIME === 'tflm') expect(j.report.mem['arena_used_bytes']).toBeLessThanOrEqual(j.report.mem['arena_bytes']!);
  });
});
