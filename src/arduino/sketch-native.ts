/**
 * `--runtime native` as an Arduino sketch: the native backend's generated C (model.c/.h,
 * tml_input, tml_build_info.h from src/codegen/native), the int8 kernels and the report
 * runtime in the sketch's src/ folder, and a two-line .ino. No TFLite Micro, no library: the
 * sketch.yaml profile pins only the core.
 */
import { getBoard } from '../boards/registry.ts';
import { commentText } from '../codegen/native/c-syntax.ts';
import { generateNative } from '../codegen/native/generate.ts';
import { checkFit, constBudget, optimizePragma, type KernelSet, type OptLevel } from '../build/firmware.ts';
import { sketchConfig, sketchYaml } from './profiles.ts';
import {
  ARDUINO_TEMPLATES_DIR,
  loadInt8Model,
  renderTemplate,
  runtimeFiles,
  sketchConfigHeader,
  sketchInputs,
  sketchNameOf,
  writeSketch,
  type Int8Model,
} from './sketch-common.ts';
import { defaultSketchDir, type GeneratedSketch, type SketchOptions } from './sketch-tflm.ts';
import { withDspDefine } from '../export/kernel-sources.ts';

/** Stack the Mbed OS main thread gives setup()/loop() (the Arduino Mbed cores' default), for the fit check. */
export const ARDUINO_MAIN_STACK_BYTES = 32 * 1024;

/** How the native runtime's C is compiled in the sketch (--kernels, --opt, --profile). */
export interface NativeOptions {
  /** Default: the board's (dsp on cores with the DSP extension, else portable). */
  kernels?: KernelSet;
  /** Default: DEFAULT_OPT, as every tinyml build. */
  optimize?: OptLevel;
  /** Compile the per-op hooks: the sketch then sends an `op` record per op (cycles of the last run). */
  profile?: boolean;
}

export interface NativeSketch extends GeneratedSketch {
  runtime: 'native';
  weightBytes: number;
  /** The baked-in inputs' bytes (flash). */
  bakedInputBytes: number;
}

export function generateNativeSketch(model: Int8Model, opts: SketchOptions & NativeOptions): NativeSketch {
  const board = getBoard(opts.board);
  const config = { ...sketchConfig(board, 'native', opts.reportSerial), ...(opts.kernels ? { kernels: opts.kernels } : {}) };
  const dir = opts.outDir ?? defaultSketchDir(board.id, 'native');
  const name = sketchNameOf(dir);
  const runs = opts.runs ?? 1;
  const inputs = sketchInputs(model.graph, opts.inputs);
  const gen = generateNative(model.graph, {
    modelBytes: model.modelBytes,
    modelLabel: model.label,
    board: { id: board.id, clockHz: board.f_cpu, flashBytes: board.usable.flash_bytes, ramBytes: board.usable.ram_bytes },
    bakedInputs: inputs,
    buildOptions: { runtime: 'arduino-native', kernels: config.kernels, runs, serial: config.reportSerial, ...(opts.optimize ? { optimize: opts.optimize } : {}), ...(opts.profile ? { profile: true } : {}) },
    kernels: config.kernels,
    constBudget: constBudget(board, model.graph),
  });
  checkFit(board, { weights: gen.weightBytes, inputs: gen.bakedInputBytes, arena: gen.arenaBytes, stack: ARDUINO_MAIN_STACK_BYTES });

  const files: Record<string, string> = {};
  for (const [f, text] of Object.entries(gen.files)) files[`src/${f}`] = text;
  for (const [f, text] of Object.entries(runtimeFiles('native'))) files[`src/${f}`] = f === 'tml_dot.h' && config.kernels === 'dsp' ? withDspDefine(text) : text;
  // The core compiles with its own flags (-Os on the Mbed cores) and no -D of ours: the model
  // and the kernels get the optimisation level of every tinyml build (or --opt) and the
  // profiling hooks (model.c, tml_arduino_app.c) from a prefix; the dsp kernel set's define is
  // in tml_dot.h (withDspDefine).
  const prefix = [optimizePragma(opts.optimize), ...(opts.profile ? ['#define TML_PROFILE 1'] : [])].join('\n');
  for (const f of Object.keys(files)) if (f.endsWith('.c')) files[f] = `${prefix}\n${files[f]!}`;
  files['src/tml_sketch_config.h'] = sketchConfigHeader(config, runs);
  files['sketch.yaml'] = sketchYaml(config);
  files[`${name}.ino`] = renderTemplate(ARDUINO_TEMPLATES_DIR, 'native.ino.hbs', {
    sketchName: name,
    modelHash: gen.modelHash,
    modelLabel: commentText(model.label, 80),
    boardName: commentText(board.name, 80),
    profile: config.profile,
    reportSerial: config.reportSerial,
  });
  return {
    dir,
    name,
    runtime: 'native',
    config,
    modelHash: gen.modelHash,
    buildId: gen.buildId,
    quantized: model.quantized,
    files,
    written: [],
    plannedArenaBytes: gen.arenaBytes,
    arenaBytes: gen.arenaBytes,
    weightBytes: gen.weightBytes,
    bakedInputBytes: gen.bakedInputBytes,
  };
}

export function writeNativeSketch(modelPath: string, opts: SketchOptions & NativeOptions): NativeSketch {
  const sketch = generateNativeSketch(loadInt8Model(modelPath, opts.calib), opts);
  sketch.written = writeSketch(sketch.dir, sketch.files);
  return sketch;
}
