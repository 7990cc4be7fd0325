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
import { arenaComment, tflmArenaBytes, type TflmArenaPlan } from './arena.ts';
import { resolverEntries, tflmDifferences, TFLM_KERNELS, type ResolverEntry } from './tflm-ops.ts';
import { emulatedSketchConfig, sketchConfig, sketchYaml, type SketchConfig } from './profiles.ts';
import { getBackend, refusalMessage } from '../backends/support.ts';
import { UnsupportedError } from '../errors.ts';
import type { Graph } from '../ir/graph.ts';
import { planTflmArena, type ArenaChoice } from './tflm-arena-plan.ts';
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
  /** Raw bytes per model input (IR layout and dtype) instead of files. */
  inputBytes?: Uint8Array[];
  runs?: number;
  /** Override the board's report serial (Serial1 for Renode). */
  reportSerial?: 'Serial' | 'Serial1';
  /** 'arduino' (default): a sketch for arduino-cli; 'emulator': the same sources for tinyml's
   * bare-metal Arduino core on an emulated board (no FQBN, no sketch.yaml). */
  target?: 'arduino' | 'emulator';
  /** The arena (TFLM): measured or given; default: the formula. */
  arena?: TflmArenaPlan;
  /** bench/tflm-golden.ts only: register the ops whatever the dtype, to confirm a refusal of
   * the capability table against the real library. */
  ignoreCapabilities?: boolean;
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
  arena: TflmArenaPlan;
  /** The int8 .tflite bytes the sketch embeds (what TFLM runs; the arena cache key). */
  tflite: Uint8Array;
  /** The graph of those bytes. */
  graph: Graph;
  /** Ops the library runs with outputs slightly off the TFLite reference kernels (tflm-ops.ts). */
  warnings: string[];
  arrayName: string;
  tfliteBytes: number;
}

export function defaultSketchDir(board: string, runtime: 'tflm' | 'native'): string {
  return `build/${board}-${runtime}`;
}

/** The int8 flatbuffer TFLM runs and its graph (the ops and arena come from it, not from the source model). */
export function tflmModelOf(model: Int8Model): { tflite: Uint8Array; graph: Graph } {
  const tflite = int8TfliteBytes(model);
  const graph = tflite === model.modelBytes ? model.graph : importModel(tflite, `${model.label} (int8 .tflite)`);
  return { tflite, graph };
}

/** True when tinyml's native runtime can run the graph (its lowering accepts every op and dtype). */
export function nativeRuns(graph: Graph): boolean {
  return getBackend('native-c').refusals(graph).size === 0;
}

/** The op registrations, or UnsupportedError naming what the pinned library cannot run (and
 * suggesting --runtime native only when the native runtime runs the model). */
export function tflmResolverOf(graph: Graph): ResolverEntry[] {
  const msg = refusalMessage(graph, 'tflm');
  if (msg !== null) throw new UnsupportedError(nativeRuns(graph) ? `${msg}: use --runtime native` : msg);
  return resolverEntries(graph);
}

/** Every op type with a resolver method, dtypes not checked (ignoreCapabilities). */
function allResolverEntries(graph: Graph): ResolverEntry[] {
  const entries: ResolverEntry[] = [];
  for (const op of graph.ops) {
    const kernel = TFLM_KERNELS[op.type];
    if (kernel && !entries.some((e) => e.op === op.type)) entries.push({ op: op.type, method: kernel.method });
  }
  return entries;
}

/** The arena when nobody measured it: the formula. */
export function formulaArena(graph: Graph, notMeasured?: string): TflmArenaPlan {
  const formula = tflmArenaBytes(graph, planMemory(graph).arenaBytes);
  return { arenaBytes: formula.arenaBytes, source: 'formula', neededBytes: null, formula, notMeasured };
}

/** Generates the TFLM sketch in memory (nothing written). */
export function generateTflmSketch(model: Int8Model, opts: SketchOptions): TflmSketch {
  const board = getBoard(opts.board);
  const emulated = opts.target === 'emulator';
  const config = emulated ? emulatedSketchConfig(board, 'tflm') : sketchConfig(board, 'tflm', opts.reportSerial);
  const dir = opts.outDir ?? defaultSketchDir(board.id, 'tflm');
  const name = sketchNameOf(dir);
  const { tflite, graph } = tflmModelOf(model);
  const ops = opts.ignoreCapabilities ? allResolverEntries(graph) : tflmResolverOf(graph);
  const arena = opts.arena ?? formulaArena(graph);
  const inputs = opts.inputBytes ?? sketchInputs(graph, opts.inputs);
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
    plannedArena: arena.formula.plannedBytes,
    arenaHow: commentText(arenaComment(arena), 300),
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
  // What the copied fault reporter reads of the native runtime's model interface.
  files['src/model.h'] = renderTemplate(ARDUINO_TEMPLATES_DIR, 'tflm_model.h.hbs', { numOps: graph.ops.length });
  files['src/tml_tflm_model.c'] = renderTemplate(ARDUINO_TEMPLATES_DIR, 'tml_tflm_model.c.hbs', { opTypes: graph.ops.map((o) => cString(o.type)) });
  for (const [f, text] of Object.entries(inputFiles(inputs, (opts.inputs?.length ?? 0) > 0 || opts.inputBytes !== undefined))) files[`src/${f}`] = text;
  files['src/tml_sketch_config.h'] = sketchConfigHeader(config, runs);
  if (!emulated) files['sketch.yaml'] = sketchYaml(config);
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
    plannedArenaBytes: arena.formula.plannedBytes,
    arenaBytes: arena.arenaBytes,
    ops,
    resolverSize: ops.length,
    arena,
    arrayName,
    tfliteBytes: tflite.length,
    tflite,
    graph,
    warnings: tflmDifferences(graph),
  };
}

export interface WriteTflmOptions extends SketchOptions {
  /** --arena: measure (default), formula or bytes. */
  arenaChoice?: ArenaChoice;
  /** --tflm-lib. */
  libPath?: string;
  env?: NodeJS.ProcessEnv;
  onProgress?: (message: string) => void;
}

/**
 * Reads the model, sizes its arena (measured with the pinned library when it is installed, see
 * tflm-arena-plan.ts), generates the TFLM sketch and writes it. An op or dtype the library
 * cannot run and a board it does not support are refused before anything is measured or written.
 */
export async function writeTflmSketch(modelPath: string, opts: WriteTflmOptions): Promise<TflmSketch> {
  const model = loadInt8Model(modelPath, opts.calib, false);
  const board = getBoard(opts.board);
  if (opts.target !== 'emulator') sketchConfig(board, 'tflm', opts.reportSerial);
  tflmResolverOf(tflmModelOf(model).graph);
  const { plan } = await planTflmArena(model, board, { choice: opts.arenaChoice, libPath: opts.libPath, env: opts.env, onProgress: opts.onProgress });
  const sketch = generateTflmSketch(model, { ...opts, arena: plan });
  sketch.written = writeSketch(sketch.dir, sketch.files);
  return sketch;
}
