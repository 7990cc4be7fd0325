/**
 * End to end through the real parts: firmware runtime + platform code built with
 * arm-none-eabi-gcc, run in qemu-system-arm, its UART read through the pty with serialport and
 * decoded. The model is the stand-in (a test double for the generated model.c, see
 * test/fixtures/firmware/standin/README.md) until the native backend's build lands.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { runOnEmulator } from '../src/run/run.ts';
import { runQemu } from '../src/emulate/qemu.ts';
import { buildStandin, standinExpectedOutput } from './fixtures/firmware/build-standin.ts';
import { runCli } from './helpers/cli.ts';
import { MODELS } from './helpers/shared.ts';

const BOARDS = ['mps2-an386', 'netduinoplus2'] as const;
const out = mkdtempSync(join(tmpdir(), 'tinyml-emulate-test-'));

function symbolAddress(elf: string, name: string): number {
  const nm = execFileSync('arm-none-eabi-nm', [elf], { encoding: 'utf8' });
  const line = nm.split('\n').find((l) => l.endsWith(` ${name}`));
  if (!line) throw new Error(`${name} not in ${elf}`);
  return parseInt(line.split(' ')[0]!, 16);
}

describe.each(BOARDS)('stand-in firmware on %s', (board) => {
  let copyElf: string;
  beforeAll(() => {
    copyElf = buildStandin({ board, model: 'model_copy', runs: 3, outDir: join(out, board) });
  });

  it('reports hello, three inferences, the exact output bytes, memory and done through the pty', async () => {
    const r = await runOnEmulator({ elf: copyElf, board, timeoutMs: 30_000 });
    expect(r.device.hello?.board).toBe(board);
    expect(r.device.hello?.protocol).toBe(1);
    expect(r.unit).toBe('instructions');
    expect(r.latency?.runs).toBe(3);
    expect(r.outputs).toHaveLength(1);
    expect(Buffer.from(r.outputs[0]!.hex, 'hex')).toEqual(Buffer.from(standinExpectedOutput()));
    expect(r.decoder.rejected).toBe(0);
    // Static RAM from the linker symbols covers the 664-byte stand-in arena; the stack was used.
    expect(r.staticRamBytes).toBeGreaterThanOrEqual(664);
    expect(r.stackHighWaterBytes).toBeGreaterThan(0);
    const size = execFileSync('arm-none-eabi-size', ['-A', copyElf], { encoding: 'utf8' });
    const text = Number(/\.text\s+(\d+)/.exec(size)![1]);
    expect(r.flashBytes).toBeGreaterThanOrEqual(text);
  });

  it('gives identical instruction counts on two runs of the same ELF', async () => {
    const a = await runQemu({ elfPath: copyElf, machine: board });
    const b = await runQemu({ elfPath: copyElf, machine: board });
    const costs = (items: typeof a.items) => items.flatMap((i) => (i.kind === 'record' && i.record.type === 'inference' ? [i.record.instructions] : []));
    expect(costs(a.items)).toHaveLength(3);
    expect(costs(b.items)).toEqual(costs(a.items));
  });

  it('counts the instructions a known loop retires (2 x 100000 plus the call)', async () => {
    const elf = buildStandin({ board, model: 'model_spin', runs: 2, outDir: join(out, board) });
    const r = await runOnEmulator({ elf, board, timeoutMs: 30_000 });
    // One SysTick tick is 40 instructions on mps2-an386 and about 6 on netduinoplus2.
    const tick = board === 'mps2-an386' ? 40 : 6;
    expect(r.latency!.min).toBeGreaterThanOrEqual(200_000 - tick);
    expect(r.latency!.max).toBeLessThanOrEqual(200_010 + tick);
  });

  it('extends SysTick past its 24-bit range by counting wraps (120 million instructions)', async () => {
    // 2^24 ticks is 671 million instructions on mps2-an386 but only 99.9 million on netduinoplus2.
    const elf = buildStandin({ board, model: 'model_spin', runs: 1, defines: { TML_SPIN_ITERATIONS: 60_000_000 }, outDir: join(out, board) });
    const r = await runOnEmulator({ elf, board, timeoutMs: 60_000 });
    const tick = board === 'mps2-an386' ? 40 : 6;
    expect(r.latency!.min).toBeGreaterThanOrEqual(120_000_000 - tick);
    expect(r.latency!.min).toBeLessThanOrEqual(120_000_010 + tick);
  });

  it('reports per-op costs with --profile, summing to about one inference', async () => {
    const elf = buildStandin({ board, model: 'model_copy', runs: 1, profile: true, outDir: join(out, board) });
    const r = await runOnEmulator({ elf, board, timeoutMs: 30_000 });
    expect(r.ops.map((o) => o.op)).toEqual(['COPY_HEAD', 'COPY_TAIL', 'XOR_INDEX']);
    const sum = r.ops.reduce((s, o) => s + o.cost, 0);
    expect(sum).toBeLessThanOrEqual(r.latency!.min);
    expect(sum).toBeGreaterThan(r.latency!.min * 0.8);
  });

  it('turns a HardFault into an error record with the faulting PC, and `run` exits 12', async () => {
    const elf = buildStandin({ board, model: 'model_fault', runs: 1, outDir: join(out, board) });
    const jsonl = join(out, `${board}-fault.jsonl`);
    const cli = runCli(['run', '--elf', elf, '--board', board, '--jsonl', jsonl]);
    expect(cli.code).toBe(12);
    expect(cli.stderr.trim().split('\n')).toHaveLength(1);
    const invoke = symbolAddress(elf, 'tml_model_invoke') & ~1;
    const records = readFileSync(jsonl, 'utf8').trim().split('\n').map((l) => JSON.parse(l)).filter((l) => l.record).map((l) => l.record);
    expect(records.map((r) => r.type)).toEqual(['hello', 'error', 'done']);
    const fault = records[1];
    expect(fault.code).toBe('hardfault');
    expect(parseInt(fault.pc, 16)).toBe(invoke); // the udf is the first instruction of invoke
    expect(parseInt(fault.cfsr, 16) & 0x00010000).not.toBe(0); // UFSR.UNDEFINSTR
    expect(cli.stderr).toContain(`pc 0x${invoke.toString(16).toUpperCase().padStart(8, '0')}`);
  });
});

describe('tinyml run exit codes', () => {
  it('fails with exit 13 and names the budget when --max-instructions is exceeded', () => {
    const elf = buildStandin({ board: 'mps2-an386', model: 'model_spin', runs: 1, outDir: join(out, 'budget') });
    const ok = runCli(['run', '--elf', elf, '--board', 'mps2-an386', '--max-instructions', '300000']);
    expect(ok.code).toBe(0);
    const junit = join(out, 'budget', 'junit.xml');
    const over = runCli(['run', '--elf', elf, '--board', 'mps2-an386', '--max-instructions', '100000', '--json', '--junit', junit]);
    expect(over.code).toBe(13);
    const xml = readFileSync(junit, 'utf8');
    expect(xml).toContain('tests="2" failures="1"');
    expect(xml).toMatch(/<testcase [^>]*name="budget --max-instructions 100000"[^>]*>\s*<failure message="instructions 2\d{5} exceeds 100000"/);
    expect(over.stderr).toContain('--max-instructions 100000');
    const json = JSON.parse(over.stdout);
    expect(json.budgets[0]).toMatchObject({ name: 'instructions', limit: 100000, ok: false });
  });

  it('refuses firmware built from another model: exit 14 (stale ELF)', () => {
    const elf = buildStandin({ board: 'mps2-an386', model: 'model_copy', runs: 1, outDir: join(out, 'stale') });
    const r = runCli(['run', join(MODELS, 'tflm-hello-world/hello_world_int8.tflite'), '--elf', elf, '--board', 'mps2-an386']);
    expect(r.code).toBe(14);
    expect(r.stderr).toMatch(/stale/);
  });

  it('refuses build-time options with --elf (they are compiled into the firmware): exit 2, naming them', () => {
    const elf = buildStandin({ board: 'mps2-an386', model: 'model_copy', runs: 1, outDir: join(out, 'elf-options') });
    const one = runCli(['run', '--elf', elf, '--board', 'mps2-an386', '--runs', '5']);
    expect(one.code).toBe(2);
    expect(one.stderr.trim()).toMatch(/^tinyml: error: --runs is built into the firmware, so --elf cannot change it: drop it, or run the model without --elf/);
    const two = runCli(['run', '--elf', elf, '--board', 'mps2-an386', '--profile', '--kernels', 'portable']);
    expect(two.code).toBe(2);
    expect(two.stderr).toMatch(/--profile, --kernels are built into the firmware/);
  });

  it('refuses a file that is not an Arm ELF before starting QEMU: exit 3', () => {
    const bogus = join(out, 'not-firmware.elf');
    writeFileSync(bogus, 'this is not firmware\n');
    const r = runCli(['run', '--elf', bogus, '--board', 'mps2-an386']);
    expect(r.code).toBe(3);
    expect(r.stderr).toContain('is not a 32-bit Arm ELF firmware');
  });

  it('refuses a board without an emulator: exit 7', () => {
    const r = runCli(['run', '--elf', 'x.elf', '--board', 'pico']);
    expect(r.code).toBe(7);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
  });

  it('says how to install QEMU when qemu-system-arm is missing: exit 9', () => {
    const elf = buildStandin({ board: 'mps2-an386', model: 'model_copy', runs: 1, outDir: join(out, 'noqemu') });
    const r = runCli(['run', '--elf', elf, '--board', 'mps2-an386'], { env: { PATH: '/nonexistent' } });
    expect(r.code).toBe(9);
    expect(r.stderr).toContain('apt-get install qemu-system-arm');
  });
});
