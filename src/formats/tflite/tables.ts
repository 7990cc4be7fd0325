/**
 * Lookups over the generated schema tables (schema-tables.ts), shared by the reader and the
 * writer: dtype <-> TensorType, builtin op name <-> code, op -> options table.
 */
import type { DType } from '../../ir/graph.ts';
import { BuiltinOperator, BuiltinOptionsUnion, OptionTables, TensorType } from './schema-tables.ts';

/** TensorType enum value -> IR dtype (types with no IR meaning map to 'unknown'). */
const TENSOR_TYPE_TO_DTYPE: Record<string, DType> = {
  FLOAT32: 'float32', FLOAT16: 'float16', INT32: 'int32', UINT8: 'uint8', INT64: 'int64', STRING: 'string',
  BOOL: 'bool', INT16: 'int16', COMPLEX64: 'complex64', INT8: 'int8', FLOAT64: 'float64', COMPLEX128: 'complex128',
  UINT64: 'uint64', UINT32: 'uint32', UINT16: 'uint16', INT4: 'int4', BFLOAT16: 'bfloat16',
};

export function dtypeOfTensorType(code: number): DType | undefined {
  const name = TensorType[code];
  if (name === undefined) return undefined;
  return TENSOR_TYPE_TO_DTYPE[name] ?? 'unknown';
}

export function tensorTypeOfDtype(dtype: DType): number | undefined {
  for (const [code, name] of Object.entries(TensorType)) {
    if (TENSOR_TYPE_TO_DTYPE[name] === dtype) return Number(code);
  }
  return undefined;
}

export const CUSTOM_CODE = 32;
/** Codes up to this fit the int8 `deprecated_builtin_code`; larger ones store 127 there. */
export const PLACEHOLDER_FOR_GREATER_OP_CODES = 127;

const CODE_BY_NAME = new Map<string, number>(Object.entries(BuiltinOperator).map(([code, name]) => [name, Number(code)]));

export function builtinName(code: number): string | undefined {
  return BuiltinOperator[code];
}

export function builtinCode(name: string): number | undefined {
  return CODE_BY_NAME.get(name);
}

/**
 * The BuiltinOptions table each builtin op carries. The schema does not state this mapping,
 * so it is listed here for the ops whose table name differs from the op name; the rest follow
 * the naming rule (CONCATENATION -> ConcatenationOptions) and are found by name.
 */
const OPTIONS_BY_OP: Record<string, string> = {
  CONV_2D: 'Conv2DOptions',
  DEPTHWISE_CONV_2D: 'DepthwiseConv2DOptions',
  AVERAGE_POOL_2D: 'Pool2DOptions',
  MAX_POOL_2D: 'Pool2DOptions',
  L2_POOL_2D: 'Pool2DOptions',
  SVDF: 'SVDFOptions',
  FULLY_CONNECTED: 'FullyConnectedOptions',
  SOFTMAX: 'SoftmaxOptions',
  CONCATENATION: 'ConcatenationOptions',
  ADD: 'AddOptions',
  SUB: 'SubOptions',
  MUL: 'MulOptions',
  DIV: 'DivOptions',
  RESHAPE: 'ReshapeOptions',
  PAD: 'PadOptions',
  PADV2: 'PadV2Options',
  MIRROR_PAD: 'MirrorPadOptions',
  MEAN: 'ReducerOptions',
  SUM: 'ReducerOptions',
  REDUCE_MAX: 'ReducerOptions',
  REDUCE_MIN: 'ReducerOptions',
  REDUCE_PROD: 'ReducerOptions',
  REDUCE_ANY: 'ReducerOptions',
  TRANSPOSE: 'TransposeOptions',
  LEAKY_RELU: 'LeakyReluOptions',
  BATCH_MATMUL: 'BatchMatMulOptions',
  QUANTIZE: 'QuantizeOptions',
  DEQUANTIZE: 'DequantizeOptions',
  STRIDED_SLICE: 'StridedSliceOptions',
  CAST: 'CastOptions',
  MAXIMUM: 'MaximumMinimumOptions',
  MINIMUM: 'MaximumMinimumOptions',
  UNIDIRECTIONAL_SEQUENCE_LSTM: 'UnidirectionalSequenceLSTMOptions',
  LSTM: 'LSTMOptions',
  RESIZE_BILINEAR: 'ResizeBilinearOptions',
  RESIZE_NEAREST_NEIGHBOR: 'ResizeNearestNeighborOptions',
  SQUEEZE: 'SqueezeOptions',
  SPLIT: 'SplitOptions',
  SPLIT_V: 'SplitVOptions',
  GATHER: 'GatherOptions',
  LOG_SOFTMAX: 'LogSoftmaxOptions',
  HARD_SWISH: 'HardSwishOptions',
  EXPAND_DIMS: 'ExpandDimsOptions',
  PACK: 'PackOptions',
  UNPACK: 'UnpackOptions',
  SHAPE: 'ShapeOptions',
  TRANSPOSE_CONV: 'TransposeConvOptions',
  ARG_MAX: 'ArgMaxOptions',
  ARG_MIN: 'ArgMinOptions',
  // Table names that do not follow the naming rule (acronyms kept upper case in the schema).
  L2_NORMALIZATION: 'L2NormOptions',
  LSH_PROJECTION: 'LSHProjectionOptions',
  RNN: 'RNNOptions',
  UNIDIRECTIONAL_SEQUENCE_RNN: 'SequenceRNNOptions',
  BIDIRECTIONAL_SEQUENCE_RNN: 'BidirectionalSequenceRNNOptions',
  BIDIRECTIONAL_SEQUENCE_LSTM: 'BidirectionalSequenceLSTMOptions',
  BATCH_TO_SPACE_ND: 'BatchToSpaceNDOptions',
  SPACE_TO_BATCH_ND: 'SpaceToBatchNDOptions',
  TOPK_V2: 'TopKV2Options',
  CONV_3D: 'Conv3DOptions',
  CONV_3D_TRANSPOSE: 'Conv3DOptions',
  RANDOM_STANDARD_NORMAL: 'RandomOptions',
  RANDOM_UNIFORM: 'RandomOptions',
  MULTINOMIAL: 'RandomOptions',
  ATAN2: 'ATan2Options',
  REDUCE_ALL: 'ReducerOptions',
};

/** Name of the options table an op carries, when we know it (listed, or by the naming rule). */
export function optionsTableOf(opName: string): string | undefined {
  const listed = OPTIONS_BY_OP[opName];
  if (listed) return listed;
  const byRule = `${opName.toLowerCase().split('_').map((w) => w.charAt(0).toUpperCase() + w.slice(1)).join('')}Options`;
  return OptionTables[byRule] && BuiltinOptionsUnion.includes(byRule) ? byRule : undefined;
}

/** Union type value of an options table (0 = NONE when unknown). */
export function optionsUnionType(table: string): number {
  const idx = BuiltinOptionsUnion.indexOf(table);
  return idx > 0 ? idx : 0;
}
