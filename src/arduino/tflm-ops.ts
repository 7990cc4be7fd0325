/**
 * What the pinned TensorFlow Lite Micro library (Chirale_TensorFLowLite 2.0.0, profiles.ts)
 * can run: for every builtin op its MicroMutableOpResolver method, the kernel source that
 * registers it, and the input dtypes that kernel accepts. The TFLM sketch's
 * `MicroMutableOpResolver<N>` gets exactly the model's ops (one AddXxx() per distinct op type,
 * N = their count), and a model the library cannot run is refused before anything is written,
 * naming the op, the node and the dtype (the "Didn't find op for builtin opcode" and "Type INT16
 * not supported" failures, caught at generation time instead of on the board).
 *
 * Read from the library at development time: the Add* methods of
 * src/tensorflow/lite/micro/micro_mutable_op_resolver.h, and for each op the Prepare/Eval type
 * switch of the kernel it registers (the CMSIS-NN variants in kernels/cmsis_nn/ where the
 * library has them). test/tflm-capabilities.test.ts checks every entry against those sources,
 * and bench/tflm-golden-ops.ts runs every ../shared/golden-ops model through the real library
 * in QEMU (bench/results/tflm-golden-ops.json): each refusal here is a model the library fails
 * on, each acceptance one it runs byte-identical to the goldens.
 *
 * dtype is the op's data input (`dataInput`, default 0): TFLM kernels switch on it. Ops that
 * only move bytes whatever their type (RESHAPE, SQUEEZE, SHAPE) take 'any'.
 */
import { UnsupportedError } from '../errors.ts';
import type { DType, Graph, Op } from '../ir/graph.ts';

export interface TflmKernel {
  /** MicroMutableOpResolver method, e.g. AddConv2D. */
  method: string;
  /** The tflite::Register_* function the method registers. */
  register: string;
  /** Kernel source in the library, relative to src/tensorflow/lite/micro/kernels/. */
  kernel: string;
  /** Input dtypes its Prepare/Eval accept ('any': a byte copy that does not look). */
  dtypes: readonly DType[] | 'any';
  /** Which input's dtype the kernel switches on (default 0). */
  dataInput?: number;
  /** Dtypes it refuses with the kernel's own log text (%s = the type's name), for messages. */
  refuses?: Readonly<Partial<Record<DType, string>>>;
  /** Dtypes the kernel accepts but computes wrong in this library (found by
   * bench/tflm-golden.ts against ../shared/golden-ops): refused like the others. */
  broken?: Readonly<Partial<Record<DType, string>>>;
  /** Dtypes whose outputs differ slightly from the TFLite reference kernels (rounding):
   * allowed, with a warning. */
  differs?: Readonly<Partial<Record<DType, string>>>;
  /** A refusal beyond the dtype (an attribute the kernel mishandles), or null. */
  check?: (graph: Graph, op: Op) => string | null;
}

const F = 'float32' as const;
const I8 = 'int8' as const;
const I16 = 'int16' as const;
const I32 = 'int32' as const;
const I64 = 'int64' as const;
const B = 'bool' as const;

const k = (method: string, register: string, kernel: string, dtypes: readonly DType[] | 'any', more: Partial<TflmKernel> = {}): TflmKernel => ({
  method,
  register,
  kernel,
  dtypes,
  ...more,
});

/** Builtin op (canonical IR name = TFLite builtin name) -> what the pinned library has for it. */
export const TFLM_KERNELS: Readonly<Record<string, TflmKernel>> = {
  ABS: k('AddAbs', 'Register_ABS', 'elementwise.cpp', [F, I8, I16]),
  ADD: k('AddAdd', 'Register_ADD', 'cmsis_nn/add.cpp', [F, I8, I16]),
  ADD_N: k('AddAddN', 'Register_ADD_N', 'add_n.cpp', [F, I8]),
  ARG_MAX: k('AddArgMax', 'Register_ARG_MAX', 'arg_min_max.cpp', [F, I8]),
  ARG_MIN: k('AddArgMin', 'Register_ARG_MIN', 'arg_min_max.cpp', [F, I8]),
  AVERAGE_POOL_2D: k('AddAveragePool2D', 'Register_AVERAGE_POOL_2D', 'cmsis_nn/pooling.cpp', [F, I8], {
    refuses: { int16: 'Input type %s is not currently supported' },
  }),
  BATCH_TO_SPACE_ND: k('AddBatchToSpaceNd', 'Register_BATCH_TO_SPACE_ND', 'batch_to_space_nd.cpp', [F, I8]),
  BROADCAST_ARGS: k('AddBroadcastArgs', 'Register_BROADCAST_ARGS', 'broadcast_args.cpp', [I32, I64]),
  BROADCAST_TO: k('AddBroadcastTo', 'Register_BROADCAST_TO', 'broadcast_to.cpp', 'any'),
  CAST: k('AddCast', 'Register_CAST', 'cast.cpp', [F, I8, I16, I32]),
  CEIL: k('AddCeil', 'Register_CEIL', 'ceil.cpp', [F]),
  CONCATENATION: k('AddConcatenation', 'Register_CONCATENATION', 'concatenation.cpp', [B, F, I8, I16, I32, I64]),
  CONV_2D: k('AddConv2D', 'Register_CONV_2D', 'cmsis_nn/conv.cpp', [F, I8, I16], {
    check: (g, op) => {
      if ((op.inputs[2] ?? -1) < 0) return 'hard-faults without a bias tensor: conv_common.cpp\'s Prepare hands the absent bias (a null pointer) to DeallocateTempTfLiteTensor (give the layer a zero bias)';
      // A grouped conv (PyTorch Conv2d(groups=g)): the kernel takes the filter depth to be the
      // input depth (a debug-only check), reading past the filter: a silent wrong answer.
      const x = g.tensors[op.inputs[0] ?? -1];
      const w = g.tensors[op.inputs[1] ?? -1];
      if (x?.shape.length === 4 && w?.shape.length === 4 && x.shape[3] !== w.shape[3]) {
        return `does not compute a grouped convolution (filter [${w.shape.join(',')}] on ${x.shape[3]} input channels): it takes the filter depth to be the input depth`;
      }
      return null;
    },
  }),
  COS: k('AddCos', 'Register_COS', 'elementwise.cpp', [F]),
  CUMSUM: k('AddCumSum', 'Register_CUMSUM', 'cumsum.cpp', [F, I8]),
  DEPTHWISE_CONV_2D: k('AddDepthwiseConv2D', 'Register_DEPTHWISE_CONV_2D', 'cmsis_nn/depthwise_conv.cpp', [F, I8, I16]),
  DEPTH_TO_SPACE: k('AddDepthToSpace', 'Register_DEPTH_TO_SPACE', 'depth_to_space.cpp', [F, I8]),
  DEQUANTIZE: k('AddDequantize', 'Register_DEQUANTIZE', 'dequantize.cpp', [I8, I16, 'uint8']),
  DIV: k('AddDiv', 'Register_DIV', 'div.cpp', [F, I8]),
  ELU: k('AddElu', 'Register_ELU', 'elu.cpp', [F, I8]),
  EQUAL: k('AddEqual', 'Register_EQUAL', 'comparisons.cpp', [B, F, I8, I32, I64]),
  EXP: k('AddExp', 'Register_EXP', 'exp.cpp', [F]),
  EXPAND_DIMS: k('AddExpandDims', 'Register_EXPAND_DIMS', 'expand_dims.cpp', [F, I8]),
  FILL: k('AddFill', 'Register_FILL', 'fill.cpp', [I32, I64], { dataInput: 0 }),
  FLOOR: k('AddFloor', 'Register_FLOOR', 'floor.cpp', [F]),
  FLOOR_DIV: k('AddFloorDiv', 'Register_FLOOR_DIV', 'floor_div.cpp', [F]),
  FLOOR_MOD: k('AddFloorMod', 'Register_FLOOR_MOD', 'floor_mod.cpp', [F]),
  FULLY_CONNECTED: k('AddFullyConnected', 'Register_FULLY_CONNECTED', 'cmsis_nn/fully_connected.cpp', [F, I8, I16], {
    check: (g, op) =>
      (g.tensors[op.inputs[1] ?? -1]?.quant?.scale.length ?? 0) > 1
        ? 'requantizes every output with the weights\' first scale (per-tensor): with per-channel weights its outputs are wrong (quantize it per-tensor: tinyml convert --fc-per-tensor)'
        : null,
  }),
  GATHER: k('AddGather', 'Register_GATHER', 'gather.cpp', [F, I8, I32]),
  GATHER_ND: k('AddGatherNd', 'Register_GATHER_ND', 'gather_nd.cpp', [F, I8, I32]),
  GREATER: k('AddGreater', 'Register_GREATER', 'comparisons.cpp', [F, I8, I32, I64]),
  GREATER_EQUAL: k('AddGreaterEqual', 'Register_GREATER_EQUAL', 'comparisons.cpp', [F, I8, I32, I64]),
  HARD_SWISH: k('AddHardSwish', 'Register_HARD_SWISH', 'hard_swish.cpp', [F, I8]),
  L2_NORMALIZATION: k('AddL2Normalization', 'Register_L2_NORMALIZATION', 'l2norm.cpp', [F, I8]),
  L2_POOL_2D: k('AddL2Pool2D', 'Register_L2_POOL_2D', 'l2_pool_2d.cpp', [F]),
  LEAKY_RELU: k('AddLeakyRelu', 'Register_LEAKY_RELU', 'leaky_relu.cpp', [F, I8, I16]),
  LESS: k('AddLess', 'Register_LESS', 'comparisons.cpp', [F, I8, I32, I64]),
  LESS_EQUAL: k('AddLessEqual', 'Register_LESS_EQUAL', 'comparisons.cpp', [F, I8, I32, I64]),
  LOG: k('AddLog', 'Register_LOG', 'elementwise.cpp', [F]),
  LOGICAL_AND: k('AddLogicalAnd', 'Register_LOGICAL_AND', 'logical.cpp', [B]),
  LOGICAL_NOT: k('AddLogicalNot', 'Register_LOGICAL_NOT', 'elementwise.cpp', [B]),
  LOGICAL_OR: k('AddLogicalOr', 'Register_LOGICAL_OR', 'logical.cpp', [B]),
  LOGISTIC: k('AddLogistic', 'Register_LOGISTIC', 'logistic.cpp', [F, I8, I16]),
  LOG_SOFTMAX: k('AddLogSoftmax', 'Register_LOG_SOFTMAX', 'log_softmax.cpp', [F, I8]),
  MAXIMUM: k('AddMaximum', 'Register_MAXIMUM', 'maximum_minimum.cpp', [F, I8, I32, I64]),
  MAX_POOL_2D: k('AddMaxPool2D', 'Register_MAX_POOL_2D', 'cmsis_nn/pooling.cpp', [F, I8], {
    refuses: { int16: 'Type %s not currently supported.' },
  }),
  MEAN: k('AddMean', 'Register_MEAN', 'reduce.cpp', [F, I8, I16]),
  MINIMUM: k('AddMinimum', 'Register_MINIMUM', 'maximum_minimum.cpp', [F, I8, I32, I64]),
  MIRROR_PAD: k('AddMirrorPad', 'Register_MIRROR_PAD', 'mirror_pad.cpp', [F, I8]),
  MUL: k('AddMul', 'Register_MUL', 'cmsis_nn/mul.cpp', [F, I8, I16, I32], {
    broken: { int16: 'computes all-zero outputs for int16 (every element of ../shared/golden-ops/i16_mul_* differs)' },
  }),
  NEG: k('AddNeg', 'Register_NEG', 'neg.cpp', [F]),
  NOT_EQUAL: k('AddNotEqual', 'Register_NOT_EQUAL', 'comparisons.cpp', [B, F, I8, I32, I64]),
  PACK: k('AddPack', 'Register_PACK', 'pack.cpp', [F, I8, I32, I64]),
  PAD: k('AddPad', 'Register_PAD', 'pad.cpp', [F, I8, I16, I32]),
  PADV2: k('AddPadV2', 'Register_PADV2', 'pad.cpp', [F, I8, I16, I32]),
  PRELU: k('AddPrelu', 'Register_PRELU', 'prelu.cpp', [F, I8]),
  QUANTIZE: k('AddQuantize', 'Register_QUANTIZE', 'quantize.cpp', [F, I8, I16, I32, 'uint8']),
  REDUCE_MAX: k('AddReduceMax', 'Register_REDUCE_MAX', 'reduce.cpp', [F, I8]),
  RELU: k('AddRelu', 'Register_RELU', 'activations.cpp', [F, I8]),
  RELU6: k('AddRelu6', 'Register_RELU6', 'activations.cpp', [F, I8]),
  RESHAPE: k('AddReshape', 'Register_RESHAPE', 'reshape.cpp', 'any'),
  RESIZE_BILINEAR: k('AddResizeBilinear', 'Register_RESIZE_BILINEAR', 'resize_bilinear.cpp', [F, I8]),
  RESIZE_NEAREST_NEIGHBOR: k('AddResizeNearestNeighbor', 'Register_RESIZE_NEAREST_NEIGHBOR', 'resize_nearest_neighbor.cpp', [F, I8, I16]),
  ROUND: k('AddRound', 'Register_ROUND', 'round.cpp', [F]),
  RSQRT: k('AddRsqrt', 'Register_RSQRT', 'elementwise.cpp', [F, I8]),
  SELECT_V2: k('AddSelectV2', 'Register_SELECT_V2', 'select.cpp', [F, I8, I16], { dataInput: 1 }),
  SHAPE: k('AddShape', 'Register_SHAPE', 'shape.cpp', 'any'),
  SIN: k('AddSin', 'Register_SIN', 'elementwise.cpp', [F]),
  SLICE: k('AddSlice', 'Register_SLICE', 'slice.cpp', [F, I8, I16, I32]),
  SOFTMAX: k('AddSoftmax', 'Register_SOFTMAX', 'cmsis_nn/softmax.cpp', [F, I8, I16]),
  SPACE_TO_BATCH_ND: k('AddSpaceToBatchNd', 'Register_SPACE_TO_BATCH_ND', 'space_to_batch_nd.cpp', [F, I8]),
  SPACE_TO_DEPTH: k('AddSpaceToDepth', 'Register_SPACE_TO_DEPTH', 'space_to_depth.cpp', [F, I8]),
  SPLIT: k('AddSplit', 'Register_SPLIT', 'split.cpp', [F, I8, I16, I32], { dataInput: 1 }),
  SPLIT_V: k('AddSplitV', 'Register_SPLIT_V', 'split_v.cpp', [F, I8, I16, I32]),
  SQRT: k('AddSqrt', 'Register_SQRT', 'elementwise.cpp', [F]),
  SQUARE: k('AddSquare', 'Register_SQUARE', 'elementwise.cpp', [F]),
  SQUARED_DIFFERENCE: k('AddSquaredDifference', 'Register_SQUARED_DIFFERENCE', 'squared_difference.cpp', [F, I8, I32]),
  SQUEEZE: k('AddSqueeze', 'Register_SQUEEZE', 'squeeze.cpp', 'any'),
  STRIDED_SLICE: k('AddStridedSlice', 'Register_STRIDED_SLICE', 'strided_slice.cpp', [B, F, I8, I16, I32]),
  SUB: k('AddSub', 'Register_SUB', 'sub.cpp', [F, I8, I16], {
    differs: { int16: 'rounds some int16 outputs one step away from the TFLite reference kernels (1 element of ../shared/golden-ops/i16_sub_same_none)' },
  }),
  SUM: k('AddSum', 'Register_SUM', 'reduce.cpp', [F, I8, I16]),
  SVDF: k('AddSvdf', 'Register_SVDF', 'cmsis_nn/svdf.cpp', [F, I8]),
  TANH: k('AddTanh', 'Register_TANH', 'tanh.cpp', [F, I8, I16]),
  TRANSPOSE: k('AddTranspose', 'Register_TRANSPOSE', 'transpose.cpp', [F, I8], {
    refuses: { int16: 'Type %s is currently not supported by Transpose. Only float32 and int8 is supported' },
  }),
  TRANSPOSE_CONV: k('AddTransposeConv', 'Register_TRANSPOSE_CONV', 'transpose_conv.cpp', [F, I8, I16], { dataInput: 2 }),
  UNIDIRECTIONAL_SEQUENCE_LSTM: k('AddUnidirectionalSequenceLSTM', 'Register_UNIDIRECTIONAL_SEQUENCE_LSTM', 'unidirectional_sequence_lstm.cpp', [F, I8]),
  UNPACK: k('AddUnpack', 'Register_UNPACK', 'unpack.cpp', [F, I8, I32]),
  ZEROS_LIKE: k('AddZerosLike', 'Register_ZEROS_LIKE', 'zeros_like.cpp', [F, I8, I32, I64]),
};

/** Back-compatible view: op type -> resolver method. */
export const TFLM_RESOLVER_METHODS: Readonly<Record<string, string>> = Object.fromEntries(Object.entries(TFLM_KERNELS).map(([op, kk]) => [op, kk.method]));

export interface ResolverEntry {
  /** IR op type, e.g. CONV_2D. */
  op: string;
  /** MicroMutableOpResolver method, e.g. AddConv2D. */
  method: string;
}

/** The dtype the pinned kernel switches on for `op`, or null when the op has no such input. */
export function tflmDataDtype(graph: Graph, op: Op, kernel: TflmKernel): DType | null {
  const t = graph.tensors[op.inputs[kernel.dataInput ?? 0] ?? -1];
  return t ? t.dtype : null;
}

const LIBRARY = 'Chirale_TensorFLowLite 2.0.0';

/**
 * Why the pinned library cannot run `op` (or would compute it wrong), as one phrase for
 * src/backends/support.ts's refusal message, or null when it runs it.
 */
export function tflmRefusalReason(graph: Graph, op: Op): string | null {
  const kernel = TFLM_KERNELS[op.type];
  if (kernel === undefined) return `${LIBRARY} has no kernel (no MicroMutableOpResolver method) for it`;
  const dtype = kernel.dtypes === 'any' ? null : tflmDataDtype(graph, op, kernel);
  if (dtype !== null && kernel.dtypes !== 'any' && !kernel.dtypes.includes(dtype)) {
    const said = kernel.refuses?.[dtype];
    const quote = said ? `; its kernel says "${said.replace('%s', dtype.toUpperCase())}"` : '';
    return `${LIBRARY}'s ${kernel.kernel} runs ${kernel.dtypes.join(', ')} only${quote}`;
  }
  if (dtype !== null && kernel.broken?.[dtype]) return `${LIBRARY}'s ${kernel.kernel} ${kernel.broken[dtype]}`;
  const why = kernel.check?.(graph, op) ?? null;
  return why === null ? null : `${LIBRARY}'s ${kernel.kernel} ${why}`;
}

const where = (op: Op) => `${op.type} (op #${op.index}, node ${JSON.stringify(op.source.name)})`;

/** tflmRefusalReason with the op it is about in front, or null. */
export function tflmRefusal(graph: Graph, op: Op): string | null {
  const why = tflmRefusalReason(graph, op);
  return why === null ? null : `${where(op)}: ${why}`;
}

/** Ops the pinned library runs with outputs slightly different from the TFLite reference kernels. */
export function tflmDifferences(graph: Graph): string[] {
  const out: string[] = [];
  for (const op of graph.ops) {
    const kernel = TFLM_KERNELS[op.type];
    const dtype = kernel && kernel.dtypes !== 'any' ? tflmDataDtype(graph, op, kernel) : null;
    const note = dtype !== null ? kernel?.differs?.[dtype] : undefined;
    if (note) out.push(`${where(op)} with ${dtype} input: the library's ${kernel!.kernel} ${note}`);
  }
  return out;
}

/**
 * The resolver registrations for a graph: one per distinct op type, in first-use order (so
 * the generated sketch is deterministic). Throws UnsupportedError (exit 5) naming every op the
 * pinned library cannot run (op, node, why); the sketch generator words it for users through
 * src/backends/support.ts first (sketch-tflm.ts tflmResolverOf).
 */
export function resolverEntries(graph: Graph): ResolverEntry[] {
  const entries: ResolverEntry[] = [];
  const refused: string[] = [];
  for (const op of graph.ops) {
    const why = tflmRefusal(graph, op);
    if (why !== null) refused.push(why);
    else if (!entries.some((e) => e.op === op.type)) entries.push({ op: op.type, method: TFLM_KERNELS[op.type]!.method });
  }
  if (refused.length > 0) throw new UnsupportedError(`TensorFlow Lite Micro cannot run ${refused.join('; ')}`);
  return entries;
}
