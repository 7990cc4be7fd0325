/**
 * A model file loaded once per command: its bytes, their hash and the imported graph travel
 * together, so no stage below a command reads the file again. A float model becomes int8 here
 * (with the user's --calib data) when the command runs int8 code.
 */
import { createHash } from 'node:crypto';
import { basename } from 'node:path';
import { UsageError } from '../errors.ts';
import type { Graph } from '../ir/graph.ts';
import { importModel, readModelBytes } from '../formats/load.ts';
import { isFloatGraph } from '../build/firmware.ts';
import { loadSamples } from '../quantize/calib-data.ts';
import { DEFAULT_QUANTIZE_OPTIONS, quantizeFloatGraph } from '../quantize/convert.ts';

export interface LoadedModel {
  /** The path the user gave. */
  path: string;
  /** File name, for comments and titles. */
  label: string;
  /** The file's bytes, read once. */
  bytes: Uint8Array;
  /** First 16 hex digits of the sha256 of `bytes`: TML_MODEL_HASH, the report's model_hash. */
  hash: string;
  /** The graph the command runs (int8 after loadInt8Model quantized a float model). */
  graph: Graph;
  /** True when --calib data quantized a float model on the way. */
  quantizedWithCalib: boolean;
}

export function modelHash(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex').slice(0, 16);
}

/** Reads and imports a model file. Throws FileError / InvalidModelError / UnsupportedError. */
export function loadModelFile(path: string): LoadedModel {
  const bytes = readModelBytes(path);
  return { path, label: basename(path), bytes, hash: modelHash(bytes), graph: importModel(bytes, path), quantizedWithCalib: false };
}

/**
 * A model ready for int8 code: an int8 model as it is, a float model quantized with the
 * calibration data in `calib` (post-training, the defaults of `tinyml convert`). A float model
 * without `calib` is a UsageError naming `what` needs int8.
 */
export function loadInt8Model(path: string, calib: string | undefined, what: string): LoadedModel & { calibIgnored: boolean } {
  const m = loadModelFile(path);
  if (!isFloatGraph(m.graph)) return { ...m, calibIgnored: calib !== undefined };
  if (!calib) throw new UsageError(`${path} is a float model and ${what} runs int8: pass --calib <data> (representative inputs) to quantize it on the way`);
  const graph = quantizeFloatGraph(m.graph, loadSamples(calib, m.graph), DEFAULT_QUANTIZE_OPTIONS).graph;
  return { ...m, graph, quantizedWithCalib: true, calibIgnored: false };
}
