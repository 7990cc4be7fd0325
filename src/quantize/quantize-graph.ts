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
 * With io 'float' the graph keeps float inputs/outputs and QUANTIZE/DEQUANTIZE ops are added
 * at the edges; with io 'int8' (the default, what a microcontroller wants) the device feeds
 * int8 directly.
 */
import type { Graph, Op, Quantization, Tensor } from '../ir/graph.ts';
import { UnsupportedError } from '../errors.ts';
import { elementCount, isConstant } from '../ir/graph.ts';
import { activationTensors } from './calibrate.ts';
import { compact, constFloats, typedBytes } from './graph-edit.ts';
import {
  asymmetricParams,
  fitWeightScalesToBias,
  perTensor,
  quantizeBias,
  quantizeToInt8,
  quantizeWeightsPerChannel,
  quantizeWeightsPerTensor,
  weightScalePerTensor,
  weightScalesPerChannel,
  type Range,
  type WidenedScale,
} from './params.ts';

export type IoType = 'int8' | 'float';

export interface QuantizeOptions {
  io: IoType;
  /** Per-channel FULLY_CONNECTED weights (TFLite's default and TFLM's older kernels: per-tensor). */
  fcPerChannel: boolean;
}

/**
 * Ops whose int8 kernels require input and output to share scale and zero point (TFLM's RELU6
 * clamps in the input's quantization; MAXIMUM/MINIMUM compare raw values of every input).
 */
export const SHARED_PARAM_OPS = new Set(['RESHAPE', 'MAX_POOL_2D', 'AVERAGE_POOL_2D', 'CONCATENATION', 'PAD', 'TRANSPOSE', 'SQUEEZE', 'EXPAND_DIMS', 'RELU6', 'MAXIMUM', 'MINIMUM']);

/** Shared-param ops whose every input (not only the first) joins the output's group. */
const ALL_INPUTS_SHARE = new Set(['CONCATENATION', 'MAXIMUM', 'MINIMUM']);

/** Output params the int8 spec fixes: [scale, zeroPoint]. */
export const FIXED_OUTPUT_PARAMS: Record<string, [number, number]> = {
  SOFTMAX: [1 / 256, -128],
  LOGISTIC: [1 / 256, -128],
  TANH: [1 / 128, 0],
  L2_NORMALIZATION: [1 / 128, 0],
};

/** Weight channel axis of the ops whose weights are per-channel. */
const WEIGHT_AXIS: Record<string, number> = { CONV_2D: 0, DEPTHWISE_CONV_2D: 3, FULLY_CONNECTED: 0 };

/** Operator versions for the int8 kernels (TFLite's op version table for int8 tensors). */
const INT8_VERSION: Record<string, number> = {
  CONV_2D: 3,
  DEPTHWISE_CONV_2D: 3,
  FULLY_CONNECTED: 4,
  ADD: 2,
  SUB: 2,
  MUL: 2,
  AVERAGE_POOL_2D: 2,
  MAX_POOL_2D: 2,
  SOFTMAX: 2,
  LOGISTIC: 2,
  TANH: 2,
  CONCATENATION: 2,
  PAD: 2,
  MEAN: 2,
  DEQUANTIZE: 2,
  QUANTIZE: 1,
  TRANSPOSE: 2,
  LEAKY_RELU: 2,
  RELU: 2,
  RELU6: 2,
};

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

/** Per-tensor params for every float activation tensor of `g`. */
export function activationParams(g: Graph, ranges: Map<number, Range>): Map<number, ActivationParams> {
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
    const f = FIXED_OUTPUT_PARAMS[op.type];
    if (f) fixed.set(op.outputs[0]!, { scale: Math.fround(f[0]), zeroPoint: f[1], origin: 'fixed' });
  }
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
        const r = ranges.get(m);
        if (!r) continue;
        min = Math.min(min, r.min);
        max = Math.max(max, r.max);
      }
      if (min === Infinity) {
        min = 0;
        max = 0;
      }
      params = { ...asymmetricParams({ min, max }), origin: 'calibrated' };
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
export function quantizeGraph(g: Graph, ranges: Map<number, Range>, opts: QuantizeOptions): QuantizedGraph {
  const params = activationParams(g, ranges);
  const widened: WidenedWeights[] = [];
  const tensors: Tensor[] = g.tensors.map((t) => ({ ...t, shape: [...t.shape] }));
  const qOf = (i: number): Quantization => {
    const p = params.get(i)!;
    return perTensor(p.scale, p.zeroPoint);
  };
  for (const [i] of params) {
    const t = tensors[i]!;
    t.dtype = 'int8';
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
    const q: Op = { ...op, inputs: [...op.inputs], outputs: [...op.outputs], attrs: { ...op.attrs }, version: INT8_VERSION[op.type] ?? op.version };
    const axis = WEIGHT_AXIS[op.type];
    const xParams = params.get(op.inputs[0]!);
    const mapInput = (ti: number, pos: number): number => {
      if (ti < 0) return ti;
      const src = g.tensors[ti]!;
      if (!isConstant(src)) return ti;
      if (axis !== undefined && pos === 1) {
        const perChannel = op.type !== 'FULLY_CONNECTED' || opts.fcPerChannel;
        const w = constFloats(src);
        let scales = perChannel ? weightScalesPerChannel(w, src.shape, axis) : [weightScalePerTensor(w)];
        // A bias that would not fit its integer at input_scale * weight_scale widens the scale.
        const b = g.tensors[op.inputs[2] ?? -1];
        if (b && isConstant(b) && xParams) {
          const fit = fitWeightScalesToBias(scales, constFloats(b), xParams.scale);
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
      if (axis !== undefined && pos === 2) {
        if (!xParams) {
          throw new UnsupportedError(
            `${op.type} (op #${op.index}, node ${JSON.stringify(op.source.name)}) has a constant as its input: only inputs computed at run time are quantized; fold the constant computation away in the source model and convert again`,
          );
        }
        return addConst(`${ti}:b:${op.index}`, () => {
          const wq = tensors[q.inputs[1]!]!.quant!;
          const r = quantizeBias(constFloats(src), xParams!.scale, wq.scale);
          return { name: src.name, shape: [elementCount(src.shape)], dtype: 'int32', data: typedBytes(r.data), quant: { scale: r.scales, zeroPoint: r.scales.map(() => 0), axis: 0 } };
        });
      }
      if (src.dtype === 'float32') {
        // An operand of an elementwise op or concatenation: per-tensor int8, or the shared
        // params of the op's output where the kernel requires them.
        const shared = SHARED_PARAM_OPS.has(op.type) ? params.get(op.outputs[0]!) : undefined;
        return addConst(`${ti}:a:${shared ? op.outputs[0] : ''}`, () => {
          const v = constFloats(src);
          let lo = 0;
          let hi = 0;
          for (const x of v) {
            lo = Math.min(lo, x);
            hi = Math.max(hi, x);
          }
          const p = shared ?? asymmetricParams({ min: lo, max: hi });
          return { name: src.name, shape: [...src.shape], dtype: 'int8', data: typedBytes(quantizeToInt8(v, p.scale, p.zeroPoint)), quant: perTensor(p.scale, p.zeroPoint, { min: lo, max: hi }) };
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
      if (p) q.attrs.constantValue = Math.max(-128, Math.min(127, Math.round(op.attrs.constantValue / p.scale) + p.zeroPoint));
    }
    return q;
  });

  const out: Graph = { ...g, tensors, ops, inputs: g.inputs.map((i) => ({ ...i })), outputs: g.outputs.map((o) => ({ ...o })), warnings: [...g.warnings] };
  out.meta = { ...g.meta, quantizedBy: 'tinyml convert' };
  if (opts.io === 'float') addFloatEdges(out, g);
  // compact drops the float constants replaced by int8 copies, and renumbers.
  return { graph: compact(out), widened };
}

/** Keeps float graph inputs/outputs: QUANTIZE after each input, DEQUANTIZE before each output. */
function addFloatEdges(q: Graph, float: Graph): void {
  const pre: Op[] = [];
  const post: Op[] = [];
  const mkOp = (type: string, input: number, output: number, name: string): Op => ({
    index: 0,
    type,
    version: INT8_VERSION[type] ?? 1,
    inputs: [input],
    outputs: [output],
    attrs: { rounding: 'HALF_AWAY' },
    source: { format: float.format, opType: type, name },
  });
  for (const gi of q.inputs) {
    const int8T = q.tensors[gi.tensor]!;
    const f = q.tensors.length;
    q.tensors.push({ index: f, name: int8T.name, shape: [...int8T.shape], dtype: 'float32' });
    int8T.name = `${int8T.name}_int8`;
    pre.push(mkOp('QUANTIZE', f, gi.tensor, int8T.name));
    gi.tensor = f;
  }
  for (const go of q.outputs) {
    const int8T = q.tensors[go.tensor]!;
    const f = q.tensors.length;
    q.tensors.push({ index: f, name: int8T.name, shape: [...int8T.shape], dtype: 'float32' });
    int8T.name = `${int8T.name}_int8`;
    post.push(mkOp('DEQUANTIZE', go.tensor, f, q.tensors[f]!.name));
    go.tensor = f;
  }
  q.ops = [...pre, ...q.ops, ...post].map((o, i) => ({ ...o, index: i }));
}
