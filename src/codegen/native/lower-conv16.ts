/**
 * Lowering of the convolution family's 16x8 forms, TRANSPOSE_CONV and the integer LSTM into
 * calls of firmware/kernels/{conv_s16,pooling_s16,softmax_s16,transpose_conv,lstm}.c
 * (declared in firmware/include/tml_kernels_conv16.h).
 *
 * Every constant is the one the int8 reference computes at Prepare (src/reference/int8:
 * conv16.ts, fully-connected.ts, softmax-s16.ts, transpose-conv.ts, lstm.ts), through the same
 * parameter functions, so the C is bit-exact with it and with TFLite Micro.
 */
import { elementCount, type Graph, type Op, type Tensor } from '../../ir/graph.ts';
import type { MemoryPlan } from '../../plan/memory.ts';
import { activationRangeQuantized, type QuantizedMultiplier } from '../../reference/fixedpoint.ts';
import { decodeBytes, type PrepareContext } from '../../reference/int8/common.ts';
import { LSTM_GATES, planIntegerLstm } from '../../reference/int8/lstm.ts';
import { fullyConnectedPerTensorMultiplier, perChannelMultipliers } from '../../reference/int8/params.ts';
import { softmaxS16Multiplier, softmaxS16Tables } from '../../reference/int8/softmax-s16.ts';
import { int32Literal } from './c-syntax.ts';
import {
  activation,
  checkActivation,
  decode,
  need,
  numAttr,
  padsAttr,
  refuse,
  scaleOf,
  tensorText,
  zpOf,
  type ConstArray,
  type CType,
} from './lower.ts';

/** What a family lowering needs from the lowerer (src/codegen/native/lower.ts). */
export interface LowerContext {
  readonly graph: Graph;
  readonly plan: MemoryPlan;
  readonly consts: ConstArray[];
  tensor(i: number): Tensor;
  addConst(name: string, ctype: CType, values: ArrayLike<number>, what: string): string;
  ptr(op: Op, i: number, role: string): string;
}

export interface LoweredBody {
  params: string[];
  call: string[];
}

/**
 * The lowering of `op` when it belongs to this family (an int16 CONV_2D, DEPTHWISE_CONV_2D,
 * FULLY_CONNECTED, pool or SOFTMAX; any TRANSPOSE_CONV or UNIDIRECTIONAL_SEQUENCE_LSTM),
 * otherwise undefined. Throws the lowerer's refusal for a form the kernels do not cover.
 */
export function lowerConv16Family(l: LowerContext, op: Op): LoweredBody | undefined {
  const firstInput = op.inputs[0] !== undefined && op.inputs[0] >= 0 ? l.tensor(op.inputs[0]) : undefined;
  const int16 = firstInput?.dtype === 'int16';
  switch (op.type) {
    case 'CONV_2D':
    case 'DEPTHWISE_CONV_2D':
      return int16 ? conv16(l, op) : undefined;
    case 'FULLY_CONNECTED':
      return int16 ? fullyConnected16(l, op) : undefined;
    case 'AVERAGE_POOL_2D':
    case 'MAX_POOL_2D':
      return int16 ? pool16(l, op) : undefined;
    case 'SOFTMAX':
      return int16 ? softmax16(l, op) : undefined;
    case 'TRANSPOSE_CONV':
      return transposeConv(l, op);
    case 'UNIDIRECTIONAL_SEQUENCE_LSTM':
      return lstm(l, op);
    default:
      return undefined;
  }
}

/** An int64 constant (a 16x8 bias) as exact JS numbers. */
function decodeInt64(t: Tensor): number[] {
  if (t.data === undefined) refuse(`tensor #${t.index} should be constant`);
  const values = decodeBytes('int64', t.data, elementCount(t.shape)) as BigInt64Array;
  return Array.from(values, (v) => {
    // The int64 requantizer needs |acc| < 2^47; a bias beyond 2^53 is no real model's.
    if (v > BigInt(Number.MAX_SAFE_INTEGER) || v < BigInt(Number.MIN_SAFE_INTEGER)) refuse(`int64 bias ${v} is out of range`);
    return Number(v);
  });
}

/** The `tml_requant` struct of a 16x8 op (offsets 0) and its multiplier/shift arrays. */
function requant16(l: LowerContext, op: Op, y: Tensor, qs: QuantizedMultiplier[], perChannel: boolean, wide: boolean): string[] {
  if (wide && qs.some((q) => q.shift > 14)) refuse('a requantization scale is too large for the int64 requantizer (2^14 or more)');
  const m = l.addConst(`tml_op${op.index}_multiplier`, 'int32_t', qs.map((q) => q.multiplier), 'requantization multipliers (Q0.31)');
  const s = l.addConst(`tml_op${op.index}_shift`, 'int32_t', qs.map((q) => q.shift), 'requantization shifts (positive = left)');
  const act = activationRangeQuantized(activation(op), scaleOf(y), 0, -32768, 32767);
  return [`static const tml_requant tml_op${op.index}_requant = {`, `  0, 0, ${act.min}, ${act.max}, ${perChannel ? 1 : 0}, ${m}, ${s}`, '};'];
}

function symmetric16(x: Tensor, y: Tensor): void {
  need(x, 'int16');
  need(y, 'int16');
  if (zpOf(x) !== 0 || zpOf(y) !== 0) refuse(`has int16 zero points ${zpOf(x)} / ${zpOf(y)} (the 16x8 scheme is symmetric)`);
}

function weightScales(w: Tensor, channels: number): number[] {
  const scales = w.quant?.scale ?? [];
  if (scales.length !== 1 && scales.length !== channels) refuse(`weights have ${scales.length} scales for ${channels} channels`);
  if ((w.quant?.zeroPoint ?? [0]).some((z) => z !== 0)) refuse('weights have a non-zero zero point (int8 weights must be symmetric)');
  return scales;
}

/** The bias input as a const array name ('0' when absent) and its width. */
function bias16(l: LowerContext, op: Op, index: number | undefined, channels: number): { name: string; int32: boolean } {
  if (index === undefined || index < 0) return { name: '0', int32: false };
  const b = l.tensor(index);
  need(b, 'int64', 'int32');
  const values = b.dtype === 'int64' ? decodeInt64(b) : Array.from(decode(b));
  if (values.length !== channels) refuse(`bias has ${values.length} values for ${channels} channels`);
  return { name: l.addConst(`tml_op${op.index}_bias`, b.dtype === 'int64' ? 'int64_t' : 'int32_t', values, `bias ${tensorText(b)}`), int32: b.dtype === 'int32' };
}

function dimsStruct(op: Op, x: Tensor, y: Tensor, kH: number, kW: number, dilated: boolean): string[] {
  const [batches, inH, inW, inC] = x.shape as [number, number, number, number];
  const [, outH, outW, outC] = y.shape as [number, number, number, number];
  const pads = padsAttr(op);
  return [
    `static const tml_window_dims tml_op${op.index}_dims = {`,
    `  ${batches}, ${inH}, ${inW}, ${inC}, ${outH}, ${outW}, ${outC}, ${kH}, ${kW},`,
    `  ${numAttr(op, 'strideH', 1)}, ${numAttr(op, 'strideW', 1)}, ${dilated ? numAttr(op, 'dilationH', 1) : 1}, ${dilated ? numAttr(op, 'dilationW', 1) : 1}, ${pads[0]}, ${pads[1]}`,
    '};',
  ];
}

function conv16(l: LowerContext, op: Op): LoweredBody {
  const x = l.tensor(op.inputs[0]!);
  const w = l.tensor(op.inputs[1]!);
  const y = l.tensor(op.outputs[0]!);
  symmetric16(x, y);
  need(w, 'int8');
  checkActivation(op);
  if (x.shape.length !== 4 || y.shape.length !== 4 || w.shape.length !== 4) refuse('needs 4-D NHWC tensors');
  const depthwise = op.type === 'DEPTHWISE_CONV_2D';
  const inC = x.shape[3]!;
  const outC = y.shape[3]!;
  if (depthwise && (w.shape[3] !== outC || outC % inC !== 0)) refuse(`depthwise filter [${w.shape}] does not match ${inC} -> ${outC} channels`);
  if (!depthwise && (w.shape[0] !== outC || inC % w.shape[3]! !== 0 || outC % (inC / w.shape[3]!) !== 0)) {
    refuse(`filter [${w.shape}] does not match ${inC} -> ${outC} channels`);
  }
  const bias = bias16(l, op, op.inputs[2], outC);
  if (depthwise && bias.int32) refuse('has an int32 bias (a 16x8 depthwise convolution takes an int64 bias, as TFLite Micro reads it)');
  const qs = perChannelMultipliers(scaleOf(x), weightScales(w, outC), scaleOf(y), outC);
  const f = l.addConst(`tml_op${op.index}_filter`, 'int8_t', decode(w), `filter ${tensorText(w)}`);
  const params = [...dimsStruct(op, x, y, w.shape[1]!, w.shape[2]!, true), ...requant16(l, op, y, qs, true, !bias.int32)];
  const xp = l.ptr(op, x.index, 'input');
  const yp = l.ptr(op, y.index, 'output');
  const d = `&tml_op${op.index}_dims, &tml_op${op.index}_requant`;
  const call = depthwise
    ? `tml_depthwise_conv2d_s16(${d}, ${outC / inC}, ${xp}, ${f}, ${bias.name}, ${yp});`
    : `tml_conv2d_s16${bias.int32 ? '_b32' : ''}(${d}, ${w.shape[3]}, ${xp}, ${f}, ${bias.name}, ${yp});`;
  return { params, call: [call] };
}

function fullyConnected16(l: LowerContext, op: Op): LoweredBody {
  const x = l.tensor(op.inputs[0]!);
  const w = l.tensor(op.inputs[1]!);
  const y = l.tensor(op.outputs[0]!);
  symmetric16(x, y);
  need(w, 'int8');
  checkActivation(op);
  if (w.data === undefined) refuse('needs constant weights');
  if (w.shape.length !== 2) refuse('needs 2-D weights [units, depth]');
  const [units, depth] = w.shape as [number, number];
  const batches = elementCount(y.shape) / units;
  if (elementCount(x.shape) !== batches * depth) refuse(`input of ${elementCount(x.shape)} values is not ${batches} x ${depth}`);
  const scales = weightScales(w, units);
  const perChannel = scales.length > 1;
  // The same multipliers as the reference (TFLM's FC Prepare: a float32 product per tensor).
  const qs = perChannel ? perChannelMultipliers(scaleOf(x), scales, scaleOf(y), units) : [fullyConnectedPerTensorMultiplier(scaleOf(x), scales[0]!, scaleOf(y))];
  const bias = bias16(l, op, op.inputs[2], units);
  const wn = l.addConst(`tml_op${op.index}_weights`, 'int8_t', decode(w), `weights ${tensorText(w)}`);
  const params = requant16(l, op, y, qs, perChannel, !bias.int32);
  const fn = bias.int32 ? 'tml_fully_connected_s16_b32' : 'tml_fully_connected_s16';
  return {
    params,
    call: [`${fn}(${batches}, ${depth}, ${units}, &tml_op${op.index}_requant, ${l.ptr(op, x.index, 'input')}, ${wn}, ${bias.name}, ${l.ptr(op, y.index, 'output')});`],
  };
}

function pool16(l: LowerContext, op: Op): LoweredBody {
  const x = l.tensor(op.inputs[0]!);
  const y = l.tensor(op.outputs[0]!);
  need(x, 'int16');
  need(y, 'int16');
  checkActivation(op);
  if (x.shape.length !== 4 || y.shape.length !== 4) refuse('needs 4-D NHWC tensors');
  if (scaleOf(x) !== scaleOf(y) || zpOf(x) !== zpOf(y)) refuse('input and output quantization differ');
  if (op.attrs['countIncludePad'] === true && op.type === 'AVERAGE_POOL_2D' && padsAttr(op).some((p) => p !== 0)) {
    refuse('counts padding in the average (ONNX count_include_pad), which TFLite does not');
  }
  const act = activationRangeQuantized(activation(op), scaleOf(y), zpOf(y), -32768, 32767);
  const params = dimsStruct(op, x, y, numAttr(op, 'filterH'), numAttr(op, 'filterW'), false);
  const args = `&tml_op${op.index}_dims, ${act.min}, ${act.max}, ${l.ptr(op, x.index, 'input')}, ${l.ptr(op, y.index, 'output')}`;
  const call = op.type === 'AVERAGE_POOL_2D' ? [`if (tml_avg_pool2d_s16(${args}) != 0) return ${op.index + 1};`] : [`tml_max_pool2d_s16(${args});`];
  return { params, call };
}

function softmax16(l: LowerContext, op: Op): LoweredBody {
  const x = l.tensor(op.inputs[0]!);
  const y = l.tensor(op.outputs[0]!);
  symmetric16(x, y);
  if (Math.abs(scaleOf(y) - 1 / 32768) > 0.001 / 32768) refuse(`has output scale ${scaleOf(y)} (TFLite requires 1/32768 for int16 softmax)`);
  const rank = x.shape.length;
  if (numAttr(op, 'axis', rank - 1) !== rank - 1 || op.attrs['coerce2d'] === true) refuse('softmax over an axis other than the last is not supported');
  const depth = rank === 0 ? 1 : x.shape[rank - 1]!;
  // The int32 sum of the row's Q0.15 exponentials must not overflow.
  if (depth > 65536) refuse(`normalises rows of ${depth} values (at most 65536 for int16)`);
  const q = softmaxS16Multiplier(numAttr(op, 'beta', 1), scaleOf(x));
  // The two tables are the same for every int16 softmax: one copy per model.
  const tables = softmaxS16Tables();
  const exp = 'tml_softmax_s16_exp_lut';
  const recip = 'tml_softmax_s16_one_over_one_plus_x_lut';
  if (!l.consts.some((c) => c.name === exp)) {
    l.addConst(exp, 'int16_t', tables.exp, 'int16 softmax: TFLite LUTPopulate table of exp(x) on [-10, 0] (513 entries, Q0.15)');
    l.addConst(recip, 'int16_t', tables.oneOverOnePlusX, 'int16 softmax: TFLite LUTPopulate table of 1/(1+x) on [0, 1] (513 entries, Q0.15)');
  }
  const params = [
    `static const tml_softmax_s16_params tml_op${op.index}_params = {`,
    `  ${elementCount(x.shape) / depth}, ${depth}, ${int32Literal(q.multiplier)}, ${q.shift}, ${exp}, ${recip}`,
    '};',
  ];
  return { params, call: [`tml_softmax_s16(&tml_op${op.index}_params, ${l.ptr(op, x.index, 'input')}, ${l.ptr(op, y.index, 'output')});`] };
}

function transposeConv(l: LowerContext, op: Op): LoweredBody {
  const w = l.tensor(op.inputs[1]!);
  const x = l.tensor(op.inputs[2]!);
  const y = l.tensor(op.outputs[0]!);
  need(x, 'int8');
  need(w, 'int8');
  need(y, 'int8');
  checkActivation(op);
  if (x.shape.length !== 4 || y.shape.length !== 4 || w.shape.length !== 4) refuse('needs 4-D NHWC tensors');
  const outC = y.shape[3]!;
  if (w.shape[0] !== outC || w.shape[3] !== x.shape[3] || x.shape[0] !== y.shape[0]) refuse(`filter [${w.shape}] does not match input [${x.shape}] and output [${y.shape}]`);
  const qs = perChannelMultipliers(scaleOf(x), weightScales(w, outC), scaleOf(y), outC);
  const m = l.addConst(`tml_op${op.index}_multiplier`, 'int32_t', qs.map((q) => q.multiplier), 'requantization multipliers (Q0.31)');
  const s = l.addConst(`tml_op${op.index}_shift`, 'int32_t', qs.map((q) => q.shift), 'requantization shifts (positive = left)');
  const act = activationRangeQuantized(activation(op), scaleOf(y), zpOf(y), -128, 127);
  let bias = '0';
  const bi = op.inputs[3];
  if (bi !== undefined && bi >= 0) {
    const b = l.tensor(bi);
    need(b, 'int32');
    const values = decode(b);
    if (values.length !== outC) refuse(`bias has ${values.length} values for ${outC} channels`);
    bias = l.addConst(`tml_op${op.index}_bias`, 'int32_t', values, `bias ${tensorText(b)}`);
  }
  const f = l.addConst(`tml_op${op.index}_filter`, 'int8_t', decode(w), `filter ${tensorText(w)}`);
  const params = [
    ...dimsStruct(op, x, y, w.shape[1]!, w.shape[2]!, false),
    `static const tml_requant tml_op${op.index}_requant = {`,
    `  ${-zpOf(x)}, ${zpOf(y)}, ${act.min}, ${act.max}, 1, ${m}, ${s}`,
    '};',
  ];
  return {
    params,
    call: [`tml_transpose_conv_s8(&tml_op${op.index}_dims, &tml_op${op.index}_requant, ${l.ptr(op, x.index, 'input')}, ${f}, ${bias}, ${l.ptr(op, y.index, 'output')});`],
  };
}

function lstm(l: LowerContext, op: Op): LoweredBody {
  const ctx: PrepareContext = {
    graph: l.graph,
    constant: (i) => {
      const t = l.tensor(i);
      if (t.data === undefined) refuse(`tensor #${i} should be constant`);
      return decodeBytes(t.dtype, t.data, elementCount(t.shape));
    },
  };
  const p = planIntegerLstm(op, ctx, refuse);
  const names = LSTM_GATES.map((g) => g.name);
  const arrays = (kind: 'w' | 'r' | 'b') =>
    p.gates.map((g, k) => {
      const gate = LSTM_GATES[k]!;
      const index = op.inputs[kind === 'w' ? gate.inputWeights : kind === 'r' ? gate.recurrentWeights : gate.bias]!;
      const values = kind === 'w' ? g.inputWeights : kind === 'r' ? g.recurrentWeights : g.bias;
      const what = kind === 'w' ? 'input weights' : kind === 'r' ? 'recurrent weights' : 'bias';
      return l.addConst(`tml_op${op.index}_${kind}_${names[k]}`, kind === 'b' ? 'int32_t' : 'int8_t', values, `${names[k]} gate ${what} ${tensorText(l.tensor(index))}`);
    });
  const list = (xs: (string | number)[]) => `{${xs.join(', ')}}`;
  const params = [
    `static const tml_lstm_params tml_op${op.index}_params = {`,
    `  ${p.batches}, ${p.timeSteps}, ${p.inputSize}, ${p.units}, ${p.timeMajor ? 1 : 0}, /* batches, time steps, input size, units, time major */`,
    `  ${p.inputZeroPoint}, ${p.hiddenZeroPoint}, /* input and hidden state zero points */`,
    `  ${list(arrays('w'))}, /* input weights: forget, input, cell, output gates */`,
    `  ${list(arrays('r'))},`,
    `  ${list(arrays('b'))},`,
    `  ${list(p.gates.map((g) => int32Literal(g.inputMultiplier.multiplier)))}, ${list(p.gates.map((g) => g.inputMultiplier.shift))}, /* x * W -> Q3.12 */`,
    `  ${list(p.gates.map((g) => int32Literal(g.recurrentMultiplier.multiplier)))}, ${list(p.gates.map((g) => g.recurrentMultiplier.shift))}, /* h * R -> Q3.12 */`,
    `  ${p.forgetCellMul.multiplier}, ${p.forgetCellMul.shift}, ${p.inputCellMul.multiplier}, ${p.inputCellMul.shift}, /* f * c, i * g -> cell */`,
    `  ${p.hiddenMul.multiplier}, ${p.hiddenMul.shift}, /* o * tanh(c) -> hidden */`,
    `  ${p.cellTanhMultiplier}, ${p.cellTanhShift}, ${p.quantizedCellClip} /* tanh of the cell state; cell clip (0: none) */`,
    '};',
  ];
  const call = `tml_lstm_s8_s16(&tml_op${op.index}_params, ${l.ptr(op, p.x.index, 'input')}, ${l.ptr(op, p.hidden.index, 'hidden_state')}, ${l.ptr(op, p.cell.index, 'cell_state')}, ${l.ptr(op, p.y.index, 'output')});`;
  return { params, call: [call] };
}
