/**
 * The native C generator: graph -> memory plan -> lowered kernel calls -> C files rendered from
 * the handlebars templates in templates/native/. Pure: returns file contents, writes nothing.
 * The same graph and options always give byte-identical files (no dates, no paths, no maps
 * iterated in insertion order that could vary).
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import Handlebars from 'handlebars';
import { DataError } from '../../errors.ts';
import { elementCount, tensorBytes, type Graph, type Tensor } from '../../ir/graph.ts';
import { ARENA_ALIGNMENT, planMemory, type MemoryPlan } from '../../plan/memory.ts';
import { arrayBody, commentText, cString, floatLiteral, int32Literal, int64Literal } from './c-syntax.ts';
import { foldPadding } from './fold-pad.ts';
import { mergePoolRegions } from './merge-pool-regions.ts';
import { splitGroupedConvs } from './split-groups.ts';
import { lowerGraph, type LoweredModel } from './lower.ts';
import { chooseNative, type KernelSet } from './dsp.ts';
import { NATIVE_TEMPLATES_DIR } from '../../build/paths.ts';

export const TEMPLATE_DIR = NATIVE_TEMPLATES_DIR;

export interface GenerateOptions {
  /** Bytes of the model file: TML_MODEL_HASH is the first 16 hex digits of their sha256. */
  modelBytes?: Uint8Array;
  /** Shown in comments (escaped); e.g. the model's file name. */
  modelLabel?: string;
  /** Board facts for tml_build_info.h; a host build passes none. */
  board?: { id: string; clockHz: number; flashBytes: number; ramBytes: number };
  /** Raw bytes per model input to bake into tml_input.c; default: each input at its zero point. */
  bakedInputs?: Uint8Array[];
  /** Build options folded into TML_BUILD_ID (optimisation level, profile, ...). */
  buildOptions?: Record<string, string | number | boolean>;
  /**
   * Ops per generated function when the op list is long (more than GROUPED_DISPATCH_ABOVE ops):
   * tml_model_invoke() then runs the functions from a table. Tests set it to force the table.
   */
  opsPerGroup?: number;
  /** Called once the model is lowered, before any C text is rendered: a size check can refuse here. */
  beforeRender?: (lowered: LoweredModel, plan: MemoryPlan) => void;
  /** Kernel set the C is generated for (default portable; see dsp.ts). */
  kernels?: KernelSet;
  /** Fuse ops where the kernels allow (default true; off when every tensor must be traced). */
  fuse?: boolean;
  /** Flash bytes the constants may take (the dsp set's int16 weights fall back to int8 beyond it). */
  constBudget?: number;
}

/** Op lists longer than this are run from a table of functions of OPS_PER_GROUP ops each. */
export const GROUPED_DISPATCH_ABOVE = 256;
export const OPS_PER_GROUP = 64;

export interface GeneratedModel {
  /** File name -> contents: model.h, model.c, tml_input.h, tml_input.c, tml_build_info.h. */
  files: Record<string, string>;
  plan: MemoryPlan;
  lowered: LoweredModel;
  arenaBytes: number;
  weightBytes: number;
  modelHash: string;
  buildId: string;
  /** Bytes baked into tml_input.c. */
  bakedInputBytes: number;
}

const templateCache = new Map<string, Handlebars.TemplateDelegate>();

function template(name: string): Handlebars.TemplateDelegate {
  let t = templateCache.get(name);
  if (t === undefined) {
    t = Handlebars.compile(readFileSync(resolve(TEMPLATE_DIR, name), 'utf8'), { noEscape: true, strict: true });
    templateCache.set(name, t);
  }
  return t;
}

function sha256(data: Uint8Array | string): string {
  return createHash('sha256').update(data).digest('hex');
}

function formatterFor(ctype: string): (v: number) => string {
  if (ctype === 'uint32_t') return (v) => `0x${v.toString(16).padStart(8, '0')}u`;
  return ctype === 'float' ? floatLiteral : ctype === 'int32_t' ? int32Literal : ctype === 'int64_t' ? int64Literal : String;
}

function tensorInfo(t: Tensor, role: 'input' | 'output', index: number) {
  const q = t.quant;
  return {
    role,
    upperRole: role.toUpperCase(),
    index,
    description: `tensor #${t.index} "${commentText(t.name, 80)}", [${t.shape.join(', ')}] ${t.dtype}`,
    dtype: t.dtype,
    rank: t.shape.length,
    shapeList: t.shape.join(', '),
    elements: elementCount(t.shape),
    bytes: tensorBytes(t),
    scale: q && q.scale.length > 0 ? floatLiteral(q.scale[0]!) : '0.0f /* not quantized */',
    zeroPoint: q?.zeroPoint[0] ?? 0,
  };
}

/** The bytes of an input filled with its zero point (or zeros for float inputs). */
export function zeroPointInput(t: Tensor): Uint8Array {
  const bytes = new Uint8Array(tensorBytes(t));
  const zp = t.quant?.zeroPoint[0] ?? 0;
  if (zp !== 0) {
    const view = new DataView(bytes.buffer);
    const n = elementCount(t.shape);
    for (let i = 0; i < n; i++) {
      if (t.dtype === 'int8' || t.dtype === 'uint8') view.setInt8(i, zp);
      else if (t.dtype === 'int16') view.setInt16(2 * i, zp, true);
      else if (t.dtype === 'int32') view.setInt32(4 * i, zp, true);
    }
  }
  return bytes;
}

/** The arena tensors op `i` writes: its outputs, and state tensors it updates (SVDF). */
function tracedTensors(graph: Graph, plan: MemoryPlan, i: number): { tensor: number; offset: number; bytes: number }[] {
  const op = graph.ops[i]!;
  const written = [...op.outputs, ...op.inputs.filter((t) => t >= 0 && graph.tensors[t]!.variable)];
  return written
    .filter((t) => plan.tensorOffset.has(t))
    .map((t) => ({ tensor: t, offset: plan.tensorOffset.get(t)!, bytes: tensorBytes(graph.tensors[t]!) }));
}

export function generateNative(model: Graph, opts: GenerateOptions = {}): GeneratedModel {
  // Explicit padding runs inside the conv/pool kernels (fold-pad.ts), an average pool written as
  // regions is one pool again (merge-pool-regions.ts), a grouped conv runs as one conv per group
  // (split-groups.ts).
  const graph = splitGroupedConvs(mergePoolRegions(foldPadding(model)));
  const strategy = chooseNative(graph, { kernels: opts.kernels, fuse: opts.fuse, constBudget: opts.constBudget });
  const plan = planMemory(graph, ARENA_ALIGNMENT, strategy.request);
  const lowered = lowerGraph(graph, plan, strategy);
  opts.beforeRender?.(lowered, plan);
  const modelHash = sha256(opts.modelBytes ?? JSON.stringify(graph.ops.map((o) => o.type))).slice(0, 16);
  const label = commentText(opts.modelLabel ?? 'model', 80);
  const inputs = graph.inputs.map((i, k) => tensorInfo(graph.tensors[i.tensor]!, 'input', k));
  const outputs = graph.outputs.map((o, k) => tensorInfo(graph.tensors[o.tensor]!, 'output', k));
  const offsetOf = (t: number) => plan.tensorOffset.get(t) ?? 0;
  const common = {
    modelHash,
    modelLabel: label,
    arenaBytes: plan.arenaBytes,
    weightBytes: lowered.constBytes,
  };

  const modelH = template('model.h.hbs')({
    ...common,
    numInputs: graph.inputs.length,
    numOutputs: graph.outputs.length,
    numOps: graph.ops.length,
    tensors: [...inputs, ...outputs],
  });

  // Variable tensors start at their zero point, as TFLite Micro's ResetVariableTensors does.
  const stateInits: string[] = [];
  for (const b of plan.buffers) {
    if (!b.persistent) continue;
    const t = graph.tensors[b.tensors[0]!]!;
    const zp = t.quant?.zeroPoint[0] ?? 0;
    if (t.dtype === 'int8' && zp !== 0) stateInits.push(`memset(tml_arena + ${b.offset}, ${zp}, ${b.bytes}u); /* state tensor #${t.index} at its zero point */`);
  }
  const slots = (xs: number[]) => (xs.length === 0 ? '0' : xs.join(', '));
  const ops = lowered.ops.map((o) => ({
    ...o,
    traced: tracedTensors(graph, plan, o.index),
    typeLiteral: cString(o.type),
    nodeComment: commentText(o.nodeName),
    typeComment: commentText(o.type),
    shapesComment: commentText(o.shapes, 200),
  }));
  const opsPerGroup = Math.max(1, Math.floor(opts.opsPerGroup ?? OPS_PER_GROUP));
  const grouped = opts.opsPerGroup !== undefined || ops.length > GROUPED_DISPATCH_ABOVE;
  const groups = grouped
    ? Array.from({ length: Math.ceil(ops.length / opsPerGroup) }, (_, g) => ({ index: g, ops: ops.slice(g * opsPerGroup, (g + 1) * opsPerGroup) }))
    : null;
  const modelC = template('model.c.hbs')({
    ...common,
    planStrategy: plan.strategy,
    arenaAlloc: Math.max(plan.arenaBytes, 16),
    arenaTensors: [
      ...[...plan.tensorOffset.entries()].map(([ti, off]) => {
        const t = graph.tensors[ti]!;
        return { off, key: ti, text: `[${off}, ${off + tensorBytes(t)}) tensor #${ti} "${commentText(t.name, 80)}", [${t.shape.join(',')}] ${t.dtype}` };
      }),
      ...plan.buffers
        .filter((b) => b.scratchFor !== undefined)
        .map((b) => ({ off: b.offset, key: 1e9 + b.scratchFor!, text: `[${b.offset}, ${b.offset + b.bytes}) scratch of op ${b.scratchFor}` })),
    ]
      .sort((a, b) => a.off - b.off || a.key - b.key)
      .map((e) => e.text),
    consts: lowered.consts.map((c) => ({
      name: c.name,
      ctype: c.ctype,
      length: Math.max(c.values.length, 1),
      what: commentText(c.what),
      body: c.values.length === 0 ? '  0' : arrayBody(c.values, c.ctype === 'int8_t' ? 16 : 8, formatterFor(c.ctype)),
    })),
    ops,
    groups,
    opsPerGroup,
    stateInits,
    inputSlots: Math.max(graph.inputs.length, 1),
    outputSlots: Math.max(graph.outputs.length, 1),
    inputOffsets: slots(graph.inputs.map((i) => offsetOf(i.tensor))),
    inputSizes: slots(inputs.map((i) => i.bytes)),
    outputOffsets: slots(graph.outputs.map((o) => offsetOf(o.tensor))),
    outputSizes: slots(outputs.map((o) => o.bytes)),
  });

  const baked = graph.inputs.map((inp, k) => {
    const t = graph.tensors[inp.tensor]!;
    const given = opts.bakedInputs?.[k];
    if (given !== undefined && given.length !== tensorBytes(t)) {
      throw new DataError(
        `input ${k} has ${given.length} bytes but the model's input ${k} is [${t.shape.join(', ')}] ${t.dtype} (${tensorBytes(t)} bytes): pass a file of exactly that size`,
      );
    }
    return given ?? zeroPointInput(t);
  });
  const inputH = template('tml_input.h.hbs')({ count: baked.length });
  const inputC = template('tml_input.c.hbs')({
    source: opts.bakedInputs ? 'from --input files' : 'every input at its zero point',
    inputs: baked.map((b, k) => ({ index: k, bytes: Math.max(b.length, 1), body: b.length ? arrayBody(b, 16) : '  0' })),
    slots: Math.max(baked.length, 1),
    pointers: baked.length ? baked.map((_, k) => `tml_baked_input_${k}`).join(', ') : '0',
    sizes: baked.length ? baked.map((b) => b.length).join(', ') : '0',
  });

  const files: Record<string, string> = {
    'model.h': modelH,
    'model.c': modelC,
    'tml_input.h': inputH,
    'tml_input.c': inputC,
  };
  const board = opts.board ?? { id: 'host', clockHz: 0, flashBytes: 0, ramBytes: 0 };
  const options = Object.keys(opts.buildOptions ?? {})
    .sort()
    .map((k) => `${k}=${String(opts.buildOptions![k])}`)
    .join(';');
  const buildId = sha256(
    [...Object.keys(files).sort().map((k) => `${k}\n${files[k]}`), `board=${board.id}`, options].join('\n---\n'),
  ).slice(0, 16);
  files['tml_build_info.h'] = template('tml_build_info.h.hbs')({
    boardIdLiteral: cString(board.id),
    clockHz: board.clockHz,
    buildId,
    flashBytes: board.flashBytes,
    ramBytes: board.ramBytes,
  });
  const bakedInputBytes = baked.reduce((s, b) => s + b.length, 0);
  return { files, plan, lowered, arenaBytes: plan.arenaBytes, weightBytes: lowered.constBytes, modelHash, buildId, bakedInputBytes };
}
