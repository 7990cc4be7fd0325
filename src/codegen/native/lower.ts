/**
 * Lowering: each IR op becomes one kernel call with every parameter precomputed at generation
 * time (requantization multipliers and shifts, fused-activation ranges, biases with the input
 * offset folded in, softmax scaling). The numbers are computed exactly as TFLite Micro's
 * Prepare() computes them (src/reference/fixedpoint.ts), so the C is bit-exact with it.
 *
 * lowerGraph() checks every op first and, if any cannot be generated, throws one
 * UnsupportedError naming all of them (type, op index, node name), before anything is written.
 */
import { UnsupportedError } from '../../errors.ts';
import { elementCount, tensorBytes, type DType, type Graph, type Op, type Tensor } from '../../ir/graph.ts';
import {
  activationRangeQuantized,
  quantizeMultiplier,
  quantizeMultiplierSmallerThanOneExp,
} from '../../reference/fixedpoint.ts';
import { softmaxParams, softmaxScaleProblem } from '../../reference/int8/params.ts';
import type { MemoryPlan } from '../../plan/memory.ts';
import { floatLiteral, int32Literal } from './c-syntax.ts';
import { lowerConv16Family } from './lower-conv16.ts';
import { lowerShapeOp, type LowerContext } from './lower-shape.ts';
import { SHAPE_OPS } from './ops.ts';
import { lowerElementwise } from './lower-elementwise.ts';
import { chooseNative, lowerDsp, type NativeStrategy } from './dsp.ts';
export { NATIVE_C_OPS } from './ops.ts';

export type CType = 'int8_t' | 'uint8_t' | 'int16_t' | 'int32_t' | 'uint32_t' | 'int64_t' | 'float';

/** A `const` array placed in flash. */
export interface ConstArray {
  name: string;
  ctype: CType;
  values: ArrayLike<number>;
  /** What the array holds, for the comment above it (trusted text only). */
  what: string;
}

export interface LoweredOp {
  index: number;
  type: string;
  /** Untrusted node name; escaped by the generator. */
  nodeName: string;
  /** "[1,49,10,1] int8 -> [1,25,5,64] int8", trusted text. */
  shapes: string;
  /** `static const` parameter definitions for this op (C lines). */
  params: string[];
  /** The statement(s) that run the op. */
  call: string[];
}

export interface LoweredModel {
  consts: ConstArray[];
  ops: LoweredOp[];
  /** Bytes of all const arrays (weights, folded biases, multipliers, shifts, constant operands). */
  constBytes: number;
}

class OpRefusal extends Error {}

const CTYPE: Partial<Record<DType, CType>> = { int8: 'int8_t', int16: 'int16_t', int32: 'int32_t', float32: 'float' };
const CTYPE_BYTES: Record<CType, number> = { int8_t: 1, uint8_t: 1, int16_t: 2, int32_t: 4, uint32_t: 4, int64_t: 8, float: 4 };


export function refuse(what: string): never {
  throw new OpRefusal(what);
}

export function scaleOf(t: Tensor): number {
  const s = t.quant?.scale[0];
  if (s === undefined) refuse(`tensor #${t.index} has no quantization scale`);
  return Math.fround(s);
}

export function zpOf(t: Tensor): number {
  return t.quant?.zeroPoint[0] ?? 0;
}

export function need(t: Tensor, ...dtypes: DType[]): void {
  if (!dtypes.includes(t.dtype)) refuse(`tensor #${t.index} is ${t.dtype} (the native kernels need ${dtypes.join(' or ')})`);
}

export function decode(t: Tensor): Int8Array | Int16Array | Int32Array | Float32Array {
  if (t.data === undefined) refuse(`tensor #${t.index} should be constant`);
  const n = elementCount(t.shape);
  const copy = new Uint8Array(t.data.subarray(0, tensorBytes(t)));
  switch (t.dtype) {
    case 'int8':
      return new Int8Array(copy.buffer, 0, n);
    case 'int16':
      return new Int16Array(copy.buffer, 0, n);
    case 'int32':
      return new Int32Array(copy.buffer, 0, n);
    case 'float32':
      return new Float32Array(copy.buffer, 0, n);
    default:
      refuse(`constant tensor #${t.index} has dtype ${t.dtype}`);
  }
}

export function dtypeRange(dtype: DType): { min: number; max: number } {
  if (dtype === 'int8') return { min: -128, max: 127 };
  if (dtype === 'int16') return { min: -32768, max: 32767 };
  return { min: -2147483648, max: 2147483647 };
}

export function numAttr(op: Op, key: string, fallback?: number): number {
  const v = op.attrs[key];
  if (typeof v === 'number') return v;
  if (fallback !== undefined) return fallback;
  refuse(`attribute '${key}' is missing`);
}

export function padsAttr(op: Op): number[] {
  const v = op.attrs['pads'];
  if (Array.isArray(v) && v.length >= 2 && v.every((x) => typeof x === 'number')) return v as number[];
  return [0, 0, 0, 0];
}

export function activation(op: Op): string {
  const a = op.attrs['fusedActivation'];
  return typeof a === 'string' ? a : 'NONE';
}

export function checkActivation(op: Op): void {
  const a = activation(op);
  if (!['NONE', 'RELU', 'RELU6', 'RELU_N1_TO_1'].includes(a)) refuse(`fused activation ${a} is not supported`);
}

/** Which model tensor a const array comes from, for its comment (escaped by the generator). */
export function tensorText(t: Tensor): string {
  return `tensor #${t.index} "${t.name}" [${t.shape.join(',')}]`;
}

function shapeText(t: Tensor): string {
  return `[${t.shape.join(',')}] ${t.dtype}`;
}

export class Lowerer {
  consts: ConstArray[] = [];
  constNames = new Set<string>();
  /** Const array of each constant tensor used as a plain operand, by tensor index. */
  constOperands = new Map<number, string>();

  constructor(
    readonly graph: Graph,
    readonly plan: MemoryPlan,
    /** Which ops the dsp kernel set runs (default: none, every op gets its portable kernel). */
    readonly strategy: NativeStrategy = chooseNative(graph),
  ) {}

  tensor(i: number): Tensor {
    const t = this.graph.tensors[i];
    if (t === undefined) refuse(`tensor index ${i} does not exist`);
    return t;
  }

  addConst(name: string, ctype: CType, values: ArrayLike<number>, what: string): string {
    this.consts.push({ name, ctype, values, what });
    return name;
  }

  /** The helpers a family lowering module (lower-<family>.ts) works with. */
  context(): LowerContext {
    return {
      graph: this.graph,
      plan: this.plan,
      ptr: (op, i, role) => this.ptr(op, i, role),
      addConst: (name, ctype, values, what) => this.addConst(name, ctype, values, what),
      refuse,
    };
  }

  /** A C expression pointing at tensor `i`: into the arena, or at a const array for constants. */
  ptr(op: Op, i: number, role: string): string {
    const t = this.tensor(i);
    const ctype = CTYPE[t.dtype];
    if (ctype === undefined) refuse(`tensor #${i} has dtype ${t.dtype}`);
    if (t.data !== undefined && !t.variable) {
      // One array per constant tensor, however many ops read it (a shared constant must not
      // make the flash grow with the number of readers).
      const known = this.constOperands.get(i);
      if (known !== undefined) return known;
      const name = this.addConst(`tml_op${op.index}_${role}`, ctype, decode(t), `constant operand ${tensorText(t)}`);
      this.constOperands.set(i, name);
      return name;
    }
    const off = this.plan.tensorOffset.get(i);
    if (off === undefined) refuse(`tensor #${i} has no place in the memory plan`);
    return `((${ctype} *)(tml_arena + ${off}))`;
  }

  lower(op: Op): LoweredOp {
    const ins = op.inputs.filter((i) => i >= 0).map((i) => this.tensor(i));
    const outs = op.outputs.map((i) => this.tensor(i));
    const base = {
      index: op.index,
      type: op.type,
      nodeName: op.source.name,
      shapes: `${ins.filter((t) => t.data === undefined || t.variable).map(shapeText).join(', ')} -> ${outs.map(shapeText).join(', ')}`,
    };
    const choice = this.strategy.choices.get(op.index);
    const body = choice ? lowerDsp({ addConst: (...a) => this.addConst(...a), ptr: (...a) => this.ptr(...a), portable: (o) => this.body(o) }, this.graph, this.plan, op, choice) : this.body(op);
    return { ...base, ...body };
  }

  body(op: Op): { params: string[]; call: string[] } {
    // 16x8 convolutions/pools/softmax, TRANSPOSE_CONV, LSTM: lower-conv16.ts.
    const conv16 = lowerConv16Family(this, op);
    if (conv16 !== undefined) return conv16;
    // Element-wise arithmetic and activations: lower-elementwise.ts.
    const elementwise = lowerElementwise(this, op);
    if (elementwise !== undefined) return elementwise;
    switch (op.type) {
      case 'CONV_2D':
      case 'DEPTHWISE_CONV_2D':
        return this.conv(op);
      case 'FULLY_CONNECTED':
        return this.fullyConnected(op);
      case 'AVERAGE_POOL_2D':
      case 'MAX_POOL_2D':
        return this.pool(op);
      case 'RESHAPE':
        return this.reshape(op);
      case 'SOFTMAX':
        return this.softmax(op);
      case 'ADD':
        return this.add(op);
      case 'QUANTIZE':
        return this.quantize(op);
      case 'DEQUANTIZE':
        return this.dequantize(op);
      case 'SVDF':
        return this.svdf(op);
      default:
        if (SHAPE_OPS.includes(op.type)) return lowerShapeOp(this.context(), op);
        refuse('has no native C kernel');
    }
  }

  /** Per-channel (or per-tensor) requantization of a convolution-like op; returns the struct. */
  requant(op: Op, x: Tensor, w: Tensor, y: Tensor, channels: number, perTensorFloatProduct: boolean): string[] {
    const wScales = w.quant?.scale ?? [];
    if (wScales.length !== 1 && wScales.length !== channels) refuse(`weights have ${wScales.length} scales for ${channels} channels`);
    if ((w.quant?.zeroPoint ?? [0]).some((z) => z !== 0)) refuse('weights have a non-zero zero point (int8 weights must be symmetric)');
    const xs = scaleOf(x);
    const ys = scaleOf(y);
    const perChannel = wScales.length > 1;
    const n = perChannel ? channels : 1;
    const mult = new Int32Array(n);
    const shift = new Int32Array(n);
    for (let c = 0; c < n; c++) {
      const ws = Math.fround(wScales[c]!);
      const real = perTensorFloatProduct && !perChannel ? Math.fround(xs * ws) / ys : (xs * ws) / ys;
      const q = quantizeMultiplier(real);
      mult[c] = q.multiplier;
      shift[c] = q.shift;
    }
    const m = this.addConst(`tml_op${op.index}_multiplier`, 'int32_t', mult, 'requantization multipliers (Q0.31)');
    const s = this.addConst(`tml_op${op.index}_shift`, 'int32_t', shift, 'requantization shifts (positive = left)');
    const range = dtypeRange(y.dtype);
    const act = activationRangeQuantized(activation(op), ys, zpOf(y), range.min, range.max);
    return [
      `static const tml_requant tml_op${op.index}_requant = {`,
      `  ${-zpOf(x)}, ${zpOf(y)}, ${act.min}, ${act.max}, ${perChannel ? 1 : 0}, ${m}, ${s}`,
      '};',
    ];
  }

  /** The model's bias plus input_offset * sum of each output channel's weights. */
  foldedBias(op: Op, biasIndex: number | undefined, channels: number, weightSums: Int32Array | number[], inputOffset: number): string {
    const folded = new Int32Array(channels);
    if (biasIndex !== undefined && biasIndex >= 0) {
      const b = this.tensor(biasIndex);
      need(b, 'int32');
      const bias = decode(b);
      if (bias.length !== channels) refuse(`bias has ${bias.length} values for ${channels} channels`);
      for (let c = 0; c < channels; c++) folded[c] = bias[c]!;
    }
    for (let c = 0; c < channels; c++) {
      const v = folded[c]! + inputOffset * weightSums[c]!;
      // The native kernels fold input_offset * sum(weights) into the bias; TFLM adds them per inference.
      if (v < -2147483648 || v > 2147483647) {
        refuse(`channel ${c}: bias ${folded[c]} + input offset ${inputOffset} x weight sum ${weightSums[c]} overflows int32 (the native C folds them into one constant): build it with --runtime tflm, or re-quantize with tinyml convert`);
      }
      folded[c] = v;
    }
    return this.addConst(`tml_op${op.index}_bias`, 'int32_t', folded, 'bias with the input offset folded in');
  }

  conv(op: Op): { params: string[]; call: string[] } {
    const x = this.tensor(op.inputs[0]!);
    const w = this.tensor(op.inputs[1]!);
    const y = this.tensor(op.outputs[0]!);
    need(x, 'int8');
    need(w, 'int8');
    need(y, 'int8');
    checkActivation(op);
    if (x.shape.length !== 4 || y.shape.length !== 4 || w.shape.length !== 4) refuse('needs 4-D NHWC tensors');
    const depthwise = op.type === 'DEPTHWISE_CONV_2D';
    const [batches, inH, inW, inC] = x.shape as [number, number, number, number];
    const [, outH, outW, outC] = y.shape as [number, number, number, number];
    const kH = w.shape[1]!;
    const kW = w.shape[2]!;
    if (!depthwise) {
      const groups = numAttr(op, 'groups', 1);
      if (groups !== 1 || w.shape[3] !== inC || w.shape[0] !== outC) refuse('grouped convolution is not supported');
    } else if (w.shape[3] !== outC || outC % inC !== 0) {
      refuse(`depthwise filter [${w.shape}] does not match ${inC} -> ${outC} channels`);
    }
    const pads = padsAttr(op);
    let filter = decode(w) as Int8Array;
    // A depthwise convolution of a single input channel is an ordinary convolution whose
    // filter is the depthwise filter transposed to [out_c, k_h, k_w, 1]: same sums, and the
    // conv kernel's contiguous dot products are faster.
    const asConv = depthwise && inC === 1;
    if (asConv) {
      const t = new Int8Array(filter.length);
      for (let tap = 0; tap < kH * kW; tap++) for (let oc = 0; oc < outC; oc++) t[oc * kH * kW + tap] = filter[tap * outC + oc]!;
      filter = t;
    }
    const sums = new Int32Array(outC);
    if (depthwise && !asConv) for (let i = 0; i < filter.length; i++) sums[i % outC]! += filter[i]!;
    else {
      const per = kH * kW * (asConv ? 1 : inC);
      for (let i = 0; i < filter.length; i++) sums[Math.floor(i / per)]! += filter[i]!;
    }
    const f = this.addConst(
      `tml_op${op.index}_filter`,
      'int8_t',
      filter,
      `${asConv ? 'depthwise filter' : 'filter'} ${tensorText(w)}${asConv ? `, transposed to a conv filter [${outC},${kH},${kW},1]` : ''}`,
    );
    const b = this.foldedBias(op, op.inputs[2], outC, sums, -zpOf(x));
    const dims = [
      `static const tml_window_dims tml_op${op.index}_dims = {`,
      `  ${batches}, ${inH}, ${inW}, ${inC}, ${outH}, ${outW}, ${outC}, ${kH}, ${kW},`,
      `  ${numAttr(op, 'strideH', 1)}, ${numAttr(op, 'strideW', 1)}, ${numAttr(op, 'dilationH', 1)}, ${numAttr(op, 'dilationW', 1)}, ${pads[0]}, ${pads[1]}`,
      '};',
    ];
    const params = [...dims, ...this.requant(op, x, w, y, outC, false)];
    const xp = this.ptr(op, x.index, 'input');
    const yp = this.ptr(op, y.index, 'output');
    const call = depthwise && !asConv
      ? `tml_depthwise_conv2d_s8(&tml_op${op.index}_dims, &tml_op${op.index}_requant, ${outC / inC}, ${xp}, ${f}, ${b}, ${yp});`
      : `tml_conv2d_s8(&tml_op${op.index}_dims, &tml_op${op.index}_requant, ${xp}, ${f}, ${b}, ${yp});`;
    return { params, call: [call] };
  }

  fullyConnected(op: Op): { params: string[]; call: string[] } {
    const x = this.tensor(op.inputs[0]!);
    const w = this.tensor(op.inputs[1]!);
    const y = this.tensor(op.outputs[0]!);
    need(x, 'int8');
    need(w, 'int8');
    need(y, 'int8');
    checkActivation(op);
    if (w.data === undefined) refuse('needs constant weights');
    if (w.shape.length !== 2) refuse('needs 2-D weights [units, depth]');
    const [units, depth] = w.shape as [number, number];
    const batches = elementCount(y.shape) / units;
    if (elementCount(x.shape) !== batches * depth) refuse(`input of ${elementCount(x.shape)} values is not ${batches} x ${depth}`);
    const weights = decode(w) as Int8Array;
    const sums = new Int32Array(units);
    for (let i = 0; i < weights.length; i++) sums[Math.floor(i / depth)]! += weights[i]!;
    const wn = this.addConst(`tml_op${op.index}_weights`, 'int8_t', weights, `weights ${tensorText(w)}`);
    const b = this.foldedBias(op, op.inputs[2], units, sums, -zpOf(x));
    const params = this.requant(op, x, w, y, units, true);
    const call = `tml_fully_connected_s8(${batches}, ${depth}, ${units}, &tml_op${op.index}_requant, ${this.ptr(op, x.index, 'input')}, ${wn}, ${b}, ${this.ptr(op, y.index, 'output')});`;
    return { params, call: [call] };
  }

  pool(op: Op): { params: string[]; call: string[] } {
    const x = this.tensor(op.inputs[0]!);
    const y = this.tensor(op.outputs[0]!);
    need(x, 'int8');
    need(y, 'int8');
    checkActivation(op);
    if (x.shape.length !== 4 || y.shape.length !== 4) refuse('needs 4-D NHWC tensors');
    if (scaleOf(x) !== scaleOf(y) || zpOf(x) !== zpOf(y)) refuse('input and output quantization differ');
    const [batches, inH, inW, inC] = x.shape as [number, number, number, number];
    const [, outH, outW, outC] = y.shape as [number, number, number, number];
    const pads = padsAttr(op);
    const range = activationRangeQuantized(activation(op), scaleOf(y), zpOf(y), -128, 127);
    const params = [
      `static const tml_window_dims tml_op${op.index}_dims = {`,
      `  ${batches}, ${inH}, ${inW}, ${inC}, ${outH}, ${outW}, ${outC}, ${numAttr(op, 'filterH')}, ${numAttr(op, 'filterW')},`,
      `  ${numAttr(op, 'strideH', 1)}, ${numAttr(op, 'strideW', 1)}, 1, 1, ${pads[0]}, ${pads[1]}`,
      '};',
    ];
    const args = `&tml_op${op.index}_dims, ${range.min}, ${range.max}, ${this.ptr(op, x.index, 'input')}, ${this.ptr(op, y.index, 'output')}`;
    const call =
      op.type === 'AVERAGE_POOL_2D' ? [`if (tml_avg_pool2d_s8(${args}) != 0) return ${op.index + 1};`] : [`tml_max_pool2d_s8(${args});`];
    return { params, call };
  }

  reshape(op: Op): { params: string[]; call: string[] } {
    const x = this.tensor(op.inputs[0]!);
    const y = this.tensor(op.outputs[0]!);
    if (tensorBytes(x) !== tensorBytes(y)) refuse('input and output sizes differ');
    const yOff = this.plan.tensorOffset.get(y.index);
    const xOff = this.plan.tensorOffset.get(x.index);
    if (xOff !== undefined && xOff === yOff) return { params: [], call: ['/* aliased: the output shares the input\'s bytes, nothing to do */'] };
    return { params: [], call: [`memcpy(${this.ptr(op, y.index, 'output')}, ${this.ptr(op, x.index, 'input')}, ${tensorBytes(y)}u);`] };
  }

  softmax(op: Op): { params: string[]; call: string[] } {
    const x = this.tensor(op.inputs[0]!);
    const y = this.tensor(op.outputs[0]!);
    need(x, 'int8');
    need(y, 'int8', 'int16');
    const rank = x.shape.length;
    const axis = numAttr(op, 'axis', rank - 1);
    if (axis !== rank - 1 || op.attrs['coerce2d'] === true) refuse('softmax over an axis other than the last is not supported');
    const depth = x.shape[rank - 1]!;
    const scaleProblem = softmaxScaleProblem(numAttr(op, 'beta', 1), scaleOf(x));
    if (scaleProblem) refuse(scaleProblem);
    const { inputMultiplier, inputLeftShift, diffMin } = softmaxParams(numAttr(op, 'beta', 1), scaleOf(x));
    const params = [
      `static const tml_softmax_params tml_op${op.index}_params = {`,
      `  ${elementCount(x.shape) / depth}, ${depth}, ${int32Literal(inputMultiplier)}, ${inputLeftShift}, ${int32Literal(diffMin)}`,
      '};',
    ];
    const fn = y.dtype === 'int8' ? 'tml_softmax_s8' : 'tml_softmax_s8_s16';
    return { params, call: [`${fn}(&tml_op${op.index}_params, ${this.ptr(op, x.index, 'input')}, ${this.ptr(op, y.index, 'output')});`] };
  }

  add(op: Op): { params: string[]; call: string[] } {
    const a = this.tensor(op.inputs[0]!);
    const b = this.tensor(op.inputs[1]!);
    const y = this.tensor(op.outputs[0]!);
    need(a, 'int8');
    need(b, 'int8');
    need(y, 'int8');
    checkActivation(op);
    if (y.shape.length > 4) refuse('broadcasting over more than 4 dimensions is not supported');
    const s1 = scaleOf(a);
    const s2 = scaleOf(b);
    const twiceMax = 2 * Math.max(s1, s2);
    const leftShift = 20;
    const m1 = quantizeMultiplierSmallerThanOneExp(s1 / twiceMax);
    const m2 = quantizeMultiplierSmallerThanOneExp(s2 / twiceMax);
    const mo = quantizeMultiplierSmallerThanOneExp(twiceMax / (2 ** leftShift * scaleOf(y)));
    const act = activationRangeQuantized(activation(op), scaleOf(y), zpOf(y), -128, 127);
    const out4 = [...Array(4 - y.shape.length).fill(1), ...y.shape] as number[];
    const strides = (t: Tensor): number[] => {
      const s4 = [...Array(4 - t.shape.length).fill(1), ...t.shape] as number[];
      const st = [0, 0, 0, 0];
      let acc = 1;
      for (let d = 3; d >= 0; d--) {
        if (s4[d] !== 1 && s4[d] !== out4[d]) refuse(`shape [${t.shape}] does not broadcast to [${y.shape}]`);
        st[d] = s4[d] === 1 && out4[d] !== 1 ? 0 : acc;
        acc *= s4[d]!;
      }
      return st;
    };
    const broadcast = elementCount(a.shape) !== elementCount(y.shape) || elementCount(b.shape) !== elementCount(y.shape) ? 1 : 0;
    const params = [
      `static const tml_add_params tml_op${op.index}_params = {`,
      `  {${out4.join(', ')}}, {${strides(a).join(', ')}}, {${strides(b).join(', ')}}, ${broadcast}, ${leftShift},`,
      `  ${-zpOf(a)}, ${-zpOf(b)}, ${m1.multiplier}, ${m1.shift}, ${m2.multiplier}, ${m2.shift}, ${mo.multiplier}, ${mo.shift},`,
      `  ${zpOf(y)}, ${act.min}, ${act.max}`,
      '};',
    ];
    return {
      params,
      call: [`tml_add_s8(&tml_op${op.index}_params, ${this.ptr(op, a.index, 'input1')}, ${this.ptr(op, b.index, 'input2')}, ${this.ptr(op, y.index, 'output')});`],
    };
  }

  quantize(op: Op): { params: string[]; call: string[] } {
    const x = this.tensor(op.inputs[0]!);
    const y = this.tensor(op.outputs[0]!);
    const n = elementCount(y.shape);
    if ((y.quant?.scale.length ?? 0) > 1) refuse('per-axis output quantization is not supported');
    const xp = this.ptr(op, x.index, 'input');
    const yp = this.ptr(op, y.index, 'output');
    if (x.dtype === 'float32') {
      need(y, 'int8', 'int16');
      const halfEven = op.attrs['rounding'] === 'HALF_EVEN' ? 1 : 0;
      const fn = y.dtype === 'int8' ? 'tml_quantize_f32_s8' : 'tml_quantize_f32_s16';
      return { params: [], call: [`${fn}(${n}, ${floatLiteral(scaleOf(y))}, ${zpOf(y)}, ${halfEven}, ${xp}, ${yp});`] };
    }
    const short = { int8: 's8', int16: 's16', int32: 's32' } as Record<string, string>;
    const fn = `tml_requantize_${short[x.dtype] ?? x.dtype}_${short[y.dtype] ?? y.dtype}`;
    const available = ['tml_requantize_s16_s8', 'tml_requantize_s8_s8', 'tml_requantize_s8_s16', 'tml_requantize_s8_s32', 'tml_requantize_s16_s32', 'tml_requantize_s16_s16'];
    if (!available.includes(fn)) refuse(`requantizing ${x.dtype} to ${y.dtype} is not supported`);
    const q = quantizeMultiplier(scaleOf(x) / scaleOf(y));
    const params = [
      `static const tml_requantize_params tml_op${op.index}_params = { ${n}, ${zpOf(x)}, ${zpOf(y)}, ${q.multiplier}, ${q.shift} };`,
    ];
    return { params, call: [`${fn}(&tml_op${op.index}_params, ${xp}, ${yp});`] };
  }

  dequantize(op: Op): { params: string[]; call: string[] } {
    const x = this.tensor(op.inputs[0]!);
    const y = this.tensor(op.outputs[0]!);
    need(x, 'int8', 'int16');
    need(y, 'float32');
    if ((x.quant?.scale.length ?? 0) > 1) refuse('per-axis dequantization is not supported');
    const fn = x.dtype === 'int8' ? 'tml_dequantize_s8_f32' : 'tml_dequantize_s16_f32';
    const call = `${fn}(${elementCount(y.shape)}, ${floatLiteral(scaleOf(x))}, ${zpOf(x)}, ${this.ptr(op, x.index, 'input')}, ${this.ptr(op, y.index, 'output')});`;
    return { params: [], call: [call] };
  }

  svdf(op: Op): { params: string[]; call: string[] } {
    const x = this.tensor(op.inputs[0]!);
    const wf = this.tensor(op.inputs[1]!);
    const wt = this.tensor(op.inputs[2]!);
    const biasIndex = op.inputs[3] ?? -1;
    const state = this.tensor(op.inputs[4]!);
    const y = this.tensor(op.outputs[0]!);
    need(x, 'int8');
    need(wf, 'int8');
    need(y, 'int8');
    need(state, 'int16', 'int8');
    need(wt, state.dtype);
    if (!state.variable) refuse('the state input is not a variable tensor');
    const rank = numAttr(op, 'rank', 1);
    const [batches, nInput] = x.shape as [number, number];
    const [nFilter, nMemory] = wt.shape as [number, number];
    if (nFilter % rank !== 0) refuse(`${nFilter} filters are not a multiple of rank ${rank}`);
    const f32 = Math.fround;
    const q1 = quantizeMultiplier(f32(f32(scaleOf(x) * scaleOf(wf)) / scaleOf(state)));
    const q2 = quantizeMultiplier(f32(f32(scaleOf(state) * scaleOf(wt)) / scaleOf(y)));
    const wfn = this.addConst(`tml_op${op.index}_weights_feature`, 'int8_t', decode(wf), `feature weights ${tensorText(wf)}`);
    const wtn = this.addConst(`tml_op${op.index}_weights_time`, CTYPE[wt.dtype]!, decode(wt), `time weights ${tensorText(wt)}`);
    let bn = '0';
    if (biasIndex >= 0) {
      const b = this.tensor(biasIndex);
      need(b, 'int32');
      bn = this.addConst(`tml_op${op.index}_bias`, 'int32_t', decode(b), 'bias');
    }
    const params = [
      `static const tml_svdf_params tml_op${op.index}_params = {`,
      `  ${batches}, ${nInput}, ${nFilter}, ${nMemory}, ${rank}, ${zpOf(x)}, ${zpOf(state)}, ${zpOf(y)},`,
      `  ${q1.multiplier}, ${q1.shift}, ${q2.multiplier}, ${q2.shift}`,
      '};',
    ];
    const fn = state.dtype === 'int16' ? 'tml_svdf_s8_s16' : 'tml_svdf_s8_s8';
    const call = `${fn}(&tml_op${op.index}_params, ${this.ptr(op, x.index, 'input')}, ${wfn}, ${wtn}, ${bn}, ${this.ptr(op, state.index, 'state')}, ${this.ptr(op, y.index, 'output')});`;
    return { params, call: [call] };
  }
}

/**
 * Why each op of `graph` cannot be generated (op index -> reason), from the very lowering
 * lowerGraph runs; empty when the native backend generates the whole graph.
 */
export function nativeOpRefusals(graph: Graph, plan: MemoryPlan): Map<number, string> {
  const l = new Lowerer(graph, plan);
  const refused = new Map<number, string>();
  for (const op of graph.ops) {
    try {
      l.lower(op);
    } catch (e) {
      if (!(e instanceof OpRefusal)) throw e;
      refused.set(op.index, e.message);
    }
  }
  return refused;
}

/**
 * Lowers every op; throws one UnsupportedError naming every op that cannot be generated.
 * `strategy` (from chooseNative, the same one the plan was made with) says which ops the dsp
 * kernel set runs; without it every op gets its portable kernel.
 */
export function lowerGraph(graph: Graph, plan: MemoryPlan, strategy: NativeStrategy = chooseNative(graph)): LoweredModel {
  const l = new Lowerer(graph, plan, strategy);
  const ops: LoweredOp[] = [];
  const problems: string[] = [];
  for (const i of strategy.request.order ?? graph.ops.map((_, k) => k)) {
    const op = graph.ops[i]!;
    try {
      ops.push(l.lower(op));
    } catch (e) {
      if (!(e instanceof OpRefusal)) throw e;
      problems.push(`${op.type} (op #${op.index}, node ${JSON.stringify(op.source.name)}): ${e.message}`);
    }
  }
  if (problems.length > 0) {
    throw new UnsupportedError(
      `the native C backend cannot generate ${problems.length} op${problems.length > 1 ? 's' : ''}: ${problems.join('; ')}. ` +
        `Replace or remove these ops in the source model, or use a backend that has them (\`tinyml inspect <model>\` lists op support per backend)`,
    );
  }
  const constBytes = l.consts.reduce((s, c) => s + c.values.length * CTYPE_BYTES[c.ctype], 0);
  return { consts: l.consts, ops, constBytes };
}

