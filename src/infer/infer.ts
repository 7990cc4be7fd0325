/**
 * One inference of a model on user-supplied input files, on a chosen engine. Returns the
 * outputs in the source model's layout (what the user expects) with their raw bytes written to
 * <out>/output_<j>.bin when an output folder is given. The command file only prints this.
 */
import { join } from 'node:path';
import { DataError, FileError, UsageError } from '../errors.ts';
import type { Graph, Quantization } from '../ir/graph.ts';
import { loadModel, readModelBytes } from '../formats/load.ts';
import { parseRuntime } from '../arduino/tflm-emulated.ts';
import { ensureWritableDir } from '../build/firmware.ts';
import { bytesOfTyped, writeDataFile } from '../data/npy.ts';
import { outputFromIr } from '../reference/layout.ts';
import type { TensorValue, TypedArray } from '../reference/tensor-value.ts';
import { DEFAULT_ENGINE_FOR, getEngine } from './engines.ts';
import { loadInput } from './inputs.ts';
import { emulatorEngine } from '../run/emulator-engine.ts';
import { emulatedBoard } from '../run/run.ts';

export interface InferOptions {
  /** Input files, one per model input, in the model's input order. */
  inputs: string[];
  /** Folder for output_<j>.bin files; nothing is written without it. */
  out?: string;
  /** Engine id (see ENGINES); default: 'reference' for int8 models, 'float' otherwise. */
  engine?: string;
  /** Board for --engine emulator (an emulated board id; default mps2-an386). */
  board?: string;
  /** --engine emulator: native (default) or tflm, and --tflm-lib. */
  runtime?: string;
  tflmLib?: string;
  /** The model file's bytes (the TFLM runtime embeds a .tflite unchanged). */
  modelBytes?: Uint8Array;
}

export interface InferOutput {
  index: number;
  name: string;
  dtype: string;
  /** Shape in the source model's layout. */
  shape: number[];
  data: TypedArray;
  /** Index of the largest element (flattened). */
  argmax: number;
  quant?: { scale: number[]; zeroPoint: number[] };
  /** The file written, when an output folder was given. */
  file?: string;
}

export interface InferResult {
  model: string;
  format: string;
  engine: string;
  inputs: { index: number; name: string; file: string; dtype: string; shape: number[] }[];
  outputs: InferOutput[];
  /** Conversions and importer warnings worth showing. */
  notes: string[];
}

export async function infer(modelPath: string, opts: InferOptions): Promise<InferResult> {
  const graph = loadModel(modelPath);
  return inferGraph(graph, modelPath, { ...opts, modelBytes: opts.runtime === 'tflm' ? readModelBytes(modelPath) : undefined });
}

/** As `infer`, for a graph already imported (eval and tests reuse it). */
export async function inferGraph(graph: Graph, modelName: string, opts: InferOptions): Promise<InferResult> {
  const engine = getEngine(opts.engine ?? DEFAULT_ENGINE_FOR(graph));
  if (opts.board !== undefined) {
    if (engine.id !== emulatorEngine.id) throw new UsageError(`--board selects the emulated board of --engine emulator, and the engine is ${engine.id}: add --engine emulator or drop --board`);
    emulatedBoard(opts.board); // unknown board, or one without an emulator: BoardError before any work
  }
  for (const [flag, v] of [['--runtime', opts.runtime], ['--tflm-lib', opts.tflmLib]] as const) {
    if (v !== undefined && engine.id !== emulatorEngine.id) throw new UsageError(`${flag} selects what --engine emulator builds, and the engine is ${engine.id}: add --engine emulator or drop ${flag}`);
  }
  const runtime = parseRuntime(opts.runtime);
  if (opts.tflmLib !== undefined && runtime !== 'tflm') throw new UsageError('--tflm-lib is for --runtime tflm: add --runtime tflm, or drop it');
  await engine.check(graph);
  if (opts.inputs.length !== graph.inputs.length) {
    const names = graph.inputs.map((gi) => `'${graph.tensors[gi.tensor]!.name}'`).join(', ');
    const Err = opts.inputs.length === 0 ? UsageError : DataError;
    throw new Err(`the model has ${graph.inputs.length} input(s) (${names}) but ${opts.inputs.length} --input file(s) were given: pass one --input per model input, in order`);
  }
  const notes = [...graph.warnings];
  const loaded = opts.inputs.map((file, i) => loadInput(file, graph, i));
  for (const l of loaded) notes.push(...l.notes);
  const emulatorOpts = engine.id === emulatorEngine.id ? { board: opts.board, runtime, tflmLib: opts.tflmLib, modelBytes: opts.modelBytes } : undefined;
  const result = await engine.run(graph, loaded.map((l) => l.value), emulatorOpts);

  if (opts.out) ensureWritableDir(opts.out);
  const outputs = result.outputs.map((irValue, j): InferOutput => {
    const go = graph.outputs[j]!;
    const t = graph.tensors[go.tensor]!;
    const v = outputFromIr(irValue, go);
    const out: InferOutput = { index: j, name: t.name, dtype: v.dtype, shape: [...v.shape], data: v.data, argmax: argmaxOf(v) };
    if (t.quant) out.quant = quantSummary(t.quant);
    if (opts.out) {
      out.file = join(opts.out, `output_${j}.bin`);
      writeDataFile(out.file, bytesOfTyped(v.data));
    }
    return out;
  });
  return {
    model: modelName,
    format: graph.format,
    engine: engine.id,
    inputs: loaded.map((l, i) => ({ index: i, name: graph.tensors[graph.inputs[i]!.tensor]!.name, file: opts.inputs[i]!, dtype: l.value.dtype, shape: l.userShape })),
    outputs,
    notes,
  };
}

function argmaxOf(v: TensorValue): number {
  let best = 0;
  const d = v.data as ArrayLike<number | bigint>;
  for (let i = 1; i < d.length; i++) if (d[i]! > d[best]!) best = i;
  return best;
}

function quantSummary(q: Quantization): { scale: number[]; zeroPoint: number[] } {
  return { scale: [...q.scale], zeroPoint: [...q.zeroPoint] };
}

/** JSON-safe numbers of a value (int64 as numbers; exact below 2^53). */
export function jsonValues(data: TypedArray): number[] {
  return Array.from(data as ArrayLike<number | bigint>, (x) => Number(x));
}
