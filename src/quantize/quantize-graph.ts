/**
 * Builds the int8 graph from a float graph (after the passes) and calibrated ranges, following
 * the TFLite int8 quantization spec:
 *   - every float activation becomes int8 with per-tensor asymmetric params;
 *   - ops whose int8 kernels copy bytes without requantizing share one set of params between
 *     input and output (RESHAPE, pools, CONCATENATION, PAD, TRANSPOSE): their tensors are
 *     grouped and take the union of the group's ranges;
 *   - SOFTMAX and LOGISTIC outputs are fixed to scale 1/256, zero point -128, TANH to 1/128, 0;
 *   - CONV_2D / DEPTHWISE_CONV_2D / FULLY_CONNECTED weights are symmetric int8 per output
 *     channel (axis 0, 3, 0), their bias int32 with scale input_scale * weight_scale[c];
 *   - other float constants (an ADD or MUL operand) are per-tensor asymmetric int8;
 *   - QDQ-given params (a float tensor carrying `quant`, see passes/strip-qdq.ts) win over
 *     calibration.
 *   - 16x8 (activations 'int16', or chosen ops in mixed mode, see precision.ts): int16
 *     activations symmetric (zero point 0, scale max|x| / 32767), the same int8 weights, int64
 *     biases; SOFTMAX/LOGISTIC/TANH int16 outputs fixed to scale 1/32768, zero point 0.
 * With io 'float' the graph keeps float inputs/outputs and QUANTIZE/DEQUANTIZE ops are added
 * at the edges; with io 'int8' or 'int16' the device feeds that integer type directly
 * (QUANTIZE ops convert at the edges where the activations have the other one); by default the
 * edges keep the activation type (int8 for an int8 model, what a microcontroller wants).
 */
import type { Graph, Op, Quantization, Tensor } from '../ir/graph.ts';
import { UnsupportedError } from '../errors.ts';
import { elementCount, isConstant } from '../ir/graph.ts';
import { activationTensors } from './calibrate.ts';
import { planPrecision, type ActivationType } from './precision.ts';
import { tfliteOpVersion } from '../formats/tflite/versions.ts';
import { compact, constFloats, typedBytes } from './graph-edit.ts';
import {
  asymmetricParams,
  fitWeightScalesToBias,
  perTensor,
  quantizeBias,
  quantizeToInt16,
  quantizeToInt8,
  BIAS_LIMIT,
  quantizeWeightsPerChannel,
  quantizeWeightsPerTensor,
  weightScalePerTensor,
  weightScalesPerChannel,
  type Range,
  type WidenedScale,
} from './params.ts';

export type IoType = 'int8' | 'int16' | 'float';

export interface QuantizeOptions {
  /** Edge type; undefined keeps each edge in its activation type. */
  io?: IoType;
  /** Activation precision (default int8). */
  activations?: ActivationType;
  /** Ops (indices in the float graph) kept in int16 in an int8 model (mixed precision). */
  int16Ops?: ReadonlySet<number>;
  /** Per-channel FULLY_CONNECTED weights (TFLite's default and TFLM's older kernels: per-tensor). */
  fcPerChannel: boolean;
  /** Op kinds (CONV_2D, DEPTHWISE_CONV_2D, FULLY_CONNECTED) whose weights get one scale instead of one per channel. */
  perTensorOps?: readonly string[];
}

/**
 * Ops whose int8 kernels require input and output to share scale and zero point (TFLM's RELU6
 * clamps in the input's quantization; MAXIMUM/MINIMUM compare raw values of every input; reduce
 * max/min, strided_slice, gather and the resizes move or compare raw int8 values).
 */
export const SHARED_PARAM_OPS = new Set([
  'RESHAPE', 'MAX_POOL_2D', 'AVERAGE_POOL_2D', 'CONCATENATION', 'PAD', 'PADV2', 'TRANSPOSE', 'SQUEEZE', 'EXPAND_DIMS', 'RELU6', 'MAXIMUM', 'MINIMUM',
  'REDUCE_MAX', 'REDUCE_MIN', 'STRIDED_SLICE', 'GATHER', 'RESIZE_NEAREST_NEIGHBOR', 'RESIZE_BILINEAR',
]);

/** Shared-param ops whose every input (not only the first) joins the output's group. */
const ALL_INPUTS_SHARE = new Set(['CONCATENATION', 'MAXIMUM', 'MINIMUM']);

/** Ops whose output holds values that are not the input's (padding): their range is the input's. */
const PADDING_OPS = new Set(['PAD', 'PADV2']);

/** Output params the int8 spec fixes: [scale, zeroPoint]. */
export const FIXED_OUTPUT_PARAMS: Record<string, [number, number]> = {
  SOFTMAX: [1 / 256, -128],
  LOGISTIC: [1 / 256, -128],
  TANH: [1 / 128, 0],
  L2_NORMALIZATION: [1 / 128, 0],
};

/** The same for int16 outputs (16x8): TFLite's int16 SOFTMAX/LOGISTIC/TANH kernels assume them. */
export const FIXED_OUTPUT_PARAMS_INT16: Record<string, [number, number]> = {
  SOFTMAX: [1 / 32768, 0],
  LOGISTIC: [1 / 32768, 0],
  TANH: [1 / 32768, 0],
};

/** Weight channel axis of the ops whose weights are per-channel. */
export const WEIGHT_AXIS: Record<string, number> = { CONV_2D: 0, DEPTHWISE_CONV_2D: 3, FULLY_CONNECTED: 0, TRANSPOSE_CONV: 0 };

/** Input positions of [data, weights, bias] where they differ from [0, 1, 2] (TFLite's order). */
const WEIGHTED_INPUTS: Record<string, [number, number, number]> = { TRANSPOSE_CONV: [2, 1, 3] };

/** Symmetric int16 params (zero point 0) for a real range, as TFLite's 16x8 scheme. */
export function symmetricInt16Params(range: Range): { scale: number; zeroPoint: number } {
  const m = Math.max(Math.abs(range.min), Math.abs(range.max));
  return { scale: m > 0 ? Math.fround(m / 32767) : 1, zeroPoint: 0 };
}

/** Union-find over tensor indices (the groups that must share params). */
class Groups {
  private parent = new Map<number, number>();
  find(x: number): number {
    let p = this.parent.get(x) ?? x;
    if (p !== x) {
      p = this.find(p);
      this.parent.set(x, p);
    }
    return p;
  }
  union(a: number, b: number): void {
    const ra = this.find(a);
    const rb = this.find(b);
    if (ra !== rb) this.parent.set(rb, ra);
  }
}

export interface ActivationParams {
  scale: number;
  zeroPoint: number;
  /** Where the params came from: calibration, the int8 spec, or the model's own QDQ. */
  origin: 'calibrated' | 'fixed' | 'qdq';
}

/** Per-tensor params for every float activation tensor of `g` (int8 unless `dtype` says int16). */
export function activationParams(g: Graph, ranges: Map<number, Range>, dtype?: ReadonlyMap<number, ActivationType>): Map<number, ActivationParams> {
  const int16 = (t: number) => dtype?.get(t) === 'int16';
  const acts = activationTensors(g);
  const isAct = new Set(acts);
  const groups = new Groups();
  for (const op of g.ops) {
    if (!SHARED_PARAM_OPS.has(op.type)) continue;
    const ins = ALL_INPUTS_SHARE.has(op.type) ? op.inputs : [op.inputs[0]!];
    for (const i of ins) if (i >= 0 && isAct.has(i)) groups.union(op.outputs[0]!, i);
  }
  const fixed = new Map<number, ActivationParams>();
  for (const t of acts) {
    const q = g.tensors[t]!.quant;
    if (q && q.scale.length === 1) fixed.set(t, { scale: q.scale[0]!, zeroPoint: q.zeroPoint[0]!, origin: 'qdq' });
  }
  for (const op of g.ops) {
    const f = (int16(op.outputs[0]!) ? FIXED_OUTPUT_PARAMS_INT16 : FIXED_OUTPUT_PARAMS)[op.type];
    if (f) fixed.set(op.outputs[0]!, { scale: Math.fround(f[0]), zeroPoint: f[1], origin: 'fixed' });
  }
  // A pad value (ONNX Pad with -inf before a max pool, becoming PADV2 with the int8 minimum) must
  // not stretch the group's range: the padded tensor takes its input's.
  const padded = new Set(g.ops.filter((op) => PADDING_OPS.has(op.type) && isAct.has(op.inputs[0]!)).map((op) => op.outputs[0]!));
  const byGroup = new Map<number, number[]>();
  for (const t of acts) {
    const r = groups.find(t);
    const list = byGroup.get(r);
    if (list) list.push(t);
    else byGroup.set(r, [t]);
  }
  const out = new Map<number, ActivationParams>();
  for (const members of byGroup.values()) {
    // Spec-fixed params first (the kernels assume them), then QDQ params, then calibration.
    const pinned = members.map((m) => fixed.get(m)).filter((p): p is ActivationParams => !!p).sort((a, b) => (a.origin === 'fixed' ? -1 : b.origin === 'fixed' ? 1 : 0))[0];
    let params: ActivationParams;
    if (pinned) params = pinned;
    else {
      let min = Infinity;
      let max = -Infinity;
      for (const m of members) {
        const r = padded.has(m) ? undefined : ranges.get(m);
        if (!r) continue;
        min = Math.min(min, r.min);
        max = Math.max(max, r.max);
      }
      if (min === Infinity) {
        min = 0;
        max = 0;
      }
      params = { ...(int16(members[0]!) ? symmetricInt16Params({ min, max }) : asymmetricParams({ min, max })), origin: 'calibrated' };
    }
    for (const m of members) out.set(m, params);
  }
  return out;
}

/** Weight scales of one op that were widened so its bias fits (fitWeightScalesToBias). */
export interface WidenedWeights {
  op: number;
  opType: string;
  node: string;
  weights: string;
  channels: WidenedScale[];
}

export interface QuantizedGraph {
  graph: Graph;
  widened: WidenedWeights[];
}

/** The quantized graph; `g` is not modified. */
export function quantizeGraph(float: Graph, calibrated: Map<number, Range>, opts: QuantizeOptions): QuantizedGraph {
  const plan = planPrecision(float, calibrated, { activations: opts.activations ?? 'int8', int16Ops: opts.int16Ops, sharedParamOps: SHARED_PARAM_OPS });
  const g = plan.graph;
  const params = activationParams(g, plan.ranges, plan.dtype);
  const widened: WidenedWeights[] = [];
  const tensors: Tensor[] = g.tensors.map((t) => ({ ...t, shape: [...t.shape] }));
  const qOf = (i: number): Quantization => {
    const p = params.get(i)!;
    return perTensor(p.scale, p.zeroPoint);
  };
  for (const [i] of params) {
    const t = tensors[i]!;
    t.dtype = plan.dtype.get(i) ?? 'int8';
    t.quant = qOf(i);
    delete t.data;
  }

  const cache = new Map<string, number>();
  const addConst = (key: string, make: () => Omit<Tensor, 'index'>): number => {
    const hit = cache.get(key);
    if (hit !== undefined) return hit;
    const index = tensors.length;
    tensors.push({ ...make(), index });
    cache.set(key, index);
    return index;
  };

  const ops: Op[] = g.ops.map((op) => {
    const wide = plan.opPrecision[op.index] === 'int16';
    const version = tfliteOpVersion(op.type, wide ? 'int16' : 'int8');
    const q: Op = { ...op, inputs: [...op.inputs], outputs: [...op.outputs], attrs: { ...op.attrs }, version };
    const axis = WEIGHT_AXIS[op.type];
    const [dataPos, weightPos, biasPos] = WEIGHTED_INPUTS[op.type] ?? [0, 1, 2];
    const xParams = params.get(op.inputs[dataPos]!);
    const mapInput = (ti: number, pos: number): number => {
      if (ti < 0) return ti;
      const src = g.tensors[ti]!;
      if (!isConstant(src)) return ti;
      if (axis !== undefined && pos === weightPos) {
        const perChannel = (op.type !== 'FULLY_CONNECTED' || opts.fcPerChannel) && !(opts.perTensorOps ?? []).includes(op.type);
        const w = constFloats(src);
        let scales = perChannel ? weightScalesPerChannel(w, src.shape, axis) : [weightScalePerTensor(w)];
        // A bias that would not fit its integer at input_scale * weight_scale widens the scale.
        const b = g.tensors[op.inputs[biasPos] ?? -1];
        if (b && isConstant(b) && xParams) {
          const fit = fitWeightScalesToBias(scales, constFloats(b), xParams.scale, wide ? BIAS_LIMIT.int64 : BIAS_LIMIT.int32);
          if (fit.widened.length > 0) {
            scales = fit.scales;
            widened.push({ op: op.index, opType: op.type, node: op.source.name, weights: src.name, channels: fit.widened });
          }
        }
        return addConst(`${ti}:w:${scales.join(',')}`, () => {
          if (perChannel) {
            const r = quantizeWeightsPerChannel(w, src.shape, axis, scales);
            return { name: src.name, shape: [...src.shape], dtype: 'int8', data: typedBytes(r.data), quant: { scale: r.scales, zeroPoint: r.scales.map(() => 0), axis } };
          }
          const r = quantizeWeightsPerTensor(w, scales[0]);
          return { name: src.name, shape: [...src.shape], dtype: 'int8', data: typedBytes(r.data), quant: { scale: [r.scale], zeroPoint: [0], axis: 0 } };
        });
      }
      if (axis !== undefined && pos === biasPos) {
        if (!xParams) {
          throw new UnsupportedError(
            `${op.type} (op #${op.index}, node ${JSON.stringify(op.source.name)}) has a constant as its input: only inputs computed at run time are quantized; fold the constant computation away in the source model and convert again`,
          );
        }
        return addConst(`${ti}:b:${op.index}`, () => {
          const wq = tensors[q.inputs[weightPos]!]!.quant!;
          // 16x8: int64 biases, as the TFLite converter writes them.
          const r = quantizeBias(constFloats(src), xParams!.scale, wq.scale, wide ? 'int64' : 'int32');
          return { name: src.name, shape: [elementCount(src.shape)], dtype: wide ? 'int64' : 'int32', data: typedBytes(r.data), quant: { scale: r.scales, zeroPoint: r.scales.map(() => 0), axis: 0 } };
        });
      }
      if (src.dtype === 'float32') {
        // An operand of an elementwise op or concatenation: per-tensor int8, or the shared
        // params of the op's output where the kernel requires them.
        const shared = SHARED_PARAM_OPS.has(op.type) ? params.get(op.outputs[0]!) : undefined;
        return addConst(`${ti}:a:${shared ? op.outputs[0] : ''}:${wide ? 16 : 8}`, () => {
          const v = constFloats(src);
          let lo = 0;
          let hi = 0;
          for (const x of v) {
            lo = Math.min(lo, x);
            hi = Math.max(hi, x);
          }
          const p = shared ?? (wide ? symmetricInt16Params({ min: lo, max: hi }) : asymmetricParams({ min: lo, max: hi }));
          const data = wide ? typedBytes(quantizeToInt16(v, p.scale, p.zeroPoint)) : typedBytes(quantizeToInt8(v, p.scale, p.zeroPoint));
          return { name: src.name, shape: [...src.shape], dtype: wide ? 'int16' : 'int8', data, quant: perTensor(p.scale, p.zeroPoint, { min: lo, max: hi }) };
        });
      }
      if (src.dtype === 'int64') {
        // Shape and pad vectors: TFLite kernels read int32.
        return addConst(`${ti}:i32`, () => ({ name: src.name, shape: [...src.shape], dtype: 'int32', data: typedBytes(Int32Array.from(constFloats(src))) }));
      }
      return ti;
    };
    // In order: the bias needs the weight's scales, which position 1 sets first.
    op.inputs.forEach((ti, pos) => {
      q.inputs[pos] = mapInput(ti, pos);
    });
    if (op.type === 'PAD' && typeof op.attrs.constantValue === 'number') {
      const p = params.get(op.outputs[0]!);
      const [lo, hi] = wide ? [-32768, 32767] : [-128, 127];
      if (p) q.attrs.constantValue = Math.max(lo, Math.min(hi, Math.round(op.attrs.constantValue / p.scale) + p.zeroPoint));
    }
    return q;
  });

  const out: Graph = { ...g, tensors, ops, inputs: g.inputs.map((i) => ({ ...i })), outputs: g.outputs.map((o) => ({ ...o })), warnings: [...g.warnings] };
  out.meta = { ...g.meta, quantizedBy: 'tinyml convert' };
  addEdges(out, g, opts.io, plan.ranges);
  // compact drops the float constants replaced by int8 copies, and renumbers.
  return { graph: compact(out), widened };
}

/**
 * Edge types: with io 'float', QUANTIZE after each input and DEQUANTIZE before each output; with
 * io 'int8'/'int16', a QUANTIZE (requantization) where an edge tensor has the other integer
 * type, its params from the tensor's calibrated range; io undefined leaves the edges as
 * they are. The internal tensor keeps its name with a `_<dtype>` suffix (eval strips it).
 */
function addEdges(q: Graph, float: Graph, io: IoType | undefined, ranges: Map<number, Range>): void {
  if (io === undefined) return;
  const pre: Op[] = [];
  const post: Op[] = [];
  const mkOp = (type: string, input: number, output: number, name: string): Op => ({
    index: 0,
    type,
    version: tfliteOpVersion(type, q.tensors[type === 'QUANTIZE' ? output : input]!.dtype),
    inputs: [input],
    outputs: [output],
    attrs: { rounding: 'HALF_AWAY' },
    source: { format: float.format, opType: type, name },
  });
  /** A new edge tensor of type `io` standing for internal tensor `t`: params from its calibrated range. */
  const edgeTensor = (t: Tensor): number => {
    const f = q.tensors.length;
    const edge: Tensor = { index: f, name: t.name, shape: [...t.shape], dtype: io === 'float' ? 'float32' : io };
    if (io !== 'float') {
      // The calibrated range, or the range the internal tensor's own params cover.
      const s = t.quant!.scale[0]!;
      const zp = t.quant!.zeroPoint[0]!;
      const [lo, hi] = t.dtype === 'int16' ? [-32768, 32767] : [-128, 127];
      const range = ranges.get(t.index) ?? { min: s * (lo - zp), max: s * (hi - zp) };
      const p = io === 'int16' ? symmetricInt16Params(range) : asymmetricParams(range);
      edge.quant = perTensor(p.scale, p.zeroPoint);
    }
    q.tensors.push(edge);
    t.name = `${t.name}_${t.dtype}`;
    return f;
  };
  for (const gi of q.inputs) {
    const t = q.tensors[gi.tensor]!;
    if (t.dtype === io) continue;
    const f = edgeTensor(t);
    pre.push(mkOp('QUANTIZE', f, gi.tensor, t.name));
    gi.tensor = f;
  }
  for (const go of q.outputs) {
    const t = q.tensors[go.tensor]!;
    if (t.dtype === io) continue;
    const f = edgeTensor(t);
    post.push(mkOp(io === 'float' ? 'DEQUANTIZE' : 'QUANTIZE', go.tensor, f, q.tensors[f]!.name));
    go.tensor = f;
  }
  q.ops = [...pre, ...q.ops, ...post].map((o, i) => ({ ...o, index: i }));
}
