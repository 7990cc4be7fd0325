/**
 * `tinyml export`: every shared int8 model in every format, copied outside the repository and
 * compiled with nothing of tinyml around it: host gcc (-Wall -Wextra -Werror, ASan + UBSan) runs
 * the exported example, whose outputs must equal the TFLite Micro golden outputs byte for byte
 * (and the int8 reference baked into the example); arm-none-eabi-gcc compiles and links it for a
 * Cortex-M4. Every format carries the same C, so the models compile once each; each format's
 * own build file (CMakeLists.txt, library.properties + .zip, library.json, module.yml + Kconfig
 * + CMakeLists.txt) is then built for real once, the Arduino and Zephyr ones through doubles of
 * the build systems that cannot be installed here (named as doubles in test/fixtures/export/).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { unzipSync } from 'fflate';
import { Ajv } from 'ajv';
import { EXPORT_FORMATS, exportModel, type ExportResult } from '../src/export/export.ts';
import { encodeNpy } from '../src/data/npy.ts';
import { KERNEL_SETS, type KernelSet } from '../src/codegen/native/dsp.ts';
import { buildFirmware } from '../src/build/firmware.ts';
import { GOLDEN_IDS, goldenModel } from './helpers/native-models.ts';
import { PROJECT_ROOT, sharedPath } from './helpers/shared.ts';
import { runCli } from './helpers/cli.ts';

const run = promisify(execFile);
const FIXTURES = resolve(PROJECT_ROOT, 'test/fixtures/export');
const WORK = mkdtempSync(join(tmpdir(), 'tinyml-export-test-'));
afterAll(() => rmSync(WORK, { recursive: true, force: true }));

const CFLAGS = ['-std=c99', '-Wall', '-Wextra', '-Werror'];
const M4 = ['-mcpu=cortex-m4', '-mthumb', '-mfloat-abi=hard', '-mfpu=fpv4-sp-d16'];

/** Files below `dir`, relative, sorted. */
function listFiles(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      if (e.isDirectory()) walk(join(d, e.name));
      else out.push(relative(dir, join(d, e.name)));
    }
  };
  walk(dir);
  return out.sort();
}

/**
 * The C of an export keyed by role, sorted: src/<file> for the library (the public header
 * included), example/<file> for the example's data (its main is main.c or a sketch .ino).
 */
function cFiles(r: ExportResult): Map<string, string> {
  const lib = r.libraryDir;
  const out = new Map<string, string>();
  for (const f of listFiles(lib)) {
    if (!/\.(c|h)$/.test(f) || f === 'example/main.c') continue;
    const key = f.replace(/^include\//, 'src/').replace(/^examples\/[^/]+\//, 'example/');
    out.set(key, readFileSync(join(lib, f), 'utf8'));
  }
  return new Map([...out].sort(([a], [b]) => a.localeCompare(b)));
}

/** The hex bytes the example printed for each output ("output j: 0a ff ..."). */
function printedOutputs(stdout: string): Uint8Array[] {
  return [...stdout.matchAll(/^output (\d+):((?: [0-9a-fA-F]{2})*)\r?$/gm)].map((m) => Uint8Array.from(m[2]!.trim().split(' ').filter(Boolean), (h) => parseInt(h, 16)));
}

/** A copy of the library in a fresh folder outside the repository and outside the export. */
function copyOutside(r: ExportResult, label: string): string {
  const dst = mkdtempSync(join(tmpdir(), `tinyml-export-copy-${label}-`));
  cpSync(r.libraryDir, dst, { recursive: true });
  expect(relative(PROJECT_ROOT, dst).startsWith('..')).toBe(true);
  return dst;
}

const sources = (dir: string, sub: string) => readdirSync(join(dir, sub)).filter((f) => f.endsWith('.c')).map((f) => join(dir, sub, f));

describe.concurrent('tinyml export: every shared int8 model', () => {
  it('has the shared golden models to export', () => {
    expect(GOLDEN_IDS.length).toBeGreaterThanOrEqual(6);
  });

  describe.each(GOLDEN_IDS)('%s', (id) => {
    const gm = goldenModel(id);
    const exports = new Map<string, ExportResult>();
    /** A copy outside the repository of the c export per kernel set. */
    const copies = new Map<KernelSet, string>();

    beforeAll(() => {
      // The example's sample input is the golden case 0 input.
      const inputs = gm.cases[0]!.inputs.map((bytes, i) => {
        const f = join(WORK, `${id}-input_${i}.bin`);
        writeFileSync(f, bytes);
        return f;
      });
      for (const format of EXPORT_FORMATS) exports.set(format, exportModel(gm.modelPath, { format, out: join(WORK, id, format), inputs }));
      exports.set('c-dsp', exportModel(gm.modelPath, { format: 'c', kernels: 'dsp', out: join(WORK, id, 'c-dsp'), inputs }));
      copies.set('portable', copyOutside(exports.get('c')!, id));
      copies.set('dsp', copyOutside(exports.get('c-dsp')!, `${id}-dsp`));
    });
    afterAll(() => {
      for (const dir of copies.values()) rmSync(dir, { recursive: true, force: true });
    });

    it('writes the same C in every format, with only the kernels the model calls', () => {
      const reference = cFiles(exports.get('c')!);
      expect(reference.has('src/tml_model.c')).toBe(true);
      for (const format of EXPORT_FORMATS) expect([...cFiles(exports.get(format)!)], format).toEqual([...reference]);
      const kernels = exports.get('c')!.manifest.kernels;
      const all = readdirSync(resolve(PROJECT_ROOT, 'firmware/kernels')).filter((f) => f.endsWith('.c'));
      expect(kernels.length).toBeGreaterThan(0);
      expect(kernels.length).toBeLessThan(all.length);
      for (const k of kernels) expect(reference.has(`src/${k}`), k).toBe(true);
      expect([...reference.keys()].filter((k) => k.startsWith('src/') && k.endsWith('.c') && !k.startsWith('src/tml_model')).map((k) => k.slice(4))).toEqual(kernels);
      // Nothing refers back to the tinyml installation.
      for (const [f, text] of reference) expect(text.includes(PROJECT_ROOT), f).toBe(false);
    });

    it('each kernel set calls the kernels `tinyml build` calls for a Cortex-M4 with that set, in an arena of the same size', () => {
      for (const kernels of KERNEL_SETS) {
        const r = exports.get(kernels === 'dsp' ? 'c-dsp' : 'c')!;
        expect(r.manifest.kernelSet).toBe(kernels);
        // build passes -DTML_KERNELS_DSP to every kernel of a dsp build; the export's tml_dot.h defines it.
        expect(/^#define TML_KERNELS_DSP 1$/m.test(readFileSync(join(r.libraryDir, 'src/tml_dot.h'), 'utf8')), kernels).toBe(kernels === 'dsp');
        const fw = join(WORK, id, `build-${kernels}`);
        buildFirmware({ modelPath: gm.modelPath, board: 'mps2-an386', kernels, outDir: fw, generateOnly: true });
        const arena = /#define TML_MODEL_ARENA_BYTES\s+(\d+)/.exec(readFileSync(join(fw, 'model.h'), 'utf8'))![1];
        expect(r.manifest.arenaBytes, kernels).toBe(Number(arena));
        const calls = (c: string) => [...c.matchAll(/^\s+(tml_[a-z0-9_]+)\(/gm)].map((m) => m[1]!);
        const built = calls(readFileSync(join(fw, 'model.c'), 'utf8'));
        expect(built.length).toBeGreaterThan(0);
        expect(calls(readFileSync(join(r.libraryDir, 'src/tml_model.c'), 'utf8')), kernels).toEqual(built);
      }
    });

    it.each(KERNEL_SETS)('host gcc (-Werror, ASan + UBSan) from a copy outside the repository, %s kernels: the example equals the TFLite Micro golden output', async (kernels) => {
      const copy = copies.get(kernels)!;
      const exe = join(copy, 'example_app');
      await run('gcc', [...CFLAGS, '-O0', '-g', '-fsanitize=address,undefined', '-fno-sanitize-recover=all', '-Iinclude', '-Isrc', ...sources(copy, 'src'), ...sources(copy, 'example'), '-o', exe], { cwd: copy });
      const r = await run(exe, [], { cwd: copy }).catch((e: { stdout: string; stderr: string; code: number }) => e);
      expect('code' in r ? r.code : 0, r.stderr).toBe(0);
      expect(r.stdout).toContain('ok: every output equals the int8 reference');
      const got = printedOutputs(r.stdout);
      expect(got.length).toBe(gm.cases[0]!.outputs.length);
      gm.cases[0]!.outputs.forEach((golden, j) => expect(Buffer.from(got[j]!).equals(Buffer.from(golden)), `output ${j}`).toBe(true));
    });

    it.each(KERNEL_SETS)('arm-none-eabi-gcc compiles and links the library and the example for a Cortex-M4, %s kernels', async (kernels) => {
      const copy = copies.get(kernels)!;
      const elf = join(copy, 'example.elf');
      await run('arm-none-eabi-gcc', [...M4, ...CFLAGS, '-O2', '-Iinclude', '-Isrc', ...sources(copy, 'src'), ...sources(copy, 'example'), '--specs=nosys.specs', '-o', elf], { cwd: copy });
      expect(existsSync(elf)).toBe(true);
    });
  });
});

describe.concurrent('tinyml export: each build file, built for real', () => {
  const model = sharedPath('models/tflm-micro-speech/micro_speech_quantized.tflite');
  const exported = new Map<string, ExportResult>();
  beforeAll(() => {
    for (const format of EXPORT_FORMATS) exported.set(format, exportModel(model, { format, out: join(WORK, 'build-files', format), name: 'speech' }));
  });

  it('cmake: add_subdirectory() of the folder builds the library for the host and a Cortex-M4, and the profiling hooks run around every op', async () => {
    const lib = copyOutside(exported.get('cmake')!, 'cmake');
    // The user's project: their own CMakeLists.txt that adds the library and links it.
    const app = join(lib, '..', `${relative(tmpdir(), lib)}-app`);
    mkdirSync(app);
    writeFileSync(
      join(app, 'CMakeLists.txt'),
      `cmake_minimum_required(VERSION 3.13)\nproject(app C)\nadd_subdirectory(${lib} speech)\nadd_executable(app main.c)\ntarget_link_libraries(app PRIVATE speech)\n`,
    );
    writeFileSync(
      join(app, 'main.c'),
      [
        '#include <stdio.h>',
        '#include "speech.h"',
        'static int begins, ends;',
        'void tml_profile_op_begin(int op_index) { (void)op_index; ++begins; }',
        'void tml_profile_op_end(int op_index) { (void)op_index; ++ends; }',
        'int main(void) {',
        '  const tml_tensor_info *in = tml_model_input_info(0);',
        '  tml_model_init();',
        '  if (tml_model_invoke() != 0) return 2;',
        '  printf("ops %d %d %d arena %d input %s rank %d zp %d\\n", begins, ends, TML_MODEL_NUM_OPS, TML_MODEL_ARENA_BYTES, in->name, (int)in->rank, (int)in->zero_point);',
        '  return begins == TML_MODEL_NUM_OPS && ends == TML_MODEL_NUM_OPS ? 0 : 1;',
        '}',
        '',
      ].join('\n'),
    );
    const build = join(app, 'build');
    await run('cmake', ['-S', app, '-B', build, '-DSPEECH_PROFILE=ON', `-DCMAKE_C_FLAGS=${CFLAGS.slice(1).join(' ')}`]);
    await run('cmake', ['--build', build]);
    const r = await run(join(build, 'app'));
    const m = exported.get('cmake')!.manifest;
    expect(r.stdout.trim()).toBe(`ops ${m.ops.length} ${m.ops.length} ${m.ops.length} arena ${m.arenaBytes} input ${m.inputs[0]!.name} rank ${m.inputs[0]!.shape.length} zp ${m.inputs[0]!.zeroPoint}`);

    // On its own, the folder also builds its example, profiling on (the example defines the hooks
    // and prints each op; off, main.c is built by the PlatformIO and Zephyr tests); cross-compiled,
    // the library for a Cortex-M4.
    const own = join(lib, 'build');
    await run('cmake', ['-S', lib, '-B', own, '-DSPEECH_PROFILE=ON', `-DCMAKE_C_FLAGS=${CFLAGS.slice(1).join(' ')}`]);
    await run('cmake', ['--build', own]);
    const example = (await run(join(own, 'speech_example'))).stdout;
    expect(example).toContain('ok: every output equals the int8 reference');
    expect([...example.matchAll(/^op (\d+) ([A-Z0-9_]+): \d+ clock ticks$/gm)].map((x) => `${x[1]} ${x[2]}`)).toEqual(m.ops.map((op, i) => `${i} ${op}`));
    const arm = join(lib, 'build-m4');
    await run('cmake', [
      '-S', lib, '-B', arm,
      '-DCMAKE_SYSTEM_NAME=Generic', '-DCMAKE_C_COMPILER=arm-none-eabi-gcc', '-DCMAKE_TRY_COMPILE_TARGET_TYPE=STATIC_LIBRARY',
      `-DCMAKE_C_FLAGS=${[...M4, ...CFLAGS.slice(1)].join(' ')}`,
    ]);
    await run('cmake', ['--build', arm, '--target', 'speech']);
    expect(existsSync(join(arm, 'libspeech.a'))).toBe(true);
    rmSync(lib, { recursive: true, force: true });
    rmSync(app, { recursive: true, force: true });
  }, 180_000);

  it('arduino: library.properties follows the 1.5 specification, the .zip holds the library folder, and the library and its example sketch build and run as arduino-cli would (Arduino core double)', async () => {
    const r = exported.get('arduino')!;
    const props = Object.fromEntries(
      readFileSync(join(r.libraryDir, 'library.properties'), 'utf8').split('\n').filter(Boolean).map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
    );
    for (const field of ['name', 'version', 'author', 'maintainer', 'sentence', 'paragraph', 'category', 'architectures']) expect(props[field], field).toBeTruthy();
    expect(props['name']).toMatch(/^[A-Za-z0-9][A-Za-z0-9 _.-]*$/);
    expect(props['version']).toMatch(/^\d+\.\d+\.\d+$/);
    expect(['Display', 'Communication', 'Signal Input/Output', 'Sensors', 'Device Control', 'Timing', 'Data Storage', 'Data Processing', 'Other']).toContain(props['category']);
    expect(existsSync(join(r.libraryDir, 'src', props['includes']!))).toBe(true);

    // The .zip: every file of the library folder, under the folder's name, byte for byte.
    const zip = unzipSync(new Uint8Array(readFileSync(r.zip!)));
    const inFolder = listFiles(r.libraryDir).map((f) => `speech/${f}`);
    expect(Object.keys(zip).sort()).toEqual(inFolder);
    for (const f of inFolder) expect(Buffer.from(zip[f]!).equals(readFileSync(join(r.outDir, f))), f).toBe(true);
    // Another zip reader agrees (Info-ZIP's unzip, what the Arduino IDE's users have).
    await run('unzip', ['-tq', r.zip!]);

    // arduino-cli: every .c under src/ with gcc and the library's src/ on the include path; the
    // sketch's .ino as C++ after prepending #include <Arduino.h>; the sketch's own .c files.
    const lib = copyOutside(r, 'arduino');
    const sketch = join(lib, 'examples', 'speech_example');
    const out = join(lib, 'out');
    mkdirSync(out);
    const objects: string[] = [];
    const cc = async (src: string, extra: string[]) => {
      const o = join(out, `${objects.length}.o`);
      await run(src.endsWith('.cpp') ? 'g++' : 'gcc', [...extra, '-Wall', '-Wextra', '-Werror', `-I${join(lib, 'src')}`, `-I${FIXTURES}`, '-c', src, '-o', o]);
      objects.push(o);
    };
    for (const f of sources(lib, 'src')) await cc(f, ['-std=gnu11']);
    for (const f of sources(sketch, '.')) await cc(f, ['-std=gnu11', `-I${sketch}`]);
    const ino = join(out, 'speech_example.ino.cpp');
    writeFileSync(ino, `#include <Arduino.h>\n#line 1 "speech_example.ino"\n${readFileSync(join(sketch, 'speech_example.ino'), 'utf8')}`);
    await cc(ino, ['-std=gnu++14', `-I${sketch}`]);
    await cc(join(FIXTURES, 'arduino-core-double.cpp'), ['-std=gnu++14']);
    await run('g++', [...objects, '-o', join(out, 'sketch')]);
    const printed = (await run(join(out, 'sketch'))).stdout;
    expect(printed).toMatch(/^invoke: \d+ us\r$/m);
    expect(printed).toContain('ok: every output equals the int8 reference');
    // The same sketch compiles for the Cortex-M4 with the board's C++ flags.
    await run('arm-none-eabi-g++', [...M4, '-std=gnu++14', '-fno-exceptions', '-fno-rtti', '-Wall', '-Wextra', '-Werror', `-I${join(lib, 'src')}`, `-I${FIXTURES}`, `-I${sketch}`, '-c', ino, '-o', join(out, 'ino-m4.o')]);
    rmSync(lib, { recursive: true, force: true });
  }, 180_000);

  it('platformio: library.json names the folders PlatformIO builds, and they build with PlatformIO\'s include paths and run the listed example', async () => {
    const r = exported.get('platformio')!;
    const manifest = JSON.parse(readFileSync(join(r.libraryDir, 'library.json'), 'utf8')) as {
      name: string; version: string; frameworks: string; platforms: string; headers: string;
      build: { srcDir: string; includeDir: string }; examples: { base: string; files: string[] }[];
    };
    expect(manifest.name).toBe('speech');
    expect(manifest.version).toMatch(/^\d+\.\d+\.\d+$/);
    expect(manifest.frameworks).toBe('*');
    expect(manifest.platforms).toBe('*');
    expect(existsSync(join(r.libraryDir, manifest.build.includeDir, manifest.headers))).toBe(true);
    const lib = copyOutside(r, 'pio');
    // PlatformIO's library builder: srcDir's sources with includeDir and srcDir on CPPPATH.
    const inc = [`-I${join(lib, manifest.build.includeDir)}`, `-I${join(lib, manifest.build.srcDir)}`];
    const ex = manifest.examples[0]!;
    const exSources = ex.files.filter((f) => f.endsWith('.c')).map((f) => join(lib, ex.base, f));
    await run('gcc', [...CFLAGS, ...inc, ...sources(lib, manifest.build.srcDir), ...exSources, '-o', join(lib, 'app')]);
    expect((await run(join(lib, 'app'))).stdout).toContain('ok: every output equals the int8 reference');
    rmSync(lib, { recursive: true, force: true });
  }, 120_000);

  it('zephyr: module.yml passes Zephyr\'s module schema, Kconfig declares the symbols CMakeLists.txt tests, and the module builds through a double of Zephyr\'s CMake functions', async () => {
    const r = exported.get('zephyr')!;
    const meta = parseYaml(readFileSync(join(r.libraryDir, 'zephyr/module.yml'), 'utf8')) as { name: string; build: { cmake: string; kconfig: string } };
    const ajv = new Ajv({ allErrors: true });
    const valid = ajv.validate(JSON.parse(readFileSync(join(FIXTURES, 'zephyr-module.schema.json'), 'utf8')), meta);
    expect(valid, ajv.errorsText()).toBe(true);
    // As zephyr_module.py checks: build.cmake is a folder holding CMakeLists.txt, build.kconfig a file.
    expect(existsSync(join(r.libraryDir, meta.build.cmake, 'CMakeLists.txt'))).toBe(true);
    const kconfig = readFileSync(join(r.libraryDir, meta.build.kconfig), 'utf8');
    const symbols = [...kconfig.matchAll(/^config (\w+)$/gm)].map((m) => m[1]!);
    expect(symbols).toEqual(['TINYML_SPEECH', 'TINYML_SPEECH_PROFILE']);
    for (const s of symbols) expect(kconfig).toMatch(new RegExp(`^config ${s}\\n\\tbool "[^"\\\\]+"$`, 'm'));
    const cmakeLists = readFileSync(join(r.libraryDir, meta.build.cmake, 'CMakeLists.txt'), 'utf8');
    const tested = [...cmakeLists.matchAll(/CONFIG_(\w+)/g)].map((m) => m[1]!);
    expect(new Set(tested)).toEqual(new Set(symbols));

    const lib = copyOutside(r, 'zephyr');
    const app = join(lib, 'app');
    mkdirSync(app);
    writeFileSync(
      join(app, 'CMakeLists.txt'),
      [
        'cmake_minimum_required(VERSION 3.13)',
        'project(zephyr_app C)',
        `include(${join(FIXTURES, 'zephyr-double.cmake')})`,
        'set(CONFIG_TINYML_SPEECH y)',
        `add_subdirectory(${join(lib, meta.build.cmake)} module)`,
        'get_property(zephyr_libs GLOBAL PROPERTY ZEPHYR_LIBS)',
        `add_executable(zephyr_app ${join(lib, 'example/main.c')} ${join(lib, 'example/example_data.c')})`,
        'target_link_libraries(zephyr_app PRIVATE zephyr_interface ${zephyr_libs})',
        '',
      ].join('\n'),
    );
    await run('cmake', ['-S', app, '-B', join(app, 'build'), `-DCMAKE_C_FLAGS=${CFLAGS.join(' ')}`]);
    await run('cmake', ['--build', join(app, 'build')]);
    expect((await run(join(app, 'build', 'zephyr_app'))).stdout).toContain('ok: every output equals the int8 reference');
    rmSync(lib, { recursive: true, force: true });
  }, 180_000);
});

describe('tinyml export on the command line', () => {
  const model = sharedPath('models/tflm-hello-world/hello_world_int8.tflite');

  it('--json prints where the library went and what it holds; the folder lists every file in tinyml-export.json', () => {
    const out = join(WORK, 'cli-json');
    const r = runCli(['export', model, '--format', 'cmake', '--out', out, '--json']);
    expect(r.code, r.stderr).toBe(0);
    const j = JSON.parse(r.stdout) as Record<string, unknown>;
    expect(Object.keys(j).sort()).toEqual(
      ['arenaBytes', 'files', 'format', 'header', 'kernelSet', 'kernels', 'libraryDir', 'model', 'modelHash', 'name', 'ops', 'outDir', 'quantizedWithCalib', 'warnings', 'weightBytes', 'zip'].sort(),
    );
    expect(j['name']).toBe('hello_world_int8');
    expect(j['header']).toBe('include/hello_world_int8.h');
    expect(listFiles(out)).toEqual(j['files']);
  });

  it('replaces a previous export in the same folder, and refuses a folder holding anything else (exit 3, nothing written)', () => {
    const out = join(WORK, 'cli-replace');
    expect(runCli(['export', model, '--out', out]).code).toBe(0);
    writeFileSync(join(out, 'src', 'stale_kernel.c'), '/* left from an older export */');
    const manifest = JSON.parse(readFileSync(join(out, 'tinyml-export.json'), 'utf8')) as { files: string[] };
    manifest.files.push('src/stale_kernel.c');
    writeFileSync(join(out, 'tinyml-export.json'), JSON.stringify(manifest));
    expect(runCli(['export', model, '--out', out]).code).toBe(0);
    expect(existsSync(join(out, 'src', 'stale_kernel.c'))).toBe(false);

    const mine = join(WORK, 'cli-mine');
    mkdirSync(mine);
    writeFileSync(join(mine, 'notes.txt'), 'mine');
    const r = runCli(['export', model, '--out', mine]);
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/^tinyml: error: .*not empty.*--out\n$/);
    expect(readdirSync(mine)).toEqual(['notes.txt']);
  });

  it('refuses an --out that is a file, lies under a file, or holds a broken manifest or a foreign .zip (exit 3, one line naming the fix, nothing written)', () => {
    const file = join(WORK, 'cli-out-file');
    writeFileSync(file, 'mine');
    const cases: [string[], RegExp][] = [
      [['--out', file], /is a file, not a folder: choose a new or empty folder with --out$/],
      [['--out', join(file, 'lib')], /cannot write to the output folder .*: choose a writable folder with --out$/],
      [['--format', 'arduino', '--out', file], /is a file, not a folder: choose a new or empty folder with --out$/],
    ];
    const broken = join(WORK, 'cli-broken-manifest');
    mkdirSync(broken);
    writeFileSync(join(broken, 'tinyml-export.json'), JSON.stringify({ files: 'src' }));
    cases.push([['--out', broken], /tinyml-export\.json is not a tinyml export manifest: remove the folder or choose another --out$/]);
    const zipDir = join(WORK, 'cli-foreign-zip');
    mkdirSync(zipDir);
    writeFileSync(join(zipDir, 'hello_world_int8.zip'), 'mine');
    cases.push([['--format', 'arduino', '--out', zipDir], /hello_world_int8\.zip exists and is not part of a tinyml export: move it away or choose another --out$/]);
    for (const [args, message] of cases) {
      const r = runCli(['export', model, ...args]);
      expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(3);
      expect(r.stderr.trim().split('\n'), args.join(' ')).toHaveLength(1);
      expect(r.stderr.trim(), args.join(' ')).toMatch(message);
    }
    expect(readFileSync(file, 'utf8')).toBe('mine');
    expect(readdirSync(broken)).toEqual(['tinyml-export.json']);
    expect(readdirSync(zipDir)).toEqual(['hello_world_int8.zip']);
    expect(readFileSync(join(zipDir, 'hello_world_int8.zip'), 'utf8')).toBe('mine');
  });

  it('--board picks the kernel set of its core (dsp for a Cortex-M4, portable for a Cortex-M0+); portable by default; a dsp library refuses to compile for a core without DSP', async () => {
    const kws = resolve(PROJECT_ROOT, 'examples/kws/kws_ref_model.tflite');
    const set = (args: string[]) => {
      const r = runCli(['export', kws, '--json', ...args]);
      expect(r.code, r.stderr).toBe(0);
      return JSON.parse(r.stdout) as { kernelSet: string; arenaBytes: number; kernels: string[] };
    };
    const dsp = set(['--board', 'mps2-an386', '--out', join(WORK, 'cli-kws-dsp')]);
    expect(dsp.kernelSet).toBe('dsp');
    expect(dsp.kernels).toContain('conv_dsp.c');
    expect(set(['--board', 'pico', '--out', join(WORK, 'cli-kws-m0')]).kernelSet).toBe('portable');
    const portable = set(['--out', join(WORK, 'cli-kws-portable')]);
    expect(portable.kernelSet).toBe('portable');
    expect(portable.kernels.some((k) => k.includes('dsp'))).toBe(false);
    expect(dsp.arenaBytes).toBeLessThan(portable.arenaBytes);
    // The text summary says when portable was only the default, and how to get the dsp set.
    const noted = runCli(['export', kws, '--out', join(WORK, 'cli-kws-portable')]);
    expect(noted.stdout).toMatch(/^ {2}note {7}portable kernels run on any core; for a Cortex-M4\/M7\/M33, --board <id> or --kernels dsp/m);
    expect(runCli(['export', kws, '--board', 'mps2-an386', '--out', join(WORK, 'cli-kws-dsp')]).stdout).not.toContain('note');

    const m0 = runCli(['export', kws, '--board', 'pico', '--kernels', 'dsp', '--out', join(WORK, 'cli-kws-bad')]);
    expect(m0.code).toBe(7);
    expect(m0.stderr.trim()).toMatch(/^tinyml: error: the dsp kernel set needs .* pico .*: export with --kernels portable$/);
    const neon = runCli(['export', kws, '--kernels', 'neon', '--out', join(WORK, 'cli-kws-bad')]);
    expect(neon.code).toBe(2);
    expect(neon.stderr.trim()).toBe("tinyml: error: --kernels must be portable or dsp, not 'neon'");
    expect(existsSync(join(WORK, 'cli-kws-bad'))).toBe(false);

    const lib = join(WORK, 'cli-kws-dsp');
    const m0cc = await run('arm-none-eabi-gcc', ['-mcpu=cortex-m0plus', '-mthumb', ...CFLAGS, '-Iinclude', '-Isrc', '-fsyntax-only', 'src/tml_model.c'], { cwd: lib }).catch((e: { stderr: string; code: number }) => e);
    expect('code' in m0cc ? m0cc.code : 0).not.toBe(0);
    expect(m0cc.stderr).toContain('exported with --kernels dsp, which needs a core with the Armv7E-M DSP extension');
  });

  it('the README gives the command that made the export (run, it regenerates the same folder), says int8 or 16x8 by what the model computes, and keeps a blank line before every heading', async () => {
    const model16 = '../shared/cases/11-int16-activations/a-fc-16x8/model_16x8.tflite';
    const input = '../shared/cases/11-int16-activations/a-fc-16x8/input_int16.bin';
    const out = join(WORK, "cli readme 'quoted'");
    const r = runCli(['export', model16, '--format', 'cmake', '--out', out, '--name', 'fc16', '--input', input, '--board', 'mps2-an386']);
    expect(r.code, r.stderr).toBe(0);
    const readme = readFileSync(join(out, 'README.md'), 'utf8');
    const command = /^Regenerate it with:\n\n```sh\n(.*)\n```$/m.exec(readme)?.[1];
    expect(command).toBe(`tinyml export ${model16} --format cmake --out '${out.replace("'quoted'", "'\\''quoted'\\''")}' --name fc16 --board mps2-an386 --kernels dsp --input ${input}`);
    expect(readme).toContain('as a self-contained 16x8 C library');
    expect(readme).toContain('const int16_t *scores = (const int16_t *)tml_model_output(0);');
    for (const heading of readme.matchAll(/^## .*$/gm)) expect(readme.slice(heading.index! - 2, heading.index!), heading[0]).toBe('\n\n');
    expect(readme.endsWith('```\n')).toBe(true);

    // The command, as a shell runs it, writes the same export again.
    const before = new Map(listFiles(out).map((f) => [f, readFileSync(join(out, f))]));
    await run('sh', ['-c', command!.replace(/^tinyml /, `node ${resolve(PROJECT_ROOT, 'bin/tinyml.js')} `)], { cwd: PROJECT_ROOT });
    expect(listFiles(out)).toEqual([...before.keys()]);
    for (const [f, bytes] of before) expect(readFileSync(join(out, f)).equals(bytes), f).toBe(true);

    // A model of int8 and int16 activations (QUANTIZE int8 -> int16) says both; an int8 model says int8.
    const mixed = runCli(['export', sharedPath('models/tflm-ops/i16_quantize_int8_to_int16.tflite'), '--out', join(WORK, 'cli-mixed'), '--json']);
    expect(mixed.code, mixed.stderr).toBe(0);
    expect(readFileSync(join(WORK, 'cli-mixed', 'README.md'), 'utf8')).toContain('as a self-contained int8 and 16x8 C library');
    // --no-example: the README names no example.
    for (const format of ['arduino', 'cmake']) {
      const dir = join(WORK, `cli-no-example-${format}`);
      expect(runCli(['export', model, '--format', format, '--no-example', '--out', dir]).code).toBe(0);
      const text = readFileSync(join(dir, format === 'arduino' ? 'hello_world_int8' : '', 'README.md'), 'utf8');
      expect(text.replace(/^tinyml export .* --no-example$/m, ''), format).not.toMatch(/example/i);
    }
    expect(runCli(['export', model, '--out', join(WORK, 'cli-int8')]).code).toBe(0);
    expect(readFileSync(join(WORK, 'cli-int8', 'README.md'), 'utf8')).toContain('as a self-contained int8 C library');
  });

  it('refuses an unknown format and a name that is not a C identifier (exit 2, one line)', () => {
    const bad = runCli(['export', model, '--format', 'keil', '--out', join(WORK, 'bad')]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--format must be one of c, cmake, arduino, platformio, zephyr/);
    const name = runCli(['export', model, '--name', 'my-lib; rm', '--out', join(WORK, 'bad')]);
    expect(name.code).toBe(2);
    expect(name.stderr.trim().split('\n')).toHaveLength(1);
    expect(existsSync(join(WORK, 'bad'))).toBe(false);
  });

  it('a float model needs --calib (exit 2); with it, the model is quantized on the way and the example checks the int8 model', async () => {
    const float = sharedPath('models/tflm-hello-world/hello_world_float.tflite');
    const r = runCli(['export', float, '--out', join(WORK, 'float')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/float model.*--calib/);
    const calib = join(WORK, 'calib.npy');
    writeFileSync(calib, encodeNpy({ dtype: 'float32', shape: [64, 1], data: Float32Array.from({ length: 64 }, (_, i) => (i / 63) * 2 * Math.PI) }));
    const q = runCli(['export', float, '--calib', calib, '--out', join(WORK, 'float'), '--json']);
    expect(q.code, q.stderr).toBe(0);
    expect((JSON.parse(q.stdout) as { quantizedWithCalib: boolean }).quantizedWithCalib).toBe(true);
    const lib = join(WORK, 'float');
    await run('gcc', [...CFLAGS, '-Iinclude', '-Isrc', ...sources(lib, 'src'), ...sources(lib, 'example'), '-o', join(lib, 'app')], { cwd: lib });
    expect((await run(join(lib, 'app'))).stdout).toContain('ok: every output equals the int8 reference');
  });
});
