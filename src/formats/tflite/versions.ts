/**
 * TFLite operator versions for the ops tinyml writes from other sources (ONNX, PTQ): the version
 * the TFLite converter's op versioning gives an op for int8 activations and for int16
 * activations (16x8). TFLite Micro does not check versions, but other TFLite tools do, and a
 * file should say what it holds. Ops read from a .tflite keep their own version.
 */
import type { DType } from '../../ir/graph.ts';

const INT8: Record<string, number> = {
  CONV_2D: 3, DEPTHWISE_CONV_2D: 3, FULLY_CONNECTED: 4, AVERAGE_POOL_2D: 2, MAX_POOL_2D: 2, SOFTMAX: 2, ADD: 2, SUB: 2,
  MUL: 2, CONCATENATION: 2, PAD: 2, MEAN: 2, QUANTIZE: 2, DEQUANTIZE: 2, LOGISTIC: 2, TANH: 2, RELU: 2, RELU6: 2,
  LEAKY_RELU: 2, TRANSPOSE: 2, SVDF: 3, BATCH_MATMUL: 1, RESHAPE: 1,
};

const INT16: Record<string, number> = {
  CONV_2D: 4, DEPTHWISE_CONV_2D: 5, FULLY_CONNECTED: 7, AVERAGE_POOL_2D: 3, MAX_POOL_2D: 3, SOFTMAX: 3, ADD: 3, SUB: 5,
  MUL: 4, CONCATENATION: 3, PAD: 4, MEAN: 3, QUANTIZE: 3, DEQUANTIZE: 4, LOGISTIC: 3, TANH: 3, RELU: 3, RELU6: 3,
  LEAKY_RELU: 2, TRANSPOSE: 5, RESHAPE: 1,
};

/** Version for `opType` whose first input has `dtype` (1 for float and anything not listed). */
export function tfliteOpVersion(opType: string, dtype: DType | undefined): number {
  if (dtype === 'int8') return INT8[opType] ?? 1;
  if (dtype === 'int16') return INT16[opType] ?? 1;
  return 1;
}
