/**
 * Resizing of the two spatial dims of an NHWC tensor, nearest-neighbour or bilinear, with the
 * coordinate transforms of ONNX Resize (opset 11+; TFLite's RESIZE_NEAREST_NEIGHBOR and
 * RESIZE_BILINEAR are the cases noted):
 *
 *   asymmetric            x_in = x_out / scale                      (TFLite, no flags)
 *   half_pixel            x_in = (x_out + 0.5) / scale - 0.5        (TFLite bilinear half_pixel_centers)
 *   pytorch_half_pixel    as half_pixel, 0 when the output has length 1
 *   align_corners         x_in = x_out * (in - 1) / (out - 1)       (TFLite align_corners)
 *   tf_half_pixel_for_nn  x_in = (x_out + 0.5) / scale              (TFLite nearest half_pixel_centers)
 *
 * `scale` is out / in (or the scale the model gives), in float32 as onnxruntime and TFLite
 * compute it. Nearest rounds x_in by `nearestMode` (round_prefer_floor, round_prefer_ceil, floor,
 * ceil) and clamps to [0, in - 1]; bilinear clamps x_in to [0, in - 1] and interpolates between
 * floor(x_in) and the next index.
 */
import type { FloatArray } from '../values.ts';

export type CoordinateMode = 'asymmetric' | 'half_pixel' | 'pytorch_half_pixel' | 'align_corners' | 'tf_half_pixel_for_nn';
export type NearestMode = 'round_prefer_floor' | 'round_prefer_ceil' | 'floor' | 'ceil';

export interface ResizeParams {
  mode: 'nearest' | 'linear';
  coordinate: CoordinateMode;
  nearest: NearestMode;
  /** out / in per spatial axis (float32), H then W. */
  scales: [number, number];
}

export const COORDINATE_MODES: readonly string[] = ['asymmetric', 'half_pixel', 'pytorch_half_pixel', 'align_corners', 'tf_half_pixel_for_nn'];
export const NEAREST_MODES: readonly string[] = ['round_prefer_floor', 'round_prefer_ceil', 'floor', 'ceil'];

function sourceCoordinate(o: number, inLen: number, outLen: number, scale: number, mode: CoordinateMode): number {
  const f = Math.fround;
  switch (mode) {
    case 'asymmetric':
      return f(o / scale);
    case 'half_pixel':
      return f(f(f(o + 0.5) / scale) - 0.5);
    case 'pytorch_half_pixel':
      return outLen > 1 ? f(f(f(o + 0.5) / scale) - 0.5) : 0;
    case 'align_corners':
      return outLen === 1 ? 0 : f(f(o * (inLen - 1)) / (outLen - 1));
    case 'tf_half_pixel_for_nn':
      return f(f(o + 0.5) / scale);
  }
}

function roundNearest(v: number, mode: NearestMode): number {
  switch (mode) {
    case 'floor':
      return Math.floor(v);
    case 'ceil':
      return Math.ceil(v);
    case 'round_prefer_floor':
      return v - Math.floor(v) === 0.5 ? Math.floor(v) : Math.round(v);
    case 'round_prefer_ceil':
      return Math.floor(v + 0.5);
  }
}

/** Per output index along one axis: the two source indices and the weight of the second. */
function axisTaps(inLen: number, outLen: number, scale: number, p: ResizeParams): { i0: Int32Array; i1: Int32Array; w: Float64Array } {
  const i0 = new Int32Array(outLen);
  const i1 = new Int32Array(outLen);
  const w = new Float64Array(outLen);
  for (let o = 0; o < outLen; o++) {
    const x = sourceCoordinate(o, inLen, outLen, scale, p.coordinate);
    if (p.mode === 'nearest') {
      const i = Math.min(Math.max(roundNearest(x, p.nearest), 0), inLen - 1);
      i0[o] = i1[o] = i;
    } else {
      const c = Math.min(Math.max(x, 0), inLen - 1);
      const lo = Math.floor(c);
      i0[o] = lo;
      i1[o] = Math.min(lo + 1, inLen - 1);
      w[o] = c - lo;
    }
  }
  return { i0, i1, w };
}

export function resize2d(x: FloatArray, outH: number, outW: number, p: ResizeParams): FloatArray {
  const [N, H, W, C] = x.shape as [number, number, number, number];
  const ty = axisTaps(H, outH, p.scales[0], p);
  const tx = axisTaps(W, outW, p.scales[1], p);
  const out = new Float64Array(N * outH * outW * C);
  const xd = x.data;
  const at = (n: number, y: number, xx: number, c: number): number => xd[((n * H + y) * W + xx) * C + c]!;
  let o = 0;
  for (let n = 0; n < N; n++) {
    for (let oy = 0; oy < outH; oy++) {
      const y0 = ty.i0[oy]!, y1 = ty.i1[oy]!, wy = ty.w[oy]!;
      for (let ox = 0; ox < outW; ox++) {
        const x0 = tx.i0[ox]!, x1 = tx.i1[ox]!, wx = tx.w[ox]!;
        for (let c = 0; c < C; c++) {
          if (p.mode === 'nearest') out[o++] = at(n, y0, x0, c);
          else {
            const top = at(n, y0, x0, c) * (1 - wx) + at(n, y0, x1, c) * wx;
            const bottom = at(n, y1, x0, c) * (1 - wx) + at(n, y1, x1, c) * wx;
            out[o++] = top * (1 - wy) + bottom * wy;
          }
        }
      }
    }
  }
  return { shape: [N, outH, outW, C], data: out };
}
