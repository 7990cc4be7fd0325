/** Op types the native C backend generates (kernels in firmware/kernels/, lowering in lower*.ts). */

/** Convolutions, fully connected, pooling, softmax, SVDF, quantization, reshape. */
const CORE_OPS = [
  'CONV_2D',
  'DEPTHWISE_CONV_2D',
  'FULLY_CONNECTED',
  'AVERAGE_POOL_2D',
  'MAX_POOL_2D',
  'RESHAPE',
  'SOFTMAX',
  'ADD',
  'QUANTIZE',
  'DEQUANTIZE',
  'SVDF',
];

/** Element-wise arithmetic and activations (lower-elementwise.ts). */
const ELEMENTWISE_OPS: string[] = [
  'RELU',
  'RELU6',
  'LEAKY_RELU',
  'HARD_SWISH',
  'ELU',
  'LOGISTIC',
  'TANH',
  'PRELU',
  'SUB',
  'MUL',
  'MAXIMUM',
  'MINIMUM',
  'SQUARED_DIFFERENCE',
  'L2_NORMALIZATION',
];

/** Data movement, reductions, resizing and BATCH_MATMUL (lowering in lower-shape.ts). */
export const SHAPE_OPS: readonly string[] = [
  'ARG_MAX',
  'ARG_MIN',
  'BATCH_MATMUL',
  'CONCATENATION',
  'EXPAND_DIMS',
  'GATHER',
  'MEAN',
  'PACK',
  'PAD',
  'PADV2',
  'REDUCE_MAX',
  'RESIZE_BILINEAR',
  'RESIZE_NEAREST_NEIGHBOR',
  'SLICE',
  'SPLIT',
  'SPLIT_V',
  'SQUEEZE',
  'STRIDED_SLICE',
  'SUM',
  'TRANSPOSE',
  'UNPACK',
];

/** TRANSPOSE_CONV, LSTM (16x8 forms of the core ops extend the core kernels). */
const CONV16_OPS: string[] = ['TRANSPOSE_CONV', 'UNIDIRECTIONAL_SEQUENCE_LSTM'];

export const NATIVE_C_OPS: ReadonlySet<string> = new Set([...CORE_OPS, ...ELEMENTWISE_OPS, ...SHAPE_OPS, ...CONV16_OPS]);
