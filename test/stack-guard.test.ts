/**
 * A stack overflow is a device fault (issue 14), not a timeout. The runtime puts an MPU region
 * (read-only) over the bottom of the stack: the first push past the stack's end faults, and the
 * fault handler reports `stack_overflow` naming the op that was running. Checked on the QEMU
 * boards and on the Nano 33 BLE's nRF52840 in Renode (both emulate the Armv7-M MPU), with the
 * real runtime, platform code, compiler and emulator behind a pty; the
 * overflowing "model" is the stand-in test double model_stack.c (its op 1 recurses 100,000
 * levels deep), since no real model's kernels overflow the stack. With a small depth the same
 * firmware completes: the guard costs nothing to a model that fits.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildStandin } from './fixtures/firmware/build-standin.ts';
import { runCli } from './helpers/cli.ts';
import { MODELS } from './helpers/shared.ts';
import { loadModel } from '../src/formats/load.ts';
import { runInt8 } from '../src/reference/int8/index.ts';

const out = mkdtempSync(join(tmpdir(), 'tinyml-stack-'));

function records(path: string): Record<string, unknown>[] {
  return readFileSync(path, 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { record?: Record<string, unknown> })
    .flatMap((l) => (l.record ? [l.record] : []));
}

describe.each(['mps2-an386', 'netduinoplus2', 'nano33ble'] as const)('stack guard on %s', (board) => {
  it('an op that overflows the stack: exit 12 within seconds (not the timeout), naming the op', () => {
    const elf = buildStandin({ board, model: 'model_stack', runs: 1, outDir: join(out, board) });
    const log = join(out, `${board}-overflow.jsonl`);
    const started = Date.now();
    const r = runCli(['run', '--elf', elf, '--board', board, '--timeout', '60', '--jsonl', log]);
    const seconds = (Date.now() - started) / 1000;
    expect(r.code, r.stderr).toBe(12);
    expect(seconds).toBeLessThan(board === 'nano33ble' ? 40 : 15); // emulator start (Renode's is slow) + about a second of emulation; the timeout is 60
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toContain(`the firmware reported a stack overflow in op 1 (RECURSE) (the ${board === 'mps2-an386' ? 65536 : 16384}-byte stack ran into its guard) on ${board}`);
    const rec = records(log);
    expect(rec.find((x) => x.type === 'hello')).toMatchObject({ stack_guard: 'mpu' });
    expect(rec.find((x) => x.type === 'error')).toMatchObject({ code: 'stack_overflow', guard: 'mpu', op: 1, op_type: 'RECURSE' });
    expect(rec.at(-1)).toEqual({ type: 'done', status: 'fault' });
  });

  it('the same firmware with a shallow recursion completes, the guard reported in hello and mem', () => {
    const elf = buildStandin({ board, model: 'model_stack', runs: 1, defines: { TML_RECURSION_DEPTH: 20 }, outDir: join(out, board) });
    const log = join(out, `${board}-ok.jsonl`);
    const r = runCli(['run', '--elf', elf, '--board', board, '--timeout', '60', '--jsonl', log]);
    expect(r.code, r.stderr).toBe(0);
    const rec = records(log);
    expect(rec.find((x) => x.type === 'mem')).toMatchObject({ stack_guard_bytes: 1024 });
    expect(rec.at(-1)).toMatchObject({ type: 'done', status: 'ok' });
  });
});

it('a generated model runs with the guard armed and its outputs unchanged (hello_world on mps2-an386, vs the int8 reference)', () => {
  const model = join(MODELS, 'tflm-hello-world/hello_world_int8.tflite');
  const log = join(out, 'hello.jsonl');
  const r = runCli(['run', model, '--board', 'mps2-an386', '--json', '--jsonl', log, '--out', join(out, 'hello')]);
  expect(r.code, r.stderr).toBe(0);
  const rec = records(log);
  expect(rec.find((x) => x.type === 'hello')).toMatchObject({ stack_guard: 'mpu' });
  expect(rec.find((x) => x.type === 'mem')).toMatchObject({ stack_guard_bytes: 1024 });
  // The firmware's default input is every input at its zero point.
  const graph = loadModel(model);
  const input = graph.tensors[graph.inputs[0]!.tensor]!;
  const x = new Int8Array(input.shape.reduce((a, b) => a * b, 1)).fill(input.quant!.zeroPoint[0]!);
  const want = runInt8(graph, [{ dtype: 'int8', shape: input.shape, data: x }]).outputs[0]!.data as Int8Array;
  const device = (JSON.parse(r.stdout) as { outputs: { values: number[] }[] }).outputs[0]!.values;
  expect(device).toEqual(Array.from(want));
});
