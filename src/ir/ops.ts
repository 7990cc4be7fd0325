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
 *   CONV_2D (ONNX):    groups (grouped convolution, 1 < groups < Cin: the filter holds Cin/groups
 *                      input channels and output channel o reads input channels
 *                      [g*Cin/groups, (g+1)*Cin/groups) with g = floor(o / (Cout/groups));
 *                      absent means 1)
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
 *   L2_NORMALIZATION:  fusedActivation (over the last axis)
 *   PRELU:             inputs [x, alpha] (alpha broadcast numpy-style); HARD_SWISH, ELU,
 *                      MAXIMUM, MINIMUM, SQUARED_DIFFERENCE: no attributes (binary ones broadcast)
 *   CLIP:              min, max (real values; ONNX Clip; +-3.4028234663852886e38 when unbounded)
 *   BATCH_MATMUL:      adjX, adjY
 *   SVDF:              rank, fusedActivation, asymmetricQuantizeInputs
 *   TRANSPOSE_CONV:    inputs [outputShape int32 [4], filter [Cout,KH,KW,Cin], x [N,H,W,Cin],
 *                      bias [Cout] | -1] (TFLite's order); strideH, strideW, padding, pads [top,
 *                      left, bottom, right] (those of the forward convolution from the output
 *                      back to the input, as TFLite derives them), fusedActivation
 *   UNIDIRECTIONAL_SEQUENCE_LSTM: TFLite's 24 inputs (x [B,T,I] or [T,B,I], 4+4 gate weights
 *                      in input/forget/cell/output order, 3 peephole weights, 4 gate biases,
 *                      projection weights and bias, hidden and cell state (variable tensors),
 *                      4 layer-norm coefficients; -1 when absent); fusedActivation (the cell
 *                      gate's activation, normally TANH), cellClip (0 = none),
 *                      projClip (0 = none), timeMajor, asymmetricQuantizeInputs,
 *                      diagonalRecurrentTensors
 *   QUANTIZE/DEQUANTIZE: rounding ('HALF_AWAY' for TFLite, 'HALF_EVEN' for ONNX); ONNX imports
 *                      also carry axis (non-negative, the per-axis dimension in the IR layout).
 *                      Scale/zero point live in the quantized tensor's `quant` (QUANTIZE: the
 *                      output; DEQUANTIZE: the input). ONNX import only: when the model passes
 *                      them as runtime inputs, inputs are [x, scale, zeroPoint | -1] and the
 *                      quantized tensor has no `quant` (float executor only).
 *   BATCH_NORM:        epsilon, axis (the channel axis: 3 for NHWC 4-D, else 1); inputs
 *                      [x, scale, bias, mean, variance], each [C];
 *                      y = scale * (x - mean) / sqrt(variance + epsilon) + bias. ONNX only;
 *                      constant BatchNormalization after a Conv is folded into the conv instead.
 *   QLINEAR_CONV:      as CONV_2D (groups always present, depthwise included as groups = Cin,
 *                      filter [Cout,KH,KW,Cin/groups]); inputs exactly as ONNX QLinearConv:
 *                      [x, xScale, xZeroPoint, w, wScale, wZeroPoint, yScale, yZeroPoint,
 *                      bias int32 | -1]; x, w, y also carry `quant` when the params are constant.
 *   QLINEAR_MATMUL:    no attributes; inputs exactly as ONNX QLinearMatMul: [a, aScale,
 *                      aZeroPoint, b, bScale, bZeroPoint, yScale, yZeroPoint] (numpy matmul
 *                      broadcasting); a, b, y carry `quant` when the params are constant.
 *
 * ONNX import, further ops (TFLite names where TFLite has the op, TFLite's form):
 *   PRELU              inputs [x, slope] (slope broadcast against x, laid out like x)
 *   HARD_SWISH         y = x * relu6(x + 3) / 6
 *   ELU                alpha (ONNX; TFLite's ELU is alpha 1)
 *   DIV                fusedActivation; integer tensors divide truncating (ONNX integer Div)
 *   ADD/SUB/MUL/DIV    on plain integer tensors (no quant): ONNX integer arithmetic, wrapping
 *   STRIDED_SLICE      inputs [x, begin, end, strides] (int32 constants), begin_mask, end_mask,
 *                      ellipsis_mask, new_axis_mask, shrink_axis_mask, offset (ONNX Slice, Split)
 *   GATHER             inputs [x, indices int32 constant], axis, batch_dims
 *   SUM, REDUCE_MAX, REDUCE_MIN  inputs [x, axes int32 constant], keep_dims
 *   TRANSPOSE_CONV     inputs [output_shape int32 [4], filter [Cout,KH,KW,Cin/groups], x, bias | -1];
 *                      strideH/W, dilationH/W, padding ('SAME'|'VALID'|'EXPLICIT'), pads [top, left,
 *                      bottom, right] (the crop of the full output), groups, fusedActivation
 *   pools (ONNX):      dilationH/W when not 1; countedPads [top, left, bottom, right]: with
 *                      countIncludePad and ceil_mode, the pads the divisor counts
 *   HARD_SIGMOID       alpha, beta: y = max(0, min(1, alpha * x + beta))
 *   RESIZE             inputs [x [N,H,W,C], size int32 [2]]; mode ('nearest'|'linear'),
 *                      coordinateMode, nearestMode (ONNX names), scales [sh, sw] when the model's
 *                      scales are not out / in: ONNX Resize arithmetic (convert maps it to
 *                      RESIZE_NEAREST_NEIGHBOR / RESIZE_BILINEAR with align_corners /
 *                      half_pixel_centers where TFLite computes the same)
 *   CONV_INTEGER       as CONV_2D with groups; inputs [x, filter, xZeroPoint | -1, wZeroPoint | -1]
 *                      (ONNX ConvInteger: int32 sums of zero-point-centred integers)
 *   MATMUL_INTEGER     inputs [a, b, aZeroPoint | -1, bZeroPoint | -1] (ONNX MatMulInteger)
 *   DYNAMIC_QUANTIZE_LINEAR  [x float32] -> [y uint8 (x's layout), scale float32 [], zero point
 *                      uint8 []] from x's own range (ONNX DynamicQuantizeLinear)
 *   CAST               no attributes (TFLite's options in_data_type / out_data_type when read from a
 *                      .tflite); the output tensor's dtype is the target (ONNX Cast of a runtime tensor)
 *
 * Runtime parameters (ONNX import only; the ONNX node tests feed parameters as graph inputs):
 *   RESHAPE            inputs [x, shape] when the shape is a runtime input; newShape is then the
 *                      model's declared output shape.
 *   PAD                pads null: read inputs[1], an int64 ONNX pads vector [b0..bn-1, e0..en-1];
 *                      constantValue null: read inputs[2] (a scalar of x's dtype).
 *   CLIP               inputs [x, min | -1, max | -1]; an attribute is null when its value comes
 *                      from the runtime input.
 *
 * TFLite import (src/formats/tflite):
 *   CONV_2D            groups is also set for a .tflite grouped conv (filter channels < input
 *                      channels), as TFLite infers it from the shapes.
 *   unknown builtins   keep their TFLite name as type; attrs are the raw options-table fields under
 *                      the schema's snake_case names (e.g. STRIDED_SLICE begin_mask), so the
 *                      writer can put them back.
 *   PADV2, STRIDED_SLICE, SLICE, SPLIT, SPLIT_V, SQUEEZE, EXPAND_DIMS, PACK, UNPACK, GATHER, SUM,
 *   REDUCE_MAX, ARG_MAX, ARG_MIN, RESIZE_BILINEAR, RESIZE_NEAREST_NEIGHBOR: the engines run them
 *                      in this TFLite form (parameters in constant int32/int64 inputs, snake_case
 *                      options); an importer of another format must build them the same way.
 *                      The inputs and options each reads: src/reference/shape-params.ts.
 *   custom ops         type = the custom code, source.domain 'custom', attrs.customOptions = the
 *                      raw custom_options bytes (number[], usually a flexbuffer) when present.
 */

export type FusedActivation = 'NONE' | 'RELU' | 'RELU_N1_TO_1' | 'RELU6' | 'TANH' | 'SIGN_BIT';

/** The ops kept in TFLite form (TFLITE_FORM_OPS below). */
const TFLITE_FORM = [
  'PADV2',
  'STRIDED_SLICE',
  'SLICE',
  'SPLIT',
  'SPLIT_V',
  'SQUEEZE',
  'EXPAND_DIMS',
  'PACK',
  'UNPACK',
  'GATHER',
  'SUM',
  'REDUCE_MAX',
  'ARG_MAX',
  'ARG_MIN',
  'RESIZE_BILINEAR',
  'RESIZE_NEAREST_NEIGHBOR',
  'CAST',
] as const;

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
  'HARD_SWISH',
  'PRELU',
  'ELU',
  'MAXIMUM',
  'MINIMUM',
  'SQUARED_DIFFERENCE',
  'L2_NORMALIZATION',
  'CLIP',
  'TRANSPOSE',
  'BATCH_MATMUL',
  'SVDF',
  'TRANSPOSE_CONV',
  'UNIDIRECTIONAL_SEQUENCE_LSTM',
  // ONNX BatchNormalization that could not be folded into a convolution.
  'BATCH_NORM',
  // ONNX quantized ops kept with ONNX arithmetic (float requantization, round half to even).
  'QLINEAR_CONV',
  'QLINEAR_MATMUL',
  // Kept in TFLite form (see TFLITE_FORM_OPS).
  ...TFLITE_FORM,
  // Lowered from ONNX (src/formats/onnx), forms documented above.
  'DIV',
  // ONNX ops with no TFLite builtin (float engine; convert maps or refuses them).
  'HARD_SIGMOID',
  'RESIZE',
  'CONV_INTEGER',
  'MATMUL_INTEGER',
  'DYNAMIC_QUANTIZE_LINEAR',
] as const;

/**
 * Known ops whose attributes are TFLite's own option fields (snake_case) and whose parameters
 * stay in constant input tensors, exactly as a .tflite file holds them (see the header).
 */
export const TFLITE_FORM_OPS: ReadonlySet<string> = new Set(TFLITE_FORM);

export type KnownOp = (typeof KNOWN_OPS)[number];

export function isKnownOp(type: string): type is KnownOp {
  return (KNOWN_OPS as readonly string[]).includes(type);
}
