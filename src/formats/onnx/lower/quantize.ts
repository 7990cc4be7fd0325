/** QuantizeLinear / DequantizeLinear: per-tensor and per-axis, constant or runtime parameters. */
import { elementCount, type DType } from '../../../ir/graph.ts';
import { irAxis } from '../layout.ts';
import { onnxDataTypeToDType } from '../tensor.ts';
import { constQuant, emit, invalid, normAxis, output, req, setQuant, temp, unsupported, type NodeContext } from './context.ts';

// ---------------------------------------------------------------------------------------------
// QuantizeLinear / DequantizeLinear

const QUANTIZED_TYPES: DType[] = ['int8', 'uint8', 'int16', 'uint16'];

export function lowerQuantize(ctx: NodeContext, dequantize: boolean): void {
  const x = req(ctx, 0), scale = req(ctx, 1), zp = ctx.inputs[2];
  if (ctx.attrs.int('block_size', 0) !== 0) throw unsupported(ctx, 'blocked quantization (block_size)', 'use per-tensor or per-axis quantization');
  const rank = x.shape.length;
  const perAxis = elementCount(scale.shape) > 1 || scale.shape.length === 1 && rank > 0 && ctx.version >= 13 && scale.shape[0] !== 1;
  const axis = perAxis ? normAxis(ctx, ctx.attrs.int('axis', 1), rank) : 0;
  if (perAxis && elementCount(scale.shape) !== x.shape[axis]) throw invalid(ctx, `${elementCount(scale.shape)} scales for axis ${axis} of size ${x.shape[axis]}`);
  if (zp && elementCount(zp.shape) !== elementCount(scale.shape)) throw invalid(ctx, 'scale and zero point have different sizes');
  const qAxis = perAxis && x.nhwc ? irAxis(axis, rank) : axis;
  let quantType: DType;
  if (dequantize) quantType = x.dtype;
  else if (zp) quantType = zp.dtype;
  else {
    const t = ctx.attrs.int('output_dtype', 0);
    quantType = t ? onnxDataTypeToDType(t) : 'uint8';
  }
  if (!QUANTIZED_TYPES.includes(quantType)) throw unsupported(ctx, `${quantType} quantization`, 'use int8 or uint8 (or int16) quantization');
  if (scale.dtype !== 'float32') throw unsupported(ctx, `${scale.dtype} scales`, 'use float32 scales');
  const q = constQuant(scale, zp, qAxis);
  if (dequantize && q && x.data) {
    // QDQ weights: DEQUANTIZE is emitted by the consumer, in the layout it needs.
    const quant = { ...q, axis: q.scale.length > 1 ? axis : 0 };
    ctx.b.define({ name: ctx.outputs[0]!, shape: [...x.shape], dtype: 'float32', nhwc: false, tensor: -1, dequant: { source: x, quant, op: { source: ctx.source, version: ctx.version } } });
    return;
  }
  const xT = ctx.b.tensorOf(x);
  const y = output(ctx, 0, [...x.shape], dequantize ? 'float32' : quantType, x.nhwc);
  const attrs = { rounding: 'HALF_EVEN', axis: qAxis };
  if (q) {
    setQuant(ctx, dequantize ? xT : y.tensor, q);
    emit(ctx, dequantize ? 'DEQUANTIZE' : 'QUANTIZE', [xT], [y], attrs);
  } else {
    emit(ctx, dequantize ? 'DEQUANTIZE' : 'QUANTIZE', [xT, ctx.b.tensorOf(scale), zp ? ctx.b.tensorOf(zp) : -1], [y], attrs);
  }
}

// ---------------------------------------------------------------------------------------------
// DynamicQuantizeLinear (onnxruntime quantize_dynamic): uint8 with a scale and zero point
// computed from the tensor's own range at run time.

export function lowerDynamicQuantize(ctx: NodeContext): void {
  const x = req(ctx, 0);
  if (x.dtype !== 'float32') throw unsupported(ctx, `${x.dtype} input`, 'DynamicQuantizeLinear takes float32');
  const y = output(ctx, 0, [...x.shape], 'uint8', x.nhwc);
  const scale = ctx.outputs[1] ? output(ctx, 1, [], 'float32', false) : temp(ctx, 'scale', [], 'float32');
  const zp = ctx.outputs[2] ? output(ctx, 2, [], 'uint8', false) : temp(ctx, 'zero_point', [], 'uint8');
  const outs = [y, scale, zp];
  emit(ctx, 'DYNAMIC_QUANTIZE_LINEAR', [ctx.b.tensorOf(x)], outs, {});
}
