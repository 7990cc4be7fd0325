/**
 * RESIZE_NEAREST_NEIGHBOR and RESIZE_BILINEAR on quantized NHWC tensors (TFLite Micro
 * resize_nearest_neighbor.cc and resize_bilinear.cc with the reference headers). Neither
 * requantizes: the output carries the input's scale and zero point.
 *
 * Nearest neighbour copies the pixel at src = nearestIndices(...) (src/reference/movement.ts).
 *
 * Bilinear is TFLM's ResizeBilinearInteger, all in integers with 10 fractional bits:
 *   scale = (1024 * in + out / 2) / out         (align_corners and out > 1: 1024 * (in - 1) and out - 1)
 *   p     = o * scale                           (half_pixel_centers: o * scale + scale / 2 - 512)
 *   lo    = max(p / 1024, 0), hi = min((p + 1023) / 1024, in - 1), d = p - 1024 * lo
 * with C's truncating division, per output row and column; each output is
 *   v = x[ylo,xlo](1024-dy)(1024-dx) + x[yhi,xlo] dy (1024-dx) + x[ylo,xhi](1024-dy) dx + x[yhi,xhi] dy dx
 *   out = (v + (v > 0 ? 2^19 : -2^19)) / 2^20   (truncating), cast to the dtype.
 */
import type { Op } from '../../ir/graph.ts';
import { nearestIndices } from '../movement.ts';
import { resizeSpec, type ResizeSpec } from '../shape-params.ts';
import { read, requireDtype, type EvalFn, type PrepareContext } from './common.ts';
import { failFor, MOVABLE, source } from './movement.ts';

/** Per output index along one axis: low source index, high source index, Q10 distance from low. */
export function bilinearAxis(inSize: number, outSize: number, alignCorners: boolean, halfPixelCenters: boolean): Int32Array {
  const scale =
    alignCorners && outSize > 1
      ? Math.trunc((1024 * (inSize - 1) + Math.trunc((outSize - 1) / 2)) / (outSize - 1))
      : Math.trunc((1024 * inSize + Math.trunc(outSize / 2)) / outSize);
  const table = new Int32Array(3 * outSize);
  for (let o = 0; o < outSize; o++) {
    const p = halfPixelCenters ? o * scale + Math.trunc(scale / 2) - 512 : o * scale;
    const lo = Math.max(Math.trunc(p / 1024), 0);
    const hi = Math.min(Math.trunc((p + 1023) / 1024), inSize - 1);
    table[3 * o] = lo;
    table[3 * o + 1] = hi;
    table[3 * o + 2] = p - 1024 * lo;
  }
  return table;
}

export function prepareResizeNearest(op: Op, ctx: PrepareContext): EvalFn {
  const s = resizeSpec(ctx.graph, op, failFor(op));
  requireDtype(op, s.x, ...MOVABLE);
  const ys = nearestIndices(s.inH, s.outH, s.alignCorners, s.halfPixelCenters);
  const xs = nearestIndices(s.inW, s.outW, s.alignCorners, s.halfPixelCenters);
  const get = source(ctx, s.x);
  const yi = s.y.index;
  return (values) => {
    const src = get(values);
    const out = read(values, yi) as unknown as { [i: number]: unknown };
    let o = 0;
    for (let b = 0; b < s.batches; b++) {
      for (let y = 0; y < s.outH; y++) {
        for (let x = 0; x < s.outW; x++) {
          const from = ((b * s.inH + ys[y]!) * s.inW + xs[x]!) * s.depth;
          for (let c = 0; c < s.depth; c++) out[o++] = src[from + c];
        }
      }
    }
  };
}

/** One bilinear output element from its four neighbours and Q10 distances. */
export function bilinearValue(v00: number, v10: number, v01: number, v11: number, dy: number, dx: number): number {
  // Every product stays below 2^53 for int16 inputs, so plain numbers are exact.
  const v = v00 * (1024 - dy) * (1024 - dx) + v10 * dy * (1024 - dx) + v01 * (1024 - dy) * dx + v11 * dy * dx;
  return Math.trunc((v + (v > 0 ? 1 << 19 : -(1 << 19))) / 1048576);
}

export function resizeBilinearTables(s: ResizeSpec): { rows: Int32Array; cols: Int32Array } {
  return {
    rows: bilinearAxis(s.inH, s.outH, s.alignCorners, s.halfPixelCenters),
    cols: bilinearAxis(s.inW, s.outW, s.alignCorners, s.halfPixelCenters),
  };
}

export function prepareResizeBilinear(op: Op, ctx: PrepareContext): EvalFn {
  const s = resizeSpec(ctx.graph, op, failFor(op));
  requireDtype(op, s.x, 'int8', 'int16');
  const { rows, cols } = resizeBilinearTables(s);
  const get = source(ctx, s.x);
  const yi = s.y.index;
  const { inH, inW, depth } = s;
  return (values) => {
    const src = get(values) as unknown as ArrayLike<number>;
    const out = read(values, yi);
    let o = 0;
    for (let b = 0; b < s.batches; b++) {
      for (let y = 0; y < s.outH; y++) {
        const y0 = rows[3 * y]!, y1 = rows[3 * y + 1]!, dy = rows[3 * y + 2]!;
        for (let x = 0; x < s.outW; x++) {
          const x0 = cols[3 * x]!, x1 = cols[3 * x + 1]!, dx = cols[3 * x + 2]!;
          const p00 = ((b * inH + y0) * inW + x0) * depth;
          const p10 = ((b * inH + y1) * inW + x0) * depth;
          const p01 = ((b * inH + y0) * inW + x1) * depth;
          const p11 = ((b * inH + y1) * inW + x1) * depth;
          for (let c = 0; c < depth; c++) out[o++] = bilinearValue(src[p00 + c]!, src[p10 + c]!, src[p01 + c]!, src[p11 + c]!, dy, dx);
        }
      }
    }
  };
}
