/**
 * `tinyml deploy --board <Arduino board>` (and `tinyml build` on one) honours every option its
 * help lists, through the real binary against the TEST DOUBLES of arduino-cli
 * (test/fixtures/arduino-cli-double/arduino-cli-double.mjs: arduino-cli 1.x's documented --json
 * answers, 187364 bytes of flash) and of the board's USB serial port (usb-serial-double.py: a pty
 * replaying the report stream the generated sketch's own C sends, recorded on the host through
 * the Arduino glue stand-in). No board, arduino-cli or Arduino core can exist on a test machine.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join, resolve } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { GOLDEN, PROJECT_ROOT, sharedPath } from './helpers/shared.ts';
import { loadInt8Model, writeSketch } from '../src/arduino/sketch-common.ts';
import { generateNativeSketch, type NativeOptions } from '../src/arduino/sketch-native.ts';
import { runCliAsync } from './fixtures/firmware/run-cli-async.ts';
import { checkBudgets } from '../src/run/run.ts';
import { junitCases } from '../src/cli/commands/run.ts';

const DOUBLE_DIR = resolve(import.meta.dirname, 'fixtures/arduino-cli-double');
const tmp = mkdtempSync(join(tmpdir(), 'tinyml-arduino-deploy-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const HELLO = sharedPath('models/tflm-hello-world/hello_world_int8.tflite');
const INPUT = join(GOLDEN, 'tflm-hello-world/case_1/input_0.bin');
const children: ChildProcess[] = [];
afterEach(() => {
  for (const c of children.splice(0)) c.kill('SIGKILL');
});

let n = 0;
/** The arduino-cli double first on PATH, a fresh state folder, the board back on `link` after upload. */
function doubleEnv(link?: string): NodeJS.ProcessEnv {
  const state = mkdtempSync(join(tmp, 'state-'));
  return {
    PATH: `${join(DOUBLE_DIR, 'bin')}${delimiter}${process.env['PATH'] ?? ''}`,
    ARDUINO_CLI_DOUBLE_STATE: state,
    ARDUINO_CLI_DOUBLE_SCENARIO: 'ok',
    ARDUINO_CLI_DOUBLE_ABSENT_POLLS: '1',
    ...(link ? { ARDUINO_CLI_DOUBLE_NEW_PORT: link } : {}),
  };
}
const cliCalls = (env: NodeJS.ProcessEnv): string[] => {
  const f = join(env['ARDUINO_CLI_DOUBLE_STATE']!, 'calls.jsonl');
  return existsSync(f) ? readFileSync(f, 'utf8').trim().split('\n') : [];
};

/** The report stream of the native sketch (options as deploy will generate it), run on the host through the glue stand-in. */
function recordStream(opts: NativeOptions): string {
  const dir = join(tmp, `record${n++}`, 'hello');
  const s = generateNativeSketch(loadInt8Model(HELLO), { board: 'nano33ble', outDir: dir, inputs: [INPUT], ...opts });
  writeSketch(dir, s.files);
  const src = join(dir, 'src');
  const exe = join(dir, 'standin');
  // tml_stack.c (when the sketch has one) is Cortex-M code: not for the host.
  const cfiles = readdirSync(src).filter((f) => f.endsWith('.c') && f !== 'tml_stack.c').map((f) => join(src, f));
  execFileSync('gcc', ['-std=gnu11', '-O1', `-I${src}`, ...cfiles, join(DOUBLE_DIR, 'arduino-glue-standin.c'), '-o', exe]);
  const stream = join(dir, 'stream.bin');
  writeFileSync(stream, execFileSync(exe));
  return stream;
}

/** Starts the USB serial double replaying `stream`; returns its port. */
async function usbBoard(stream: string): Promise<string> {
  const link = join(tmp, `ttyACM-${n++}`);
  const child = spawn('python3', [join(DOUBLE_DIR, 'usb-serial-double.py'), link, stream], { stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(child);
  await new Promise<void>((ok, fail) => {
    child.stdout!.once('data', (d: Buffer) => (d.toString().startsWith('READY') ? ok() : fail(new Error(d.toString()))));
    child.once('exit', (code) => fail(new Error(`usb serial double exited ${code}`)));
  });
  return link;
}

/** The keys docs/arduino.md lists under "JSON output of `tinyml deploy` on an Arduino board" (first table column). */
function documentedKeys(command: 'deploy' | 'build'): string[] {
  const lines = readFileSync(join(PROJECT_ROOT, 'docs/arduino.md'), 'utf8').split('\n');
  const start = lines.findIndex((l) => l.startsWith('#') && l.includes(`JSON output of \`tinyml ${command}\` on an Arduino board`));
  expect(start, `docs/arduino.md documents tinyml ${command} --json`).toBeGreaterThan(0);
  const table = lines.slice(start + 1).filter((l, i, all) => l.startsWith('|') && all.slice(0, i).every((p) => !/^#/.test(p)));
  return table.filter((l) => !/^\|\s*(key|-)/.test(l)).flatMap((l) => [...(l.split('|')[1] ?? '').matchAll(/`([A-Za-z]\w*)`/g)].map((m) => m[1]!));
}

/** Paths of keys that are not camelCase, outside the board's own protocol records (report.hello, .mem, .errors, .done keep snake_case). */
function nonCamel(v: unknown, path = ''): string[] {
  if (/^\.report\.(hello|mem|errors|done)/.test(path)) return [];
  if (Array.isArray(v)) return v.flatMap((x) => nonCamel(x, `${path}[]`));
  if (v === null || typeof v !== 'object') return [];
  return Object.entries(v).flatMap(([k, x]) => [...(/^[a-z][a-zA-Z0-9]*$/.test(k) ? [] : [`${path}.${k}`]), ...nonCamel(x, `${path}.${k}`)]);
}

const errorLines = (stderr: string) => stderr.split('\n').filter((l) => l.startsWith('tinyml: error:'));

describe('deploy to an Arduino board: budgets and JUnit as for `tinyml run`', () => {
  it('--max-flash over arduino-cli\'s size fails with exit 13 after the report; --max-arena within passes; the JUnit file has both', async () => {
    const link = await usbBoard(recordStream({}));
    const junit = join(tmp, 'budgets.xml');
    const r = await runCliAsync(
      ['deploy', HELLO, '--board', 'nano33ble', '--runtime', 'native', '--out', join(tmp, 'b1', 'hello'), '--input', INPUT, '--max-flash', '100000', '--max-arena', '4096', '--junit', junit],
      60_000,
      doubleEnv(link),
    );
    expect(r.code, r.stderr).toBe(13);
    expect(r.stdout).toContain('flash: 187364 bytes, static RAM: 69872 bytes (arduino-cli)');
    expect(r.stdout).toContain('budget --max-flash 100000: EXCEEDED (187364)');
    expect(r.stdout).toContain('budget --max-arena 4096: ok (32)');
    expect(errorLines(r.stderr)).toEqual(['tinyml: error: flash 187364 exceeds --max-flash 100000: shrink the model or raise the budget']);
    const xml = readFileSync(junit, 'utf8');
    expect(xml).toMatch(/<testcase [^>]*name="budget --max-flash 100000"[^>]*>\s*<failure message="flash 187364 exceeds 100000"/);
    expect(xml).toMatch(/<testcase [^>]*name="budget --max-arena 4096"[^>]*\/>/);
  });

  it('--budgets file: the stack high-water mark of the board mem record over --max-stack fails (exit 13); --json carries the verdicts', async () => {
    const link = await usbBoard(recordStream({}));
    const budgets = join(tmp, 'tinyml.ci.json');
    writeFileSync(budgets, JSON.stringify({ models: [HELLO], boards: ['nano33ble'], budgets: { '*': { maxArena: 100000, maxStack: 512 } } }));
    const r = await runCliAsync(['deploy', HELLO, '--board', 'nano33ble', '--runtime', 'native', '--out', join(tmp, 'b2', 'hello'), '--input', INPUT, '--budgets', budgets, '--json'], 60_000, doubleEnv(link));
    expect(r.code, r.stderr).toBe(13);
    const j = JSON.parse(r.stdout) as { budgets: { option: string; actual: number | null; ok: boolean }[]; arenaBytes: number; stackHighWaterBytes: number | null; flashBytes: number; latency: { unit: string; runs: number } };
    expect(j.budgets).toEqual([
      { name: 'arena', option: '--max-arena', limit: 100000, actual: 32, ok: true },
      // The glue stand-in reports a 1024-byte high-water mark, as the Mbed glue measures it on the board.
      { name: 'stack', option: '--max-stack', limit: 512, actual: 1024, ok: false },
    ]);
    expect(j.flashBytes).toBe(187364);
    // The JSON is what docs/arduino.md says, in tinyml's one vocabulary.
    expect(Object.keys(j).sort()).toEqual(documentedKeys('deploy').sort());
    expect(nonCamel(j)).toEqual([]);
    expect(j.latency).toMatchObject({ unit: 'cycles', runs: 1 });
    expect(j.stackHighWaterBytes).toBe(1024);
    expect(errorLines(r.stderr)).toEqual(['tinyml: error: stack 1024 exceeds --max-stack 512: shrink the model or raise the budget']);
  });

  it('a budget the board did not measure fails, and the JUnit case says it could not be checked', () => {
    const verdicts = checkBudgets({ latency: null, arenaBytes: 32, flashBytes: 187364, stackHighWaterBytes: null }, { maxStack: 4096, maxArena: 64 });
    expect(verdicts).toEqual([
      { name: 'arena', option: '--max-arena', limit: 64, actual: 32, ok: true },
      { name: 'stack', option: '--max-stack', limit: 4096, actual: null, ok: false },
    ]);
    expect(junitCases({ latency: null, budgets: verdicts }, 'hello on nano33ble', 1)[2]).toEqual({ name: 'budget --max-stack 4096', failure: 'stack was not measured by the device, so --max-stack 4096 cannot be checked' });
  });

  it('--max-instructions is refused before anything runs: a board counts cycles (exit 2)', async () => {
    const env = doubleEnv();
    const r = await runCliAsync(['deploy', HELLO, '--board', 'nano33ble', '--max-instructions', '100000'], 30_000, env);
    expect(r.code).toBe(2);
    expect(errorLines(r.stderr)).toEqual([expect.stringMatching(/^tinyml: error: an instruction budget is for emulated boards: nano33ble times inferences in CPU cycles; drop --max-instructions/)]);
    expect(cliCalls(env)).toEqual([]);
  });
});

describe('deploy to an Arduino board: --kernels, --opt, --profile', () => {
  it('--kernels dsp on the Cortex-M0+ nano-rp2040-connect exits 7 (as documented), before arduino-cli runs', async () => {
    for (const runtime of ['native', 'tflm']) {
      const env = doubleEnv();
      const r = await runCliAsync(['deploy', HELLO, '--board', 'nano-rp2040-connect', '--runtime', runtime, '--kernels', 'dsp'], 30_000, env);
      expect(r.code, r.stderr).toBe(7);
      expect(errorLines(r.stderr)).toEqual(['tinyml: error: the dsp kernel set needs the Armv7E-M DSP instructions and nano-rp2040-connect (cortex-m0plus) has none: use --kernels portable']);
      expect(cliCalls(env)).toEqual([]);
    }
  });

  it('--kernels, --opt and --profile with TensorFlow Lite Micro are refused naming each (exit 2)', async () => {
    const r = await runCliAsync(['deploy', HELLO, '--board', 'nano33ble', '--kernels', 'portable', '--opt', 's', '--profile'], 30_000, doubleEnv());
    expect(r.code).toBe(2);
    expect(errorLines(r.stderr)).toEqual([expect.stringMatching(/^tinyml: error: --kernels, --opt, --profile choose how tinyml's native C is compiled or timed; .*: add --runtime native, or drop --kernels --opt --profile$/)]);
  });

  it('native runtime: the uploaded sketch uses the chosen kernels and -O level, and --profile prints per-op cycles', async () => {
    const link = await usbBoard(recordStream({ kernels: 'portable', optimize: 's', profile: true }));
    const out = join(tmp, 'p1', 'hello');
    const r = await runCliAsync(['deploy', HELLO, '--board', 'nano33ble', '--runtime', 'native', '--out', out, '--input', INPUT, '--kernels', 'portable', '--opt', 's', '--profile'], 60_000, doubleEnv(link));
    expect(r.code, r.stderr).toBe(0);
    // What arduino-cli compiled: the model with the profiling hooks, -Os, no dsp define.
    const modelC = readFileSync(join(out, 'src/model.c'), 'utf8');
    expect(modelC.split('\n').slice(0, 2)).toEqual(['#pragma GCC optimize ("Os")', '#define TML_PROFILE 1']);
    expect(readFileSync(join(out, 'src/tml_sketch_config.h'), 'utf8')).toContain('#define TML_KERNEL_SET "portable"');
    expect(readFileSync(join(out, 'src/tml_dot.h'), 'utf8')).not.toContain('#define TML_KERNELS_DSP');
    expect(r.stdout).toContain('(native runtime, portable kernels');
    // One row per op of hello_world (three FULLY_CONNECTED), costs in cycles.
    expect(r.stdout).toMatch(/#\s+op\s+cycles\n[- ]+\n0\s+FULLY_CONNECTED\s+\d+\n1\s+FULLY_CONNECTED\s+\d+\n2\s+FULLY_CONNECTED\s+\d+/);
  });

  it('the default on a DSP core is the dsp set, and the sketch defines TML_KERNELS_DSP for the kernels', async () => {
    const out = join(tmp, 'd1', 'hello');
    const r = await runCliAsync(['build', HELLO, '--board', 'nano33ble', '--runtime', 'native', '--out', out], 60_000);
    expect(r.code, r.stderr).toBe(0);
    expect(readFileSync(join(out, 'src/model.c'), 'utf8').split('\n')[0]).toBe('#pragma GCC optimize ("O2")');
    expect(readFileSync(join(out, 'src/tml_sketch_config.h'), 'utf8')).toContain('#define TML_KERNEL_SET "dsp"');
    // tml_dot.h, which every kernel includes, picks SMLAD on the define.
    expect(readFileSync(join(out, 'src/tml_dot.h'), 'utf8')).toContain('#define TML_KERNELS_DSP 1\n');
  });

});

describe('flash without a model', () => {
  it('refuses the options that only mean something with a model (exit 2), before arduino-cli runs', async () => {
    const env = doubleEnv();
    const r = await runCliAsync(['flash', '--board', 'nano33ble', '--sketch', join(tmp, 'nosketch'), '--input', INPUT], 30_000, env);
    expect(r.code).toBe(2);
    expect(errorLines(r.stderr)).toEqual([`tinyml: error: --input is for \`tinyml flash <model>\` (it generates the sketch and reads its report): add the model, or drop --input to upload ${join(tmp, 'nosketch')} as it is`]);
    expect(cliCalls(env)).toEqual([]);
  });
});

describe('help and docs say what deploy does', () => {
  it('`deploy --help` names Arduino boards and what each option means there', async () => {
    const r = await runCliAsync(['deploy', '--help'], 30_000);
    const help = r.stdout.replace(/\s+/g, ' ');
    expect(help).toContain('or upload it to an Arduino board (arduino-cli)');
    expect(help).toContain('Arduino boards: the sketch size arduino-cli reports');
    expect(help).toContain('an Arduino board counts cycles and refuses it, exit 2');
    expect(help).not.toMatch(/on an emulated board, and print/);
  });
});

describe('build on an Arduino board prints the sizes it knows', () => {
  it('text: model data and arena against the board, and how to get the sketch total; --json: sizes, documented and camelCase', async () => {
    const out = join(tmp, 's1', 'hello');
    const r = await runCliAsync(['build', HELLO, '--board', 'nano33ble', '--runtime', 'native', '--out', out], 60_000);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^Flash: model data \d+ bytes of 983040; RAM: arena 32 bytes of 262144\. The sketch's total flash and RAM \(with the Arduino core\) are arduino-cli's to measure: `tinyml flash` prints them$/m);
    const j = await runCliAsync(['build', HELLO, '--board', 'nano33ble', '--out', join(tmp, 's2', 'hello'), '--json'], 60_000);
    expect(j.code, j.stderr).toBe(0);
    const doc = JSON.parse(j.stdout) as { sizes: Record<string, unknown> };
    expect(Object.keys(doc).sort()).toEqual(documentedKeys('build').sort());
    expect(nonCamel(doc)).toEqual([]);
    const sizes = doc.sizes;
    expect(sizes).toEqual({ modelDataBytes: readFileSync(HELLO).length, arenaBytes: expect.any(Number), flashTotal: 983040, ramTotal: 262144, flashUsed: null, ramUsed: null });
  });
});
