/**
 * The engines `tinyml infer` (and later `eval`) can run a model on. Each engine takes inputs in
 * the IR layout and dtype and returns outputs the same way; layout conversion, file I/O and
 * printing live in infer.ts, so a new engine (a native host build, an emulator, a board) plugs
 * in by adding one entry to ENGINES.
 */
import { UnsupportedError, UsageError } from '../errors.ts';
import { assertBackendRuns, floatModelRefusal } from '../backends/support.ts';
import type { Graph } from '../ir/graph.ts';
import { runFloat, unsupportedFloatOps } from '../reference/float/index.ts';
import { runInt8 } from '../reference/int8/index.ts';
import type { RunOptions, RunResult, TensorValue } from '../reference/tensor-value.ts';
import { nativeEngine } from './engines-native.ts';
import { emulatorEngine } from '../run/emulator-engine.ts';

export interface InferenceEngine {
  /** The --engine value. */
  id: string;
  /** One line for --help and docs. */
  summary: string;
  /** Throws a typed error (naming the op and the fix) when the engine cannot run `graph`. */
  check(graph: Graph): void | Promise<void>;
  /** One inference: inputs in Graph.inputs order, IR layout and dtype. */
  run(graph: Graph, inputs: TensorValue[], opts?: EngineRunOptions): Promise<RunResult>;
}

export interface EngineRunOptions extends RunOptions {
  /** Board id for engines that run on a (emulated) board; the others ignore it. */
  board?: string;
}

/** True when the graph computes on quantized integer activations (an int8 model). */
export function isQuantizedGraph(graph: Graph): boolean {
  return graph.tensors.some((t) => t.data === undefined && !t.variable && (t.dtype === 'int8' || t.dtype === 'uint8' || t.dtype === 'int16') && t.quant !== undefined);
}

const floatEngine: InferenceEngine = {
  id: 'float',
  summary: 'float32 reference executor in TypeScript (float models, hybrid int8-weight models, ONNX QDQ/QLinear ops)',
  check(graph) {
    assertBackendRuns(graph, 'reference-float');
  },
  async run(graph, inputs, opts) {
    return runFloat(graph, inputs, opts);
  },
};

const referenceEngine: InferenceEngine = {
  id: 'reference',
  summary: 'int8 reference executor, bit-exact with TFLite Micro reference kernels (int8 models)',
  check(graph) {
    if (!isQuantizedGraph(graph)) throw floatModelRefusal('reference', graph);
    assertBackendRuns(graph, 'reference-int8');
  },
  async run(graph, inputs, opts) {
    return runInt8(graph, inputs, opts);
  },
};

export const ENGINES: readonly InferenceEngine[] = [floatEngine, referenceEngine, nativeEngine, emulatorEngine];

/**
 * The engine used without --engine: float whenever the float engine runs every op (float and
 * hybrid models, ONNX QDQ and QLinear graphs), else the int8 reference (int8 TFLite models).
 */
export const DEFAULT_ENGINE_FOR = (graph: Graph): string => (unsupportedFloatOps(graph).length === 0 ? 'float' : 'reference');

export function getEngine(id: string): InferenceEngine {
  const e = ENGINES.find((x) => x.id === id);
  if (!e) throw new UsageError(`unknown engine '${id}': use one of ${ENGINES.map((x) => x.id).join(', ')}`);
  return e;
}
