/**
 * What both Arduino sketch generators share: turning the user's model into an int8 graph (and
 * the int8 .tflite bytes TFLite Micro needs), the baked-in input, the sketch folder name, the
 * runtime files copied into the sketch's src/ folder, and writing the folder.
 *
 * Generators are pure until writeSketch(): an unsupported op, a board without a core or a bad
 * input file is refused before anything is written.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import Handlebars from 'handlebars';
import { FileError, UsageError } from '../errors.ts';
import type { Graph } from '../ir/graph.ts';
import { importModel, readModelBytes } from '../formats/load.ts';
import { writeTflite } from '../formats/tflite/write.ts';
import { ensureWritableDir, isQuantizedGraph } from '../build/firmware.ts';
import { KERNEL_INCLUDE_DIR, KERNELS_DIR, PLATFORM_DIR, PROJECT_ROOT, RUNTIME_DIR } from '../build/paths.ts';
import { loadSamples } from '../quantize/calib-data.ts';
import { DEFAULT_QUANTIZE_OPTIONS, quantizeFloatGraph } from '../quantize/convert.ts';
import { bakedInputs } from '../run/run.ts';
import { zeroPointInput } from '../codegen/native/generate.ts';
import { arrayBody } from '../codegen/native/c-syntax.ts';
import type { SketchConfig } from './profiles.ts';

export const ARDUINO_TEMPLATES_DIR = resolve(PROJECT_ROOT, 'templates/arduino');
export const NATIVE_TEMPLATES_DIR = resolve(PROJECT_ROOT, 'templates/native');
export const ARDUINO_PLATFORM_DIR = resolve(PLATFORM_DIR, 'arduino');

/** Report baud rate (USB CDC ignores it; Serial1 uses it). Same as `tinyml monitor`'s default. */
export const REPORT_BAUD = 115200;
/** How long setup() waits for a host to open the USB port. */
export const SERIAL_WAIT_MS = 5000;

const templates = new Map<string, Handlebars.TemplateDelegate>();

export function renderTemplate(dir: string, name: string, context: object): string {
  const key = `${dir}/${name}`;
  let t = templates.get(key);
  if (t === undefined) {
    t = Handlebars.compile(readFileSync(resolve(dir, name), 'utf8'), { noEscape: true, strict: true });
    templates.set(key, t);
  }
  return t(context);
}

export function sha256Hex(data: Uint8Array | string): string {
  return createHash('sha256').update(data).digest('hex');
}

export interface Int8Model {
  /** The int8 graph the sketch runs. */
  graph: Graph;
  /** Bytes of the model file the user gave (TML_MODEL_HASH is their sha256 prefix). */
  modelBytes: Uint8Array;
  modelHash: string;
  /** True when --calib quantized a float model on the way. */
  quantized: boolean;
  /** The file name, for comments. */
  label: string;
}

/**
 * Reads a model; a float one is quantized with --calib (refused without). `fcPerChannel: false`
 * for the TFLM runtime: the pinned library's FULLY_CONNECTED requantizes per-tensor only
 * (tflm-ops.ts), so its weights are quantized per-tensor, as TFLite's converter does.
 */
export function loadInt8Model(modelPath: string, calib?: string, fcPerChannel = DEFAULT_QUANTIZE_OPTIONS.fcPerChannel): Int8Model {
  const modelBytes = readModelBytes(modelPath);
  let graph = importModel(modelBytes, modelPath);
  let quantized = false;
  if (!isQuantizedGraph(graph)) {
    if (!calib) {
      throw new UsageError(`${modelPath} is a float model and Arduino sketches run int8: pass --calib <data> (representative inputs) to quantize it on the way`);
    }
    graph = quantizeFloatGraph(graph, loadSamples(calib, graph), { ...DEFAULT_QUANTIZE_OPTIONS, fcPerChannel }).graph;
    quantized = true;
  }
  return { graph, modelBytes, modelHash: sha256Hex(modelBytes).slice(0, 16), quantized, label: basename(modelPath) };
}

/**
 * The int8 .tflite flatbuffer to embed: the user's file when it already is one, otherwise the
 * int8 graph written as .tflite (what `tinyml convert` writes).
 */
export function int8TfliteBytes(model: Int8Model): Uint8Array {
  const isTflite = model.modelBytes.length >= 8 && String.fromCharCode(...model.modelBytes.subarray(4, 8)) === 'TFL3';
  if (isTflite && !model.quantized) return model.modelBytes;
  return writeTflite(model.graph, 'tinyml (int8, for TensorFlow Lite Micro)');
}

/** One byte array per model input: the given files (raw/.npy, as `tinyml run`), else zero points. */
export function sketchInputs(graph: Graph, files?: string[]): Uint8Array[] {
  if (files && files.length > 0) return bakedInputs(graph, files);
  return graph.inputs.map((i) => zeroPointInput(graph.tensors[i.tensor]!));
}

/** tml_input.h / tml_input.c rendered with the native backend's templates. */
export function inputFiles(inputs: Uint8Array[], fromFiles: boolean): Record<string, string> {
  return {
    'tml_input.h': renderTemplate(NATIVE_TEMPLATES_DIR, 'tml_input.h.hbs', { count: inputs.length }),
    'tml_input.c': renderTemplate(NATIVE_TEMPLATES_DIR, 'tml_input.c.hbs', {
      source: fromFiles ? 'from --input files' : 'every input at its zero point',
      inputs: inputs.map((b, k) => ({ index: k, bytes: Math.max(b.length, 1), body: b.length ? arrayBody(b, 16) : '  0' })),
      slots: Math.max(inputs.length, 1),
      pointers: inputs.length ? inputs.map((_, k) => `tml_baked_input_${k}`).join(', ') : '0',
      sizes: inputs.length ? inputs.map((b) => b.length).join(', ') : '0',
    }),
  };
}

/** src/tml_sketch_config.h for a configuration. */
export function sketchConfigHeader(cfg: SketchConfig, runs: number): string {
  return renderTemplate(ARDUINO_TEMPLATES_DIR, 'tml_sketch_config.h.hbs', {
    reportSerial: cfg.reportSerial,
    baud: REPORT_BAUD,
    serialWaitMs: SERIAL_WAIT_MS,
    runs,
    kernels: cfg.runtime === 'tflm' ? 'tflm' : cfg.kernels,
    runtime: cfg.runtime === 'tflm' ? 'tflm' : 'tinyml-native',
  });
}

function filesIn(dir: string, ext: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const f of readdirSync(dir).sort()) {
    if (ext.some((e) => f.endsWith(e))) out[f] = readFileSync(join(dir, f), 'utf8');
  }
  return out;
}

/**
 * Runtime files for the sketch's src/ folder, copied unchanged: the report writer and the fault
 * reporter with the stack code it uses (firmware/runtime/tml_report.*, tml_fault.c, tml_stack.*,
 * and the platform API header) and the
 * Arduino glue (firmware/platform/arduino/); the TFLM runtime's arena allocator (tml_tflm_*),
 * or for the native runtime its session (tml_arduino_app.c) and the kernels.
 */
export function runtimeFiles(runtime: 'tflm' | 'native'): Record<string, string> {
  const files: Record<string, string> = {
    'tml_report.h': readFileSync(join(RUNTIME_DIR, 'tml_report.h'), 'utf8'),
    'tml_report.c': readFileSync(join(RUNTIME_DIR, 'tml_report.c'), 'utf8'),
    'tml_fault.c': readFileSync(join(RUNTIME_DIR, 'tml_fault.c'), 'utf8'),
    'tml_stack.c': readFileSync(join(RUNTIME_DIR, 'tml_stack.c'), 'utf8'),
    'tml_stack.h': readFileSync(join(RUNTIME_DIR, 'tml_stack.h'), 'utf8'),
    'tml_platform.h': readFileSync(join(RUNTIME_DIR, 'tml_platform.h'), 'utf8'),
    ...filesIn(ARDUINO_PLATFORM_DIR, ['.h', '.cpp', '.c']),
  };
  if (runtime === 'tflm') {
    delete files['tml_arduino_app.c'];
  } else {
    for (const f of Object.keys(files)) if (f.startsWith('tml_tflm_')) delete files[f];
    Object.assign(files, filesIn(KERNEL_INCLUDE_DIR, ['.h']), filesIn(KERNELS_DIR, ['.c']));
  }
  return files;
}

/**
 * A sketch's name is its folder's name (arduino-cli requires <folder>/<folder>.ino): letters,
 * digits, '_', '-', '.', starting with a letter or digit, at most 63 characters.
 */
export function sketchNameOf(dir: string): string {
  const name = basename(resolve(dir));
  if (!/^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/.test(name)) {
    throw new UsageError(`'${name}' cannot name an Arduino sketch (its folder name): use --out with a folder named by letters, digits, '_', '-' or '.'`);
  }
  return name;
}

/** A C/C++ identifier from any text: the TFLM `<name>[]` / `<name>_len` array name. */
export function cIdentifier(text: string): string {
  let id = text.replace(/\.[^.]*$/, '').replace(/[^A-Za-z0-9_]/g, '_');
  if (!/^[A-Za-z]/.test(id)) id = `m_${id}`;
  // Collapsed after the prefix: C++ reserves every identifier that contains '__'.
  return `${id}_tflite`.replace(/_+/g, '_').slice(0, 60);
}

/** Writes files (paths relative to dir, '/' separated) into dir; nothing is removed. */
export function writeSketch(dir: string, files: Record<string, string>): string[] {
  const root = resolve(dir);
  ensureWritableDir(root);
  const written: string[] = [];
  for (const name of Object.keys(files).sort()) {
    const p = join(root, name);
    try {
      mkdirSync(dirname(p), { recursive: true }); // inside root, which exists and is writable
      writeFileSync(p, files[name]!);
    } catch {
      throw new FileError(`cannot write ${p}: choose a writable folder with --out`);
    }
    written.push(p);
  }
  return written;
}
