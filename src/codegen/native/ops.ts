/** Op types the native C backend generates (kernels in firmware/kernels/, lowering in lower.ts). */
export const NATIVE_C_OPS: ReadonlySet<string> = new Set([
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
]);
