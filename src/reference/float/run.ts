/**
 * The float reference executor: runs a Graph op by op in IR layout (NHWC), float64 inside each
 * kernel and float32 between ops (every float32 tensor is rounded once, as it would be stored).
 * Float ops also take integer weights that carry quantization parameters (hybrid TFLite models,
 * int8 weights with float activations): they are dequantized with their scales.
 */
import { DataError, InvalidModelError, UnsupportedError } from '../../errors.ts';
import { elementCount, type Graph, type Op, type Tensor } from '../../ir/graph.ts';
import type { RunOptions, RunResult, TensorValue } from '../tensor-value.ts';
import { transposeValue } from '../layout.ts';
import { asNumbers, decodeConstant, isFloatDType, realValues, toDType, type FloatArray } from './values.ts';
import { allocTyped } from '../../data/npy.ts';
import { conv2d, depthwiseAsGrouped, type ConvGeometry } from './kernels/conv.ts';
import { pool2d } from './kernels/pool.ts';
import { batchMatmul, fullyConnected } from './kernels/matmul.ts';
import { applyActivation, batchNorm, binary, broadcastIndex, broadcastShapes, logistic, unary } from './kernels/elementwise.ts';
import { elu, hardSigmoid, hardSwish, prelu } from './kernels/activations.ts';
import { resize2d, type CoordinateMode, type NearestMode, type ResizeParams } from './kernels/resize.ts';
import { transposeConv2d } from './kernels/transpose-conv.ts';
import { softmax } from './kernels/softmax.ts';
import { concat, pad, reduce, type PadMode } from './kernels/shape-ops.ts';
import { FLOAT_SHAPE_ANY_DTYPE_OPS, FLOAT_SHAPE_OPS, runShapeOp } from './kernels/movement.ts';
import { quantizeArray, requantizeOnnx, type Rounding } from './kernels/quantize.ts';
import { lstm } from './kernels/lstm.ts';
import { dequantizeArray } from './values.ts';

/** Op types runFloat executes. */
export const FLOAT_REFERENCE_OPS: readonly string[] = [
  'CONV_2D',
  'DEPTHWISE_CONV_2D',
  'FULLY_CONNECTED',
  'AVERAGE_POOL_2D',
  'MAX_POOL_2D',
  'RESHAPE',
  'SOFTMAX',
  'ADD',
  'SUB',
  'MUL',
  'CONCATENATION',
  'PAD',
  'MEAN',
  'QUANTIZE',
  'DEQUANTIZE',
  'LOGISTIC',
  'TANH',
  'RELU',
  'RELU6',
  'LEAKY_RELU',
  'CLIP',
  'TRANSPOSE',
  'BATCH_MATMUL',
  'BATCH_NORM',
  'QLINEAR_CONV',
  'QLINEAR_MATMUL',
  'UNIDIRECTIONAL_SEQUENCE_LSTM',
  'PRELU',
  'HARD_SWISH',
  'HARD_SIGMOID',
  'ELU',
  'DIV',
  'REDUCE_MIN',
  'RESIZE',
  'TRANSPOSE_CONV',
  'CONV_INTEGER',
  'MATMUL_INTEGER',
  'DYNAMIC_QUANTIZE_LINEAR',
  'CAST',
  'MAXIMUM',
  'MINIMUM',
  ...FLOAT_SHAPE_OPS,
];

const FLOAT_OPS_SET = new Set(FLOAT_REFERENCE_OPS);

/** Ops that move data without arithmetic: they run on tensors of any dtype. */
export const ANY_DTYPE_OPS: ReadonlySet<string> = new Set([
  'RESHAPE', 'TRANSPOSE', 'CONCATENATION', 'PAD', 'QUANTIZE', 'DEQUANTIZE', 'QLINEAR_CONV', 'QLINEAR_MATMUL', 'CONV_INTEGER', 'MATMUL_INTEGER', 'CAST',
  ...FLOAT_SHAPE_ANY_DTYPE_OPS,
]);

/** Arithmetic the engine also runs on plain integer tensors (ONNX integer Add/Sub/Mul/Div). */
const INTEGER_ARITHMETIC = new Set(['ADD', 'SUB', 'MUL', 'DIV']);

/** An integer op of a model that is not quantized: both operands and the result plain integers. */
function integerArithmetic(op: Op, graph: Graph): boolean {
  if (!INTEGER_ARITHMETIC.has(op.type)) return false;
  return [...op.inputs, ...op.outputs].every((i) => {
    if (i < 0) return true;
    const t = graph.tensors[i]!;
    return !isFloatDType(t.dtype) && !t.quant && t.dtype !== 'bool';
  });
}

/** Ops whose computation is float in the graph's float form; their first input must be float. */
function needsFloatInput(op: Op, graph: Graph): boolean {
  return !ANY_DTYPE_OPS.has(op.type) && !integerArithmetic(op, graph);
}

/** Lists the ops of `graph` that runFloat cannot execute (empty when it can run the graph). */
export function unsupportedFloatOps(graph: Graph): Op[] {
  return graph.ops.filter((op) => {
    if (!FLOAT_OPS_SET.has(op.type)) return true;
    const data = op.inputs[dataInput(op)] ?? -1;
    return needsFloatInput(op, graph) && data >= 0 && !isFloatDType(graph.tensors[data]!.dtype);
  });
}

/** The input holding the op's data (TRANSPOSE_CONV's inputs are [output_shape, filter, x, bias]). */
function dataInput(op: Op): number {
  return op.type === 'TRANSPOSE_CONV' ? 2 : 0;
}

/**
 * Runs `graph` on `inputs` (one per Graph.inputs entry, IR layout, the input tensor's dtype).
 * Throws DataError for inputs of the wrong shape or dtype and UnsupportedError for an op the
 * float engine does not run (naming the op and the node).
 */
export function runFloat(graph: Graph, inputs: TensorValue[], opts: RunOptions = {}): RunResult {
  const bad = unsupportedFloatOps(graph)[0];
  if (bad) {
    const data = bad.inputs[dataInput(bad)] ?? -1;
    const t = data >= 0 ? graph.tensors[data] : undefined;
    if (FLOAT_OPS_SET.has(bad.type) && t) {
      throw new UnsupportedError(
        `op ${bad.index} (${bad.type} '${bad.source.name}') computes on ${t.dtype} tensors, which the float engine does not run: use --engine reference for an int8 model`,
      );
    }
    throw new UnsupportedError(`op ${bad.index} (${bad.source.opType} '${bad.source.name}', ${bad.type}) is not supported by the float reference engine: remove it from the model or ask for support`);
  }
  if (inputs.length !== graph.inputs.length) {
    throw new DataError(`the model takes ${graph.inputs.length} input(s) but ${inputs.length} were given: pass one --input per model input`);
  }
  const values = new Map<number, TensorValue>();
  graph.inputs.forEach((gi, i) => {
    const t = graph.tensors[gi.tensor]!;
    const v = inputs[i]!;
    if (v.dtype !== t.dtype) throw new DataError(`input ${i} ('${t.name}') must be ${t.dtype} but ${v.dtype} was given: convert the data to ${t.dtype}`);
    if (v.data.length !== elementCount(t.shape)) {
      throw new DataError(`input ${i} ('${t.name}') must have shape [${t.shape.join(',')}] (${elementCount(t.shape)} elements) but has ${v.data.length} elements: pass data of that shape`);
    }
    values.set(gi.tensor, { dtype: v.dtype, shape: [...t.shape], data: v.data });
  });

  const get = (index: number): TensorValue => {
    let v = values.get(index);
    if (v) return v;
    const t = graph.tensors[index]!;
    if (t.data === undefined) {
      if (t.variable) {
        v = toDType(t.dtype, [...t.shape], new Float64Array(elementCount(t.shape)));
      } else {
        throw new InvalidModelError(`tensor ${index} ('${t.name}') is read before any op writes it: the model's op order is broken, re-export it`);
      }
    } else {
      v = decodeConstant(t);
    }
    values.set(index, v);
    return v;
  };

  for (const op of graph.ops) {
    const results = runOp(op, graph, get);
    op.outputs.forEach((o, k) => {
      const t = graph.tensors[o]!;
      const r = results[k]!;
      if (r.data.length !== elementCount(t.shape)) {
        throw new InvalidModelError(
          `op ${op.index} (${op.type} '${op.source.name}') produces shape [${r.shape.join(',')}] but its output '${t.name}' is declared [${t.shape.join(',')}]: the model (or its import) is inconsistent`,
        );
      }
      values.set(o, { dtype: r.dtype, shape: [...t.shape], data: r.data });
    });
  }

  const outputs = graph.outputs.map((go) => get(go.tensor));
  const result: RunResult = { outputs };
  if (opts.keepIntermediates) {
    result.tensors = new Map([...values].filter(([i]) => graph.tensors[i]!.data === undefined || graph.tensors[i]!.variable));
  }
  return result;
}

type Getter = (index: number) => TensorValue;

function runOp(op: Op, graph: Graph, get: Getter): TensorValue[] {
  const tensor = (k: number): Tensor => graph.tensors[op.inputs[k]!]!;
  const has = (k: number): boolean => op.inputs[k] !== undefined && op.inputs[k]! >= 0;
  const real = (k: number): FloatArray => realValues(get(op.inputs[k]!), tensor(k), op);
  const outT = graph.tensors[op.outputs[0]!]!;
  const a = op.attrs;
  const num = (key: string, dflt: number): number => (typeof a[key] === 'number' ? (a[key] as number) : dflt);
  const nums = (key: string): number[] | undefined => (Array.isArray(a[key]) ? (a[key] as number[]) : undefined);
  const emit = (r: FloatArray, activation = true): TensorValue[] => {
    const data = r.data instanceof Float64Array ? r.data : Float64Array.from(r.data);
    if (activation) applyActivation(data, a.fusedActivation as string | undefined);
    return [toDType(outT.dtype, r.shape, data)];
  };
  const convGeometry = (groups: number): ConvGeometry => ({
    strideH: num('strideH', 1),
    strideW: num('strideW', 1),
    dilationH: num('dilationH', 1),
    dilationW: num('dilationW', 1),
    pads: nums('pads') ?? [0, 0, 0, 0],
    groups,
  });

  switch (op.type) {
    case 'CONV_2D': {
      const x = real(0);
      const w = real(1);
      const groups = num('groups', x.shape[3]! / w.shape[3]!);
      return emit(conv2d(x, w, has(2) ? real(2).data : undefined, convGeometry(groups)));
    }
    case 'DEPTHWISE_CONV_2D': {
      const x = real(0);
      const w = depthwiseAsGrouped(real(1));
      return emit(conv2d(x, w, has(2) ? real(2).data : undefined, convGeometry(x.shape[3]!)));
    }
    case 'FULLY_CONNECTED':
      return emit(fullyConnected(real(0), real(1), has(2) ? real(2).data : undefined, a.keepNumDims === true));
    case 'AVERAGE_POOL_2D':
    case 'MAX_POOL_2D':
      return emit(
        pool2d(
          real(0),
          {
            filterH: num('filterH', 1),
            filterW: num('filterW', 1),
            strideH: num('strideH', 1),
            strideW: num('strideW', 1),
            pads: nums('pads') ?? [0, 0, 0, 0],
            countIncludePad: a.countIncludePad === true,
            countedPads: nums('countedPads'),
            dilationH: num('dilationH', 1),
            dilationW: num('dilationW', 1),
          },
          op.type === 'MAX_POOL_2D' ? 'max' : 'average',
        ),
      );
    case 'ADD':
    case 'SUB':
    case 'MUL':
    case 'DIV': {
      if (integerArithmetic(op, graph)) return [integerBinary(op.type, get(op.inputs[0]!), get(op.inputs[1]!), outT)];
      const f = { ADD: (x: number, y: number) => x + y, SUB: (x: number, y: number) => x - y, MUL: (x: number, y: number) => x * y, DIV: (x: number, y: number) => x / y }[op.type]!;
      return emit(binary(real(0), real(1), f));
    }
    case 'MAXIMUM':
      return emit(binary(real(0), real(1), Math.max), false);
    case 'MINIMUM':
      return emit(binary(real(0), real(1), Math.min), false);
    case 'PRELU':
      return emit(prelu(real(0), real(1)), false);
    case 'HARD_SWISH':
      return emit(unary(real(0), hardSwish), false);
    case 'HARD_SIGMOID':
      return emit(unary(real(0), hardSigmoid(num('alpha', 0.2), num('beta', 0.5))), false);
    case 'ELU':
      return emit(unary(real(0), elu(num('alpha', 1))), false);
    case 'REDUCE_MIN': {
      // TFLite form: axes in input 1 (may be negative), keep_dims. (SUM, REDUCE_MAX: kernels/movement.ts.)
      const kind = 'min';
      const x = real(0);
      const axes = (nums('axes') ?? Array.from(asNumbers(get(op.inputs[1]!)))).map((v) => (v < 0 ? v + x.shape.length : v));
      return emit(reduce(x, [...new Set(axes)], a.keep_dims === true || a.keepDims === true, kind), false);
    }
    case 'RESIZE': {
      const x = real(0);
      return emit(resize2d(x, outT.shape[1]!, outT.shape[2]!, resizeParams(op, x.shape, outT.shape)), false);
    }
    case 'TRANSPOSE_CONV': {
      // inputs [outputShape, filter, x, bias]
      const x = real(2);
      const w = real(1);
      return emit(
        transposeConv2d(x, w, has(3) ? real(3).data : undefined, {
          strideH: num('strideH', 1),
          strideW: num('strideW', 1),
          dilationH: num('dilationH', 1),
          dilationW: num('dilationW', 1),
          padTop: (nums('pads') ?? [0, 0])[0]!,
          padLeft: (nums('pads') ?? [0, 0])[1]!,
          groups: num('groups', x.shape[3]! / w.shape[3]!),
          outH: outT.shape[1]!,
          outW: outT.shape[2]!,
        }),
      );
    }
    case 'CONV_INTEGER':
      return [convInteger(op, graph, get)];
    case 'MATMUL_INTEGER':
      return [matmulInteger(op, graph, get)];
    case 'DYNAMIC_QUANTIZE_LINEAR':
      return dynamicQuantize(get(op.inputs[0]!));
    case 'CAST': {
      // ONNX Cast: to float exactly (float32 rounding), to an integer type truncating toward zero.
      const x = get(op.inputs[0]!);
      const to = outT.dtype;
      return [toDType(to, [...x.shape], isFloatDType(to) ? asNumbers(x) : Array.from(asNumbers(x), Math.trunc))];
    }
    case 'SOFTMAX': {
      const x = real(0);
      return emit(softmax(x, num('axis', x.shape.length - 1), num('beta', 1), a.coerce2d === true), false);
    }
    case 'LOGISTIC':
      return emit(unary(real(0), logistic), false);
    case 'TANH':
      return emit(unary(real(0), Math.tanh), false);
    case 'RELU':
      return emit(unary(real(0), (v) => Math.max(v, 0)), false);
    case 'RELU6':
      return emit(unary(real(0), (v) => Math.min(Math.max(v, 0), 6)), false);
    case 'LEAKY_RELU': {
      const alpha = num('alpha', 0.01);
      return emit(unary(real(0), (v) => (v < 0 ? alpha * v : v)), false);
    }
    case 'CLIP': {
      const lo = a.min === null || a.min === undefined ? (has(1) ? real(1).data[0]! : -Infinity) : (a.min as number);
      const hi = a.max === null || a.max === undefined ? (has(2) ? real(2).data[0]! : Infinity) : (a.max as number);
      return emit(unary(real(0), (v) => Math.min(Math.max(v, lo), hi)), false);
    }
    case 'BATCH_NORM': {
      const x = real(0);
      const axis = num('axis', x.shape.length === 4 ? 3 : 1);
      return emit(batchNorm(x, axis, real(1).data, real(2).data, real(3).data, real(4).data, num('epsilon', 1e-5)), false);
    }
    case 'MEAN': {
      const x = real(0);
      const axes = nums('axes') ?? (has(1) ? Array.from(asNumbers(get(op.inputs[1]!))) : []);
      return emit(reduce(x, axes, a.keepDims === true, 'mean'), false);
    }
    case 'BATCH_MATMUL':
      return emit(batchMatmul(real(0), real(1), a.adjX === true, a.adjY === true), false);
    case 'RESHAPE': {
      const x = get(op.inputs[0]!);
      return [{ dtype: x.dtype, shape: [...outT.shape], data: x.data }];
    }
    case 'TRANSPOSE': {
      const perm = nums('perm') ?? Array.from(asNumbers(get(op.inputs[1]!)));
      return [transposeValue(get(op.inputs[0]!), perm)];
    }
    case 'CONCATENATION': {
      const parts = op.inputs.filter((i) => i >= 0).map((i) => get(i));
      const r = concat(parts, num('axis', 0));
      if (isFloatDType(r.dtype) && a.fusedActivation && a.fusedActivation !== 'NONE') return emit({ shape: r.shape, data: Float64Array.from(r.data as Float32Array) });
      return [r];
    }
    case 'PAD': {
      const x = get(op.inputs[0]!);
      const rank = x.shape.length;
      let pads = nums('pads');
      if (!pads) {
        // ONNX form [b0..bn-1, e0..en-1] from a runtime input -> [b0, e0, b1, e1, ...].
        const onnx = Array.from(asNumbers(get(op.inputs[1]!)));
        pads = [];
        for (let d = 0; d < rank; d++) pads.push(onnx[d]!, onnx[d + rank]!);
      }
      let constant: number = typeof a.constantValue === 'number' ? a.constantValue : 0;
      if (a.constantValue === null && has(2)) constant = asNumbers(get(op.inputs[2]!))[0]!;
      return [pad(x, pads, ((a.mode as string) ?? 'CONSTANT') as PadMode, constant)];
    }
    case 'QUANTIZE':
      return [quantizeOp(op, graph, get)];
    case 'DEQUANTIZE':
      return [dequantizeOp(op, graph, get)];
    case 'QLINEAR_CONV':
      return [qlinearConv(op, graph, get)];
    case 'QLINEAR_MATMUL':
      return [qlinearMatmul(op, graph, get)];
    case 'UNIDIRECTIONAL_SEQUENCE_LSTM':
      return [sequenceLstm(op, graph, get)];
    default:
      if (FLOAT_SHAPE_OPS.includes(op.type)) return runShapeOp(op, graph, get);
      throw new UnsupportedError(`op ${op.index} (${op.type}) is not supported by the float reference engine`);
  }
}

/** ONNX integer Add/Sub/Mul/Div: exact integer arithmetic, Div truncating toward zero, wrapped to the dtype. */
function integerBinary(type: string, a: TensorValue, b: TensorValue, outT: Tensor): TensorValue {
  const f = { ADD: (x: bigint, y: bigint) => x + y, SUB: (x: bigint, y: bigint) => x - y, MUL: (x: bigint, y: bigint) => x * y, DIV: (x: bigint, y: bigint) => x / y }[type]!;
  const bits = { int8: 8, uint8: 8, int16: 16, uint16: 16, int32: 32, uint32: 32, int64: 64, uint64: 64 }[outT.dtype as string] ?? 64;
  const unsigned = outT.dtype.startsWith('u');
  const shape = broadcastShapes(a.shape, b.shape);
  const ia = broadcastIndex(a.shape, shape);
  const ib = broadcastIndex(b.shape, shape);
  const out = allocTyped(outT.dtype as 'int32', ia.length) as unknown as { [i: number]: number | bigint };
  const big = outT.dtype === 'int64' || outT.dtype === 'uint64';
  for (let i = 0; i < ia.length; i++) {
    const y = BigInt(b.data[ib[i]!]! as number | bigint);
    if (type === 'DIV' && y === 0n) throw new DataError('integer division by zero in an ONNX Div: check the divisor');
    const v = f(BigInt(a.data[ia[i]!]! as number | bigint), y); // BigInt division truncates toward zero, as C does
    const w = unsigned ? BigInt.asUintN(bits, v) : BigInt.asIntN(bits, v);
    out[i] = big ? w : Number(w);
  }
  return { dtype: outT.dtype, shape, data: out as unknown as TensorValue['data'] };
}

/** ONNX Resize semantics of a RESIZE op (src/ir/ops.ts). */
function resizeParams(op: Op, inShape: readonly number[], outShape: readonly number[]): ResizeParams {
  const a = op.attrs;
  const scales: [number, number] = Array.isArray(a.scales)
    ? [Math.fround((a.scales as number[])[0]!), Math.fround((a.scales as number[])[1]!)]
    : [Math.fround(outShape[1]! / inShape[1]!), Math.fround(outShape[2]! / inShape[2]!)];
  return {
    mode: a.mode === 'nearest' ? 'nearest' : 'linear',
    coordinate: ((a.coordinateMode as string) ?? 'half_pixel') as CoordinateMode,
    nearest: ((a.nearestMode as string) ?? 'round_prefer_floor') as NearestMode,
    scales,
  };
}

/** ONNX ConvInteger: int32 sums of (x - xZp) * (w - wZp); w's zero point per tensor or per output channel. */
function convInteger(op: Op, graph: Graph, get: Getter): TensorValue {
  const outT = graph.tensors[op.outputs[0]!]!;
  const zp = (k: number): ArrayLike<number> => (op.inputs[k] !== undefined && op.inputs[k]! >= 0 ? asNumbers(get(op.inputs[k]!)) : [0]);
  const x = get(op.inputs[0]!);
  const w = get(op.inputs[1]!);
  const xc = centred(x, zp(2), 3);
  const wc = centred(w, zp(3), 0);
  const a = op.attrs;
  const num = (key: string, d: number): number => (typeof a[key] === 'number' ? (a[key] as number) : d);
  const acc = conv2d(xc, wc, undefined, {
    strideH: num('strideH', 1),
    strideW: num('strideW', 1),
    dilationH: num('dilationH', 1),
    dilationW: num('dilationW', 1),
    pads: (a.pads as number[]) ?? [0, 0, 0, 0],
    groups: num('groups', x.shape[3]! / w.shape[3]!),
  });
  return toDType(outT.dtype, acc.shape, acc.data);
}

/**
 * ONNX DynamicQuantizeLinear (opset 11), in float32 as onnxruntime computes it: the range
 * [min(0, min x), max(0, max x)] over 255 is the scale, the zero point is round(-min / scale)
 * saturated to uint8, y = saturate(round(x / scale) + zero point); rounding half to even.
 */
function dynamicQuantize(x: TensorValue): TensorValue[] {
  const v = asNumbers(x);
  let lo = 0, hi = 0;
  for (let i = 0; i < v.length; i++) {
    lo = Math.min(lo, v[i]!);
    hi = Math.max(hi, v[i]!);
  }
  const f = Math.fround;
  const scale = f(f(hi - lo) / 255);
  const sat = (q: number): number => Math.max(0, Math.min(255, q));
  const zp = scale === 0 ? 0 : sat(roundHalfEven(f(f(0 - f(lo / scale)))));
  const y = new Uint8Array(v.length);
  for (let i = 0; i < v.length; i++) y[i] = scale === 0 ? zp : sat(roundHalfEven(f(v[i]! / scale)) + zp);
  return [{ dtype: 'uint8', shape: [...x.shape], data: y }, { dtype: 'float32', shape: [], data: Float32Array.of(scale) }, { dtype: 'uint8', shape: [], data: Uint8Array.of(zp) }];
}

function roundHalfEven(v: number): number {
  const r = Math.round(v);
  return Math.abs(v % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** ONNX MatMulInteger: int32 products of (a - aZp) and (b - bZp); aZp per row or tensor, bZp per column or tensor. */
function matmulInteger(op: Op, graph: Graph, get: Getter): TensorValue {
  const outT = graph.tensors[op.outputs[0]!]!;
  const zp = (k: number): ArrayLike<number> => (op.inputs[k] !== undefined && op.inputs[k]! >= 0 ? asNumbers(get(op.inputs[k]!)) : [0]);
  const aV = get(op.inputs[0]!);
  const bV = get(op.inputs[1]!);
  const ac = centred(aV, zp(2), aV.shape.length - 2);
  const bc = centred(bV, zp(3), bV.shape.length - 1);
  const acc = batchMatmul(ac, bc, false, false);
  return toDType(outT.dtype, acc.shape, acc.data);
}

/** Scale/zero point of a quantized tensor: from runtime inputs (ONNX) or the tensor's quant. */
function quantParams(op: Op, graph: Graph, get: Getter, quantTensor: Tensor, scaleInput: number, zpInput: number): { scale: ArrayLike<number>; zeroPoint: ArrayLike<number>; axis: number } {
  const axisAttr = typeof op.attrs.axis === 'number' ? (op.attrs.axis as number) : undefined;
  const si = op.inputs[scaleInput];
  if (si !== undefined && si >= 0) {
    const scale = asNumbers(get(si));
    const zi = op.inputs[zpInput];
    const zeroPoint = zi !== undefined && zi >= 0 ? asNumbers(get(zi)) : new Float64Array(scale.length);
    return { scale, zeroPoint, axis: axisAttr ?? 0 };
  }
  const q = quantTensor.quant;
  if (!q || q.scale.length === 0) {
    throw new InvalidModelError(`op ${op.index} (${op.type} '${op.source.name}'): tensor '${quantTensor.name}' has no quantization parameters: the model is incomplete, re-export it`);
  }
  return { scale: q.scale, zeroPoint: q.zeroPoint, axis: axisAttr ?? q.axis };
}

function quantizeOp(op: Op, graph: Graph, get: Getter): TensorValue {
  const xT = graph.tensors[op.inputs[0]!]!;
  const outT = graph.tensors[op.outputs[0]!]!;
  const x = get(op.inputs[0]!);
  // An integer input (TFLite requantize) is first taken to real values with its own parameters.
  const real = isFloatDType(x.dtype) ? asNumbers(x) : realValues(x, xT, op).data;
  const p = quantParams(op, graph, get, outT, 1, 2);
  const rounding = ((op.attrs.rounding as string) ?? 'HALF_AWAY') as Rounding;
  return toDType(outT.dtype, [...outT.shape], quantizeArray(real, x.shape, p.scale, p.zeroPoint, p.axis, outT.dtype, rounding));
}

function dequantizeOp(op: Op, graph: Graph, get: Getter): TensorValue {
  const xT = graph.tensors[op.inputs[0]!]!;
  const outT = graph.tensors[op.outputs[0]!]!;
  const x = get(op.inputs[0]!);
  if (isFloatDType(x.dtype)) return toDType(outT.dtype, [...outT.shape], asNumbers(x)); // float16 weights
  const p = quantParams(op, graph, get, xT, 1, 2);
  return toDType(outT.dtype, [...outT.shape], dequantizeArray(asNumbers(x), x.shape, Array.from(p.scale), Array.from(p.zeroPoint), p.axis));
}

/** Integer values minus a zero point (per tensor, or per channel along `axis`), exact in float64. */
function centred(v: TensorValue, zp: ArrayLike<number>, axis: number): FloatArray {
  const q = asNumbers(v);
  const out = new Float64Array(q.length);
  if (zp.length <= 1) {
    const z = zp[0] ?? 0;
    for (let i = 0; i < q.length; i++) out[i] = q[i]! - z;
  } else {
    const inner = v.shape.slice(axis + 1).reduce((a, b) => a * b, 1);
    const dim = v.shape[axis]!;
    for (let i = 0; i < q.length; i++) out[i] = q[i]! - zp[Math.floor(i / inner) % dim]!;
  }
  return { shape: v.shape, data: out };
}

function qlinearConv(op: Op, graph: Graph, get: Getter): TensorValue {
  const outT = graph.tensors[op.outputs[0]!]!;
  const input = (k: number): ArrayLike<number> => asNumbers(get(op.inputs[k]!));
  const x = get(op.inputs[0]!);
  const w = get(op.inputs[3]!);
  const xScale = input(1)[0]!;
  const wScale = input(4);
  const yScale = input(6)[0]!;
  const yZp = op.inputs[7]! >= 0 ? input(7)[0]! : 0;
  const xc = centred(x, op.inputs[2]! >= 0 ? input(2) : [0], 3);
  const wc = centred(w, op.inputs[5]! >= 0 ? input(5) : [0], 0);
  const bias = op.inputs[8] !== undefined && op.inputs[8]! >= 0 ? input(8) : undefined;
  const a = op.attrs;
  const num = (key: string, d: number): number => (typeof a[key] === 'number' ? (a[key] as number) : d);
  const acc = conv2d(xc, wc, bias, {
    strideH: num('strideH', 1),
    strideW: num('strideW', 1),
    dilationH: num('dilationH', 1),
    dilationW: num('dilationW', 1),
    pads: (a.pads as number[]) ?? [0, 0, 0, 0],
    groups: num('groups', x.shape[3]! / w.shape[3]!),
  });
  const multipliers = Array.from(wScale, (s) => Math.fround(Math.fround(xScale * s) / yScale));
  const Cout = w.shape[0]!;
  return toDType(outT.dtype, acc.shape, requantizeOnnx(acc.data, Cout, multipliers, yZp, outT.dtype));
}

function qlinearMatmul(op: Op, graph: Graph, get: Getter): TensorValue {
  const outT = graph.tensors[op.outputs[0]!]!;
  const input = (k: number): ArrayLike<number> => asNumbers(get(op.inputs[k]!));
  const aV = get(op.inputs[0]!);
  const bV = get(op.inputs[3]!);
  const ac = centred(aV, input(2), aV.shape.length - 2);
  // b's zero point and scale may be per column (last dim).
  const bZp = input(5);
  const bc = centred(bV, bZp, bV.shape.length - 1);
  const acc = batchMatmul(ac, bc, false, false);
  const aScale = input(1)[0]!;
  const bScale = input(4);
  const yScale = input(6)[0]!;
  const yZp = op.inputs[7]! >= 0 ? input(7)[0]! : 0;
  const N = bV.shape[bV.shape.length - 1]!;
  const multipliers = Array.from(bScale, (s) => Math.fround(Math.fround(aScale * s) / yScale));
  return toDType(outT.dtype, acc.shape, requantizeOnnx(acc.data, N, multipliers, yZp, outT.dtype));
}

/** TFLite's 24-input UNIDIRECTIONAL_SEQUENCE_LSTM (kernels/lstm.ts); the states are read, not kept. */
function sequenceLstm(op: Op, graph: Graph, get: Getter): TensorValue {
  const outT = graph.tensors[op.outputs[0]!]!;
  const has = (k: number): boolean => op.inputs[k] !== undefined && op.inputs[k]! >= 0;
  const real = (k: number): FloatArray => realValues(get(op.inputs[k]!), graph.tensors[op.inputs[k]!]!, op);
  const opt = (k: number): FloatArray | undefined => (has(k) ? real(k) : undefined);
  const refuse = (what: string): never => {
    throw new UnsupportedError(`op ${op.index} (UNIDIRECTIONAL_SEQUENCE_LSTM '${op.source.name}') uses ${what}, which the float engine does not run: export the LSTM without it`);
  };
  if (has(16) || has(17)) refuse('a projection layer');
  if ([20, 21, 22, 23].some(has)) refuse('layer normalization');
  for (const k of [0, 2, 3, 4, 6, 7, 8, 13, 14, 15, 18, 19]) {
    if (!has(k)) throw new InvalidModelError(`op ${op.index} (UNIDIRECTIONAL_SEQUENCE_LSTM '${op.source.name}') lacks its required input ${k}: re-export the model`);
  }
  const a = op.attrs;
  const r = lstm(
    real(0),
    {
      inputToInput: opt(1),
      inputToForget: real(2),
      inputToCell: real(3),
      inputToOutput: real(4),
      recurrentToInput: opt(5),
      recurrentToForget: real(6),
      recurrentToCell: real(7),
      recurrentToOutput: real(8),
      cellToInput: opt(9)?.data,
      cellToForget: opt(10)?.data,
      cellToOutput: opt(11)?.data,
      inputBias: opt(12)?.data,
      forgetBias: real(13).data,
      cellBias: real(14).data,
      outputBias: real(15).data,
    },
    real(18).data,
    real(19).data,
    { timeMajor: a.timeMajor === true, activation: typeof a.fusedActivation === 'string' ? a.fusedActivation : 'TANH', cellClip: typeof a.cellClip === 'number' ? a.cellClip : 0 },
  );
  return toDType(outT.dtype, r.output.shape, r.output.data);
}
