/**
 * Which TFLite Micro op-resolver method registers each op type. The TFLM sketch's
 * `MicroMutableOpResolver<N>` gets exactly the model's ops: one AddXxx() call per distinct op
 * type, N = their count. Keys are canonical IR op types (= TFLite builtin names,
 * src/ir/ops.ts); values are the MicroMutableOpResolver method names of TFLite Micro.
 * Method names checked against tflite-micro's tensorflow/lite/micro/micro_mutable_op_resolver.h;
 * ops added to TFLM only recently (REVERSE_V2, SELECT_V2, ...) are left out because the pinned
 * Arduino library may predate them. An op that is not here cannot run under TFLite Micro: the sketch generator refuses the model
 * before writing anything, naming the op and the node (the "Didn't find op for builtin opcode"
 * failure, caught at generation time instead of on the board).
 */
import { UnsupportedError } from '../errors.ts';
import type { Graph, Op } from '../ir/graph.ts';

export const TFLM_RESOLVER_METHODS: Readonly<Record<string, string>> = {
  ABS: 'AddAbs',
  ADD: 'AddAdd',
  ADD_N: 'AddAddN',
  ARG_MAX: 'AddArgMax',
  ARG_MIN: 'AddArgMin',
  AVERAGE_POOL_2D: 'AddAveragePool2D',
  BATCH_MATMUL: 'AddBatchMatMul',
  BATCH_TO_SPACE_ND: 'AddBatchToSpaceNd',
  BROADCAST_ARGS: 'AddBroadcastArgs',
  BROADCAST_TO: 'AddBroadcastTo',
  CAST: 'AddCast',
  CEIL: 'AddCeil',
  CONCATENATION: 'AddConcatenation',
  CONV_2D: 'AddConv2D',
  COS: 'AddCos',
  CUMSUM: 'AddCumSum',
  DEPTHWISE_CONV_2D: 'AddDepthwiseConv2D',
  DEPTH_TO_SPACE: 'AddDepthToSpace',
  DEQUANTIZE: 'AddDequantize',
  DIV: 'AddDiv',
  ELU: 'AddElu',
  EMBEDDING_LOOKUP: 'AddEmbeddingLookup',
  EQUAL: 'AddEqual',
  EXP: 'AddExp',
  EXPAND_DIMS: 'AddExpandDims',
  FILL: 'AddFill',
  FLOOR: 'AddFloor',
  FLOOR_DIV: 'AddFloorDiv',
  FLOOR_MOD: 'AddFloorMod',
  FULLY_CONNECTED: 'AddFullyConnected',
  GATHER: 'AddGather',
  GATHER_ND: 'AddGatherNd',
  GREATER: 'AddGreater',
  GREATER_EQUAL: 'AddGreaterEqual',
  HARD_SWISH: 'AddHardSwish',
  L2_NORMALIZATION: 'AddL2Normalization',
  L2_POOL_2D: 'AddL2Pool2D',
  LEAKY_RELU: 'AddLeakyRelu',
  LESS: 'AddLess',
  LESS_EQUAL: 'AddLessEqual',
  LOG: 'AddLog',
  LOGICAL_AND: 'AddLogicalAnd',
  LOGICAL_NOT: 'AddLogicalNot',
  LOGICAL_OR: 'AddLogicalOr',
  LOGISTIC: 'AddLogistic',
  LOG_SOFTMAX: 'AddLogSoftmax',
  MAXIMUM: 'AddMaximum',
  MAX_POOL_2D: 'AddMaxPool2D',
  MEAN: 'AddMean',
  MINIMUM: 'AddMinimum',
  MIRROR_PAD: 'AddMirrorPad',
  MUL: 'AddMul',
  NEG: 'AddNeg',
  NOT_EQUAL: 'AddNotEqual',
  PACK: 'AddPack',
  PAD: 'AddPad',
  PADV2: 'AddPadV2',
  PRELU: 'AddPrelu',
  QUANTIZE: 'AddQuantize',
  REDUCE_MAX: 'AddReduceMax',
  REDUCE_MIN: 'AddReduceMin',
  RELU: 'AddRelu',
  RELU6: 'AddRelu6',
  RESHAPE: 'AddReshape',
  RESIZE_BILINEAR: 'AddResizeBilinear',
  RESIZE_NEAREST_NEIGHBOR: 'AddResizeNearestNeighbor',
  ROUND: 'AddRound',
  RSQRT: 'AddRsqrt',
  SHAPE: 'AddShape',
  SIN: 'AddSin',
  SLICE: 'AddSlice',
  SOFTMAX: 'AddSoftmax',
  SPACE_TO_BATCH_ND: 'AddSpaceToBatchNd',
  SPACE_TO_DEPTH: 'AddSpaceToDepth',
  SPLIT: 'AddSplit',
  SPLIT_V: 'AddSplitV',
  SQRT: 'AddSqrt',
  SQUARE: 'AddSquare',
  SQUARED_DIFFERENCE: 'AddSquaredDifference',
  SQUEEZE: 'AddSqueeze',
  STRIDED_SLICE: 'AddStridedSlice',
  SUB: 'AddSub',
  SUM: 'AddSum',
  SVDF: 'AddSvdf',
  TANH: 'AddTanh',
  TRANSPOSE: 'AddTranspose',
  TRANSPOSE_CONV: 'AddTransposeConv',
  UNIDIRECTIONAL_SEQUENCE_LSTM: 'AddUnidirectionalSequenceLSTM',
  UNPACK: 'AddUnpack',
  ZEROS_LIKE: 'AddZerosLike',
};

/**
 * Why the Arduino TensorFlow Lite Micro library's kernel cannot run `op` although it registers
 * its type, or undefined. A grouped CONV_2D (filter depth < input depth, PyTorch
 * Conv2d(groups=g)): the library's CMSIS-NN conv (cmsis_nn/conv.cpp) takes the filter depth to
 * be the input depth (a debug-only check), so it would read past the filter and compute garbage.
 */
export function tflmKernelRefusal(graph: Graph, op: Op): string | undefined {
  if (op.type !== 'CONV_2D') return undefined;
  const x = graph.tensors[op.inputs[0]!];
  const w = graph.tensors[op.inputs[1]!];
  if (x?.shape.length === 4 && w?.shape.length === 4 && x.shape[3] !== w.shape[3]) {
    return `is a grouped convolution (filter [${w.shape.join(',')}] on ${x.shape[3]} input channels), which the Arduino TensorFlow Lite Micro library's CMSIS-NN conv does not compute`;
  }
  return undefined;
}

export interface ResolverEntry {
  /** IR op type, e.g. CONV_2D. */
  op: string;
  /** MicroMutableOpResolver method, e.g. AddConv2D. */
  method: string;
}

/**
 * The resolver registrations for a graph: one per distinct op type, in first-use order (so
 * the generated sketch is deterministic). Throws UnsupportedError naming every op type TFLite
 * Micro lacks and the first node that uses it.
 */
export function resolverEntries(graph: Graph): ResolverEntry[] {
  const entries: ResolverEntry[] = [];
  const missing: string[] = [];
  const seenMissing = new Set<string>();
  for (const op of graph.ops) {
    const method = TFLM_RESOLVER_METHODS[op.type];
    const kernel = tflmKernelRefusal(graph, op);
    if (kernel) throw new UnsupportedError(`${op.type} (node ${JSON.stringify(op.source.name)}, op #${op.index}) ${kernel}: use --runtime native`);
    if (method === undefined) {
      if (!seenMissing.has(op.type)) {
        seenMissing.add(op.type);
        missing.push(`${op.type} (node ${JSON.stringify(op.source.name)}, op #${op.index})`);
      }
      continue;
    }
    if (!entries.some((e) => e.op === op.type)) entries.push({ op: op.type, method });
  }
  if (missing.length > 0) {
    throw new UnsupportedError(
      `TensorFlow Lite Micro has no kernel for ${missing.join(', ')}: use --runtime native, or change the model to avoid ${missing.length === 1 ? 'this op' : 'these ops'}`,
    );
  }
  return entries;
}
