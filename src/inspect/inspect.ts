/**
 * `tinyml inspect`: everything knowable about a model without running it. Returns data only;
 * src/cli/commands/inspect.ts prints it. A board fit check reports (it never throws
 * DoesNotFitError: inspect is for looking, `build` is where a budget fails the run).
 */
import { statSync } from 'node:fs';
import { isConstant, type Graph, type Quantization, type Tensor } from '../ir/graph.ts';
import { isKnownOp } from '../ir/ops.ts';
import { loadModel } from '../formats/load.ts';
import { getBoard, type Board } from '../boards/registry.ts';
import { BACKENDS, opDtype, refusalsByBackend, type BackendId } from '../backends/support.ts';
import { activationEstimate, constantTotals, opMacs, opWeightBytes } from './metrics.ts';

export interface TensorInfo {
  index: number;
  name: string;
  shape: number[];
  dtype: string;
  constant: boolean;
  /** Human summary: `scale=0.5 zp=-128`, `per-channel(64)`, or null when not quantized. */
  quant: string | null;
  /** Full parameters for machines; absent when not quantized. */
  quantization?: { scale: number[]; zeroPoint: number[]; axis: number };
  /**
   * Graph inputs/outputs the model declares in another layout (ONNX NCHW / NCW): the declared
   * shape and layout, which data passed to infer/eval/convert must have, and the IR's layout.
   */
  declared?: { shape: number[]; layout: string; irLayout: string };
}

export interface OpInfo {
  index: number;
  type: string;
  known: boolean;
  version: number;
  /** Source op type and node name (TFLite: the first output's tensor name). */
  sourceOpType: string;
  sourceName: string;
  inputs: (TensorInfo | null)[];
  outputs: TensorInfo[];
  macs: number;
  weightBytes: number;
}

export interface OpSetEntry {
  type: string;
  /** The dtype the ops compute in (src/backends/support.ts opDtype: `int8`, `int16->int8`). */
  dtype: string;
  count: number;
  known: boolean;
  /** Backend id -> whether that backend runs every op of this type and dtype in the model. */
  backends: Record<BackendId, boolean>;
}

/** An op a backend refuses, with the backend's own reason. */
export interface BackendRefusal {
  op: number;
  type: string;
  dtype: string;
  node: string;
  reason: string;
}

export interface MemoryFit {
  /** What is counted: weights against flash, the activation estimate against RAM. */
  usedBytes: number;
  availableBytes: number;
  percent: number;
  fits: boolean;
  /** Bytes over the available amount (0 when it fits). */
  excessBytes: number;
}

export interface BoardFit {
  board: { id: string; name: string };
  flash: MemoryFit;
  ram: MemoryFit;
  fits: boolean;
  note: string;
}

export interface InspectReport {
  model: { path: string; format: string; fileBytes: number | null; meta: Record<string, string | number>; warnings: string[] };
  inputs: TensorInfo[];
  outputs: TensorInfo[];
  ops: OpInfo[];
  totals: {
    ops: number;
    parameters: number;
    macs: number;
    weightBytes: number;
    activationBytes: number;
    activationPeakOp: number;
  };
  opSet: OpSetEntry[];
  unknownOps: string[];
  /** Per backend: the op types it refuses somewhere in the model, and each refused op with why. */
  backends: { id: BackendId; name: string; unsupportedOps: string[]; refused: BackendRefusal[] }[];
  fit: BoardFit | null;
}

export function describeQuant(q: Quantization | undefined): string | null {
  if (!q || q.scale.length === 0) return null;
  if (q.scale.length > 1) return `per-channel(${q.scale.length})`;
  return `scale=${formatScale(q.scale[0]!)} zp=${q.zeroPoint[0] ?? 0}`;
}

function formatScale(s: number): string {
  return Number(s.toPrecision(6)).toString();
}

function tensorInfo(t: Tensor): TensorInfo {
  const info: TensorInfo = { index: t.index, name: t.name, shape: [...t.shape], dtype: t.dtype, constant: isConstant(t), quant: describeQuant(t.quant) };
  if (t.quant && t.quant.scale.length > 0) info.quantization = { scale: [...t.quant.scale], zeroPoint: [...t.quant.zeroPoint], axis: t.quant.axis };
  return info;
}

/** Layout names of a source layout permutation (irShape[i] = sourceShape[perm[i]]). */
function layoutNames(perm: readonly number[]): { layout: string; irLayout: string } {
  const key = perm.join(',');
  if (key === '0,2,3,1') return { layout: 'NCHW', irLayout: 'NHWC' };
  if (key === '0,2,1') return { layout: 'NCW', irLayout: 'NWC' };
  return { layout: `source axes [${perm.map((_, i) => i).join(',')}]`, irLayout: `source axes [${perm.join(',')}]` };
}

function ioInfo(graph: Graph, tensor: number, sourceLayout?: { shape: number[]; perm: number[] }): TensorInfo {
  const info = tensorInfo(graph.tensors[tensor]!);
  if (sourceLayout) info.declared = { shape: [...sourceLayout.shape], ...layoutNames(sourceLayout.perm) };
  return info;
}

function memoryFit(used: number, available: number): MemoryFit {
  return {
    usedBytes: used,
    availableBytes: available,
    percent: Math.round((used / available) * 1000) / 10,
    fits: used <= available,
    excessBytes: Math.max(0, used - available),
  };
}

export function boardFit(board: Board, weightBytes: number, activationBytes: number): BoardFit {
  const flash = memoryFit(weightBytes, board.usable.flash_bytes);
  const ram = memoryFit(activationBytes, board.usable.ram_bytes);
  return {
    board: { id: board.id, name: board.name },
    flash,
    ram,
    fits: flash.fits && ram.fits,
    note: 'weights vs usable flash and the activation estimate vs usable RAM; the firmware code, stack and runtime come on top',
  };
}

/** Builds the report for a graph already imported. */
export function inspectGraph(graph: Graph, opts: { path: string; fileBytes?: number | null; board?: Board | null }): InspectReport {
  const ops: OpInfo[] = graph.ops.map((op) => ({
    index: op.index,
    type: op.type,
    known: isKnownOp(op.type),
    version: op.version,
    sourceOpType: op.source.opType,
    sourceName: op.source.name,
    inputs: op.inputs.map((i) => (i >= 0 && graph.tensors[i] ? tensorInfo(graph.tensors[i]!) : null)),
    outputs: op.outputs.filter((i) => graph.tensors[i]).map((i) => tensorInfo(graph.tensors[i]!)),
    macs: opMacs(graph, op),
    weightBytes: opWeightBytes(graph, op),
  }));

  // Each backend's own per-op check (the same one build / infer run), once per backend.
  const refusals = refusalsByBackend(graph);
  const opSet: OpSetEntry[] = [];
  for (const op of graph.ops) {
    const dtype = opDtype(graph, op);
    let entry = opSet.find((e) => e.type === op.type && e.dtype === dtype);
    if (!entry) {
      const backends = Object.fromEntries(BACKENDS.map((b) => [b.id, true])) as Record<BackendId, boolean>;
      entry = { type: op.type, dtype, count: 0, known: isKnownOp(op.type), backends };
      opSet.push(entry);
    }
    entry.count++;
    for (const b of BACKENDS) if (refusals.get(b.id)!.has(op.index)) entry.backends[b.id] = false;
  }
  const backendReport = BACKENDS.map((b) => {
    const refused: BackendRefusal[] = [...refusals.get(b.id)!].map(([i, reason]) => {
      const op = graph.ops[i]!;
      return { op: i, type: op.type, dtype: opDtype(graph, op), node: op.source.name, reason };
    });
    return { id: b.id, name: b.name, unsupportedOps: [...new Set(refused.map((r) => r.type))], refused };
  });

  const { parameters, weightBytes } = constantTotals(graph);
  const activation = activationEstimate(graph);
  return {
    model: { path: opts.path, format: graph.format, fileBytes: opts.fileBytes ?? null, meta: { ...graph.meta }, warnings: [...graph.warnings] },
    inputs: graph.inputs.map((i) => ioInfo(graph, i.tensor, i.sourceLayout)),
    outputs: graph.outputs.map((o) => ioInfo(graph, o.tensor, o.sourceLayout)),
    ops,
    totals: {
      ops: ops.length,
      parameters,
      macs: ops.reduce((s, o) => s + o.macs, 0),
      weightBytes,
      activationBytes: activation.peakBytes,
      activationPeakOp: activation.peakOp,
    },
    opSet,
    unknownOps: [...new Set(opSet.filter((e) => !e.known).map((e) => e.type))],
    backends: backendReport,
    fit: opts.board ? boardFit(opts.board, weightBytes, activation.peakBytes) : null,
  };
}

/** Loads a model file and inspects it; the board (if any) is resolved first so a typo fails fast. */
export function inspectModel(path: string, opts: { boardId?: string } = {}): InspectReport {
  const board = opts.boardId !== undefined ? getBoard(opts.boardId) : null;
  const graph = loadModel(path);
  let fileBytes: number | null = null;
  try {
    fileBytes = statSync(path).size;
  } catch {
    fileBytes = null;
  }
  return inspectGraph(graph, { path, fileBytes, board });
}
