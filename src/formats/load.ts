/**
 * Reads a model file and hands it to the importer for its format. Format detection looks at
 * the bytes first (TFLite's `TFL3` file identifier) and the extension second, so a renamed
 * file still imports and random bytes get a clear message instead of a parser crash.
 */
import { readFileSync, statSync } from 'node:fs';
import { extname } from 'node:path';
import { FileError, InvalidModelError } from '../errors.ts';
import type { Graph, ModelFormat } from '../ir/graph.ts';
import { importTflite } from './tflite/import.ts';
import { importOnnx } from './onnx/import.ts';
import { checkDataflow } from '../ir/validate.ts';

/** Largest model file we read (a Cortex-M has at most a few MiB of flash). */
export const MAX_MODEL_BYTES = 512 * 1024 * 1024;

export function readModelBytes(path: string): Uint8Array {
  let size: number;
  try {
    const st = statSync(path);
    if (st.isDirectory()) throw new FileError(`${path} is a folder, not a model file: pass the .tflite or .onnx file inside it`);
    size = st.size;
  } catch (e) {
    if (e instanceof FileError) throw e;
    throw new FileError(`model file ${path} not found: check the path`);
  }
  if (size === 0) throw new InvalidModelError(`${path} is empty (0 bytes): re-export or re-download the model`);
  if (size > MAX_MODEL_BYTES) throw new InvalidModelError(`${path} is ${size} bytes, larger than any microcontroller model (limit ${MAX_MODEL_BYTES}): pass the right file`);
  try {
    return new Uint8Array(readFileSync(path));
  } catch {
    throw new FileError(`cannot read ${path}: check its permissions`);
  }
}

export function detectFormat(bytes: Uint8Array, path: string): ModelFormat {
  const ident = bytes.length >= 8 ? String.fromCharCode(bytes[4]!, bytes[5]!, bytes[6]!, bytes[7]!) : '';
  if (ident === 'TFL3') return 'tflite';
  const ext = extname(path).toLowerCase();
  if (ext === '.tflite' || ext === '.lite') return 'tflite';
  if (ext === '.onnx' || ext === '.pb') return 'onnx';
  throw new InvalidModelError(`${path} is neither a TFLite flatbuffer (no TFL3 identifier) nor named .onnx: pass a .tflite or .onnx model`);
}

/** Imports a model from bytes already in memory; `name` is used in messages and for detection. */
export function importModel(bytes: Uint8Array, name: string): Graph {
  if (bytes.length === 0) throw new InvalidModelError(`${name} is empty (0 bytes): re-export or re-download the model`);
  const format = detectFormat(bytes, name);
  const graph = format === 'tflite' ? importTflite(bytes, name) : importOnnx(bytes, name);
  // Every command sees the same verdict on a graph no stage could run (exit 4).
  checkDataflow(graph, name);
  return graph;
}

export function loadModel(path: string): Graph {
  return importModel(readModelBytes(path), path);
}
