/** The ONNX backend node tests that have no int8 form, with the reason convert gives (docs/onnx.md lists them). */

/** Node tests int8 TFLite cannot express, with the reason (docs/onnx.md lists them too). */
export const NOT_QUANTIZABLE: Record<string, RegExp> = {
  // Weights, statistics, bounds, pads or shapes fed as graph inputs: int8 kernels take constants.
  test_basic_conv_with_padding: /takes its weights from the model input 'W'/,
  test_basic_conv_without_padding: /takes its weights from the model input 'W'/,
  test_conv_with_autopad_same: /takes its weights from the model input 'W'/,
  test_conv_with_strides_and_asymmetric_padding: /takes its weights from the model input 'W'/,
  test_conv_with_strides_no_padding: /takes its weights from the model input 'W'/,
  test_conv_with_strides_padding: /takes its weights from the model input 'W'/,
  test_batchnorm_epsilon: /takes its scale from the model input 's'/,
  test_batchnorm_example: /takes its scale from the model input 's'/,
  test_clip: /takes its min bound from the model input 'min'/,
  test_clip_default_min: /takes its (min|max) bound from the model input/,
  test_clip_inbounds: /takes its min bound from the model input 'min'/,
  test_constant_pad: /takes its pads from the model input 'pads'/,
  test_edge_pad: /takes its pads from the model input 'pads'/,
  test_reflect_pad: /takes its pads from the model input 'pads'/,
  test_reshape_negative_dim: /takes its target shape from the model input 'shape'/,
  test_reshape_reduced_dims: /takes its target shape from the model input 'shape'/,
  // Already quantized (integer inputs, quantization ops with runtime parameters).
  test_dequantizelinear: /already quantized \(input 'x' is uint8\)/,
  test_dequantizelinear_axis: /already quantized \(input 'x' is uint8\)/,
  test_quantizelinear: /already quantized/,
  test_quantizelinear_axis: /already quantized/,
  test_qlinearconv: /already quantized \(input 'x' is uint8\)/,
  test_qlinearmatmul_2D_int8_float32: /already quantized \(input 'a' is int8\)/,
  test_qlinearmatmul_2D_uint8_float32: /already quantized \(input 'a' is uint8\)/,
  test_qlinearmatmul_3D_int8_float32: /already quantized \(input 'a' is int8\)/,
};
