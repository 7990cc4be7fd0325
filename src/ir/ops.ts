/**
 * Canonical op types of the IR and the attributes each carries after import.
 *
 * Names are TFLite builtin names where TFLite has the op, so a `.tflite` model maps 1:1 and
 * the writer needs no table. ONNX ops are lowered onto these at import (NHWC, weights
 * permuted); the few ONNX ops with no TFLite equivalent keep an ONNX-flavoured name below.
 *
 * Tensor layouts (all shapes NHWC):
 *   CONV_2D            inputs [x [N,H,W,Cin], filter [Cout,KH,KW,Cin/groups], bias [Cout] | -1]
 *   DEPTHWISE_CONV_2D  inputs [x [N,H,W,Cin], filter [1,KH,KW,Cout], bias [Cout] | -1]
 *   FULLY_CONNECTED    inputs [x [..., K], weights [units, K], bias [units] | -1]
 *
 * Attribute keys (every key listed is always present after import):
 *   conv/depthwise:    strideH, strideW, dilationH, dilationW, padding ('SAME'|'VALID'|'EXPLICIT'),
 *                      pads [top, left, bottom, right] (resolved for the static shapes),
 *                      fusedActivation; depthwise also depthMultiplier
 *   pools:             filterH, filterW, strideH, strideW, padding, pads, fusedActivation,
 *                      countIncludePad (false for TFLite)
 *   FULLY_CONNECTED:   fusedActivation, keepNumDims
 *   ADD/SUB/MUL:       fusedActivation (inputs broadcast numpy-style)
 *   CONCATENATION:     axis (non-negative), fusedActivation
 *   RESHAPE:           newShape (the static output shape)
 *   SOFTMAX:           beta, axis (non-negative), coerce2d (ONNX opset < 13: the input is viewed
 *                      as 2-D [prod(shape[:axis]), prod(shape[axis:])] and normalised per row)
 *   PAD:               mode ('CONSTANT'|'REFLECT'|'EDGE'|'SYMMETRIC'), pads [before0, after0,
 *                      before1, after1, ...], constantValue (real value for float, q for int)
 *   MEAN:              axes (non-negative), keepDims
 *   TRANSPOSE:         perm
 *   LEAKY_RELU:        alpha
 *   CLIP:              min, max (real values; ONNX Clip)
 *   BATCH_MATMUL:      adjX, adjY
 *   SVDF:              rank, fusedActivation, asymmetricQuantizeInputs
 *   QUANTIZE/DEQUANTIZE: rounding ('HALF_AWAY' for TFLite, 'HALF_EVEN' for ONNX)
 */

export type FusedActivation = 'NONE' | 'RELU' | 'RELU_N1_TO_1' | 'RELU6' | 'TANH' | 'SIGN_BIT';

/** Op types the IR knows. Anything else is kept under its source name and flagged as unknown. */
export const KNOWN_OPS = [
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
  'SVDF',
  // ONNX quantized ops kept with ONNX arithmetic (float requantization, round half to even).
  'QLINEAR_CONV',
  'QLINEAR_MATMUL',
] as const;

export type KnownOp = (typeof KNOWN_OPS)[number];

export function isKnownOp(type: string): type is KnownOp {
  return (KNOWN_OPS as readonly string[]).includes(type);
}
