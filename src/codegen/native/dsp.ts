/**
 * The dsp kernel set's side of the native generator (kernels: firmware/include/tml_kernels_dsp.h).
 *
 * chooseNative() looks at the graph once, before the memory plan, and decides per op: which
 * kernel runs it (a dsp kernel when its exactness conditions hold, else the portable one),
 * which ops are fused into the op before them (a CONV_2D whose only reader is the next ADD; a
 * CONV_2D streamed row by row into the FULLY_CONNECTED that reads it), what may run in place
 * and how much scratch each kernel needs. Those wishes go to planMemory() as a PlanRequest;
 * after planning, lowerDsp() emits the C for each dsp op from the plan it got (an in-place wish
 * the planner refused is simply run out of place).
 *
 * Every number is computed as TFLite Micro's Prepare() computes it (src/reference/fixedpoint.ts),
 * then transformed exactly (tml_requant.h, pack.ts), so the C stays bit-exact.
 */
import { elementCount, isConstant, tensorBytes, type Graph, type Op, type Tensor } from '../../ir/graph.ts';
import { activationRangeQuantized, quantizeMultiplier } from '../../reference/fixedpoint.ts';
import { addParams } from '../../reference/int8/params.ts';
import { ARENA_ALIGNMENT, planMemory, type InPlace, type MemoryPlan, type PlanRequest } from '../../plan/memory.ts';
import {
  accumulatorBound,
  addLut,
  fastRequant,
  kLength,
  maxAbs,
  packConvWeights,
  pair,
} from './pack.ts';

/** Kernel sets: `portable` C99 kernels (any core), `dsp` (Armv7E-M DSP instructions). */
export type KernelSet = 'portable' | 'dsp';
export const KERNEL_SETS: readonly KernelSet[] = ['portable', 'dsp'];

/** How the generator may execute the graph. */
export interface NativeOptions {
  kernels?: KernelSet;
  /** Fuse ops (conv + ADD, conv streamed into FULLY_CONNECTED). Off for tracing every tensor. */
  fuse?: boolean;
  /**
   * Bytes of flash the model's constants may take. The dsp set stores weights as int16 (twice
   * the int8 bytes); ops whose widened weights would not fit keep their portable kernel
   * (largest first), so a model that fits with int8 weights still builds.
   */
  constBudget?: number;
}

interface ConvInfo {
  op: Op;
  x: Tensor;
  w: Tensor;
  y: Tensor;
  batches: number;
  inH: number;
  inW: number;
  inC: number;
  outH: number;
  outW: number;
  outC: number;
  kH: number;
  kW: number;
  strideH: number;
  strideW: number;
  dilH: number;
  dilW: number;
  padTop: number;
  padLeft: number;
  /** [outC][kH][kW][inC] (a FULLY_CONNECTED is [units][1][1][depth]). */
  filter: Int8Array;
  /** Model bias + input_offset * sum of each channel's weights (not doubled). */
  folded: Int32Array;
  inputOffset: number;
  zpOut: number;
  actMin: number;
  actMax: number;
  perChannel: boolean;
  /** tml_rq entries, flattened. */
  rq: Int32Array;
  depthwise: boolean;
  fc: boolean;
}

export type OpChoice =
  | {
      kind: 'conv';
      info: ConvInfo;
      im2col: boolean;
      /** Widen each window to int16 once (scratch 2 k_len bytes more), for fewer instructions per MAC. */
      x16: boolean;
      /** Scratch bytes of the conv kernel itself (im2col window, widened window, pixel copy). */
      convScratch: number;
      /** All scratch of the op: with a streamed FULLY_CONNECTED, its sums and the row buffer first. */
      scratch: number;
      add?: AddInfo & { op: number; other: number; conv: number };
      stream?: StreamInfo;
    }
  | { kind: 'dw'; info: ConvInfo; scratch: number }
  | { kind: 'add'; add: AddInfo }
  | { kind: 'avgpool' }
  | { kind: 'fused'; into: number };

interface AddInfo {
  /** LUTs of input 1 and input 2 of the ADD. */
  lut1: Int32Array;
  lut2: Int32Array;
  rq: Int32Array;
  actMin: number;
  actMax: number;
}

interface StreamInfo {
  fc: ConvInfo;
  fcOp: number;
  rowBytes: number;
}

export interface NativeStrategy {
  kernels: KernelSet;
  /** Ops the dsp set runs (and ops fused into them); every other op gets its portable kernel. */
  choices: Map<number, OpChoice>;
  /** What planMemory() gets; request.order is also the order the ops are emitted in. */
  request: PlanRequest;
}

function scaleOf(t: Tensor): number | undefined {
  const s = t.quant?.scale[0];
  return s === undefined ? undefined : Math.fround(s);
}

function zpOf(t: Tensor): number {
  return t.quant?.zeroPoint[0] ?? 0;
}

function int8Of(t: Tensor): Int8Array {
  return new Int8Array(new Uint8Array(t.data!.subarray(0, tensorBytes(t))).buffer);
}

function int32Of(t: Tensor): Int32Array {
  return new Int32Array(new Uint8Array(t.data!.subarray(0, tensorBytes(t))).buffer);
}

function num(op: Op, key: string, fallback: number): number {
  const v = op.attrs[key];
  return typeof v === 'number' ? v : fallback;
}

function activation(op: Op): string {
  const a = op.attrs['fusedActivation'];
  return typeof a === 'string' ? a : 'NONE';
}

const ACTIVATIONS = new Set(['NONE', 'RELU', 'RELU6', 'RELU_N1_TO_1']);

/** The numbers of an int8 CONV_2D, DEPTHWISE_CONV_2D or FULLY_CONNECTED, or undefined if the dsp set cannot run it. */
function convInfo(graph: Graph, op: Op): ConvInfo | undefined {
  const t = (i: number | undefined) => (i === undefined || i < 0 ? undefined : graph.tensors[i]);
  const x = t(op.inputs[0]);
  const w = t(op.inputs[1]);
  const y = t(op.outputs[0]);
  const b = t(op.inputs[2]);
  if (!x || !w || !y || x.dtype !== 'int8' || w.dtype !== 'int8' || y.dtype !== 'int8' || !isConstant(w)) return undefined;
  if (b && (b.dtype !== 'int32' || !isConstant(b))) return undefined;
  if (!ACTIVATIONS.has(activation(op))) return undefined;
  const xs = scaleOf(x);
  const ys = scaleOf(y);
  if (xs === undefined || ys === undefined) return undefined;
  const wScales = w.quant?.scale ?? [];
  if ((w.quant?.zeroPoint ?? [0]).some((z) => z !== 0)) return undefined;
  const fc = op.type === 'FULLY_CONNECTED';
  const depthwise = op.type === 'DEPTHWISE_CONV_2D';
  let dims: Omit<ConvInfo, 'op' | 'x' | 'w' | 'y' | 'filter' | 'folded' | 'inputOffset' | 'zpOut' | 'actMin' | 'actMax' | 'perChannel' | 'rq' | 'depthwise' | 'fc'>;
  let filter = int8Of(w);
  if (fc) {
    if (w.shape.length !== 2) return undefined;
    const [units, depth] = w.shape as [number, number];
    const batches = elementCount(y.shape) / units;
    if (!Number.isInteger(batches) || elementCount(x.shape) !== batches * depth) return undefined;
    dims = { batches, inH: 1, inW: 1, inC: depth, outH: 1, outW: 1, outC: units, kH: 1, kW: 1, strideH: 1, strideW: 1, dilH: 1, dilW: 1, padTop: 0, padLeft: 0 };
  } else {
    if (x.shape.length !== 4 || y.shape.length !== 4 || w.shape.length !== 4) return undefined;
    const [batches, inH, inW, inC] = x.shape as [number, number, number, number];
    const [, outH, outW, outC] = y.shape as [number, number, number, number];
    const kH = w.shape[1]!;
    const kW = w.shape[2]!;
    if (depthwise) {
      // Depth multiplier 1, or a single input channel (then an ordinary convolution).
      if (w.shape[3] !== outC || (outC !== inC && inC !== 1)) return undefined;
    } else if (num(op, 'groups', 1) !== 1 || w.shape[3] !== inC || w.shape[0] !== outC) {
      return undefined;
    }
    const pads = Array.isArray(op.attrs['pads']) ? (op.attrs['pads'] as number[]) : [0, 0, 0, 0];
    dims = {
      batches, inH, inW, inC, outH, outW, outC, kH, kW,
      strideH: num(op, 'strideH', 1), strideW: num(op, 'strideW', 1), dilH: num(op, 'dilationH', 1), dilW: num(op, 'dilationW', 1),
      padTop: pads[0] ?? 0, padLeft: pads[1] ?? 0,
    };
  }
  const channels = dims.outC;
  if (wScales.length !== 1 && wScales.length !== channels) return undefined;
  const perChannel = wScales.length > 1;
  const k = depthwise ? dims.kH * dims.kW : dims.kH * dims.kW * dims.inC;
  // Weights as [channel][k]; depthwise filters are stored [1][kH][kW][C]. For one input channel
  // this is exactly the filter [C][kH][kW][1] of the equivalent ordinary convolution.
  let wck = filter;
  if (depthwise) {
    wck = new Int8Array(filter.length);
    for (let tap = 0; tap < k; tap++) for (let c = 0; c < channels; c++) wck[c * k + tap] = filter[tap * channels + c]!;
    filter = wck;
  }
  const sums = new Int32Array(channels);
  for (let c = 0; c < channels; c++) for (let i = 0; i < k; i++) sums[c]! += wck[c * k + i]!;
  const inputOffset = -zpOf(x);
  const folded = new Int32Array(channels);
  if (b) {
    const bias = int32Of(b);
    if (bias.length !== channels) return undefined;
    folded.set(bias);
  }
  for (let c = 0; c < channels; c++) {
    const v = folded[c]! + inputOffset * sums[c]!;
    if (Math.abs(v) >= 2 ** 30) return undefined;
    folded[c] = v;
  }
  const n = perChannel ? channels : 1;
  const mult = new Int32Array(n);
  const shift = new Int32Array(n);
  for (let c = 0; c < n; c++) {
    const ws = Math.fround(wScales[c]!);
    const real = fc && !perChannel ? Math.fround(xs * ws) / ys : (xs * ws) / ys;
    const q = quantizeMultiplier(real);
    mult[c] = q.multiplier;
    shift[c] = q.shift;
  }
  const rq = fastRequant(mult, shift, zpOf(y), accumulatorBound(wck, channels, k, folded, inputOffset));
  if (!rq) return undefined;
  const act = activationRangeQuantized(activation(op), ys, zpOf(y), -128, 127);
  return { op, x, w, y, ...dims, filter, folded, inputOffset, zpOut: zpOf(y), actMin: act.min, actMax: act.max, perChannel, rq, depthwise, fc };
}

/** The conv kernel reads a 1x1 window in place; every other window is gathered (im2col). */
function convMode(c: ConvInfo): { im2col: boolean } {
  const pixel = c.kH === 1 && c.kW === 1 && c.inC % 4 === 0 && c.padTop === 0 && c.padLeft === 0;
  return { im2col: !pixel };
}

function addInfo(graph: Graph, op: Op): AddInfo | undefined {
  const [a, b] = op.inputs.map((i) => graph.tensors[i]);
  const y = graph.tensors[op.outputs[0]!];
  if (!a || !b || !y || [a, b, y].some((t) => t.dtype !== 'int8' || isConstant(t))) return undefined;
  if (elementCount(a.shape) !== elementCount(y.shape) || elementCount(b.shape) !== elementCount(y.shape)) return undefined;
  if (!ACTIVATIONS.has(activation(op))) return undefined;
  const s1 = scaleOf(a);
  const s2 = scaleOf(b);
  const so = scaleOf(y);
  if (s1 === undefined || s2 === undefined || so === undefined) return undefined;
  const p = addParams(s1, s2, so, 'int8');
  const lut1 = addLut(-zpOf(a), p.leftShift, p.input1.multiplier, p.input1.shift);
  const lut2 = addLut(-zpOf(b), p.leftShift, p.input2.multiplier, p.input2.shift);
  const rq = fastRequant(Int32Array.of(p.output.multiplier), Int32Array.of(p.output.shift), zpOf(y), (maxAbs(lut1) + maxAbs(lut2)) / 2);
  if (!rq) return undefined;
  const act = activationRangeQuantized(activation(op), so, zpOf(y), -128, 127);
  return { lut1, lut2, rq, actMin: act.min, actMax: act.max };
}

/** Ops reading tensor t (by index, with repeats). */
function readers(graph: Graph, t: number): number[] {
  return graph.ops.flatMap((op, i) => op.inputs.filter((u) => u === t).map(() => i));
}

function isGraphOutput(graph: Graph, t: number): boolean {
  return graph.outputs.some((o) => o.tensor === t);
}

/** True when a 1x1 convolution can write each output pixel over the input it has finished reading. */
function pointwiseInPlace(c: ConvInfo): boolean {
  if (c.kH !== 1 || c.kW !== 1 || c.padTop !== 0 || c.padLeft !== 0) return false;
  const pixels = c.batches * c.outH * c.outW;
  const inOffset = (p: number) => {
    const b = Math.floor(p / (c.outH * c.outW));
    const oy = Math.floor(p / c.outW) % c.outH;
    const ox = p % c.outW;
    return ((b * c.inH + oy * c.strideH) * c.inW + ox * c.strideW) * c.inC;
  };
  for (let p = 0; p + 1 < pixels; p++) if ((p + 1) * c.outC > inOffset(p + 1)) return false;
  return true;
}

/**
 * Decides, per op, the kernel (dsp where exact, else portable), fusion, execution order,
 * in-place execution and scratch, and the PlanRequest that gives the planner those decisions.
 *
 * A CONV_2D whose output only an ADD reads is fused into that ADD (the sum is formed as each
 * output value is computed) and moved to run just before it. When both inputs of an ADD are
 * such convolutions, either can be fused; each choice is planned and the smaller arena wins.
 */
export function chooseNative(graph: Graph, opts: NativeOptions = {}): NativeStrategy {
  const kernels = opts.kernels ?? 'portable';
  if (kernels !== 'dsp') {
    return { kernels, choices: new Map(), request: { order: graph.ops.map((_, i) => i) } };
  }
  const fuse = opts.fuse ?? true;
  const excluded = flashExclusions(graph, opts.constBudget);
  // ADD op -> the convolutions that could be fused into it.
  const candidates = new Map<number, number[]>();
  if (fuse) {
    graph.ops.forEach((op, j) => {
      if (op.type !== 'ADD' || excluded.has(j) || !addInfo(graph, op)) return;
      const list = op.inputs.flatMap((t) => {
        const p = graph.ops.findIndex((o) => o.outputs.includes(t));
        if (p < 0 || p >= j || graph.ops[p]!.type !== 'CONV_2D' || excluded.has(p)) return [];
        const info = convInfo(graph, graph.ops[p]!);
        const other = op.inputs[0] === t ? op.inputs[1]! : op.inputs[0]!;
        if (!info || info.batches !== 1 || other === t || other === info.x.index) return [];
        if (readers(graph, t).length !== 1 || isGraphOutput(graph, t)) return [];
        if (elementCount(graph.tensors[other]!.shape) !== elementCount(info.y.shape)) return [];
        return [p];
      });
      if (list.length > 0) candidates.set(j, list.sort((a, b) => b - a));
    });
  }
  // Start from the fusion that moves nothing (the nearest convolution), then try the others.
  const chosen = new Map<number, number>([...candidates].map(([j, list]) => [j, list[0]!]));
  const wide = new Set<number>();
  const arenaOf = (s: NativeStrategy) => planMemory(graph, ARENA_ALIGNMENT, s.request).arenaBytes;
  let best = buildStrategy(graph, chosen, wide, excluded, fuse);
  let bestArena = arenaOf(best);
  for (const [j, list] of candidates) {
    for (const p of list.slice(1)) {
      const trial = new Map(chosen).set(j, p);
      const s = buildStrategy(graph, trial, wide, excluded, fuse);
      const arena = arenaOf(s);
      if (arena < bestArena) {
        best = s;
        bestArena = arena;
        chosen.set(j, p);
      }
    }
  }
  // Widened windows cost scratch: take them for every convolution where the arena stays as small.
  for (const [i, c] of best.choices) {
    if (c.kind !== 'conv') continue;
    const trial = buildStrategy(graph, chosen, new Set(wide).add(i), excluded, fuse);
    if (arenaOf(trial) <= bestArena) {
      wide.add(i);
      best = trial;
    }
  }
  return best;
}

/**
 * The ops that must keep their portable kernel for the constants to fit `budget`: the dsp set's
 * int16 weights take about twice the int8 bytes and an ADD adds 2 KiB of tables; the ops adding
 * most go first.
 */
function flashExclusions(graph: Graph, budget: number | undefined): Set<number> {
  const excluded = new Set<number>();
  if (budget === undefined) return excluded;
  let total = graph.tensors.reduce((n, t) => n + (isConstant(t) ? tensorBytes(t) : 0), 0);
  const extra: [number, number][] = [];
  const up4 = (n: number) => Math.ceil(n / 4) * 4;
  graph.ops.forEach((op, i) => {
    if (op.type === 'ADD') {
      extra.push([i, 2048]);
      return;
    }
    if (op.type !== 'CONV_2D' && op.type !== 'FULLY_CONNECTED' && op.type !== 'DEPTHWISE_CONV_2D') return;
    const w = graph.tensors[op.inputs[1]!];
    if (!w || !isConstant(w) || w.shape.length < 2) return;
    const depthwise = op.type === 'DEPTHWISE_CONV_2D';
    const channels = depthwise ? w.shape[w.shape.length - 1]! : w.shape[0]!;
    const k = elementCount(w.shape) / channels;
    // Packed int16 weights (channels and k padded to 4), then bias and 12-byte requantization
    // entries per channel, against int8 weights, bias and multiplier + shift per channel.
    const dsp = up4(channels) * (depthwise ? k : up4(k)) * 2 + 16 * up4(channels);
    extra.push([i, Math.max(0, dsp - (channels * k + 12 * channels))]);
  });
  total += extra.reduce((n, [, e]) => n + e, 0);
  for (const [i, e] of extra.sort((a, b) => b[1] - a[1] || a[0] - b[0])) {
    if (total <= budget) break;
    excluded.add(i);
    total -= e;
  }
  return excluded;
}

/** The strategy for one choice of fusions (ADD op -> the convolution fused into it). */
function buildStrategy(graph: Graph, fusions: ReadonlyMap<number, number>, wide: ReadonlySet<number>, excluded: ReadonlySet<number>, fuse: boolean): NativeStrategy {
  const choices = new Map<number, OpChoice>();
  const fusedInto = new Map<number, number>();
  const elide = new Set<number>();
  const inPlace: InPlace[] = [];
  const scratch = new Map<number, number>();
  const ops = graph.ops;
  // Execution order: each fused convolution moves to just before its ADD.
  const moved = new Set(fusions.values());
  const order: number[] = [];
  const convOf = new Map([...fusions].map(([j, p]) => [p, j]));
  const addOf = new Map([...fusions].map(([j, p]) => [j, p]));
  ops.forEach((_, i) => {
    if (moved.has(i)) return;
    if (addOf.has(i)) order.push(addOf.get(i)!);
    order.push(i);
  });
  for (let i = 0; i < ops.length; i++) {
    if (choices.has(i) || excluded.has(i)) continue;
    const op = ops[i]!;
    const single = op.type === 'DEPTHWISE_CONV_2D' && graph.tensors[op.inputs[0]!]?.shape[3] === 1;
    if (op.type === 'CONV_2D' || op.type === 'FULLY_CONNECTED' || single) {
      const info = convInfo(graph, op);
      if (!info) continue;
      const mode = convMode(info);
      const kLen = kLength(info.kH * info.kW * info.inC);
      const x16 = wide.has(i);
      const convScratch = (mode.im2col ? kLen : 0) + (x16 ? 2 * kLen : 0);
      const choice: Extract<OpChoice, { kind: 'conv' }> = { kind: 'conv', info, im2col: mode.im2col, x16, convScratch, scratch: convScratch };
      const y = info.y.index;
      const j = convOf.get(i);
      if (j !== undefined) {
        const addOp = ops[j]!;
        const other = addOp.inputs[0] === y ? addOp.inputs[1]! : addOp.inputs[0]!;
        choice.add = { ...addInfo(graph, addOp)!, op: j, other, conv: addOp.inputs[0] === y ? 1 : 2 };
        // The convolution's output pixel waits in scratch for the ADD.
        choice.convScratch += Math.ceil(info.outC / 4) * 4;
        choice.scratch = choice.convScratch;
        choices.set(j, { kind: 'fused', into: i });
        fusedInto.set(j, i);
        elide.add(y);
        inPlace.push({ op: i, input: other, output: addOp.outputs[0]! });
      }
      const onlyReader = readers(graph, y).length === 1 && !isGraphOutput(graph, y);
      if (fuse && !choice.add && !info.fc && onlyReader && info.batches === 1) {
        const stream = streamedFc(graph, i, info);
        if (stream && !excluded.has(stream.info.fcOp)) {
          choice.stream = stream.info;
          for (const k of stream.ops) {
            choices.set(k, { kind: 'fused', into: i });
            fusedInto.set(k, i);
          }
          for (const t of stream.elided) elide.add(t);
          choice.scratch += Math.ceil(stream.info.fc.outC / 4) * 16 + Math.ceil(stream.info.rowBytes / 4) * 4;
        }
      }
      if (!choice.add && !choice.stream && !choice.im2col && !info.fc && pointwiseInPlace(info)) {
        inPlace.push({ op: i, input: info.x.index, output: y });
        // The widened pixel is already a copy; else the kernel copies the pixel.
        if (!x16) {
          choice.convScratch += info.inC;
          choice.scratch += info.inC;
        }
      }
      if (choice.scratch > 0) scratch.set(i, choice.scratch);
      choices.set(i, choice);
    } else if (op.type === 'DEPTHWISE_CONV_2D') {
      const info = convInfo(graph, op);
      if (!info || info.inC !== info.outC || info.inC % 4 !== 0 || info.dilH !== 1 || info.dilW !== 1) continue;
      const right = Math.max(0, (info.outW - 1) * info.strideW + info.kW - info.padLeft - info.inW);
      const choice: Extract<OpChoice, { kind: 'dw' }> = { kind: 'dw', info, scratch: (info.inW + info.padLeft + right) * info.kH * info.inC };
      const sameShape = info.strideH === 1 && info.strideW === 1 && info.outH === info.inH && info.outW === info.inW && info.padTop < info.kH;
      if (sameShape) inPlace.push({ op: i, input: info.x.index, output: info.y.index });
      scratch.set(i, choice.scratch);
      choices.set(i, choice);
    } else if (op.type === 'AVERAGE_POOL_2D') {
      // Four channels per SIMD add into int16 lanes: at most 256 taps per window.
      const x = graph.tensors[op.inputs[0]!];
      const y = graph.tensors[op.outputs[0]!];
      const k = num(op, 'filterH', 0) * num(op, 'filterW', 0);
      if (!x || !y || x.dtype !== 'int8' || y.dtype !== 'int8' || x.shape.length !== 4 || y.shape.length !== 4) continue;
      if (x.shape[3]! % 4 !== 0 || k < 1 || k > 256 || scaleOf(x) !== scaleOf(y) || zpOf(x) !== zpOf(y) || !ACTIVATIONS.has(activation(op))) continue;
      choices.set(i, { kind: 'avgpool' });
    } else if (op.type === 'ADD') {
      const add = addInfo(graph, op);
      if (!add) continue;
      choices.set(i, { kind: 'add', add });
      inPlace.push({ op: i, input: op.inputs[0]!, output: op.outputs[0]! }, { op: i, input: op.inputs[1]!, output: op.outputs[0]! });
    }
  }
  return { kernels: 'dsp', choices, request: { order, fusedInto, elide, inPlace, scratch } };
}

/** conv (op i) -> RESHAPE* -> FULLY_CONNECTED, each tensor read once: the FC can eat conv rows as they come. */
function streamedFc(graph: Graph, i: number, conv: ConvInfo): { info: StreamInfo; ops: number[]; elided: number[] } | undefined {
  const ops: number[] = [];
  const elided = [conv.y.index];
  let t = conv.y.index;
  let j = i + 1;
  while (graph.ops[j]?.type === 'RESHAPE' && graph.ops[j]!.inputs[0] === t) {
    const out = graph.ops[j]!.outputs[0]!;
    if (readers(graph, t).length !== 1 || isGraphOutput(graph, out)) return undefined;
    ops.push(j);
    elided.push(out);
    t = out;
    j++;
  }
  const fcOp = graph.ops[j];
  if (!fcOp || fcOp.type !== 'FULLY_CONNECTED' || fcOp.inputs[0] !== t || readers(graph, t).length !== 1) return undefined;
  const fc = convInfo(graph, fcOp);
  const rowBytes = conv.outW * conv.outC;
  if (!fc || fc.batches !== 1 || fc.inC !== conv.outH * rowBytes || rowBytes % 4 !== 0) return undefined;
  ops.push(j);
  return { info: { fc, fcOp: j, rowBytes }, ops, elided };
}

/** What lowerDsp needs from the Lowerer. */
export interface DspEmitter {
  addConst(name: string, ctype: 'int8_t' | 'int32_t' | 'uint32_t' | 'uint8_t', values: ArrayLike<number>, what: string): string;
  /** C pointer expression of an arena tensor. */
  ptr(op: Op, tensor: number, role: string): string;
  /** The portable kernel's lowering of an op. */
  portable(op: Op): { params: string[]; call: string[] };
}

function tensorText(t: Tensor): string {
  return `tensor #${t.index} "${t.name}" [${t.shape.join(',')}]`;
}

/** One tml_rq entry per channel (a per-tensor entry repeated), padded to whole groups of 4. */
function rqArray(e: DspEmitter, name: string, c: ConvInfo): string {
  const n = Math.ceil(c.outC / 4) * 4;
  const rq = new Int32Array(3 * n);
  for (let i = 0; i < n; i++) {
    const k = c.perChannel ? Math.min(i, c.outC - 1) : 0;
    rq.set(c.rq.subarray(3 * k, 3 * k + 3), 3 * i);
  }
  return `(const tml_rq *)(const void *)${e.addConst(name, 'int32_t', rq, 'requantization {multiplier, k, shift} per channel (tml_requant.h)')}`;
}

function dimsInit(c: ConvInfo): string {
  return `{ ${c.batches}, ${c.inH}, ${c.inW}, ${c.inC}, ${c.outH}, ${c.outW}, ${c.outC}, ${c.kH}, ${c.kW}, ${c.strideH}, ${c.strideW}, ${c.dilH}, ${c.dilW}, ${c.padTop}, ${c.padLeft} }`;
}

function scratchPtr(plan: MemoryPlan, op: number, at = 0): string {
  const off = plan.scratchOffset.get(op);
  if (off === undefined) return '0';
  return `((int8_t *)(tml_arena + ${off + at}))`;
}

/** Doubled biases, padded to whole groups of 4 channels. */
function biasTable(e: DspEmitter, name: string, c: ConvInfo): string {
  const b = new Int32Array(Math.ceil(c.outC / 4) * 4);
  for (let i = 0; i < c.outC; i++) b[i] = 2 * c.folded[i]!;
  return e.addConst(`${name}_bias`, 'int32_t', b, 'bias with the input offset folded in, doubled');
}

/** The C for an op the dsp set runs (or a comment for an op fused into another). */
export function lowerDsp(e: DspEmitter, graph: Graph, plan: MemoryPlan, op: Op, choice: OpChoice): { params: string[]; call: string[] } {
  const name = `tml_op${op.index}`;
  switch (choice.kind) {
    case 'fused':
      return { params: [], call: [`/* fused into op ${choice.into} */`] };
    case 'add': {
      const a = choice.add;
      const l1 = e.addConst(`${name}_lut1`, 'int32_t', a.lut1, 'input 1 rescaled to the common scale, doubled, per int8 value + 128');
      const l2 = e.addConst(`${name}_lut2`, 'int32_t', a.lut2, 'input 2 rescaled to the common scale, doubled, per int8 value + 128');
      const y = graph.tensors[op.outputs[0]!]!;
      const params = [
        `static const tml_add_dsp_params ${name}_params = {`,
        `  ${elementCount(y.shape)}, ${l1}, ${l2}, { ${a.rq[0]}, ${a.rq[1]}, ${a.rq[2]} }, ${a.actMin}, ${a.actMax}`,
        '};',
      ];
      const call = `tml_add_s8_dsp(&${name}_params, ${e.ptr(op, op.inputs[0]!, 'input1')}, ${e.ptr(op, op.inputs[1]!, 'input2')}, ${e.ptr(op, op.outputs[0]!, 'output')});`;
      return { params, call: [call] };
    }
    case 'dw': {
      const c = choice.info;
      // [group][kx][ky][2]: the taps column by column, as the line buffer holds them.
      const w = new Uint32Array((c.inC / 4) * c.kH * c.kW * 2);
      const taps = c.kH * c.kW;
      let o = 0;
      for (let g = 0; g < c.inC / 4; g++) {
        for (let kx = 0; kx < c.kW; kx++) {
          for (let ky = 0; ky < c.kH; ky++) {
            const at = (ch: number) => 2 * c.filter[(4 * g + ch) * taps + ky * c.kW + kx]!;
            w[o++] = pair(at(0), at(2));
            w[o++] = pair(at(1), at(3));
          }
        }
      }
      const wn = e.addConst(`${name}_weights`, 'uint32_t', w, `depthwise filter ${tensorText(c.w)}, doubled int16 pairs per 4 channels and tap`);
      const bias = biasTable(e, name, c);
      const rq = rqArray(e, `${name}_rq`, c);
      const inPlace = plan.inPlace.some((g) => g.op === op.index);
      const params = [
        `static const tml_dw_dsp_params ${name}_params = {`,
        `  ${dimsInit(c)},`,
        `  ${wn}, ${bias}, ${rq}, ${c.actMin}, ${c.actMax}, ${-c.inputOffset}, ${inPlace ? 1 : 0}`,
        '};',
      ];
      const call = `tml_depthwise_conv2d_s8_dsp(&${name}_params, ${e.ptr(op, c.x.index, 'input')}, ${e.ptr(op, c.y.index, 'output')}, ${scratchPtr(plan, op.index)});`;
      return { params, call: [call] };
    }
    case 'conv':
      return lowerConv(e, graph, plan, op, choice);
    case 'avgpool': {
      // The portable kernel's parameters, the dsp kernel's name.
      const p = e.portable(op);
      return { params: p.params, call: p.call.map((line) => line.replace('tml_avg_pool2d_s8(', 'tml_avg_pool2d_s8_dsp(')) };
    }
  }
}

function convParams(e: DspEmitter, name: string, c: ConvInfo, im2col: boolean, x16: boolean, copyPixel: boolean, add: string): string[] {
  const k = c.kH * c.kW * c.inC;
  const kLen = kLength(k);
  const w = e.addConst(`${name}_weights`, 'uint32_t', packConvWeights(c.filter, c.outC, k), `${c.fc ? 'weights' : 'filter'} ${tensorText(c.w)}, packed doubled int16 pairs (tml_kernels_dsp.h)`);
  const bias = biasTable(e, name, c);
  const rq = rqArray(e, `${name}_rq`, c);
  return [
    `static const tml_conv_dsp_params ${name}_params = {`,
    `  ${dimsInit(c)},`,
    `  ${im2col ? 1 : 0}, ${x16 ? 1 : 0}, ${kLen}, ${w}, ${bias},`,
    `  ${rq}, ${c.actMin}, ${c.actMax}, ${-c.inputOffset}, ${copyPixel ? 1 : 0}, ${add}`,
    '};',
  ];
}

function lowerConv(e: DspEmitter, graph: Graph, plan: MemoryPlan, op: Op, choice: Extract<OpChoice, { kind: 'conv' }>): { params: string[]; call: string[] } {
  const c = choice.info;
  const name = `tml_op${op.index}`;
  const x = e.ptr(op, c.x.index, 'input');
  if (choice.add) {
    const a = choice.add;
    const addOp = graph.ops[a.op]!;
    const lutOther = a.conv === 1 ? a.lut2 : a.lut1;
    const lutConv = a.conv === 1 ? a.lut1 : a.lut2;
    const lo = e.addConst(`${name}_add_lut_other`, 'int32_t', lutOther, `fused ADD (op ${a.op}): the other input rescaled, doubled, per int8 value + 128`);
    const lc = e.addConst(`${name}_add_lut_conv`, 'int32_t', lutConv, `fused ADD (op ${a.op}): this convolution's output rescaled, doubled, per int8 value + 128`);
    const params = [
      `static const tml_add_epilogue ${name}_add = { ${lo}, ${lc}, { ${a.rq[0]}, ${a.rq[1]}, ${a.rq[2]} }, ${a.actMin}, ${a.actMax} };`,
      ...convParams(e, name, c, choice.im2col, choice.x16, false, `&${name}_add`),
    ];
    const y = e.ptr(addOp, addOp.outputs[0]!, 'output');
    const other = e.ptr(addOp, a.other, 'input');
    return { params, call: [`tml_conv2d_s8_dsp(&${name}_params, ${x}, ${y}, ${other}, ${scratchPtr(plan, op.index)}, 0, ${c.outH}); /* + ADD op ${a.op} */`] };
  }
  if (choice.stream) {
    const s = choice.stream;
    const f = s.fc;
    const fcOp = graph.ops[s.fcOp]!;
    const up = Math.ceil(f.outC / 4) * 4;
    const fw = e.addConst(`${name}_fc_weights`, 'uint32_t', packConvWeights(f.filter, f.outC, f.inC), `FULLY_CONNECTED op ${s.fcOp} weights ${tensorText(f.w)}, packed doubled int16 pairs`);
    const fb = new Int32Array(up);
    for (let u = 0; u < f.outC; u++) fb[u] = 2 * f.folded[u]!;
    const fbn = e.addConst(`${name}_fc_bias`, 'int32_t', fb, `FULLY_CONNECTED op ${s.fcOp} bias with the input offset folded in, doubled`);
    const frq = rqArray(e, `${name}_fc_rq`, f);
    const accBytes = up * 4;
    const rowBytes = Math.ceil(s.rowBytes / 4) * 4;
    const acc = `((int32_t *)(void *)(tml_arena + ${plan.scratchOffset.get(op.index)!}))`;
    const params = convParams(e, name, c, choice.im2col, choice.x16, false, '0');
    const call = [
      `{ /* + FULLY_CONNECTED op ${s.fcOp}, fed one output row at a time (the ${c.outH}x${c.outW}x${c.outC} tensor is never stored) */`,
      `  int32_t r;`,
      `  memcpy(${acc}, ${fbn}, ${accBytes}u);`,
      `  for (r = 0; r < ${c.outH}; ++r) {`,
      `    tml_conv2d_s8_dsp(&${name}_params, ${x}, ${scratchPtr(plan, op.index, accBytes)}, 0, ${choice.convScratch > 0 ? scratchPtr(plan, op.index, accBytes + rowBytes) : '0'}, r, r + 1);`,
      `    tml_fc_accumulate_s8_dsp(${fw}, ${f.outC}, ${kLength(f.inC)}, r * ${s.rowBytes}, ${s.rowBytes}, ${scratchPtr(plan, op.index, accBytes)}, ${acc});`,
      '  }',
      `  tml_fc_finish_s8_dsp(${f.outC}, ${frq}, ${f.actMin}, ${f.actMax}, ${acc}, ${e.ptr(fcOp, fcOp.outputs[0]!, 'output')});`,
      '}',
    ];
    return { params, call };
  }
  const copyPixel = plan.inPlace.some((g) => g.op === op.index);
  const params = convParams(e, name, c, choice.im2col, choice.x16, copyPixel, '0');
  const call = `tml_conv2d_s8_dsp(&${name}_params, ${x}, ${e.ptr(op, c.y.index, 'output')}, 0, ${scratchPtr(plan, op.index)}, 0, ${c.outH});`;
  return { params, call: [call] };
}
