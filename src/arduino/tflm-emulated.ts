/**
 * `--runtime tflm` on an emulated board (run, deploy, infer --engine emulator, eval --device,
 * bench, build): the model's TFLM sketch built with tinyml's bare-metal Arduino core and the
 * pinned library (found with --tflm-lib, TINYML_TFLM_LIB or the Arduino libraries folder), its
 * arena measured first (cached). Everything that can be refused is refused before compiling:
 * no library (exit 9), an op or dtype the library cannot run (exit 5), a board without a
 * bare-metal platform (exit 7).
 */
import { basename } from 'node:path';
import type { Graph } from '../ir/graph.ts';
import { isQuantizedGraph, type OptLevel } from '../build/firmware.ts';
import { UnsupportedError, UsageError } from '../errors.ts';
import { findTflmLibrary, type TflmLibrary } from './tflm-library.ts';
import { buildTflmFirmware, coreBoard, type TflmFirmwareBuild } from './tflm-firmware.ts';
import { planTflmArena, type ArenaChoice } from './tflm-arena-plan.ts';
import { loadInt8Model, sha256Hex, type Int8Model } from './sketch-common.ts';
import { tflmModelOf, tflmResolverOf } from './sketch-tflm.ts';
import type { ArenaMeasurement } from './arena-measure.ts';

export type Runtime = 'native' | 'tflm';

/** Parses --runtime for the emulated boards. */
export function parseRuntime(v: string | undefined): Runtime {
  if (v === undefined || v === 'native') return 'native';
  if (v === 'tflm') return 'tflm';
  throw new UsageError(`--runtime must be native or tflm, not '${v}'`);
}

export interface TflmEmulatedOptions {
  /** The model file, or a graph already in memory (with the bytes it came from, for the hash). */
  modelPath?: string;
  graph?: Graph;
  modelBytes?: Uint8Array;
  label?: string;
  board: string;
  outDir: string;
  inputs?: Uint8Array[];
  runs?: number;
  optimize?: OptLevel;
  /** --tflm-lib. */
  tflmLib?: string;
  arena?: ArenaChoice;
  env?: NodeJS.ProcessEnv;
  onProgress?: (message: string) => void;
}

export interface TflmEmulatedBuild extends TflmFirmwareBuild {
  measurement: (ArenaMeasurement & { cached: boolean }) | null;
}

/** The int8 model of a graph in memory (a float graph is refused: quantize it first). */
export function int8ModelOfGraph(graph: Graph, modelBytes: Uint8Array | undefined, label: string): Int8Model {
  if (!isQuantizedGraph(graph)) {
    throw new UnsupportedError('TensorFlow Lite Micro firmware runs int8 models and this model is float: quantize it first with `tinyml convert <model> --calib <data>`');
  }
  const bytes = modelBytes ?? new Uint8Array();
  return { graph, modelBytes: bytes, modelHash: sha256Hex(bytes).slice(0, 16), quantized: false, label };
}

/** The pinned library, found as the options say. */
export function tflmLibraryFor(opts: Pick<TflmEmulatedOptions, 'tflmLib' | 'env'>): TflmLibrary {
  return findTflmLibrary({ path: opts.tflmLib, env: opts.env });
}

export async function buildTflmForEmulator(opts: TflmEmulatedOptions): Promise<TflmEmulatedBuild> {
  const board = coreBoard(opts.board);
  const model = opts.graph
    ? int8ModelOfGraph(opts.graph, opts.modelBytes, opts.label ?? 'model')
    : loadInt8Model(opts.modelPath!, undefined);
  if (opts.graph && opts.modelPath && !opts.label) model.label = basename(opts.modelPath);
  tflmResolverOf(tflmModelOf(model).graph);
  const lib = tflmLibraryFor(opts);
  const { plan, measurement } = await planTflmArena(model, board, { choice: opts.arena, lib, env: opts.env, onProgress: opts.onProgress });
  const build = await buildTflmFirmware({
    model,
    board: board.id,
    outDir: opts.outDir,
    inputs: opts.inputs,
    runs: opts.runs,
    optimize: opts.optimize,
    lib,
    arena: plan,
    onProgress: opts.onProgress,
  });
  return { ...build, measurement };
}
