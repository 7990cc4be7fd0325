/**
 * Which ops each backend runs, per op and dtype. Each backend keeps its own check in
 * src/backends/ops-<id>.ts, and that check is the backend's real one (the int8 reference's
 * Prepare, the native lowering, the float executor's op list and dtypes, the TFLM resolver
 * table), so `tinyml inspect` never claims a backend runs an op that `build` or `infer` then
 * refuses. This registry gathers them, and words the one-line refusal every stage gives: the op,
 * its dtype, its node, why, and only backends that do run it.
 */
import { UnsupportedError } from '../errors.ts';
import type { Graph, Op } from '../ir/graph.ts';
import { nativeCOps, nativeCRefusals } from './ops-native-c.ts';
import { referenceFloatOps, referenceFloatRefusals } from './ops-reference-float.ts';
import { referenceInt8Ops, referenceInt8Refusals } from './ops-reference-int8.ts';
import { tflmOps, tflmRefusals } from './ops-tflm.ts';

export type BackendId = 'reference-float' | 'reference-int8' | 'native-c' | 'tflm';

export interface BackendSupport {
  id: BackendId;
  name: string;
  /** How a user runs a model on this backend (for messages). */
  use: string;
  /** Op types the backend has a kernel for, in at least one dtype (its own table). */
  opTypes: ReadonlySet<string>;
  /** Why the backend cannot run each op of `graph` it refuses: op index -> one phrase. */
  refusals(graph: Graph): Map<number, string>;
}

export const BACKENDS: readonly BackendSupport[] = [
  { id: 'reference-float', name: 'the float reference', use: 'tinyml infer --engine float', opTypes: referenceFloatOps, refusals: referenceFloatRefusals },
  { id: 'reference-int8', name: 'the int8 reference', use: 'tinyml infer --engine reference', opTypes: referenceInt8Ops, refusals: referenceInt8Refusals },
  { id: 'native-c', name: 'the native C backend', use: 'tinyml build, or infer --engine native', opTypes: nativeCOps, refusals: nativeCRefusals },
  { id: 'tflm', name: 'TensorFlow Lite Micro', use: 'add --runtime tflm to build, run or deploy', opTypes: tflmOps, refusals: tflmRefusals },
];

export function getBackend(id: BackendId): BackendSupport {
  return BACKENDS.find((b) => b.id === id)!;
}

/**
 * The dtype an op computes in, as users name it: the dtype of its first non-constant input,
 * with `->out` when the output differs and for every QUANTIZE / DEQUANTIZE (int16->int8,
 * int8->int8, int8->float32).
 */
export function opDtype(graph: Graph, op: Op): string {
  const ins = op.inputs.filter((i) => i >= 0).map((i) => graph.tensors[i]!);
  const x = ins.find((t) => t.data === undefined || t.variable) ?? ins[0];
  const y = graph.tensors[op.outputs[0] ?? -1];
  if (x === undefined) return y?.dtype ?? 'unknown';
  // A (de)quantization always names both ends: int8->int8 is a requantization.
  const conversion = op.type === 'QUANTIZE' || op.type === 'DEQUANTIZE';
  return y !== undefined && (y.dtype !== x.dtype || conversion) ? `${x.dtype}->${y.dtype}` : x.dtype;
}

/** `SUB int16 (op #3, node "sub_out")`: the op as the user finds it in their model. */
export function describeOp(graph: Graph, op: Op): string {
  return `${op.type} ${opDtype(graph, op)} (op #${op.index}, node ${JSON.stringify(op.source.name)})`;
}

/** Every backend's refusals for one graph (each backend's check runs once). */
export function refusalsByBackend(graph: Graph): Map<BackendId, Map<number, string>> {
  return new Map(BACKENDS.map((b) => [b.id, b.refusals(graph)] as const));
}

function joinNames(names: string[]): string {
  return names.length <= 1 ? (names[0] ?? '') : `${names.slice(0, -1).join(', ')} and ${names[names.length - 1]}`;
}

/**
 * The one-line refusal of `id` for `graph`, or null when the backend runs every op. Names the
 * first op it refuses (type, dtype, node) and why, counts the others, then points only at
 * backends that do run the op: those that run the whole model first.
 */
export function refusalMessage(graph: Graph, id: BackendId, known?: Map<BackendId, Map<number, string>>): string | null {
  const mine = known?.get(id) ?? getBackend(id).refusals(graph);
  const first = mine.entries().next().value;
  if (first === undefined) return null;
  // The other backends are asked only when there is something to refuse.
  const all = known ?? new Map([...BACKENDS.map((b) => [b.id, b.id === id ? mine : b.refusals(graph)] as const)]);
  const [index, reason] = first;
  const op = graph.ops[index]!;
  let msg = `${getBackend(id).name} cannot run ${describeOp(graph, op)}: ${reason}`;
  if (mine.size > 1) {
    const others = [...new Set([...mine.keys()].slice(1).map((i) => `${graph.ops[i]!.type} ${opDtype(graph, graph.ops[i]!)}`))];
    msg += ` (and ${mine.size - 1} more op${mine.size > 2 ? 's' : ''}: ${others.slice(0, 4).join(', ')}${others.length > 4 ? ', ...' : ''})`;
  }
  const others = BACKENDS.filter((b) => b.id !== id);
  const whole = others.filter((b) => all.get(b.id)!.size === 0);
  if (whole.length > 0) {
    return `${msg}; ${joinNames(whole.map((b) => `${b.name} (${b.use})`))} run${whole.length === 1 ? 's' : ''} every op of this model`;
  }
  const forOp = others.filter((b) => !all.get(b.id)!.has(index));
  if (forOp.length > 0) {
    return `${msg}; ${joinNames(forOp.map((b) => b.name))} run${forOp.length === 1 ? 's' : ''} this op but no backend runs every op of this model yet (\`tinyml inspect\` lists what each one runs): replace the ops none runs`;
  }
  return `${msg}; no tinyml backend runs ${op.type} on ${opDtype(graph, op)} yet: replace it in the model`;
}

/** Throws UnsupportedError (exit 5) with refusalMessage when `id` cannot run every op of `graph`. */
export function assertBackendRuns(graph: Graph, id: BackendId): void {
  const msg = refusalMessage(graph, id);
  if (msg !== null) throw new UnsupportedError(msg);
}

/**
 * The refusal of an int8-only engine for a float model: quantize first, or, only when the float
 * engine runs every op of it, use the float engine.
 */
export function floatModelRefusal(engine: string, graph: Graph): UnsupportedError {
  const orFloat = getBackend('reference-float').refusals(graph).size === 0 ? ', or use --engine float' : '';
  return new UnsupportedError(`the ${engine} engine runs int8 models and this model is float: quantize it first with \`tinyml convert <model> --calib <data>\`${orFloat}`);
}
