/**
 * `--runtime tflm`: an Arduino sketch folder that runs the int8 model with TensorFlow Lite
 * Micro and reports with the same `@TML` records as the native runtime.
 *
 *   <sketch>/<sketch>.ino       MicroMutableOpResolver<N> with exactly the model's ops, the
 *                               arena (docs/arduino.md formula), baked input, invoke loop, report
 *   <sketch>/model_data.h/.cc   the .tflite bytes: alignas(16) const unsigned char <name>[], <name>_len
 *   <sketch>/sketch.yaml        pinned core + TFLite Micro library (arduino-cli compile --profile)
 *   <sketch>/src/               report writer, Arduino glue, baked input, build info
 */
import { commentText, cString } from '../codegen/native/c-syntax.ts';
import { arrayBody } from '../codegen/native/c-syntax.ts';
import { getBoard } from '../boards/registry.ts';
import { importModel } from '../formats/load.ts';
import { planMemory } from '../plan/memory.ts';
import { tflmArenaBytes, TFLM_ARENA_FORMULA, type TflmArenaEstimate } from './arena.ts';
import { resolverEntries, type ResolverEntry } from './tflm-ops.ts';
import { sketchConfig, sketchYaml, type SketchConfig } from './profiles.ts';
import {
  ARDUINO_TEMPLATES_DIR,
  NATIVE_TEMPLATES_DIR,
  cIdentifier,
  inputFiles,
  int8TfliteBytes,
  loadInt8Model,
  renderTemplate,
  runtimeFiles,
  sha256Hex,
  sketchConfigHeader,
  sketchInputs,
  sketchNameOf,
  writeSketch,
  type Int8Model,
} from './sketch-common.ts';

export interface SketchOptions {
  /** Board id with an FQBN (boards/<id>.json). */
  board: string;
  /** The sketch folder; its name is the sketch name. Default: build/<board>-<runtime>. */
  outDir?: string;
  calib?: string;
  /** One input file per model input, baked in; default: zero points. */
  inputs?: string[];
  runs?: number;
  /** Override the board's report serial (Serial1 for Renode). */
  reportSerial?: 'Serial' | 'Serial1';
}

export interface GeneratedSketch {
  dir: string;
  name: string;
  runtime: 'tflm' | 'native';
  config: SketchConfig;
  modelHash: string;
  buildId: string;
  quantized: boolean;
  /** Sketch-relative path -> contents. */
  files: Record<string, string>;
  /** Absolute paths written (empty until written). */
  written: string[];
  plannedArenaBytes: number;
  /** The arena the firmware allocates (TFLM: the formula; native: the plan). */
  arenaBytes: number;
}

export interface TflmSketch extends GeneratedSketch {
  runtime: 'tflm';
  ops: ResolverEntry[];
  resolverSize: number;
  arena: TflmArenaEstimate;
  arrayName: string;
  tfliteBytes: number;
}

export function defaultSketchDir(board: string, runtime: 'tflm' | 'native'): string {
  return `build/${board}-${runtime}`;
}

/** Generates the TFLM sketch in memory (nothing written). */
export function generateTflmSketch(model: Int8Model, opts: SketchOptions): TflmSketch {
  const board = getBoard(opts.board);
  const config = sketchConfig(board, 'tflm', opts.reportSerial);
  const dir = opts.outDir ?? defaultSketchDir(board.id, 'tflm');
  const name = sketchNameOf(dir);
  const tflite = int8TfliteBytes(model);
  // The ops and arena come from the flatbuffer the board will run, not from the source model.
  const graph = tflite === model.modelBytes ? model.graph : importModel(tflite, `${model.label} (int8 .tflite)`);
  const ops = resolverEntries(graph);
  const arena = tflmArenaBytes(graph, planMemory(graph).arenaBytes);
  const inputs = sketchInputs(graph, opts.inputs);
  const runs = opts.runs ?? 1;
  const arrayName = cIdentifier(model.label);
  const label = commentText(model.label, 80);

  const files: Record<string, string> = {};
  files['model_data.h'] = renderTemplate(ARDUINO_TEMPLATES_DIR, 'model_data.h.hbs', {
    modelHash: model.modelHash,
    modelLabel: label,
    numInputs: graph.inputs.length,
    numOutputs: graph.outputs.length,
    numOps: graph.ops.length,
    formula: TFLM_ARENA_FORMULA,
    tensors: arena.tensors,
    channels: arena.perChannelChannels,
    plannedArena: arena.plannedBytes,
    arenaBytes: arena.arenaBytes,
    arrayName,
  });
  files['model_data.cc'] = renderTemplate(ARDUINO_TEMPLATES_DIR, 'model_data.cc.hbs', {
    modelHash: sha256Hex(tflite).slice(0, 16),
    length: tflite.length,
    arrayName,
    body: arrayBody(tflite, 12, (v) => `0x${v.toString(16).padStart(2, '0')}`),
  });
  for (const [f, text] of Object.entries(runtimeFiles('tflm'))) files[`src/${f}`] = text;
  for (const [f, text] of Object.entries(inputFiles(inputs, (opts.inputs?.length ?? 0) > 0))) files[`src/${f}`] = text;
  files['src/tml_sketch_config.h'] = sketchConfigHeader(config, runs);
  files['sketch.yaml'] = sketchYaml(config);
  // Deterministic build id: every generated file plus the options.
  const buildId = sha256Hex(
    [...Object.keys(files).sort().map((k) => `${k}\n${files[k]}`), `board=${board.id}`, `runtime=tflm`, `runs=${runs}`].join('\n---\n'),
  ).slice(0, 16);
  files['src/tml_build_info.h'] = renderTemplate(NATIVE_TEMPLATES_DIR, 'tml_build_info.h.hbs', {
    boardIdLiteral: cString(board.id),
    clockHz: board.f_cpu,
    buildId,
    flashBytes: board.usable.flash_bytes,
    ramBytes: board.usable.ram_bytes,
  });
  files[`${name}.ino`] = renderTemplate(ARDUINO_TEMPLATES_DIR, 'tflm.ino.hbs', {
    sketchName: name,
    modelHash: model.modelHash,
    modelLabel: label,
    boardName: commentText(board.name, 80),
    libraryName: config.library!.name,
    libraryVersion: config.library!.version,
    libraryHeader: config.library!.header,
    profile: config.profile,
    reportSerial: config.reportSerial,
    resolverSize: ops.length,
    ops,
    arrayName,
  });
  return {
    dir,
    name,
    runtime: 'tflm',
    config,
    modelHash: model.modelHash,
    buildId,
    quantized: model.quantized,
    files,
    written: [],
    plannedArenaBytes: arena.plannedBytes,
    arenaBytes: arena.arenaBytes,
    ops,
    resolverSize: ops.length,
    arena,
    arrayName,
    tfliteBytes: tflite.length,
  };
}

/** Reads the model, generates the TFLM sketch and writes it. */
export function writeTflmSketch(modelPath: string, opts: SketchOptions): TflmSketch {
  const sketch = generateTflmSketch(loadInt8Model(modelPath, opts.calib), opts);
  sketch.written = writeSketch(sketch.dir, sketch.files);
  return sketch;
}
