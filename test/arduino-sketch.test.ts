/**
 * Arduino sketch generation (src/arduino): the TFLite Micro sketch for every shared int8 model
 * (op resolver checked against the op list the real TFLite Micro run recorded in
 * ../shared/golden, arena formula against the Cortex-M4 anchors), the sketch.yaml profiles,
 * REPORT_SERIAL, and the native-runtime sketch compiled for the Nano 33 BLE's CPU (and the
 * RP2040's) with arm-none-eabi-gcc -Werror, then run on the host through a stand-in of the
 * Arduino glue and compared with the golden outputs.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { GOLDEN, sharedPath } from './helpers/shared.ts';
import { loadBoards } from '../src/boards/registry.ts';
import { BoardError, UnsupportedError, UsageError } from '../src/errors.ts';
import { loadModel } from '../src/formats/load.ts';
import { planMemory } from '../src/plan/memory.ts';
import { ReportDecoder } from '../src/device/protocol.ts';
import { ReportCollector } from '../src/report/device-report.ts';
import { TFLM_ARENA_FORMULA, tflmArenaBytes } from '../src/arduino/arena.ts';
import { resolverEntries } from '../src/arduino/tflm-ops.ts';
import { sketchConfig, CORE_PINS, TFLM_LIBRARY } from '../src/arduino/profiles.ts';
import { cIdentifier, loadInt8Model, writeSketch } from '../src/arduino/sketch-common.ts';
import { generateTflmSketch } from '../src/arduino/sketch-tflm.ts';
import { generateNativeSketch } from '../src/arduino/sketch-native.ts';
import { tensorBytes, type Graph } from '../src/ir/graph.ts';

const tmp = mkdtempSync(join(tmpdir(), 'tinyml-arduino-sketch-'));
const STANDIN = resolve(import.meta.dirname, 'fixtures/arduino-cli-double');

interface GoldenMeta {
  model: string;
  arena_used_bytes: number;
  operators: { type: string }[];
}
const goldenModels = readdirSync(GOLDEN, { withFileTypes: true })
  .filter((d) => d.isDirectory())
  .map((d) => ({ id: d.name, meta: JSON.parse(readFileSync(join(GOLDEN, d.name, 'meta.json'), 'utf8')) as GoldenMeta }));

describe('TFLite Micro sketch for the shared int8 models', () => {
  it.each(goldenModels.map((g) => [g.id, g.meta] as const))('%s: resolver registers exactly the ops the real TFLite Micro run used', (id, meta) => {
    const model = loadInt8Model(sharedPath(meta.model));
    const sketch = generateTflmSketch(model, { board: 'nano33ble', outDir: join(tmp, `${id}-tflm`) });
    const expected = [...new Set(meta.operators.map((o) => o.type))];
    expect(sketch.ops.map((o) => o.op)).toEqual(expected);
    expect(sketch.resolverSize).toBe(expected.length);
    const ino = sketch.files[`${id}-tflm.ino`]!;
    expect(ino).toContain(`constexpr int kOpCount = ${expected.length};`);
    expect(ino).toContain('tflite::MicroMutableOpResolver<kOpCount> resolver;');
    const adds = [...ino.matchAll(/resolver\.(Add\w+)\(\)/g)].map((m) => m[1]);
    expect(adds).toHaveLength(expected.length);
    expect(new Set(adds).size).toBe(expected.length);
    // model_data: the flatbuffer bytes exactly, 16-byte aligned, with its length.
    const bytes = readFileSync(sharedPath(meta.model));
    const cc = sketch.files['model_data.cc']!;
    const name = sketch.arrayName;
    expect(cc).toContain(`alignas(16) const unsigned char ${name}[] = {`);
    expect(cc).toContain(`const unsigned int ${name}_len = ${bytes.length};`);
    const body = cc.slice(cc.indexOf('{') + 1, cc.lastIndexOf('}'));
    expect(Buffer.from([...body.matchAll(/0x([0-9a-f]{2})/g)].map((m) => parseInt(m[1]!, 16))).equals(bytes)).toBe(true);
    expect(sketch.files['model_data.h']).toContain(`extern const unsigned char ${name}[];`);
  });

  it('includes the pinned library header, the TFLM headers and the runtime report writer', () => {
    const model = loadInt8Model(sharedPath('models/mlperf-tiny/kws/kws_ref_model.tflite'));
    const s = generateTflmSketch(model, { board: 'nano33ble', outDir: join(tmp, 'kws') });
    const ino = s.files['kws.ino']!;
    for (const inc of [
      `#include <${TFLM_LIBRARY.header}>`,
      '#include "tensorflow/lite/micro/micro_interpreter.h"',
      '#include "tensorflow/lite/micro/micro_mutable_op_resolver.h"',
      '#include "model_data.h"',
      '#include "src/tml_report.h"',
      '#include "src/tml_arduino.h"',
    ]) {
      expect(ino).toContain(inc);
    }
    expect(ino).toContain('interpreter->arena_used_bytes()');
    expect(ino).not.toMatch(/while\s*\(\s*!\s*Serial\s*\)/);
    // The runtime's report writer is copied verbatim, not re-implemented.
    expect(s.files['src/tml_report.c']).toBe(readFileSync(resolve('firmware/runtime/tml_report.c'), 'utf8'));
    expect(s.files['src/tml_arduino_platform.cpp']).toMatch(/while \(!REPORT_SERIAL && \(millis\(\) - start\) < \(unsigned long\)TML_SERIAL_WAIT_MS\)/);
    expect(Object.keys(s.files)).not.toContain('src/tml_arduino_app.c');
    expect(Object.keys(s.files).filter((f) => f.endsWith('conv.c'))).toEqual([]);
  });

  it('REPORT_SERIAL is Serial on the board and Serial1 when asked (Renode)', () => {
    const model = loadInt8Model(sharedPath('models/tflm-hello-world/hello_world_int8.tflite'));
    const usb = generateTflmSketch(model, { board: 'nano33ble', outDir: join(tmp, 'hw-usb') });
    const uart = generateTflmSketch(model, { board: 'nano33ble', outDir: join(tmp, 'hw-uart'), reportSerial: 'Serial1' });
    expect(usb.files['src/tml_sketch_config.h']).toMatch(/#define REPORT_SERIAL Serial\n/);
    expect(uart.files['src/tml_sketch_config.h']).toMatch(/#define REPORT_SERIAL Serial1\n/);
    expect(uart.buildId).not.toBe(usb.buildId);
  });

  it('sketch.yaml pins the core and the TFLite Micro library in a default profile', () => {
    const model = loadInt8Model(sharedPath('models/tflm-hello-world/hello_world_int8.tflite'));
    const t = generateTflmSketch(model, { board: 'nano33ble', outDir: join(tmp, 'yaml-t') });
    expect(t.files['sketch.yaml']).toBe(
      [
        '# Generated by tinyml: a pinned build profile for `arduino-cli compile --profile nano33ble-tflm`.',
        'profiles:',
        '  nano33ble-tflm:',
        '    notes: tinyml tflm runtime for Arduino Nano 33 BLE',
        '    fqbn: arduino:mbed_nano:nano33ble',
        '    platforms:',
        '      - platform: arduino:mbed_nano (4.2.1)',
        '    libraries:',
        '      - Chirale_TensorFLowLite (2.0.0)',
        'default_profile: nano33ble-tflm',
        '',
      ].join('\n'),
    );
    const n = generateNativeSketch(model, { board: 'nano33ble', outDir: join(tmp, 'yaml-n') });
    expect(n.files['sketch.yaml']).toContain('fqbn: arduino:mbed_nano:nano33ble');
    expect(n.files['sketch.yaml']).not.toContain('libraries:');
  });

  it('generation is deterministic', () => {
    const model = loadInt8Model(sharedPath('models/tflm-micro-speech/micro_speech_quantized.tflite'));
    const a = generateTflmSketch(model, { board: 'nano33ble', outDir: join(tmp, 'det') });
    const b = generateTflmSketch(loadInt8Model(sharedPath('models/tflm-micro-speech/micro_speech_quantized.tflite')), { board: 'nano33ble', outDir: join(tmp, 'det') });
    expect(b.files).toEqual(a.files);
  });
});

describe('the sketch\'s arena', () => {
  it('is the formula when not measured, said so in model_data.h; a measured or given arena is used as is', () => {
    const path = sharedPath('models/mlperf-tiny/kws/kws_ref_model.tflite');
    const graph = loadModel(path);
    const f = tflmArenaBytes(graph);
    const planned = planMemory(graph).arenaBytes;
    const F = TFLM_ARENA_FORMULA;
    // KWS: the largest scratch buffer (CONV_2D im2col, DEPTHWISE_CONV_2D window, RESHAPE copy).
    const window = (o: (typeof graph.ops)[number]) => { const w = graph.tensors[o.inputs[1]!]!.shape; return w[1]! * w[2]! * w[3]!; };
    const scratch = Math.max(
      ...graph.ops.filter((o) => o.type === 'CONV_2D').map((o) => F.convIm2colBytes * window(o)),
      ...graph.ops.filter((o) => o.type === 'DEPTHWISE_CONV_2D').map((o) => F.depthwiseBufferBytes * window(o)),
      ...graph.ops.filter((o) => o.type === 'RESHAPE').map((o) => tensorBytes(graph.tensors[o.outputs[0]!]!)),
    );
    expect(f.opExtraBytes).toBe(scratch);
    const sum = planned + F.perTensorBytes * graph.tensors.length + F.perOpBytes * graph.ops.length + F.perChannelBytes * f.perChannelChannels + F.baseBytes + scratch;
    expect(f.arenaBytes).toBe(Math.ceil((sum * (1 + F.margin)) / 16) * 16);
    const byFormula = generateTflmSketch(loadInt8Model(path), { board: 'nano33ble', outDir: join(tmp, 'kwsa') });
    expect(byFormula.arena.source).toBe('formula');
    expect(byFormula.files['model_data.h']).toContain(`#define TML_TFLM_ARENA_BYTES ${f.arenaBytes}u`);
    expect(byFormula.files['model_data.h']).toMatch(/tinyml's fallback formula/);
    expect(byFormula.files['kwsa.ino']).toContain('constexpr size_t kTensorArenaSize = TML_TFLM_ARENA_BYTES;');
    const measured = generateTflmSketch(loadInt8Model(path), { board: 'nano33ble', outDir: join(tmp, 'kwsb'), arena: { arenaBytes: 24176, source: 'measured', neededBytes: 24176, formula: f } });
    expect(measured.files['model_data.h']).toContain('#define TML_TFLM_ARENA_BYTES 24176u');
    expect(measured.files['model_data.h']).toMatch(/the smallest arena TFLite Micro accepts for this model, measured by tinyml in QEMU/);
  });
});

describe('refusals', () => {
  it('an op TFLite Micro lacks is refused naming the op and the node', () => {
    const graph = loadModel(sharedPath('models/tflm-hello-world/hello_world_int8.tflite'));
    const bad: Graph = { ...graph, ops: graph.ops.map((o, i) => (i === 1 ? { ...o, type: 'BATCH_NORM', source: { ...o.source, name: 'bn/1' } } : o)) };
    expect(() => resolverEntries(bad)).toThrow(UnsupportedError);
    expect(() => resolverEntries(bad)).toThrow(/^TensorFlow Lite Micro cannot run BATCH_NORM \(op #1, node "bn\/1"\): Chirale_TensorFLowLite 2\.0\.0 has no kernel \(no MicroMutableOpResolver method\) for it$/);
  });

  it('a board whose architecture the TFLM library lacks gets the native runtime instead', () => {
    const pico = loadBoards().find((b) => b.id === 'pico')!;
    expect(() => sketchConfig(pico, 'tflm')).toThrow(BoardError);
    expect(() => sketchConfig(pico, 'tflm')).toThrow(/--runtime native/);
    expect(sketchConfig(pico, 'native').kernels).toBe('portable');
  });

  it('bare-metal boards and bad sketch names are refused', () => {
    const model = loadInt8Model(sharedPath('models/tflm-hello-world/hello_world_int8.tflite'));
    expect(() => generateTflmSketch(model, { board: 'mps2-an386', outDir: join(tmp, 'x') })).toThrow(BoardError);
    expect(() => generateTflmSketch(model, { board: 'nano33ble', outDir: join(tmp, 'bad name!') })).toThrow(UsageError);
    expect(cIdentifier('2-model.v1.tflite')).toBe('m_2_model_v1_tflite');
    expect(cIdentifier('kws_ref_model.tflite')).toBe('kws_ref_model_tflite');
  });
});

describe('board coverage', () => {
  const arduinoBoards = loadBoards().filter((b) => b.fqbn !== null);
  it.each(arduinoBoards.map((b) => [b.id, b] as const))('%s has a native sketch configuration with a pinned core', (_id, board) => {
    const cfg = sketchConfig(board, 'native');
    expect(CORE_PINS[cfg.platform]).toBeDefined();
    expect(cfg.kernels).toBe(board.dsp ? 'dsp' : 'portable');
    const model = loadInt8Model(sharedPath('models/tflm-hello-world/hello_world_int8.tflite'));
    const s = generateNativeSketch(model, { board: board.id, outDir: join(tmp, `cov-${board.id}`) });
    expect(s.files['sketch.yaml']).toContain(`fqbn: ${board.fqbn}\n`);
    expect(s.files['sketch.yaml']).toContain(`- platform: ${cfg.platform} (${CORE_PINS[cfg.platform]!.version})`);
    // The core's build passes no -DTML_KERNELS_DSP (tinyml build does): the sketch's tml_dot.h
    // defines it for a DSP core, so its dot products use the SIMD path as the firmware build's do.
    const defines = execFileSync('arm-none-eabi-gcc', ['-mcpu=cortex-m4', '-mthumb', '-E', '-dM', '-x', 'c', '-'], { input: s.files['src/tml_dot.h']!.replace(/#include [<"][^>"]+[>"]/g, ''), encoding: 'utf8' });
    expect(/^#define TML_KERNELS_DSP\b/m.test(defines)).toBe(cfg.kernels === 'dsp');
  });
});

/** Compiles every C file of a native sketch for a CPU; returns the objects. */
function compileForCpu(sketchDir: string, flags: string[], objDir: string): string[] {
  const src = join(sketchDir, 'src');
  const objs: string[] = [];
  for (const f of readdirSync(src).filter((x) => x.endsWith('.c'))) {
    const o = join(objDir, `${f}.o`);
    execFileSync('arm-none-eabi-gcc', [...flags, '-std=gnu11', '-Os', '-Wall', '-Wextra', '-Werror', '-c', join(src, f), '-o', o]);
    objs.push(o);
  }
  return objs;
}

describe('native-runtime sketch on the real compilers', () => {
  const M4 = ['-mcpu=cortex-m4', '-mthumb', '-mfloat-abi=hard', '-mfpu=fpv4-sp-d16'];
  const model = () => loadInt8Model(sharedPath('models/mlperf-tiny/kws/kws_ref_model.tflite'));

  it('model + runtime + kernels + glue compile for the Nano 33 BLE CPU with -Wall -Wextra -Werror', () => {
    const dir = join(tmp, 'kwsnative');
    const s = generateNativeSketch(model(), { board: 'nano33ble', outDir: dir });
    writeSketch(dir, s.files);
    const objDir = mkdtempSync(join(tmp, 'obj-'));
    const objs = compileForCpu(dir, M4, objDir);
    expect(objs.map((o) => o.split('/').pop())).toEqual(expect.arrayContaining(['model.c.o', 'tml_report.c.o', 'tml_arduino_app.c.o', 'tml_arduino_report.c.o', 'conv.c.o']));
    // The .ino and the C++ glue, against a stand-in Arduino.h, for both REPORT_SERIAL choices.
    execFileSync('arm-none-eabi-g++', [...M4, '-Wall', '-Wextra', '-Werror', '-x', 'c++', '-c', join(dir, 'kwsnative.ino'), '-o', join(objDir, 'ino.o')]);
    for (const serial of ['Serial', 'Serial1']) {
      execFileSync('arm-none-eabi-g++', [...M4, '-std=gnu++17', '-Wall', '-Wextra', '-Werror', `-DREPORT_SERIAL=${serial}`, `-I${join(STANDIN, 'arduino-core-standin')}`, '-c', join(dir, 'src/tml_arduino_platform.cpp'), '-o', join(objDir, `glue-${serial}.o`)]);
    }
  });

  it('compiles for the RP2040 (Cortex-M0+, no FPU, portable kernels)', () => {
    const dir = join(tmp, 'kwspico');
    const s = generateNativeSketch(model(), { board: 'pico', outDir: dir });
    writeSketch(dir, s.files);
    const objDir = mkdtempSync(join(tmp, 'objm0-'));
    expect(compileForCpu(dir, ['-mcpu=cortex-m0plus', '-mthumb', '-mfloat-abi=soft'], objDir).length).toBeGreaterThan(5);
    execFileSync('arm-none-eabi-g++', ['-mcpu=cortex-m0plus', '-mthumb', '-std=gnu++17', '-Wall', '-Wextra', '-Werror', `-I${join(STANDIN, 'arduino-core-standin')}`, '-c', join(dir, 'src/tml_arduino_platform.cpp'), '-o', join(objDir, 'glue.o')]);
  });

  it('the sketch C, run on the host through the glue stand-in, reports the golden KWS output in @TML records', () => {
    const dir = join(tmp, 'kwshost');
    const s = generateNativeSketch(model(), { board: 'nano33ble', outDir: dir, inputs: [join(GOLDEN, 'mlperf-tiny-kws/case_0/input_0.bin')] });
    writeSketch(dir, s.files);
    const src = join(dir, 'src');
    const exe = join(dir, 'host-standin');
    // tml_stack.c is Cortex-M code (it reads SP, programs the MPU): not for the host.
    const cfiles = readdirSync(src).filter((f) => f.endsWith('.c') && f !== 'tml_stack.c').map((f) => join(src, f));
    execFileSync('gcc', ['-std=gnu11', '-O1', '-Wall', '-Wextra', '-Werror', `-I${src}`, ...cfiles, join(STANDIN, 'arduino-glue-standin.c'), '-o', exe]);
    const stream = execFileSync(exe);
    writeFileSync(join(tmp, 'kws-report.bin'), stream);
    const decoder = new ReportDecoder();
    const collector = new ReportCollector();
    for (const item of [...decoder.push(stream), ...decoder.end()]) collector.add(item);
    const rep = collector.report;
    expect(decoder.stats.rejected).toBe(0);
    expect(rep.hello?.['model_hash']).toBe(s.modelHash);
    expect(rep.hello?.['runtime']).toBe('tinyml-native');
    expect(rep.inferences).toHaveLength(1);
    expect(rep.done?.['status']).toBe('ok');
    const golden = readFileSync(join(GOLDEN, 'mlperf-tiny-kws/case_0/output_0.bin'));
    expect(Buffer.from(rep.outputs[0]!).equals(golden)).toBe(true);
  });
});
