/**
 * Lowering of the element-wise and activation ops (kernels in firmware/kernels/{lut,
 * activation_s16,arith,minmax,prelu,l2norm}.c, declared in tml_kernels_elementwise.h).
 *
 * Every op is first put through the int8 reference's own Prepare (src/reference/int8), so the
 * C accepts exactly what the oracle accepts, with the same reason when it does not; then the
 * parameters are computed by the same functions the reference uses (params.ts):
 * - int8 activations (RELU, RELU6, LEAKY_RELU, HARD_SWISH, ELU, LOGISTIC, TANH) become a
 *   256-entry table filled from the reference's element function: the C equals the oracle by
 *   construction, and the golden tests hold both to TFLM's outputs;
 * - int16 LOGISTIC / TANH, ADD int16, SUB, MUL, MAXIMUM, MINIMUM, SQUARED_DIFFERENCE, PRELU and
 *   L2_NORMALIZATION call their kernels with precomputed multipliers.
 * Broadcasting kernels take up to 4 dimensions.
 */
import { elementCount, type Op, type Tensor } from '../../ir/graph.ts';
import { activationRangeQuantized, quantizeMultiplier } from '../../reference/fixedpoint.ts';
import {
  addParams,
  int8OpRefusal,
  int8Table,
  mulMultiplier,
  sigmoidS16Params,
  squaredDifferenceParams,
  subParams,
  unaryElementFunction,
  type AddParams,
} from '../../reference/int8/index.ts';
import { activation, dtypeRange, need, refuse, scaleOf, zpOf, type Lowerer } from './lower.ts';

type Body = { params: string[]; call: string[] };

const LUT_OPS = new Set(['RELU', 'RELU6', 'LEAKY_RELU', 'HARD_SWISH', 'ELU', 'LOGISTIC', 'TANH']);
const ARITH_OPS = new Set(['ADD', 'SUB', 'MUL', 'SQUARED_DIFFERENCE']);

/** The op types this module lowers (for the native backend's op list). */
export const ELEMENTWISE_LOWERED_OPS: readonly string[] = [...LUT_OPS, ...ARITH_OPS, 'MAXIMUM', 'MINIMUM', 'PRELU', 'L2_NORMALIZATION'];

/**
 * The C for `op` when it is an element-wise op this module runs in its dtype, else undefined
 * (the caller's own lowering or refusal applies: e.g. ADD int8 stays with lower.ts).
 */
export function lowerElementwise(l: Lowerer, op: Op): Body | undefined {
  if (!ELEMENTWISE_LOWERED_OPS.includes(op.type)) return undefined;
  const x = l.tensor(op.inputs[0]!);
  if (op.type === 'ADD' && x.dtype !== 'int16') return undefined;
  // The oracle's Prepare: identical checks, identical reasons.
  const refusal = int8OpRefusal(l.graph, op);
  if (refusal !== null) refuse(refusal.reason);
  const y = l.tensor(op.outputs[0]!);
  if (LUT_OPS.has(op.type)) return x.dtype === 'int8' ? lut(l, op, x, y) : sigmoidS16(l, op, x, y);
  if (op.type === 'L2_NORMALIZATION') return l2Normalization(l, op, x, y);
  return binary(l, op, x, l.tensor(op.inputs[1]!), y);
}

function lut(l: Lowerer, op: Op, x: Tensor, y: Tensor): Body {
  const f = unaryElementFunction(l.graph, op)!;
  const table = l.addConst(`tml_op${op.index}_table`, 'int8_t', int8Table(f), `${op.type} output for each int8 input, indexed by the input byte`);
  return { params: [], call: [`tml_lut_s8(${elementCount(y.shape)}, ${table}, ${l.ptr(op, x.index, 'input')}, ${l.ptr(op, y.index, 'output')});`] };
}

function sigmoidS16(l: Lowerer, op: Op, x: Tensor, y: Tensor): Body {
  need(x, 'int16');
  const p = sigmoidS16Params(scaleOf(x), scaleOf(y), op.type === 'LOGISTIC' ? 'logistic' : 'tanh');
  const fn = op.type === 'LOGISTIC' ? 'tml_logistic_array_s16' : 'tml_tanh_array_s16';
  return { params: [], call: [`${fn}(${elementCount(y.shape)}, ${p.multiplier}, ${p.shift}, ${l.ptr(op, x.index, 'input')}, ${l.ptr(op, y.index, 'output')});`] };
}

function l2Normalization(l: Lowerer, op: Op, x: Tensor, y: Tensor): Body {
  const depth = x.shape[x.shape.length - 1] ?? 1;
  const rows = depth === 0 ? 0 : elementCount(x.shape) / depth;
  return { params: [], call: [`tml_l2_normalization_s8(${rows}, ${depth}, ${zpOf(x)}, ${l.ptr(op, x.index, 'input')}, ${l.ptr(op, y.index, 'output')});`] };
}

/** The tml_broadcast4 of two inputs onto the output (numpy rules, up to 4 dimensions). */
function broadcast4(op: Op, a: Tensor, b: Tensor, y: Tensor): string[] {
  if (y.shape.length > 4) refuse('broadcasting over more than 4 dimensions is not supported');
  const out4 = [...Array(4 - y.shape.length).fill(1), ...y.shape] as number[];
  const strides = (t: Tensor): number[] => {
    if (t.shape.length > 4) refuse(`input [${t.shape}] has more than 4 dimensions`);
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
  const n = elementCount(y.shape);
  const flat = elementCount(a.shape) === n && elementCount(b.shape) === n;
  return [
    `static const tml_broadcast4 tml_op${op.index}_broadcast = {`,
    `  {${out4.join(', ')}}, {${strides(a).join(', ')}}, {${strides(b).join(', ')}}, ${flat ? 0 : 1}`,
    '};',
  ];
}

function arithParams(op: Op, a: Tensor, b: Tensor, y: Tensor, p: AddParams | undefined, mul?: { multiplier: number; shift: number }): string[] {
  const range = dtypeRange(y.dtype);
  const act = activationRangeQuantized(activation(op), scaleOf(y), zpOf(y), range.min, range.max);
  const m1 = p?.input1 ?? { multiplier: 0, shift: 0 };
  const m2 = p?.input2 ?? { multiplier: 0, shift: 0 };
  const mo = p?.output ?? mul!;
  return [
    `static const tml_arith_params tml_op${op.index}_params = {`,
    `  ${p?.leftShift ?? 0}, ${-zpOf(a)}, ${-zpOf(b)}, ${m1.multiplier}, ${m1.shift}, ${m2.multiplier}, ${m2.shift},`,
    `  ${mo.multiplier}, ${mo.shift}, ${zpOf(y)}, ${act.min}, ${act.max}`,
    '};',
  ];
}

function binary(l: Lowerer, op: Op, a: Tensor, b: Tensor, y: Tensor): Body {
  const s = y.dtype === 'int16' ? 's16' : 's8';
  const dims = broadcast4(op, a, b, y);
  const args = `${l.ptr(op, a.index, 'input1')}, ${l.ptr(op, b.index, 'input2')}, ${l.ptr(op, y.index, 'output')}`;
  const bc = `&tml_op${op.index}_broadcast`;
  const pp = `&tml_op${op.index}_params`;
  const dtype = y.dtype === 'int16' ? 'int16' : 'int8';
  switch (op.type) {
    case 'ADD':
      return { params: [...dims, ...arithParams(op, a, b, y, addParams(scaleOf(a), scaleOf(b), scaleOf(y), dtype))], call: [`tml_add_${s}(${bc}, ${pp}, ${args});`] };
    case 'SUB':
      return { params: [...dims, ...arithParams(op, a, b, y, subParams(scaleOf(a), scaleOf(b), scaleOf(y), dtype))], call: [`tml_sub_${s}(${bc}, ${pp}, ${args});`] };
    case 'MUL':
      return { params: [...dims, ...arithParams(op, a, b, y, undefined, mulMultiplier(scaleOf(a), scaleOf(b), scaleOf(y)))], call: [`tml_mul_${s}(${bc}, ${pp}, ${args});`] };
    case 'SQUARED_DIFFERENCE':
      return {
        params: [...dims, ...arithParams(op, a, b, y, squaredDifferenceParams(scaleOf(a), scaleOf(b), scaleOf(y)))],
        call: [`tml_squared_difference_s8(${bc}, ${pp}, ${args});`],
      };
    case 'MAXIMUM':
    case 'MINIMUM':
      return { params: dims, call: [`tml_${op.type.toLowerCase()}_${s}(${bc}, ${args});`] };
    case 'PRELU': {
      const sIn = scaleOf(a);
      const sOut = scaleOf(y);
      const pos = quantizeMultiplier(sIn / sOut);
      const neg = quantizeMultiplier((sIn * scaleOf(b)) / sOut);
      const params = [
        `static const tml_prelu_params tml_op${op.index}_params = {`,
        `  ${-zpOf(a)}, ${-zpOf(b)}, ${zpOf(y)}, ${pos.multiplier}, ${pos.shift}, ${neg.multiplier}, ${neg.shift}`,
        '};',
      ];
      return { params: [...dims, ...params], call: [`tml_prelu_s8(${bc}, ${pp}, ${args});`] };
    }
    default:
      refuse('has no native C kernel');
  }
}
