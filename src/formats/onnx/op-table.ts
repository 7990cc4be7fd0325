/**
 * ONNX op coverage: for every op the importer lowers, the IR ops its float graph uses, the TFLite
 * int8 ops `tinyml convert` maps it to, and the layers that export it (for fixes in messages).
 * docs/onnx.md's coverage table is generated from this table and the backends' own op sets
 * (onnxCoverageTable); a test checks the two agree, and that every lowering has a row.
 */
import { referenceFloatOps } from '../../backends/ops-reference-float.ts';
import { referenceInt8Ops } from '../../backends/ops-reference-int8.ts';
import { nativeCOps } from '../../backends/ops-native-c.ts';

export interface OnnxOpSupport {
  /** First opset the importer takes it at (tinyml reads opset 6 and newer). */
  since: number;
  /** IR ops of the float graph (empty: evaluated or aliased at import). */
  ir: string[];
  /** TFLite ops of the int8 model in the common form (empty: nothing left to run); null: no int8 form. */
  int8: string[] | null;
  /** Ops that other forms of it need (explicit pads, runtime operands, other axes, ...). */
  int8Also?: string[];
  /** Ops the native C runs, when they differ from `int8` (PAD/PADV2 folded into the conv/pool). */
  native?: string[];
  /** What limits the int8 form, or why there is none. */
  note?: string;
  /** The framework layers that export it: for fixes in messages. */
  layer: string;
  /** The fix to offer when convert cannot quantize it (default: use another layer). */
  fix?: string;
}

export const ONNX_OPS: Record<string, OnnxOpSupport> = {
  Conv: { since: 6, ir: ['CONV_2D', 'DEPTHWISE_CONV_2D'], int8: ['CONV_2D', 'DEPTHWISE_CONV_2D'], int8Also: ['PAD'], native: ['CONV_2D', 'DEPTHWISE_CONV_2D'], note: 'explicit pads: PAD + VALID conv (folded back in native C); 1-D as 2-D; 1 < group < Cin: grouped CONV_2D (native C: one conv per group)', layer: 'nn.Conv1d/Conv2d, layers.Conv1D/Conv2D/DepthwiseConv2D' },
  ConvTranspose: { since: 6, ir: ['TRANSPOSE_CONV'], int8: ['TRANSPOSE_CONV'], int8Also: ['STRIDED_SLICE', 'SPLIT', 'CONCATENATION'], note: 'explicit pads as a VALID TRANSPOSE_CONV + STRIDED_SLICE; dilations as a filter with zeros between the taps; groups as SPLIT, a TRANSPOSE_CONV per group, CONCATENATION', layer: 'nn.ConvTranspose2d, layers.Conv2DTranspose' },
  ConvInteger: { since: 10, ir: ['CONV_INTEGER'], int8: ['CONV_2D', 'DEPTHWISE_CONV_2D'], note: 'onnxruntime quantize_dynamic chains (DynamicQuantizeLinear, ConvInteger, Cast, Mul by x_scale * w_scale) become a float conv with the real weights, quantized statically; constant weights', layer: 'onnxruntime quantize_dynamic', fix: 'quantize the float model with tinyml convert (or export static QDQ) instead of dynamic quantization' },
  QLinearConv: { since: 10, ir: ['QLINEAR_CONV'], int8: ['CONV_2D', 'DEPTHWISE_CONV_2D'], note: 'QOperator: rewritten to QDQ around a float conv (constant weights), the model\'s own scales kept', layer: 'onnxruntime quantize_static (QOperator)', fix: 'make the weights constants (an initializer), or quantize the float model with tinyml convert' },
  MaxPool: { since: 6, ir: ['MAX_POOL_2D'], int8: ['MAX_POOL_2D'], int8Also: ['PADV2'], native: ['MAX_POOL_2D'], note: 'explicit pads and ceil_mode: PADV2 (int8 minimum) + VALID pool; no dilations in int8', layer: 'nn.MaxPool1d/MaxPool2d, layers.MaxPooling1D/2D' },
  AveragePool: { since: 6, ir: ['AVERAGE_POOL_2D'], int8: ['AVERAGE_POOL_2D'], int8Also: ['PAD', 'STRIDED_SLICE', 'CONCATENATION'], note: 'count_include_pad: PAD + VALID pool; excluded pads that are not SAME: VALID pools over slices, concatenated (one pool again in native C); ceil_mode with count_include_pad: a PAD of the counted pads, the ceil positions excluded', layer: 'nn.AvgPool1d/AvgPool2d, layers.AveragePooling1D/2D' },
  GlobalAveragePool: { since: 6, ir: ['MEAN'], int8: ['MEAN'], layer: 'nn.AdaptiveAvgPool2d(1), layers.GlobalAveragePooling2D' },
  GlobalMaxPool: { since: 6, ir: ['MAX_POOL_2D'], int8: ['MAX_POOL_2D'], layer: 'nn.AdaptiveMaxPool2d(1), layers.GlobalMaxPooling2D' },
  BatchNormalization: { since: 6, ir: ['BATCH_NORM'], int8: [], int8Also: ['MUL', 'ADD'], note: 'folded into the conv before it; else MUL + ADD per channel', layer: 'nn.BatchNorm1d/2d, layers.BatchNormalization' },
  Relu: { since: 6, ir: ['RELU'], int8: ['RELU'], note: 'fused into the op before it where TFLite allows', layer: 'nn.ReLU, layers.ReLU' },
  Sigmoid: { since: 6, ir: ['LOGISTIC'], int8: ['LOGISTIC'], layer: 'nn.Sigmoid, activations.sigmoid' },
  Tanh: { since: 6, ir: ['TANH'], int8: ['TANH'], layer: 'nn.Tanh, activations.tanh' },
  LeakyRelu: { since: 6, ir: ['LEAKY_RELU'], int8: ['LEAKY_RELU'], layer: 'nn.LeakyReLU, layers.LeakyReLU' },
  PRelu: { since: 6, ir: ['PRELU'], int8: ['PRELU'], layer: 'nn.PReLU, layers.PReLU' },
  HardSwish: { since: 14, ir: ['HARD_SWISH'], int8: ['HARD_SWISH'], note: 'x * relu6(x + 3) / 6 written out is fused to it too', layer: 'nn.Hardswish, activations.hard_swish' },
  HardSigmoid: { since: 6, ir: ['HARD_SIGMOID'], int8: ['MUL', 'ADD'], note: 'relu6(6 alpha x + 6 beta) / 6', layer: 'nn.Hardsigmoid, activations.hard_sigmoid' },
  Elu: { since: 6, ir: ['ELU'], int8: ['ELU'], note: 'int8: alpha = 1 (TFLite ELU)', layer: 'nn.ELU, layers.ELU' },
  Clip: { since: 6, ir: ['CLIP', 'RELU', 'RELU6'], int8: [], int8Also: ['RELU', 'RELU6', 'MAXIMUM', 'MINIMUM'], note: '(0,6), (0,inf), (-1,1) are activations; other constant bounds MAXIMUM/MINIMUM', layer: 'nn.ReLU6, nn.Hardtanh, torch.clamp, layers.ReLU(max_value)' },
  Add: { since: 7, ir: ['ADD'], int8: ['ADD'], layer: 'x + y, layers.Add' },
  Sub: { since: 7, ir: ['SUB'], int8: ['SUB'], layer: 'x - y, layers.Subtract' },
  Mul: { since: 7, ir: ['MUL'], int8: ['MUL'], layer: 'x * y, layers.Multiply' },
  Div: { since: 7, ir: ['DIV'], int8: ['MUL'], note: 'int8: division by a constant (MUL by its reciprocal)', layer: 'x / c', fix: 'divide by a constant (a fixed number or buffer, not a tensor computed from the input), or multiply instead' },
  Resize: { since: 10, ir: ['RESIZE'], int8: ['RESIZE_NEAREST_NEIGHBOR'], int8Also: ['RESIZE_BILINEAR'], note: 'nearest and (bi)linear; int8 for the coordinate modes TFLite has', layer: 'nn.Upsample, F.interpolate, layers.UpSampling2D, layers.Resizing' },
  Upsample: { since: 7, ir: ['RESIZE'], int8: ['RESIZE_NEAREST_NEIGHBOR'], int8Also: ['RESIZE_BILINEAR'], layer: 'nn.Upsample (old exports)' },
  Softmax: { since: 6, ir: ['SOFTMAX'], int8: ['SOFTMAX'], int8Also: ['TRANSPOSE', 'RESHAPE'], note: 'int8: other axes through TRANSPOSE (opset < 13 trailing axes: RESHAPE)', layer: 'nn.Softmax, layers.Softmax' },
  ReduceMean: { since: 6, ir: ['MEAN'], int8: ['MEAN'], layer: 'x.mean(dim), layers.GlobalAveragePooling1D' },
  ReduceSum: { since: 6, ir: ['SUM'], int8: ['SUM'], layer: 'x.sum(dim)' },
  ReduceMax: { since: 6, ir: ['REDUCE_MAX'], int8: ['REDUCE_MAX'], layer: 'x.amax(dim), layers.GlobalMaxPooling1D' },
  ReduceMin: { since: 6, ir: ['REDUCE_MIN'], int8: ['REDUCE_MIN'], layer: 'x.amin(dim)' },
  Concat: { since: 6, ir: ['CONCATENATION'], int8: ['CONCATENATION'], layer: 'torch.cat, layers.Concatenate' },
  Split: { since: 6, ir: ['STRIDED_SLICE'], int8: ['STRIDED_SLICE'], layer: 'torch.split, torch.chunk, tf.split' },
  Slice: { since: 6, ir: ['STRIDED_SLICE'], int8: ['STRIDED_SLICE'], note: 'constant starts/ends/steps; constants fold', layer: 'x[a:b:c], layers.Cropping2D' },
  Gather: { since: 6, ir: ['GATHER'], int8: ['GATHER'], note: 'constant indices; constants fold', layer: 'x[:, idx], torch.index_select' },
  Transpose: { since: 6, ir: ['TRANSPOSE'], int8: ['TRANSPOSE'], note: 'free (no op) where the data order allows, e.g. NHWC -> NCHW at a Keras input', layer: 'x.permute, layers.Permute' },
  Pad: { since: 6, ir: ['PAD'], int8: ['PAD'], int8Also: ['PADV2'], note: 'constant (any value; real 0 is PAD), reflect', layer: 'nn.ZeroPad2d, nn.ConstantPad2d, F.pad, layers.ZeroPadding2D' },
  Reshape: { since: 6, ir: ['RESHAPE'], int8: ['RESHAPE'], note: 'aliased in native C', layer: 'x.view, x.reshape, layers.Reshape' },
  Flatten: { since: 6, ir: ['RESHAPE'], int8: ['RESHAPE'], note: 'NHWC flatten order folded into the dense layer after it', layer: 'nn.Flatten, layers.Flatten' },
  Squeeze: { since: 6, ir: ['RESHAPE'], int8: ['RESHAPE'], layer: 'x.squeeze' },
  Unsqueeze: { since: 6, ir: ['RESHAPE'], int8: ['RESHAPE'], layer: 'x.unsqueeze' },
  Gemm: { since: 6, ir: ['FULLY_CONNECTED', 'BATCH_MATMUL', 'ADD', 'MUL'], int8: ['FULLY_CONNECTED'], int8Also: ['BATCH_MATMUL', 'ADD', 'MUL'], note: 'constant B: FULLY_CONNECTED (alpha, beta, transB folded); runtime B: BATCH_MATMUL (+ MUL, ADD)', layer: 'nn.Linear, layers.Dense' },
  MatMul: { since: 6, ir: ['FULLY_CONNECTED', 'BATCH_MATMUL'], int8: ['FULLY_CONNECTED'], int8Also: ['BATCH_MATMUL'], note: 'constant B: FULLY_CONNECTED; runtime B: BATCH_MATMUL', layer: 'x @ w, torch.matmul, layers.Dense' },
  QLinearMatMul: { since: 10, ir: ['QLINEAR_MATMUL'], int8: ['FULLY_CONNECTED'], note: 'QOperator: rewritten to QDQ around FULLY_CONNECTED (constant 2-D B), the model\'s own scales kept', layer: 'onnxruntime quantize_static (QOperator)', fix: 'make B a constant (an initializer), or quantize the float model with tinyml convert' },
  MatMulInteger: { since: 10, ir: ['MATMUL_INTEGER'], int8: ['FULLY_CONNECTED'], note: 'onnxruntime quantize_dynamic chains (as ConvInteger) become a float FULLY_CONNECTED, quantized statically; constant 2-D B', layer: 'onnxruntime quantize_dynamic', fix: 'quantize the float model with tinyml convert (or export static QDQ) instead of dynamic quantization' },
  DynamicQuantizeLinear: { since: 11, ir: ['DYNAMIC_QUANTIZE_LINEAR'], int8: [], note: 'in a quantize_dynamic chain (see ConvInteger): removed, the int8 model has calibrated ranges', layer: 'onnxruntime quantize_dynamic', fix: 'quantize the float model with tinyml convert (or export static QDQ) instead of dynamic quantization' },
  QuantizeLinear: { since: 10, ir: ['QUANTIZE'], int8: [], note: 'QDQ: its scale and zero point become the tensor\'s int8 parameters', layer: 'onnxruntime quantize_static (QDQ), pytorch-quantization' },
  DequantizeLinear: { since: 10, ir: ['DEQUANTIZE'], int8: [], note: 'QDQ: as QuantizeLinear; constant weights dequantized at import', layer: 'onnxruntime quantize_static (QDQ)' },
  Shape: { since: 6, ir: [], int8: [], note: 'evaluated at import (static shapes)', layer: 'x.size(), x.shape' },
  Cast: { since: 6, ir: ['CAST'], int8: [], note: 'constants and same-type casts vanish at import; a runtime cast is CAST (float engine); int8: in a quantize_dynamic chain (see ConvInteger)', layer: 'x.float(), x.long()' },
  ConstantOfShape: { since: 9, ir: [], int8: [], note: 'evaluated at import', layer: 'torch.zeros(shape)' },
  Constant: { since: 6, ir: [], int8: [], layer: 'constants' },
  Identity: { since: 6, ir: [], int8: [], layer: 'nn.Identity' },
  Dropout: { since: 6, ir: [], int8: [], note: 'inference mode', layer: 'nn.Dropout, layers.Dropout' },
};

/** Cell text: "yes", "yes (other forms need X)", or "no: <ops the backend lacks>". */
function cell(ops: string[] | null, also: string[], supported: ReadonlySet<string>, folded: string): string {
  if (ops === null) return 'no';
  const missing = ops.filter((o) => !supported.has(o));
  if (missing.length > 0) return `no: ${missing.join(', ')}`;
  const missingAlso = also.filter((o) => !supported.has(o));
  const base = ops.length === 0 && also.length === 0 ? folded : 'yes';
  return missingAlso.length > 0 ? `${base} (other forms need ${missingAlso.join(', ')})` : base;
}

/**
 * The coverage table of docs/onnx.md (markdown), generated from ONNX_OPS and the float engine's,
 * int8 reference's and native C backend's own op sets.
 */
export function onnxCoverageTable(): string {
  const rows = Object.keys(ONNX_OPS)
    .sort()
    .map((op) => {
      const s = ONNX_OPS[op]!;
      const also = s.int8Also ?? [];
      const float = s.ir.length === 0 ? 'yes (at import)' : cell(s.ir, [], referenceFloatOps, 'yes');
      const int8 = cell(s.int8, also, referenceInt8Ops, 'yes (no op)');
      // PAD / PADV2 before a conv or max pool are folded into it in the native C.
      const nativeAlso = also.filter((o) => !(s.native && (o === 'PAD' || o === 'PADV2')));
      const native = cell(s.int8 === null ? null : (s.native ?? s.int8), nativeAlso, nativeCOps, 'yes (no op)');
      return `| ${op} | ${s.since}+ | ${float} | ${int8} | ${native} | ${s.note ?? ''} |`;
    });
  return ['| ONNX op | opsets | float | int8 | native C | notes |', '|---|---|---|---|---|---|', ...rows].join('\n');
}

/** The fix to offer when `convert` cannot quantize an ONNX op, in the exporting framework's terms. */
export function int8Fix(onnxOp: string): string {
  const s = ONNX_OPS[onnxOp];
  if (s?.fix) return s.fix;
  if (s) return `use another layer than ${s.layer} there (docs/onnx.md lists the ONNX ops convert quantizes), or keep the model float`;
  return 'replace that layer in the source model (docs/onnx.md lists the ONNX ops convert quantizes), or keep the model float';
}
