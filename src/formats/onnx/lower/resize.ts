/**
 * Resize (opset 10+) and Upsample (opset 7-9) of the spatial dims of an image tensor -> RESIZE
 * on the channels-last tensor: inputs [x, size] (size: int32 [newH, newW]), attributes mode
 * ('nearest' | 'linear'), coordinateMode, nearestMode and scales (when the model's scales are not
 * out / in): ONNX's arithmetic, run by the float engine (src/reference/float/kernels/resize.ts).
 * `convert` maps it to TFLite's RESIZE_NEAREST_NEIGHBOR / RESIZE_BILINEAR where TFLite's two flags
 * compute the same (tfliteResizeFlags).
 */
import type { AttrValue } from '../../../ir/graph.ts';
import { COORDINATE_MODES, NEAREST_MODES } from '../../../reference/float/kernels/resize.ts';
import type { Value } from '../builder.ts';
import { readNumbers } from '../layout.ts';
import { emit, invalid, output, req, unsupported, type NodeContext } from './context.ts';

/**
 * TFLite's flags for an ONNX (mode, coordinate transform, rounding), when TFLite computes the
 * same; `outSize` are the output's spatial sizes (pytorch_half_pixel differs at size 1).
 */
export function tfliteResizeFlags(mode: string, coordinateMode: string, nearest: string, outSize: number[]): { alignCorners: boolean; halfPixelCenters: boolean } | undefined {
  const coordinate = coordinateMode === 'pytorch_half_pixel' && outSize.every((d) => d > 1) ? 'half_pixel' : coordinateMode;
  if (mode === 'nearest') {
    if (coordinate === 'asymmetric' && nearest === 'floor') return { alignCorners: false, halfPixelCenters: false };
    if (coordinate === 'tf_half_pixel_for_nn' && nearest === 'floor') return { alignCorners: false, halfPixelCenters: true };
    // x_in = (o + 0.5) / scale - 0.5 rounded half up is floor((o + 0.5) / scale).
    if (coordinate === 'half_pixel' && nearest === 'round_prefer_ceil') return { alignCorners: false, halfPixelCenters: true };
    if (coordinate === 'align_corners' && nearest === 'round_prefer_ceil') return { alignCorners: true, halfPixelCenters: false };
    return undefined;
  }
  if (coordinate === 'asymmetric') return { alignCorners: false, halfPixelCenters: false };
  if (coordinate === 'half_pixel') return { alignCorners: false, halfPixelCenters: true };
  if (coordinate === 'align_corners') return { alignCorners: true, halfPixelCenters: false };
  return undefined;
}

function constValues(ctx: NodeContext, v: Value | undefined, what: string): number[] | undefined {
  if (!v) return undefined;
  if (!v.data) throw unsupported(ctx, `${what} ('${v.name}') is computed at run time`, 'export the model with a fixed scale factor or output size (e.g. nn.Upsample(scale_factor=2))');
  return readNumbers(v.data, v.dtype);
}

export function lowerResize(ctx: NodeContext, upsample: boolean): void {
  const x = req(ctx, 0);
  const rank = x.shape.length;
  if (rank !== 4 && rank !== 3) throw unsupported(ctx, `a rank-${rank} input`, 'resize 3-D (NCW) or 4-D (NCHW) tensors');
  const modeName = ctx.attrs.string('mode', 'nearest');
  const mode = modeName === 'nearest' ? 'nearest' : modeName === 'linear' || modeName === 'bilinear' ? 'linear' : undefined;
  if (!mode) throw unsupported(ctx, `mode '${modeName}'`, "use mode='nearest' or 'bilinear' (align_corners as TFLite allows)");
  let coordinate: string;
  let nearest: string;
  let scales: number[] | undefined;
  let sizes: number[] | undefined;
  if (upsample || ctx.version < 11) {
    // Upsample and Resize-10: x_in = x_out / scale, nearest rounds down.
    coordinate = 'asymmetric';
    nearest = 'floor';
    scales = upsample && ctx.version < 9 ? ctx.attrs.floats('scales') : constValues(ctx, ctx.inputs[1], 'the scales input');
  } else {
    coordinate = ctx.attrs.string('coordinate_transformation_mode', 'half_pixel');
    nearest = ctx.attrs.string('nearest_mode', 'round_prefer_floor');
    if (ctx.attrs.int('antialias', 0) !== 0) throw unsupported(ctx, 'antialias=1', 'export with antialias=False');
    if (ctx.attrs.has('axes')) throw unsupported(ctx, 'the axes attribute', 'give scales or sizes for every axis');
    const policy = ctx.attrs.string('keep_aspect_ratio_policy', 'stretch');
    if (policy !== 'stretch') throw unsupported(ctx, `keep_aspect_ratio_policy '${policy}'`, 'give the exact output size');
    scales = constValues(ctx, ctx.inputs[2], 'the scales input');
    sizes = constValues(ctx, ctx.inputs[3], 'the sizes input');
    if (scales && scales.length === 0) scales = undefined;
    if (sizes && sizes.length === 0) sizes = undefined;
  }
  if (!COORDINATE_MODES.includes(coordinate)) {
    throw unsupported(ctx, `coordinate_transformation_mode '${coordinate}'`, "use align_corners, asymmetric, half_pixel or pytorch_half_pixel (PyTorch: align_corners=True/False)");
  }
  if (!NEAREST_MODES.includes(nearest)) throw invalid(ctx, `nearest_mode '${nearest}' is not an ONNX mode`);
  if (!scales && !sizes) throw invalid(ctx, 'it has neither scales nor sizes');
  if ((scales && scales.length !== rank) || (sizes && sizes.length !== rank)) throw invalid(ctx, `scales/sizes do not have ${rank} values`);
  const outShape = sizes ? sizes.map((d) => Math.trunc(d)) : x.shape.map((d, i) => Math.floor(d * scales![i]!));
  if (outShape[0] !== x.shape[0] || outShape[1] !== x.shape[1] || (scales && (scales[0] !== 1 || scales[1] !== 1))) {
    throw unsupported(ctx, 'resizing the batch or channel axis', 'resize only the spatial axes (H, W)');
  }
  if (outShape.some((d) => !(d >= 1))) throw invalid(ctx, `the output shape [${outShape.join(',')}] is empty`);
  // Opset-10 Resize (like onnxruntime's 'simple' rounding) rounds up when shrinking.
  if (!upsample && ctx.version < 11 && mode === 'nearest' && scales!.slice(2).some((s) => s < 1)) nearest = 'ceil';
  const spatialIn = rank === 4 ? x.shape.slice(2) : [1, x.shape[2]!];
  const spatialOut = rank === 4 ? outShape.slice(2) : [1, outShape[2]!];
  const spatialScales = scales ? (rank === 4 ? scales.slice(2) : [1, scales[2]!]) : undefined;
  const xT = ctx.b.nhwcTensorOf(x, ctx.source, ctx.version);
  const size = ctx.b.addTensor(`${ctx.outputs[0]}_size`, [2], 'int32', new Uint8Array(Int32Array.from(spatialOut).buffer));
  const y = output(ctx, 0, outShape, x.dtype, true);
  const attrs: Record<string, AttrValue> = { mode, coordinateMode: coordinate, nearestMode: nearest };
  // Given scales that are not out/in change the arithmetic (x_in = x_out / scale).
  if (spatialScales && spatialScales.some((s, i) => Math.fround(s) !== Math.fround(spatialOut[i]! / spatialIn[i]!))) attrs.scales = spatialScales;
  emit(ctx, 'RESIZE', [xT, size], [y], attrs);
}
