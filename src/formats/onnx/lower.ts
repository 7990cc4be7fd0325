/**
 * Lowers each ONNX node onto the canonical IR ops (src/ir/ops.ts), with static shape inference
 * and the NCHW -> NHWC conversion of image graphs. The per-family lowerings live in ./lower/;
 * this module holds the op table, unknown ops and the fallback for unsupported forms.
 */
import { UnsupportedError } from '../../errors.ts';
import type { AttrValue } from '../../ir/graph.ts';
import type { Value } from './builder.ts';
import { int64ToNumber } from './tensor.ts';
import { alias, emit, output, req, unsupported, unused, type NodeContext } from './lower/context.ts';
import { lowerBatchNorm, lowerConv, lowerConvInteger, lowerConvTranspose, lowerGlobalPool, lowerPool, lowerQLinearConv } from './lower/conv.ts';
import { lowerGemm, lowerMatMul, lowerMatMulInteger, lowerQLinearMatMul } from './lower/dense.ts';
import { lowerBinary, lowerClip, lowerPRelu, lowerReduce, lowerSoftmax, lowerUnary } from './lower/elementwise.ts';
import { lowerResize } from './lower/resize.ts';
import { lowerSplit } from './lower/slice.ts';
import { lowerCast, lowerConstantOfShape, lowerGather, lowerShape, lowerSlice } from './lower/fold.ts';
import { lowerDynamicQuantize, lowerQuantize } from './lower/quantize.ts';
import { lowerConcat, lowerFlatten, lowerPad, lowerReshape, lowerSqueeze, lowerTranspose, lowerUnsqueeze } from './lower/shape.ts';

export type { Declared, NodeContext } from './lower/context.ts';

// ---------------------------------------------------------------------------------------------
// Unknown ops

function attrsForInspect(ctx: NodeContext): Record<string, AttrValue> {
  const out: Record<string, AttrValue> = {};
  for (const a of ctx.node.attribute ?? []) {
    if (!a.name) continue;
    if (a.ints?.length) out[a.name] = a.ints.map((v) => int64ToNumber(v));
    else if (a.floats?.length) out[a.name] = [...a.floats];
    else if (a.strings?.length) out[a.name] = a.strings.map((s) => Buffer.from(s).toString('utf8'));
    else if (a.s?.length) out[a.name] = Buffer.from(a.s).toString('utf8');
    else if (a.type === 1) out[a.name] = a.f ?? 0;
    else if (a.type === 2) out[a.name] = int64ToNumber(a.i);
    else out[a.name] = null;
  }
  return out;
}

function lowerUnknown(ctx: NodeContext): void {
  const inputs = ctx.inputs.map((v) => (v ? (v.flatOrder ? v.tensor : ctx.b.nchwTensorOf(v, ctx.source, ctx.version)) : -1));
  const first = ctx.inputs.find((v) => v);
  const outs: Value[] = [];
  ctx.outputs.forEach((name, i) => {
    if (!name) return;
    const d = ctx.declared.get(name);
    let shape = d?.shape;
    if (!shape) {
      // Without a declared shape, assume a shape-preserving op when it reads one tensor.
      if (first && ctx.inputs.filter((v) => v).length === 1 && i === 0) shape = [...first.shape];
      else {
        throw unsupported(
          ctx,
          `op ${ctx.opType}${ctx.source.domain ? ` (domain ${ctx.source.domain})` : ''} is not supported and the model does not declare its output shapes`,
          'run onnx.shape_inference.infer_shapes on the model or replace the op',
        );
      }
    }
    outs.push(output(ctx, i, shape, d?.dtype ?? first?.dtype ?? 'float32', false));
  });
  emit(ctx, ctx.opType, inputs, outs, attrsForInspect(ctx));
}

// ---------------------------------------------------------------------------------------------

/** Ops we lower; anything else imports as an unknown op under its ONNX name. */
const LOWERINGS: Record<string, (ctx: NodeContext) => void> = {
  Conv: lowerConv,
  ConvTranspose: lowerConvTranspose,
  ConvInteger: lowerConvInteger,
  QLinearConv: lowerQLinearConv,
  MaxPool: (c) => lowerPool(c, 'MAX_POOL_2D'),
  AveragePool: (c) => lowerPool(c, 'AVERAGE_POOL_2D'),
  GlobalAveragePool: (c) => lowerGlobalPool(c, false),
  GlobalMaxPool: (c) => lowerGlobalPool(c, true),
  BatchNormalization: lowerBatchNorm,
  Relu: (c) => lowerUnary(c, 'RELU', {}),
  Sigmoid: (c) => lowerUnary(c, 'LOGISTIC', {}),
  Tanh: (c) => lowerUnary(c, 'TANH', {}),
  LeakyRelu: (c) => lowerUnary(c, 'LEAKY_RELU', { alpha: c.attrs.float('alpha', 0.01) }),
  PRelu: lowerPRelu,
  HardSwish: (c) => lowerUnary(c, 'HARD_SWISH', {}),
  HardSigmoid: (c) => lowerUnary(c, 'HARD_SIGMOID', { alpha: c.attrs.float('alpha', 0.2), beta: c.attrs.float('beta', 0.5) }),
  Elu: (c) => lowerUnary(c, 'ELU', { alpha: c.attrs.float('alpha', 1) }),
  Clip: lowerClip,
  Add: (c) => lowerBinary(c, 'ADD'),
  Sub: (c) => lowerBinary(c, 'SUB'),
  Mul: (c) => lowerBinary(c, 'MUL'),
  Div: (c) => lowerBinary(c, 'DIV'),
  Resize: (c) => lowerResize(c, false),
  Upsample: (c) => lowerResize(c, true),
  Split: lowerSplit,
  Softmax: lowerSoftmax,
  ReduceMean: (c) => lowerReduce(c, 'MEAN'),
  ReduceSum: (c) => lowerReduce(c, 'SUM'),
  ReduceMax: (c) => lowerReduce(c, 'REDUCE_MAX'),
  ReduceMin: (c) => lowerReduce(c, 'REDUCE_MIN'),
  Concat: lowerConcat,
  Transpose: lowerTranspose,
  Pad: lowerPad,
  Reshape: lowerReshape,
  Flatten: lowerFlatten,
  Squeeze: lowerSqueeze,
  Unsqueeze: lowerUnsqueeze,
  Gemm: lowerGemm,
  MatMul: lowerMatMul,
  QLinearMatMul: lowerQLinearMatMul,
  MatMulInteger: lowerMatMulInteger,
  QuantizeLinear: (c) => lowerQuantize(c, false),
  DynamicQuantizeLinear: lowerDynamicQuantize,
  DequantizeLinear: (c) => lowerQuantize(c, true),
  Shape: lowerShape,
  Gather: lowerGather,
  Cast: lowerCast,
  ConstantOfShape: lowerConstantOfShape,
  Slice: lowerSlice,
  Identity: (c) => alias(c, req(c, 0)),
  Dropout: (c) => {
    if (c.outputs.slice(1).some((o) => !unused(c, o))) throw unsupported(c, 'the dropout mask is used', 'export the model in inference mode');
    alias(c, req(c, 0));
  },
};

/** ONNX ops this importer lowers onto canonical IR ops (for docs and `inspect`). */
export const SUPPORTED_ONNX_OPS = Object.keys(LOWERINGS).concat('Constant').sort();

/** Ops whose presence makes a graph an image graph, converted to NHWC. */
export const IMAGE_OPS = new Set([
  'Conv', 'QLinearConv', 'ConvInteger', 'ConvTranspose', 'MaxPool', 'AveragePool', 'GlobalAveragePool', 'GlobalMaxPool', 'BatchNormalization', 'LRN',
  'InstanceNormalization', 'Resize', 'Upsample',
]);

export function lowerNode(ctx: NodeContext): void {
  const lower = ctx.source.domain ? undefined : LOWERINGS[ctx.opType];
  if (!lower) {
    lowerUnknown(ctx);
    return;
  }
  const before = { ops: ctx.b.ops.length, tensors: ctx.b.tensors.length };
  try {
    lower(ctx);
  } catch (e) {
    // A known op in a form we do not lower (a 1-D Conv, pool dilations, ...) still imports, as an
    // unsupported op that inspect names, when nothing was emitted yet and its shapes are known.
    const untouched = ctx.b.ops.length === before.ops && ctx.b.tensors.length === before.tensors;
    const shapesKnown = ctx.outputs.every((o) => !o || ctx.declared.get(o)?.shape);
    if (!(e instanceof UnsupportedError) || !untouched || !shapesKnown) throw e;
    ctx.b.warnings.push(`${e.message.replace(/: [^:]*$/, '')}; imported as an unsupported op`);
    lowerUnknown(ctx);
  }
}
