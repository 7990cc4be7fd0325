/**
 * The int8 reference executor: runs a quantized graph with TFLite Micro's reference-kernel
 * integer arithmetic, bit for bit. It is the oracle every C backend is compared with.
 *
 * `prepareInt8(graph)` does the Prepare step once (multipliers, shifts, activation bounds and
 * dtype checks for every op, throwing UnsupportedError naming the op and node when something
 * cannot run) and returns a program; `program.run(inputs)` is one Invoke. Variable (state)
 * tensors persist between runs of one program, as in a TFLM interpreter, until `resetState()`.
 * `runInt8(graph, inputs)` is prepare + one run from fresh state (what the golden files hold).
 */
import { DataError } from '../../errors.ts';
import type { Graph, Op, Tensor } from '../../ir/graph.ts';
import { elementCount } from '../../ir/graph.ts';
import type { RunOptions, RunResult, TensorValue, TypedArray } from '../tensor-value.ts';
import { logisticElement, tanhElement } from './activations.ts';
import { prepareMaximum, prepareMinimum, preparePrelu, prepareSquaredDifference, prepareSub } from './binary.ts';
import { eluElement } from './elu.ts';
import { hardSwishElement } from './hard-swish.ts';
import { prepareL2Normalization } from './l2norm.ts';
import { leakyReluElement, relu6Element, reluElement } from './relu.ts';
import { unaryKernel, type ElementFn, type UnaryPrepare } from './unary.ts';
import { allocate, decodeBytes, KernelRefusal, unsupported, type EvalFn, type PrepareContext, type PrepareFn, type ValueStore } from './common.ts';
import { prepareConv2d, prepareDepthwiseConv2d } from './conv.ts';
import { prepareAdd, prepareMul } from './elementwise.ts';
import { prepareFullyConnected } from './fully-connected.ts';
import { prepareAveragePool2d, prepareMaxPool2d } from './pooling.ts';
import { prepareDequantize, prepareQuantize } from './quantize.ts';
import { prepareBatchMatmul } from './batch-matmul.ts';
import { prepareGather, preparePack, prepareReshapeLike, prepareSlice, prepareSplit, prepareTranspose } from './movement.ts';
import { prepareArgMinMax, prepareReduce } from './reduce.ts';
import { prepareResizeBilinear, prepareResizeNearest } from './resize.ts';
import { prepareConcatenation, preparePad, prepareReshape } from './shape-ops.ts';
import { prepareSoftmax } from './softmax.ts';
import { prepareSvdf } from './svdf.ts';
import { prepareTransposeConv } from './transpose-conv.ts';
import { prepareUnidirectionalSequenceLstm } from './lstm.ts';

/** Data movement, reductions, resizing, BATCH_MATMUL (shape-ops, movement, reduce, resize, batch-matmul). */
const SHAPE_KERNELS: Record<string, PrepareFn> = {
  ARG_MAX: prepareArgMinMax,
  ARG_MIN: prepareArgMinMax,
  BATCH_MATMUL: prepareBatchMatmul,
  CONCATENATION: prepareConcatenation,
  EXPAND_DIMS: prepareReshapeLike,
  GATHER: prepareGather,
  MEAN: prepareReduce,
  PACK: preparePack,
  PAD: preparePad,
  PADV2: preparePad,
  REDUCE_MAX: prepareReduce,
  RESIZE_BILINEAR: prepareResizeBilinear,
  RESIZE_NEAREST_NEIGHBOR: prepareResizeNearest,
  SLICE: prepareSlice,
  SPLIT: prepareSplit,
  SPLIT_V: prepareSplit,
  SQUEEZE: prepareReshapeLike,
  STRIDED_SLICE: prepareSlice,
  SUM: prepareReduce,
  TRANSPOSE: prepareTranspose,
  UNPACK: prepareSplit,
};

// Prepare-time constants, for code generators that must bake in the same numbers.
export * from './params.ts';
export { KernelRefusal } from './common.ts';
export { int8Table, type ElementFn } from './unary.ts';

/**
 * Element-wise activations as functions of one quantized value (unary.ts): code generators
 * build int8 lookup tables from these, so the C equals this reference by construction.
 */
const UNARY: Record<string, UnaryPrepare> = {
  ELU: eluElement,
  HARD_SWISH: hardSwishElement,
  LEAKY_RELU: leakyReluElement,
  LOGISTIC: logisticElement,
  RELU: reluElement,
  RELU6: relu6Element,
  TANH: tanhElement,
};

const KERNELS: Record<string, PrepareFn> = {
  ...SHAPE_KERNELS,
  ...Object.fromEntries(Object.entries(UNARY).map(([type, f]) => [type, unaryKernel(f)])),
  ADD: prepareAdd,
  AVERAGE_POOL_2D: prepareAveragePool2d,
  CONV_2D: prepareConv2d,
  DEPTHWISE_CONV_2D: prepareDepthwiseConv2d,
  DEQUANTIZE: prepareDequantize,
  FULLY_CONNECTED: prepareFullyConnected,
  L2_NORMALIZATION: prepareL2Normalization,
  MAXIMUM: prepareMaximum,
  MINIMUM: prepareMinimum,
  MAX_POOL_2D: prepareMaxPool2d,
  MUL: prepareMul,
  PRELU: preparePrelu,
  QUANTIZE: prepareQuantize,
  RESHAPE: prepareReshape,
  SOFTMAX: prepareSoftmax,
  SQUARED_DIFFERENCE: prepareSquaredDifference,
  SUB: prepareSub,
  SVDF: prepareSvdf,
  TRANSPOSE_CONV: prepareTransposeConv,
  UNIDIRECTIONAL_SEQUENCE_LSTM: prepareUnidirectionalSequenceLstm,
};

/** One op's Prepare; throws KernelRefusal (an UnsupportedError) naming the op when it cannot run. */
function prepareOp(op: Op, ctx: PrepareContext): EvalFn {
  const prepare = KERNELS[op.type];
  if (prepare === undefined) throw unsupported(op, 'has no int8 kernel');
  try {
    return prepare(op, ctx);
  } catch (e) {
    // A multiplier outside what TFLite accepts (TFLM aborts on these checks) is a model problem.
    if (e instanceof RangeError) throw unsupported(op, `has quantization parameters TFLite rejects (${e.message})`);
    throw e;
  }
}

/**
 * The int8 reference's check of one op: its Prepare (dtypes, quantization parameters, shapes,
 * exactly what TFLM's Prepare checks). Returns the refusal, or null when the op runs.
 */
export function int8OpRefusal(graph: Graph, op: Op): KernelRefusal | null {
  try {
    prepareOp(op, constantsOf(graph));
    return null;
  } catch (e) {
    if (e instanceof KernelRefusal) return e;
    throw e;
  }
}

/**
 * The element function of a unary activation op (RELU, LOGISTIC, ...) after its Prepare checks,
 * or undefined when `op` is not one. Throws UnsupportedError as the executor would.
 */
export function unaryElementFunction(graph: Graph, op: Op): ElementFn | undefined {
  const f = UNARY[op.type];
  return f === undefined ? undefined : f(op, constantsOf(graph));
}

/** Op types the int8 reference executor runs (for src/backends/support.ts). */
export const INT8_REFERENCE_OPS: ReadonlySet<string> = new Set(Object.keys(KERNELS));

export interface Int8Program {
  readonly graph: Graph;
  /** One Invoke: inputs in Graph.inputs order, each with the input tensor's dtype and size. */
  run(inputs: TensorValue[], opts?: RunOptions): RunResult;
  /** Sets every variable tensor back to its initial value (zero point for int8, else 0). */
  resetState(): void;
}

function constantsOf(graph: Graph): PrepareContext {
  const cache = new Map<number, TypedArray>();
  return {
    graph,
    constant(index: number): TypedArray {
      let v = cache.get(index);
      if (v === undefined) {
        const t = graph.tensors[index];
        if (t?.data === undefined) throw new Error(`int8 reference: tensor #${index} is not a constant`);
        v = decodeBytes(t.dtype, t.data, elementCount(t.shape));
        cache.set(index, v);
      }
      return v;
    },
  };
}

function initialState(t: Tensor): TypedArray {
  const v = allocate(t.dtype, elementCount(t.shape));
  // TFLM resets int8 variable tensors to their zero point and everything else to 0.
  if (t.dtype === 'int8') (v as Int8Array).fill(t.quant?.zeroPoint[0] ?? 0);
  return v;
}

export function prepareInt8(graph: Graph): Int8Program {
  const ctx = constantsOf(graph);
  const steps = graph.ops.map((op) => prepareOp(op, ctx));
  const variables = graph.tensors.filter((t) => t.variable === true);
  let state = new Map(variables.map((t) => [t.index, initialState(t)] as const));
  // Activation buffers are allocated once per program and reused by every run.
  const computed = new Map<number, TypedArray>();
  for (const op of graph.ops) {
    for (const o of op.outputs) {
      const t = graph.tensors[o];
      if (t !== undefined && !t.variable && !computed.has(o)) computed.set(o, allocate(t.dtype, elementCount(t.shape)));
    }
  }

  return {
    graph,
    resetState() {
      state = new Map(variables.map((t) => [t.index, initialState(t)] as const));
    },
    run(inputs: TensorValue[], opts?: RunOptions): RunResult {
      const values: ValueStore = new Map();
      bindInputs(graph, inputs, values);
      for (const [i, v] of state) values.set(i, v);
      for (const [i, v] of computed) if (!values.has(i)) values.set(i, v);
      for (const step of steps) step(values);
      const snapshot = (index: number): TensorValue => {
        const t = graph.tensors[index]!;
        const data = values.get(index) ?? ctx.constant(index);
        return { dtype: t.dtype, shape: [...t.shape], data: data.slice() as TypedArray };
      };
      const result: RunResult = { outputs: graph.outputs.map((o) => snapshot(o.tensor)) };
      if (opts?.keepIntermediates) {
        result.tensors = new Map();
        for (const i of values.keys()) result.tensors.set(i, snapshot(i));
      }
      return result;
    },
  };
}

function bindInputs(graph: Graph, inputs: TensorValue[], values: ValueStore): void {
  if (inputs.length !== graph.inputs.length) {
    throw new DataError(`the model has ${graph.inputs.length} input(s) but ${inputs.length} were given: pass one input per model input`);
  }
  graph.inputs.forEach((gi, k) => {
    const t = graph.tensors[gi.tensor]!;
    const v = inputs[k]!;
    const n = elementCount(t.shape);
    if (v.dtype !== t.dtype) {
      throw new DataError(`input ${k} ('${t.name}') is ${v.dtype} but the model expects ${t.dtype}: convert the data to ${t.dtype}`);
    }
    if (v.data.length !== n) {
      throw new DataError(`input ${k} ('${t.name}') has ${v.data.length} values but the model expects ${n} (shape [${t.shape}]): pass data of that size`);
    }
    // A private copy, so kernels never alias the caller's array.
    values.set(gi.tensor, v.data.slice() as TypedArray);
  });
}

/** One inference from fresh state: prepare, run once. */
export function runInt8(graph: Graph, inputs: TensorValue[], opts?: RunOptions): RunResult {
  return prepareInt8(graph).run(inputs, opts);
}
